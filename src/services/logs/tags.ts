/** CloudWatch Logs' tag dialect on the shared tag rules (src/kernel/tags.ts): tags are a map. */
import { checkTagKeys, checkTags, mergeTags, removeTags, requestTagContext, type TagRules } from "../../kernel/tags.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { invalidParameter } from "./errors.ts";

interface Tag {
  key: string;
  value: string;
}

const MAX_TAGS = 50;

export function logsTagRules(resourceName: string): TagRules<Tag> {
  return {
    shape: { key: (t) => t.key, value: (t) => t.value, make: (key, value) => ({ key, value: value ?? "" }) },
    max: MAX_TAGS,
    requestCount: "merged",
    errors: {
      tooMany: () => new ServiceError("TooManyTagsException", `A resource can have no more than ${MAX_TAGS} tags.`, 400, { extra: { resourceName } }),
      reserved: () => invalidParameter("Tag keys beginning with aws: are reserved."),
    },
  };
}

const toList = (m: Record<string, string> | undefined): Tag[] => Object.entries(m ?? {}).map(([key, value]) => ({ key, value }));
const toMap = (l: Tag[]): Record<string, string> => Object.fromEntries(l.map((t) => [t.key, t.value]));

/** The group's tags with `add` merged in, by Logs' rules (checked before anything changes). */
export function mergedTags(arn: string, existing: Record<string, string>, add: Record<string, string> | undefined): Record<string, string> {
  const rules = logsTagRules(arn);
  checkTags(rules, toList(add));
  return toMap(mergeTags(rules, toList(existing), toList(add)));
}

export function withoutTags(arn: string, existing: Record<string, string>, keys: string[]): Record<string, string> {
  const rules = logsTagRules(arn);
  checkTagKeys(rules, keys);
  return toMap(removeTags(rules, toList(existing), keys));
}

/** aws:RequestTag/… and aws:TagKeys for a request carrying tags. */
export function tagContext(tags: Record<string, string> | undefined): Record<string, string | string[]> {
  return requestTagContext(logsTagRules(""), toList(tags));
}
