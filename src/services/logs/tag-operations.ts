/**
 * TagResource, UntagResource, ListTagsForResource on log group ARNs, and the older TagLogGroup,
 * UntagLogGroup, ListTagsLogGroup on names (AWS keeps both; the API reference marks the latter
 * deprecated).
 */
import type {
  ListTagsForResourceRequest,
  ListTagsForResourceResponse,
  ListTagsLogGroupRequest,
  ListTagsLogGroupResponse,
  TagLogGroupRequest,
  TagResourceRequest,
  UntagLogGroupRequest,
  UntagResourceRequest,
} from "@aws-sdk/client-cloudwatch-logs";
import { defineOperation } from "../../kernel/operation.ts";
import { arnTarget, groupCheck, groupTarget, requireGroup, saveGroup, type GroupTarget, type LogsDeps } from "./deps.ts";
import { mergedTags, tagContext, withoutTags } from "./tags.ts";

function tagOperation<I extends object>(
  deps: LogsDeps,
  action: string,
  target: (ctx: Parameters<typeof groupTarget>[0], i: I) => GroupTarget,
  tags: (i: I) => Record<string, string>,
) {
  return defineOperation<I, object, GroupTarget>({
    readOnly: false,
    resolve: target,
    authorize: (_ctx, i, t) => groupCheck(action, t, { context: tagContext(tags(i)) }),
    handler: function tagLogGroup(ctx, i, t) {
      const g = requireGroup(t);
      g.record.tags = mergedTags(t.arn, g.record.tags, tags(i));
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}

function untagOperation<I extends object>(deps: LogsDeps, action: string, target: (ctx: Parameters<typeof groupTarget>[0], i: I) => GroupTarget, keys: (i: I) => string[]) {
  return defineOperation<I, object, GroupTarget>({
    readOnly: false,
    resolve: target,
    authorize: (_ctx, i, t) => groupCheck(action, t, { context: { "aws:TagKeys": keys(i) } }),
    handler: function untagLogGroup(ctx, i, t) {
      const g = requireGroup(t);
      g.record.tags = withoutTags(t.arn, g.record.tags, keys(i));
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}

function listOperation<I extends object, O>(
  deps: LogsDeps,
  action: string,
  target: (ctx: Parameters<typeof groupTarget>[0], i: I) => GroupTarget,
  out: (tags: Record<string, string>) => O,
) {
  return defineOperation<I, O, GroupTarget>({
    readOnly: true,
    resolve: target,
    authorize: (_ctx, _i, t) => groupCheck(action, t),
    handler: function listTagsOfLogGroup(_ctx, _i, t) {
      return out({ ...requireGroup(t).record.tags });
    },
  });
}

export function tagOperations(deps: LogsDeps) {
  const byArn = (ctx: Parameters<typeof groupTarget>[0], i: { resourceArn?: string }) => arnTarget(ctx, deps, i.resourceArn!);
  const byName = (ctx: Parameters<typeof groupTarget>[0], i: { logGroupName?: string }) => groupTarget(ctx, deps, i.logGroupName!);
  return {
    TagResource: tagOperation<TagResourceRequest>(deps, "TagResource", byArn, (i) => i.tags ?? {}),
    UntagResource: untagOperation<UntagResourceRequest>(deps, "UntagResource", byArn, (i) => i.tagKeys ?? []),
    ListTagsForResource: listOperation<ListTagsForResourceRequest, ListTagsForResourceResponse>(deps, "ListTagsForResource", byArn, (tags) => ({ tags })),
    TagLogGroup: tagOperation<TagLogGroupRequest>(deps, "TagLogGroup", byName, (i) => i.tags ?? {}),
    UntagLogGroup: untagOperation<UntagLogGroupRequest>(deps, "UntagLogGroup", byName, (i) => i.tags ?? []),
    ListTagsLogGroup: listOperation<ListTagsLogGroupRequest, ListTagsLogGroupResponse>(deps, "ListTagsLogGroup", byName, (tags) => ({ tags })),
  };
}
