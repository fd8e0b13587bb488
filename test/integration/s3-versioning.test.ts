/**
 * S3 object versions through @aws-sdk/client-s3: what PutBucketVersioning changes in PutObject,
 * DeleteObject and DeleteObjects, version ids and delete markers on Get/Head/Delete,
 * ListObjectVersions and its paging, listings of current objects, AWS's errors for bad input,
 * restarts, and CloudTrail delivery into a versioned bucket.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  type ListObjectVersionsCommandOutput,
} from "@aws-sdk/client-s3";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { s3Failure as failure, s3Fails as fails } from "./s3-helpers.ts";
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

async function text(bucket: string, key: string, VersionId?: string): Promise<string> {
  return (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId }))).Body!.transformToString();
}

async function versioned(bucket: string, status: "Enabled" | "Suspended" = "Enabled"): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: status } }));
}

/** Every version and delete marker, through pages of `max`. */
async function allVersions(bucket: string, max: number, extra: { Prefix?: string; Delimiter?: string } = {}) {
  const versions: { Key?: string; VersionId?: string; IsLatest?: boolean }[] = [];
  const markers: { Key?: string; VersionId?: string; IsLatest?: boolean }[] = [];
  const prefixes: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  let pages = 0;
  for (;;) {
    const r: ListObjectVersionsCommandOutput = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: max, KeyMarker, VersionIdMarker, ...extra }));
    pages++;
    versions.push(...(r.Versions ?? []).map((v) => ({ Key: v.Key, VersionId: v.VersionId, IsLatest: v.IsLatest })));
    markers.push(...(r.DeleteMarkers ?? []).map((v) => ({ Key: v.Key, VersionId: v.VersionId, IsLatest: v.IsLatest })));
    prefixes.push(...(r.CommonPrefixes ?? []).map((p) => p.Prefix!));
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
    VersionIdMarker = r.NextVersionIdMarker;
    expect(pages).toBeLessThan(50);
  }
  return { versions, markers, prefixes, pages };
}

describe("an unversioned bucket", () => {
  it("keeps one object per key and says nothing of versions", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "plain-bucket" }));
    const put = await s3.send(new PutObjectCommand({ Bucket: "plain-bucket", Key: "k", Body: "one" }));
    expect(put.VersionId).toBeUndefined();
    await s3.send(new PutObjectCommand({ Bucket: "plain-bucket", Key: "k", Body: "two" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "plain-bucket", Key: "k" }));
    expect(got.VersionId).toBeUndefined();
    expect(await got.Body!.transformToString()).toBe("two");
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: "plain-bucket" }));
    expect(listed.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest])).toEqual([["k", "null", true]]);
    expect(await text("plain-bucket", "k", "null")).toBe("two");
    const del = await s3.send(new DeleteObjectCommand({ Bucket: "plain-bucket", Key: "k" }));
    expect(del.DeleteMarker).toBeUndefined();
    expect((await s3.send(new ListObjectVersionsCommand({ Bucket: "plain-bucket" }))).Versions ?? []).toEqual([]);
  });
});

