/**
 * Managed policies: customer managed policies with up to five versions, AWS managed policies
 * (read-only), attachment to users, groups and roles, and permissions boundaries.
 */
import type {
  AttachedPolicy,
  AttachGroupPolicyRequest,
  AttachRolePolicyRequest,
  AttachUserPolicyRequest,
  CreatePolicyRequest,
  CreatePolicyResponse,
  CreatePolicyVersionRequest,
  CreatePolicyVersionResponse,
  DeletePolicyRequest,
  DeletePolicyVersionRequest,
  DeleteRolePermissionsBoundaryRequest,
  DeleteUserPermissionsBoundaryRequest,
  GetPolicyRequest,
  GetPolicyResponse,
  GetPolicyVersionRequest,
  GetPolicyVersionResponse,
  ListAttachedGroupPoliciesRequest,
  ListAttachedGroupPoliciesResponse,
  ListEntitiesForPolicyRequest,
  ListEntitiesForPolicyResponse,
  ListPoliciesRequest,
  ListPoliciesResponse,
  ListPolicyVersionsRequest,
  ListPolicyVersionsResponse,
  Policy,
  PolicyVersion,
  PutRolePermissionsBoundaryRequest,
  PutUserPermissionsBoundaryRequest,
  SetDefaultPolicyVersionRequest,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import type { OperationDef, RequestContext } from "../types.ts";
import { AWS_MANAGED, awsManagedArn } from "./aws-managed.ts";
import {
  alreadyExists,
  byName,
  checkTagRequest,
  deleteConflict,
  encodeDocument,
  iamArn,
  invalidInput,
  limitExceeded,
  markerFor,
  markerKey,
  mergeTags,
  newId,
  noSuchEntity,
  paginate,
  parseIamArn,
  pathMatches,
  policySize,
  requestTagContext,
  validateDocument,
} from "./common.ts";
import { acct, entityRefs, iamOp } from "./ops.ts";
import { ACCOUNT_SCOPE, policyKey, type GroupRec, type IamState, type ManagedPolicy, type PolicyRec, type RoleRec, type UserRec } from "./state.ts";

/** The AWS managed policies in ListPolicies order (they never change). */
const AWS_MANAGED_ORDERED: [string, ManagedPolicy][] = [...AWS_MANAGED.values()]
  .map((rec): [string, ManagedPolicy] => [policyKey(rec.name, awsManagedArn(rec)), { kind: "aws", rec }])
  .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Two key-ordered sequences as one. */
function* mergeByKey<T>(a: Iterator<[string, T]>, b: Iterator<[string, T]>): Generator<[string, T]> {
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value[0] <= y.value[0])) {
      yield x.value;
      x = a.next();
    } else {
      yield y.value;
      y = b.next();
    }
  }
}

export const MAX_POLICY_VERSIONS = 5;
export const MANAGED_POLICY_SIZE = 6144;
export const MAX_ATTACHED = 10;

const notAttachable = (arn: string) => noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);

function checkPolicyArn(arn: string): void {
  const p = parseIamArn(arn);
  if (!p || p.kind !== "policy") throw invalidInput(`ARN ${arn} is not valid.`);
}

/** A managed policy that may be attached (or used as a boundary) in the account. */
export function requireAttachable(state: IamState, accountId: string, arn: string): ManagedPolicy {
  checkPolicyArn(arn);
  const p = state.findPolicy(accountId, arn);
  if (!p) throw notAttachable(arn);
  return p;
}

/** A policy the request names (GetPolicy and friends): NoSuchEntity "was not found" otherwise. */
function requirePolicy(state: IamState, accountId: string, arn: string): ManagedPolicy {
  checkPolicyArn(arn);
  const p = state.findPolicy(accountId, arn);
  if (!p) throw noSuchEntity(`Policy ${arn} was not found.`);
  return p;
}

