/**
 * IAM's account-wide operations through @aws-sdk/client-iam: the password policy and login
 * profiles it governs, account aliases, GetAccountSummary, the credential report, UpdateGroup,
 * UpdateRoleDescription and the tags of customer managed policies.
 */
import { describe, expect, it } from "vitest";
import {
  IAMClient,
  AddUserToGroupCommand,
  CreateAccountAliasCommand,
  CreateGroupCommand,
  CreateLoginProfileCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccountAliasCommand,
  DeleteAccountPasswordPolicyCommand,
  DeleteLoginProfileCommand,
  DeleteUserCommand,
  GenerateCredentialReportCommand,
  GetAccountPasswordPolicyCommand,
  GetAccountSummaryCommand,
  GetCredentialReportCommand,
  GetGroupCommand,
  GetLoginProfileCommand,
  GetRoleCommand,
  ListAccountAliasesCommand,
  ListGroupsForUserCommand,
  ListPolicyTagsCommand,
  TagPolicyCommand,
  UntagPolicyCommand,
  UpdateAccountPasswordPolicyCommand,
  UpdateGroupCommand,
  UpdateLoginProfileCommand,
  UpdateRoleDescriptionCommand,
  AttachUserPolicyCommand,
  CreatePolicyVersionCommand,
  GetAccountAuthorizationDetailsCommand,
  ListServerCertificatesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  ListSSHPublicKeysCommand,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { useTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, doc, expectAwsError, trustAccount, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let iam: IAMClient;
useTestServer((server) => {
  s = server;
  iam = new IAMClient(s.config);
});

describe("account password policy and login profiles", () => {
  it("has no policy until one is set; AWS's default rules apply meanwhile", async () => {
    await expectAwsError(iam.send(new GetAccountPasswordPolicyCommand({})), "NoSuchEntityException", 404, `The Password Policy with domain name ${ACCOUNT} cannot be found.`);
    await iam.send(new CreateUserCommand({ UserName: "pw-default" }));
    await expectAwsError(
      iam.send(new CreateLoginProfileCommand({ UserName: "pw-default", Password: "short" })),
      "PasswordPolicyViolationException",
      400,
      "Password should have a minimum length of 8",
    );
    await expectAwsError(iam.send(new CreateLoginProfileCommand({ UserName: "pw-default", Password: "alllowercase" })), "PasswordPolicyViolationException", 400);
    const made = await iam.send(new CreateLoginProfileCommand({ UserName: "pw-default", Password: "Correct-Horse-1", PasswordResetRequired: true }));
    expect(made.LoginProfile).toMatchObject({ UserName: "pw-default", PasswordResetRequired: true });
    await expectAwsError(iam.send(new CreateLoginProfileCommand({ UserName: "pw-default", Password: "Correct-Horse-2" })), "EntityAlreadyExistsException", 409);
  });

  it("sets, reads and deletes the policy, and enforces it on new and changed passwords", async () => {
    await iam.send(
      new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 14, RequireSymbols: true, RequireNumbers: true, MaxPasswordAge: 90, PasswordReusePrevention: 24 }),
    );
    const got = await iam.send(new GetAccountPasswordPolicyCommand({}));
    expect(got.PasswordPolicy).toEqual({
      MinimumPasswordLength: 14,
      RequireSymbols: true,
      RequireNumbers: true,
      RequireUppercaseCharacters: false,
      RequireLowercaseCharacters: false,
      AllowUsersToChangePassword: false,
      ExpirePasswords: true,
      MaxPasswordAge: 90,
      PasswordReusePrevention: 24,
      HardExpiry: false,
    });
    await iam.send(new CreateUserCommand({ UserName: "pw-policy" }));
    await expectAwsError(
      iam.send(new CreateLoginProfileCommand({ UserName: "pw-policy", Password: "Abcdefgh-1" })),
      "PasswordPolicyViolationException",
      400,
      "Password should have a minimum length of 14",
    );
    await expectAwsError(
      iam.send(new CreateLoginProfileCommand({ UserName: "pw-policy", Password: "abcdefghijklmnop-" })),
      "PasswordPolicyViolationException",
      400,
      "Password should have at least one number",
    );
    await expectAwsError(iam.send(new GetLoginProfileCommand({ UserName: "pw-policy" })), "NoSuchEntityException", 404, "Login Profile for User pw-policy cannot be found.");
    await iam.send(new CreateLoginProfileCommand({ UserName: "pw-policy", Password: "abcdefghijklm-1" }));
    await expectAwsError(
      iam.send(new UpdateLoginProfileCommand({ UserName: "pw-policy", Password: "abcdefghijklm1" })),
      "PasswordPolicyViolationException",
      400,
      "Password should have at least one symbol",
    );
    await iam.send(new UpdateLoginProfileCommand({ UserName: "pw-policy", PasswordResetRequired: true }));
    expect((await iam.send(new GetLoginProfileCommand({ UserName: "pw-policy" }))).LoginProfile?.PasswordResetRequired).toBe(true);

    await expectAwsError(iam.send(new DeleteUserCommand({ UserName: "pw-policy" })), "DeleteConflictException", 409, "Cannot delete entity, must delete login profile first.");
    await iam.send(new DeleteLoginProfileCommand({ UserName: "pw-policy" }));
    await expectAwsError(iam.send(new DeleteLoginProfileCommand({ UserName: "pw-policy" })), "NoSuchEntityException", 404);
    await iam.send(new DeleteUserCommand({ UserName: "pw-policy" }));

    await iam.send(new DeleteAccountPasswordPolicyCommand({}));
    await expectAwsError(iam.send(new GetAccountPasswordPolicyCommand({})), "NoSuchEntityException", 404);
    await expectAwsError(iam.send(new DeleteAccountPasswordPolicyCommand({})), "NoSuchEntityException", 404);
  });

  it("acts on the calling user when no UserName is given; root must name one", async () => {
    const creds = await userWithKey(iam, "pw-self", doc([allow("iam:GetLoginProfile")]));
    await iam.send(new CreateLoginProfileCommand({ UserName: "pw-self", Password: "Self-Service-1" }));
    const self = new IAMClient(s.configFor(creds));
    expect((await self.send(new GetLoginProfileCommand({}))).LoginProfile?.UserName).toBe("pw-self");
    await expectAwsError(iam.send(new GetLoginProfileCommand({})), "ValidationError", 400, "Must specify userName when calling with non-User credentials");
  });

  it("validates the policy's ranges before changing anything", async () => {
    await expectAwsError(iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 5 })), "ValidationError", 400);
    await expectAwsError(iam.send(new UpdateAccountPasswordPolicyCommand({ MaxPasswordAge: 1096 })), "ValidationError", 400);
    await expectAwsError(iam.send(new GetAccountPasswordPolicyCommand({})), "NoSuchEntityException", 404);
  });

  it("needs iam permissions: a user without them is refused", async () => {
    const creds = await userWithKey(iam, "pw-nobody", doc([allow("iam:GetUser")]));
    const other = new IAMClient(s.configFor(creds));
    await expectAwsError(other.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 6 })), "AccessDenied", 403);
    await expectAwsError(other.send(new CreateLoginProfileCommand({ UserName: "pw-default", Password: "Another-Pass-1" })), "AccessDenied", 403);
  });
});

