/** Tags on clusters, task definitions, tasks, services, task sets and capacity providers. */
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  Tag,
  TagResourceRequest,
  TagResourceResponse,
  UntagResourceRequest,
  UntagResourceResponse,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { WriteOp } from "../../store/store.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { found, lookup, valueOf, type Lookup } from "./lookup.ts";
import { removeTags } from "../../kernel/tags.ts";
import type { CapacityProviders } from "./capacity-providers.ts";
import { taskSetByArn } from "./task-sets.ts";
import { ECS_TAG_RULES, mergeTags, parseEcsArn, type EcsState, tagMap, validateTags } from "./state.ts";

interface Taggable {
  tags: Tag[];
  save(tags: Tag[]): WriteOp;
}

/** The caller's resource with this ARN: another account's or Region's ARN names nothing. */
function resolve(state: EcsState, arn: string, region: string, account: string, providers?: CapacityProviders): Taggable {
  const p = parseEcsArn(arn);
  if (!p) throw new ServiceError("InvalidParameterException", "The ARN provided is invalid.", 400);
  switch (p.type) {
    case "cluster": {
      const c = state.cluster(arn, region, account);
      if (!c || c.status !== "ACTIVE") throw new ServiceError("ClusterNotFoundException", "Cluster not found.", 400);
      return { tags: c.tags, save: (tags) => state.putCluster({ ...c, tags }) };
    }
    case "task-definition": {
      const d = state.taskDef(arn, region, account);
      if (!d || d.deleted) throw new ServiceError("ClientException", "The specified task definition does not exist.", 400);
      return { tags: d.tags, save: (tags) => state.putTaskDef({ ...d, tags }) };
    }
    case "task": {
      const t = state.task(arn, region, account);
      if (!t) throw new ServiceError("InvalidParameterException", "The specified task is stopped or does not exist.", 400);
      return {
        tags: t.tags,
        save: (tags) => {
          t.tags = tags;
          return state.putTask(t);
        },
      };
    }
    case "service": {
      const s = state.service(arn, region, account);
      if (!s || s.status === "INACTIVE") throw new ServiceError("ServiceNotFoundException", "Service not found.", 400);
      return {
        tags: s.tags,
        save: (tags) => {
          s.tags = tags;
          return state.putService(s);
        },
      };
    }
    case "capacity-provider": {
      const cp = providers && p.region === region && p.account === account ? providers.get(region, account, p.rest) : undefined;
      if (!cp) throw new ServiceError("InvalidParameterException", "The specified capacity provider does not exist.", 400);
      return { tags: cp.tags, save: (tags) => providers!.put({ ...cp, tags }) };
    }
    case "task-set": {
      const found = taskSetByArn(state, arn, region, account);
      if (!found) throw new ServiceError("InvalidParameterException", "The specified task set does not exist.", 400);
      return {
        tags: found.ts.tags,
        save: (tags) => {
          found.ts.tags = tags;
          return state.putService(found.s);
        },
      };
    }
    default:
      throw new ServiceError("InvalidParameterException", `The resource type ${p.type} cannot be tagged.`, 400);
  }
}

/** The tagged resource (or the error its ARN is answered with, after authorization). */
function resolveTarget(state: EcsState, ctx: RequestContext, arn: string, providers?: CapacityProviders): Lookup<Taggable> {
  return lookup(() => resolve(state, arn, ctx.region, ctx.principal.accountId, providers));
}

function check(action: string, arn: string, target: Lookup<Taggable>, tagKeys?: string[]): AuthCheck[] {
  const tags = valueOf(target)?.tags;
  const resourceTags = tags?.length ? tagMap(tags) : undefined;
  return [{ action, resource: arn, resourceTags, context: tagKeys ? { "aws:TagKeys": tagKeys } : undefined }];
}

function tagResourceOperation(state: EcsState, providers?: CapacityProviders) {
  return defineOperation<TagResourceRequest, TagResourceResponse, Lookup<Taggable>>({
    resolve: (ctx, input) => resolveTarget(state, ctx, input.resourceArn!, providers),
    authorize: (_ctx, input, target) =>
      check(
        "ecs:TagResource",
        input.resourceArn!,
        target,
        (input.tags ?? []).map((t) => t.key ?? ""),
      ),
    handler: function tagResource(ctx, input, target): TagResourceResponse {
      const r = found(target);
      validateTags(input.tags);
      const tags = mergeTags(r.tags, input.tags ?? []);
      validateTags(tags);
      ctx.writes.push(r.save(tags));
      return {};
    },
  });
}

function untagResourceOperation(state: EcsState, providers?: CapacityProviders) {
  return defineOperation<UntagResourceRequest, UntagResourceResponse, Lookup<Taggable>>({
    resolve: (ctx, input) => resolveTarget(state, ctx, input.resourceArn!, providers),
    authorize: (_ctx, input, target) => check("ecs:UntagResource", input.resourceArn!, target, input.tagKeys ?? []),
    handler: function untagResource(ctx, input, target): UntagResourceResponse {
      const r = found(target);
      ctx.writes.push(r.save(removeTags(ECS_TAG_RULES, r.tags, input.tagKeys ?? [])));
      return {};
    },
  });
}

function listTagsForResourceOperation(state: EcsState, providers?: CapacityProviders) {
  return defineOperation<ListTagsForResourceRequest, ListTagsForResourceResponse, Lookup<Taggable>>({
    readOnly: true,
    resolve: (ctx, input) => resolveTarget(state, ctx, input.resourceArn!, providers),
    authorize: (_ctx, input, target) => check("ecs:ListTagsForResource", input.resourceArn!, target),
    handler: function listTagsForResource(_ctx, _input, target): ListTagsForResourceResponse {
      return { tags: found(target).tags };
    },
  });
}

export function tagOperations(state: EcsState, providers?: CapacityProviders) {
  return {
    TagResource: tagResourceOperation(state, providers),
    UntagResource: untagResourceOperation(state, providers),
    ListTagsForResource: listTagsForResourceOperation(state, providers),
  };
}
