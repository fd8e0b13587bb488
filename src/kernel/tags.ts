/**
 * Resource tags, written once for every service. Each service answers tag mistakes with its own
 * error codes and words, spells a tag its own way ({key, value} in ECS, {TagKey, TagValue} in
 * KMS, {Key, Value} in IAM and CloudTrail) and compares keys its own way (IAM tag keys are
 * case-insensitive; see https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html), so a
 * service describes its dialect once as `TagRules` and calls these functions with it.
 *
 * Checks run in one order: the count of a request (when the service checks it first), then each
 * tag: empty key, key length (128), value length (256), the reserved `aws:` prefix, a key given
 * twice; then the count (when the service checks it last). A rule whose error is not given is
 * not checked (the service's input shapes check it, or the service does not).
 */

export interface TagShape<T> {
  key(t: T): string;
  value(t: T): string | undefined;
  /** a stored tag as the service keeps it */
  make(key: string, value: string | undefined): T;
}

export interface TagRules<T> {
  shape: TagShape<T>;
  /** most tags one resource may carry */
  max: number;
  /** true: `Env` and `env` are the same key */
  caseInsensitiveKeys?: boolean;
  /** when a request's own tag count is checked against `max`: before the tags, after, or only once merged */
  requestCount: "first" | "last" | "merged";
  errors: {
    /** more than `max` tags (in a request, or on the resource once merged) */
    tooMany(): Error;
    emptyKey?(): Error;
    keyTooLong?(): Error;
    valueTooLong?(): Error;
    reserved?(key: string): Error;
    duplicate?(key: string): Error;
  };
}

export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;
const RESERVED_PREFIX = "aws:";

function comparable<T>(rules: TagRules<T>, key: string): string {
  return rules.caseInsensitiveKeys ? key.toLowerCase() : key;
}

function isReserved(key: string): boolean {
  return key.toLowerCase().startsWith(RESERVED_PREFIX);
}

/** The tags of one request, by the service's rules. */
export function checkTags<T>(rules: TagRules<T>, tags: T[] | undefined): void {
  if (!tags) return;
  const { errors, shape } = rules;
  if (rules.requestCount === "first" && tags.length > rules.max) throw errors.tooMany();
  const seen = new Set<string>();
  for (const t of tags) {
    const key = shape.key(t);
    if (errors.emptyKey && !key) throw errors.emptyKey();
    if (errors.keyTooLong && key.length > MAX_TAG_KEY_LENGTH) throw errors.keyTooLong();
    if (errors.valueTooLong && (shape.value(t) ?? "").length > MAX_TAG_VALUE_LENGTH) throw errors.valueTooLong();
    if (errors.reserved && isReserved(key)) throw errors.reserved(key);
    if (errors.duplicate) {
      const k = comparable(rules, key);
      if (seen.has(k)) throw errors.duplicate(key);
      seen.add(k);
    }
  }
  if (rules.requestCount === "last" && tags.length > rules.max) throw errors.tooMany();
}

/** Tag keys named for removal: only the reserved prefix is refused. */
export function checkTagKeys<T>(rules: TagRules<T>, keys: string[] | undefined): void {
  if (!rules.errors.reserved) return;
  for (const k of keys ?? []) if (isReserved(k)) throw rules.errors.reserved(k);
}

/**
 * The resource's tags with the request's added: a key already there takes the new value (and
 * the new spelling) in its old place; more than `max` in all is the service's tooMany error.
 */
export function mergeTags<T>(rules: TagRules<T>, existing: T[], add: T[]): T[] {
  const { shape } = rules;
  const merged = new Map(existing.map((t) => [comparable(rules, shape.key(t)), shape.make(shape.key(t), shape.value(t))]));
  for (const t of add) merged.set(comparable(rules, shape.key(t)), shape.make(shape.key(t), shape.value(t)));
  if (merged.size > rules.max) throw rules.errors.tooMany();
  return [...merged.values()];
}

/** The resource's tags without the named keys. */
export function removeTags<T>(rules: TagRules<T>, existing: T[], keys: string[]): T[] {
  const drop = new Set(keys.map((k) => comparable(rules, k)));
  return existing.filter((t) => !drop.has(comparable(rules, rules.shape.key(t))));
}

/** key → value (a missing value as ""), for aws:ResourceTag and aws:PrincipalTag conditions. */
export function tagRecord<T>(rules: TagRules<T>, tags: T[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) out[rules.shape.key(t)] = rules.shape.value(t) ?? "";
  return out;
}

/** aws:RequestTag/<key> and aws:TagKeys for a request that carries tags; nothing for none. */
export function requestTagContext<T>(rules: TagRules<T>, tags: T[] | undefined): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {};
  if (!tags?.length) return ctx;
  for (const t of tags) ctx[`aws:RequestTag/${rules.shape.key(t)}`] = rules.shape.value(t) ?? "";
  ctx["aws:TagKeys"] = tags.map((t) => rules.shape.key(t));
  return ctx;
}
