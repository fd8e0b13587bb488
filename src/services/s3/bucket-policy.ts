/**
 * Bucket policies: PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, and the question other
 * services ask of one (may CloudTrail write its log files here?). A policy is stored with its
 * bucket and checked as S3 checks one: JSON, the policy grammar of a resource policy, every
 * resource in this bucket, at most 20 KB
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html).
 */
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { compilePolicy, compileStoredPolicy, evaluate, PolicyError, type ContextValue } from "../../policy/index.ts";
import { bucketArn, s3RequestParameters } from "./common.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import { checkPolicyNotBlocked } from "./public-access.ts";
import type { Bucket, S3Storage } from "./storage.ts";
import { authorizedOnBucket, existingBucket, resolveBucket, type BucketTarget } from "./target.ts";

const MAX_POLICY_BYTES = 20 * 1024;

const malformed = (message: string) => new ServiceError("MalformedPolicy", message, 400);

function resources(statement: Record<string, unknown>): string[] {
  const r = statement.Resource ?? statement.NotResource;
  return typeof r === "string" ? [r] : Array.isArray(r) ? r.filter((x): x is string => typeof x === "string") : [];
}

/** A policy S3 would store for this bucket, or S3's MalformedPolicy. */
export function validateBucketPolicy(bucket: string, text: string): void {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) throw malformed("Policy exceeds the maximum allowed document size.");
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  if (!text.trimStart().startsWith("{") || doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw malformed("Policies must be valid JSON and the first byte must be '{'");
  }
  try {
    compilePolicy(text, "resource");
  } catch (e) {
    if (e instanceof PolicyError) throw malformed("Invalid policy syntax.");
    throw e;
  }
  const raw = (doc as { Statement?: unknown }).Statement;
  const statements = (Array.isArray(raw) ? raw : [raw]) as Record<string, unknown>[];
  const own = bucketArn(bucket);
  for (const s of statements) {
    for (const r of resources(s)) if (r !== own && !r.startsWith(`${own}/`)) throw malformed("Policy has invalid resource");
  }
}

/** True when the bucket's policy lets the AWS service principal `service` do `action` on `resource`. */
export function bucketPolicyAllowsService(bucket: Bucket, service: string, action: string, resource: string, context: Record<string, ContextValue>): boolean {
  if (!bucket.policy) return false;
  const lower = new Map(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  const result = evaluate({
    principal: { type: "AWSService", accountId: bucket.ownerAccountId, arn: service, serviceName: service },
    action,
    resource,
    context: { get: (k) => lower.get(k.toLowerCase()) },
    identityPolicies: [],
    resourcePolicy: { policy: compileStoredPolicy(bucket.policy, "resource"), ownerAccountId: bucket.ownerAccountId, authoritative: true },
  });
  return result.decision === "Allow";
}

export function putBucketPolicyOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: false,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:PutBucketPolicy"),
    handler: function putBucketPolicy(ctx, input, target) {
      const b = existingBucket(target);
      const text = (input.Body ?? Buffer.alloc(0)).toString("utf8");
      validateBucketPolicy(b.name, text);
      checkPolicyNotBlocked(ctx, storage, b, text);
      ctx.writes.push(...storage.setBucketPolicy(b.name, text));
      return { status: 204 };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { policy: "" }) },
  });
}

export function getBucketPolicyOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: true,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:GetBucketPolicy"),
    handler: function getBucketPolicy(_ctx, _input, target) {
      const b = existingBucket(target);
      if (b.policy === undefined) throw new ServiceError("NoSuchBucketPolicy", "The bucket policy does not exist", 404, { extra: { BucketName: b.name } });
      return { headers: { "content-type": "application/json" }, body: Buffer.from(b.policy) };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { policy: "" }) },
  });
}

export function deleteBucketPolicyOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: false,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:DeleteBucketPolicy"),
    handler: function deleteBucketPolicy(ctx, _input, target) {
      const b = existingBucket(target);
      if (b.policy !== undefined) ctx.writes.push(...storage.setBucketPolicy(b.name, undefined));
      return { status: 204 };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { policy: "" }) },
  });
}
