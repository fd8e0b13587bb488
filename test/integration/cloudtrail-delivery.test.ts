/** Trails deliver gzipped log files and signed, chained digest files to S3 on the service clock. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash, createPublicKey, verify } from "node:crypto";
import { gunzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  GetTrailStatusCommand,
  ListPublicKeysCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { recordServiceEvent } from "../../src/audit/sink.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createTrailBucket } from "./cloudtrail-helpers.ts";
import type { LooseJson } from "../support/json.ts";

let s: TestServer;
let ct: CloudTrailClient;
let s3: S3Client;
let sts: STSClient;

beforeAll(async () => {
  s = await startTestServer();
  ct = new CloudTrailClient(s.config);
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
  sts = new STSClient(s.config);
  await createTrailBucket(s3, "delivery");
});
afterAll(async () => {
  await s?.close();
});

async function keys(prefix: string, client = s3, bucket = "delivery"): Promise<string[]> {
  const out: string[] = [];
  let ContinuationToken: string | undefined;
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }));
    out.push(...(r.Contents ?? []).map((c) => c.Key!));
    ContinuationToken = r.NextContinuationToken;
  } while (ContinuationToken);
  return out;
}

async function object(key: string, bucket = "delivery"): Promise<{ raw: Buffer; body: Buffer; metadata: Record<string, string> }> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const raw = Buffer.from(await r.Body!.transformToByteArray());
  return { raw, body: gunzipSync(raw), metadata: r.Metadata ?? {} };
}

async function records(prefix: string): Promise<LooseJson[]> {
  const out: LooseJson[] = [];
  for (const k of await keys(prefix)) out.push(...(JSON.parse((await object(k)).body.toString()) as { Records: LooseJson[] }).Records);
  return out;
}

/** Checks a digest file exactly as `aws cloudtrail validate-logs` does; returns it parsed. */
async function verifyDigest(key: string, client = ct): Promise<{ digest: LooseJson; signature: string; hash: string }> {
  const { body, metadata } = await object(key);
  const digest = JSON.parse(body.toString()) as LooseJson;
  expect(metadata["signature-algorithm"]).toBe("SHA256withRSA");
  expect(metadata.signature).toMatch(/^[0-9a-f]{512}$/);
  expect(digest.digestS3Bucket).toBe("delivery");
  expect(digest.digestS3Object).toBe(key);
  expect(digest.digestSignatureAlgorithm).toBe("SHA256withRSA");
  const end = new Date(digest.digestEndTime);
  const { PublicKeyList } = await client.send(new ListPublicKeysCommand({ StartTime: new Date(end.getTime() - 3600_000), EndTime: new Date(end.getTime() + 7200_000) }));
  const pk = PublicKeyList!.find((k) => k.Fingerprint === digest.digestPublicKeyFingerprint);
  expect(pk, "public key for the digest's fingerprint").toBeDefined();
  const hash = createHash("sha256").update(body).digest("hex");
  const signing = `${digest.digestEndTime}\n${digest.digestS3Bucket}/${digest.digestS3Object}\n${hash}\n${digest.previousDigestSignature ?? "null"}`;
  const pub = createPublicKey({ key: Buffer.from(pk!.Value!), format: "der", type: "pkcs1" });
  expect(verify("sha256", Buffer.from(signing), pub, Buffer.from(metadata.signature, "hex"))).toBe(true);
  // Every listed log file hashes (uncompressed) to its hashValue.
  for (const f of digest.logFiles) {
    expect(f.s3Bucket).toBe("delivery");
    expect(f.hashAlgorithm).toBe("SHA-256");
    expect(
      createHash("sha256")
        .update((await object(f.s3Object)).body)
        .digest("hex"),
    ).toBe(f.hashValue);
  }
  return { digest, signature: metadata.signature, hash };
}

const LOG_KEY = new RegExp(`^audit/AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/\\d{4}/\\d\\d/\\d\\d/${ACCOUNT}_CloudTrail_us-east-1_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`);
const DIGEST_KEY = new RegExp(
  `^audit/AWSLogs/${ACCOUNT}/CloudTrail-Digest/us-east-1/\\d{4}/\\d\\d/\\d\\d/${ACCOUNT}_CloudTrail-Digest_us-east-1_main_us-east-1_\\d{8}T\\d{6}Z\\.json\\.gz$`,
);

