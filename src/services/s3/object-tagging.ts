/**
 * PutObjectTagging, GetObjectTagging and DeleteObjectTagging, each on the current version or,
 * with `versionId`, on one version (s3:…ObjectVersionTagging)
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html).
 */
import { defineOperation } from "../../kernel/operation.ts";
import { objectArn, s3RequestParameters } from "./common.ts";
import { checkContentMd5, readableVersion } from "./object-operations.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import { parseTagging } from "./object-tags.ts";
import type { S3Storage } from "./storage.ts";
import { existingBucket, resolveObject, type ObjectTarget } from "./target.ts";

const versioned = (input: S3Input) => input.query.versionId !== undefined;

function versionHeader(storage: S3Storage, bucket: string, versionId: string): Record<string, string> {
  return storage.versioning(bucket) !== undefined ? { "x-amz-version-id": versionId } : {};
}

function parameters(input: S3Input): Record<string, unknown> {
  return s3RequestParameters(input, { tagging: "", ...(versioned(input) ? { versionId: input.query.versionId } : {}) });
}

export function putObjectTaggingOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: false,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, input, { name, key }) => [{ action: versioned(input) ? "s3:PutObjectVersionTagging" : "s3:PutObjectTagging", resource: objectArn(name, key) }],
    handler: function putObjectTagging(ctx, input, target) {
      const b = existingBucket(target);
      checkContentMd5(input.headers["content-md5"], input.Body);
      const tags = parseTagging(input.Body);
      const meta = readableVersion(storage, b, target.key, input, "PUT");
      ctx.writes.push(...storage.setObjectTags(b.name, target.key, meta.versionId, tags));
      return { headers: versionHeader(storage, b.name, meta.versionId) };
    },
    audit: { requestParameters: parameters },
  });
}

export function getObjectTaggingOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, input, { name, key }) => [{ action: versioned(input) ? "s3:GetObjectVersionTagging" : "s3:GetObjectTagging", resource: objectArn(name, key) }],
    handler: function getObjectTagging(_ctx, input, target) {
      const b = existingBucket(target);
      const meta = readableVersion(storage, b, target.key, input, "GET");
      return { headers: versionHeader(storage, b.name, meta.versionId), xml: { root: "Tagging", body: { TagSet: { Tag: (meta.tags ?? []).map((t) => ({ ...t })) } } } };
    },
    audit: { requestParameters: parameters },
  });
}

export function deleteObjectTaggingOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: false,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, input, { name, key }) => [{ action: versioned(input) ? "s3:DeleteObjectVersionTagging" : "s3:DeleteObjectTagging", resource: objectArn(name, key) }],
    handler: function deleteObjectTagging(ctx, input, target) {
      const b = existingBucket(target);
      const meta = readableVersion(storage, b, target.key, input, "DELETE");
      ctx.writes.push(...storage.setObjectTags(b.name, target.key, meta.versionId, []));
      return { status: 204, headers: versionHeader(storage, b.name, meta.versionId) };
    },
    audit: { requestParameters: parameters },
  });
}
