/**
 * AWS Organizations through @aws-sdk/client-organizations and @aws-sdk/client-sts: the
 * organization, OUs, accounts created with their OrganizationAccountAccessRole, policies and
 * their quotas, and SCPs enforced on a member account's calls (the seed's ECS key policy as an
 * SCP). docs/organizations.md.
 */
import { createTrailBucket } from "./cloudtrail-helpers.ts";
import { describe, expect, it } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { useTestServer, type TestServer } from "../support/server.ts";
import { createMemberAccount, expectReason, intoMember as intoMemberAccount, orgAdmin } from "./organizations-helpers.ts";
import type { Principal } from "../../src/kernel/principal.ts";
import { createFargateKey } from "./ecs-helpers.ts";
import { allow, doc, expectAwsError, type Creds } from "./iam-helpers.ts";

const MANAGEMENT = "000000000000";
const OUTSIDER = "222222222222";

let s: TestServer;
let org: ORG.OrganizationsClient;
let admin: Creds;

const orgAs = (creds: Creds) => new ORG.OrganizationsClient(s.configFor(creds));
const rootOf = (account: string): Creds => ({ accessKeyId: account, secretAccessKey: "test" });

useTestServer(async (server) => {
  s = server;
  org = new ORG.OrganizationsClient(s.config);
  admin = await orgAdmin(s);
});

/** The reason ConstraintViolationException and InvalidInputException carry. */
const createAccount = (name: string, email: string) => createMemberAccount(org, name, email);
const intoMember = (account: string) => intoMemberAccount(s, admin, account);

