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
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck, type OperationTable } from "../../kernel/operation.ts";
import {
  alreadyExists,
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
  settableStatus,
  tagsPage,
} from "./common.ts";
import {
  authorizeOnImplicitUser,
  authorizeOnUser,
  beginIamCall,
  existing,
  iamChecks,
  iamResolvers,
  implicitUserRequired,
  loggedResponse,
  type EntityRef,
  type IamEnv,
  type ImplicitUser,
} from "./ops.ts";
import { accountRecords } from "./account-records.ts";
import { credentialRecords } from "./credential-records.ts";
import { requireAttachable } from "./managed.ts";
import { ACCOUNT_SCOPE, type AccessKeyRec, type IamState, type UserRec } from "./state.ts";
import { keysLastUsed } from "./key-last-used.ts";

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
function rootView(accountId: string): User {
  return { UserId: accountId, Arn: `arn:aws:iam::${accountId}:root`, CreateDate: new Date(0) } as User;
}

function keyMeta(k: AccessKeyRec, state: IamState): AccessKeyMetadata {
  const u = k.userId ? state.usersById.get(k.userId) : undefined;
  return { ...(u ? { UserName: u.name } : {}), AccessKeyId: k.id, Status: k.status, CreateDate: k.createDate };
}

type UserOperation =
  | "CreateUser"
  | "GetUser"
  | "ListUsers"
  | "UpdateUser"
  | "DeleteUser"
  | "TagUser"
  | "UntagUser"
  | "ListUserTags"
  | "CreateAccessKey"
  | "ListAccessKeys"
  | "UpdateAccessKey"
  | "DeleteAccessKey"
  | "GetAccessKeyLastUsed";

/** The key a request names, checked against the optional UserName (or the caller). */
function keyOf(state: IamState, who: ImplicitUser, keyId: string): AccessKeyRec {
  const user = implicitUserRequired(who);
  const k = state.keys.get(keyId);
  if (!k || k.accountId !== who.account || k.userId !== user?.id) throw noSuchEntity(`The Access Key with id ${keyId} cannot be found.`);
  return k;
}

/** An access key looked up by id in the caller's account, and the user it belongs to. */
interface KeyRef {
  account: string;
  key?: AccessKeyRec;
  user?: UserRec;
}

/**
 * Access key calls: on the named user, or on the caller (itself, or root) when no UserName is
 * given; the user's tags are in the request context only when the request names the user.
 */
function authorizeOnKeyOwner(ctx: RequestContext, i: { UserName?: string }, who: ImplicitUser): AuthCheck[] {
  return iamChecks(ctx, who.arn, { tags: i.UserName !== undefined ? who.user?.tags : undefined });
}