describe("log files", () => {
  let firstDigest: { digest: LooseJson; signature: string; hash: string; key: string };

  it("are delivered about every five minutes of service time as gzipped {Records: [...]}", async () => {
    await ct.send(new CreateTrailCommand({ Name: "main", S3BucketName: "delivery", S3KeyPrefix: "audit", EnableLogFileValidation: true }));
    await ct.send(new StartLoggingCommand({ Name: "main" }));
    const call = await sts.send(new GetCallerIdentityCommand({}));
    expect(await keys("audit/")).toEqual([]);
    await s.advanceClock(600);
    const logs = await keys("audit/AWSLogs/");
    expect(logs.length).toBe(1);
    expect(logs[0]).toMatch(LOG_KEY);
    const recs = await records("audit/AWSLogs/");
    const mine = recs.find((r) => r.requestID === call.$metadata.requestId);
    expect(mine).toMatchObject({ eventName: "GetCallerIdentity", eventSource: "sts.amazonaws.com", userIdentity: { type: "Root" } });
    // StartLogging itself is delivered; CreateTrail (before logging started) is not.
    expect(recs.map((r) => r.eventName)).toContain("StartLogging");
    expect(recs.map((r) => r.eventName)).not.toContain("CreateTrail");
    // Nothing new: no empty log file on the next delivery.
    await s.advanceClock(400);
    expect((await keys("audit/AWSLogs/")).filter((k) => k.includes("/CloudTrail/")).length).toBe(1);
    const status = await ct.send(new GetTrailStatusCommand({ Name: "main" }));
    expect(status.LatestDeliveryTime).toBeInstanceOf(Date);
    expect(status.LatestDigestDeliveryTime).toBeUndefined();
  });

  it("are covered by a signed digest every hour; the first digest has null previous fields", async () => {
    await s.advanceClock(3600);
    const digests = await keys("audit/AWSLogs/000000000000/CloudTrail-Digest/");
    expect(digests.length).toBe(1);
    expect(digests[0]).toMatch(DIGEST_KEY);
    const d = await verifyDigest(digests[0]);
    expect(digests[0].slice(-24, -8)).toBe(d.digest.digestEndTime.replace(/[-:]/g, ""));
    expect(d.digest).toMatchObject({
      awsAccountId: ACCOUNT,
      previousDigestS3Bucket: null,
      previousDigestS3Object: null,
      previousDigestHashValue: null,
      previousDigestHashAlgorithm: null,
      previousDigestSignature: null,
    });
    expect(Object.keys(d.digest)).toEqual([
      "awsAccountId",
      "digestStartTime",
      "digestEndTime",
      "digestS3Bucket",
      "digestS3Object",
      "digestPublicKeyFingerprint",
      "digestSignatureAlgorithm",
      "newestEventTime",
      "oldestEventTime",
      "previousDigestS3Bucket",
      "previousDigestS3Object",
      "previousDigestHashValue",
      "previousDigestHashAlgorithm",
      "previousDigestSignature",
      "logFiles",
    ]);
    const logs = (await keys("audit/AWSLogs/000000000000/CloudTrail/")).sort();
    expect(d.digest.logFiles.map((f: { s3Object: string }) => f.s3Object).sort()).toEqual(logs);
    expect(d.digest.oldestEventTime <= d.digest.newestEventTime).toBe(true);
    const status = await ct.send(new GetTrailStatusCommand({ Name: "main" }));
    expect(status.LatestDigestDeliveryTime).toBeInstanceOf(Date);
    firstDigest = { ...d, key: digests[0] };
  });

  it("chains each digest to the previous one, also through an hour without activity", async () => {
    // The hour after the first digest delivers the calls made since (GetTrailStatus, ListPublicKeys)…
    await s.advanceClock(3600);
    // …and with no management call in the next hour, its digest lists no log files. S3 object calls
    // are data events, which a trail with default selectors does not deliver.
    await s3.send(new PutObjectCommand({ Bucket: "delivery", Key: "unrelated.txt", Body: "x" }));
    await s.advanceClock(3600);
    const digests = (await keys("audit/AWSLogs/000000000000/CloudTrail-Digest/")).sort();
    expect(digests.length).toBe(3);
    const second = await verifyDigest(digests[1]);
    expect(second.digest).toMatchObject({
      digestStartTime: firstDigest.digest.digestEndTime,
      previousDigestS3Bucket: "delivery",
      previousDigestS3Object: firstDigest.key,
      previousDigestHashValue: firstDigest.hash,
      previousDigestHashAlgorithm: "SHA-256",
      previousDigestSignature: firstDigest.signature,
    });
    expect(second.digest.logFiles.length).toBe(1);
    const third = await verifyDigest(digests[2]);
    expect(third.digest).toMatchObject({
      digestStartTime: second.digest.digestEndTime,
      previousDigestS3Object: digests[1],
      previousDigestHashValue: second.hash,
      previousDigestSignature: second.signature,
      logFiles: [],
      newestEventTime: null,
      oldestEventTime: null,
    });
  });

  it("delivers a final digest on StopLogging, then nothing more", async () => {
    await sts.send(new GetCallerIdentityCommand({}));
    await ct.send(new StopLoggingCommand({ Name: "main" }));
    const digests = (await keys("audit/AWSLogs/000000000000/CloudTrail-Digest/")).sort();
    expect(digests.length).toBe(4);
    const prev = await verifyDigest(digests[2]);
    const final = await verifyDigest(digests[3]);
    expect(final.digest.previousDigestS3Object).toBe(digests[2]);
    expect(final.digest.previousDigestSignature).toBe(prev.signature);
    expect(final.digest.logFiles.length).toBe(1);
    const logsBefore = await keys("audit/AWSLogs/000000000000/CloudTrail/");
    await sts.send(new GetCallerIdentityCommand({}));
    await s.advanceClock(7200);
    expect(await keys("audit/AWSLogs/000000000000/CloudTrail/")).toEqual(logsBefore);
    expect((await keys("audit/AWSLogs/000000000000/CloudTrail-Digest/")).length).toBe(4);
    // Logging again starts a new chain.
    await ct.send(new StartLoggingCommand({ Name: "main" }));
    await sts.send(new GetCallerIdentityCommand({}));
    await s.advanceClock(3700);
    const after = (await keys("audit/AWSLogs/000000000000/CloudTrail-Digest/")).sort();
    expect(after.length).toBe(5);
    expect((await verifyDigest(after[4])).digest.previousDigestSignature).toBeNull();
    await ct.send(new StopLoggingCommand({ Name: "main" }));
  });
});

