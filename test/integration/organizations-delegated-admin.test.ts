/**
 * Delegated administrators of Organizations: registration only for a service with trusted access,
 * AWS's errors for bad registrations, the read-only Organizations access a delegated
 * administrator gets (and other members do not), and removal refused until it is deregistered.
 * docs/organizations.md, "Trusted services, delegated administrators, tags".
 */
import { describe, expect, it } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { useTestServer, type TestServer } from "../support/server.ts";
import { createMemberAccount, intoMember as intoMemberAccount, orgAdmin } from "./organizations-helpers.ts";
import { expectAwsError, type Creds } from "./iam-helpers.ts";

const MANAGEMENT = "000000000000";
const OUTSIDER = "222222222222";
const SERVICE = "config.amazonaws.com";
const DENIED = "You don't have permissions to access this resource.";

let s: TestServer;
let org: ORG.OrganizationsClient;
let admin: Creds;

const orgAs = (creds: Creds) => new ORG.OrganizationsClient(s.configFor(creds));

async function expectReason(p: Promise<unknown>, code: string, status: number, reason: string): Promise<void> {
  const e = (await expectAwsError(p, code, status)) as Error & { Reason?: string };
  expect(e.Reason).toBe(reason);
}

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