describe("a versioning-enabled bucket", () => {
  let v1: string;
  let v2: string;
  let marker: string;

  it("gives every PutObject a new version; GetObject reads the latest or the one named", async () => {
    await versioned("history");
    const p1 = await s3.send(new PutObjectCommand({ Bucket: "history", Key: "doc.txt", Body: "first" }));
    const p2 = await s3.send(new PutObjectCommand({ Bucket: "history", Key: "doc.txt", Body: "second" }));
    v1 = p1.VersionId!;
    v2 = p2.VersionId!;
    expect(v1).toMatch(/^[A-Za-z0-9._]{32}$/);
    expect(v2).not.toBe(v1);
    const latest = await s3.send(new GetObjectCommand({ Bucket: "history", Key: "doc.txt" }));
    expect(latest.VersionId).toBe(v2);
    expect(await latest.Body!.transformToString()).toBe("second");
    expect(await text("history", "doc.txt", v1)).toBe("first");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: v1 }));
    expect(head).toMatchObject({ VersionId: v1, ContentLength: 5, ServerSideEncryption: "AES256" });
  });

  it("answers a simple delete with a delete marker; the key is gone from listings but its versions stay", async () => {
    const del = await s3.send(new DeleteObjectCommand({ Bucket: "history", Key: "doc.txt" }));
    expect(del.DeleteMarker).toBe(true);
    marker = del.VersionId!;
    expect(marker).toMatch(/^[A-Za-z0-9._]{32}$/);
    const e = await fails(s3.send(new GetObjectCommand({ Bucket: "history", Key: "doc.txt" })), "NoSuchKey", 404);
    expect(e.$response?.headers?.["x-amz-delete-marker"]).toBe("true");
    expect(e.$response?.headers?.["x-amz-version-id"]).toBe(marker);
    await fails(s3.send(new HeadObjectCommand({ Bucket: "history", Key: "doc.txt" })), "NotFound", 404);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: "history" }))).KeyCount).toBe(0);
    expect((await s3.send(new ListObjectsCommand({ Bucket: "history" }))).Contents ?? []).toEqual([]);
    expect(await text("history", "doc.txt", v1)).toBe("first");
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: "history" }));
    expect(listed.Versions?.map((v) => [v.VersionId, v.IsLatest, v.Size])).toEqual([
      [v2, false, 6],
      [v1, false, 5],
    ]);
    expect(listed.DeleteMarkers?.map((m) => [m.Key, m.VersionId, m.IsLatest])).toEqual([["doc.txt", marker, true]]);
    expect(listed.DeleteMarkers?.[0].Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses GET and HEAD of the delete marker by version (405, with its headers)", async () => {
    const e = await fails(s3.send(new GetObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: marker })), "MethodNotAllowed", 405);
    expect(e.message).toBe("The specified method is not allowed against this resource.");
    expect(e.$response?.headers?.["x-amz-delete-marker"]).toBe("true");
    expect(e.$response?.headers?.["x-amz-version-id"]).toBe(marker);
    expect(e.$response?.headers?.["last-modified"]).toBeTruthy();
    const h = await failure(s3.send(new HeadObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: marker })));
    expect(h.$metadata?.httpStatusCode).toBe(405);
  });

  it("deleting the delete marker by version brings the object back; deleting a version removes it for good", async () => {
    const undo = await s3.send(new DeleteObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: marker }));
    expect(undo).toMatchObject({ DeleteMarker: true, VersionId: marker });
    expect(await text("history", "doc.txt")).toBe("second");
    const gone = await s3.send(new DeleteObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: v2 }));
    expect(gone.VersionId).toBe(v2);
    expect(gone.DeleteMarker).toBeUndefined();
    const now = await s3.send(new GetObjectCommand({ Bucket: "history", Key: "doc.txt" }));
    expect(now.VersionId).toBe(v1);
    expect(await now.Body!.transformToString()).toBe("first");
    await fails(s3.send(new GetObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: v2 })), "NoSuchVersion", 404, "The specified version does not exist.");
    // deleting a version that is not there succeeds, as in S3
    expect((await s3.send(new DeleteObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: v2 }))).$metadata.httpStatusCode).toBe(204);
  });

  it("answers AWS's errors for bad version ids", async () => {
    await fails(s3.send(new GetObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: "not-a-version" })), "InvalidArgument", 400, "Invalid version id specified");
    // HEAD answers have no body: the status alone tells
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: "x".repeat(33) })))).$metadata?.httpStatusCode).toBe(400);
    await fails(s3.send(new DeleteObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: "../../etc" })), "InvalidArgument", 400, "Invalid version id specified");
    await fails(s3.send(new GetObjectCommand({ Bucket: "history", Key: "doc.txt", VersionId: "A".repeat(32) })), "NoSuchVersion", 404);
    await fails(s3.send(new GetObjectCommand({ Bucket: "history", Key: "no-such-key", VersionId: "null" })), "NoSuchVersion", 404);
    await fails(
      s3.send(new ListObjectVersionsCommand({ Bucket: "history", VersionIdMarker: "A".repeat(32) })),
      "InvalidArgument",
      400,
      "A version-id marker cannot be specified without a key marker.",
    );
    await fails(s3.send(new ListObjectVersionsCommand({ Bucket: "history", KeyMarker: "a", VersionIdMarker: "bad id" })), "InvalidArgument", 400, "Invalid version id specified");
    await fails(s3.send(new ListObjectVersionsCommand({ Bucket: "history", MaxKeys: -1 })), "InvalidArgument", 400);
    await fails(s3.send(new ListObjectVersionsCommand({ Bucket: "no-such-bucket-here" })), "NoSuchBucket", 404);
  });

  it("is not empty while it holds versions or delete markers", async () => {
    await versioned("markers-only");
    await s3.send(new DeleteObjectCommand({ Bucket: "markers-only", Key: "never-written" }));
    await fails(s3.send(new DeleteBucketCommand({ Bucket: "markers-only" })), "BucketNotEmpty", 409);
    const { markers } = await allVersions("markers-only", 1000);
    expect(markers.length).toBe(1);
    await s3.send(new DeleteObjectCommand({ Bucket: "markers-only", Key: "never-written", VersionId: markers[0].VersionId }));
    await s3.send(new DeleteBucketCommand({ Bucket: "markers-only" }));
  });
});