describe("event selectors at delivery", () => {
  it("leave out kms.amazonaws.com events when excluded, while another trail keeps them", async () => {
    await createTrailBucket(s3, "sel-all");
    await createTrailBucket(s3, "sel-nokms");
    await ct.send(new CreateTrailCommand({ Name: "all", S3BucketName: "sel-all" }));
    await ct.send(new CreateTrailCommand({ Name: "nokms", S3BucketName: "sel-nokms" }));
    await ct.send(
      new PutEventSelectorsCommand({
        TrailName: "nokms",
        EventSelectors: [{ ReadWriteType: "All", IncludeManagementEvents: true, ExcludeManagementEventSources: ["kms.amazonaws.com"] }],
      }),
    );
    await ct.send(new StartLoggingCommand({ Name: "all" }));
    await ct.send(new StartLoggingCommand({ Name: "nokms" }));
    await recordServiceEvent(s.app, {
      accountId: ACCOUNT,
      region: "us-east-1",
      eventSource: "kms.amazonaws.com",
      eventName: "RotateKey",
      resources: [{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: `arn:aws:kms:us-east-1:${ACCOUNT}:key/k-sel` }],
      serviceEventDetails: { keyId: "k-sel" },
    });
    await sts.send(new GetCallerIdentityCommand({}));
    await s.advanceClock(600);
    const names = async (bucket: string) => {
      const out: string[] = [];
      for (const k of await keys("AWSLogs/", s3, bucket))
        out.push(...(JSON.parse((await object(k, bucket)).body.toString()).Records as { eventSource: string }[]).map((r) => r.eventSource));
      return out;
    };
    const all = await names("sel-all");
    const nokms = await names("sel-nokms");
    expect(all).toContain("kms.amazonaws.com");
    expect(all).toContain("sts.amazonaws.com");
    expect(nokms).not.toContain("kms.amazonaws.com");
    expect(nokms).toContain("sts.amazonaws.com");
    await ct.send(new StopLoggingCommand({ Name: "all" }));
    await ct.send(new StopLoggingCommand({ Name: "nokms" }));
  });

  it("deliver S3 data events to a trail whose selectors name the bucket", async () => {
    await createTrailBucket(s3, "data-logs");
    await s3.send(new CreateBucketCommand({ Bucket: "watched" }));
    await ct.send(new CreateTrailCommand({ Name: "data", S3BucketName: "data-logs" }));
    await ct.send(
      new PutEventSelectorsCommand({
        TrailName: "data",
        EventSelectors: [{ IncludeManagementEvents: false, DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::watched/"] }] }],
      }),
    );
    await ct.send(new StartLoggingCommand({ Name: "data" }));
    await s3.send(new PutObjectCommand({ Bucket: "watched", Key: "secret.txt", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: "delivery", Key: "not-watched.txt", Body: "x" }));
    await s.advanceClock(600);
    const recs: LooseJson[] = [];
    for (const k of await keys("AWSLogs/", s3, "data-logs")) recs.push(...JSON.parse((await object(k, "data-logs")).body.toString()).Records);
    expect(recs.map((r) => [r.eventName, r.requestParameters.bucketName])).toEqual([["PutObject", "watched"]]);
    expect(recs[0]).toMatchObject({
      eventCategory: "Data",
      managementEvent: false,
      readOnly: false,
      requestParameters: { bucketName: "watched", key: "secret.txt" },
      resources: [
        { type: "AWS::S3::Object", ARN: "arn:aws:s3:::watched/secret.txt" },
        { accountId: ACCOUNT, type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::watched" },
      ],
    });
    await ct.send(new StopLoggingCommand({ Name: "data" }));
  });

  it("multi-Region trails deliver each region's events under that region", async () => {
    await createTrailBucket(s3, "multi");
    await ct.send(new CreateTrailCommand({ Name: "multi", S3BucketName: "multi", IsMultiRegionTrail: true, EnableLogFileValidation: true }));
    await ct.send(new StartLoggingCommand({ Name: "multi" }));
    const w = await new STSClient({ ...s.config, region: "eu-west-1" }).send(new GetCallerIdentityCommand({}));
    await s.advanceClock(3700);
    const all = await keys("AWSLogs/", s3, "multi");
    const westLogs = all.filter((k) => k.includes("/CloudTrail/eu-west-1/"));
    expect(westLogs.length).toBe(1);
    expect(westLogs[0]).toMatch(new RegExp(`${ACCOUNT}_CloudTrail_eu-west-1_\\d{8}T\\d{4}Z_`));
    const recs = JSON.parse((await object(westLogs[0], "multi")).body.toString()).Records as { requestID: string; awsRegion: string }[];
    expect(recs.map((r) => r.requestID)).toContain(w.$metadata.requestId);
    expect(recs.every((r) => r.awsRegion === "eu-west-1")).toBe(true);
    // Each delivering region has its own digest chain, signed with that region's key.
    const westDigest = all.find((k) => k.includes("/CloudTrail-Digest/eu-west-1/"));
    expect(westDigest).toMatch(new RegExp(`${ACCOUNT}_CloudTrail-Digest_eu-west-1_multi_us-east-1_\\d{8}T\\d{6}Z\\.json\\.gz$`));
    const westCt = new CloudTrailClient({ ...s.config, region: "eu-west-1" });
    const { body, metadata } = await object(westDigest!, "multi");
    const digest = JSON.parse(body.toString());
    const { PublicKeyList } = await westCt.send(new ListPublicKeysCommand({}));
    const pk = PublicKeyList!.find((k) => k.Fingerprint === digest.digestPublicKeyFingerprint)!;
    const signing = `${digest.digestEndTime}\nmulti/${westDigest}\n${createHash("sha256").update(body).digest("hex")}\nnull`;
    expect(verify("sha256", Buffer.from(signing), createPublicKey({ key: Buffer.from(pk.Value!), format: "der", type: "pkcs1" }), Buffer.from(metadata.signature, "hex"))).toBe(
      true,
    );
    expect(all.some((k) => k.includes("/CloudTrail-Digest/us-east-1/"))).toBe(true);
    await ct.send(new StopLoggingCommand({ Name: "multi" }));
  });
});
