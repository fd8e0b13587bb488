/**
 * The bucket (and key) an S3 call names: the record of a refused or failed call names it, object
 * calls stay data events (not in event history) even when refused, and a caller without
 * permission is refused before the bucket is looked up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, DeleteBucketCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, addTestPrincipals, lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let s3: S3Client;
let ct: CloudTrailClient;
let alice: S3Client;
let other: S3Client;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
  ct = new CloudTrailClient(s.config);
  // alice has no policies: an IAM user without policies is denied everything
  alice = new S3Client({ ...addTestPrincipals(s).user, forcePathStyle: true });
  other = new S3Client({ ...s.configFor({ accessKeyId: "111122223333", secretAccessKey: "test" }), forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "owned-bucket" }));
  await s3.send(new PutObjectCommand({ Bucket: "owned-bucket", Key: "secret.txt", Body: "owner's" }));
});
afterAll(async () => {
  await s?.close();
});

async function failure(p: Promise<unknown>): Promise<{ name: string; $metadata: { requestId: string; httpStatusCode: number } }> {
  const e = await p.then(
    () => undefined,
    (x: { name: string; $metadata: { requestId: string; httpStatusCode: number } }) => x,
  );
  expect(e, "the call fails").toBeDefined();
  return e!;
}

describe("refused and failed S3 calls", () => {
  it("a caller without permission is refused before the bucket is looked up", async () => {
    const e = await failure(alice.send(new DeleteBucketCommand({ Bucket: "no-such-bucket" })));
    expect([e.name, e.$metadata.httpStatusCode]).toEqual(["AccessDenied", 403]);
  });

  it("the record of a failed bucket call names the bucket", async () => {
    const e = await failure(s3.send(new DeleteBucketCommand({ Bucket: "no-such-bucket" })));
    expect(e.name).toBe("NoSuchBucket");
    const r = (await lookupAll(ct, "EventName", "DeleteBucket")).map(recordOf).find((x) => x.requestID === e.$metadata.requestId);
    expect(r?.errorCode).toBe("NoSuchBucket");
    expect(r?.resources).toEqual([{ ARN: "arn:aws:s3:::no-such-bucket", accountId: ACCOUNT, type: "AWS::S3::Bucket" }]);
  });

  it("another account's object and listing calls are refused and stay data events", async () => {
    const get = await failure(other.send(new GetObjectCommand({ Bucket: "owned-bucket", Key: "secret.txt" })));
    expect([get.name, get.$metadata.httpStatusCode]).toEqual(["AccessDenied", 403]);
    const head = await failure(other.send(new HeadBucketCommand({ Bucket: "owned-bucket" })));
    expect(head.$metadata.httpStatusCode).toBe(403);
    // data events, whichever account's record: in neither account's event history
    const otherCt = new CloudTrailClient(s.configFor({ accessKeyId: "111122223333", secretAccessKey: "test" }));
    for (const client of [ct, otherCt]) {
      expect(await lookupAll(client, "EventName", "GetObject")).toEqual([]);
      expect(await lookupAll(client, "EventName", "HeadBucket")).toEqual([]);
    }
  });
});