export function userOperations(env: IamEnv): OperationTable<UserOperation> {
  const { state, sealer } = env;
  const resolve = iamResolvers(env);

  return {
    CreateUser: defineOperation<CreateUserRequest, CreateUserResponse, string>({
      resolve: resolve.account,
      authorize: function authorizeCreateUser(ctx, i, account) {
        const context = { ...requestTagContext(i.Tags), ...(i.PermissionsBoundary ? { "iam:PermissionsBoundary": i.PermissionsBoundary } : {}) };
        return iamChecks(ctx, iamArn(account, "user", i.Path ?? "/", i.UserName!), { context });
      },
      handler: function createUser(ctx, i, account) {
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
      audit: { responseElements: loggedResponse },
    }),

    GetUser: defineOperation<GetUserRequest, GetUserResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function getUser(_ctx, _i, who) {
        if (who.name === undefined) return { User: rootView(who.account) };
        return { User: userView(implicitUserRequired(who)!, true) };
      },
    }),

    ListUsers: defineOperation<ListUsersRequest, ListUsersResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: function authorizeListUsers(ctx, i, account) {
        return iamChecks(ctx, iamArn(account, "user", i.PathPrefix ?? "/", ""));
      },
      handler: function listUsers(_ctx, i, account) {
        const index = state.existingAccount(account)?.users.index("byName");
        const page = paginateIndex(index, ACCOUNT_SCOPE, i.Marker, i.MaxItems, i.PathPrefix === undefined ? undefined : (u) => pathMatches(u.path, i.PathPrefix));
        return { Users: page.items.map((u) => userView(u, false)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    UpdateUser: defineOperation<UpdateUserRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      // renaming or moving is authorized on the user's new ARN as well as on its current one
      authorize: function authorizeUpdateUser(ctx, i, ref) {
        const u = ref.found;
        const target = iamArn(ref.account, "user", i.NewPath ?? u?.path ?? "/", i.NewUserName ?? u?.name ?? ref.name);
        const unchanged = (i.NewUserName === undefined && i.NewPath === undefined) || target === ref.arn;
        return iamChecks(ctx, unchanged ? ref.arn : [ref.arn, target], { tags: u?.tags });
      },
      handler: function updateUser(ctx, i, ref) {
        const u = existing(ref);
        if (i.NewUserName !== undefined) {
          const other = state.findUser(ref.account, i.NewUserName);
          if (other && other !== u) throw alreadyExists(`User with name ${i.NewUserName} already exists.`);
        }
        state.renameUser(ctx, u, i.NewUserName, i.NewPath, (x) => iamArn(ref.account, "user", x.path, x.name));
        return {};
      },
    }),

    DeleteUser: defineOperation<DeleteUserRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function deleteUser(ctx, _i, ref) {
        const u = existing(ref);
        if (state.keysOf(u.accountId, u.id).length) throw deleteConflict("Cannot delete entity, must delete access keys first.");
        if (accountRecords(state).loginProfile(u.id)) throw deleteConflict("Cannot delete entity, must delete login profile first.");
        if (state.mfaDevicesOfUser(u).length) throw deleteConflict("Cannot delete entity, must delete MFA device first.");
        const credentials = credentialRecords(state);
        if (credentials.signingCertsOf(u.accountId, u.id).length) throw deleteConflict("Cannot delete entity, must delete signing certificates first.");
        if (credentials.sshKeysOf(u.accountId, u.id).length) throw deleteConflict("Cannot delete entity, must delete SSH public keys first.");
        if (credentials.serviceCredentialsOf(u.accountId, u.id).length) throw deleteConflict("Cannot delete entity, must delete service specific credentials first.");
        if (u.inline.length) throw deleteConflict("Cannot delete entity, must delete policies first.");
        if (u.attached.length) throw deleteConflict("Cannot delete entity, must detach all policies first.");
        if (state.groupsOf(u).length) throw deleteConflict("Cannot delete entity, must remove user from all groups first.");
        state.deleteUser(ctx, u);
        return {};
      },
    }),

    TagUser: defineOperation<TagUserRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: function authorizeTagUser(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: requestTagContext(i.Tags), tags: ref.found?.tags });
      },
      handler: function tagUser(ctx, i, ref) {
        const u = existing(ref);
        u.tags = mergeTags(u.tags, i.Tags ?? [], "User");
        state.saveUser(ctx, u);
        return {};
      },
    }),

    UntagUser: defineOperation<UntagUserRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: function authorizeUntagUser(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: { "aws:TagKeys": i.TagKeys ?? [] }, tags: ref.found?.tags });
      },
      handler: function untagUser(ctx, i, ref) {
        const u = existing(ref);
        u.tags = removeTags(u.tags, i.TagKeys ?? []);
        state.saveUser(ctx, u);
        return {};
      },
    }),

    ListUserTags: defineOperation<ListUserTagsRequest, ListUserTagsResponse, EntityRef<UserRec>>({
      readOnly: true,
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function listUserTags(_ctx, i, ref) {
        return tagsPage(existing(ref).tags, i.Marker, i.MaxItems);
      },
    }),

    CreateAccessKey: defineOperation<CreateAccessKeyRequest, CreateAccessKeyResponse, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnKeyOwner,
      handler: function createAccessKey(ctx, _i, who) {
        const user = implicitUserRequired(who);
        if (state.keysOf(who.account, user?.id).length >= MAX_ACCESS_KEYS) {
          throw limitExceeded(`Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS}`);
        }
        const id = newId("AKIA");
        const secret = newSecret();
        const k: AccessKeyRec = { id, accountId: who.account, userId: user?.id, status: "Active", createDate: ctx.now, secret: sealer.seal(secret, id) };
        state.addKey(ctx, k);
        const key: AccessKey = { ...(user ? { UserName: user.name } : {}), AccessKeyId: id, Status: "Active", SecretAccessKey: secret, CreateDate: ctx.now } as AccessKey;
        return { AccessKey: key };
      },
      audit: { responseElements: loggedResponse },
    }),

    ListAccessKeys: defineOperation<ListAccessKeysRequest, ListAccessKeysResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnKeyOwner,
      handler: function listAccessKeys(_ctx, i, who) {
        const user = implicitUserRequired(who);
        const keys = state.keysOf(who.account, user?.id);
        const page = paginate(keys, (k) => `${k.createDate.toISOString()}|${k.id}`, i.Marker, i.MaxItems);
        return { AccessKeyMetadata: page.items.map((k) => keyMeta(k, state)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    UpdateAccessKey: defineOperation<UpdateAccessKeyRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnKeyOwner,
      handler: function updateAccessKey(ctx, i, who) {
        const k = keyOf(state, who, i.AccessKeyId!);
        // the newer model's statusType has Expired, which only the service sets
        k.status = settableStatus(i.Status);
        state.saveKey(ctx, k);
        return {};
      },
    }),

    DeleteAccessKey: defineOperation<DeleteAccessKeyRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnKeyOwner,
      handler: function deleteAccessKey(ctx, i, who) {
        state.deleteKey(ctx, keyOf(state, who, i.AccessKeyId!));
        return {};
      },
    }),

    GetAccessKeyLastUsed: defineOperation<GetAccessKeyLastUsedRequest, GetAccessKeyLastUsedResponse, KeyRef>({
      readOnly: true,
      resolve: function resolveAccessKeyById(ctx, i) {
        const account = beginIamCall(env, ctx);
        const k = state.keys.get(i.AccessKeyId!);
        if (!k || k.accountId !== account) return { account };
        const user = k.userId ? state.usersById.get(k.userId) : undefined;
        return { account, key: k, ...(user ? { user } : {}) };
      },
      // on the key's user, the account root for the root user's keys, "*" for keys it cannot see
      authorize: function authorizeGetAccessKeyLastUsed(ctx, _i, { account, key, user }) {
        return iamChecks(ctx, user ? user.arn : key && !key.userId ? `arn:aws:iam::${account}:root` : "*");
      },
      handler: async function getAccessKeyLastUsed(_ctx, i, { key, user }) {
        if (!key) throw noSuchEntity(`The Access Key with id ${i.AccessKeyId} cannot be found.`);
        const last = (await keysLastUsed(env, [key])).get(key.id);
        return {
          ...(user ? { UserName: user.name } : {}),
          AccessKeyLastUsed: last ? { LastUsedDate: last.date, ServiceName: last.service, Region: last.region } : { ServiceName: "N/A", Region: "N/A" },
        };
      },
    }),
  };
}