describe("account aliases", () => {
  it("creates one alias per account, unique across accounts, and deletes it", async () => {
    expect((await iam.send(new ListAccountAliasesCommand({}))).AccountAliases).toEqual([]);
    await expectAwsError(iam.send(new CreateAccountAliasCommand({ AccountAlias: "Bad_Alias" })), "ValidationError", 400);
    await iam.send(new CreateAccountAliasCommand({ AccountAlias: "security-review" }));
    expect((await iam.send(new ListAccountAliasesCommand({}))).AccountAliases).toEqual(["security-review"]);
    await expectAwsError(iam.send(new DeleteAccountAliasCommand({ AccountAlias: "other-alias" })), "NoSuchEntityException", 404);
    const other = new IAMClient(s.configFor({ accessKeyId: "111111111111", secretAccessKey: "test" }));
    await expectAwsError(other.send(new CreateAccountAliasCommand({ AccountAlias: "security-review" })), "EntityAlreadyExistsException", 409);
    expect((await other.send(new ListAccountAliasesCommand({}))).AccountAliases).toEqual([]);
    await expectAwsError(other.send(new DeleteAccountAliasCommand({ AccountAlias: "security-review" })), "NoSuchEntityException", 404);
    await iam.send(new DeleteAccountAliasCommand({ AccountAlias: "security-review" }));
    expect((await iam.send(new ListAccountAliasesCommand({}))).AccountAliases).toEqual([]);
  });
});

