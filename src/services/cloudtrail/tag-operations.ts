/** AddTags, RemoveTags and ListTags: a trail's tags, changed in its home Region only. */
import type { AddTagsRequest, ListTagsRequest, ListTagsResponse, RemoveTagsRequest, Tag } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { saveTrail, type CloudTrailDeps } from "./deps.ts";
import { homeTrailOf, resolveTrailTarget, trailCheck, type TrailTarget } from "./target.ts";
import { ctError } from "./trails.ts";
import { checkTags, mergeTags as mergeSharedTags, type TagRules } from "../../kernel/tags.ts";

const MAX_TAGS = 50;

/** CloudTrail's tag dialect on the shared tag rules (src/kernel/tags.ts); a tag may have no value. */
export const CLOUDTRAIL_TAG_RULES: TagRules<Tag> = {
  shape: { key: (t) => t.Key ?? "", value: (t) => t.Value, make: (Key, Value) => (Value === undefined ? { Key } : { Key, Value }) },
  max: MAX_TAGS,
  requestCount: "merged",
  errors: {
    tooMany: () => ctError("TagsLimitExceededException", `The number of tags per trail has exceeded the permitted amount. Currently, the limit is ${MAX_TAGS}.`),
    reserved: () => ctError("InvalidTagParameterException", "Tag keys beginning with aws: are reserved."),
    duplicate: (key) => ctError("InvalidTagParameterException", `Duplicate tag key ${key}.`),
  },
};

export function validateTags(list: Tag[] | undefined): void {
  checkTags(CLOUDTRAIL_TAG_RULES, list);
}

export function mergeTags(existing: Tag[], add: Tag[]): Tag[] {
  return mergeSharedTags(CLOUDTRAIL_TAG_RULES, existing, add);
}

export function addTagsOperation(deps: CloudTrailDeps) {
  return defineOperation<AddTagsRequest, object, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.ResourceId!, true),
    authorize: (_ctx, _i, target) => trailCheck("AddTags", target),
    handler: function addTags(ctx, i, target) {
      const t = homeTrailOf(ctx, target);
      validateTags(i.TagsList);
      t.tags = mergeTags(t.tags, i.TagsList ?? []);
      saveTrail(ctx, deps, t);
      return {};
    },
  });
}

export function removeTagsOperation(deps: CloudTrailDeps) {
  return defineOperation<RemoveTagsRequest, object, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.ResourceId!, true),
    authorize: (_ctx, _i, target) => trailCheck("RemoveTags", target),
    handler: function removeTags(ctx, i, target) {
      const t = homeTrailOf(ctx, target);
      const remove = i.TagsList ?? [];
      // A tag given with a value is removed only when the value matches.
      t.tags = t.tags.filter((tag) => !remove.some((r) => r.Key === tag.Key && (r.Value === undefined || r.Value === tag.Value)));
      saveTrail(ctx, deps, t);
      return {};
    },
  });
}

export function listTagsOperation(deps: CloudTrailDeps) {
  return defineOperation<ListTagsRequest, ListTagsResponse>({
    readOnly: true,
    authorize: () => [{ action: "cloudtrail:ListTags", resource: "*" }],
    handler: function listTags(ctx, i) {
      const tagsOf = (id: string) => {
        const t = deps.trails.lookupTagged(ctx.principal.accountId, ctx.region, id);
        if (t instanceof ServiceError) throw t;
        return t.tags;
      };
      return { ResourceTagList: (i.ResourceIdList ?? []).map((id) => ({ ResourceId: id, TagsList: tagsOf(id) })) };
    },
  });
}