describe("a suspended bucket", () => {
  it("writes the null version (replacing it), keeps earlier versions, and deletes with a null delete marker", async () => {
    await versioned("paused");
    const kept = (await s3.send(new PutObjectCommand({ Bucket: "paused", Key: "k", Body: "versioned" }))).VersionId!;
    await s3.send(new PutBucketVersioningCommand({ Bucket: "paused", VersioningConfiguration: { Status: "Suspended" } }));
    const p1 = await s3.send(new PutObjectCommand({ Bucket: "paused", Key: "k", Body: "null one" }));
    expect(p1.VersionId).toBeUndefined();
    await s3.send(new PutObjectCommand({ Bucket: "paused", Key: "k", Body: "null two" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "paused", Key: "k" }));
    expect(got.VersionId).toBe("null");
    expect(await got.Body!.transformToString()).toBe("null two");
    let all = await allVersions("paused", 1000);
    expect(all.versions).toEqual([
      { Key: "k", VersionId: "null", IsLatest: true },
      { Key: "k", VersionId: kept, IsLatest: false },
    ]);
    const del = await s3.send(new DeleteObjectCommand({ Bucket: "paused", Key: "k" }));
    expect(del).toMatchObject({ DeleteMarker: true, VersionId: "null" });
    all = await allVersions("paused", 1000);
    expect(all.versions).toEqual([{ Key: "k", VersionId: kept, IsLatest: false }]);
    expect(all.markers).toEqual([{ Key: "k", VersionId: "null", IsLatest: true }]);
    expect(await text("paused", "k", kept)).toBe("versioned");
  });
});

describe("ListObjectVersions", () => {
  it("pages through keys and versions with key-marker and version-id-marker, and rolls up at a delimiter", async () => {
    await versioned("paged");
    const expected: string[] = [];
    for (const key of ["a", "b/1", "b/2", "c", "d"]) {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.unshift((await s3.send(new PutObjectCommand({ Bucket: "paged", Key: key, Body: `${key}${i}` }))).VersionId!);
      expected.push(...ids.map((id) => `${key}@${id}`));
    }
    const full = await allVersions("paged", 1000);
    expect(full.pages).toBe(1);
    expect(full.versions.map((v) => `${v.Key}@${v.VersionId}`)).toEqual(expected);
    expect(full.versions.filter((v) => v.IsLatest).map((v) => v.Key)).toEqual(["a", "b/1", "b/2", "c", "d"]);
    for (const max of [1, 2, 4, 7]) {
      const paged = await allVersions("paged", max);
      expect(paged.versions.map((v) => `${v.Key}@${v.VersionId}`)).toEqual(expected);
      expect(paged.pages).toBe(Math.ceil(expected.length / max));
    }
    const rolled = await allVersions("paged", 2, { Delimiter: "/" });
    expect(rolled.prefixes).toEqual(["b/"]);
    expect([...new Set(rolled.versions.map((v) => v.Key))]).toEqual(["a", "c", "d"]);
    const under = await allVersions("paged", 1000, { Prefix: "b/" });
    expect(under.versions.length).toBe(6);
    const afterB1 = await s3.send(new ListObjectVersionsCommand({ Bucket: "paged", KeyMarker: "b/1" }));
    expect(afterB1.Versions![0].Key).toBe("b/2");
    expect(afterB1.KeyMarker).toBe("b/1");
  });
});

