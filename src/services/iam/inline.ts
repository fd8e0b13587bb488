/** Inline policies of users, roles and groups: Put/Get/List/Delete <Entity>Policy. */
import type {
  DeleteGroupPolicyRequest,
  DeleteRolePolicyRequest,
  DeleteUserPolicyRequest,
  GetGroupPolicyRequest,
  GetGroupPolicyResponse,
  GetRolePolicyRequest,
  GetRolePolicyResponse,
  GetUserPolicyRequest,
  GetUserPolicyResponse,
  ListGroupPoliciesRequest,
  ListGroupPoliciesResponse,
  ListRolePoliciesRequest,
  ListRolePoliciesResponse,
  ListUserPoliciesRequest,
  ListUserPoliciesResponse,
  PutGroupPolicyRequest,
  PutRolePolicyRequest,
  PutUserPolicyRequest,
} from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { byName, encodeDocument, limitExceeded, noSuchEntity, paginate, policySize, validateDocument, type Page } from "./common.ts";
import { authorizeOnGroup, authorizeOnRole, authorizeOnUser, existing, modifiableRole, iamResolvers, type EntityRef, type IamEnv } from "./ops.ts";
import type { GroupRec, InlinePolicies, RoleRec, UserRec } from "./state.ts";

type Kind = "User" | "Role" | "Group";

/** Aggregate size of an entity's inline policies, whitespace not counted. */
export const INLINE_QUOTA: Record<Kind, number> = { User: 2048, Role: 10240, Group: 5120 };

type InlineOperation = `${"Put" | "Get" | "Delete"}${Kind}Policy` | `List${Kind}Policies`;

interface WithInline {
  inline: InlinePolicies;
  name: string;
}

function findInline(list: InlinePolicies, name: string): number {
  return list.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
}

const missingPolicy = (kind: Kind, name: string) => noSuchEntity(`The ${kind.toLowerCase()} policy with name ${name} cannot be found.`);

/** Adds or replaces (in place) a policy, within the entity's aggregate quota; the caller saves. */
function putInline(kind: Kind, e: WithInline, name: string, doc: string): void {
  const next: InlinePolicies = e.inline.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  next.push([name, doc]);
  const total = next.reduce((sum, [, d]) => sum + policySize(d), 0);
  if (total > INLINE_QUOTA[kind]) throw limitExceeded(`Maximum policy size of ${INLINE_QUOTA[kind]} bytes exceeded for ${kind.toLowerCase()} ${e.name}`);
  validateDocument(doc, "identity");
  // Replacing keeps the policy's place.
  const idx = findInline(e.inline, name);
  if (idx >= 0) e.inline[idx] = [name, doc];
  else e.inline.push([name, doc]);
}

/** The named policy as IAM returns it: its stored name and its URL-encoded document. */
function getInline(kind: Kind, e: WithInline, policyName: string): { PolicyName: string; PolicyDocument: string } {
  const idx = findInline(e.inline, policyName);
  if (idx < 0) throw missingPolicy(kind, policyName);
  const [name, doc] = e.inline[idx];
  return { PolicyName: name, PolicyDocument: encodeDocument(doc) };
}

