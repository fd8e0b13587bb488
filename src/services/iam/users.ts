/** IAM users, their tags and their access keys. */
import type {
  AccessKey,
  AccessKeyMetadata,
  CreateAccessKeyRequest,
  CreateAccessKeyResponse,
  CreateUserRequest,
  CreateUserResponse,
  DeleteAccessKeyRequest,
  DeleteUserRequest,
  GetAccessKeyLastUsedRequest,
  GetAccessKeyLastUsedResponse,
  GetUserRequest,
  GetUserResponse,
  ListAccessKeysRequest,
  ListAccessKeysResponse,
  ListUserTagsRequest,
  ListUserTagsResponse,
  ListUsersRequest,
  ListUsersResponse,
  TagUserRequest,
  UntagUserRequest,
  UpdateAccessKeyRequest,
  UpdateUserRequest,
  User,
} from "@aws-sdk/client-iam";
import type { OperationDef, RequestContext } from "../types.ts";
import {
  alreadyExists,
  byName,
  checkTagRequest,
  deleteConflict,
  iamArn,
  limitExceeded,
  mergeTags,
  newId,
  newSecret,
  noSuchEntity,
  paginate,
  paginateIndex,
  pathMatches,
  removeTags,
  requestTagContext,
} from "./common.ts";
import { acct, entityRefs, iamOp, implicitUser } from "./ops.ts";
import { requireAttachable } from "./managed.ts";
import type { SecretSealer } from "./secrets.ts";
import { ACCOUNT_SCOPE, type AccessKeyRec, type IamState, type UserRec } from "./state.ts";

export const MAX_ACCESS_KEYS = 2;

export function userView(u: UserRec, detail: boolean): User {
  const out: User = { Path: u.path, UserName: u.name, UserId: u.id, Arn: u.arn, CreateDate: u.createDate };
  if (detail) {
    if (u.boundary) out.PermissionsBoundary = { PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: u.boundary };
    if (u.tags.length) out.Tags = u.tags;
  }
  return out;
}

/** The account root as GetUser shows it. */
function rootView(ctx: RequestContext): User {
  return { UserId: acct(ctx), Arn: `arn:aws:iam::${acct(ctx)}:root`, CreateDate: new Date(0) } as User;
}

function keyMeta(k: AccessKeyRec, state: IamState): AccessKeyMetadata {
  const u = k.userId ? state.usersById.get(k.userId) : undefined;
  return { ...(u ? { UserName: u.name } : {}), AccessKeyId: k.id, Status: k.status, CreateDate: k.createDate };
}

