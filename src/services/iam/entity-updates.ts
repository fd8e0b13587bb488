/** UpdateGroup, UpdateRoleDescription and the tags of customer managed policies. */
import type {
  ListPolicyTagsRequest,
  ListPolicyTagsResponse,
  TagPolicyRequest,
  UntagPolicyRequest,
  UpdateGroupRequest,
  UpdateRoleDescriptionRequest,
  UpdateRoleDescriptionResponse,
} from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { alreadyExists, iamArn, mergeTags, noSuchEntity, removeTags, requestTagContext, tagsPage } from "./common.ts";
import { authorizeOnPolicy, authorizeOnRole, existing, iamChecks, iamResolvers, type EntityRef, type IamEnv, type PolicyRef } from "./ops.ts";
import { roleView } from "./roles.ts";
import type { GroupRec, PolicyRec, RoleRec } from "./state.ts";

type EntityUpdateOperation = "UpdateGroup" | "UpdateRoleDescription" | "TagPolicy" | "UntagPolicy" | "ListPolicyTags";

/** The customer managed policy a tagging call names; AWS managed policies cannot be tagged. */
function taggablePolicy(ref: PolicyRef): PolicyRec {
  if (!ref.found || ref.found.kind !== "customer") throw noSuchEntity(`Policy ${ref.arn} was not found.`);
  return ref.found.rec;
}

export function entityUpdateOperations(env: IamEnv): OperationTable<EntityUpdateOperation> {
  const { state } = env;
  const resolve = iamResolvers(env);

  return {
    UpdateGroup: defineOperation<UpdateGroupRequest, object, EntityRef<GroupRec>>({
      resolve: resolve.group,
      // renaming or moving is authorized on the group's new ARN as well as on its current one
      authorize: function authorizeUpdateGroup(ctx, i, ref) {
        const g = ref.found;
        const target = iamArn(ref.account, "group", i.NewPath ?? g?.path ?? "/", i.NewGroupName ?? g?.name ?? ref.name);
        return iamChecks(ctx, target === ref.arn ? ref.arn : [ref.arn, target]);
      },
      handler: function updateGroup(ctx, i, ref) {
        const g = existing(ref);
        if (i.NewGroupName !== undefined) {
          const other = state.findGroup(ref.account, i.NewGroupName);
          if (other && other !== g) throw alreadyExists(`Group with name ${i.NewGroupName} already exists.`);
        }
        const groups = state.account(ref.account).groups;
        groups.delete(g.name.toLowerCase());
        if (i.NewGroupName !== undefined) g.name = i.NewGroupName;
        if (i.NewPath !== undefined) g.path = i.NewPath;
        g.arn = iamArn(ref.account, "group", g.path, g.name);
        groups.set(g.name.toLowerCase(), g);
        state.saveGroup(ctx, g);
        return {};
      },
    }),

    UpdateRoleDescription: defineOperation<UpdateRoleDescriptionRequest, UpdateRoleDescriptionResponse, EntityRef<RoleRec>>({
      resolve: resolve.role,
      authorize: authorizeOnRole,
      handler: function updateRoleDescription(ctx, i, ref) {
        const r = existing(ref);
        r.description = i.Description!;
        state.saveRole(ctx, r);
        return { Role: roleView(r, "get") };
      },
    }),

    TagPolicy: defineOperation<TagPolicyRequest, object, PolicyRef>({
      resolve: resolve.policy,
      authorize: function authorizeTagPolicy(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: requestTagContext(i.Tags), tags: ref.found?.kind === "customer" ? ref.found.rec.tags : undefined });
      },
      handler: function tagPolicy(ctx, i, ref) {
        const p = taggablePolicy(ref);
        p.tags = mergeTags(p.tags, i.Tags ?? [], "Policy");
        state.savePolicy(ctx, p);
        return {};
      },
    }),

    UntagPolicy: defineOperation<UntagPolicyRequest, object, PolicyRef>({
      resolve: resolve.policy,
      authorize: function authorizeUntagPolicy(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: { "aws:TagKeys": i.TagKeys ?? [] }, tags: ref.found?.kind === "customer" ? ref.found.rec.tags : undefined });
      },
      handler: function untagPolicy(ctx, i, ref) {
        const p = taggablePolicy(ref);
        p.tags = removeTags(p.tags, i.TagKeys ?? []);
        state.savePolicy(ctx, p);
        return {};
      },
    }),

    ListPolicyTags: defineOperation<ListPolicyTagsRequest, ListPolicyTagsResponse, PolicyRef>({
      readOnly: true,
      resolve: resolve.policy,
      authorize: authorizeOnPolicy,
      handler: function listPolicyTags(_ctx, i, ref) {
        return tagsPage(taggablePolicy(ref).tags, i.Marker, i.MaxItems);
      },
    }),
  };
}
