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
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck, type OperationTable } from "../../kernel/operation.ts";
import { alreadyExists, byName, deleteConflict, iamArn, limitExceeded, newId, noSuchEntity, paginate, paginateIndex, pathMatches } from "./common.ts";
import { authorizeOnGroup, entityRef, existing, iamChecks, iamResolvers, loggedResponse, type EntityRef, type IamEnv } from "./ops.ts";
import { ACCOUNT_SCOPE, type GroupRec, type UserRec } from "./state.ts";
import { userView } from "./users.ts";

export const MAX_GROUPS_PER_USER = 10;

export function groupView(g: GroupRec): Group {
  return { Path: g.path, GroupName: g.name, GroupId: g.id, Arn: g.arn, CreateDate: g.createDate };
}

type GroupOperation = "CreateGroup" | "GetGroup" | "ListGroups" | "DeleteGroup" | "AddUserToGroup" | "RemoveUserFromGroup" | "ListGroupsForUser";

/** A group and a user a membership call names. */
interface MembershipRef {
  group: EntityRef<GroupRec>;
  user: EntityRef<UserRec>;
}

export function groupOperations(env: IamEnv): OperationTable<GroupOperation> {
  const { state } = env;
  const resolve = iamResolvers(env);
  const resolveMembership = function resolveGroupAndUser(ctx: RequestContext, i: { GroupName?: string; UserName?: string }): MembershipRef {
    const group = resolve.group(ctx, i);
    return { group, user: entityRef(group.account, "user", i.UserName!, state.findUser(group.account, i.UserName!)) };
  };

  return {
    CreateGroup: defineOperation<CreateGroupRequest, CreateGroupResponse, string>({
      resolve: resolve.account,
      authorize: function authorizeCreateGroup(ctx, i, account) {
        return iamChecks(ctx, iamArn(account, "group", i.Path ?? "/", i.GroupName!));
      },
      handler: function createGroup(ctx, i, account) {
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
      audit: { responseElements: loggedResponse },
    }),

    GetGroup: defineOperation<GetGroupRequest, GetGroupResponse, EntityRef<GroupRec>>({
      readOnly: true,
      resolve: resolve.group,
      authorize: authorizeOnGroup,
      handler: function getGroup(_ctx, i, ref) {
        const g = existing(ref);
        const users = g.members
          .map((id) => state.usersById.get(id))
          .filter((u): u is UserRec => !!u)
          .sort((a, b) => byName(a.name, b.name));
        const page = paginate(users, (u) => u.name.toLowerCase(), i.Marker, i.MaxItems);
        return { Group: groupView(g), Users: page.items.map((u) => userView(u, false)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    ListGroups: defineOperation<ListGroupsRequest, ListGroupsResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: function authorizeListGroups(ctx, i, account) {
        return iamChecks(ctx, iamArn(account, "group", i.PathPrefix ?? "/", ""));
      },
      handler: function listGroups(_ctx, i, account) {
        const index = state.existingAccount(account)?.groups.index("byName");
        const page = paginateIndex(index, ACCOUNT_SCOPE, i.Marker, i.MaxItems, i.PathPrefix === undefined ? undefined : (g) => pathMatches(g.path, i.PathPrefix));
        return { Groups: page.items.map(groupView), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    DeleteGroup: defineOperation<DeleteGroupRequest, object, EntityRef<GroupRec>>({
      resolve: resolve.group,
      authorize: authorizeOnGroup,
      handler: function deleteGroup(ctx, _i, ref) {
        const g = existing(ref);
        if (g.members.some((id) => state.usersById.has(id))) throw deleteConflict("Cannot delete entity, must remove users from group first.");
        if (g.inline.length) throw deleteConflict("Cannot delete entity, must delete policies first.");
        if (g.attached.length) throw deleteConflict("Cannot delete entity, must detach all policies first.");
        state.deleteGroup(ctx, g);
        return {};
      },
    }),

    AddUserToGroup: defineOperation<AddUserToGroupRequest, object, MembershipRef>({
      resolve: resolveMembership,
      authorize: authorizeOnMembershipGroup,
      handler: function addUserToGroup(ctx, _i, ref) {
        const g = existing(ref.group);
        const u = existing(ref.user);
        if (g.members.includes(u.id)) return {};
        if (state.groupsOf(u).length >= MAX_GROUPS_PER_USER) throw limitExceeded(`Cannot exceed quota for GroupsPerUser: ${MAX_GROUPS_PER_USER}`);
        g.members.push(u.id);
        state.saveGroup(ctx, g);
        return {};
      },
    }),

    RemoveUserFromGroup: defineOperation<RemoveUserFromGroupRequest, object, MembershipRef>({
      resolve: resolveMembership,
      authorize: authorizeOnMembershipGroup,
      handler: function removeUserFromGroup(ctx, i, ref) {
        const g = existing(ref.group);
        const u = existing(ref.user);
        const idx = g.members.indexOf(u.id);
        if (idx < 0) throw noSuchEntity(`The user with name ${i.UserName} cannot be found.`);
        g.members.splice(idx, 1);
        state.saveGroup(ctx, g);
        return {};
      },
    }),

    ListGroupsForUser: defineOperation<ListGroupsForUserRequest, ListGroupsForUserResponse, EntityRef<UserRec>>({
      readOnly: true,
      resolve: resolve.user,
      // on the user, without its tags
      authorize: function authorizeListGroupsForUser(ctx, _i, ref) {
        return iamChecks(ctx, ref.arn);
      },
      handler: function listGroupsForUser(_ctx, i, ref) {
        const groups = state.groupsOf(existing(ref)).sort((a, b) => byName(a.name, b.name));
        const page = paginate(groups, (g) => g.name.toLowerCase(), i.Marker, i.MaxItems);
        return { Groups: page.items.map(groupView), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),
  };
}

/** Membership calls are authorized on the group. */
function authorizeOnMembershipGroup(ctx: RequestContext, _i: object, ref: MembershipRef): AuthCheck[] {
  return iamChecks(ctx, ref.group.arn);
}
