/**
 * Delegated administrators of Organizations: registration only for a service with trusted access,
 * AWS's errors for bad registrations, the read-only Organizations access a delegated
 * administrator gets (and other members do not), and removal refused until it is deregistered.
 * docs/organizations.md, "Trusted services, delegated administrators, tags".
 */
import { describe, expect, it } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { useTestServer, type TestServer } from "../support/server.ts";
import { createMemberAccount, expectReason, intoMember as intoMemberAccount, orgAdmin } from "./organizations-helpers.ts";
import { IAMClient } from "@aws-sdk/client-iam";
import { allow, doc, expectAwsError, userWithKey, type Creds } from "./iam-helpers.ts";

const MANAGEMENT = "000000000000";
const OUTSIDER = "222222222222";
const SERVICE = "config.amazonaws.com";
const DENIED = "You don't have permissions to access this resource.";

let s: TestServer;
let org: ORG.OrganizationsClient;
let admin: Creds;

const orgAs = (creds: Creds) => new ORG.OrganizationsClient(s.configFor(creds));

useTestServer(async (server) => {
  s = server;
  org = new ORG.OrganizationsClient(s.config);
  admin = await orgAdmin(s);
});

describe("Organizations delegated administrators", () => {
  let rootId: string;
  let ouId: string;
  let delegate: string;
  let other: string;
  let asDelegate: ORG.OrganizationsClient;
  let asOther: ORG.OrganizationsClient;

  it("sets up an organization with two members", async () => {
    await org.send(new ORG.CreateOrganizationCommand({ FeatureSet: "ALL" }));
    rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
    ouId = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "workloads" }))).OrganizationalUnit!.Id!;
    delegate = await createMemberAccount(org, "delegate", "delegate@example.com");
    other = await createMemberAccount(org, "other", "other@example.com");
    asDelegate = orgAs(await intoMemberAccount(s, admin, delegate));
    asOther = orgAs(await intoMemberAccount(s, admin, other));
  });

  it("registers only for a service the organization trusts, and keeps nothing when it refuses", async () => {
    await expectReason(
      org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: delegate, ServicePrincipal: SERVICE })),
      "ConstraintViolationException",
      409,
      "SERVICE_ACCESS_NOT_ENABLED",
    );
    expect((await org.send(new ORG.ListDelegatedAdministratorsCommand({}))).DelegatedAdministrators).toEqual([]);
    await expectAwsError(asDelegate.send(new ORG.ListAccountsCommand({})), "AccessDeniedException", 403, DENIED);
  });

  it("answers bad registrations with AWS's errors", async () => {
    await org.send(new ORG.EnableAWSServiceAccessCommand({ ServicePrincipal: SERVICE }));
    await expectReason(
      org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: MANAGEMENT, ServicePrincipal: SERVICE })),
      "ConstraintViolationException",
      409,
      "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
    );
    await expectAwsError(org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: OUTSIDER, ServicePrincipal: SERVICE })), "AccountNotFoundException", 404);
    await expectReason(org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: "12345", ServicePrincipal: SERVICE })), "InvalidInputException", 400, "INVALID_PATTERN");
    await expectReason(org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: delegate, ServicePrincipal: "" })), "InvalidInputException", 400, "MIN_LENGTH_EXCEEDED");
    await expectAwsError(org.send(new ORG.DeregisterDelegatedAdministratorCommand({ AccountId: delegate, ServicePrincipal: SERVICE })), "AccountNotRegisteredException", 409);
    await expectAwsError(org.send(new ORG.ListDelegatedServicesForAccountCommand({ AccountId: delegate })), "AccountNotRegisteredException", 409);
    await expectAwsError(asOther.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: other, ServicePrincipal: SERVICE })), "AccessDeniedException", 403, DENIED);
  });

  it("registers a member, which then reads the organization; other members still may not", async () => {
    await org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: delegate, ServicePrincipal: SERVICE }));
    await expectAwsError(org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: delegate, ServicePrincipal: SERVICE })), "AccountAlreadyRegisteredException", 409);
    expect((await org.send(new ORG.ListDelegatedServicesForAccountCommand({ AccountId: delegate }))).DelegatedServices!.map((d) => d.ServicePrincipal)).toEqual([SERVICE]);

    const accounts = (await asDelegate.send(new ORG.ListAccountsCommand({}))).Accounts!.map((a) => a.Id).sort();
    expect(accounts).toEqual([MANAGEMENT, delegate, other].sort());
    expect((await asDelegate.send(new ORG.DescribeOrganizationCommand({}))).Organization!.MasterAccountId).toBe(MANAGEMENT);
    expect((await asDelegate.send(new ORG.ListRootsCommand({}))).Roots!.map((r) => r.Id)).toEqual([rootId]);
    expect((await asDelegate.send(new ORG.ListOrganizationalUnitsForParentCommand({ ParentId: rootId }))).OrganizationalUnits!.map((o) => o.Id)).toEqual([ouId]);
    expect((await asDelegate.send(new ORG.ListChildrenCommand({ ParentId: rootId, ChildType: "ACCOUNT" }))).Children!.length).toBe(3);
    expect((await asDelegate.send(new ORG.DescribeAccountCommand({ AccountId: other }))).Account!.Name).toBe("other");
    expect((await asDelegate.send(new ORG.DescribeOrganizationalUnitCommand({ OrganizationalUnitId: ouId }))).OrganizationalUnit!.Name).toBe("workloads");
    expect((await asDelegate.send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY" }))).Policies).toBeDefined();
    expect((await asDelegate.send(new ORG.ListDelegatedAdministratorsCommand({}))).DelegatedAdministrators!.map((d) => d.Id)).toEqual([delegate]);
    expect((await asDelegate.send(new ORG.ListAWSServiceAccessForOrganizationCommand({}))).EnabledServicePrincipals!.map((e) => e.ServicePrincipal)).toEqual([SERVICE]);
    expect((await asDelegate.send(new ORG.ListParentsCommand({ ChildId: other }))).Parents!.map((p) => p.Id)).toEqual([rootId]);

    // read-only: the delegated administrator changes nothing
    await expectAwsError(asDelegate.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "mine" })), "AccessDeniedException", 403, DENIED);
    await expectAwsError(asDelegate.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: other, ServicePrincipal: SERVICE })), "AccessDeniedException", 403, DENIED);
    await expectAwsError(asDelegate.send(new ORG.RemoveAccountFromOrganizationCommand({ AccountId: other })), "AccessDeniedException", 403, DENIED);
    await expectAwsError(asDelegate.send(new ORG.TagResourceCommand({ ResourceId: other, Tags: [{ Key: "k", Value: "v" }] })), "AccessDeniedException", 403, DENIED);
    expect((await org.send(new ORG.ListOrganizationalUnitsForParentCommand({ ParentId: rootId }))).OrganizationalUnits!.map((o) => o.Name)).toEqual(["workloads"]);

    await expectAwsError(asOther.send(new ORG.ListAccountsCommand({})), "AccessDeniedException", 403, DENIED);
    await expectAwsError(asOther.send(new ORG.DescribeAccountCommand({ AccountId: delegate })), "AccessDeniedException", 403, DENIED);
    await expectAwsError(orgAs({ accessKeyId: OUTSIDER, secretAccessKey: "test" }).send(new ORG.ListAccountsCommand({})), "AWSOrganizationsNotInUseException", 404);
  });

  it("refuses to remove a delegated administrator until it is deregistered, which ends its access", async () => {
    await expectReason(
      org.send(new ORG.RemoveAccountFromOrganizationCommand({ AccountId: delegate })),
      "ConstraintViolationException",
      409,
      "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
    );
    await expectReason(asDelegate.send(new ORG.LeaveOrganizationCommand({})), "ConstraintViolationException", 409, "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG");
    expect((await org.send(new ORG.ListAccountsCommand({}))).Accounts!.map((a) => a.Id)).toContain(delegate);

    await org.send(new ORG.DeregisterDelegatedAdministratorCommand({ AccountId: delegate, ServicePrincipal: SERVICE }));
    await expectAwsError(asDelegate.send(new ORG.ListAccountsCommand({})), "AccessDeniedException", 403, DENIED);
    await org.send(new ORG.RemoveAccountFromOrganizationCommand({ AccountId: delegate }));
    expect((await org.send(new ORG.ListAccountsCommand({}))).Accounts!.map((a) => a.Id)).not.toContain(delegate);
  });
});

