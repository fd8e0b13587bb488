/**
 * Organizational units, accounts and where each sits: create, rename, delete and describe OUs;
 * list children and parents; create accounts (with their OrganizationAccountAccessRole), move,
 * close and remove them.
 */
import type * as O from "@aws-sdk/client-organizations";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import type { OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import type { IamService } from "../iam/index.ts";
import { createAccessRole, DEFAULT_ACCESS_ROLE } from "./access-role.ts";
import { accountView, at, managedOrg, orgCheck, readableOrg, ouView, page, type OrgDeps } from "./common.ts";
import { accountNotFound, childNotFound, constraint, orgError, ouNotFound, parentNotFound } from "./errors.ts";
import { accountArn, newAccountId, newCreateRequestId, newOuId, ouArn, type CreateStatusRec, type OrgRec, type OuRec } from "./model.ts";
import { membersChanged } from "./all-features.ts";
import { attachDefaults, depthOf, detachEverything, forgetTarget, isParent, MAX_OU_DEPTH, MAX_OUS } from "./structure.ts";
import { checkOrgTags, ORG_TAG_RULES, setTags } from "./tag-operations.ts";
import { requestTagContext } from "../../kernel/tags.ts";

type StructureOperation =
  | "CreateOrganizationalUnit"
  | "UpdateOrganizationalUnit"
  | "DeleteOrganizationalUnit"
  | "DescribeOrganizationalUnit"
  | "ListOrganizationalUnitsForParent"
  | "ListChildren"
  | "ListParents"
  | "CreateAccount"
  | "DescribeCreateAccountStatus"
  | "ListCreateAccountStatus"
  | "ListAccounts"
  | "ListAccountsForParent"
  | "DescribeAccount"
  | "MoveAccount"
  | "RemoveAccountFromOrganization"
  | "CloseAccount";

/** Accounts an organization may hold (AWS's default quota). */
export const MAX_ACCOUNTS = 10;

export interface StructureDeps extends OrgDeps {
  iam: IamService;
}

const parentArn = (org: OrgRec, id: string) => (id === org.root.id ? org.root.arn : ouArn(org, id));

function ou(org: OrgRec, id: string): OuRec {
  const found = org.ous.find((o) => o.id === id);
  if (!found) throw ouNotFound();
  return found;
}

function parentOf(org: OrgRec, childId: string): string {
  const parent = org.ous.find((o) => o.id === childId)?.parentId ?? org.accounts.find((a) => a.id === childId)?.parentId;
  if (parent === undefined) throw childNotFound();
  return parent;
}

function checkOuName(org: OrgRec, parentId: string, name: string, except?: string): void {
  if (org.ous.some((o) => o.parentId === parentId && o.name === name && o.id !== except)) {
    throw orgError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.");
  }
}

/** A CreateAccountStatus as the API answers it. */
function statusView(s: CreateStatusRec): O.CreateAccountStatus {
  return {
    Id: s.id,
    AccountName: s.accountName,
    State: s.state,
    RequestedTimestamp: at(s.requestedAt),
    ...(s.state !== "IN_PROGRESS" ? { CompletedTimestamp: at(s.completedAt) } : {}),
    ...(s.accountId ? { AccountId: s.accountId } : {}),
    ...(s.failureReason ? { FailureReason: s.failureReason as O.CreateAccountFailureReason } : {}),
  };
}

function unusedAccountId(deps: StructureDeps): string {
  for (;;) {
    const id = newAccountId();
    if (id !== "000000000000" && !deps.state.orgOf(id) && !deps.iam.state.existingAccount(id)) return id;
  }
}

export function structureOperations(deps: StructureDeps): OperationTable<Extract<OrganizationsOperation, StructureOperation>> {
  const { state } = deps;
  const mgmt = (ctx: RequestContext) => managedOrg(ctx, state);
  const readable = (ctx: RequestContext) => readableOrg(ctx, state);
  return {
    CreateOrganizationalUnit: defineOperation<O.CreateOrganizationalUnitRequest, O.CreateOrganizationalUnitResponse, OrgRec>({
      resolve: mgmt,
      authorize: (_ctx, i, org) => orgCheck("CreateOrganizationalUnit", isParent(org, i.ParentId!) ? parentArn(org, i.ParentId!) : "*", requestTagContext(ORG_TAG_RULES, i.Tags)),
      handler: function createOrganizationalUnit(ctx, i, org) {
        if (!isParent(org, i.ParentId!)) throw parentNotFound();
        checkOrgTags(i.Tags);
        if (depthOf(org, i.ParentId!) + 1 > MAX_OU_DEPTH) throw constraint("OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too many levels deep.");
        if (org.ous.length >= MAX_OUS) throw constraint("OU_NUMBER_LIMIT_EXCEEDED", "You have reached the maximum number of OUs in your organization.");
        checkOuName(org, i.ParentId!, i.Name!);
        const id = newOuId(org.root.id);
        const rec: OuRec = { id, arn: ouArn(org, id), name: i.Name!, parentId: i.ParentId! };
        org.ous.push(rec);
        attachDefaults(org, id);
        if (i.Tags?.length) setTags(org, id, i.Tags);
        state.save(ctx, org);
        return { OrganizationalUnit: ouView(rec) };
      },
    }),

    UpdateOrganizationalUnit: defineOperation<O.UpdateOrganizationalUnitRequest, O.UpdateOrganizationalUnitResponse, OrgRec>({
      resolve: mgmt,
      authorize: (_ctx, i, org) => orgCheck("UpdateOrganizationalUnit", ouArn(org, i.OrganizationalUnitId!)),
      handler: function updateOrganizationalUnit(ctx, i, org) {
        const rec = ou(org, i.OrganizationalUnitId!);
        if (i.Name !== undefined) {
          checkOuName(org, rec.parentId, i.Name, rec.id);
          rec.name = i.Name;
          state.save(ctx, org);
        }
        return { OrganizationalUnit: ouView(rec) };
      },
    }),

    DeleteOrganizationalUnit: defineOperation<O.DeleteOrganizationalUnitRequest, object, OrgRec>({
      resolve: mgmt,
      authorize: (_ctx, i, org) => orgCheck("DeleteOrganizationalUnit", ouArn(org, i.OrganizationalUnitId!)),
      handler: function deleteOrganizationalUnit(ctx, i, org) {
        const rec = ou(org, i.OrganizationalUnitId!);
        if (org.ous.some((o) => o.parentId === rec.id) || org.accounts.some((a) => a.parentId === rec.id)) {
          throw orgError(
            "OrganizationalUnitNotEmptyException",
            "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try the operation again.",
          );
        }
        org.ous = org.ous.filter((o) => o.id !== rec.id);
        forgetTarget(org, rec.id);
        state.save(ctx, org);
        return {};
      },
    }),

    DescribeOrganizationalUnit: defineOperation<O.DescribeOrganizationalUnitRequest, O.DescribeOrganizationalUnitResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i, org) => orgCheck("DescribeOrganizationalUnit", ouArn(org, i.OrganizationalUnitId!)),
      handler: function describeOrganizationalUnit(_ctx, i, org) {
        return { OrganizationalUnit: ouView(ou(org, i.OrganizationalUnitId!)) };
      },
    }),

    ListOrganizationalUnitsForParent: defineOperation<O.ListOrganizationalUnitsForParentRequest, O.ListOrganizationalUnitsForParentResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: () => orgCheck("ListOrganizationalUnitsForParent"),
      handler: function listOrganizationalUnitsForParent(_ctx, i, org) {
        if (!isParent(org, i.ParentId!)) throw parentNotFound();
        const p = page(
          org.ous.filter((o) => o.parentId === i.ParentId),
          (o) => o.id,
          i.NextToken,
          i.MaxResults,
        );
        return { OrganizationalUnits: p.items.map(ouView), NextToken: p.NextToken };
      },
    }),

    ListChildren: defineOperation<O.ListChildrenRequest, O.ListChildrenResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: () => orgCheck("ListChildren"),
      handler: function listChildren(_ctx, i, org) {
        if (!isParent(org, i.ParentId!)) throw parentNotFound();
        const ids =
          i.ChildType === "ACCOUNT" ? org.accounts.filter((a) => a.parentId === i.ParentId).map((a) => a.id) : org.ous.filter((o) => o.parentId === i.ParentId).map((o) => o.id);
        const p = page(ids, (id) => id, i.NextToken, i.MaxResults);
        return { Children: p.items.map((Id) => ({ Id, Type: i.ChildType })), NextToken: p.NextToken };
      },
    }),

    ListParents: defineOperation<O.ListParentsRequest, O.ListParentsResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: () => orgCheck("ListParents"),
      handler: function listParents(_ctx, i, org) {
        const parent = parentOf(org, i.ChildId!);
        const p = page([parent], (id) => id, i.NextToken, i.MaxResults);
        return { Parents: p.items.map((Id) => ({ Id, Type: Id === org.root.id ? "ROOT" : "ORGANIZATIONAL_UNIT" })), NextToken: p.NextToken };
      },
    }),

    CreateAccount: defineOperation<O.CreateAccountRequest, O.CreateAccountResponse, OrgRec>({
      resolve: mgmt,
      authorize: (_ctx, i) => orgCheck("CreateAccount", "*", requestTagContext(ORG_TAG_RULES, i.Tags)),
      handler: function createAccount(ctx, i, org) {
        checkOrgTags(i.Tags);
        const status: CreateStatusRec = {
          id: newCreateRequestId(),
          accountName: i.AccountName!,
          state: "SUCCEEDED",
          requestedAt: ctx.now.getTime(),
          completedAt: ctx.now.getTime(),
        };
        if (state.emailInUse(i.Email!)) Object.assign(status, { state: "FAILED", failureReason: "EMAIL_ALREADY_EXISTS" });
        else if (org.accounts.length >= MAX_ACCOUNTS) Object.assign(status, { state: "FAILED", failureReason: "ACCOUNT_LIMIT_EXCEEDED" });
        else {
          const id = unusedAccountId(deps);
          status.accountId = id;
          org.accounts.push({ id, arn: accountArn(org, id), name: i.AccountName!, email: i.Email!, parentId: org.root.id, joinedMethod: "CREATED", joinedAt: ctx.now.getTime() });
          attachDefaults(org, id);
          if (i.Tags?.length) setTags(org, id, i.Tags);
          createAccessRole(ctx, deps.iam, id, org.managementAccountId, i.RoleName ?? DEFAULT_ACCESS_ROLE);
        }
        org.createStatuses.push(status);
        state.save(ctx, org);
        // AWS answers every CreateAccount while the request is in progress; here the account is
        // ready when the call returns, and DescribeCreateAccountStatus says so.
        return { CreateAccountStatus: statusView({ ...status, state: "IN_PROGRESS", accountId: undefined, failureReason: undefined }) };
      },
    }),

    DescribeCreateAccountStatus: defineOperation<O.DescribeCreateAccountStatusRequest, O.DescribeCreateAccountStatusResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: () => orgCheck("DescribeCreateAccountStatus"),
      handler: function describeCreateAccountStatus(_ctx, i, org) {
        const s = org.createStatuses.find((x) => x.id === i.CreateAccountRequestId);
        if (!s) throw orgError("CreateAccountStatusNotFoundException", "We can't find an create account request with the CreateAccountRequestId that you specified.");
        return { CreateAccountStatus: statusView(s) };
      },
    }),

    ListCreateAccountStatus: defineOperation<O.ListCreateAccountStatusRequest, O.ListCreateAccountStatusResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: () => orgCheck("ListCreateAccountStatus"),
      handler: function listCreateAccountStatus(_ctx, i, org) {
        const wanted = i.States?.length ? new Set<string>(i.States) : undefined;
        const p = page(
          org.createStatuses.filter((s) => !wanted || wanted.has(s.state)),
          (s) => s.id,
          i.NextToken,
          i.MaxResults,
        );
        return { CreateAccountStatuses: p.items.map(statusView), NextToken: p.NextToken };
      },
    }),

    ListAccounts: defineOperation<O.ListAccountsRequest, O.ListAccountsResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: () => orgCheck("ListAccounts"),
      handler: function listAccounts(_ctx, i, org) {
        const p = page(org.accounts, (a) => a.id, i.NextToken, i.MaxResults);
        return { Accounts: p.items.map(accountView), NextToken: p.NextToken };
      },
    }),

    ListAccountsForParent: defineOperation<O.ListAccountsForParentRequest, O.ListAccountsForParentResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: () => orgCheck("ListAccountsForParent"),
      handler: function listAccountsForParent(_ctx, i, org) {
        if (!isParent(org, i.ParentId!)) throw parentNotFound();
        const p = page(
          org.accounts.filter((a) => a.parentId === i.ParentId),
          (a) => a.id,
          i.NextToken,
          i.MaxResults,
        );
        return { Accounts: p.items.map(accountView), NextToken: p.NextToken };
      },
    }),

    DescribeAccount: defineOperation<O.DescribeAccountRequest, O.DescribeAccountResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i, org) => orgCheck("DescribeAccount", accountArn(org, i.AccountId!)),
      handler: function describeAccount(_ctx, i, org) {
        const a = state.accountIn(org, i.AccountId!);
        if (!a) throw accountNotFound();
        return { Account: accountView(a) };
      },
    }),

    MoveAccount: defineOperation<O.MoveAccountRequest, object, OrgRec>({
      resolve: mgmt,
      authorize: (_ctx, i, org) => orgCheck("MoveAccount", accountArn(org, i.AccountId!)),
      handler: function moveAccount(ctx, i, org) {
        const a = state.accountIn(org, i.AccountId!);
        if (!a) throw accountNotFound();
        if (!isParent(org, i.SourceParentId!)) throw orgError("SourceParentNotFoundException", "We can't find a source root or OU with the ParentId that you specified.");
        if (!isParent(org, i.DestinationParentId!)) {
          throw orgError("DestinationParentNotFoundException", "We can't find the destination container (a root or OU) with the ParentId that you specified.");
        }
        if (a.parentId !== i.SourceParentId) throw accountNotFound();
        if (a.parentId === i.DestinationParentId) throw orgError("DuplicateAccountException", "That account is already present in the specified destination.");
        a.parentId = i.DestinationParentId!;
        state.save(ctx, org);
        return {};
      },
    }),

    RemoveAccountFromOrganization: defineOperation<O.RemoveAccountFromOrganizationRequest, object, OrgRec>({
      resolve: mgmt,
      authorize: (_ctx, i, org) => orgCheck("RemoveAccountFromOrganization", accountArn(org, i.AccountId!)),
      handler: function removeAccountFromOrganization(ctx, i, org) {
        if (!state.accountIn(org, i.AccountId!)) throw accountNotFound();
        if (i.AccountId === org.managementAccountId) {
          throw orgError(
            "MasterCannotLeaveOrganizationException",
            "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization of the management account.",
          );
        }
        detachEverything(org, i.AccountId!);
        membersChanged(ctx, org);
        state.save(ctx, org);
        return {};
      },
    }),

    // https://docs.aws.amazon.com/organizations/latest/APIReference/API_CloseAccount.html: the
    // account stays in the organization, CLOSED, for its post-closure period; its principals can
    // no longer call AWS (docs/organizations.md#closing-an-account)
    CloseAccount: defineOperation<O.CloseAccountRequest, object, OrgRec>({
      resolve: mgmt,
      authorize: (_ctx, i, org) => orgCheck("CloseAccount", accountArn(org, i.AccountId!)),
      handler: function closeAccount(ctx, i, org) {
        if (org.featureSet !== "ALL") {
          throw constraint("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE", "You can close a member account only in an organization with all features enabled.");
        }
        const a = state.accountIn(org, i.AccountId!);
        if (!a) throw accountNotFound();
        if (a.id === org.managementAccountId) throw constraint("CANNOT_CLOSE_MANAGEMENT_ACCOUNT", "You can't close the management account of an organization with CloseAccount.");
        if (a.closedAt !== undefined) throw orgError("AccountAlreadyClosedException", "You attempted to close an account that is already closed.");
        a.closedAt = ctx.now.getTime();
        state.close(ctx, a.id, a.closedAt);
        // a closed account no longer approves a pending EnableAllFeatures request
        membersChanged(ctx, org);
        state.save(ctx, org);
        return {};
      },
    }),
  };
}
