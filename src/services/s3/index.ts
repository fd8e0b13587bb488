/**
 * A minimal S3 (restXml): buckets and objects, enough for CloudTrail log delivery and for
 * `aws cloudtrail validate-logs` (GetBucketLocation, ListObjects, GetObject), plus the usual
 * object calls. Bucket-level calls are CloudTrail management events; object-level calls and
 * listings are data events (not in event history; delivered only to trails that select them).
 */
import type { AppContext } from "../../kernel/context.ts";
import type { OperationTable, SomeOperation } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import { createBucketOperation, deleteBucketOperation, getBucketLocationOperation, headBucketOperation, listBucketsOperation } from "./bucket-operations.ts";
import { deleteAccountPublicAccessBlockOperation, getAccountPublicAccessBlockOperation, putAccountPublicAccessBlockOperation } from "./account-public-access.ts";
import { getBucketAclOperation, getObjectAclOperation, putBucketAclOperation, putObjectAclOperation } from "./acl-operations.ts";
import { deleteConfigOperation, getConfigOperation, putConfigOperation, unsetReadOperation } from "./bucket-config.ts";
import { deleteBucketPolicyOperation, getBucketPolicyOperation, putBucketPolicyOperation } from "./bucket-policy.ts";
import { listObjectsOperation, listObjectsV2Operation } from "./list-operations.ts";
import { deleteObjectOperation, getObjectOperation, headObjectOperation, putObjectOperation } from "./object-operations.ts";
import { decodeS3Request, encodeS3Error, encodeS3Output, type S3Operation, type S3Output } from "./protocol.ts";
import { deleteObjectTaggingOperation, getObjectTaggingOperation, putObjectTaggingOperation } from "./object-tagging.ts";
import {
  getObjectLegalHoldOperation,
  getObjectLockConfigurationOperation,
  getObjectRetentionOperation,
  putObjectLegalHoldOperation,
  putObjectLockConfigurationOperation,
  putObjectRetentionOperation,
} from "./object-lock.ts";
import { withBucketPolicy } from "./policy-access.ts";
import { s3SseKey } from "./sse-key.ts";
import { deleteObjectsOperation, listObjectVersionsOperation } from "./version-operations.ts";
import { S3Storage, type Bucket } from "./storage.ts";

export { bucketPolicyAllowsService } from "./bucket-policy.ts";
export { S3Storage, type Bucket, type ObjectMeta, type PutObjectOptions } from "./storage.ts";

/** What other services (CloudTrail delivery) use in-process: `app.find("s3")`. */
export interface S3Api {
  storage: S3Storage;
  bucket(name: string): Bucket | undefined;
}

export function s3Api(app: AppContext): S3Api | undefined {
  return app.find("s3");
}

declare module "../../kernel/context.ts" {
  interface Provided {
    s3: S3Api;
  }
}

/**
 * An operation CloudTrail records under another event name than the API's: S3 keeps the older
 * REST names for some calls (Amazon S3 CloudTrail events,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html), so
 * LookupEvents, event selectors and service last accessed see those names.
 */
function recordedAs(eventName: string, op: SomeOperation): SomeOperation {
  return { ...op, eventName };
}

