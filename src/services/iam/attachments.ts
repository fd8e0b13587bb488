/**
 * Managed policies attached to users, groups and roles, who a policy is attached to, and
 * permissions boundaries (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html).
 */
import type {
  AttachedPolicy,
  AttachGroupPolicyRequest,
  AttachRolePolicyRequest,
  AttachUserPolicyRequest,
  DeleteRolePermissionsBoundaryRequest,
  DeleteUserPermissionsBoundaryRequest,
  DetachGroupPolicyRequest,
  DetachRolePolicyRequest,
  DetachUserPolicyRequest,
  ListAttachedGroupPoliciesRequest,
  ListAttachedGroupPoliciesResponse,
  ListAttachedRolePoliciesRequest,
  ListAttachedRolePoliciesResponse,
  ListAttachedUserPoliciesRequest,
  ListAttachedUserPoliciesResponse,
  ListEntitiesForPolicyRequest,
  ListEntitiesForPolicyResponse,
  PutRolePermissionsBoundaryRequest,
  PutUserPermissionsBoundaryRequest,
} from "@aws-sdk/client-iam";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck, type OperationTable } from "../../kernel/operation.ts";
import { byName, limitExceeded, noSuchEntity, paginate, pathMatches } from "./common.ts";
import { checkPolicyArn, requireAttachable, requirePolicy } from "./managed.ts";
import {
  authorizeOnGroup,
  authorizeOnPolicy,
  authorizeOnRole,
  authorizeOnUser,
  existing,
  modifiableRole,
  iamChecks,
  iamResolvers,
  type EntityRef,
  type IamEnv,
  type PolicyRef,
} from "./ops.ts";
import type { GroupRec, IamState, RoleRec, UserRec } from "./state.ts";

export const MAX_ATTACHED = 10;

type AttachmentOperation =
  | "AttachUserPolicy"
  | "AttachGroupPolicy"
  | "AttachRolePolicy"
  | "DetachUserPolicy"
  | "DetachGroupPolicy"
  | "DetachRolePolicy"
  | "ListAttachedUserPolicies"
  | "ListAttachedGroupPolicies"
  | "ListAttachedRolePolicies"
  | "ListEntitiesForPolicy"
  | "PutUserPermissionsBoundary"
  | "PutRolePermissionsBoundary"
  | "DeleteUserPermissionsBoundary"
  | "DeleteRolePermissionsBoundary";

type Entity = UserRec | GroupRec | RoleRec;
type EntityType = "user" | "group" | "role";
const QUOTA_NAME: Record<EntityType, string> = { user: "PoliciesPerUser", group: "PoliciesPerGroup", role: "PoliciesPerRole" };

/** Attaches a managed policy (no change when it already is); returns false when nothing changed. */
function attach(state: IamState, type: EntityType, e: Entity, arn: string): boolean {
  const p = requireAttachable(state, e.accountId, arn);
  const canonical = state.policyArnOf(p);
  if (e.attached.includes(canonical)) return false;
  if (e.attached.length >= MAX_ATTACHED) throw limitExceeded(`Cannot exceed quota for ${QUOTA_NAME[type]}: ${MAX_ATTACHED}`);
  e.attached.push(canonical);
  return true;
}