describe("account summary and credential report", () => {
  it("counts the account's entities and reports AWS's quotas", async () => {
    const sts = new STSClient(s.config);
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT);
    const before = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    await iam.send(new CreateUserCommand({ UserName: "summary-user" }));
    await iam.send(new CreateGroupCommand({ GroupName: "summary-group" }));
    const after = (await iam.send(new GetAccountSummaryCommand({}))).SummaryMap!;
    expect(after.Users).toBe(before.Users! + 1);
    expect(after.Groups).toBe(before.Groups! + 1);
    expect(after).toMatchObject({ UsersQuota: 5000, AccessKeysPerUserQuota: 2, GroupsPerUserQuota: 10, AccountMFAEnabled: 0, AccountAccessKeysPresent: 1 });
  });

  it("is not there until generated; then a CSV with AWS's columns from real key and password use", async () => {
    await expectAwsError(iam.send(new GetCredentialReportCommand({})), "CredentialReportNotPresentException", 410);
    const creds = await userWithKey(iam, "report-used", doc([allow("sts:GetCallerIdentity")]));
    await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}));
    await userWithKey(iam, "report-unused");
    await iam.send(new CreateLoginProfileCommand({ UserName: "report-unused", Password: "Correct-Horse-1" }));

    expect((await iam.send(new GenerateCredentialReportCommand({}))).State).toBe("STARTED");
    expect((await iam.send(new GenerateCredentialReportCommand({}))).State).toBe("COMPLETE");
    const report = await iam.send(new GetCredentialReportCommand({}));
    expect(report.ReportFormat).toBe("text/csv");
    const lines = new TextDecoder().decode(report.Content).split("\n");
    const header = lines[0].split(",");
    expect(header).toEqual([
      "user",
      "arn",
      "user_creation_time",
      "password_enabled",
      "password_last_used",
      "password_last_changed",
      "password_next_rotation",
      "mfa_active",
      "access_key_1_active",
      "access_key_1_last_rotated",
      "access_key_1_last_used_date",
      "access_key_1_last_used_region",
      "access_key_1_last_used_service",
      "access_key_2_active",
      "access_key_2_last_rotated",
      "access_key_2_last_used_date",
      "access_key_2_last_used_region",
      "access_key_2_last_used_service",
      "cert_1_active",
      "cert_1_last_rotated",
      "cert_2_active",
      "cert_2_last_rotated",
    ]);
    const rows = new Map(lines.slice(1).map((l) => [l.split(",")[0], Object.fromEntries(l.split(",").map((v, n) => [header[n], v]))]));
    expect(rows.get("<root_account>")).toMatchObject({ arn: `arn:aws:iam::${ACCOUNT}:root`, password_enabled: "not_supported", mfa_active: "false" });
    const used = rows.get("report-used")!;
    expect(used).toMatchObject({
      password_enabled: "false",
      password_last_used: "N/A",
      access_key_1_active: "true",
      access_key_1_last_used_service: "sts",
      access_key_1_last_used_region: "us-east-1",
      access_key_2_active: "false",
    });
    expect(used.access_key_1_last_used_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const unused = rows.get("report-unused")!;
    expect(unused).toMatchObject({ password_enabled: "true", access_key_1_active: "true", access_key_1_last_used_date: "N/A", access_key_1_last_used_service: "N/A" });
    expect(unused.password_last_changed).toMatch(/\+00:00$/);
  });

  it("expires after four hours of the service clock", async () => {
    await s.advanceClock(4 * 3600 + 1);
    await expectAwsError(iam.send(new GetCredentialReportCommand({})), "CredentialReportExpiredException", 410);
    expect((await iam.send(new GenerateCredentialReportCommand({}))).State).toBe("STARTED");
    await iam.send(new GetCredentialReportCommand({}));
  });
});

