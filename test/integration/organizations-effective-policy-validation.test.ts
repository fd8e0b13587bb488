/**
 * Invalid effective management policies through @aws-sdk/client-organizations:
 * ListAccountsWithInvalidEffectivePolicy and ListEffectivePolicyValidationErrors (what makes a
 * backup or tag policy's inherited result invalid, who may ask, paging, AWS's errors), and
 * CloseAccount. docs/organizations.md, "Invalid effective policies" and "Closing an account".
 */
import { describe, expect, it } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { useTestServer, type TestServer } from "../support/server.ts";
import { createMemberAccount, expectReason, intoMember, orgAdmin } from "./organizations-helpers.ts";
import { expectAwsError, type Creds } from "./iam-helpers.ts";

const MANAGEMENT = "000000000000";
const OUTSIDER = "222222222222";
const DENIED = "You don't have permissions to access this resource.";
const NOT_FOUND = "We can't find an effective policy of the specified type.";

let s: TestServer;
let org: ORG.OrganizationsClient;
let admin: Creds;

useTestServer(async (server) => {
  s = server;
  org = new ORG.OrganizationsClient(s.config);
  admin = await orgAdmin(s);
});

const orgAs = (creds: Creds) => new ORG.OrganizationsClient(s.configFor(creds));

let n = 0;
async function create(Type: ORG.PolicyType, content: unknown): Promise<string> {
  return (await org.send(new ORG.CreatePolicyCommand({ Name: `v${n++}`, Description: "d", Type, Content: JSON.stringify(content) }))).Policy!.PolicySummary!.Id!;
}
const attach = (PolicyId: string, TargetId: string) => org.send(new ORG.AttachPolicyCommand({ PolicyId, TargetId }));
const detach = (PolicyId: string, TargetId: string) => org.send(new ORG.DetachPolicyCommand({ PolicyId, TargetId }));
const invalidAccounts = async (PolicyType: ORG.EffectivePolicyType, client = org) =>
  ((await client.send(new ORG.ListAccountsWithInvalidEffectivePolicyCommand({ PolicyType }))).Accounts ?? []).map((a) => a.Id).sort();
const errorsOf = (AccountId: string, PolicyType: ORG.EffectivePolicyType, client = org, extra: { MaxResults?: number; NextToken?: string } = {}) =>
  client.send(new ORG.ListEffectivePolicyValidationErrorsCommand({ AccountId, PolicyType, ...extra }));

/** A complete backup plan: Regions, a rule with its vault, a selection with its role. */
const dailyPlan = {
  plans: {
    daily: {
      regions: { "@@assign": ["us-east-1", "us-west-2"] },
      rules: { every_day: { schedule_expression: { "@@assign": "cron(0 5 ? * * *)" }, target_backup_vault_name: { "@@assign": "Default" } } },
      selections: {
        tags: { datatype: { iam_role_arn: { "@@assign": "arn:aws:iam::$account:role/Backup" }, tag_key: { "@@assign": "backup" }, tag_value: { "@@assign": ["yes"] } } },
      },
    },
  },
};