function listInline(e: WithInline, i: { Marker?: string; MaxItems?: number }): { PolicyNames: string[]; IsTruncated: boolean; Marker?: string } {
  const names = e.inline.map(([n]) => n).sort(byName);
  const page: Page<string> = paginate(names, (n) => n.toLowerCase(), i.Marker, i.MaxItems);
  return { PolicyNames: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
}

/** Removes the named policy; the caller saves. */
function deleteInline(kind: Kind, e: WithInline, policyName: string): void {
  const idx = findInline(e.inline, policyName);
  if (idx < 0) throw missingPolicy(kind, policyName);
  e.inline.splice(idx, 1);
}

export function inlinePolicyOperations(env: IamEnv): OperationTable<InlineOperation> {
  const { state } = env;
  const resolve = iamResolvers(env);

  return {
    PutUserPolicy: defineOperation<PutUserPolicyRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function putUserPolicy(ctx, i, ref) {
        const u = existing(ref);
        putInline("User", u, i.PolicyName!, i.PolicyDocument!);
        state.saveUser(ctx, u);
        return {};
      },
    }),
    GetUserPolicy: defineOperation<GetUserPolicyRequest, GetUserPolicyResponse, EntityRef<UserRec>>({
      readOnly: true,
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function getUserPolicy(_ctx, i, ref) {
        const u = existing(ref);
        return { UserName: u.name, ...getInline("User", u, i.PolicyName!) };
      },
    }),
    ListUserPolicies: defineOperation<ListUserPoliciesRequest, ListUserPoliciesResponse, EntityRef<UserRec>>({
      readOnly: true,
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function listUserPolicies(_ctx, i, ref) {
        return listInline(existing(ref), i);
      },
    }),
    DeleteUserPolicy: defineOperation<DeleteUserPolicyRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function deleteUserPolicy(ctx, i, ref) {
        const u = existing(ref);
        deleteInline("User", u, i.PolicyName!);
        state.saveUser(ctx, u);
        return {};
      },
    }),

    PutRolePolicy: defineOperation<PutRolePolicyRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function putRolePolicy(ctx, i, ref) {
        const r = modifiableRole(ref);
        putInline("Role", r, i.PolicyName!, i.PolicyDocument!);
        state.saveRole(ctx, r);
        return {};
      },
    }),
    GetRolePolicy: defineOperation<GetRolePolicyRequest, GetRolePolicyResponse, EntityRef<RoleRec>>({
      readOnly: true,
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function getRolePolicy(_ctx, i, ref) {
        const r = existing(ref);
        return { RoleName: r.name, ...getInline("Role", r, i.PolicyName!) };
      },
    }),
    ListRolePolicies: defineOperation<ListRolePoliciesRequest, ListRolePoliciesResponse, EntityRef<RoleRec>>({
      readOnly: true,
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function listRolePolicies(_ctx, i, ref) {
        return listInline(existing(ref), i);
      },
    }),
    DeleteRolePolicy: defineOperation<DeleteRolePolicyRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function deleteRolePolicy(ctx, i, ref) {
        const r = modifiableRole(ref);
        deleteInline("Role", r, i.PolicyName!);
        state.saveRole(ctx, r);
        return {};
      },
    }),

    PutGroupPolicy: defineOperation<PutGroupPolicyRequest, object, EntityRef<GroupRec>>({
      resolve: resolve.group,
      authorize: authorizeOnGroup,
      handler: function putGroupPolicy(ctx, i, ref) {
        const g = existing(ref);
        putInline("Group", g, i.PolicyName!, i.PolicyDocument!);
        state.saveGroup(ctx, g);
        return {};
      },
    }),
    GetGroupPolicy: defineOperation<GetGroupPolicyRequest, GetGroupPolicyResponse, EntityRef<GroupRec>>({
      readOnly: true,
      resolve: resolve.group,
      authorize: authorizeOnGroup,
      handler: function getGroupPolicy(_ctx, i, ref) {
        const g = existing(ref);
        return { GroupName: g.name, ...getInline("Group", g, i.PolicyName!) };
      },
    }),
    ListGroupPolicies: defineOperation<ListGroupPoliciesRequest, ListGroupPoliciesResponse, EntityRef<GroupRec>>({
      readOnly: true,
      resolve: resolve.group,
      authorize: authorizeOnGroup,
      handler: function listGroupPolicies(_ctx, i, ref) {
        return listInline(existing(ref), i);
      },
    }),
    DeleteGroupPolicy: defineOperation<DeleteGroupPolicyRequest, object, EntityRef<GroupRec>>({
      resolve: resolve.group,
      authorize: authorizeOnGroup,
      handler: function deleteGroupPolicy(ctx, i, ref) {
        const g = existing(ref);
        deleteInline("Group", g, i.PolicyName!);
        state.saveGroup(ctx, g);
        return {};
      },
    }),
  };
}
