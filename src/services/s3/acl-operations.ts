/** GetBucketAcl, PutBucketAcl, GetObjectAcl and PutObjectAcl (acl.ts). */
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { aclDocument, effectiveGrants, requestedGrants, type Grant } from "./acl.ts";
import { objectArn, s3RequestParameters } from "./common.ts";
import { readableVersion } from "./object-operations.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import { checkAcl } from "./public-access.ts";
import type { Bucket, S3Storage } from "./storage.ts";
import { authorizedOnBucket, existingBucket, resolveBucket, resolveObject, type BucketTarget, type ObjectTarget } from "./target.ts";

const aclResponse = (b: Bucket, grants: Grant[] | undefined): S3Output => ({
  headers: { "content-type": "application/xml" },
  body: aclDocument(b.ownerAccountId, effectiveGrants(b, grants)),
});

/** The ACL a Put…Acl sets (headers or document), checked against Block Public Access and Object Ownership. */
function aclToSet(storage: S3Storage, b: Bucket, input: S3Input): Grant[] {
  const acl = requestedGrants(input.headers, b.ownerAccountId, input.Body);
  if (!acl) throw new ServiceError("MissingSecurityHeader", "Your request was missing a required header", 400, { extra: { MissingHeaderName: "x-amz-acl" } });
  checkAcl(storage, b, acl);
  return acl.grants;
}

const versionParameter = (input: S3Input) => (input.query.versionId !== undefined ? { versionId: input.query.versionId } : {});

export function getBucketAclOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: true,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:GetBucketAcl"),
    handler: function getBucketAcl(_ctx, _input, target) {
      const b = existingBucket(target);
      return aclResponse(b, b.acl);
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { acl: "" }) },
  });
}

export function putBucketAclOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: false,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:PutBucketAcl"),
    handler: function putBucketAcl(ctx, input, target) {
      const b = existingBucket(target);
      ctx.writes.push(...storage.setBucketAcl(b.name, aclToSet(storage, b, input)));
      return {};
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { acl: "" }) },
  });
}

export function getObjectAclOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, input, { name, key }) => [{ action: input.query.versionId !== undefined ? "s3:GetObjectVersionAcl" : "s3:GetObjectAcl", resource: objectArn(name, key) }],
    handler: function getObjectAcl(_ctx, input, target) {
      const b = existingBucket(target);
      const meta = readableVersion(storage, b, target.key, input, "GET");
      const out = aclResponse(b, meta.acl);
      if (storage.versioning(b.name) !== undefined) out.headers!["x-amz-version-id"] = meta.versionId;
      return out;
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { acl: "", ...versionParameter(input) }) },
  });
}

export function putObjectAclOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: false,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, input, { name, key }) => [{ action: input.query.versionId !== undefined ? "s3:PutObjectVersionAcl" : "s3:PutObjectAcl", resource: objectArn(name, key) }],
    handler: function putObjectAcl(ctx, input, target) {
      const b = existingBucket(target);
      const meta = readableVersion(storage, b, target.key, input, "PUT");
      const grants = aclToSet(storage, b, input);
      ctx.writes.push(...storage.setObjectAcl(b.name, target.key, meta.versionId, grants));
      return storage.versioning(b.name) !== undefined ? { headers: { "x-amz-version-id": meta.versionId } } : {};
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { acl: "", ...versionParameter(input) }) },
  });
}
