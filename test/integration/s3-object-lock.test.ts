/**
 * S3 Object Lock through @aws-sdk/client-s3: a bucket created with Object Lock (versioning on for
 * good), PutObjectLockConfiguration on an existing bucket, default retention, retention and legal
 * hold on versions, lock headers on PutObject/GetObject/HeadObject, deletes of locked versions
 * refused until the date passes on the service clock, GOVERNANCE bypass, and AWS's errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  S3Client,
  GetBucketVersioningCommand,
  ListObjectVersionsCommand,
} from "@aws-sdk/client-s3";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { s3Fails as fails } from "./s3-helpers.ts";
import { createTrailBucket } from "./cloudtrail-helpers.ts";

let s: TestServer;
let s3: S3Client;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
});
afterAll(async () => {
  await s?.close();
});

const LOCKED = "Access Denied because object protected by object lock.";

async function lockedBucket(name: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name, ObjectLockEnabledForBucket: true }));
}

/** A retain-until date `seconds` after the service clock's now (whole seconds, as S3 keeps them). */
async function inFuture(seconds: number): Promise<Date> {
  const put = await s3.send(new PutObjectCommand({ Bucket: "lock-clock", Key: "now", Body: "x" }));
  expect(put.ETag).toBeDefined();
  const head = await s3.send(new HeadObjectCommand({ Bucket: "lock-clock", Key: "now" }));
  return new Date(head.LastModified!.getTime() + seconds * 1000);
}

describe("Object Lock on buckets", () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "lock-clock" }));
  });

  it("CreateBucket with Object Lock enables versioning and the lock, which cannot be suspended", async () => {
    await lockedBucket("lock-new");
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "lock-new" }))).Status).toBe("Enabled");
    const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-new" }));
    expect(cfg.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: "Enabled" });
    await fails(
      s3.send(new PutBucketVersioningCommand({ Bucket: "lock-new", VersioningConfiguration: { Status: "Suspended" } })),
      "InvalidBucketState",
      409,
      "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.",
    );
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "lock-new" }))).Status).toBe("Enabled");
  });

  it("a bucket without Object Lock answers ObjectLockConfigurationNotFoundError", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "lock-none" }));
    await fails(s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-none" })), "ObjectLockConfigurationNotFoundError", 404);
  });

  it("PutObjectLockConfiguration needs versioning Enabled on an existing bucket, then sets the default retention", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "lock-later" }));
    const config = { ObjectLockEnabled: "Enabled" as const, Rule: { DefaultRetention: { Mode: "GOVERNANCE" as const, Days: 1 } } };
    await fails(s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-later", ObjectLockConfiguration: config })), "InvalidBucketState", 409);
    await fails(s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-later" })), "ObjectLockConfigurationNotFoundError", 404);
    await s3.send(new PutBucketVersioningCommand({ Bucket: "lock-later", VersioningConfiguration: { Status: "Enabled" } }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-later", ObjectLockConfiguration: config }));
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-later" }))).ObjectLockConfiguration).toEqual(config);
    const put = await s3.send(new PutObjectCommand({ Bucket: "lock-later", Key: "k", Body: "v" }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: "lock-later", Key: "k" }));
    expect(head.ObjectLockMode).toBe("GOVERNANCE");
    expect(head.ObjectLockRetainUntilDate!.getTime() - head.LastModified!.getTime()).toBeGreaterThanOrEqual(86_399_000);
    await fails(s3.send(new DeleteObjectCommand({ Bucket: "lock-later", Key: "k", VersionId: put.VersionId })), "AccessDenied", 403, LOCKED);
  });

  // Since November 2023 S3 enables Object Lock on any versioned bucket: the token
  // (x-amz-bucket-object-lock-token) that once came from AWS Support neither helps nor hurts
  // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html).
  it("x-amz-bucket-object-lock-token is neither needed nor enough", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "lock-token" }));
    const config = { ObjectLockEnabled: "Enabled" as const };
    await fails(s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-token", ObjectLockConfiguration: config, Token: "a-support-token" })), "InvalidBucketState", 409);
    await s3.send(new PutBucketVersioningCommand({ Bucket: "lock-token", VersioningConfiguration: { Status: "Enabled" } }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-token", ObjectLockConfiguration: config, Token: "any value at all" }));
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-token" }))).ObjectLockConfiguration).toEqual(config);
  });

  it("bad configurations answer AWS's errors and change nothing", async () => {
    await lockedBucket("lock-bad");
    const bad = [
      { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1, Years: 1 } } },
      { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "GOVERNANCE" } } },
      { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "FOREVER", Days: 1 } } },
      { Rule: { DefaultRetention: { Mode: "GOVERNANCE", Days: 1 } } },
    ];
    for (const c of bad) {
      await fails(s3.send(new PutObjectLockConfigurationCommand({ Bucket: "lock-bad", ObjectLockConfiguration: c as never })), "MalformedXML", 400);
    }
    await fails(
      s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: "lock-bad",
          ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 0 } } },
        }),
      ),
      "InvalidArgument",
      400,
      "Default retention period must be a positive integer value.",
    );
    await fails(
      s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: "lock-bad",
          ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Years: 1_000_000 } } },
        }),
      ),
      "InvalidRetentionPeriod",
      400,
    );
    expect((await s3.send(new GetObjectLockConfigurationCommand({ Bucket: "lock-bad" }))).ObjectLockConfiguration).toEqual({ ObjectLockEnabled: "Enabled" });
    await fails(s3.send(new PutObjectLockConfigurationCommand({ Bucket: "no-such-lock-bucket", ObjectLockConfiguration: { ObjectLockEnabled: "Enabled" } })), "NoSuchBucket", 404);
  });
});

