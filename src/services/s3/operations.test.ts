import { describe, expect, it } from "vitest";
import type { RequestContext } from "../../kernel/context.ts";
import { Store } from "../../store/store.ts";
import { s3Operations } from "./index.ts";
import type { S3Input } from "./protocol.ts";
import { S3Storage } from "./storage.ts";

const ops = Object.entries(s3Operations(new S3Storage(new Store(null))));
const input: S3Input = { Bucket: "b", Host: "localhost", Body: Buffer.alloc(0), query: {}, headers: {}, Metadata: {} };

describe("S3 operation declarations", () => {
  it("every management operation declares the IAM action it is authorized as, and its first check uses it", () => {
    const management = ops.filter(([, op]) => !op.dataEvent);
    expect(management.length).toBeGreaterThan(20);
    for (const [name, op] of management) {
      expect(op.action, name).toMatch(/^s3:[A-Za-z]+$/);
      const checks = op.authorize({ principal: { type: "Root", accountId: "000000000000" } } as RequestContext, input, { name: "b", bucket: undefined });
      expect(checks?.[0]?.action, name).toBe(op.action);
    }
  });

  it("declares CloudTrail's event name only where it differs from the API's", () => {
    const renamed = Object.fromEntries(ops.filter(([, op]) => op.eventName !== undefined).map(([name, op]) => [name, op.eventName]));
    expect(renamed).toEqual({
      ListObjectsV2: "ListObjects",
      GetPublicAccessBlock: "GetBucketPublicAccessBlock",
      PutPublicAccessBlock: "PutBucketPublicAccessBlock",
      DeletePublicAccessBlock: "DeleteBucketPublicAccessBlock",
      GetBucketNotificationConfiguration: "GetBucketNotification",
      GetBucketLifecycleConfiguration: "GetBucketLifecycle",
    });
  });

  it("declares object-level calls and listings as data events", () => {
    const data = ops.filter(([, op]) => op.dataEvent).map(([name]) => name);
    expect(data.sort()).toEqual(
      [
        "DeleteObject",
        "DeleteObjectTagging",
        "DeleteObjects",
        "GetObject",
        "GetObjectAcl",
        "GetObjectLegalHold",
        "GetObjectRetention",
        "GetObjectTagging",
        "HeadBucket",
        "HeadObject",
        "ListObjectVersions",
        "ListObjects",
        "ListObjectsV2",
        "PutObject",
        "PutObjectAcl",
        "PutObjectLegalHold",
        "PutObjectRetention",
        "PutObjectTagging",
      ].sort(),
    );
  });
});
