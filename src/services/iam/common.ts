/**
 * What every IAM module shares: identifiers and ARNs as AWS forms them, IAM's error values,
 * RFC 3986 encoding of policy documents, Marker/MaxItems paging, tag rules and policy
 * document validation through the policy engine.
 */
import { randomInt } from "node:crypto";
import type { Tag } from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import {
  checkTags,
  mergeTags as mergeSharedTags,
  removeTags as removeSharedTags,
  requestTagContext as sharedRequestTagContext,
  tagRecord,
  type TagRules,
} from "../../kernel/tags.ts";
import { compilePolicy } from "../../policy/index.ts";
import type { PageRequest, ScopedIndex } from "../../store/ordered-index.ts";
import { pageIndex, pageList, tokenFor, tokenPosition, type Paged, type PageTokens } from "../../store/paging.ts";

/** AWS unique ids and access key ids use upper-case letters and the digits 2-7 (base32). */
const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function randomString(alphabet: string, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export type IdPrefix = "AIDA" | "AROA" | "ANPA" | "AGPA" | "AKIA" | "ASIA" | "ASCA" | "APKA" | "ACCA";

/** AIDA/AROA/ANPA/AGPA/ASCA (server certificates)/ACCA (service-specific credentials) + 17 characters; access key ids AKIA/ASIA and SSH public key ids APKA + 16. */
export function newId(prefix: IdPrefix): string {
  return prefix + randomString(ID_ALPHABET, prefix === "AKIA" || prefix === "ASIA" || prefix === "APKA" ? 16 : 17);
}

/** Signing certificate ids: 32 characters of the same alphabet, no prefix. */
export function newCertificateId(): string {
  return randomString(ID_ALPHABET, 32);
}

/** 40-character secret access key. */
export function newSecret(): string {
  return randomString(SECRET_ALPHABET, 40);
}

export type EntityKind = "user" | "role" | "group" | "policy";

export function iamArn(accountId: string, kind: EntityKind, path: string, name: string): string {
  return `arn:aws:iam::${accountId}:${kind}${path}${name}`;
}

/** `arn:aws:iam::A:<kind>/<path/>name` → parts, or undefined when it is not such an ARN. */
export function parseIamArn(arn: string): { accountId: string; kind: string; path: string; name: string } | undefined {
  const m = /^arn:aws:iam::(\d{12}|aws):(user|role|group|policy)(\/(?:[^/]+\/)*)([^/]+)$/.exec(arn);
  if (!m) return undefined;
  return { accountId: m[1], kind: m[2], path: m[3], name: m[4] };
}

// ---- errors (IAM's awsQuery codes and AWS's wording) ----

export const noSuchEntity = (message: string) => new ServiceError("NoSuchEntity", message, 404);
export const alreadyExists = (message: string) => new ServiceError("EntityAlreadyExists", message, 409);
export const deleteConflict = (message: string) => new ServiceError("DeleteConflict", message, 409);
export const limitExceeded = (message: string) => new ServiceError("LimitExceeded", message, 409);
export const invalidInput = (message: string) => new ServiceError("InvalidInput", message, 400);
export const malformedPolicy = (message: string) => new ServiceError("MalformedPolicyDocument", message, 400);
export const validationError = (message: string) => new ServiceError("ValidationError", message, 400);

/** A credential's new Status: Active or Inactive (Expired is the service's to set, not the caller's). */
export function settableStatus(status: string | undefined): "Active" | "Inactive" {
  if (status !== "Active" && status !== "Inactive") throw invalidInput(`Status ${status} cannot be set: use Active or Inactive.`);
  return status;
}

// ---- policy documents ----

/** IAM returns policy documents URL-encoded per RFC 3986 (`*` as %2A, space as %20). */
export function encodeDocument(doc: string): string {
  return encodeURIComponent(doc).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

export type DocumentKind = "identity" | "trust" | "session";

/** Compiles the document with the policy engine; its complaints become MalformedPolicyDocument. */
export function validateDocument(doc: string, kind: DocumentKind): void {
  try {
    compilePolicy(doc, kind);
  } catch (e) {
    if (e instanceof ServiceError) throw e;
    const msg = e instanceof Error && e.message ? e.message : "Syntax errors in policy.";
    throw malformedPolicy(msg);
  }
}

/** IAM counts policy size without whitespace. */
export function policySize(doc: string): number {
  return doc.replace(/\s+/g, "").length;
}

// ---- paging ----

export interface Page<T> {
  items: T[];
  IsTruncated: boolean;
  Marker?: string;
}

/** IAM's Marker names the first item of the next page; one IAM did not issue is InvalidInput. */
export const IAM_TOKENS: PageTokens = { prefix: "lf1:", invalid: () => invalidInput("Invalid Marker."), resume: "at" };

function iamPage<T>(p: Paged<T>): Page<T> {
  return p.next === undefined ? { items: p.items, IsTruncated: false } : { items: p.items, IsTruncated: true, Marker: p.next };
}

/**
 * Marker/MaxItems paging over a list already in its final order, which must also be the
 * ascending order of `key` (src/store/paging.ts), so a page boundary stays put when items
 * before it are added or removed (unless the key is the index).
 */
export function paginate<T>(items: T[], key: (t: T, index: number) => string, marker: string | undefined, maxItems: number | undefined): Page<T> {
  return iamPage(pageList(IAM_TOKENS, items, key, marker, maxItems ?? 100));
}

/** The key a Marker names (the first item of the page it continues), or InvalidInput. */
export function markerKey(marker: string | undefined): string | undefined {
  return tokenPosition(IAM_TOKENS, marker);
}

export function markerFor(key: string): string {
  return tokenFor(IAM_TOKENS, key);
}

/** The same paging over one scope of an ordered index: binary search to the marker, then the page. */
export function paginateIndex<T>(
  index: ScopedIndex<T> | undefined,
  scope: string,
  marker: string | undefined,
  maxItems: number | undefined,
  filter?: PageRequest<T>["filter"],
): Page<T> {
  return iamPage(pageIndex(IAM_TOKENS, index, scope, marker, maxItems ?? 100, { filter }));
}

/** One page of an entity's tags in key order (ListUserTags, ListRoleTags, ListMFADeviceTags). */
export function tagsPage(tags: Tag[], marker: string | undefined, maxItems: number | undefined): { Tags: Tag[]; IsTruncated: boolean; Marker?: string } {
  const page = paginate(
    [...tags].sort((a, b) => byName(a.Key!, b.Key!)),
    (t) => t.Key!.toLowerCase(),
    marker,
    maxItems,
  );
  return { Tags: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
}

export const byName = (a: string, b: string) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : a < b ? -1 : a > b ? 1 : 0);

// ---- paths ----

export function pathMatches(path: string, prefix: string | undefined): boolean {
  return prefix === undefined || path.startsWith(prefix);
}

// ---- tags ----

export const MAX_TAGS = 50;

export type TaggedKind = "User" | "Role" | "Policy" | "MFADevice" | "OpenIdConnectProvider" | "SamlProvider" | "ServerCertificate";

/** IAM's tag dialect on the shared tag rules (src/kernel/tags.ts): keys are case-insensitive. */
export function iamTagRules(what: TaggedKind): TagRules<Tag> {
  return {
    shape: { key: (t) => t.Key ?? "", value: (t) => t.Value, make: (Key, Value) => ({ Key, Value }) },
    max: MAX_TAGS,
    caseInsensitiveKeys: true,
    requestCount: "merged",
    errors: {
      tooMany: () => limitExceeded(`Cannot exceed quota for TagsPer${what}: ${MAX_TAGS}`),
      duplicate: () => invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive."),
    },
  };
}

/** The rules where no count is checked (requests, removal, conditions). */
const IAM_KEY_RULES = iamTagRules("User");

/** Duplicate keys in one request (IAM tag keys are case-insensitive) are InvalidInput. */
export function checkTagRequest(tags: Tag[] | undefined): void {
  checkTags(IAM_KEY_RULES, tags);
}

/** Adds or replaces tags (keys compared case-insensitively); throws LimitExceeded past 50. */
export function mergeTags(existing: Tag[], add: Tag[], what: TaggedKind): Tag[] {
  checkTagRequest(add);
  return mergeSharedTags(iamTagRules(what), existing, add);
}

export function removeTags(existing: Tag[], keys: string[]): Tag[] {
  return removeSharedTags(IAM_KEY_RULES, existing, keys);
}

export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  return tagRecord(IAM_KEY_RULES, tags);
}

/** aws:RequestTag/<k> and aws:TagKeys for a request that carries tags. */
export function requestTagContext(tags: Tag[] | undefined): Record<string, string | string[]> {
  return sharedRequestTagContext(IAM_KEY_RULES, tags);
}