describe("Organizations", () => {
  let rootId: string;
  let member: string;

  it("answers AWSOrganizationsNotInUseException before there is an organization", async () => {
    await expectAwsError(org.send(new ORG.DescribeOrganizationCommand({})), "AWSOrganizationsNotInUseException", 404, "Your account is not a member of an organization.");
    await expectAwsError(org.send(new ORG.ListAccountsCommand({})), "AWSOrganizationsNotInUseException", 404);
  });

  it("creates the organization with the caller's account as its management account", async () => {
    const made = (await org.send(new ORG.CreateOrganizationCommand({ FeatureSet: "ALL" }))).Organization!;
    expect(made.Id).toMatch(/^o-[a-z0-9]{10}$/);
    expect(made.MasterAccountId).toBe(MANAGEMENT);
    expect(made.Arn).toBe(`arn:aws:organizations::${MANAGEMENT}:organization/${made.Id}`);
    const described = (await org.send(new ORG.DescribeOrganizationCommand({}))).Organization!;
    expect(described.Id).toBe(made.Id);
    await expectAwsError(org.send(new ORG.CreateOrganizationCommand({})), "AlreadyInOrganizationException", 409);
    const roots = (await org.send(new ORG.ListRootsCommand({}))).Roots!;
    expect(roots).toHaveLength(1);
    expect(roots[0].Id).toMatch(/^r-[a-z0-9]{4}$/);
    expect(roots[0].PolicyTypes).toEqual([]);
    rootId = roots[0].Id!;
    const accounts = (await org.send(new ORG.ListAccountsCommand({}))).Accounts!;
    expect(accounts.map((a) => a.Id)).toEqual([MANAGEMENT]);
  });

  it("creates an account that is usable through OrganizationAccountAccessRole", async () => {
    member = await createAccount("workloads", "workloads@example.com");
    expect(member).toMatch(/^\d{12}$/);
    const described = (await org.send(new ORG.DescribeAccountCommand({ AccountId: member }))).Account!;
    expect(described).toMatchObject({ Name: "workloads", Email: "workloads@example.com", JoinedMethod: "CREATED", Status: "ACTIVE" });
    const creds = await intoMember(member);
    const who = await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}));
    expect(who.Account).toBe(member);
    expect(who.Arn).toBe(`arn:aws:sts::${member}:assumed-role/OrganizationAccountAccessRole/ops`);
    // its own keys
    const key = (await new KMSClient(s.configFor(creds)).send(new CreateKeyCommand({}))).KeyMetadata!;
    expect(key.Arn).toContain(`:${member}:key/`);
    // an email already used fails the request, as AWS reports it
    const again = await org.send(new ORG.CreateAccountCommand({ AccountName: "dup", Email: "WORKLOADS@example.com" }));
    const status = (await org.send(new ORG.DescribeCreateAccountStatusCommand({ CreateAccountRequestId: again.CreateAccountStatus!.Id }))).CreateAccountStatus!;
    expect(status).toMatchObject({ State: "FAILED", FailureReason: "EMAIL_ALREADY_EXISTS" });
    expect((await org.send(new ORG.ListCreateAccountStatusCommand({ States: ["FAILED"] }))).CreateAccountStatuses).toHaveLength(1);
  });

  it("shows the access role's creation in the new account's CloudTrail, made by Organizations", async () => {
    const account = await createAccount("audited", "audited@example.com");
    const creds = await intoMember(account);
    const ct = new CloudTrailClient(s.configFor(creds, "us-east-1"));
    const recordsOf = async (name: string) =>
      ((await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: name }] }))).Events ?? []).map((e) =>
        JSON.parse(e.CloudTrailEvent!),
      );
    const created = await recordsOf("CreateRole");
    expect(created).toHaveLength(1);
    const roleArn = `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`;
    expect(created[0]).toMatchObject({
      eventSource: "iam.amazonaws.com",
      eventName: "CreateRole",
      awsRegion: "us-east-1",
      userIdentity: { type: "AWSService", invokedBy: "organizations.amazonaws.com" },
      sourceIPAddress: "organizations.amazonaws.com",
      userAgent: "organizations.amazonaws.com",
      readOnly: false,
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: account,
      resources: [{ ARN: roleArn, accountId: account, type: "AWS::IAM::Role" }],
      requestParameters: { roleName: "OrganizationAccountAccessRole" },
      responseElements: { role: { roleName: "OrganizationAccountAccessRole", arn: roleArn, path: "/" } },
    });
    expect(JSON.parse(created[0].requestParameters.assumeRolePolicyDocument).Statement[0].Principal).toEqual({ AWS: `arn:aws:iam::${MANAGEMENT}:root` });
    const put = await recordsOf("PutRolePolicy");
    expect(put).toHaveLength(1);
    expect(put[0]).toMatchObject({
      userIdentity: { invokedBy: "organizations.amazonaws.com" },
      recipientAccountId: account,
      requestParameters: { roleName: "OrganizationAccountAccessRole", policyName: "AdministratorAccess" },
    });
    // the management account's trail has the CreateAccount call, not the new account's role
    const mgmt = new CloudTrailClient(s.configFor(admin, "us-east-1"));
    const mgmtCreates = ((await mgmt.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateRole" }] }))).Events ?? []).map((e) =>
      JSON.parse(e.CloudTrailEvent!),
    );
    expect(mgmtCreates.filter((r) => r.recipientAccountId === account)).toEqual([]);
  });

  it("answers input that breaks the model's constraints with InvalidInputException and its Reason", async () => {
    await expectReason(org.send(new ORG.DescribeAccountCommand({ AccountId: "12345" })), "InvalidInputException", 400, "INVALID_PATTERN");
    await expectReason(org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "x".repeat(129) })), "InvalidInputException", 400, "MAX_LENGTH_EXCEEDED");
    await expectReason(org.send(new ORG.ListAccountsCommand({ MaxResults: 21 })), "InvalidInputException", 400, "MAX_VALUE_EXCEEDED");
  });

  it("refuses a member account the management operations and an outsider everything", async () => {
    const creds = await intoMember(member);
    const asMember = orgAs(creds);
    expect((await asMember.send(new ORG.DescribeOrganizationCommand({}))).Organization!.MasterAccountId).toBe(MANAGEMENT);
    await expectAwsError(asMember.send(new ORG.ListAccountsCommand({})), "AccessDeniedException", 403, "You don't have permissions to access this resource.");
    await expectAwsError(asMember.send(new ORG.CreateOrganizationCommand({})), "AlreadyInOrganizationException", 409);
    await expectAwsError(orgAs(rootOf(OUTSIDER)).send(new ORG.DescribeAccountCommand({ AccountId: member })), "AWSOrganizationsNotInUseException", 404);
  });

  it("builds OUs with AWS's names, depth and emptiness rules", async () => {
    const prod = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "prod" }))).OrganizationalUnit!;
    expect(prod.Id).toMatch(new RegExp(`^ou-${rootId.slice(2)}-[a-z0-9]{8}$`));
    await expectAwsError(org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "prod" })), "DuplicateOrganizationalUnitException", 409);
    await expectAwsError(org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: "ou-zzzz-zzzzzzzz", Name: "x" })), "ParentNotFoundException", 404);
    let parent = prod.Id!;
    for (let level = 2; level <= 5; level++)
      parent = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: parent, Name: `level${level}` }))).OrganizationalUnit!.Id!;
    await expectReason(org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: parent, Name: "level6" })), "ConstraintViolationException", 409, "OU_DEPTH_LIMIT_EXCEEDED");

    await org.send(new ORG.MoveAccountCommand({ AccountId: member, SourceParentId: rootId, DestinationParentId: prod.Id }));
    await expectAwsError(org.send(new ORG.MoveAccountCommand({ AccountId: member, SourceParentId: prod.Id, DestinationParentId: prod.Id })), "DuplicateAccountException", 409);
    expect((await org.send(new ORG.ListParentsCommand({ ChildId: member }))).Parents).toEqual([{ Id: prod.Id, Type: "ORGANIZATIONAL_UNIT" }]);
    expect((await org.send(new ORG.ListChildrenCommand({ ParentId: prod.Id, ChildType: "ACCOUNT" }))).Children).toEqual([{ Id: member, Type: "ACCOUNT" }]);
    expect((await org.send(new ORG.ListAccountsForParentCommand({ ParentId: prod.Id }))).Accounts!.map((a) => a.Id)).toEqual([member]);
    await expectAwsError(org.send(new ORG.DeleteOrganizationalUnitCommand({ OrganizationalUnitId: prod.Id })), "OrganizationalUnitNotEmptyException", 409);
    await org.send(new ORG.UpdateOrganizationalUnitCommand({ OrganizationalUnitId: prod.Id, Name: "production" }));
    expect((await org.send(new ORG.DescribeOrganizationalUnitCommand({ OrganizationalUnitId: prod.Id }))).OrganizationalUnit!.Name).toBe("production");
  });

  it("validates policies and enforces the attachment rules and quotas", async () => {
    const scp = (content: string, Name = "p") => org.send(new ORG.CreatePolicyCommand({ Name, Description: "d", Type: "SERVICE_CONTROL_POLICY", Content: content }));
    await expectAwsError(scp("{not json"), "MalformedPolicyDocumentException", 400);
    await expectAwsError(scp(doc([{ Effect: "Allow", Principal: "*", Action: "*", Resource: "*" }])), "MalformedPolicyDocumentException", 400);
    await expectReason(scp(doc([allow("s3:GetObject", `arn:aws:s3:::${"b".repeat(5200)}`)])), "ConstraintViolationException", 409, "POLICY_CONTENT_LIMIT_EXCEEDED");
    const denyS3 = (await scp(doc([{ Effect: "Deny", Action: "s3:*", Resource: "*" }]), "deny-s3")).Policy!.PolicySummary!;
    expect(denyS3.Id).toMatch(/^p-[a-z0-9]{8}$/);
    await expectAwsError(scp(doc([allow("*")]), "deny-s3"), "DuplicatePolicyException", 409);

    await expectAwsError(org.send(new ORG.AttachPolicyCommand({ PolicyId: denyS3.Id, TargetId: member })), "PolicyTypeNotEnabledException", 409);
    const root = (await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" }))).Root!;
    expect(root.PolicyTypes).toEqual([{ Type: "SERVICE_CONTROL_POLICY", Status: "ENABLED" }]);
    await expectAwsError(org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" })), "PolicyTypeAlreadyEnabledException", 409);
    const onMember = (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: member, Filter: "SERVICE_CONTROL_POLICY" }))).Policies!;
    expect(onMember.map((p) => p.Id)).toEqual(["p-FullAWSAccess"]);
    expect(onMember[0].AwsManaged).toBe(true);

    await expectAwsError(org.send(new ORG.DetachPolicyCommand({ PolicyId: "p-FullAWSAccess", TargetId: member })), "ConstraintViolationException", 409);
    await org.send(new ORG.AttachPolicyCommand({ PolicyId: denyS3.Id, TargetId: member }));
    await expectAwsError(org.send(new ORG.AttachPolicyCommand({ PolicyId: denyS3.Id, TargetId: member })), "DuplicatePolicyAttachmentException", 409);
    await expectAwsError(org.send(new ORG.DeletePolicyCommand({ PolicyId: denyS3.Id })), "PolicyInUseException", 409);
    await expectAwsError(org.send(new ORG.DeletePolicyCommand({ PolicyId: "p-FullAWSAccess" })), "AccessDeniedException", 403);
    const targets = (await org.send(new ORG.ListTargetsForPolicyCommand({ PolicyId: denyS3.Id }))).Targets!;
    expect(targets).toEqual([{ TargetId: member, Arn: expect.stringContaining(`:account/`), Name: "workloads", Type: "ACCOUNT" }]);
    for (let n = 0; n < 3; n++) {
      const extra = (await scp(doc([allow("*")]), `extra-${n}`)).Policy!.PolicySummary!;
      await org.send(new ORG.AttachPolicyCommand({ PolicyId: extra.Id, TargetId: member }));
    }
    const sixth = (await scp(doc([allow("*")]), "sixth")).Policy!.PolicySummary!;
    await expectReason(
      org.send(new ORG.AttachPolicyCommand({ PolicyId: sixth.Id, TargetId: member })),
      "ConstraintViolationException",
      409,
      "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
    );
    for (const p of (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: member, Filter: "SERVICE_CONTROL_POLICY" }))).Policies!) {
      if (p.Id !== "p-FullAWSAccess") await org.send(new ORG.DetachPolicyCommand({ PolicyId: p.Id, TargetId: member }));
    }
  });

  it("enforces the seed's key policy as an SCP on the member account, and not on the management account", async () => {
    const creds = await intoMember(member);
    const keyArn = (await createFargateKey(new KMSClient(s.configFor(creds)), "with-key", { account: member })).arn;
    // the seed's policy, for UpdateCluster too
    const seed = doc([
      { Effect: "Allow", Action: ["ecs:CreateCluster", "ecs:UpdateCluster"], Resource: "*", Condition: { StringEquals: { "ecs:fargate-ephemeral-storage-kms-key": keyArn } } },
    ]);
    const rest = doc([{ Effect: "Allow", NotAction: ["ecs:CreateCluster", "ecs:UpdateCluster"], Resource: "*" }]);
    const ou = (await org.send(new ORG.ListParentsCommand({ ChildId: member }))).Parents![0].Id!;
    for (const [Name, Content] of [
      ["ecs-cmk-required", seed],
      ["everything-else", rest],
    ]) {
      const p = (await org.send(new ORG.CreatePolicyCommand({ Name, Description: Name, Type: "SERVICE_CONTROL_POLICY", Content }))).Policy!.PolicySummary!;
      await org.send(new ORG.AttachPolicyCommand({ PolicyId: p.Id, TargetId: ou }));
    }
    await org.send(new ORG.DetachPolicyCommand({ PolicyId: "p-FullAWSAccess", TargetId: ou }));

    const ecs = new ECSClient(s.configFor(creds, "us-east-1"));
    const roleSession = `arn:aws:sts::${member}:assumed-role/OrganizationAccountAccessRole/ops`;
    await expectAwsError(
      ecs.send(new CreateClusterCommand({ clusterName: "no-key" })),
      "AccessDeniedException",
      400,
      `User: ${roleSession} is not authorized to perform: ecs:CreateCluster on resource: arn:aws:ecs:us-east-1:${member}:cluster/no-key with an explicit deny in a service control policy`,
    );
    const made = await ecs.send(new CreateClusterCommand({ clusterName: "with-key", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: keyArn } } }));
    expect(made.cluster!.clusterArn).toBe(`arn:aws:ecs:us-east-1:${member}:cluster/with-key`);

    const { UpdateClusterCommand } = await import("@aws-sdk/client-ecs");
    await expectAwsError(
      ecs.send(new UpdateClusterCommand({ cluster: "with-key", settings: [{ name: "containerInsights", value: "enabled" }] })),
      "AccessDeniedException",
      400,
      /ecs:UpdateCluster on resource: .* with an explicit deny in a service control policy$/,
    );
    await ecs.send(new UpdateClusterCommand({ cluster: "with-key", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: keyArn } } }));

    // the management account is beyond SCPs, even one attached to it that denies
    const denyClusters = (
      await org.send(
        new ORG.CreatePolicyCommand({
          Name: "no-clusters",
          Description: "",
          Type: "SERVICE_CONTROL_POLICY",
          Content: doc([{ Effect: "Deny", Action: "ecs:CreateCluster", Resource: "*" }]),
        }),
      )
    ).Policy!.PolicySummary!.Id!;
    await org.send(new ORG.AttachPolicyCommand({ PolicyId: denyClusters, TargetId: MANAGEMENT }));
    await new ECSClient(s.config).send(new CreateClusterCommand({ clusterName: "management-no-key" }));
    await org.send(new ORG.DetachPolicyCommand({ PolicyId: denyClusters, TargetId: MANAGEMENT }));

    // both are in the member account's event history
    const events = (
      await new CloudTrailClient(s.configFor(creds, "us-east-1")).send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateCluster" }] }),
      )
    ).Events!;
    const records = events.map((e) => JSON.parse(e.CloudTrailEvent!) as { errorCode?: string; requestParameters?: { clusterName?: string } });
    expect(records.find((r) => r.requestParameters?.clusterName === "no-key")?.errorCode).toBe("AccessDeniedException");
    expect(records.find((r) => r.requestParameters?.clusterName === "with-key")?.errorCode).toBeUndefined();
  });

  it("leaves a service-linked role of the member account beyond its SCPs", async () => {
    // a session of the member's ECS service-linked role, with the permissions its policy gives (a fixture: users cannot assume these roles)
    const roleArn = `arn:aws:iam::${member}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`;
    const principal: Principal = {
      type: "AssumedRole",
      accountId: member,
      arn: `arn:aws:sts::${member}:assumed-role/AWSServiceRoleForECS/ecs`,
      principalId: "AROASERVICELINKED0001:ecs",
      accessKeyId: "ASIASERVICELINKED001",
      session: {
        roleArn,
        roleId: "AROASERVICELINKED0001",
        roleName: "AWSServiceRoleForECS",
        sessionName: "ecs",
        issuerArn: roleArn,
        issuerType: "Role",
        createdAt: new Date(0),
        expiresAt: new Date(Date.parse("2099-01-01T00:00:00Z")),
        mfaAuthenticated: false,
      },
    };
    s.app.credentialProviders.unshift({
      lookup: (id) => (id === "ASIASERVICELINKED001" ? { secretAccessKey: "slr-secret", principal, sessionToken: "slr-token", active: true } : undefined),
    });
    const iam = s.app.identityPolicies!;
    s.app.identityPolicies = { policiesFor: (p) => (p.accessKeyId === "ASIASERVICELINKED001" ? { identity: [doc([allow("ecs:*")])] } : iam.policiesFor(p)) };
    try {
      const ecs = new ECSClient(s.configFor({ accessKeyId: "ASIASERVICELINKED001", secretAccessKey: "slr-secret", sessionToken: "slr-token" }));
      const made = await ecs.send(new CreateClusterCommand({ clusterName: "by-service-linked-role" }));
      expect(made.cluster!.clusterArn).toBe(`arn:aws:ecs:us-east-1:${member}:cluster/by-service-linked-role`);
    } finally {
      s.app.identityPolicies = iam;
      s.app.credentialProviders.shift();
    }
  });

  it("enforces an RCP on a member account's KMS key", async () => {
    const creds = await intoMember(member);
    const kms = new KMSClient(s.configFor(creds));
    await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "RESOURCE_CONTROL_POLICY" }));
    await expectAwsError(
      org.send(
        new ORG.CreatePolicyCommand({
          Name: "allow",
          Description: "",
          Type: "RESOURCE_CONTROL_POLICY",
          Content: doc([{ Effect: "Allow", Principal: "*", Action: "*", Resource: "*" }]),
        }),
      ),
      "MalformedPolicyDocumentException",
      400,
    );
    const rcp = (
      await org.send(
        new ORG.CreatePolicyCommand({
          Name: "no-key-creation-tags",
          Description: "",
          Type: "RESOURCE_CONTROL_POLICY",
          Content: doc([{ Effect: "Deny", Principal: "*", Action: "kms:DescribeKey", Resource: "*" }]),
        }),
      )
    ).Policy!.PolicySummary!;
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await org.send(new ORG.AttachPolicyCommand({ PolicyId: rcp.Id, TargetId: member }));
    const { DescribeKeyCommand } = await import("@aws-sdk/client-kms");
    await expectAwsError(kms.send(new DescribeKeyCommand({ KeyId: keyId })), "AccessDeniedException", 400, /with an explicit deny in a resource control policy$/);
    await org.send(new ORG.DetachPolicyCommand({ PolicyId: rcp.Id, TargetId: member }));
    await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
  });

  it("keeps principals outside the organization from a member's key with an RCP on aws:PrincipalOrgID", async () => {
    const creds = await intoMember(member);
    const orgId = (await org.send(new ORG.DescribeOrganizationCommand({}))).Organization!.Id!;
    const keyPolicy = doc([
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${member}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: [`arn:aws:iam::${OUTSIDER}:root`, `arn:aws:iam::${MANAGEMENT}:root`] }, Action: "kms:Encrypt", Resource: "*" },
    ]);
    const keyArn = (await new KMSClient(s.configFor(creds)).send(new CreateKeyCommand({ Policy: keyPolicy }))).KeyMetadata!.Arn!;
    const { EncryptCommand } = await import("@aws-sdk/client-kms");
    const encrypt = (c: Creds) => new KMSClient(s.configFor(c)).send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from("x") }));
    await encrypt(rootOf(OUTSIDER));
    const perimeter = (
      await org.send(
        new ORG.CreatePolicyCommand({
          Name: "identity-perimeter",
          Description: "",
          Type: "RESOURCE_CONTROL_POLICY",
          Content: doc([
            {
              Effect: "Deny",
              Principal: "*",
              Action: "kms:*",
              Resource: "*",
              Condition: { StringNotEqualsIfExists: { "aws:PrincipalOrgID": orgId }, Bool: { "aws:PrincipalIsAWSService": "false" } },
            },
          ]),
        }),
      )
    ).Policy!.PolicySummary!.Id!;
    await org.send(new ORG.AttachPolicyCommand({ PolicyId: perimeter, TargetId: member }));
    await expectAwsError(encrypt(rootOf(OUTSIDER)), "AccessDeniedException", 400, /kms:Encrypt on resource: .* with an explicit deny in a resource control policy$/);
    await encrypt(admin);
    await encrypt(creds);
    await org.send(new ORG.DetachPolicyCommand({ PolicyId: perimeter, TargetId: member }));
  });

  it("tags accounts, OUs, roots and policies", async () => {
    await org.send(new ORG.TagResourceCommand({ ResourceId: member, Tags: [{ Key: "team", Value: "a" }] }));
    await org.send(new ORG.TagResourceCommand({ ResourceId: rootId, Tags: [{ Key: "env", Value: "all" }] }));
    expect((await org.send(new ORG.ListTagsForResourceCommand({ ResourceId: member }))).Tags).toEqual([{ Key: "team", Value: "a" }]);
    await org.send(new ORG.UntagResourceCommand({ ResourceId: member, TagKeys: ["team"] }));
    expect((await org.send(new ORG.ListTagsForResourceCommand({ ResourceId: member }))).Tags).toEqual([]);
    await expectAwsError(org.send(new ORG.TagResourceCommand({ ResourceId: "p-FullAWSAccess", Tags: [{ Key: "k", Value: "v" }] })), "TargetNotFoundException", 404);
    await expectAwsError(org.send(new ORG.TagResourceCommand({ ResourceId: member, Tags: [{ Key: "aws:x", Value: "v" }] })), "InvalidInputException", 400);
  });

  it("invites an existing account, which accepts, and removes it again", async () => {
    const invited = "333333333333";
    const h = (
      await org.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: invited }, Notes: "join us", Tags: [{ Key: "joined", Value: "by-invite" }] }))
    ).Handshake!;
    expect(h.State).toBe("OPEN");
    await expectAwsError(org.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: invited } })), "DuplicateHandshakeException", 409);
    const theirs = orgAs(rootOf(invited));
    expect((await theirs.send(new ORG.ListHandshakesForAccountCommand({}))).Handshakes!.map((x) => x.Id)).toEqual([h.Id]);
    await expectAwsError(orgAs(rootOf(OUTSIDER)).send(new ORG.AcceptHandshakeCommand({ HandshakeId: h.Id })), "HandshakeNotFoundException", 404);
    expect((await theirs.send(new ORG.AcceptHandshakeCommand({ HandshakeId: h.Id }))).Handshake!.State).toBe("ACCEPTED");
    await expectAwsError(theirs.send(new ORG.AcceptHandshakeCommand({ HandshakeId: h.Id })), "HandshakeAlreadyInStateException", 409);
    expect((await org.send(new ORG.DescribeAccountCommand({ AccountId: invited }))).Account!.JoinedMethod).toBe("INVITED");
    expect((await org.send(new ORG.ListTagsForResourceCommand({ ResourceId: invited }))).Tags).toEqual([{ Key: "joined", Value: "by-invite" }]);
    await expectAwsError(org.send(new ORG.RemoveAccountFromOrganizationCommand({ AccountId: MANAGEMENT })), "MasterCannotLeaveOrganizationException", 409);
    await org.send(new ORG.RemoveAccountFromOrganizationCommand({ AccountId: invited }));
    await expectAwsError(theirs.send(new ORG.DescribeOrganizationCommand({})), "AWSOrganizationsNotInUseException", 404);
  });

  it("trusts services and delegates administration", async () => {
    await org.send(new ORG.EnableAWSServiceAccessCommand({ ServicePrincipal: "cloudtrail.amazonaws.com" }));
    const enabled = (await org.send(new ORG.ListAWSServiceAccessForOrganizationCommand({}))).EnabledServicePrincipals!;
    expect(enabled.map((e) => e.ServicePrincipal)).toEqual(["cloudtrail.amazonaws.com"]);
    await org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: member, ServicePrincipal: "cloudtrail.amazonaws.com" }));
    await expectAwsError(
      org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: member, ServicePrincipal: "cloudtrail.amazonaws.com" })),
      "AccountAlreadyRegisteredException",
      409,
    );
    expect((await org.send(new ORG.ListDelegatedAdministratorsCommand({}))).DelegatedAdministrators!.map((d) => d.Id)).toEqual([member]);
    await org.send(new ORG.DeregisterDelegatedAdministratorCommand({ AccountId: member, ServicePrincipal: "cloudtrail.amazonaws.com" }));
  });

  it("pages with NextToken and refuses a token it did not issue", async () => {
    const first = await org.send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY", MaxResults: 2 }));
    expect(first.Policies).toHaveLength(2);
    expect(first.NextToken).toBeDefined();
    const second = await org.send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY", MaxResults: 2, NextToken: first.NextToken }));
    expect(second.Policies![0].Id).not.toBe(first.Policies![0].Id);
    await expectReason(org.send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY", NextToken: "bogus" })), "InvalidInputException", 400, "INVALID_NEXT_TOKEN");
  });

  it("logs the member account's events in an organization trail of the management account", async () => {
    const ct = new CloudTrailClient(s.config);
    const { S3Client, ListObjectsV2Command } = await import("@aws-sdk/client-s3");
    const { CreateTrailCommand, StartLoggingCommand, GetTrailCommand, DescribeTrailsCommand } = await import("@aws-sdk/client-cloudtrail");
    await createTrailBucket(new S3Client({ ...s.config, forcePathStyle: true }), "org-trail");
    await expectAwsError(
      new CloudTrailClient(s.configFor(rootOf(OUTSIDER))).send(new CreateTrailCommand({ Name: "org-t", S3BucketName: "org-trail", IsOrganizationTrail: true })),
      "OrganizationsNotInUseException",
      404,
    );
    const creds = await intoMember(member);
    await expectAwsError(
      new CloudTrailClient(s.configFor(creds)).send(new CreateTrailCommand({ Name: "org-t", S3BucketName: "org-trail", IsOrganizationTrail: true })),
      "NotOrganizationMasterAccountException",
      400,
    );
    await org.send(new ORG.DisableAWSServiceAccessCommand({ ServicePrincipal: "cloudtrail.amazonaws.com" }));
    await expectAwsError(ct.send(new CreateTrailCommand({ Name: "org", S3BucketName: "org-trail", IsOrganizationTrail: true })), "CloudTrailAccessNotEnabledException", 400);
    await org.send(new ORG.EnableAWSServiceAccessCommand({ ServicePrincipal: "cloudtrail.amazonaws.com" }));
    await ct.send(new CreateTrailCommand({ Name: "org", S3BucketName: "org-trail", IsOrganizationTrail: true }));
    const orgTrail = (await ct.send(new GetTrailCommand({ Name: "org" }))).Trail!;
    expect(orgTrail.IsOrganizationTrail).toBe(true);
    // the member sees the organization's trail in its own DescribeTrails; an outsider does not
    const memberView = (await new CloudTrailClient(s.configFor(creds)).send(new DescribeTrailsCommand({}))).trailList!;
    expect(memberView.map((t) => [t.TrailARN, t.IsOrganizationTrail])).toContainEqual([orgTrail.TrailARN, true]);
    const outsiderView = (await new CloudTrailClient(s.configFor(rootOf(OUTSIDER))).send(new DescribeTrailsCommand({}))).trailList!;
    expect(outsiderView.map((t) => t.TrailARN)).not.toContain(orgTrail.TrailARN);
    await ct.send(new StartLoggingCommand({ Name: "org" }));
    await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}));
    await s.advanceClock(600);
    const orgId = (await org.send(new ORG.DescribeOrganizationCommand({}))).Organization!.Id!;
    const listed = await new S3Client({ ...s.config, forcePathStyle: true }).send(new ListObjectsV2Command({ Bucket: "org-trail", Prefix: `AWSLogs/${orgId}/` }));
    const accounts = new Set(listed.Contents!.map((o) => o.Key!.split("/")[2]));
    expect(accounts.has(member)).toBe(true);
    expect(accounts.has(MANAGEMENT)).toBe(true);
  });

  it("records its calls in CloudTrail as a global service, in us-east-1", async () => {
    const events = (
      await new CloudTrailClient(s.configFor(rootOf(MANAGEMENT), "us-west-2")).send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: "organizations.amazonaws.com" }] }),
      )
    ).Events!;
    expect(events).toEqual([]);
    const inHome = (
      await new CloudTrailClient(s.configFor(rootOf(MANAGEMENT), "us-east-1")).send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateOrganization" }] }),
      )
    ).Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as { eventSource: string; awsRegion: string; errorCode?: string });
    expect(inHome.find((r) => !r.errorCode)).toMatchObject({ eventSource: "organizations.amazonaws.com", awsRegion: "us-east-1" });
  });

  it("deletes the organization only once it has no members", async () => {
    await expectAwsError(org.send(new ORG.DeleteOrganizationCommand({})), "OrganizationNotEmptyException", 409);
  });
});
