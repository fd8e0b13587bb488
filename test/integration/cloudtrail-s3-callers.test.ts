/**
 * S3 data events of callers outside the bucket's account: an unsigned (anonymous) request, and
 * another account's principal, as trails deliver them (docs/cloudtrail.md#s3).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gunzipSync } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, PutEventSelectorsCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutBucketPolicyCommand, PutObjectCommand, PutPublicAccessBlockCommand, S3Client } from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createTrailBucket } from "./cloudtrail-helpers.ts";
import { OTHER } from "./cross-account-helpers.ts";
import type { LooseJson } from "../support/json.ts";

let s: TestServer;
let owner: S3Client;
let other: S3Client;
const otherCreds = { accessKeyId: OTHER, secretAccessKey: "test" };

beforeAll(async () => {
  s = await startTestServer();
  owner = new S3Client({ ...s.config, forcePathStyle: true, maxAttempts: 1 });
  other = new S3Client({ ...s.configFor(otherCreds), forcePathStyle: true, maxAttempts: 1 });
});
afterAll(async () => {
  await s?.close();
});

/** A trail in the client's account logging only S3 object data events of `arn`. */
async function dataTrail(s3: S3Client, ct: CloudTrailClient, name: string, arn: string): Promise<void> {
  await createTrailBucket(s3, name);
  await ct.send(new CreateTrailCommand({ Name: name, S3BucketName: name }));
  await ct.send(
    new PutEventSelectorsCommand({ TrailName: name, EventSelectors: [{ IncludeManagementEvents: false, DataResources: [{ Type: "AWS::S3::Object", Values: [arn] }] }] }),
  );
  await ct.send(new StartLoggingCommand({ Name: name }));
}

/** Every record delivered to a trail bucket. */
async function delivered(s3: S3Client, bucket: string): Promise<LooseJson[]> {
  const out: LooseJson[] = [];
  const list = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "AWSLogs/" }));
  for (const c of list.Contents ?? []) {
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: c.Key }))).Body!.transformToByteArray();
    out.push(...(JSON.parse(gunzipSync(body).toString()) as { Records: LooseJson[] }).Records);
  }
  return out;
}

async function sharedBucket(name: string, principal: unknown): Promise<void> {
  await owner.send(new CreateBucketCommand({ Bucket: name }));
  await owner.send(
    new PutPublicAccessBlockCommand({
      Bucket: name,
      PublicAccessBlockConfiguration: { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false },
    }),
  );
  await owner.send(new PutObjectCommand({ Bucket: name, Key: "data.txt", Body: "owner data" }));
  const Policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: principal, Action: "s3:GetObject", Resource: `arn:aws:s3:::${name}/*` }] });
  await owner.send(new PutBucketPolicyCommand({ Bucket: name, Policy }));
}

describe("S3 data events of callers from outside the bucket's account", () => {
  it("record an unsigned request as the anonymous AWS account, delivered to the bucket owner", async () => {
    await sharedBucket("public-data", "*");
    await dataTrail(owner, new CloudTrailClient(s.config), "anon-trail", "arn:aws:s3:::public-data/");
    const r = await fetch(`${s.url}/public-data/data.txt`);
    expect(r.status).toBe(200);
    await s.advanceClock(600);
    const recs = (await delivered(owner, "anon-trail")).filter((x) => x.eventName === "GetObject");
    expect(recs).toHaveLength(1);
    expect(recs[0].userIdentity).toEqual({ type: "AWSAccount", principalId: "", accountId: "ANONYMOUS_PRINCIPAL" });
    expect(recs[0]).toMatchObject({ recipientAccountId: ACCOUNT, eventCategory: "Data", requestParameters: { bucketName: "public-data", key: "data.txt" } });
  });

  it("deliver another account's object read to the bucket owner's trail and to the requester's", async () => {
    await sharedBucket("shared-data", { AWS: `arn:aws:iam::${OTHER}:root` });
    await dataTrail(owner, new CloudTrailClient(s.config), "owner-trail", "arn:aws:s3:::shared-data/");
    await dataTrail(other, new CloudTrailClient(s.configFor(otherCreds)), "requester-trail", "arn:aws:s3:::shared-data/");
    const got = await other.send(new GetObjectCommand({ Bucket: "shared-data", Key: "data.txt" }));
    expect(await got.Body!.transformToString()).toBe("owner data");
    await s.advanceClock(600);
    const ownerRecs = (await delivered(owner, "owner-trail")).filter((x) => x.eventName === "GetObject");
    const requesterRecs = (await delivered(other, "requester-trail")).filter((x) => x.eventName === "GetObject");
    expect(ownerRecs).toHaveLength(1);
    expect(requesterRecs).toHaveLength(1);
    expect(ownerRecs[0].recipientAccountId).toBe(ACCOUNT);
    expect(requesterRecs[0].recipientAccountId).toBe(OTHER);
    // the requester sees its own principal; the owner sees the requester's account and principal id
    expect(requesterRecs[0].userIdentity).toMatchObject({ type: "Root", accountId: OTHER, arn: `arn:aws:iam::${OTHER}:root`, accessKeyId: OTHER });
    expect(ownerRecs[0].userIdentity).toEqual({ type: "AWSAccount", principalId: OTHER, accountId: OTHER });
    for (const rec of [ownerRecs[0], requesterRecs[0]]) {
      expect(rec.requestID).toBe(got.$metadata.requestId);
      expect(rec.resources).toContainEqual({ accountId: ACCOUNT, type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::shared-data" });
    }
    // one event per account, tied together as AWS ties cross-account events
    expect(requesterRecs[0].eventID).not.toBe(ownerRecs[0].eventID);
    expect(requesterRecs[0].sharedEventID).toMatch(/^[0-9a-f-]{36}$/);
    expect(requesterRecs[0].sharedEventID).toBe(ownerRecs[0].sharedEventID);
  });

  it("deliver nothing to a requester whose trail does not log that bucket", async () => {
    await sharedBucket("quiet-data", { AWS: `arn:aws:iam::${OTHER}:root` });
    await dataTrail(other, new CloudTrailClient(s.configFor(otherCreds)), "elsewhere-trail", "arn:aws:s3:::some-other-bucket/");
    await other.send(new GetObjectCommand({ Bucket: "quiet-data", Key: "data.txt" }));
    await s.advanceClock(600);
    expect((await delivered(other, "elsewhere-trail")).filter((x) => x.eventName === "GetObject")).toEqual([]);
  });
});
