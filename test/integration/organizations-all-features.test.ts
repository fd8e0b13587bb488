/**
 * EnableAllFeatures through @aws-sdk/client-organizations: the request's handshakes (approvals by
 * the invited accounts, the management account's final confirmation), what is refused while it
 * is pending, declining and canceling. docs/organizations.md, "All features".
 */
import { describe, expect, it } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { useTestServer, type TestServer } from "../support/server.ts";
import { createMemberAccount, expectReason } from "./organizations-helpers.ts";
import { expectAwsError } from "./iam-helpers.ts";

const MANAGEMENT = "444444444444";
const INVITED = ["555555555551", "555555555552"];
const LATECOMER = "555555555553";

let s: TestServer;
useTestServer(async (server) => {
  s = server;
});

const as = (account: string) => new ORG.OrganizationsClient(s.configFor({ accessKeyId: account, secretAccessKey: "test" }));

/** A consolidated-billing organization of `management` with the given accounts invited into it. */
async function billingOrganization(management: string, invited: string[]): Promise<ORG.OrganizationsClient> {
  const org = as(management);
  await org.send(new ORG.CreateOrganizationCommand({ FeatureSet: "CONSOLIDATED_BILLING" }));
  for (const id of invited) {
    const h = (await org.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: id } }))).Handshake!;
    await as(id).send(new ORG.AcceptHandshakeCommand({ HandshakeId: h.Id }));
  }
  return org;
}

const handshakesOf = async (account: string, ActionType: ORG.ActionType, ParentHandshakeId?: string) =>
  (await as(account).send(new ORG.ListHandshakesForAccountCommand({ Filter: { ActionType, ParentHandshakeId } }))).Handshakes ?? [];
const featureSet = async (org: ORG.OrganizationsClient) => (await org.send(new ORG.DescribeOrganizationCommand({}))).Organization!.FeatureSet;

