/** Tags on clusters, task definitions, tasks and services. */
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
import type { AuthCheck, OperationDef, RequestContext } from "../types.ts";
import { removeTags } from "../../kernel/tags.ts";
import { ECS_TAG_RULES, mergeTags, parseEcsArn, type EcsState, tagMap, validateTags } from "./state.ts";

interface Taggable {
  tags: Tag[];
  save(tags: Tag[]): WriteOp;
}

/** The caller's resource with this ARN: another account's or Region's ARN names nothing. */
function resolve(state: EcsState, arn: string, region: string, account: string): Taggable {
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
    default:
      throw new ServiceError("InvalidParameterException", `The resource type ${p.type} cannot be tagged.`, 400);
  }
}

function check(state: EcsState, ctx: RequestContext, action: string, arn: string, tagKeys?: string[]): AuthCheck {
  let resourceTags: Record<string, string> | undefined;
  try {
    const r = resolve(state, arn, ctx.region, ctx.principal.accountId);
    resourceTags = r.tags.length ? tagMap(r.tags) : undefined;
  } catch {
    resourceTags = undefined;
  }
  return { action, resource: arn, resourceTags, context: tagKeys ? { "aws:TagKeys": tagKeys } : undefined };
}

export function tagOperations(state: EcsState): Record<string, OperationDef> {
  return {
    TagResource: {
      authorize: (ctx, input: TagResourceRequest) => check(state, ctx, "ecs:TagResource", input.resourceArn!, (input.tags ?? []).map((t) => t.key ?? "")),
      handler: (ctx, input: TagResourceRequest): TagResourceResponse => {
        const r = resolve(state, input.resourceArn!, ctx.region, ctx.principal.accountId);
        validateTags(input.tags);
        const tags = mergeTags(r.tags, input.tags ?? []);
        validateTags(tags);
        ctx.writes.push(r.save(tags));
        return {};
      },
    },
    UntagResource: {
      authorize: (ctx, input: UntagResourceRequest) => check(state, ctx, "ecs:UntagResource", input.resourceArn!, input.tagKeys ?? []),
      handler: (ctx, input: UntagResourceRequest): UntagResourceResponse => {
        const r = resolve(state, input.resourceArn!, ctx.region, ctx.principal.accountId);
        ctx.writes.push(r.save(removeTags(ECS_TAG_RULES, r.tags, input.tagKeys ?? [])));
        return {};
      },
    },
    ListTagsForResource: {
      readOnly: true,
      authorize: (ctx, input: ListTagsForResourceRequest) => check(state, ctx, "ecs:ListTagsForResource", input.resourceArn!),
      handler: (ctx, input: ListTagsForResourceRequest): ListTagsForResourceResponse => ({ tags: resolve(state, input.resourceArn!, ctx.region, ctx.principal.accountId).tags }),
    },
  };
}