function detach(e: Entity, arn: string): void {
  checkPolicyArn(arn);
  const i = e.attached.findIndex((a) => a.toLowerCase() === arn.toLowerCase());
  if (i < 0) throw noSuchEntity(`Policy ${arn} was not found.`);
  e.attached.splice(i, 1);
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

/** Attach and detach calls: on the entity, with iam:PolicyARN and the entity's tags (groups have none). */
function authorizePolicyArnOn(ctx: RequestContext, i: { PolicyArn?: string }, ref: EntityRef<UserRec> | EntityRef<RoleRec> | EntityRef<GroupRec>): AuthCheck[] {
  const tags = ref.found && "tags" in ref.found ? ref.found.tags : undefined;
  return iamChecks(ctx, ref.arn, { context: { "iam:PolicyARN": i.PolicyArn! }, tags });
}

/** Setting a boundary: on the entity, with iam:PermissionsBoundary the policy asked for. */
function authorizeBoundaryOn(ctx: RequestContext, i: { PermissionsBoundary?: string }, ref: EntityRef<UserRec> | EntityRef<RoleRec>): AuthCheck[] {
  return iamChecks(ctx, ref.arn, { context: { "iam:PermissionsBoundary": i.PermissionsBoundary! }, tags: ref.found?.tags });
}

/** Removing a boundary: on the entity, with iam:PermissionsBoundary the one it has. */
function authorizeBoundaryRemovalOn(ctx: RequestContext, _i: object, ref: EntityRef<UserRec> | EntityRef<RoleRec>): AuthCheck[] {
  const b = ref.found?.boundary;
  return iamChecks(ctx, ref.arn, { context: b ? { "iam:PermissionsBoundary": b } : {}, tags: ref.found?.tags });
}

function listEntitiesForPolicy(state: IamState, ref: PolicyRef, i: ListEntitiesForPolicyRequest): ListEntitiesForPolicyResponse {
  const p = requirePolicy(ref);
  const use = state.usage(ref.account, state.policyArnOf(p));
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
}

export function attachmentOperations(env: IamEnv): OperationTable<AttachmentOperation> {
  const { state } = env;
  const resolve = iamResolvers(env);

  return {
    AttachUserPolicy: defineOperation<AttachUserPolicyRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizePolicyArnOn,
      handler: function attachUserPolicy(ctx, i, ref) {
        const u = existing(ref);
        if (attach(state, "user", u, i.PolicyArn!)) state.saveUser(ctx, u);
        return {};
      },
    }),
    AttachGroupPolicy: defineOperation<AttachGroupPolicyRequest, object, EntityRef<GroupRec>>({
      resolve: resolve.group,
      authorize: authorizePolicyArnOn,
      handler: function attachGroupPolicy(ctx, i, ref) {
        const g = existing(ref);
        if (attach(state, "group", g, i.PolicyArn!)) state.saveGroup(ctx, g);
        return {};
      },
    }),
    AttachRolePolicy: defineOperation<AttachRolePolicyRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizePolicyArnOn,
      handler: function attachRolePolicy(ctx, i, ref) {
        const r = modifiableRole(ref);
        if (attach(state, "role", r, i.PolicyArn!)) state.saveRole(ctx, r);
        return {};
      },
    }),
    DetachUserPolicy: defineOperation<DetachUserPolicyRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizePolicyArnOn,
      handler: function detachUserPolicy(ctx, i, ref) {
        const u = existing(ref);
        detach(u, i.PolicyArn!);
        state.saveUser(ctx, u);
        return {};
      },
    }),
    DetachGroupPolicy: defineOperation<DetachGroupPolicyRequest, object, EntityRef<GroupRec>>({
      resolve: resolve.group,
      authorize: authorizePolicyArnOn,
      handler: function detachGroupPolicy(ctx, i, ref) {
        const g = existing(ref);
        detach(g, i.PolicyArn!);
        state.saveGroup(ctx, g);
        return {};
      },
    }),
    DetachRolePolicy: defineOperation<DetachRolePolicyRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizePolicyArnOn,
      handler: function detachRolePolicy(ctx, i, ref) {
        const r = modifiableRole(ref);
        detach(r, i.PolicyArn!);
        state.saveRole(ctx, r);
        return {};
      },
    }),

    ListAttachedUserPolicies: defineOperation<ListAttachedUserPoliciesRequest, ListAttachedUserPoliciesResponse, EntityRef<UserRec>>({
      readOnly: true,
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function listAttachedUserPolicies(_ctx, i, ref) {
        return listAttached(state, existing(ref), i);
      },
    }),
    ListAttachedGroupPolicies: defineOperation<ListAttachedGroupPoliciesRequest, ListAttachedGroupPoliciesResponse, EntityRef<GroupRec>>({
      readOnly: true,
      resolve: resolve.group,
      authorize: authorizeOnGroup,
      handler: function listAttachedGroupPolicies(_ctx, i, ref) {
        return listAttached(state, existing(ref), i);
      },
    }),
    ListAttachedRolePolicies: defineOperation<ListAttachedRolePoliciesRequest, ListAttachedRolePoliciesResponse, EntityRef<RoleRec>>({
      readOnly: true,
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function listAttachedRolePolicies(_ctx, i, ref) {
        return listAttached(state, existing(ref), i);
      },
    }),

    ListEntitiesForPolicy: defineOperation<ListEntitiesForPolicyRequest, ListEntitiesForPolicyResponse, PolicyRef>({
      readOnly: true,
      resolve: resolve.policy,
      authorize: authorizeOnPolicy,
      handler: function listEntitiesForPolicyHandler(_ctx, i, ref) {
        return listEntitiesForPolicy(state, ref, i);
      },
    }),

    PutUserPermissionsBoundary: defineOperation<PutUserPermissionsBoundaryRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeBoundaryOn,
      handler: function putUserPermissionsBoundary(ctx, i, ref) {
        const u = existing(ref);
        u.boundary = state.policyArnOf(requireAttachable(state, ref.account, i.PermissionsBoundary!));
        state.saveUser(ctx, u);
        return {};
      },
    }),
    PutRolePermissionsBoundary: defineOperation<PutRolePermissionsBoundaryRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeBoundaryOn,
      handler: function putRolePermissionsBoundary(ctx, i, ref) {
        const r = modifiableRole(ref);
        r.boundary = state.policyArnOf(requireAttachable(state, ref.account, i.PermissionsBoundary!));
        state.saveRole(ctx, r);
        return {};
      },
    }),
    DeleteUserPermissionsBoundary: defineOperation<DeleteUserPermissionsBoundaryRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeBoundaryRemovalOn,
      handler: function deleteUserPermissionsBoundary(ctx, _i, ref) {
        const u = existing(ref);
        if (u.boundary !== undefined) {
          delete u.boundary;
          state.saveUser(ctx, u);
        }
        return {};
      },
    }),
    DeleteRolePermissionsBoundary: defineOperation<DeleteRolePermissionsBoundaryRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeBoundaryRemovalOn,
      handler: function deleteRolePermissionsBoundary(ctx, _i, ref) {
        const r = modifiableRole(ref);
        if (r.boundary !== undefined) {
          delete r.boundary;
          state.saveRole(ctx, r);
        }
        return {};
      },
    }),
  };
}