/** AWS managed policies belong to AWS: nobody can change them. */
function requireCustomer(p: ManagedPolicy, arn: string): PolicyRec {
  if (p.kind === "aws") throw new ServiceError("AccessDenied", `Policy ${arn} is an AWS managed policy and cannot be modified.`, 403);
  return p.rec;
}

function checkManagedSize(doc: string): void {
  if (policySize(doc) > MANAGED_POLICY_SIZE) throw limitExceeded(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_SIZE}`);
}

export function policyView(state: IamState, accountId: string, p: ManagedPolicy, withTags: boolean): Policy {
  const arn = state.policyArnOf(p);
  const use = state.usage(accountId, arn);
  const r = p.rec;
  const out: Policy = {
    PolicyName: r.name,
    PolicyId: r.id,
    Arn: arn,
    Path: r.path,
    DefaultVersionId: p.kind === "aws" ? p.rec.versionId : p.rec.defaultVersionId,
    AttachmentCount: use.users.length + use.groups.length + use.roles.length,
    PermissionsBoundaryUsageCount: use.boundaryUsers.length + use.boundaryRoles.length,
    IsAttachable: true,
    ...(r.description ? { Description: r.description } : {}),
    CreateDate: r.createDate,
    UpdateDate: r.updateDate,
  };
  if (withTags && p.kind === "customer" && p.rec.tags.length) out.Tags = p.rec.tags;
  return out;
}

function versionView(p: ManagedPolicy, versionId: string, withDocument: boolean): PolicyVersion | undefined {
  if (p.kind === "aws") {
    if (versionId !== p.rec.versionId) return undefined;
    return { ...(withDocument ? { Document: encodeDocument(p.rec.document) } : {}), VersionId: versionId, IsDefaultVersion: true, CreateDate: p.rec.updateDate };
  }
  const v = p.rec.versions.find((x) => x.id === versionId);
  if (!v) return undefined;
  return { ...(withDocument ? { Document: encodeDocument(v.doc) } : {}), VersionId: v.id, IsDefaultVersion: v.id === p.rec.defaultVersionId, CreateDate: v.createDate };
}

type Entity = UserRec | GroupRec | RoleRec;
type EntityType = "user" | "group" | "role";
const QUOTA_NAME: Record<EntityType, string> = { user: "PoliciesPerUser", group: "PoliciesPerGroup", role: "PoliciesPerRole" };

function attach(state: IamState, ctx: RequestContext, type: EntityType, e: Entity, arn: string): void {
  const p = requireAttachable(state, e.accountId, arn);
  const canonical = state.policyArnOf(p);
  if (e.attached.includes(canonical)) return;
  if (e.attached.length >= MAX_ATTACHED) throw limitExceeded(`Cannot exceed quota for ${QUOTA_NAME[type]}: ${MAX_ATTACHED}`);
  e.attached.push(canonical);
  save(state, ctx, type, e);
}

function detach(state: IamState, ctx: RequestContext, type: EntityType, e: Entity, arn: string): void {
  checkPolicyArn(arn);
  const i = e.attached.findIndex((a) => a.toLowerCase() === arn.toLowerCase());
  if (i < 0) throw noSuchEntity(`Policy ${arn} was not found.`);
  e.attached.splice(i, 1);
  save(state, ctx, type, e);
}

function save(state: IamState, ctx: RequestContext, type: EntityType, e: Entity): void {
  if (type === "user") state.saveUser(ctx, e as UserRec);
  else if (type === "group") state.saveGroup(ctx, e as GroupRec);
  else state.saveRole(ctx, e as RoleRec);
}

function listAttached(state: IamState, e: Entity, i: { PathPrefix?: string; Marker?: string; MaxItems?: number }): ListAttachedGroupPoliciesResponse {
  const items: AttachedPolicy[] = [];
  for (const arn of e.attached) {
    const p = state.findPolicy(e.accountId, arn);
    if (!p || !pathMatches(p.rec.path, i.PathPrefix)) continue;
    items.push({ PolicyName: p.rec.name, PolicyArn: arn });
  }
  // Attachment order, as listed; the marker is the position.
  const page = paginate(items, (_a, n) => String(n).padStart(4, "0"), i.Marker, i.MaxItems);
  return { AttachedPolicies: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
}

export function managedPolicyOperations(state: IamState): Record<string, OperationDef> {
  const policyResource = (_ctx: RequestContext, arn: string) => arn;
  const { userArn, roleArn, groupArn, userTags, roleTags } = entityRefs(state);
  const policyTags = (ctx: RequestContext, arn: string) => {
    const p = state.findPolicy(acct(ctx), arn);
    return p?.kind === "customer" ? p.rec.tags : undefined;
  };

  return {
    CreatePolicy: iamOp<CreatePolicyRequest, CreatePolicyResponse>({
      resource: (ctx, i) => iamArn(acct(ctx), "policy", i.Path ?? "/", i.PolicyName!),
      context: (_ctx, i) => requestTagContext(i.Tags),
      logResponse: true,
      handler(ctx, i) {
        const account = acct(ctx);
        const path = i.Path ?? "/";
        if (state.customerPolicies(account).some((p) => p.name.toLowerCase() === i.PolicyName!.toLowerCase())) {
          throw alreadyExists(`A policy called ${i.PolicyName} already exists. Duplicate names are not allowed.`);
        }
        checkManagedSize(i.PolicyDocument!);
        validateDocument(i.PolicyDocument!, "identity");
        checkTagRequest(i.Tags);
        const rec: PolicyRec = {
          id: newId("ANPA"),
          accountId: account,
          name: i.PolicyName!,
          path,
          arn: iamArn(account, "policy", path, i.PolicyName!),
          description: i.Description,
          createDate: ctx.now,
          updateDate: ctx.now,
          defaultVersionId: "v1",
          versions: [{ id: "v1", doc: i.PolicyDocument!, createDate: ctx.now }],
          nextVersion: 2,
          tags: mergeTags([], i.Tags ?? [], "Policy"),
        };
        state.addPolicy(ctx, rec);
        return { Policy: policyView(state, account, { kind: "customer", rec }, true) };
      },
    }),

    GetPolicy: iamOp<GetPolicyRequest, GetPolicyResponse>({
      readOnly: true,
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        return { Policy: policyView(state, acct(ctx), requirePolicy(state, acct(ctx), i.PolicyArn!), true) };
      },
    }),

    GetPolicyVersion: iamOp<GetPolicyVersionRequest, GetPolicyVersionResponse>({
      readOnly: true,
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        const p = requirePolicy(state, acct(ctx), i.PolicyArn!);
        const v = versionView(p, i.VersionId!, true);
        if (!v) throw noSuchEntity(`Policy ${i.PolicyArn} version ${i.VersionId} does not exist or is not attachable.`);
        return { PolicyVersion: v };
      },
    }),

    ListPolicies: iamOp<ListPoliciesRequest, ListPoliciesResponse>({
      readOnly: true,
      resource: () => "*",
      handler(ctx, i) {
        const account = acct(ctx);
        const scope = i.Scope ?? "All";
        const from = markerKey(i.Marker);
        const size = i.MaxItems ?? 100;
        const customer = scope !== "AWS" ? state.existingAccount(account)?.policies.index("byName").entries(ACCOUNT_SCOPE, from) : undefined;
        const aws = scope !== "Local" ? AWS_MANAGED_ORDERED.filter(([k]) => from === undefined || k >= from) : [];
        const customerEntries = (function* () {
          if (customer) for (const [k, rec] of customer) yield [k, { kind: "customer", rec }] as [string, ManagedPolicy];
        })();
        // a usage filter needs each candidate's view; otherwise only the page's items are viewed
        const byUse = i.OnlyAttached || i.PolicyUsageFilter === "PermissionsPolicy" || i.PolicyUsageFilter === "PermissionsBoundary";
        const usable = (v: Policy) =>
          (!i.OnlyAttached || v.AttachmentCount! > 0 || v.PermissionsBoundaryUsageCount! > 0) &&
          (i.PolicyUsageFilter === "PermissionsPolicy" ? v.AttachmentCount! > 0 : i.PolicyUsageFilter === "PermissionsBoundary" ? v.PermissionsBoundaryUsageCount! > 0 : true);
        const Policies: Policy[] = [];
        for (const [key, p] of mergeByKey(aws[Symbol.iterator](), customerEntries)) {
          if (!pathMatches(p.rec.path, i.PathPrefix)) continue;
          const view = byUse || Policies.length < size ? policyView(state, account, p, false) : undefined;
          if (view && byUse && !usable(view)) continue;
          if (Policies.length === size) return { Policies, IsTruncated: true, Marker: markerFor(key) };
          Policies.push(view!);
        }
        return { Policies, IsTruncated: false };
      },
    }),

    DeletePolicy: iamOp<DeletePolicyRequest, object>({
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        const rec = requireCustomer(requirePolicy(state, acct(ctx), i.PolicyArn!), i.PolicyArn!);
        const use = state.usage(rec.accountId, rec.arn);
        if (use.users.length + use.groups.length + use.roles.length + use.boundaryUsers.length + use.boundaryRoles.length > 0) {
          throw deleteConflict("Cannot delete a policy attached to entities.");
        }
        if (rec.versions.length > 1) {
          throw deleteConflict("This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
        }
        state.deletePolicy(ctx, rec);
        return {};
      },
    }),

    CreatePolicyVersion: iamOp<CreatePolicyVersionRequest, CreatePolicyVersionResponse>({
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        const rec = requireCustomer(requirePolicy(state, acct(ctx), i.PolicyArn!), i.PolicyArn!);
        checkManagedSize(i.PolicyDocument!);
        validateDocument(i.PolicyDocument!, "identity");
        if (rec.versions.length >= MAX_POLICY_VERSIONS) {
          throw limitExceeded(`A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`);
        }
        const id = `v${rec.nextVersion}`;
        rec.nextVersion++;
        rec.versions.push({ id, doc: i.PolicyDocument!, createDate: ctx.now });
        if (i.SetAsDefault) {
          rec.defaultVersionId = id;
          rec.updateDate = ctx.now;
        }
        state.savePolicy(ctx, rec);
        return { PolicyVersion: { VersionId: id, IsDefaultVersion: rec.defaultVersionId === id, CreateDate: ctx.now } };
      },
    }),

    ListPolicyVersions: iamOp<ListPolicyVersionsRequest, ListPolicyVersionsResponse>({
      readOnly: true,
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        const p = requirePolicy(state, acct(ctx), i.PolicyArn!);
        const ids = p.kind === "aws" ? [p.rec.versionId] : p.rec.versions.map((v) => v.id).reverse();
        const versions = ids.map((id) => versionView(p, id, false)!);
        const page = paginate(versions, (v) => String(1e9 - Number(v.VersionId!.slice(1))).padStart(10, "0"), i.Marker, i.MaxItems);
        return { Versions: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    DeletePolicyVersion: iamOp<DeletePolicyVersionRequest, object>({
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        const rec = requireCustomer(requirePolicy(state, acct(ctx), i.PolicyArn!), i.PolicyArn!);
        const idx = rec.versions.findIndex((v) => v.id === i.VersionId);
        if (idx < 0) throw noSuchEntity(`Policy ${i.PolicyArn} version ${i.VersionId} does not exist or is not attachable.`);
        if (rec.defaultVersionId === i.VersionId) throw deleteConflict("Cannot delete the default version of a policy.");
        rec.versions.splice(idx, 1);
        state.savePolicy(ctx, rec);
        return {};
      },
    }),

    SetDefaultPolicyVersion: iamOp<SetDefaultPolicyVersionRequest, object>({
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        const rec = requireCustomer(requirePolicy(state, acct(ctx), i.PolicyArn!), i.PolicyArn!);
        if (!rec.versions.some((v) => v.id === i.VersionId)) {
          throw noSuchEntity(`Policy ${i.PolicyArn} version ${i.VersionId} does not exist or is not attachable.`);
        }
        if (rec.defaultVersionId !== i.VersionId) {
          rec.defaultVersionId = i.VersionId!;
          rec.updateDate = ctx.now;
          state.savePolicy(ctx, rec);
        }
        return {};
      },
    }),

    AttachUserPolicy: iamOp<AttachUserPolicyRequest, object>({
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      context: (_ctx, i) => ({ "iam:PolicyARN": i.PolicyArn! }),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName!),
      handler(ctx, i) {
        attach(state, ctx, "user", state.user(acct(ctx), i.UserName!), i.PolicyArn!);
        return {};
      },
    }),
    AttachGroupPolicy: iamOp<AttachGroupPolicyRequest, object>({
      resource: (ctx, i) => groupArn(ctx, i.GroupName!),
      context: (_ctx, i) => ({ "iam:PolicyARN": i.PolicyArn! }),
      handler(ctx, i) {
        attach(state, ctx, "group", state.group(acct(ctx), i.GroupName!), i.PolicyArn!);
        return {};
      },
    }),
    AttachRolePolicy: iamOp<AttachRolePolicyRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      context: (_ctx, i) => ({ "iam:PolicyARN": i.PolicyArn! }),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        attach(state, ctx, "role", state.role(acct(ctx), i.RoleName!), i.PolicyArn!);
        return {};
      },
    }),
    DetachUserPolicy: iamOp<AttachUserPolicyRequest, object>({
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      context: (_ctx, i) => ({ "iam:PolicyARN": i.PolicyArn! }),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName!),
      handler(ctx, i) {
        detach(state, ctx, "user", state.user(acct(ctx), i.UserName!), i.PolicyArn!);
        return {};
      },
    }),
    DetachGroupPolicy: iamOp<AttachGroupPolicyRequest, object>({
      resource: (ctx, i) => groupArn(ctx, i.GroupName!),
      context: (_ctx, i) => ({ "iam:PolicyARN": i.PolicyArn! }),
      handler(ctx, i) {
        detach(state, ctx, "group", state.group(acct(ctx), i.GroupName!), i.PolicyArn!);
        return {};
      },
    }),
    DetachRolePolicy: iamOp<AttachRolePolicyRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      context: (_ctx, i) => ({ "iam:PolicyARN": i.PolicyArn! }),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        detach(state, ctx, "role", state.role(acct(ctx), i.RoleName!), i.PolicyArn!);
        return {};
      },
    }),

    ListAttachedUserPolicies: iamOp<ListAttachedGroupPoliciesRequest & { UserName?: string }, ListAttachedGroupPoliciesResponse>({
      readOnly: true,
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName!),
      handler: (ctx, i) => listAttached(state, state.user(acct(ctx), i.UserName!), i),
    }),
    ListAttachedGroupPolicies: iamOp<ListAttachedGroupPoliciesRequest, ListAttachedGroupPoliciesResponse>({
      readOnly: true,
      resource: (ctx, i) => groupArn(ctx, i.GroupName!),
      handler: (ctx, i) => listAttached(state, state.group(acct(ctx), i.GroupName!), i),
    }),
    ListAttachedRolePolicies: iamOp<ListAttachedGroupPoliciesRequest & { RoleName?: string }, ListAttachedGroupPoliciesResponse>({
      readOnly: true,
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler: (ctx, i) => listAttached(state, state.role(acct(ctx), i.RoleName!), i),
    }),

    ListEntitiesForPolicy: iamOp<ListEntitiesForPolicyRequest, ListEntitiesForPolicyResponse>({
      readOnly: true,
      resource: (ctx, i) => policyResource(ctx, i.PolicyArn!),
      resourceTags: (ctx, i) => policyTags(ctx, i.PolicyArn!),
      handler(ctx, i) {
        const p = requirePolicy(state, acct(ctx), i.PolicyArn!);
        const use = state.usage(acct(ctx), state.policyArnOf(p));
        const f = i.EntityFilter;
        const boundary = i.PolicyUsageFilter === "PermissionsBoundary";
        const permissions = i.PolicyUsageFilter === "PermissionsPolicy";
        type Row = { type: "User" | "Group" | "Role"; name: string; id: string; path: string };
        const rows: Row[] = [];
        const add = (type: Row["type"], list: { name: string; id: string; path: string }[]) => {
          if (f && f !== type && !(f === "LocalManagedPolicy" || f === "AWSManagedPolicy")) return;
          for (const e of list) if (pathMatches(e.path, i.PathPrefix) && !rows.some((r) => r.id === e.id)) rows.push({ type, name: e.name, id: e.id, path: e.path });
        };
        if (!boundary) {
          add("Group", use.groups);
          add("User", use.users);
          add("Role", use.roles);
        }
        if (!permissions) {
          add("User", use.boundaryUsers);
          add("Role", use.boundaryRoles);
        }
        const order = { Group: 0, User: 1, Role: 2 };
        rows.sort((a, b) => order[a.type] - order[b.type] || byName(a.name, b.name));
        const page = paginate(rows, (r) => `${order[r.type]}${r.name.toLowerCase()}`, i.Marker, i.MaxItems);
        return {
          PolicyGroups: page.items.filter((r) => r.type === "Group").map((r) => ({ GroupName: r.name, GroupId: r.id })),
          PolicyUsers: page.items.filter((r) => r.type === "User").map((r) => ({ UserName: r.name, UserId: r.id })),
          PolicyRoles: page.items.filter((r) => r.type === "Role").map((r) => ({ RoleName: r.name, RoleId: r.id })),
          IsTruncated: page.IsTruncated,
          Marker: page.Marker,
        };
      },
    }),

    PutUserPermissionsBoundary: iamOp<PutUserPermissionsBoundaryRequest, object>({
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      context: (_ctx, i) => ({ "iam:PermissionsBoundary": i.PermissionsBoundary! }),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName!),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        u.boundary = state.policyArnOf(requireAttachable(state, acct(ctx), i.PermissionsBoundary!));
        state.saveUser(ctx, u);
        return {};
      },
    }),
    PutRolePermissionsBoundary: iamOp<PutRolePermissionsBoundaryRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      context: (_ctx, i) => ({ "iam:PermissionsBoundary": i.PermissionsBoundary! }),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        r.boundary = state.policyArnOf(requireAttachable(state, acct(ctx), i.PermissionsBoundary!));
        state.saveRole(ctx, r);
        return {};
      },
    }),
    DeleteUserPermissionsBoundary: iamOp<DeleteUserPermissionsBoundaryRequest, object>({
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      context: (ctx, i) => {
        const b = state.findUser(acct(ctx), i.UserName!)?.boundary;
        return b ? { "iam:PermissionsBoundary": b } : {};
      },
      resourceTags: (ctx, i) => userTags(ctx, i.UserName!),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        if (u.boundary !== undefined) {
          delete u.boundary;
          state.saveUser(ctx, u);
        }
        return {};
      },
    }),
    DeleteRolePermissionsBoundary: iamOp<DeleteRolePermissionsBoundaryRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      context: (ctx, i) => {
        const b = state.findRole(acct(ctx), i.RoleName!)?.boundary;
        return b ? { "iam:PermissionsBoundary": b } : {};
      },
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        if (r.boundary !== undefined) {
          delete r.boundary;
          state.saveRole(ctx, r);
        }
        return {};
      },
    }),
  };
}
