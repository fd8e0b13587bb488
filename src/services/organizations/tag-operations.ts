/**
 * Tags on accounts, OUs, roots and customer managed policies (TagResource, UntagResource,
 * ListTagsForResource): at most 50 per resource, `aws:` keys reserved
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_tagging.html).
 */
import type * as O from "@aws-sdk/client-organizations";
import { checkTagKeys, checkTags, mergeTags, removeTags, requestTagContext, type TagRules } from "../../kernel/tags.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import type { OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import { delegableOrg, orgCheck, page, readableOrg, type OrgDeps } from "./common.ts";
import { constraint, invalidInput, targetNotFound } from "./errors.ts";
import { accountArn, ouArn, resourcePolicyArn, type OrgRec } from "./model.ts";

export const ORG_TAG_RULES: TagRules<O.Tag> = {
  shape: { key: (t) => t.Key ?? "", value: (t) => t.Value, make: (Key, Value) => ({ Key, Value: Value ?? "" }) },
  max: 50,
  requestCount: "merged",
  errors: {
    tooMany: () => constraint("TAG_POLICY_VIOLATION", "You have exceeded the number of tags allowed on this resource."),
    reserved: (key) => invalidInput("INVALID_SYSTEM_TAGS_PARAMETER", `The tag key ${key} is reserved: tag keys can't begin with aws:.`),
    duplicate: (key) => invalidInput("DUPLICATE_TAG_KEY", `Duplicate tag key ${key}.`),
  },
};

export function checkOrgTags(tags: O.Tag[] | undefined): void {
  checkTags(ORG_TAG_RULES, tags);
  if (tags && tags.length > ORG_TAG_RULES.max) throw ORG_TAG_RULES.errors.tooMany();
}

export const tagsOf = (org: OrgRec, id: string): O.Tag[] => org.tags.find(([r]) => r === id)?.[1] ?? [];

export function setTags(org: OrgRec, id: string, tags: O.Tag[]): void {
  const merged = mergeTags(ORG_TAG_RULES, tagsOf(org, id), tags);
  org.tags = org.tags.filter(([r]) => r !== id);
  if (merged.length) org.tags.push([id, merged]);
}

/** The ARN of a taggable resource of the organization (AWS managed policies are not). */
function taggableArn(org: OrgRec, id: string): string | undefined {
  if (id === org.root.id) return org.root.arn;
  if (org.ous.some((o) => o.id === id)) return ouArn(org, id);
  if (org.accounts.some((a) => a.id === id)) return accountArn(org, id);
  if (org.resourcePolicy?.id === id) return resourcePolicyArn(org, id);
  return org.policies.find((x) => x.id === id)?.arn;
}

function taggable(org: OrgRec, id: string): void {
  if (taggableArn(org, id) === undefined) throw targetNotFound();
}

type TagOperation = "TagResource" | "UntagResource" | "ListTagsForResource";

export function tagOperations({ state }: OrgDeps): OperationTable<Extract<OrganizationsOperation, TagOperation>> {
  return {
    TagResource: defineOperation<O.TagResourceRequest, object, OrgRec>({
      resolve: (ctx) => delegableOrg(ctx, state),
      authorize: (_ctx, i, org) => orgCheck("TagResource", taggableArn(org, i.ResourceId!) ?? "*", requestTagContext(ORG_TAG_RULES, i.Tags)),
      handler: function tagResource(ctx, i, org) {
        taggable(org, i.ResourceId!);
        checkOrgTags(i.Tags);
        setTags(org, i.ResourceId!, i.Tags ?? []);
        state.save(ctx, org);
        return {};
      },
    }),

    UntagResource: defineOperation<O.UntagResourceRequest, object, OrgRec>({
      resolve: (ctx) => delegableOrg(ctx, state),
      authorize: (_ctx, i, org) => orgCheck("UntagResource", taggableArn(org, i.ResourceId!) ?? "*", { "aws:TagKeys": i.TagKeys }),
      handler: function untagResource(ctx, i, org) {
        taggable(org, i.ResourceId!);
        checkTagKeys(ORG_TAG_RULES, i.TagKeys);
        const left = removeTags(ORG_TAG_RULES, tagsOf(org, i.ResourceId!), i.TagKeys ?? []);
        org.tags = org.tags.filter(([r]) => r !== i.ResourceId);
        if (left.length) org.tags.push([i.ResourceId!, left]);
        state.save(ctx, org);
        return {};
      },
    }),

    ListTagsForResource: defineOperation<O.ListTagsForResourceRequest, O.ListTagsForResourceResponse, OrgRec>({
      readOnly: true,
      resolve: (ctx) => readableOrg(ctx, state),
      authorize: (_ctx, i, org) => orgCheck("ListTagsForResource", taggableArn(org, i.ResourceId!) ?? "*"),
      handler: function listTagsForResource(_ctx, i, org) {
        taggable(org, i.ResourceId!);
        const p = page(tagsOf(org, i.ResourceId!), (t) => t.Key!, i.NextToken, undefined);
        return { Tags: p.items, NextToken: p.NextToken };
      },
    }),
  };
}