export function userOperations(state: IamState, sealer: SecretSealer): Record<string, OperationDef> {
  const { userArn: userArnByName, userTags } = entityRefs(state);

  /** The key a request names, checked against the optional UserName (or the caller). */
  const keyFor = (ctx: RequestContext, keyId: string, userName: string | undefined): AccessKeyRec => {
    const who = implicitUser(ctx, state, userName);
    if (who.name !== undefined && !who.user) throw noSuchEntity(`The user with name ${who.name} cannot be found.`);
    const k = state.keys.get(keyId);
    if (!k || k.accountId !== acct(ctx) || k.userId !== who.user?.id) throw noSuchEntity(`The Access Key with id ${keyId} cannot be found.`);
    return k;
  };
  /** Resource of key operations: the user's ARN, or the caller's own ARN. */
  const keyResource = (ctx: RequestContext, userName: string | undefined) => {
    const who = implicitUser(ctx, state, userName);
    return who.name !== undefined ? userArnByName(ctx, who.name) : ctx.principal.arn;
  };

  return {
    CreateUser: iamOp<CreateUserRequest, CreateUserResponse>({
      resource: (ctx, i) => iamArn(acct(ctx), "user", i.Path ?? "/", i.UserName!),
      context: (_ctx, i) => ({ ...requestTagContext(i.Tags), ...(i.PermissionsBoundary ? { "iam:PermissionsBoundary": i.PermissionsBoundary } : {}) }),
      logResponse: true,
      handler(ctx, i) {
        const account = acct(ctx);
        if (state.findUser(account, i.UserName!)) throw alreadyExists(`User with name ${i.UserName} already exists.`);
        checkTagRequest(i.Tags);
        if (i.PermissionsBoundary) requireAttachable(state, account, i.PermissionsBoundary);
        const path = i.Path ?? "/";
        const u: UserRec = {
          id: newId("AIDA"),
          accountId: account,
          name: i.UserName!,
          path,
          arn: iamArn(account, "user", path, i.UserName!),
          createDate: ctx.now,
          tags: mergeTags([], i.Tags ?? [], "User"),
          inline: [],
          attached: [],
          boundary: i.PermissionsBoundary,
        };
        state.addUser(ctx, u);
        return { User: userView(u, true) };
      },
    }),

    GetUser: iamOp<GetUserRequest, GetUserResponse>({
      readOnly: true,
      resource: (ctx, i) => keyResource(ctx, i.UserName),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName ?? (ctx.principal.type === "IAMUser" ? ctx.principal.userName : undefined)),
      handler(ctx, i) {
        const who = implicitUser(ctx, state, i.UserName);
        if (who.name === undefined) return { User: rootView(ctx) };
        if (!who.user) throw noSuchEntity(`The user with name ${who.name} cannot be found.`);
        return { User: userView(who.user, true) };
      },
    }),

    ListUsers: iamOp<ListUsersRequest, ListUsersResponse>({
      readOnly: true,
      resource: (ctx, i) => iamArn(acct(ctx), "user", i.PathPrefix ?? "/", ""),
      handler(ctx, i) {
        const index = state.existingAccount(acct(ctx))?.users.index("byName");
        const page = paginateIndex(index, ACCOUNT_SCOPE, i.Marker, i.MaxItems, i.PathPrefix === undefined ? undefined : (u) => pathMatches(u.path, i.PathPrefix));
        return { Users: page.items.map((u) => userView(u, false)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    UpdateUser: iamOp<UpdateUserRequest, object>({
      resource: (ctx, i) => {
        const current = userArnByName(ctx, i.UserName!);
        if (i.NewUserName === undefined && i.NewPath === undefined) return current;
        const u = state.findUser(acct(ctx), i.UserName!);
        const target = iamArn(acct(ctx), "user", i.NewPath ?? u?.path ?? "/", i.NewUserName ?? u?.name ?? i.UserName!);
        return target === current ? current : [current, target];
      },
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const account = acct(ctx);
        const u = state.user(account, i.UserName!);
        if (i.NewUserName !== undefined) {
          const other = state.findUser(account, i.NewUserName);
          if (other && other !== u) throw alreadyExists(`User with name ${i.NewUserName} already exists.`);
        }
        state.renameUser(ctx, u, i.NewUserName, i.NewPath, (x) => iamArn(account, "user", x.path, x.name));
        return {};
      },
    }),

    DeleteUser: iamOp<DeleteUserRequest, object>({
      resource: (ctx, i) => userArnByName(ctx, i.UserName!),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        if (state.keysOf(u.accountId, u.id).length) throw deleteConflict("Cannot delete entity, must delete access keys first.");
        if (state.mfaDevicesOfUser(u).length) throw deleteConflict("Cannot delete entity, must delete MFA device first.");
        if (u.inline.length) throw deleteConflict("Cannot delete entity, must delete policies first.");
        if (u.attached.length) throw deleteConflict("Cannot delete entity, must detach all policies first.");
        if (state.groupsOf(u).length) throw deleteConflict("Cannot delete entity, must remove user from all groups first.");
        state.deleteUser(ctx, u);
        return {};
      },
    }),

    TagUser: iamOp<TagUserRequest, object>({
      resource: (ctx, i) => userArnByName(ctx, i.UserName!),
      context: (_ctx, i) => requestTagContext(i.Tags),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        u.tags = mergeTags(u.tags, i.Tags ?? [], "User");
        state.saveUser(ctx, u);
        return {};
      },
    }),

    UntagUser: iamOp<UntagUserRequest, object>({
      resource: (ctx, i) => userArnByName(ctx, i.UserName!),
      context: (_ctx, i) => ({ "aws:TagKeys": i.TagKeys ?? [] }),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        u.tags = removeTags(u.tags, i.TagKeys ?? []);
        state.saveUser(ctx, u);
        return {};
      },
    }),

    ListUserTags: iamOp<ListUserTagsRequest, ListUserTagsResponse>({
      readOnly: true,
      resource: (ctx, i) => userArnByName(ctx, i.UserName!),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        const tags = [...u.tags].sort((a, b) => byName(a.Key!, b.Key!));
        const page = paginate(tags, (t) => t.Key!.toLowerCase(), i.Marker, i.MaxItems);
        return { Tags: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    CreateAccessKey: iamOp<CreateAccessKeyRequest, CreateAccessKeyResponse>({
      resource: (ctx, i) => keyResource(ctx, i.UserName),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const account = acct(ctx);
        const who = implicitUser(ctx, state, i.UserName);
        if (who.name !== undefined && !who.user) throw noSuchEntity(`The user with name ${who.name} cannot be found.`);
        if (state.keysOf(account, who.user?.id).length >= MAX_ACCESS_KEYS) {
          throw limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS}`);
        }
        const id = newId("AKIA");
        const secret = newSecret();
        const k: AccessKeyRec = { id, accountId: account, userId: who.user?.id, status: "Active", createDate: ctx.now, secret: sealer.seal(secret, id) };
        state.addKey(ctx, k);
        const key: AccessKey = { ...(who.user ? { UserName: who.user.name } : {}), AccessKeyId: id, Status: "Active", SecretAccessKey: secret, CreateDate: ctx.now } as AccessKey;
        return { AccessKey: key };
      },
      logResponse: true,
    }),

    ListAccessKeys: iamOp<ListAccessKeysRequest, ListAccessKeysResponse>({
      readOnly: true,
      resource: (ctx, i) => keyResource(ctx, i.UserName),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const who = implicitUser(ctx, state, i.UserName);
        if (who.name !== undefined && !who.user) throw noSuchEntity(`The user with name ${who.name} cannot be found.`);
        const keys = state.keysOf(acct(ctx), who.user?.id);
        const page = paginate(keys, (k) => `${k.createDate.toISOString()}|${k.id}`, i.Marker, i.MaxItems);
        return { AccessKeyMetadata: page.items.map((k) => keyMeta(k, state)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    UpdateAccessKey: iamOp<UpdateAccessKeyRequest, object>({
      resource: (ctx, i) => keyResource(ctx, i.UserName),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        const k = keyFor(ctx, i.AccessKeyId!, i.UserName);
        k.status = i.Status as "Active" | "Inactive";
        state.saveKey(ctx, k);
        return {};
      },
    }),

    DeleteAccessKey: iamOp<DeleteAccessKeyRequest, object>({
      resource: (ctx, i) => keyResource(ctx, i.UserName),
      resourceTags: (ctx, i) => userTags(ctx, i.UserName),
      handler(ctx, i) {
        state.deleteKey(ctx, keyFor(ctx, i.AccessKeyId!, i.UserName));
        return {};
      },
    }),

    GetAccessKeyLastUsed: iamOp<GetAccessKeyLastUsedRequest, GetAccessKeyLastUsedResponse>({
      readOnly: true,
      resource: (ctx, i) => {
        const k = state.keys.get(i.AccessKeyId!);
        const u = k && k.accountId === acct(ctx) && k.userId ? state.usersById.get(k.userId) : undefined;
        return u ? u.arn : k && k.accountId === acct(ctx) && !k.userId ? `arn:aws:iam::${acct(ctx)}:root` : "*";
      },
      handler(ctx, i) {
        const k = state.keys.get(i.AccessKeyId!);
        if (!k || k.accountId !== acct(ctx)) throw noSuchEntity(`The Access Key with id ${i.AccessKeyId} cannot be found.`);
        const u = k.userId ? state.usersById.get(k.userId) : undefined;
        return {
          ...(u ? { UserName: u.name } : {}),
          AccessKeyLastUsed: k.lastUsed
            ? { LastUsedDate: k.lastUsed.date, ServiceName: k.lastUsed.service, Region: k.lastUsed.region }
            : { ServiceName: "N/A", Region: "N/A" },
        };
      },
    }),
  };
}