describe("Organizations EnableAllFeatures", () => {
  let org: ORG.OrganizationsClient;
  let request: ORG.Handshake;
  let rootId: string;

  it("opens a request the invited accounts approve; accounts made by CreateAccount need not", async () => {
    org = await billingOrganization(MANAGEMENT, INVITED);
    const created = await createMemberAccount(org, "made", "made@example.com");
    rootId = (await org.send(new ORG.ListRootsCommand({}))).Roots![0].Id!;
    await expectAwsError(as(INVITED[0]).send(new ORG.EnableAllFeaturesCommand({})), "AccessDeniedException", 403, "You don't have permissions to access this resource.");
    request = (await org.send(new ORG.EnableAllFeaturesCommand({}))).Handshake!;
    expect(request).toMatchObject({ Action: "ENABLE_ALL_FEATURES", State: "OPEN", Parties: [{ Type: "ORGANIZATION" }] });
    expect(request.Arn).toMatch(new RegExp(`^arn:aws:organizations::${MANAGEMENT}:handshake/o-[a-z0-9]{10}/enable_all_features/${request.Id}$`));
    for (const id of INVITED) {
      const mine = await handshakesOf(id, "ENABLE_ALL_FEATURES");
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ State: "OPEN", Parties: [{ Type: "ORGANIZATION" }, { Type: "ACCOUNT", Id: id }] });
      expect(mine[0].Resources).toContainEqual({ Type: "PARENT_HANDSHAKE", Value: request.Id });
    }
    expect(await handshakesOf(created, "ENABLE_ALL_FEATURES")).toEqual([]);
    expect(await featureSet(org)).toBe("CONSOLIDATED_BILLING");
  });

  it("refuses a second request, new invitations and answering the request itself while it is pending", async () => {
    await expectReason(org.send(new ORG.EnableAllFeaturesCommand({})), "HandshakeConstraintViolationException", 409, "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION");
    await expectReason(
      org.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: LATECOMER } })),
      "HandshakeConstraintViolationException",
      409,
      "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
    );
    await expectAwsError(org.send(new ORG.AcceptHandshakeCommand({ HandshakeId: request.Id })), "InvalidHandshakeTransitionException", 409);
    await expectAwsError(
      org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" })),
      "PolicyTypeNotAvailableForOrganizationException",
      409,
    );
  });

  it("sends the final confirmation once every invited account approved, and enables all features when it is accepted", async () => {
    const [first, second] = await Promise.all(INVITED.map(async (id) => (await handshakesOf(id, "ENABLE_ALL_FEATURES"))[0]));
    // the management account cannot approve for a member
    await expectAwsError(org.send(new ORG.AcceptHandshakeCommand({ HandshakeId: first.Id })), "AccessDeniedException", 403);
    await as(INVITED[0]).send(new ORG.AcceptHandshakeCommand({ HandshakeId: first.Id }));
    expect(await handshakesOf(MANAGEMENT, "APPROVE_ALL_FEATURES")).toEqual([]);
    await as(INVITED[1]).send(new ORG.AcceptHandshakeCommand({ HandshakeId: second.Id }));
    const [confirmation] = await handshakesOf(MANAGEMENT, "APPROVE_ALL_FEATURES", request.Id);
    expect(confirmation).toMatchObject({ Action: "APPROVE_ALL_FEATURES", State: "OPEN", Parties: [{ Type: "ORGANIZATION" }, { Type: "ACCOUNT", Id: MANAGEMENT }] });
    // a member is no party to it
    await expectAwsError(as(INVITED[0]).send(new ORG.AcceptHandshakeCommand({ HandshakeId: confirmation.Id })), "HandshakeNotFoundException", 404);
    expect(await featureSet(org)).toBe("CONSOLIDATED_BILLING");
    expect((await org.send(new ORG.AcceptHandshakeCommand({ HandshakeId: confirmation.Id }))).Handshake!.State).toBe("ACCEPTED");
    expect(await featureSet(org)).toBe("ALL");
    expect((await org.send(new ORG.DescribeHandshakeCommand({ HandshakeId: request.Id }))).Handshake!.State).toBe("ACCEPTED");
    await org.send(new ORG.EnablePolicyTypeCommand({ RootId: rootId, PolicyType: "SERVICE_CONTROL_POLICY" }));
    await expectReason(org.send(new ORG.EnableAllFeaturesCommand({})), "HandshakeConstraintViolationException", 409, "ORGANIZATION_ALREADY_HAS_ALL_FEATURES");
    // invitations work again
    await org.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: LATECOMER } }));
  });

  it("ends the request when an invited account declines, and cancels it with every open approval", async () => {
    const other = await billingOrganization("666666666666", ["777777777777"]);
    const first = (await other.send(new ORG.EnableAllFeaturesCommand({}))).Handshake!;
    const [approval] = await handshakesOf("777777777777", "ENABLE_ALL_FEATURES", first.Id);
    await as("777777777777").send(new ORG.DeclineHandshakeCommand({ HandshakeId: approval.Id }));
    expect((await other.send(new ORG.DescribeHandshakeCommand({ HandshakeId: first.Id }))).Handshake!.State).toBe("DECLINED");
    // a new request may start; canceling it cancels the approval it sent
    const second = (await other.send(new ORG.EnableAllFeaturesCommand({}))).Handshake!;
    const [again] = await handshakesOf("777777777777", "ENABLE_ALL_FEATURES", second.Id);
    await other.send(new ORG.CancelHandshakeCommand({ HandshakeId: second.Id }));
    expect((await as("777777777777").send(new ORG.DescribeHandshakeCommand({ HandshakeId: again.Id }))).Handshake!.State).toBe("CANCELED");
    await expectAwsError(as("777777777777").send(new ORG.AcceptHandshakeCommand({ HandshakeId: again.Id })), "InvalidHandshakeTransitionException", 409);
    expect(await featureSet(other)).toBe("CONSOLIDATED_BILLING");
  });

  it("asks an account that joins while the request is pending, and stops waiting for one that leaves", async () => {
    const org3 = await billingOrganization("999999999990", ["999999999991"]);
    const pendingInvite = (await org3.send(new ORG.InviteAccountToOrganizationCommand({ Target: { Type: "ACCOUNT", Id: "999999999992" } }))).Handshake!;
    const request = (await org3.send(new ORG.EnableAllFeaturesCommand({}))).Handshake!;
    expect(await handshakesOf("999999999992", "ENABLE_ALL_FEATURES")).toEqual([]);
    await as("999999999992").send(new ORG.AcceptHandshakeCommand({ HandshakeId: pendingInvite.Id }));
    const [approval] = await handshakesOf("999999999992", "ENABLE_ALL_FEATURES", request.Id);
    await as("999999999992").send(new ORG.AcceptHandshakeCommand({ HandshakeId: approval.Id }));
    expect(await handshakesOf("999999999990", "APPROVE_ALL_FEATURES", request.Id)).toEqual([]);
    await org3.send(new ORG.RemoveAccountFromOrganizationCommand({ AccountId: "999999999991" }));
    const [confirmation] = await handshakesOf("999999999990", "APPROVE_ALL_FEATURES", request.Id);
    await org3.send(new ORG.AcceptHandshakeCommand({ HandshakeId: confirmation.Id }));
    expect(await featureSet(org3)).toBe("ALL");
  });

  it("asks for the final confirmation at once when no account was invited", async () => {
    const alone = await billingOrganization("888888888888", []);
    const request = (await alone.send(new ORG.EnableAllFeaturesCommand({}))).Handshake!;
    const [confirmation] = await handshakesOf("888888888888", "APPROVE_ALL_FEATURES", request.Id);
    await alone.send(new ORG.AcceptHandshakeCommand({ HandshakeId: confirmation.Id }));
    expect(await featureSet(alone)).toBe("ALL");
  });
});