describe("UpdateGroup, UpdateRoleDescription, policy tags", () => {
  it("renames and moves a group, keeping its members", async () => {
    await iam.send(new CreateGroupCommand({ GroupName: "ops" }));
    await iam.send(new CreateUserCommand({ UserName: "ops-member" }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "ops", UserName: "ops-member" }));
    await iam.send(new CreateGroupCommand({ GroupName: "taken" }));
    await expectAwsError(iam.send(new UpdateGroupCommand({ GroupName: "ops", NewGroupName: "taken" })), "EntityAlreadyExistsException", 409);
    await iam.send(new UpdateGroupCommand({ GroupName: "ops", NewGroupName: "operations", NewPath: "/teams/" }));
    await expectAwsError(iam.send(new GetGroupCommand({ GroupName: "ops" })), "NoSuchEntityException", 404);
    const g = await iam.send(new GetGroupCommand({ GroupName: "operations" }));
    expect(g.Group).toMatchObject({ Path: "/teams/", Arn: `arn:aws:iam::${ACCOUNT}:group/teams/operations` });
    expect(g.Users?.map((u) => u.UserName)).toEqual(["ops-member"]);
    expect((await iam.send(new ListGroupsForUserCommand({ UserName: "ops-member" }))).Groups?.map((x) => x.GroupName)).toEqual(["operations"]);
    await expectAwsError(iam.send(new UpdateGroupCommand({ GroupName: "missing" })), "NoSuchEntityException", 404);
  });

  it("changes a role's description and returns the role", async () => {
    await iam.send(new CreateRoleCommand({ RoleName: "described", AssumeRolePolicyDocument: trustAccount() }));
    const out = await iam.send(new UpdateRoleDescriptionCommand({ RoleName: "described", Description: "reviewed" }));
    expect(out.Role).toMatchObject({ RoleName: "described", Description: "reviewed" });
    expect((await iam.send(new GetRoleCommand({ RoleName: "described" }))).Role?.Description).toBe("reviewed");
    await expectAwsError(iam.send(new UpdateRoleDescriptionCommand({ RoleName: "nope", Description: "x" })), "NoSuchEntityException", 404);
  });

  it("tags, lists and untags a customer managed policy; AWS managed policies have none to change", async () => {
    const p = await iam.send(new CreatePolicyCommand({ PolicyName: "tagged", PolicyDocument: doc([allow("s3:GetObject")]) }));
    const arn = p.Policy!.Arn!;
    await iam.send(
      new TagPolicyCommand({
        PolicyArn: arn,
        Tags: [
          { Key: "owner", Value: "sec" },
          { Key: "env", Value: "prod" },
        ],
      }),
    );
    expect((await iam.send(new ListPolicyTagsCommand({ PolicyArn: arn }))).Tags).toEqual([
      { Key: "env", Value: "prod" },
      { Key: "owner", Value: "sec" },
    ]);
    await iam.send(new UntagPolicyCommand({ PolicyArn: arn, TagKeys: ["env"] }));
    expect((await iam.send(new ListPolicyTagsCommand({ PolicyArn: arn }))).Tags).toEqual([{ Key: "owner", Value: "sec" }]);
    await expectAwsError(
      iam.send(new TagPolicyCommand({ PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess", Tags: [{ Key: "a", Value: "b" }] })),
      "NoSuchEntityException",
      404,
    );
    await expectAwsError(iam.send(new ListPolicyTagsCommand({ PolicyArn: `arn:aws:iam::${ACCOUNT}:policy/missing` })), "NoSuchEntityException", 404);
  });
});

describe("GetAccountAuthorizationDetails", () => {
  it("lists users, groups, roles and managed policies with their policies, and pages", async () => {
    await iam.send(new CreateUserCommand({ UserName: "gaad-user" }));
    await iam.send(new AddUserToGroupCommand({ GroupName: "operations", UserName: "gaad-user" }));
    const p = await iam.send(new CreatePolicyCommand({ PolicyName: "gaad-policy", PolicyDocument: doc([allow("ecs:ListClusters")]) }));
    await iam.send(new CreatePolicyVersionCommand({ PolicyArn: p.Policy!.Arn!, PolicyDocument: doc([allow("ecs:*")]), SetAsDefault: true }));
    await iam.send(new AttachUserPolicyCommand({ UserName: "gaad-user", PolicyArn: p.Policy!.Arn! }));
    await iam.send(new CreateRoleCommand({ RoleName: "gaad-role", AssumeRolePolicyDocument: trustAccount() }));
    await iam.send(new PutRolePolicyCommand({ RoleName: "gaad-role", PolicyName: "inline", PolicyDocument: doc([allow("kms:Decrypt")]) }));

    const all = await iam.send(new GetAccountAuthorizationDetailsCommand({}));
    const user = all.UserDetailList!.find((u) => u.UserName === "gaad-user")!;
    expect(user.GroupList).toEqual(["operations"]);
    expect(user.AttachedManagedPolicies).toEqual([{ PolicyName: "gaad-policy", PolicyArn: p.Policy!.Arn }]);
    const role = all.RoleDetailList!.find((r) => r.RoleName === "gaad-role")!;
    expect(role.RolePolicyList?.map((x) => [x.PolicyName, JSON.parse(decodeURIComponent(x.PolicyDocument!)).Statement[0].Action])).toEqual([["inline", "kms:Decrypt"]]);
    expect(JSON.parse(decodeURIComponent(role.AssumeRolePolicyDocument!)).Statement[0].Action).toBe("sts:AssumeRole");
    const policy = all.Policies!.find((x) => x.PolicyName === "gaad-policy")!;
    expect(policy).toMatchObject({ DefaultVersionId: "v2", AttachmentCount: 1 });
    expect(policy.PolicyVersionList?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([
      ["v2", true],
      ["v1", false],
    ]);
    expect(all.GroupDetailList!.map((g) => g.GroupName)).toContain("operations");

    const roles = await iam.send(new GetAccountAuthorizationDetailsCommand({ Filter: ["Role"] }));
    expect(roles.UserDetailList).toEqual([]);
    expect(roles.RoleDetailList!.map((r) => r.RoleName)).toContain("gaad-role");

    const total = all.UserDetailList!.length + all.GroupDetailList!.length + all.RoleDetailList!.length + all.Policies!.length;
    let marker: string | undefined;
    let seen = 0;
    do {
      const page = await iam.send(new GetAccountAuthorizationDetailsCommand({ MaxItems: 2, Marker: marker }));
      seen += page.UserDetailList!.length + page.GroupDetailList!.length + page.RoleDetailList!.length + page.Policies!.length;
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    expect(seen).toBe(total);
  });
});

describe("credentials this IAM does not issue", () => {
  it("are listed as none, and NoSuchEntity for a user that is not there", async () => {
    expect((await iam.send(new ListServiceSpecificCredentialsCommand({ UserName: "ops-member" }))).ServiceSpecificCredentials).toEqual([]);
    expect((await iam.send(new ListSSHPublicKeysCommand({ UserName: "ops-member" }))).SSHPublicKeys).toEqual([]);
    expect((await iam.send(new ListSigningCertificatesCommand({ UserName: "ops-member" }))).Certificates).toEqual([]);
    expect((await iam.send(new ListServerCertificatesCommand({}))).ServerCertificateMetadataList).toEqual([]);
    await expectAwsError(iam.send(new ListSSHPublicKeysCommand({ UserName: "nobody-here" })), "NoSuchEntityException", 404);
  });
});
