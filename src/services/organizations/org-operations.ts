/**
 * The organization itself: create (the caller's account becomes the management account),
 * describe, delete, leave; its root; trusted service access and delegated administrators.
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_Operations.html
 */
import type * as O from "@aws-sdk/client-organizations";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import type { OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import { accountStatus, at, callerOrg, managedOrg, orgCheck, organizationView, page, readableOrg, rootView, type OrgDeps } from "./common.ts";
import { accountNotFound, alreadyInOrganization, constraint, orgError } from "./errors.ts";
import { accountArn, newOrganizationId, newRootId, organizationArn, rootArn, type OrgRec } from "./model.ts";
import { detachEverything } from "./structure.ts";
import { membersChanged } from "./all-features.ts";

type OrgOperation =
  | "CreateOrganization"
  | "DescribeOrganization"
  | "DeleteOrganization"
  | "LeaveOrganization"
  | "ListRoots"
  | "EnableAWSServiceAccess"
  | "DisableAWSServiceAccess"
  | "ListAWSServiceAccessForOrganization"
  | "RegisterDelegatedAdministrator"
  | "DeregisterDelegatedAdministrator"
  | "ListDelegatedAdministrators"
  | "ListDelegatedServicesForAccount";

/** The email a management account shows: localfargate accounts have no sign-up email (docs/organizations.md). */
export const managementEmailOf = (accountId: string) => `${accountId}@example.com`;

export function orgOperations({ state }: OrgDeps): OperationTable<Extract<OrganizationsOperation, OrgOperation>> {
  return {
    CreateOrganization: defineOperation<O.CreateOrganizationRequest, O.CreateOrganizationResponse>({
      authorize: () => orgCheck("CreateOrganization"),
      handler: function createOrganization(ctx, i) {
        const account = ctx.principal.accountId;
        if (state.orgOf(account)) throw alreadyInOrganization();
        const id = newOrganizationId();
        const rootId = newRootId();
        const org: OrgRec = {
          id,
          arn: organizationArn(account, id),
          managementAccountId: account,
          managementEmail: managementEmailOf(account),
          featureSet: i.FeatureSet ?? "ALL",
          root: { id: rootId, arn: rootArn(account, id, rootId), policyTypes: [] },
          ous: [],
          accounts: [],
          policies: [],
          attachments: [],
          tags: [],
          services: [],
          delegatedAdmins: [],
          createStatuses: [],
          handshakes: [],
        };
        org.accounts.push({
          id: account,
          arn: accountArn(org, account),
          name: "Management account",
          email: org.managementEmail,
          parentId: rootId,
          joinedMethod: "CREATED",
          joinedAt: ctx.now.getTime(),
        });
        state.save(ctx, org);
        return { Organization: organizationView(org) };
      },
    }),

    DescribeOrganization: defineOperation<object, O.DescribeOrganizationResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => callerOrg(ctx, state),
      authorize: () => orgCheck("DescribeOrganization"),
      handler: function describeOrganization(_ctx, _i, org) {
        return { Organization: organizationView(org) };
      },
    }),

    DeleteOrganization: defineOperation<object, object, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, _i, org) => orgCheck("DeleteOrganization", org.arn),
      handler: function deleteOrganization(ctx, _i, org) {
        if (org.accounts.length > 1) {
          throw orgError("OrganizationNotEmptyException", "To delete an organization you must first remove all member accounts (except the management account).");
        }
        state.remove(ctx, org);
        return {};
      },
    }),

    LeaveOrganization: defineOperation<object, object, OrgRec>({
      resolve: (ctx) => callerOrg(ctx, state),
      authorize: () => orgCheck("LeaveOrganization"),
      handler: function leaveOrganization(ctx, _i, org) {
        if (org.managementAccountId === ctx.principal.accountId) {
          throw orgError(
            "MasterCannotLeaveOrganizationException",
            "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization of the management account.",
          );
        }
        detachEverything(org, ctx.principal.accountId);
        membersChanged(ctx, org);
        state.save(ctx, org);
        return {};
      },
    }),

    ListRoots: defineOperation<O.ListRootsRequest, O.ListRootsResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => readableOrg(ctx, state),
      authorize: () => orgCheck("ListRoots"),
      handler: function listRoots(_ctx, i, org) {
        const p = page([org], (o) => o.root.id, i.NextToken, i.MaxResults);
        return { Roots: p.items.map(rootView), NextToken: p.NextToken };
      },
    }),

    EnableAWSServiceAccess: defineOperation<O.EnableAWSServiceAccessRequest, object, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, i) => orgCheck("EnableAWSServiceAccess", "*", { "organizations:ServicePrincipal": i.ServicePrincipal }),
      handler: function enableAwsServiceAccess(ctx, i, org) {
        requireAllFeatures(org);
        if (!org.services.some((s) => s.principal === i.ServicePrincipal)) {
          org.services.push({ principal: i.ServicePrincipal!, enabledAt: ctx.now.getTime() });
          state.save(ctx, org);
        }
        return {};
      },
    }),

    DisableAWSServiceAccess: defineOperation<O.DisableAWSServiceAccessRequest, object, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, i) => orgCheck("DisableAWSServiceAccess", "*", { "organizations:ServicePrincipal": i.ServicePrincipal }),
      handler: function disableAwsServiceAccess(ctx, i, org) {
        const before = org.services.length;
        org.services = org.services.filter((s) => s.principal !== i.ServicePrincipal);
        if (org.services.length !== before) state.save(ctx, org);
        return {};
      },
    }),

    ListAWSServiceAccessForOrganization: defineOperation<O.ListAWSServiceAccessForOrganizationRequest, O.ListAWSServiceAccessForOrganizationResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => readableOrg(ctx, state),
      authorize: () => orgCheck("ListAWSServiceAccessForOrganization"),
      handler: function listAwsServiceAccess(_ctx, i, org) {
        const p = page(org.services, (s) => s.principal, i.NextToken, i.MaxResults);
        return { EnabledServicePrincipals: p.items.map((s) => ({ ServicePrincipal: s.principal, DateEnabled: at(s.enabledAt) })), NextToken: p.NextToken };
      },
    }),

    RegisterDelegatedAdministrator: defineOperation<O.RegisterDelegatedAdministratorRequest, object, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, i, org) => orgCheck("RegisterDelegatedAdministrator", accountArn(org, i.AccountId!), { "organizations:ServicePrincipal": i.ServicePrincipal }),
      handler: function registerDelegatedAdministrator(ctx, i, org) {
        const account = state.accountIn(org, i.AccountId!);
        if (!account) throw accountNotFound();
        if (account.closedAt !== undefined) {
          throw constraint("CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR", "You can't register a suspended or closed account as a delegated administrator.");
        }
        if (i.AccountId === org.managementAccountId) {
          throw constraint("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR", "You can't register the management account of an organization as a delegated administrator.");
        }
        if (!org.services.some((s) => s.principal === i.ServicePrincipal)) {
          throw constraint(
            "SERVICE_ACCESS_NOT_ENABLED",
            "You attempted to register a delegated administrator for a service that doesn't have trusted access enabled in your organization.",
          );
        }
        if (org.delegatedAdmins.some((d) => d.accountId === i.AccountId && d.principal === i.ServicePrincipal)) {
          throw orgError("AccountAlreadyRegisteredException", "The provided account is already a delegated administrator for your organization.");
        }
        org.delegatedAdmins.push({ accountId: i.AccountId!, principal: i.ServicePrincipal!, at: ctx.now.getTime() });
        state.save(ctx, org);
        return {};
      },
    }),

    DeregisterDelegatedAdministrator: defineOperation<O.DeregisterDelegatedAdministratorRequest, object, OrgRec>({
      resolve: (ctx) => managedOrg(ctx, state),
      authorize: (_ctx, i, org) => orgCheck("DeregisterDelegatedAdministrator", accountArn(org, i.AccountId!), { "organizations:ServicePrincipal": i.ServicePrincipal }),
      handler: function deregisterDelegatedAdministrator(ctx, i, org) {
        if (!state.accountIn(org, i.AccountId!)) throw accountNotFound();
        const at = org.delegatedAdmins.findIndex((d) => d.accountId === i.AccountId && d.principal === i.ServicePrincipal);
        if (at < 0) throw orgError("AccountNotRegisteredException", "The provided account is not a registered delegated administrator for your organization.");
        org.delegatedAdmins.splice(at, 1);
        state.save(ctx, org);
        return {};
      },
    }),

    ListDelegatedAdministrators: defineOperation<O.ListDelegatedAdministratorsRequest, O.ListDelegatedAdministratorsResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => readableOrg(ctx, state),
      authorize: () => orgCheck("ListDelegatedAdministrators"),
      handler: function listDelegatedAdministrators(_ctx, i, org) {
        const ids = [...new Set(org.delegatedAdmins.filter((d) => !i.ServicePrincipal || d.principal === i.ServicePrincipal).map((d) => d.accountId))];
        const p = page(ids, (id) => id, i.NextToken, i.MaxResults);
        return {
          DelegatedAdministrators: p.items.map((id) => {
            const a = state.accountIn(org, id)!;
            const since = Math.min(...org.delegatedAdmins.filter((d) => d.accountId === id).map((d) => d.at));
            return {
              Id: a.id,
              Arn: a.arn,
              Email: a.email,
              Name: a.name,
              ...accountStatus(a),
              JoinedMethod: a.joinedMethod,
              JoinedTimestamp: at(a.joinedAt),
              DelegationEnabledDate: at(since),
            } as O.DelegatedAdministrator;
          }),
          NextToken: p.NextToken,
        };
      },
    }),

    ListDelegatedServicesForAccount: defineOperation<O.ListDelegatedServicesForAccountRequest, O.ListDelegatedServicesForAccountResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => readableOrg(ctx, state),
      authorize: (_ctx, i, org) => orgCheck("ListDelegatedServicesForAccount", accountArn(org, i.AccountId!)),
      handler: function listDelegatedServicesForAccount(_ctx, i, org) {
        if (!state.accountIn(org, i.AccountId!)) throw accountNotFound();
        const mine = org.delegatedAdmins.filter((d) => d.accountId === i.AccountId);
        if (mine.length === 0) throw orgError("AccountNotRegisteredException", "The provided account is not a registered delegated administrator for your organization.");
        const p = page(mine, (d) => d.principal, i.NextToken, i.MaxResults);
        return { DelegatedServices: p.items.map((d) => ({ ServicePrincipal: d.principal, DelegationEnabledDate: at(d.at) })), NextToken: p.NextToken };
      },
    }),
  };
}

function requireAllFeatures(org: OrgRec): void {
  if (org.featureSet !== "ALL") throw orgError("AccessDeniedException", "This operation can be performed only for an organization that has all features enabled.");
}