describe("Organizations delegation policy (PutResourcePolicy)", () => {
  let rootId: string;
  let trusted: string;
  let other: string;
  let asTrusted: ORG.OrganizationsClient;
  let asOther: ORG.OrganizationsClient;
  const scp = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "ecs:DeleteCluster", Resource: "*" }] });
  const delegation = (account: string, actions: string[]) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Sid: "PolicyManagement", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: actions, Resource: "*" }],
    });

  it("sets up two members (the organization of the first describe is reused)", async () => {
    rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
    trusted = await createMemberAccount(org, "trusted", "trusted@example.com");
    other = await createMemberAccount(org, "other2", "other2@example.com");
    asTrusted = orgAs(await intoMemberAccount(s, admin, trusted));
    asOther = orgAs(await intoMemberAccount(s, admin, other));
    await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" }));
  });

  it("answers ResourcePolicyNotFoundException before there is one, and members may not create one", async () => {
    await expectAwsError(org.send(new ORG.DescribeResourcePolicyCommand({})), "ResourcePolicyNotFoundException", 404);
    await expectAwsError(org.send(new ORG.DeleteResourcePolicyCommand({})), "ResourcePolicyNotFoundException", 404);
    await expectAwsError(asTrusted.send(new ORG.PutResourcePolicyCommand({ Content: delegation(trusted, ["organizations:*"]) })), "AccessDeniedException", 403, DENIED);
    await expectAwsError(
      asTrusted.send(new ORG.CreatePolicyCommand({ Name: "x", Description: "", Type: "SERVICE_CONTROL_POLICY", Content: scp })),
      "AccessDeniedException",
      403,
      DENIED,
    );
    await expectAwsError(orgAs({ accessKeyId: OUTSIDER, secretAccessKey: "test" }).send(new ORG.DescribeResourcePolicyCommand({})), "AWSOrganizationsNotInUseException", 404);
  });

  it("refuses documents AWS refuses, and stores none of them", async () => {
    await expectReason(org.send(new ORG.PutResourcePolicyCommand({ Content: "{not json" })), "InvalidInputException", 400, "INVALID_RESOURCE_POLICY_JSON");
    await expectReason(org.send(new ORG.PutResourcePolicyCommand({ Content: "[]" })), "InvalidInputException", 400, "INVALID_RESOURCE_POLICY_JSON");
    await expectReason(
      org.send(new ORG.PutResourcePolicyCommand({ Content: delegation(trusted, ["ecs:CreateCluster"]) })),
      "InvalidInputException",
      400,
      "UNSUPPORTED_ACTION_IN_RESOURCE_POLICY",
    );
    const noPrincipal = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "organizations:ListPolicies", Resource: "*" }] });
    await expectReason(org.send(new ORG.PutResourcePolicyCommand({ Content: noPrincipal })), "InvalidInputException", 400, "INVALID_PRINCIPAL");
    await expectReason(org.send(new ORG.PutResourcePolicyCommand({ Content: "" })), "InvalidInputException", 400, "MIN_LENGTH_EXCEEDED");
    await expectReason(org.send(new ORG.PutResourcePolicyCommand({ Content: "x".repeat(40001) })), "InvalidInputException", 400, "MAX_LENGTH_EXCEEDED");
    await expectAwsError(org.send(new ORG.DescribeResourcePolicyCommand({})), "ResourcePolicyNotFoundException", 404);
  });

  it("lets the member it names manage policies, with its own IAM permissions, and nobody else", async () => {
    const content = delegation(trusted, ["organizations:CreatePolicy", "organizations:AttachPolicy", "organizations:DescribePolicy", "organizations:ListPolicies"]);
    const put = await org.send(new ORG.PutResourcePolicyCommand({ Content: content, Tags: [{ Key: "team", Value: "platform" }] }));
    const summary = put.ResourcePolicy!.ResourcePolicySummary!;
    expect(summary.Id).toMatch(/^rp-[0-9a-z]{8}$/);
    expect(summary.Arn).toMatch(new RegExp(`^arn:aws:organizations::${MANAGEMENT}:resourcepolicy/o-[a-z0-9]{10}/${summary.Id}$`));
    expect((await org.send(new ORG.DescribeResourcePolicyCommand({}))).ResourcePolicy).toEqual({ ResourcePolicySummary: summary, Content: content });
    expect((await org.send(new ORG.ListTagsForResourceCommand({ ResourceId: summary.Id }))).Tags).toEqual([{ Key: "team", Value: "platform" }]);
    await expectAwsError(org.send(new ORG.PutResourcePolicyCommand({ Content: content, Tags: [{ Key: "k", Value: "v" }] })), "InvalidInputException", 400);

    const created = await asTrusted.send(new ORG.CreatePolicyCommand({ Name: "by-trusted", Description: "delegated", Type: "SERVICE_CONTROL_POLICY", Content: scp }));
    const policyId = created.Policy!.PolicySummary!.Id!;
    await asTrusted.send(new ORG.AttachPolicyCommand({ PolicyId: policyId, TargetId: other }));
    expect((await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: other, Filter: "SERVICE_CONTROL_POLICY" }))).Policies!.map((p) => p.Name)).toContain("by-trusted");
    expect((await asTrusted.send(new ORG.DescribePolicyCommand({ PolicyId: policyId }))).Policy!.Content).toBe(scp);
    await expectAwsError(asTrusted.send(new ORG.DescribeResourcePolicyCommand({})), "AccessDeniedException", 403, /no resource-based policy allows/);

    // actions the delegation does not name, and actions it cannot grant, stay the management account's
    await expectAwsError(
      asTrusted.send(new ORG.DeletePolicyCommand({ PolicyId: policyId })),
      "AccessDeniedException",
      403,
      /no resource-based policy allows the organizations:DeletePolicy action/,
    );
    await expectAwsError(asTrusted.send(new ORG.ListAccountsCommand({})), "AccessDeniedException", 403);
    await expectAwsError(asTrusted.send(new ORG.CreateAccountCommand({ AccountName: "x", Email: "x@example.com" })), "AccessDeniedException", 403, DENIED);
    await expectAwsError(asTrusted.send(new ORG.DeleteResourcePolicyCommand({})), "AccessDeniedException", 403, DENIED);

    // a member the delegation does not name
    await expectAwsError(
      asOther.send(new ORG.CreatePolicyCommand({ Name: "by-other", Description: "", Type: "SERVICE_CONTROL_POLICY", Content: scp })),
      "AccessDeniedException",
      403,
    );
    await expectAwsError(asOther.send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY" })), "AccessDeniedException", 403);

    // an identity of the trusted member without IAM permission is refused by its own account
    const iam = new IAMClient(s.configFor(await intoMemberAccount(s, admin, trusted)));
    const bare = await userWithKey(iam, "bare", doc([allow("sts:GetCallerIdentity")]));
    await expectAwsError(orgAs(bare).send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY" })), "AccessDeniedException", 403);
    expect((await org.send(new ORG.ListPoliciesCommand({ Filter: "SERVICE_CONTROL_POLICY" }))).Policies!.map((p) => p.Name)).not.toContain("by-other");
  });

  it("takes the delegation back with DeleteResourcePolicy", async () => {
    await org.send(new ORG.DeleteResourcePolicyCommand({}));
    await expectAwsError(org.send(new ORG.DescribeResourcePolicyCommand({})), "ResourcePolicyNotFoundException", 404);
    await expectAwsError(
      asTrusted.send(new ORG.CreatePolicyCommand({ Name: "late", Description: "", Type: "SERVICE_CONTROL_POLICY", Content: scp })),
      "AccessDeniedException",
      403,
      DENIED,
    );
    await expectAwsError(asTrusted.send(new ORG.DescribeResourcePolicyCommand({})), "AccessDeniedException", 403, DENIED);
  });
});