describe("DeleteObjects", () => {
  it("adds delete markers or removes versions, per object, and says what it did", async () => {
    await versioned("bulk");
    const a1 = (await s3.send(new PutObjectCommand({ Bucket: "bulk", Key: "a", Body: "a1" }))).VersionId!;
    await s3.send(new PutObjectCommand({ Bucket: "bulk", Key: "b", Body: "b1" }));
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: "bulk",
        Delete: { Objects: [{ Key: "a", VersionId: a1 }, { Key: "b" }, { Key: "c", VersionId: "bad" }] },
      }),
    );
    expect(r.Deleted?.find((d) => d.Key === "a")).toEqual({ Key: "a", VersionId: a1 });
    const b = r.Deleted?.find((d) => d.Key === "b");
    expect(b?.DeleteMarker).toBe(true);
    expect(b?.DeleteMarkerVersionId).toMatch(/^[A-Za-z0-9._]{32}$/);
    expect(r.Errors).toEqual([{ Key: "c", VersionId: "bad", Code: "NoSuchVersion", Message: "The specified version does not exist." }]);
    const all = await allVersions("bulk", 1000);
    expect(all.versions.map((v) => v.Key)).toEqual(["b"]);
    expect(all.markers.map((m) => m.VersionId)).toEqual([b?.DeleteMarkerVersionId]);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: "bulk", Delete: { Quiet: true, Objects: [{ Key: "b", VersionId: b?.DeleteMarkerVersionId }] } }));
    expect(quiet.Deleted ?? []).toEqual([]);
    expect(await text("bulk", "b")).toBe("b1");
  });

  it("deletes objects of an unversioned bucket outright", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "bulk-plain" }));
    await s3.send(new PutObjectCommand({ Bucket: "bulk-plain", Key: "x", Body: "x" }));
    const r = await s3.send(new DeleteObjectsCommand({ Bucket: "bulk-plain", Delete: { Objects: [{ Key: "x" }, { Key: "missing" }] } }));
    expect(r.Deleted?.map((d) => d.Key)).toEqual(["x", "missing"]);
    expect(r.Deleted?.every((d) => d.DeleteMarker === undefined)).toBe(true);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: "bulk-plain" }))).KeyCount).toBe(0);
  });

  it("answers a key longer than S3 allows with a KeyTooLongError for that object, adding no delete marker", async () => {
    await versioned("bulk-long");
    const long = "k".repeat(1025);
    const r = await s3.send(new DeleteObjectsCommand({ Bucket: "bulk-long", Delete: { Objects: [{ Key: long }, { Key: "short" }] } }));
    expect(r.Errors).toEqual([{ Key: long, Code: "KeyTooLongError", Message: "Your key is too long" }]);
    expect(r.Deleted?.map((d) => d.Key)).toEqual(["short"]);
    const all = await allVersions("bulk-long", 1000);
    expect(all.markers.map((m) => m.Key)).toEqual(["short"]);
  });

  it("refuses a document with no objects or more than 1000 (MalformedXML), changing nothing", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "bulk-plain", Key: "stays", Body: "x" }));
    await fails(s3.send(new DeleteObjectsCommand({ Bucket: "bulk-plain", Delete: { Objects: [] } })), "MalformedXML", 400);
    const many = Array.from({ length: 1001 }, (_, i) => ({ Key: i === 0 ? "stays" : `k${i}` }));
    await fails(s3.send(new DeleteObjectsCommand({ Bucket: "bulk-plain", Delete: { Objects: many } })), "MalformedXML", 400);
    expect(await text("bulk-plain", "stays")).toBe("x");
  });
});

describe("persistence", () => {
  it("keeps versions and delete markers across a restart", async () => {
    await versioned("durable-versions");
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: "durable-versions", Key: "k", Body: "old" }))).VersionId!;
    await s3.send(new PutObjectCommand({ Bucket: "durable-versions", Key: "k", Body: "new" }));
    const marker = (await s3.send(new DeleteObjectCommand({ Bucket: "durable-versions", Key: "k" }))).VersionId!;
    const before = await s3.send(new ListObjectVersionsCommand({ Bucket: "durable-versions" }));
    await s.stop();
    s = await startTestServer({ dataDir: s.dataDir });
    s3 = new S3Client({ ...s.config, forcePathStyle: true });
    const after = await s3.send(new ListObjectVersionsCommand({ Bucket: "durable-versions" }));
    expect(after.Versions).toEqual(before.Versions);
    expect(after.DeleteMarkers).toEqual(before.DeleteMarkers);
    expect(after.DeleteMarkers?.[0].VersionId).toBe(marker);
    expect(await text("durable-versions", "k", v1)).toBe("old");
    await fails(s3.send(new GetObjectCommand({ Bucket: "durable-versions", Key: "k" })), "NoSuchKey", 404);
    const v3 = await s3.send(new PutObjectCommand({ Bucket: "durable-versions", Key: "k", Body: "newest" }));
    expect(v3.VersionId).not.toBe(v1);
    expect(await text("durable-versions", "k")).toBe("newest");
  });
});

describe("CloudTrail delivery", () => {
  it("delivers log files into a versioned bucket, each a version of its own", async () => {
    await createTrailBucket(s3, "versioned-trail");
    await s3.send(new PutBucketVersioningCommand({ Bucket: "versioned-trail", VersioningConfiguration: { Status: "Enabled" } }));
    const ct = new CloudTrailClient(s.config);
    await ct.send(new CreateTrailCommand({ Name: "versioned", S3BucketName: "versioned-trail" }));
    await ct.send(new StartLoggingCommand({ Name: "versioned" }));
    await s3.send(new ListObjectsV2Command({ Bucket: "versioned-trail" }));
    await s.advanceClock(600);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "versioned-trail", Prefix: "AWSLogs/" }));
    expect(listed.KeyCount).toBeGreaterThan(0);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "versioned-trail", Prefix: "AWSLogs/" }));
    expect(versions.Versions!.length).toBe(listed.KeyCount);
    for (const v of versions.Versions!) expect(v.VersionId).toMatch(/^[A-Za-z0-9._]{32}$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: "versioned-trail", Key: listed.Contents![0].Key, VersionId: versions.Versions![0].VersionId }));
    expect((await got.Body!.transformToByteArray()).length).toBeGreaterThan(0);
  });
});
