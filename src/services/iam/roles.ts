/** IAM roles: trust policies, session duration, tags. */
import type {
  CreateRoleRequest,
  CreateRoleResponse,
  DeleteRoleRequest,
  GetRoleRequest,
  GetRoleResponse,
  ListRoleTagsRequest,
  ListRoleTagsResponse,
  ListRolesRequest,
  ListRolesResponse,
  Role,
  TagRoleRequest,
  UntagRoleRequest,
  UpdateAssumeRolePolicyRequest,
  UpdateRoleRequest,
  UpdateRoleResponse,
} from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import {
  alreadyExists,
  checkTagRequest,
  deleteConflict,
  encodeDocument,
  iamArn,
  limitExceeded,
  mergeTags,
  newId,
  paginateIndex,
  pathMatches,
  policySize,
  removeTags,
  requestTagContext,
  validateDocument,
  tagsPage,
} from "./common.ts";
import { requireAttachable } from "./managed.ts";
import { authorizeOnRole, existing, modifiableRole, iamChecks, iamResolvers, loggedResponse, type EntityRef, type IamEnv } from "./ops.ts";
import { ACCOUNT_SCOPE, type RoleRec } from "./state.ts";

export const DEFAULT_MAX_SESSION = 3600;
export const TRUST_POLICY_SIZE = 2048;

function checkTrust(doc: string): void {
  // The cheap size check first: an oversized document is refused without being parsed.
  if (policySize(doc) > TRUST_POLICY_SIZE) throw limitExceeded(`Cannot exceed quota for ACLSizePerRole: ${TRUST_POLICY_SIZE}`);
  validateDocument(doc, "trust");
}

export function roleView(r: RoleRec, mode: "create" | "get" | "list"): Role {
  const out: Role = {
    Path: r.path,
    RoleName: r.name,
    RoleId: r.id,
    Arn: r.arn,
    CreateDate: r.createDate,
    AssumeRolePolicyDocument: encodeDocument(r.trust),
    ...(r.description !== undefined ? { Description: r.description } : {}),
  };
  if (mode !== "create") out.MaxSessionDuration = r.maxSessionDuration;
  if (mode !== "list") {
    if (r.boundary) out.PermissionsBoundary = { PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: r.boundary };
    if (r.tags.length) out.Tags = r.tags;
  }
  if (mode === "get") out.RoleLastUsed = r.lastUsed ? { LastUsedDate: r.lastUsed.date, Region: r.lastUsed.region } : {};
  return out;
}

type RoleOperation = "CreateRole" | "GetRole" | "ListRoles" | "DeleteRole" | "UpdateAssumeRolePolicy" | "UpdateRole" | "TagRole" | "UntagRole" | "ListRoleTags";

export function roleOperations(env: IamEnv): OperationTable<RoleOperation> {
  const { state } = env;
  const resolve = iamResolvers(env);

  return {
    CreateRole: defineOperation<CreateRoleRequest, CreateRoleResponse, string>({
      resolve: resolve.account,
      authorize: function authorizeCreateRole(ctx, i, account) {
        const context = { ...requestTagContext(i.Tags), ...(i.PermissionsBoundary ? { "iam:PermissionsBoundary": i.PermissionsBoundary } : {}) };
        return iamChecks(ctx, iamArn(account, "role", i.Path ?? "/", i.RoleName!), { context });
      },
      handler: function createRole(ctx, i, account) {
        if (state.findRole(account, i.RoleName!)) throw alreadyExists(`Role with name ${i.RoleName} already exists.`);
        checkTrust(i.AssumeRolePolicyDocument!);
        checkTagRequest(i.Tags);
        if (i.PermissionsBoundary) requireAttachable(state, account, i.PermissionsBoundary);
        const path = i.Path ?? "/";
        const r: RoleRec = {
          id: newId("AROA"),
          accountId: account,
          name: i.RoleName!,
          path,
          arn: iamArn(account, "role", path, i.RoleName!),
          createDate: ctx.now,
          trust: i.AssumeRolePolicyDocument!,
          description: i.Description,
          maxSessionDuration: i.MaxSessionDuration ?? DEFAULT_MAX_SESSION,
          tags: mergeTags([], i.Tags ?? [], "Role"),
          inline: [],
          attached: [],
          boundary: i.PermissionsBoundary,
        };
        state.addRole(ctx, r);
        return { Role: roleView(r, "create") };
      },
      audit: { responseElements: loggedResponse },
    }),

    GetRole: defineOperation<GetRoleRequest, GetRoleResponse, EntityRef<RoleRec>>({
      readOnly: true,
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function getRole(_ctx, _i, ref) {
        return { Role: roleView(existing(ref), "get") };
      },
    }),

    ListRoles: defineOperation<ListRolesRequest, ListRolesResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: function authorizeListRoles(ctx, i, account) {
        return iamChecks(ctx, iamArn(account, "role", i.PathPrefix ?? "/", ""));
      },
      handler: function listRoles(_ctx, i, account) {
        const index = state.existingAccount(account)?.roles.index("byName");
        const page = paginateIndex(index, ACCOUNT_SCOPE, i.Marker, i.MaxItems, i.PathPrefix === undefined ? undefined : (r) => pathMatches(r.path, i.PathPrefix));
        return { Roles: page.items.map((r) => roleView(r, "list")), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    DeleteRole: defineOperation<DeleteRoleRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function deleteRole(ctx, _i, ref) {
        const r = modifiableRole(ref);
        if (r.inline.length) throw deleteConflict("Cannot delete entity, must delete policies first.");
        if (r.attached.length) throw deleteConflict("Cannot delete entity, must detach all policies first.");
        state.deleteRole(ctx, r);
        return {};
      },
    }),

    UpdateAssumeRolePolicy: defineOperation<UpdateAssumeRolePolicyRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function updateAssumeRolePolicy(ctx, i, ref) {
        const r = modifiableRole(ref);
        checkTrust(i.PolicyDocument!);
        r.trust = i.PolicyDocument!;
        state.saveRole(ctx, r);
        return {};
      },
    }),

    UpdateRole: defineOperation<UpdateRoleRequest, UpdateRoleResponse, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function updateRole(ctx, i, ref) {
        const r = existing(ref);
        if (i.Description !== undefined) r.description = i.Description;
        if (i.MaxSessionDuration !== undefined) r.maxSessionDuration = i.MaxSessionDuration;
        state.saveRole(ctx, r);
        return {};
      },
    }),

    TagRole: defineOperation<TagRoleRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: function authorizeTagRole(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: requestTagContext(i.Tags), tags: ref.found?.tags });
      },
      handler: function tagRole(ctx, i, ref) {
        const r = existing(ref);
        r.tags = mergeTags(r.tags, i.Tags ?? [], "Role");
        state.saveRole(ctx, r);
        return {};
      },
    }),

    UntagRole: defineOperation<UntagRoleRequest, object, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: function authorizeUntagRole(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: { "aws:TagKeys": i.TagKeys ?? [] }, tags: ref.found?.tags });
      },
      handler: function untagRole(ctx, i, ref) {
        const r = existing(ref);
        r.tags = removeTags(r.tags, i.TagKeys ?? []);
        state.saveRole(ctx, r);
        return {};
      },
    }),

    ListRoleTags: defineOperation<ListRoleTagsRequest, ListRoleTagsResponse, EntityRef<RoleRec>>({
      readOnly: true,
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function listRoleTags(_ctx, i, ref) {
        return tagsPage(existing(ref).tags, i.Marker, i.MaxItems);
      },
    }),
  };
}
