/** The minimal S3: buckets, objects, listings, errors, path and virtual-hosted style, restarts. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { SignatureV4 } from "@smithy/signature-v4";
import { startTestServer, type TestServer } from "../support/server.ts";
import { Sha256 } from "../support/signed-fetch.ts";
import { loopbackHandler } from "./cloudtrail-helpers.ts";
import type { LooseJson } from "../support/json.ts";

let s: TestServer;
let s3: S3Client;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
});
afterAll(async () => {
  await s?.close();
});

async function fails(p: Promise<unknown>, code: string, status: number): Promise<LooseJson> {
  const e = (await p.then(
    () => undefined,
    (x) => x,
  )) as LooseJson | undefined;
  expect(e, `expected ${code}`).toBeDefined();
  expect(e!.name).toBe(code);
  expect(e!.$metadata.httpStatusCode).toBe(status);
  return e!;
}

describe("buckets", () => {
  it("creates, lists, locates and deletes buckets", async () => {
    const r = await s3.send(new CreateBucketCommand({ Bucket: "alpha" }));
    expect(r.Location).toBe("/alpha");
    const eu = new S3Client({ ...s.config, region: "eu-west-1", forcePathStyle: true });
    await eu.send(new CreateBucketCommand({ Bucket: "beta", CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } }));
    const { Buckets, Owner } = await s3.send(new ListBucketsCommand({}));
    expect(Buckets!.map((b) => b.Name)).toEqual(["alpha", "beta"]);
    expect(Buckets![0].CreationDate).toBeInstanceOf(Date);
    expect(Owner!.ID).toMatch(/^[0-9a-f]{64}$/);
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: "alpha" }))).LocationConstraint).toBeUndefined();
    expect((await s3.send(new GetBucketLocationCommand({ Bucket: "beta" }))).LocationConstraint).toBe("eu-west-1");
    await s3.send(new HeadBucketCommand({ Bucket: "beta" }));
    await eu.send(new DeleteBucketCommand({ Bucket: "beta" }));
    await fails(s3.send(new HeadBucketCommand({ Bucket: "beta" })), "NotFound", 404);
  });

  it("answers S3's errors", async () => {
    const e = await fails(s3.send(new GetBucketLocationCommand({ Bucket: "nope-bucket" })), "NoSuchBucket", 404);
    expect(e.message).toBe("The specified bucket does not exist");
    expect(e.BucketName).toBe("nope-bucket");
    await fails(s3.send(new CreateBucketCommand({ Bucket: "Bad_Name" })), "InvalidBucketName", 400);
    // us-east-1 answers 200 to the owner re-creating a bucket; other regions BucketAlreadyOwnedByYou.
    await s3.send(new CreateBucketCommand({ Bucket: "alpha" }));
    const west = new S3Client({ ...s.config, region: "us-west-2", forcePathStyle: true });
    await west.send(new CreateBucketCommand({ Bucket: "gamma", CreateBucketConfiguration: { LocationConstraint: "us-west-2" } }));
    await fails(west.send(new CreateBucketCommand({ Bucket: "gamma", CreateBucketConfiguration: { LocationConstraint: "us-west-2" } })), "BucketAlreadyOwnedByYou", 409);
    const other = new S3Client({ ...s.configFor({ accessKeyId: "111122223333", secretAccessKey: "test" }), forcePathStyle: true });
    await fails(other.send(new CreateBucketCommand({ Bucket: "alpha" })), "BucketAlreadyExists", 409);
    await fails(other.send(new ListObjectsV2Command({ Bucket: "alpha" })), "AccessDenied", 403);
    expect((await other.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    // Without a location constraint a bucket lives in us-east-1: a us-west-2 request must name its region.
    // (SDK v3 fills the constraint in itself; botocore and the CLI do not.) Sent raw, as botocore would.
    const signer = new SignatureV4({ service: "s3", region: "us-west-2", credentials: s.config.credentials, sha256: Sha256 });
    const req = await signer.sign({
      method: "PUT",
      protocol: "http:",
      hostname: "127.0.0.1",
      port: s.port,
      path: "/delta",
      headers: { host: `127.0.0.1:${s.port}`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    });
    const raw = await fetch(`${s.url}/delta`, { method: "PUT", headers: req.headers as Record<string, string> });
    expect(raw.status).toBe(400);
    const xml = await raw.text();
    expect(xml).toContain("<Code>IllegalLocationConstraintException</Code>");
    expect(xml).toContain("<Message>The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.</Message>");
    await fails(s3.send(new CreateBucketCommand({ Bucket: "delta", CreateBucketConfiguration: { LocationConstraint: "us-east-1" as never } })), "InvalidLocationConstraint", 400);
    await s3.send(new PutObjectCommand({ Bucket: "alpha", Key: "keep", Body: "x" }));
    await fails(s3.send(new DeleteBucketCommand({ Bucket: "alpha" })), "BucketNotEmpty", 409);
  });
});

describe("objects", () => {
  it("puts and gets bodies with metadata, content type and ETag", async () => {
    const body = Buffer.from("hello, trail\n");
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: "alpha",
        Key: "dir/a b+c.txt",
        Body: body,
        ContentType: "text/plain",
        Metadata: { signature: "abc123", "signature-algorithm": "SHA256withRSA" },
      }),
    );
    const md5 = createHash("md5").update(body).digest("hex");
    expect(put.ETag).toBe(`"${md5}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: "alpha", Key: "dir/a b+c.txt" }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(body);
    expect(got.ContentType).toBe("text/plain");
    expect(got.ContentLength).toBe(body.length);
    expect(got.ETag).toBe(`"${md5}"`);
    expect(got.Metadata).toEqual({ signature: "abc123", "signature-algorithm": "SHA256withRSA" });
    expect(got.LastModified).toBeInstanceOf(Date);
    const head = await s3.send(new HeadObjectCommand({ Bucket: "alpha", Key: "dir/a b+c.txt" }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.Metadata).toEqual(got.Metadata);
    const part = await s3.send(new GetObjectCommand({ Bucket: "alpha", Key: "dir/a b+c.txt", Range: "bytes=7-11" }));
    expect(await part.Body!.transformToString()).toBe("trail");
    expect(part.ContentRange).toBe(`bytes 7-11/${body.length}`);
  });

  it("overwrites, deletes, and answers NoSuchKey / NotFound", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "alpha", Key: "tmp", Body: "one" }));
    await s3.send(new PutObjectCommand({ Bucket: "alpha", Key: "tmp", Body: "two" }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: "alpha", Key: "tmp" }))).Body!.transformToString()).toBe("two");
    await s3.send(new DeleteObjectCommand({ Bucket: "alpha", Key: "tmp" }));
    const e = await fails(s3.send(new GetObjectCommand({ Bucket: "alpha", Key: "tmp" })), "NoSuchKey", 404);
    expect(e.message).toBe("The specified key does not exist.");
    expect(e.Key).toBe("tmp");
    await fails(s3.send(new HeadObjectCommand({ Bucket: "alpha", Key: "tmp" })), "NotFound", 404);
    // Deleting a missing key succeeds, as in S3.
    await s3.send(new DeleteObjectCommand({ Bucket: "alpha", Key: "tmp" }));
    await fails(s3.send(new GetObjectCommand({ Bucket: "nope-bucket", Key: "k" })), "NoSuchBucket", 404);
  });

  it("refuses a wrong Content-MD5", async () => {
    await fails(s3.send(new PutObjectCommand({ Bucket: "alpha", Key: "md5", Body: "abc", ContentMD5: createHash("md5").update("abd").digest("base64") })), "BadDigest", 400);
  });

  it("refuses bodies over the size limit with S3's EntityTooLarge", async () => {
    const { request } = await import("node:http");
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${s.url}/alpha/huge`, {
        method: "PUT",
        headers: {
          "content-length": String(200 * 1024 * 1024),
          authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        },
      });
      req.on("response", (res) => {
        let b = "";
        res.on("data", (d: Buffer) => (b += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body: b }));
      });
      req.on("error", reject);
      req.write(Buffer.alloc(1024));
    });
    expect(status).toBe(400);
    expect(body).toContain("<Code>EntityTooLarge</Code>");
    expect(body).toContain("<MaxSizeAllowed>");
  });

  it("accepts streaming (aws-chunked) uploads", async () => {
    const { Readable } = await import("node:stream");
    const data = Buffer.alloc(200_000, 7);
    await s3.send(new PutObjectCommand({ Bucket: "alpha", Key: "streamed", Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]), ContentLength: data.length }));
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: "alpha", Key: "streamed" }))).Body!.transformToByteArray());
    expect(got.equals(data)).toBe(true);
  });
});

describe("listings", () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "listing" }));
    for (const k of ["a/1", "a/2", "a/b/3", "b/1", "c", "d/1", "d/2"]) await s3.send(new PutObjectCommand({ Bucket: "listing", Key: k, Body: k }));
  });

  it("ListObjects (v1): prefix, delimiter, marker, max-keys and NextMarker", async () => {
    const all = await s3.send(new ListObjectsCommand({ Bucket: "listing" }));
    expect(all.Contents!.map((c) => c.Key)).toEqual(["a/1", "a/2", "a/b/3", "b/1", "c", "d/1", "d/2"]);
    expect(all.IsTruncated).toBe(false);
    expect(all.Contents![0]).toMatchObject({ Size: 3, StorageClass: "STANDARD" });
    const rolled = await s3.send(new ListObjectsCommand({ Bucket: "listing", Delimiter: "/" }));
    expect(rolled.Contents!.map((c) => c.Key)).toEqual(["c"]);
    expect(rolled.CommonPrefixes!.map((p) => p.Prefix)).toEqual(["a/", "b/", "d/"]);
    const under = await s3.send(new ListObjectsCommand({ Bucket: "listing", Prefix: "a/", Delimiter: "/" }));
    expect(under.Contents!.map((c) => c.Key)).toEqual(["a/1", "a/2"]);
    expect(under.CommonPrefixes!.map((p) => p.Prefix)).toEqual(["a/b/"]);
    const page1 = await s3.send(new ListObjectsCommand({ Bucket: "listing", Delimiter: "/", MaxKeys: 2 }));
    expect(page1.IsTruncated).toBe(true);
    expect(page1.NextMarker).toBe("b/");
    const page2 = await s3.send(new ListObjectsCommand({ Bucket: "listing", Delimiter: "/", MaxKeys: 2, Marker: page1.NextMarker }));
    expect([...(page2.Contents ?? []).map((c) => c.Key), ...(page2.CommonPrefixes ?? []).map((p) => p.Prefix)]).toEqual(["c", "d/"]);
    const after = await s3.send(new ListObjectsCommand({ Bucket: "listing", Marker: "b/1" }));
    expect(after.Contents!.map((c) => c.Key)).toEqual(["c", "d/1", "d/2"]);
  });

  it("ListObjectsV2: continuation tokens, start-after, KeyCount", async () => {
    const keys: string[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: "listing", MaxKeys: 3, ContinuationToken }));
      expect(r.KeyCount).toBe(r.Contents!.length);
      keys.push(...r.Contents!.map((c) => c.Key!));
      ContinuationToken = r.NextContinuationToken;
      pages++;
    } while (ContinuationToken);
    expect(keys).toEqual(["a/1", "a/2", "a/b/3", "b/1", "c", "d/1", "d/2"]);
    expect(pages).toBe(3);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: "listing", StartAfter: "c" }))).Contents!.map((c) => c.Key)).toEqual(["d/1", "d/2"]);
    await fails(s3.send(new ListObjectsV2Command({ Bucket: "listing", ContinuationToken: "bogus" })), "InvalidArgument", 400);
  });
});

describe("credentials S3 refuses", () => {
  it("an expired presigned URL is AccessDenied 'Request has expired'", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "presigned" }));
    await s3.send(new PutObjectCommand({ Bucket: "presigned", Key: "k", Body: "x" }));
    const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials: s.config.credentials, sha256: Sha256, uriEscapePath: false });
    const get = (signingDate?: Date) =>
      signer.presign(
        {
          method: "GET",
          protocol: "http:",
          hostname: "127.0.0.1",
          port: s.port,
          path: "/presigned/k",
          query: {},
          headers: { host: `127.0.0.1:${s.port}`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
        },
        { expiresIn: 60, signingDate },
      );
    const url = (r: Awaited<ReturnType<typeof get>>) => `${s.url}/presigned/k?${new URLSearchParams(r.query as Record<string, string>)}`;
    const fresh = await fetch(url(await get()));
    expect(fresh.status).toBe(200);
    expect(await fresh.text()).toBe("x");
    const late = await fetch(url(await get(new Date(Date.now() - 120_000))));
    expect(late.status).toBe(403);
    const xml = await late.text();
    expect(xml).toContain("<Code>AccessDenied</Code>");
    expect(xml).toContain("<Message>Request has expired</Message>");
  });

  it("a long-term key with a session token is InvalidToken", async () => {
    const withToken = new S3Client({ ...s.configFor({ accessKeyId: "test", secretAccessKey: "test", sessionToken: "not-a-session" }), forcePathStyle: true });
    await fails(withToken.send(new ListBucketsCommand({})), "InvalidToken", 400);
  });
});

describe("virtual-hosted style", () => {
  it("serves bucket.localhost host names", async () => {
    const vh = new S3Client({ ...s.config, endpoint: `http://localhost:${s.port}`, forcePathStyle: false, requestHandler: loopbackHandler() });
    await vh.send(new CreateBucketCommand({ Bucket: "vhost" }));
    await vh.send(new PutObjectCommand({ Bucket: "vhost", Key: "x/y.txt", Body: "virtual" }));
    expect(await (await vh.send(new GetObjectCommand({ Bucket: "vhost", Key: "x/y.txt" }))).Body!.transformToString()).toBe("virtual");
    expect((await vh.send(new ListObjectsV2Command({ Bucket: "vhost" }))).Contents!.map((c) => c.Key)).toEqual(["x/y.txt"]);
    // The same object through path style.
    expect(await (await s3.send(new GetObjectCommand({ Bucket: "vhost", Key: "x/y.txt" }))).Body!.transformToString()).toBe("virtual");
  });
});

describe("persistence", () => {
  it("keeps buckets, objects and metadata across a restart", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "durable" }));
    await s3.send(new PutObjectCommand({ Bucket: "durable", Key: "k", Body: "kept", Metadata: { m: "v" } }));
    await s.stop();
    const again = await startTestServer({ dataDir: s.dataDir });
    try {
      const c = new S3Client({ ...again.config, forcePathStyle: true });
      const got = await c.send(new GetObjectCommand({ Bucket: "durable", Key: "k" }));
      expect(await got.Body!.transformToString()).toBe("kept");
      expect(got.Metadata).toEqual({ m: "v" });
      expect((await c.send(new ListBucketsCommand({}))).Buckets!.map((b) => b.Name)).toContain("durable");
    } finally {
      await again.stop();
    }
  });
});
