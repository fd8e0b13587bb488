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
import type { OperationDef } from "../types.ts";
import {
  alreadyExists,
  byName,
  checkTagRequest,
  deleteConflict,
  encodeDocument,
  iamArn,
  limitExceeded,
  mergeTags,
  newId,
  paginate,
  paginateIndex,
  pathMatches,
  policySize,
  removeTags,
  requestTagContext,
  validateDocument,
} from "./common.ts";
import { requireAttachable } from "./managed.ts";
import { acct, entityRefs, iamOp } from "./ops.ts";
import { ACCOUNT_SCOPE, type IamState, type RoleRec } from "./state.ts";

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

export function roleOperations(state: IamState): Record<string, OperationDef> {
  const { roleArn, roleTags } = entityRefs(state);

  return {
    CreateRole: iamOp<CreateRoleRequest, CreateRoleResponse>({
      resource: (ctx, i) => iamArn(acct(ctx), "role", i.Path ?? "/", i.RoleName!),
      context: (_ctx, i) => ({ ...requestTagContext(i.Tags), ...(i.PermissionsBoundary ? { "iam:PermissionsBoundary": i.PermissionsBoundary } : {}) }),
      logResponse: true,
      handler(ctx, i) {
        const account = acct(ctx);
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
    }),

    GetRole: iamOp<GetRoleRequest, GetRoleResponse>({
      readOnly: true,
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler: (ctx, i) => ({ Role: roleView(state.role(acct(ctx), i.RoleName!), "get") }),
    }),

    ListRoles: iamOp<ListRolesRequest, ListRolesResponse>({
      readOnly: true,
      resource: (ctx, i) => iamArn(acct(ctx), "role", i.PathPrefix ?? "/", ""),
      handler(ctx, i) {
        const index = state.existingAccount(acct(ctx))?.roles.index("byName");
        const page = paginateIndex(index, ACCOUNT_SCOPE, i.Marker, i.MaxItems, i.PathPrefix === undefined ? undefined : (r) => pathMatches(r.path, i.PathPrefix));
        return { Roles: page.items.map((r) => roleView(r, "list")), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    DeleteRole: iamOp<DeleteRoleRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        if (r.inline.length) throw deleteConflict("Cannot delete entity, must delete policies first.");
        if (r.attached.length) throw deleteConflict("Cannot delete entity, must detach all policies first.");
        state.deleteRole(ctx, r);
        return {};
      },
    }),

    UpdateAssumeRolePolicy: iamOp<UpdateAssumeRolePolicyRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        checkTrust(i.PolicyDocument!);
        r.trust = i.PolicyDocument!;
        state.saveRole(ctx, r);
        return {};
      },
    }),

    UpdateRole: iamOp<UpdateRoleRequest, UpdateRoleResponse>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        if (i.Description !== undefined) r.description = i.Description;
        if (i.MaxSessionDuration !== undefined) r.maxSessionDuration = i.MaxSessionDuration;
        state.saveRole(ctx, r);
        return {};
      },
    }),

    TagRole: iamOp<TagRoleRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      context: (_ctx, i) => requestTagContext(i.Tags),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        r.tags = mergeTags(r.tags, i.Tags ?? [], "Role");
        state.saveRole(ctx, r);
        return {};
      },
    }),

    UntagRole: iamOp<UntagRoleRequest, object>({
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      context: (_ctx, i) => ({ "aws:TagKeys": i.TagKeys ?? [] }),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        r.tags = removeTags(r.tags, i.TagKeys ?? []);
        state.saveRole(ctx, r);
        return {};
      },
    }),

    ListRoleTags: iamOp<ListRoleTagsRequest, ListRoleTagsResponse>({
      readOnly: true,
      resource: (ctx, i) => roleArn(ctx, i.RoleName!),
      resourceTags: (ctx, i) => roleTags(ctx, i.RoleName!),
      handler(ctx, i) {
        const r = state.role(acct(ctx), i.RoleName!);
        const tags = [...r.tags].sort((a, b) => byName(a.Key!, b.Key!));
        const page = paginate(tags, (t) => t.Key!.toLowerCase(), i.Marker, i.MaxItems);
        return { Tags: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),
  };
}
