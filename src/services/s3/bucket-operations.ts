/** ListBuckets, CreateBucket, DeleteBucket, HeadBucket and GetBucketLocation. */
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { bucketArn, iso, ownerNode, s3RequestParameters } from "./common.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import { setsNonPrivateAcl } from "./acl.ts";
import { checkNewBucketAcl } from "./public-access.ts";
import type { S3Storage } from "./storage.ts";
import { authorizedOnBucket, existingBucket, resolveBucket, type BucketTarget } from "./target.ts";
import { parseCreateBucketConfiguration, S3_XMLNS, xmlEscape } from "./xml.ts";

const OBJECT_OWNERSHIP = ["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"];

/** Bucket naming rules (general purpose buckets). */
function validBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes("..") || name.includes(".-") || name.includes("-.")) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return false;
  if (name.startsWith("xn--") || name.startsWith("sthree-") || name.endsWith("-s3alias") || name.endsWith("--ol-s3")) return false;
  return true;
}

const LIST_ALL_MY_BUCKETS = "s3:ListAllMyBuckets";

export function listBucketsOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output>({
    readOnly: true,
    action: LIST_ALL_MY_BUCKETS,
    authorize: () => [{ action: LIST_ALL_MY_BUCKETS, resource: "*" }],
    handler: function listBuckets(ctx) {
      const mine = [...storage.buckets.values()].filter((b) => b.ownerAccountId === ctx.principal.accountId).sort((a, b) => (a.name < b.name ? -1 : 1));
      return {
        xml: {
          root: "ListAllMyBucketsResult",
          body: {
            Owner: ownerNode(ctx.principal.accountId),
            Buckets: { Bucket: mine.map((b) => ({ Name: b.name, CreationDate: iso(b.creationDate), BucketRegion: b.region })) },
          },
        },
      };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input) },
  });
}

/** The CreateBucketConfiguration body, or undefined when it is absent or not well-formed. */
function locationConstraintOf(input: S3Input): string | undefined {
  try {
    return parseCreateBucketConfiguration(input.Body)?.LocationConstraint;
  } catch {
    return undefined;
  }
}

const lockRequested = (input: S3Input) => (input.headers["x-amz-bucket-object-lock-enabled"] ?? "").toLowerCase() === "true";

const CREATE_BUCKET = "s3:CreateBucket";

export function createBucketOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: false,
    action: CREATE_BUCKET,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input, { anyOwner: true }),
    // A non-private ACL and an Object Ownership setting need their own actions as well
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html, "Permissions")
    authorize: (_ctx, input, { name }) => [
      { action: CREATE_BUCKET, resource: bucketArn(name) },
      ...(setsNonPrivateAcl(input.headers) ? [{ action: "s3:PutBucketAcl", resource: bucketArn(name) }] : []),
      ...(input.headers["x-amz-object-ownership"] !== undefined ? [{ action: "s3:PutBucketOwnershipControls", resource: bucketArn(name) }] : []),
      ...(lockRequested(input)
        ? [
            { action: "s3:PutBucketObjectLockConfiguration", resource: bucketArn(name) },
            { action: "s3:PutBucketVersioning", resource: bucketArn(name) },
          ]
        : []),
    ],
    handler: function createBucket(ctx, input, { name, bucket: existing }) {
      if (!validBucketName(name)) throw new ServiceError("InvalidBucketName", "The specified bucket is not valid.", 400, { extra: { BucketName: name } });
      let cfg: { LocationConstraint?: string } | undefined;
      try {
        cfg = parseCreateBucketConfiguration(input.Body);
      } catch {
        throw new ServiceError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", 400);
      }
      const constraint = cfg?.LocationConstraint;
      if (constraint === "us-east-1") {
        throw new ServiceError("InvalidLocationConstraint", "The specified location-constraint is not valid", 400, { extra: { LocationConstraint: constraint } });
      }
      const ownership = input.headers["x-amz-object-ownership"] ?? "BucketOwnerEnforced";
      if (!OBJECT_OWNERSHIP.includes(ownership)) {
        throw new ServiceError("InvalidArgument", "Invalid x-amz-object-ownership header", 400, { extra: { ArgumentName: "x-amz-object-ownership", ArgumentValue: ownership } });
      }
      const acl = checkNewBucketAcl(input.headers, ownership, ctx.principal.accountId);
      const lockHeader = input.headers["x-amz-bucket-object-lock-enabled"];
      if (lockHeader !== undefined && !["true", "false"].includes(lockHeader.toLowerCase())) {
        throw new ServiceError("InvalidArgument", "Invalid x-amz-bucket-object-lock-enabled header", 400, {
          extra: { ArgumentName: "x-amz-bucket-object-lock-enabled", ArgumentValue: lockHeader },
        });
      }
      const region = constraint ?? "us-east-1";
      if (region !== ctx.region) {
        throw new ServiceError(
          "IllegalLocationConstraintException",
          constraint === undefined
            ? "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
            : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
          400,
        );
      }
      if (existing) {
        if (existing.ownerAccountId !== ctx.principal.accountId) {
          throw new ServiceError(
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
            409,
            { extra: { BucketName: name } },
          );
        }
        // us-east-1 answers 200 to its owner re-creating a bucket; every other region 409.
        if (existing.region !== "us-east-1") {
          throw new ServiceError("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", 409, {
            extra: { BucketName: name },
          });
        }
        return { headers: { location: `/${name}` } };
      }
      ctx.writes.push(...storage.createBucket({ name, ownerAccountId: ctx.principal.accountId, region, creationDate: ctx.now }));
      if (ownership !== "BucketOwnerEnforced") ctx.writes.push(...storage.setBucketConfig(name, "ownershipControls", { Rule: { ObjectOwnership: ownership } }));
      if (acl) ctx.writes.push(...storage.setBucketAcl(name, acl));
      if (lockRequested(input)) {
        // Object Lock turns versioning on with it (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html).
        ctx.writes.push(...storage.setBucketConfig(name, "versioning", { Status: "Enabled" }));
        ctx.writes.push(...storage.setBucketObjectLock(name, {}));
      }
      return { headers: { location: region === "us-east-1" ? `/${name}` : `http://${name}.s3.amazonaws.com/` } };
    },
    audit: {
      requestParameters(input) {
        const constraint = locationConstraintOf(input);
        return s3RequestParameters(input, constraint ? { CreateBucketConfiguration: { LocationConstraint: constraint, xmlns: S3_XMLNS } } : {});
      },
    },
  });
}

export function deleteBucketOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: false,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:DeleteBucket"),
    handler: function deleteBucket(ctx, _input, target) {
      const b = existingBucket(target);
      if (storage.objectCount(b.name) > 0) {
        throw new ServiceError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, { extra: { BucketName: b.name } });
      }
      ctx.writes.push(...storage.deleteBucket(b.name));
      return { status: 204 };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input) },
  });
}

export function headBucketOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:ListBucket"),
    handler: function headBucket(_ctx, _input, target) {
      return { headers: { "x-amz-bucket-region": existingBucket(target).region } };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input) },
  });
}

export function getBucketLocationOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: true,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:GetBucketLocation"),
    handler: function getBucketLocation(_ctx, _input, target) {
      const b = existingBucket(target);
      // <LocationConstraint> holds text: empty (null) for us-east-1.
      const text = b.region === "us-east-1" ? "" : b.region;
      const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_XMLNS}">${xmlEscape(text)}</LocationConstraint>`);
      return { headers: { "content-type": "application/xml" }, body };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { location: "" }) },
  });
}