describe("Organizations invalid effective policies", () => {
  let rootId: string;
  let ouId: string;
  let member: string;
  let delegate: string;
  let asMember: ORG.OrganizationsClient;
  let asDelegate: ORG.OrganizationsClient;
  let rootPlan: string;

  it("sets up root → OU → member, a delegated administrator, and backup and tag policies enabled", async () => {
    await org.send(new ORG.CreateOrganizationCommand({ FeatureSet: "ALL" }));
    rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
    ouId = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "workloads" }))).OrganizationalUnit!.Id!;
    member = await createMemberAccount(org, "app", "app@example.com");
    delegate = await createMemberAccount(org, "security", "security@example.com");
    await org.send(new ORG.MoveAccountCommand({ AccountId: member, SourceParentId: rootId, DestinationParentId: ouId }));
    await org.send(new ORG.EnableAWSServiceAccessCommand({ ServicePrincipal: "backup.amazonaws.com" }));
    await org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: delegate, ServicePrincipal: "backup.amazonaws.com" }));
    asMember = orgAs(await intoMember(s, admin, member));
    asDelegate = orgAs(await intoMember(s, admin, delegate));
    for (const PolicyType of ["BACKUP_POLICY", "TAG_POLICY"] as const) await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType }));
  });

  it("answers EffectivePolicyNotFoundException for a type not enabled (or not offered) and for an account with nothing attached", async () => {
    for (const PolicyType of ["CHATBOT_POLICY", "SECURITYHUB_POLICY"] as const) {
      await expectAwsError(org.send(new ORG.ListAccountsWithInvalidEffectivePolicyCommand({ PolicyType })), "EffectivePolicyNotFoundException", 400, NOT_FOUND);
      await expectAwsError(errorsOf(member, PolicyType), "EffectivePolicyNotFoundException", 400, NOT_FOUND);
    }
    // enabled, but nothing attached along the account's path: no effective policy, nothing invalid
    await expectAwsError(errorsOf(member, "BACKUP_POLICY"), "EffectivePolicyNotFoundException", 400, NOT_FOUND);
    expect(await invalidAccounts("BACKUP_POLICY")).toEqual([]);
  });

  it("finds no fault in a complete backup plan, and names the account's path", async () => {
    rootPlan = await create("BACKUP_POLICY", dailyPlan);
    await attach(rootPlan, rootId);
    expect(await invalidAccounts("BACKUP_POLICY")).toEqual([]);
    const out = await errorsOf(member, "BACKUP_POLICY");
    expect(out).toMatchObject({ AccountId: member, PolicyType: "BACKUP_POLICY", EffectivePolicyValidationErrors: [] });
    const orgId = (await org.send(new ORG.DescribeOrganizationCommand({}))).Organization!.Id!;
    expect(out.Path).toBe(`${orgId}/${rootId}/${ouId}/${member}/`);
    expect(out.EvaluationTimestamp).toBeInstanceOf(Date);
    expect((await errorsOf(MANAGEMENT, "BACKUP_POLICY")).Path).toBe(`${orgId}/${rootId}/${MANAGEMENT}/`);
  });

  it("reports a plan whose Regions an OU removed, for the accounts under that OU only, with the policies that made it", async () => {
    const removeRegions = await create("BACKUP_POLICY", { plans: { daily: { regions: { "@@remove": ["us-east-1", "us-west-2"] } } } });
    await attach(removeRegions, ouId);
    expect(await invalidAccounts("BACKUP_POLICY")).toEqual([member]);
    const listed = (await org.send(new ORG.ListAccountsWithInvalidEffectivePolicyCommand({ PolicyType: "BACKUP_POLICY" }))).Accounts![0];
    expect(listed).toMatchObject({ Id: member, Name: "app", Email: "app@example.com", Status: "ACTIVE", State: "ACTIVE", JoinedMethod: "CREATED" });
    const out = await errorsOf(member, "BACKUP_POLICY");
    expect(out.EffectivePolicyValidationErrors).toEqual([
      {
        ErrorCode: "ELEMENTS_TOO_FEW",
        ErrorMessage: "plans.daily.regions must contain at least one Region.",
        PathToError: "plans.daily.regions",
        ContributingPolicies: [rootPlan, removeRegions],
      },
    ]);
    // the management account, at the root, keeps the complete plan
    expect((await errorsOf(MANAGEMENT, "BACKUP_POLICY")).EffectivePolicyValidationErrors).toEqual([]);
    // fixing the OU fixes the account
    await detach(removeRegions, ouId);
    expect(await invalidAccounts("BACKUP_POLICY")).toEqual([]);
  });

  it("reports a plan assembled from levels that never names its rules' vault or its selection's role, page by page", async () => {
    const partial = await create("BACKUP_POLICY", {
      plans: {
        weekly: {
          regions: { "@@assign": ["eu-west-1"] },
          rules: { sunday: { schedule_expression: { "@@assign": "cron(0 5 ? * 1 *)" } } },
          selections: { resources: { all: { resource_types: { "@@assign": ["arn:aws:dynamodb:*:*:table/*"] } } } },
        },
      },
    });
    await attach(partial, member);
    expect(await invalidAccounts("BACKUP_POLICY")).toEqual([member]);
    const first = await errorsOf(member, "BACKUP_POLICY", org, { MaxResults: 1 });
    expect(first.EffectivePolicyValidationErrors).toHaveLength(1);
    expect(first.NextToken).toBeDefined();
    const second = await errorsOf(member, "BACKUP_POLICY", org, { MaxResults: 1, NextToken: first.NextToken });
    expect(second.NextToken).toBeUndefined();
    const all = [...first.EffectivePolicyValidationErrors!, ...second.EffectivePolicyValidationErrors!];
    expect(all.map((e) => e.PathToError).sort()).toEqual(["plans.weekly.rules.sunday.target_backup_vault_name", "plans.weekly.selections.resources.all.iam_role_arn"]);
    for (const e of all) expect(e).toMatchObject({ ErrorCode: "ELEMENTS_TOO_FEW", ContributingPolicies: [partial] });
    // a plan with no rules and no selections at all
    const bare = await create("BACKUP_POLICY", { plans: { bare: { regions: { "@@assign": ["us-east-1"] } } } });
    await attach(bare, MANAGEMENT);
    expect(await invalidAccounts("BACKUP_POLICY")).toEqual([MANAGEMENT, member].sort());
    expect((await errorsOf(MANAGEMENT, "BACKUP_POLICY")).EffectivePolicyValidationErrors!.map((e) => e.PathToError)).toEqual(["plans.bare.rules", "plans.bare.selections"]);
    await detach(bare, MANAGEMENT);
    await detach(partial, member);
    expect(await invalidAccounts("BACKUP_POLICY")).toEqual([]);
  });

  it("reports a tag whose every compliant value was removed below, whatever the case of the tag key", async () => {
    const values = await create("TAG_POLICY", { tags: { CostCenter: { tag_key: { "@@assign": "CostCenter" }, tag_value: { "@@assign": ["100", "200"] } } } });
    const removal = await create("TAG_POLICY", { tags: { costcenter: { tag_value: { "@@remove": ["100", "200"] } } } });
    await attach(values, rootId);
    expect(await invalidAccounts("TAG_POLICY")).toEqual([]);
    await attach(removal, ouId);
    expect(await invalidAccounts("TAG_POLICY")).toEqual([member]);
    expect((await errorsOf(member, "TAG_POLICY")).EffectivePolicyValidationErrors).toEqual([
      {
        ErrorCode: "ELEMENTS_TOO_FEW",
        ErrorMessage: "tags.costcenter.tag_value must contain at least one compliant tag value.",
        PathToError: "tags.costcenter.tag_value",
        ContributingPolicies: [values, removal],
      },
    ]);
  });

  it("lets the management account and a delegated administrator ask, and no other member", async () => {
    expect(await invalidAccounts("TAG_POLICY", asDelegate)).toEqual([member]);
    expect((await errorsOf(member, "TAG_POLICY", asDelegate)).EffectivePolicyValidationErrors).toHaveLength(1);
    await expectAwsError(asMember.send(new ORG.ListAccountsWithInvalidEffectivePolicyCommand({ PolicyType: "TAG_POLICY" })), "AccessDeniedException", 403, DENIED);
    // not even about itself
    await expectAwsError(errorsOf(member, "TAG_POLICY", asMember), "AccessDeniedException", 403, DENIED);
    const outsider = new ORG.OrganizationsClient(s.configFor({ accessKeyId: OUTSIDER, secretAccessKey: "test" }));
    await expectAwsError(outsider.send(new ORG.ListAccountsWithInvalidEffectivePolicyCommand({ PolicyType: "TAG_POLICY" })), "AWSOrganizationsNotInUseException", 404);
    await expectAwsError(errorsOf(member, "TAG_POLICY", outsider), "AWSOrganizationsNotInUseException", 404);
  });

  it("refuses bad input with InvalidInputException and an account outside the organization with AccountNotFoundException", async () => {
    await expectAwsError(errorsOf(OUTSIDER, "TAG_POLICY"), "AccountNotFoundException", 404);
    await expectReason(errorsOf(member, "TAG_POLICY", org, { NextToken: "not-a-token" }), "InvalidInputException", 400, "INVALID_NEXT_TOKEN");
    await expectReason(
      org.send(new ORG.ListAccountsWithInvalidEffectivePolicyCommand({ PolicyType: "TAG_POLICY", NextToken: "not-a-token" })),
      "InvalidInputException",
      400,
      "INVALID_NEXT_TOKEN",
    );
    await expectReason(errorsOf(member, "TAG_POLICY", org, { MaxResults: 21 }), "InvalidInputException", 400, "MAX_VALUE_EXCEEDED");
    await expectReason(errorsOf(member, "TAG_POLICY", org, { MaxResults: 0 }), "InvalidInputException", 400, "MIN_VALUE_EXCEEDED");
    // SCPs and RCPs have no effective policy to validate
    await expectReason(errorsOf(member, "SERVICE_CONTROL_POLICY" as ORG.EffectivePolicyType), "InvalidInputException", 400, "INVALID_ENUM");
    await expectReason(errorsOf("12345", "TAG_POLICY"), "InvalidInputException", 400, "INVALID_PATTERN");
  });

  it("pages the accounts with invalid effective policies", async () => {
    const removal = (await org.send(new ORG.ListPoliciesForTargetCommand({ TargetId: ouId, Filter: "TAG_POLICY" }))).Policies![0].Id!;
    await attach(removal, MANAGEMENT);
    await attach(removal, delegate);
    const seen: string[] = [];
    let NextToken: string | undefined;
    do {
      const out = await org.send(new ORG.ListAccountsWithInvalidEffectivePolicyCommand({ PolicyType: "TAG_POLICY", MaxResults: 1, NextToken }));
      expect(out.Accounts!.length).toBeLessThanOrEqual(1);
      expect(out.PolicyType).toBe("TAG_POLICY");
      seen.push(...out.Accounts!.map((a) => a.Id!));
      NextToken = out.NextToken;
    } while (NextToken);
    expect(seen.sort()).toEqual([MANAGEMENT, member, delegate].sort());
  });

  describe("CloseAccount", () => {
    let closing: string;

    it("closes a member account: it stays in the organization, SUSPENDED and CLOSED", async () => {
      closing = await createMemberAccount(org, "retired", "retired@example.com");
      await expectAwsError(asMember.send(new ORG.CloseAccountCommand({ AccountId: closing })), "AccessDeniedException", 403, DENIED);
      await expectAwsError(asDelegate.send(new ORG.CloseAccountCommand({ AccountId: closing })), "AccessDeniedException", 403, DENIED);
      expect((await org.send(new ORG.DescribeAccountCommand({ AccountId: closing }))).Account).toMatchObject({ Status: "ACTIVE", State: "ACTIVE" });
      await org.send(new ORG.CloseAccountCommand({ AccountId: closing }));
      expect((await org.send(new ORG.DescribeAccountCommand({ AccountId: closing }))).Account).toMatchObject({ Id: closing, Status: "SUSPENDED", State: "CLOSED" });
      const listed = (await org.send(new ORG.ListAccountsCommand({}))).Accounts!.find((a) => a.Id === closing);
      expect(listed).toMatchObject({ Status: "SUSPENDED", State: "CLOSED" });
    });

    it("refuses a closed account, the management account, an account outside the organization and a closed delegated administrator", async () => {
      await expectAwsError(
        org.send(new ORG.CloseAccountCommand({ AccountId: closing })),
        "AccountAlreadyClosedException",
        409,
        "You attempted to close an account that is already closed.",
      );
      await expectReason(org.send(new ORG.CloseAccountCommand({ AccountId: MANAGEMENT })), "ConstraintViolationException", 409, "CANNOT_CLOSE_MANAGEMENT_ACCOUNT");
      await expectAwsError(org.send(new ORG.CloseAccountCommand({ AccountId: OUTSIDER })), "AccountNotFoundException", 404);
      await expectReason(org.send(new ORG.CloseAccountCommand({ AccountId: "1234" })), "InvalidInputException", 400, "INVALID_PATTERN");
      await expectReason(
        org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: closing, ServicePrincipal: "backup.amazonaws.com" })),
        "ConstraintViolationException",
        409,
        "CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
      );
      // the refusals changed nothing
      expect((await org.send(new ORG.DescribeAccountCommand({ AccountId: MANAGEMENT }))).Account).toMatchObject({ Status: "ACTIVE", State: "ACTIVE" });
      expect((await org.send(new ORG.ListDelegatedAdministratorsCommand({}))).DelegatedAdministrators!.map((d) => d.Id)).toEqual([delegate]);
    });

    it("needs all features", async () => {
      const billingOnly = new ORG.OrganizationsClient(s.configFor({ accessKeyId: "333333333333", secretAccessKey: "test" }));
      await billingOnly.send(new ORG.CreateOrganizationCommand({ FeatureSet: "CONSOLIDATED_BILLING" }));
      const account = await createMemberAccount(billingOnly, "cb", "cb@example.com");
      await expectReason(billingOnly.send(new ORG.CloseAccountCommand({ AccountId: account })), "ConstraintViolationException", 409, "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE");
      expect((await billingOnly.send(new ORG.DescribeAccountCommand({ AccountId: account }))).Account!.State).toBe("ACTIVE");
    });
  });
});