describe("Object Lock on object versions", () => {
  it("PutObject lock headers are kept, shown on Get/Head, and refuse deletes of the version until the date passes", async () => {
    await lockedBucket("lock-obj");
    const until = await inFuture(3600);
    const put = await s3.send(new PutObjectCommand({ Bucket: "lock-obj", Key: "log.json", Body: "trail", ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: until }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "lock-obj", Key: "log.json" }));
    expect(got.ObjectLockMode).toBe("COMPLIANCE");
    expect(got.ObjectLockRetainUntilDate?.toISOString()).toBe(until.toISOString());
    const ret = await s3.send(new GetObjectRetentionCommand({ Bucket: "lock-obj", Key: "log.json" }));
    expect(ret.Retention?.Mode).toBe("COMPLIANCE");

    await fails(s3.send(new DeleteObjectCommand({ Bucket: "lock-obj", Key: "log.json", VersionId: put.VersionId })), "AccessDenied", 403, LOCKED);
    // even with the bypass, COMPLIANCE holds
    await fails(s3.send(new DeleteObjectCommand({ Bucket: "lock-obj", Key: "log.json", VersionId: put.VersionId, BypassGovernanceRetention: true })), "AccessDenied", 403, LOCKED);
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: "lock-obj", Delete: { Objects: [{ Key: "log.json", VersionId: put.VersionId }] } }));
    expect(batch.Errors?.[0]?.Code).toBe("AccessDenied");
    expect(batch.Deleted ?? []).toHaveLength(0);
    // COMPLIANCE can be extended, never shortened or removed
    await fails(
      s3.send(new PutObjectRetentionCommand({ Bucket: "lock-obj", Key: "log.json", Retention: { Mode: "COMPLIANCE", RetainUntilDate: new Date(until.getTime() - 60_000) } })),
      "AccessDenied",
      403,
    );
    await fails(
      s3.send(new PutObjectRetentionCommand({ Bucket: "lock-obj", Key: "log.json", BypassGovernanceRetention: true, Retention: { Mode: "GOVERNANCE", RetainUntilDate: until } })),
      "AccessDenied",
      403,
    );
    await fails(s3.send(new PutObjectRetentionCommand({ Bucket: "lock-obj", Key: "log.json", BypassGovernanceRetention: true, Retention: {} })), "AccessDenied", 403);

    // a simple delete still adds a delete marker; the version stays
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: "lock-obj", Key: "log.json" }));
    expect(marker.DeleteMarker).toBe(true);
    expect(await (await s3.send(new GetObjectCommand({ Bucket: "lock-obj", Key: "log.json", VersionId: put.VersionId }))).Body!.transformToString()).toBe("trail");
    await fails(s3.send(new DeleteBucketCommand({ Bucket: "lock-obj" })), "BucketNotEmpty", 409);

    await s.advanceClock(3601);
    await s3.send(new DeleteObjectCommand({ Bucket: "lock-obj", Key: "log.json", VersionId: put.VersionId }));
    await fails(s3.send(new HeadObjectCommand({ Bucket: "lock-obj", Key: "log.json", VersionId: put.VersionId })), "NotFound", 404);
  });

  it("GOVERNANCE yields to x-amz-bypass-governance-retention only for callers allowed s3:BypassGovernanceRetention", async () => {
    await lockedBucket("lock-gov");
    const until = await inFuture(3600);
    const v1 = await s3.send(new PutObjectCommand({ Bucket: "lock-gov", Key: "a", Body: "1", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: until }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: "lock-gov", Key: "a", Body: "2", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: until }));
    await fails(s3.send(new DeleteObjectCommand({ Bucket: "lock-gov", Key: "a", VersionId: v1.VersionId })), "AccessDenied", 403, LOCKED);
    await fails(
      s3.send(
        new PutObjectRetentionCommand({
          Bucket: "lock-gov",
          Key: "a",
          VersionId: v1.VersionId,
          Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date(until.getTime() - 60_000) },
        }),
      ),
      "AccessDenied",
      403,
    );

    // a user allowed to delete versions, but not to bypass
    const iam = new IAMClient(s.config);
    await iam.send(new CreateUserCommand({ UserName: "lock-deleter" }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "lock-deleter",
        PolicyName: "delete",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: ["s3:DeleteObjectVersion", "s3:DeleteObject", "s3:GetObject"], Resource: "*" }],
        }),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "lock-deleter" }))).AccessKey!;
    const user = new S3Client({ ...s.config, forcePathStyle: true, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } });
    await fails(user.send(new DeleteObjectCommand({ Bucket: "lock-gov", Key: "a", VersionId: v1.VersionId, BypassGovernanceRetention: true })), "AccessDenied", 403, LOCKED);
    // the lock headers are shown only to callers who may read the retention
    expect((await user.send(new HeadObjectCommand({ Bucket: "lock-gov", Key: "a" }))).ObjectLockMode).toBeUndefined();
    expect((await s3.send(new HeadObjectCommand({ Bucket: "lock-gov", Key: "a" }))).ObjectLockMode).toBe("GOVERNANCE");

    // the account (allowed everything) bypasses GOVERNANCE, for one object and in a batch
    await s3.send(new DeleteObjectCommand({ Bucket: "lock-gov", Key: "a", VersionId: v1.VersionId, BypassGovernanceRetention: true }));
    const batch = await s3.send(new DeleteObjectsCommand({ Bucket: "lock-gov", BypassGovernanceRetention: true, Delete: { Objects: [{ Key: "a", VersionId: v2.VersionId }] } }));
    expect(batch.Errors ?? []).toHaveLength(0);
    expect(batch.Deleted?.[0]?.VersionId).toBe(v2.VersionId);
  });

  it("a legal hold refuses deletes until it is OFF, whatever the retention", async () => {
    await lockedBucket("lock-hold");
    const put = await s3.send(new PutObjectCommand({ Bucket: "lock-hold", Key: "h", Body: "x", ObjectLockLegalHoldStatus: "ON" }));
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-hold", Key: "h" }))).LegalHold?.Status).toBe("ON");
    expect((await s3.send(new HeadObjectCommand({ Bucket: "lock-hold", Key: "h" }))).ObjectLockLegalHoldStatus).toBe("ON");
    await fails(s3.send(new DeleteObjectCommand({ Bucket: "lock-hold", Key: "h", VersionId: put.VersionId, BypassGovernanceRetention: true })), "AccessDenied", 403, LOCKED);
    await fails(s3.send(new GetObjectRetentionCommand({ Bucket: "lock-hold", Key: "h" })), "NoSuchObjectLockConfiguration", 404);
    const plain = await s3.send(new PutObjectCommand({ Bucket: "lock-hold", Key: "plain", Body: "x" }));
    await fails(s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-hold", Key: "plain", VersionId: plain.VersionId })), "NoSuchObjectLockConfiguration", 404);
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-hold", Key: "h", VersionId: put.VersionId, LegalHold: { Status: "OFF" } }));
    expect((await s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-hold", Key: "h" }))).LegalHold?.Status).toBe("OFF");
    await s3.send(new DeleteObjectCommand({ Bucket: "lock-hold", Key: "h", VersionId: put.VersionId }));
  });

  it("bad lock parameters answer AWS's errors and store nothing", async () => {
    await lockedBucket("lock-args");
    await fails(
      s3.send(new PutObjectCommand({ Bucket: "lock-args", Key: "k", Body: "x", ObjectLockMode: "GOVERNANCE" })),
      "InvalidArgument",
      400,
      "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
    );
    await fails(
      s3.send(new PutObjectCommand({ Bucket: "lock-args", Key: "k", Body: "x", ObjectLockMode: "FOREVER" as never, ObjectLockRetainUntilDate: new Date("2099-01-01T00:00:00Z") })),
      "InvalidArgument",
      400,
      "Unknown wormMode directive.",
    );
    await fails(
      s3.send(new PutObjectCommand({ Bucket: "lock-args", Key: "k", Body: "x", ObjectLockMode: "GOVERNANCE", ObjectLockRetainUntilDate: new Date("2001-01-01T00:00:00Z") })),
      "InvalidArgument",
      400,
      "The retain until date must be in the future!",
    );
    await fails(s3.send(new PutObjectCommand({ Bucket: "lock-args", Key: "k", Body: "x", ObjectLockLegalHoldStatus: "MAYBE" as never })), "InvalidArgument", 400);
    await fails(
      s3.send(new PutObjectCommand({ Bucket: "lock-clock", Key: "k", Body: "x", ObjectLockLegalHoldStatus: "ON" })),
      "InvalidRequest",
      400,
      "Bucket is missing ObjectLockConfiguration",
    );
    await fails(s3.send(new HeadObjectCommand({ Bucket: "lock-args", Key: "k" })), "NotFound", 404);
    await fails(
      s3.send(new PutObjectLegalHoldCommand({ Bucket: "lock-clock", Key: "now", LegalHold: { Status: "ON" } })),
      "InvalidRequest",
      400,
      "Bucket is missing Object Lock Configuration",
    );
    await fails(
      s3.send(new PutObjectRetentionCommand({ Bucket: "lock-args", Key: "missing", Retention: { Mode: "GOVERNANCE", RetainUntilDate: new Date("2099-01-01T00:00:00Z") } })),
      "NoSuchKey",
      404,
    );
    await fails(s3.send(new GetObjectLegalHoldCommand({ Bucket: "lock-args", Key: "k", VersionId: "bogus!" })), "InvalidArgument", 400);
  });

  it("lock parameters without Content-MD5 or a checksum are refused", async () => {
    await lockedBucket("lock-md5");
    const raw = new S3Client({ ...s.config, forcePathStyle: true, requestChecksumCalculation: "WHEN_REQUIRED" });
    await fails(
      raw.send(new PutObjectCommand({ Bucket: "lock-md5", Key: "k", Body: "x", ObjectLockLegalHoldStatus: "ON" })),
      "InvalidRequest",
      400,
      "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
    );
    await raw.send(new PutObjectCommand({ Bucket: "lock-md5", Key: "plain", Body: "x" }));
  });
});

describe("CloudTrail delivery into a locked bucket", () => {
  it("log files get the bucket's default retention and cannot be deleted", async () => {
    await createTrailBucket(s3, "locked-trail");
    await s3.send(new PutBucketVersioningCommand({ Bucket: "locked-trail", VersioningConfiguration: { Status: "Enabled" } }));
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket: "locked-trail",
        ObjectLockConfiguration: { ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Years: 1 } } },
      }),
    );
    const ct = new CloudTrailClient(s.config);
    await ct.send(new CreateTrailCommand({ Name: "locked", S3BucketName: "locked-trail" }));
    await ct.send(new StartLoggingCommand({ Name: "locked" }));
    await s.advanceClock(600);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "locked-trail", Prefix: "AWSLogs/" }));
    expect(versions.Versions?.length ?? 0).toBeGreaterThan(0);
    const v = versions.Versions![0];
    const retention = await s3.send(new GetObjectRetentionCommand({ Bucket: "locked-trail", Key: v.Key, VersionId: v.VersionId }));
    expect(retention.Retention?.Mode).toBe("COMPLIANCE");
    expect(retention.Retention!.RetainUntilDate!.getTime()).toBeGreaterThan(v.LastModified!.getTime() + 364 * 86_400_000);
    await fails(s3.send(new DeleteObjectCommand({ Bucket: "locked-trail", Key: v.Key, VersionId: v.VersionId, BypassGovernanceRetention: true })), "AccessDenied", 403, LOCKED);
  });
});
