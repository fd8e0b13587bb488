/**
 * Object tags as S3 checks them, from PutObjectTagging's body or PutObject's `x-amz-tagging`
 * header: at most 10 tags per object, keys of 1 to 128 characters, values of at most 256, no
 * duplicate keys, no `aws:` keys (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html).
 */
import { ServiceError } from "../../kernel/errors.ts";
import { childElements, malformedXml, rootOf, textOf } from "./bucket-config.ts";
import type { ObjectTag } from "./storage.ts";

const MAX_TAGS = 10;

const invalidTag = (message: string) => new ServiceError("InvalidTag", message, 400);

/** A tag set S3 would store on an object, or S3's error for the first thing wrong with it. */
export function checkObjectTags(tags: ObjectTag[]): ObjectTag[] {
  if (tags.length > MAX_TAGS) throw new ServiceError("BadRequest", `Object tags cannot be greater than ${MAX_TAGS}`, 400);
  const keys = new Set<string>();
  for (const t of tags) {
    if (t.Key === "" || [...t.Key].length > 128) throw invalidTag("The TagKey you have provided is invalid");
    if ([...t.Value].length > 256) throw invalidTag("The TagValue you have provided is invalid");
    if (t.Key.toLowerCase().startsWith("aws:")) throw invalidTag("System tags cannot be added/updated by requester");
    if (keys.has(t.Key)) throw invalidTag("Cannot provide multiple Tags with the same key");
    keys.add(t.Key);
  }
  return tags;
}

/** PutObjectTagging's `<Tagging><TagSet><Tag><Key/><Value/></Tag>…</TagSet></Tagging>`. */
export function parseTagging(body: Buffer): ObjectTag[] {
  const root = rootOf(body, "Tagging");
  const set = childElements(root, "TagSet");
  if (set.length !== 1) throw malformedXml();
  const tags = childElements(set[0], "Tag").map((t) => {
    const Key = textOf(t, "Key");
    const Value = textOf(t, "Value");
    if (Key === undefined || Value === undefined) throw malformedXml();
    return { Key, Value };
  });
  return checkObjectTags(tags);
}

/** The `x-amz-tagging` header: URL-encoded query parameters (`k1=v1&k2=v2`). */
export function parseTaggingHeader(header: string | undefined): ObjectTag[] | undefined {
  if (header === undefined) return undefined;
  const tags: ObjectTag[] = [];
  const seen = new Set<string>();
  for (const [Key, Value] of new URLSearchParams(header)) {
    if (seen.has(Key)) {
      throw new ServiceError("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", 400, {
        extra: { ArgumentName: "x-amz-tagging", ArgumentValue: header },
      });
    }
    seen.add(Key);
    tags.push({ Key, Value });
  }
  return checkObjectTags(tags);
}

/** `x-amz-tagging-count` of GetObject and HeadObject, when the version has tags. */
export function taggingCountHeader(tags: ObjectTag[] | undefined): Record<string, string> {
  return tags && tags.length > 0 ? { "x-amz-tagging-count": String(tags.length) } : {};
}
