/**
 * The bucket (and key) a call names, resolved once before authorization. The record names them
 * from here on, also when the call is then refused or fails, so it goes to the bucket owner's
 * account. Object-level calls and listings declare themselves data events (`dataEvent`), so
 * they are never in event history, even when refused. AWS CloudTrail User Guide, "Logging data events":
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html
 */
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck, CloudTrailResource } from "../../kernel/operation.ts";
import { bucketArn, noSuchBucket, objectArn } from "./common.ts";
import type { S3Input } from "./protocol.ts";
import type { Bucket, S3Storage } from "./storage.ts";

export interface BucketTarget {
  readonly name: string;
  /** undefined when no bucket has that name (NoSuchBucket, answered once authorized) */
  readonly bucket: Bucket | undefined;
}

export interface ObjectTarget extends BucketTarget {
  readonly key: string;
}

export interface ResolveOptions {
  /** CreateBucket: another account's bucket of that name is BucketAlreadyExists, not AccessDenied */
  anyOwner?: boolean;
}

function bucketResource(ctx: RequestContext, name: string, bucket: Bucket | undefined): CloudTrailResource {
  return { ARN: bucketArn(name), accountId: bucket?.ownerAccountId ?? ctx.principal.accountId, type: "AWS::S3::Bucket" };
}

/**
 * Bucket names are global: another account's bucket without a bucket policy is refused here, as
 * S3 refuses a caller no policy names (403 AccessDenied); with a policy, the authorization
 * decides (policy-access.ts).
 */
function refuseOtherAccounts(ctx: RequestContext, bucket: Bucket | undefined): void {
  if (bucket && bucket.policy === undefined && ctx.principal.type !== "AWSService" && bucket.ownerAccountId !== ctx.principal.accountId) {
    throw new ServiceError("AccessDenied", "Access Denied", 403);
  }
}

export function resolveBucket(ctx: RequestContext, storage: S3Storage, input: S3Input, opts: ResolveOptions = {}): BucketTarget {
  const name = input.Bucket!;
  const bucket = storage.bucket(name);
  ctx.audit.resources = [bucketResource(ctx, name, bucket)];
  if (!opts.anyOwner) refuseOtherAccounts(ctx, bucket);
  return { name, bucket };
}

export function resolveObject(ctx: RequestContext, storage: S3Storage, input: S3Input): ObjectTarget {
  const name = input.Bucket!;
  const key = input.Key!;
  const bucket = storage.bucket(name);
  // AWS's object resource carries no accountId
  ctx.audit.resources = [{ type: "AWS::S3::Object", ARN: objectArn(name, key) } as CloudTrailResource, bucketResource(ctx, name, bucket)];
  refuseOtherAccounts(ctx, bucket);
  return { name, key, bucket };
}

/** The target's bucket, or NoSuchBucket. */
export function existingBucket(target: BucketTarget): Bucket {
  if (!target.bucket) throw noSuchBucket(target.name);
  return target.bucket;
}

/**
 * A bucket-level operation authorized as one IAM action on its bucket: the action it declares
 * (what service last accessed credits) and the check that authorizes it, from one name.
 */
export function authorizedOnBucket(action: string) {
  return { action, authorize: (_ctx: RequestContext, _input: S3Input, { name }: BucketTarget): AuthCheck[] => [{ action, resource: bucketArn(name) }] };
}
