/** IAM groups and their members. */
import type {
  AddUserToGroupRequest,
  CreateGroupRequest,
  CreateGroupResponse,
  DeleteGroupRequest,
  GetGroupRequest,
  GetGroupResponse,
  Group,
  ListGroupsForUserRequest,
  ListGroupsForUserResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  RemoveUserFromGroupRequest,
} from "@aws-sdk/client-iam";
import type { OperationDef } from "../types.ts";
import { alreadyExists, byName, deleteConflict, iamArn, limitExceeded, newId, noSuchEntity, paginate, paginateIndex, pathMatches } from "./common.ts";
import { acct, entityRefs, iamOp } from "./ops.ts";
import { ACCOUNT_SCOPE, type GroupRec, type IamState, type UserRec } from "./state.ts";
import { userView } from "./users.ts";

export const MAX_GROUPS_PER_USER = 10;

export function groupView(g: GroupRec): Group {
  return { Path: g.path, GroupName: g.name, GroupId: g.id, Arn: g.arn, CreateDate: g.createDate };
}

export function groupOperations(state: IamState): Record<string, OperationDef> {
  const { groupArn, userArn } = entityRefs(state);

  return {
    CreateGroup: iamOp<CreateGroupRequest, CreateGroupResponse>({
      resource: (ctx, i) => iamArn(acct(ctx), "group", i.Path ?? "/", i.GroupName!),
      logResponse: true,
      handler(ctx, i) {
        const account = acct(ctx);
        if (state.findGroup(account, i.GroupName!)) throw alreadyExists(`Group with name ${i.GroupName} already exists.`);
        const path = i.Path ?? "/";
        const g: GroupRec = {
          id: newId("AGPA"),
          accountId: account,
          name: i.GroupName!,
          path,
          arn: iamArn(account, "group", path, i.GroupName!),
          createDate: ctx.now,
          inline: [],
          attached: [],
          members: [],
        };
        state.addGroup(ctx, g);
        return { Group: groupView(g) };
      },
    }),

    GetGroup: iamOp<GetGroupRequest, GetGroupResponse>({
      readOnly: true,
      resource: (ctx, i) => groupArn(ctx, i.GroupName!),
      handler(ctx, i) {
        const g = state.group(acct(ctx), i.GroupName!);
        const users = g.members.map((id) => state.usersById.get(id)).filter((u): u is UserRec => !!u).sort((a, b) => byName(a.name, b.name));
        const page = paginate(users, (u) => u.name.toLowerCase(), i.Marker, i.MaxItems);
        return { Group: groupView(g), Users: page.items.map((u) => userView(u, false)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    ListGroups: iamOp<ListGroupsRequest, ListGroupsResponse>({
      readOnly: true,
      resource: (ctx, i) => iamArn(acct(ctx), "group", i.PathPrefix ?? "/", ""),
      handler(ctx, i) {
        const index = state.existingAccount(acct(ctx))?.groups.index("byName");
        const page = paginateIndex(index, ACCOUNT_SCOPE, i.Marker, i.MaxItems, i.PathPrefix === undefined ? undefined : (g) => pathMatches(g.path, i.PathPrefix));
        return { Groups: page.items.map(groupView), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    DeleteGroup: iamOp<DeleteGroupRequest, object>({
      resource: (ctx, i) => groupArn(ctx, i.GroupName!),
      handler(ctx, i) {
        const g = state.group(acct(ctx), i.GroupName!);
        if (g.members.some((id) => state.usersById.has(id))) throw deleteConflict("Cannot delete entity, must remove users from group first.");
        if (g.inline.length) throw deleteConflict("Cannot delete entity, must delete policies first.");
        if (g.attached.length) throw deleteConflict("Cannot delete entity, must detach all policies first.");
        state.deleteGroup(ctx, g);
        return {};
      },
    }),

    AddUserToGroup: iamOp<AddUserToGroupRequest, object>({
      resource: (ctx, i) => groupArn(ctx, i.GroupName!),
      handler(ctx, i) {
        const account = acct(ctx);
        const g = state.group(account, i.GroupName!);
        const u = state.user(account, i.UserName!);
        if (g.members.includes(u.id)) return {};
        if (state.groupsOf(u).length >= MAX_GROUPS_PER_USER) throw limitExceeded(`Cannot exceed quota for GroupsPerUser: ${MAX_GROUPS_PER_USER}`);
        g.members.push(u.id);
        state.saveGroup(ctx, g);
        return {};
      },
    }),

    RemoveUserFromGroup: iamOp<RemoveUserFromGroupRequest, object>({
      resource: (ctx, i) => groupArn(ctx, i.GroupName!),
      handler(ctx, i) {
        const account = acct(ctx);
        const g = state.group(account, i.GroupName!);
        const u = state.user(account, i.UserName!);
        const idx = g.members.indexOf(u.id);
        if (idx < 0) throw noSuchEntity(`The user with name ${i.UserName} cannot be found.`);
        g.members.splice(idx, 1);
        state.saveGroup(ctx, g);
        return {};
      },
    }),

    ListGroupsForUser: iamOp<ListGroupsForUserRequest, ListGroupsForUserResponse>({
      readOnly: true,
      resource: (ctx, i) => userArn(ctx, i.UserName!),
      handler(ctx, i) {
        const u = state.user(acct(ctx), i.UserName!);
        const groups = state.groupsOf(u).sort((a, b) => byName(a.name, b.name));
        const page = paginate(groups, (g) => g.name.toLowerCase(), i.Marker, i.MaxItems);
        return { Groups: page.items.map(groupView), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),
  };
}
