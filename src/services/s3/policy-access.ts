/**
 * How a bucket policy takes part in authorizing an S3 call, as S3 evaluates it
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/how-s3-evaluates-access-control.html):
 * the policy is the resource-based policy of every check on the bucket and its objects. A
 * principal of the bucket owner's account is allowed by the policy or by its own identity
 * policies; another account's principal needs both; the anonymous caller and AWS service
 * principals only the policy. RestrictPublicBuckets
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html):
 * while the policy is public, it grants nothing to anyone outside the owner's account but AWS
 * service principals. S3's own condition keys (s3:prefix, s3:x-amz-acl, s3:ExistingObjectTag/<key>,
 * s3:RequestObjectTag/<key> …) are given to every check (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 */
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck, ResourcePolicyRef, SomeOperation } from "../../kernel/operation.ts";
import type { ContextValue } from "../../policy/index.ts";
import type { S3Input } from "./protocol.ts";
import { effectivePublicAccessBlock, isPublicPolicy } from "./public-access.ts";
import { parseTagging, parseTaggingHeader } from "./object-tags.ts";
import type { Bucket, ObjectTag, S3Storage } from "./storage.ts";

/** A valid policy that allows nothing: what a restricted public policy still grants outsiders. */
const GRANTS_NOTHING = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", NotResource: "*" }] });

function restricted(ctx: RequestContext, storage: S3Storage, b: Bucket, policy: string): boolean {
  const p = ctx.principal;
  if (p.type === "AWSService" || p.accountId === b.ownerAccountId) return false;
  return effectivePublicAccessBlock(storage, b).RestrictPublicBuckets && isPublicPolicy(policy);
}

/** The bucket's policy as the resource-based policy of the call's checks (undefined: it has none). */
export function bucketPolicyRef(ctx: RequestContext, storage: S3Storage, b: Bucket | undefined): ResourcePolicyRef | undefined {
  if (!b || b.policy === undefined) return undefined;
  const document = restricted(ctx, storage, b, b.policy) ? GRANTS_NOTHING : b.policy;
  return { document, kind: "resource", ownerAccountId: b.ownerAccountId, authoritative: false };
}

/** Request headers and query parameters S3 offers as condition keys. */
const HEADER_KEYS = [
  "x-amz-acl",
  "x-amz-server-side-encryption",
  "x-amz-server-side-encryption-aws-kms-key-id",
  "x-amz-copy-source",
  "x-amz-storage-class",
  "x-amz-content-sha256",
];
const QUERY_KEYS: Record<string, string> = { prefix: "s3:prefix", delimiter: "s3:delimiter", "max-keys": "s3:max-keys", versionId: "s3:versionid" };

export function s3ConditionKeys(input: S3Input): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  for (const h of HEADER_KEYS) if (input.headers[h] !== undefined) out[`s3:${h}`] = input.headers[h];
  for (const [q, key] of Object.entries(QUERY_KEYS)) if (input.query[q] !== undefined) out[key] = input.query[q];
  const signed = input.headers.authorization !== undefined ? "REST-HEADER" : input.query["X-Amz-Signature"] !== undefined ? "REST-QUERY-STRING" : undefined;
  if (signed) {
    out["s3:authtype"] = signed;
    out["s3:signatureversion"] = "AWS4-HMAC-SHA256";
  }
  return out;
}

/** `s3:ExistingObjectTag/<key>` of the object version a call names, when there is one. */
function existingObjectTags(storage: S3Storage, b: Bucket, key: string, versionId: string | undefined): Record<string, ContextValue> {
  const meta = versionId !== undefined ? storage.version(b.name, key, versionId) : storage.latest(b.name, key);
  const out: Record<string, ContextValue> = {};
  if (meta && !meta.deleteMarker) for (const t of meta.tags ?? []) out[`s3:existingobjecttag/${t.Key.toLowerCase()}`] = t.Value;
  return out;
}

/**
 * `s3:RequestObjectTag/<key>` and `s3:RequestObjectTagKeys` of the tags a PutObject
 * (`x-amz-tagging`) or PutObjectTagging sets; a tag set S3 would refuse gives none (the handler
 * answers its error once the call is authorized).
 */
function requestObjectTags(operation: string, input: S3Input): Record<string, ContextValue> {
  let tags: ObjectTag[] | undefined;
  try {
    if (operation === "PutObjectTagging") tags = parseTagging(input.Body);
    else if (operation === "PutObject") tags = parseTaggingHeader(input.headers["x-amz-tagging"]);
  } catch {
    tags = undefined;
  }
  if (!tags) return {};
  const out: Record<string, ContextValue> = { "s3:requestobjecttagkeys": tags.map((t) => t.Key) };
  for (const t of tags) out[`s3:requestobjecttag/${t.Key.toLowerCase()}`] = t.Value;
  return out;
}

/** The operation with its checks evaluated against the bucket's policy and given S3's condition keys. */
export function withBucketPolicy(storage: S3Storage, name: string, op: SomeOperation): SomeOperation {
  return {
    ...op,
    authorize(ctx, input, resolved) {
      const checks = op.authorize(ctx, input, resolved);
      if (!checks) return checks;
      const { bucket, key } = (resolved ?? {}) as { bucket?: Bucket; key?: string };
      const resourcePolicy = bucketPolicyRef(ctx, storage, bucket);
      const s3Input = input as S3Input;
      const keys = s3ConditionKeys(s3Input);
      if (bucket && key !== undefined) Object.assign(keys, existingObjectTags(storage, bucket, key, s3Input.query.versionId));
      Object.assign(keys, requestObjectTags(name, s3Input));
      return checks.map((c): AuthCheck => ({ ...c, context: { ...keys, ...c.context }, ...(resourcePolicy && !c.resourcePolicy ? { resourcePolicy } : {}) }));
    },
  };
}
