/**
 * Organizations across a restart with the same data dir: the organization, its OU, member
 * account (and its OrganizationAccountAccessRole) and attached SCPs and tag policies are kept, the
 * SCPs are still enforced on the member account and its effective tag policy is unchanged; the
 * member stays a delegated administrator and the delegation policy still applies; a closed account
 * stays closed and an EnableAllFeatures request stays open to its approvals. docs/organizations.md.
 */
import { describe, expect, it } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { startTestServer } from "../support/server.ts";
import { doc, expectAwsError } from "./iam-helpers.ts";
import { createMemberAccount, intoMember, orgAdmin } from "./organizations-helpers.ts";

describe("Organizations after a restart with the same data dir", () => {
  it("keeps the organization and still enforces its SCPs", async () => {
    const first = await startTestServer();
    const org = new ORG.OrganizationsClient(first.config);
    const admin = await orgAdmin(first);
    const made = (await org.send(new ORG.CreateOrganizationCommand({}))).Organization!;
    const rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
    const ouId = (await org.send(new ORG.CreateOrganizationalUnitCommand({ ParentId: rootId, Name: "prod" }))).OrganizationalUnit!.Id!;
    const member = await createMemberAccount(org, "member", "member@example.com");
    await org.send(new ORG.MoveAccountCommand({ AccountId: member, SourceParentId: rootId, DestinationParentId: ouId }));
    await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" }));
    const deny = (
      await org.send(
        new ORG.CreatePolicyCommand({
          Name: "no-keys",
          Description: "",
          Type: "SERVICE_CONTROL_POLICY",
          Content: doc([{ Effect: "Deny", Action: "kms:CreateKey", Resource: "*" }]),
        }),
      )
    ).Policy!.PolicySummary!.Id!;
    await org.send(new ORG.AttachPolicyCommand({ PolicyId: deny, TargetId: ouId }));
    await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "TAG_POLICY" }));
    const tags = { tags: { team: { tag_key: { "@@assign": "Team" }, tag_value: { "@@assign": ["a", "b"] } } } };
    const tagPolicy = (await org.send(new ORG.CreatePolicyCommand({ Name: "team", Description: "", Type: "TAG_POLICY", Content: JSON.stringify(tags) }))).Policy!.PolicySummary!
      .Id!;
    await org.send(new ORG.AttachPolicyCommand({ PolicyId: tagPolicy, TargetId: ouId }));
    const effective = (await org.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: "TAG_POLICY", TargetId: member }))).EffectivePolicy!;
    await org.send(new ORG.EnableAWSServiceAccessCommand({ ServicePrincipal: "config.amazonaws.com" }));
    await org.send(new ORG.RegisterDelegatedAdministratorCommand({ AccountId: member, ServicePrincipal: "config.amazonaws.com" }));
    const delegation = doc([{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${member}:root` }, Action: "organizations:CreatePolicy", Resource: "*" }]);
    const rp = (await org.send(new ORG.PutResourcePolicyCommand({ Content: delegation }))).ResourcePolicy!;
    await first.stop();

    const again = await startTestServer({ dataDir: first.dataDir });
    try {
      const org2 = new ORG.OrganizationsClient(again.config);
      expect((await org2.send(new ORG.DescribeOrganizationCommand({}))).Organization!.Id).toBe(made.Id);
      expect((await org2.send(new ORG.ListParentsCommand({ ChildId: member }))).Parents).toEqual([{ Id: ouId, Type: "ORGANIZATIONAL_UNIT" }]);
      // listed in id order, which depends on the random id given to `deny`
      expect((await org2.send(new ORG.ListPoliciesForTargetCommand({ TargetId: ouId, Filter: "SERVICE_CONTROL_POLICY" }))).Policies!.map((p) => p.Id)).toEqual(
        ["p-FullAWSAccess", deny].sort(),
      );
      expect((await org2.send(new ORG.DescribeEffectivePolicyCommand({ PolicyType: "TAG_POLICY", TargetId: member }))).EffectivePolicy).toEqual(effective);
      expect(JSON.parse(effective.PolicyContent!)).toEqual({ tags: { team: { tag_key: "Team", tag_value: ["a", "b"] } } });
      expect((await org2.send(new ORG.DescribeResourcePolicyCommand({}))).ResourcePolicy).toEqual(rp);
      const asMember = new ORG.OrganizationsClient(again.configFor(await intoMember(again, admin, member)));
      expect((await asMember.send(new ORG.ListAccountsCommand({}))).Accounts!.map((a) => a.Id)).toContain(member);
      await asMember.send(new ORG.CreatePolicyCommand({ Name: "by-member", Description: "", Type: "TAG_POLICY", Content: JSON.stringify(tags) }));
      const kms = new KMSClient(again.configFor(await intoMember(again, admin, member)));
      await expectAwsError(kms.send(new CreateKeyCommand({})), "AccessDeniedException", 400, /with an explicit deny in a service control policy$/);
    } finally {
      await again.close();
    }
  });

  it("keeps a closed account closed and an EnableAllFeatures request open", async () => {
    const first = await startTestServer();
    const org = new ORG.OrganizationsClient(first.config);
    await org.send(new ORG.CreateOrganizationCommand({}));
    const closed = await createMemberAccount(org, "retired", "retired@example.com");
    await org.send(new ORG.CloseAccountCommand({ AccountId: closed }));
    const as = (server: typeof first, account: string) => new ORG.OrganizationsClient(server.configFor({ accessKeyId: account, secretAccessKey: "test" }));
    const billing = as(first, "444444444444");
    await billing.send(new ORG.CreateOrganizationCommand({ FeatureSet: "CONSOLIDATED_BILLING" }));
    const invite = (await billing.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: "555555555555" } }))).Handshake!;
    await as(first, "555555555555").send(new ORG.AcceptHandshakeCommand({ HandshakeId: invite.Id }));
    const request = (await billing.send(new ORG.EnableAllFeaturesCommand({}))).Handshake!;
    await first.stop();

    const again = await startTestServer({ dataDir: first.dataDir });
    try {
      const org2 = new ORG.OrganizationsClient(again.config);
      expect((await org2.send(new ORG.DescribeAccountCommand({ AccountId: closed }))).Account).toMatchObject({ Status: "SUSPENDED", State: "CLOSED" });
      await expectAwsError(org2.send(new ORG.CloseAccountCommand({ AccountId: closed })), "AccountAlreadyClosedException", 409);
      const member = as(again, "555555555555");
      const [approval] = (await member.send(new ORG.ListHandshakesForAccountCommand({ Filter: { ParentHandshakeId: request.Id } }))).Handshakes!;
      expect(approval).toMatchObject({ Action: "ENABLE_ALL_FEATURES", State: "OPEN" });
      await member.send(new ORG.AcceptHandshakeCommand({ HandshakeId: approval.Id }));
      const billing2 = as(again, "444444444444");
      const [confirmation] = (await billing2.send(new ORG.ListHandshakesForAccountCommand({ Filter: { ActionType: "APPROVE_ALL_FEATURES" } }))).Handshakes!;
      await billing2.send(new ORG.AcceptHandshakeCommand({ HandshakeId: confirmation.Id }));
      expect((await billing2.send(new ORG.DescribeOrganizationCommand({}))).Organization!.FeatureSet).toBe("ALL");
    } finally {
      await again.close();
    }
  });
});