export function s3Operations(storage: S3Storage): OperationTable<S3Operation> {
  const table: OperationTable<S3Operation> = {
    ListBuckets: listBucketsOperation(storage),
    CreateBucket: createBucketOperation(storage),
    DeleteBucket: deleteBucketOperation(storage),
    HeadBucket: headBucketOperation(storage),
    GetBucketLocation: getBucketLocationOperation(storage),
    ListObjects: listObjectsOperation(storage),
    ListObjectsV2: recordedAs("ListObjects", listObjectsV2Operation(storage)),
    GetObject: getObjectOperation(storage),
    HeadObject: headObjectOperation(storage),
    PutObject: putObjectOperation(storage),
    DeleteObject: deleteObjectOperation(storage),
    PutBucketPolicy: putBucketPolicyOperation(storage),
    GetBucketPolicy: getBucketPolicyOperation(storage),
    DeleteBucketPolicy: deleteBucketPolicyOperation(storage),
    GetBucketVersioning: getConfigOperation(storage, "versioning"),
    PutBucketVersioning: putConfigOperation(storage, "versioning"),
    GetBucketEncryption: getConfigOperation(storage, "encryption"),
    PutBucketEncryption: putConfigOperation(storage, "encryption"),
    DeleteBucketEncryption: deleteConfigOperation(storage, "encryption"),
    GetPublicAccessBlock: recordedAs("GetBucketPublicAccessBlock", getConfigOperation(storage, "publicAccessBlock")),
    PutPublicAccessBlock: recordedAs("PutBucketPublicAccessBlock", putConfigOperation(storage, "publicAccessBlock")),
    DeletePublicAccessBlock: recordedAs("DeleteBucketPublicAccessBlock", deleteConfigOperation(storage, "publicAccessBlock")),
    GetBucketOwnershipControls: getConfigOperation(storage, "ownershipControls"),
    PutBucketOwnershipControls: putConfigOperation(storage, "ownershipControls"),
    DeleteBucketOwnershipControls: deleteConfigOperation(storage, "ownershipControls"),
    GetBucketTagging: getConfigOperation(storage, "tagging"),
    PutBucketTagging: putConfigOperation(storage, "tagging"),
    DeleteBucketTagging: deleteConfigOperation(storage, "tagging"),
    GetBucketAcl: getBucketAclOperation(storage),
    GetBucketLogging: unsetReadOperation(storage, "GetBucketLogging"),
    GetBucketNotificationConfiguration: recordedAs("GetBucketNotification", unsetReadOperation(storage, "GetBucketNotificationConfiguration")),
    GetBucketLifecycleConfiguration: recordedAs("GetBucketLifecycle", unsetReadOperation(storage, "GetBucketLifecycleConfiguration")),
    GetObjectLockConfiguration: getObjectLockConfigurationOperation(storage),
    PutObjectLockConfiguration: putObjectLockConfigurationOperation(storage),
    PutObjectRetention: putObjectRetentionOperation(storage),
    GetObjectRetention: getObjectRetentionOperation(storage),
    PutObjectLegalHold: putObjectLegalHoldOperation(storage),
    GetObjectLegalHold: getObjectLegalHoldOperation(storage),
    GetBucketReplication: unsetReadOperation(storage, "GetBucketReplication"),
    ListObjectVersions: listObjectVersionsOperation(storage),
    DeleteObjects: deleteObjectsOperation(storage),
    PutBucketAcl: putBucketAclOperation(storage),
    GetObjectAcl: getObjectAclOperation(storage),
    PutObjectAcl: putObjectAclOperation(storage),
    GetObjectTagging: getObjectTaggingOperation(storage),
    PutObjectTagging: putObjectTaggingOperation(storage),
    DeleteObjectTagging: deleteObjectTaggingOperation(storage),
    GetAccountPublicAccessBlock: getAccountPublicAccessBlockOperation(storage),
    PutAccountPublicAccessBlock: putAccountPublicAccessBlockOperation(storage),
    DeleteAccountPublicAccessBlock: deleteAccountPublicAccessBlockOperation(storage),
  };
  return Object.fromEntries(Object.entries(table).map(([name, op]) => [name, withBucketPolicy(storage, name, op)])) as OperationTable<S3Operation>;
}

export const s3Module = defineServiceModule({
  name: "s3",
  needs: [],
  create(app) {
    const storage = new S3Storage(app.store, s3SseKey(app));
    const api: S3Api = { storage, bucket: (n) => storage.bucket(n) };
    const def: ServiceDef = {
      name: "s3",
      signingName: "s3",
      iamPrefix: "s3",
      protocol: "rest",
      eventSource: "s3.amazonaws.com",
      rest: {
        decode: (req) => decodeS3Request(req, (n) => storage.bucket(n) !== undefined) as unknown as { operation: string; input: Record<string, unknown> },
        encodeOutput: (_operation, output, ctx) => encodeS3Output(output as S3Output, ctx),
        encodeError: encodeS3Error,
        anonymousRegion: (input) => (typeof input.Bucket === "string" ? storage.bucket(input.Bucket)?.region : undefined),
      },
      operations: s3Operations(storage),
    };
    return { services: [def], provides: { s3: api } };
  },
});
