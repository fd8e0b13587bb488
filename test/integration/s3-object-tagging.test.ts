/**
 * Object tags through @aws-sdk/client-s3: Put/Get/DeleteObjectTagging (also of one version),
 * `x-amz-tagging` on PutObject, `x-amz-tagging-count` on GetObject and HeadObject, S3's limits
 * and errors, and the s3:*ObjectTagging / s3:*ObjectVersionTagging permissions (docs/cloudtrail.md#s3).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateBucketCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type Tag,
} from "@aws-sdk/client-s3";
import { IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "../support/signed-fetch.ts";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let s3: S3Client;
let iam: IAMClient;
const B = "tagged";

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true, maxAttempts: 1 });
  iam = new IAMClient(s.config);
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "obj", Body: "x" }));
});
afterAll(async () => {
  await s?.close();
});

/** A signed PUT /B/obj?tagging with a raw body, as the SDK would not send it. */
async function putTaggingRaw(body: string): Promise<Response> {
  const signer = new SignatureV4({ service: "s3", region: "us-east-1", credentials: s.config.credentials, sha256: Sha256 });
  const req = await signer.sign({
    method: "PUT",
    protocol: "http:",
    hostname: "127.0.0.1",
    port: s.port,
    path: `/${B}/obj`,
    query: { tagging: "" },
    headers: { host: `127.0.0.1:${s.port}`, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    body,
  });
  return fetch(`${s.url}/${B}/obj?tagging`, { method: "PUT", headers: req.headers as Record<string, string>, body });
}

const tags = (n: number): Tag[] => Array.from({ length: n }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));

describe("PutObjectTagging, GetObjectTagging, DeleteObjectTagging", () => {
  it("round-trips a tag set, counts it on GetObject and HeadObject, and deletes it", async () => {
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj" }))).TagSet).toEqual([]);
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: B,
        Key: "obj",
        Tagging: {
          TagSet: [
            { Key: "team", Value: "a & <b>" },
            { Key: "empty", Value: "" },
          ],
        },
      }),
    );
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj" }))).TagSet).toEqual([
      { Key: "team", Value: "a & <b>" },
      { Key: "empty", Value: "" },
    ]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }))).TagCount).toBe(2);
    expect((await s3.send(new GetObjectCommand({ Bucket: B, Key: "obj" }))).TagCount).toBe(2);
    // a new tag set replaces the old one
    await s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: "obj", Tagging: { TagSet: [{ Key: "only", Value: "1" }] } }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj" }))).TagSet).toEqual([{ Key: "only", Value: "1" }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: "obj" }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj" }))).TagSet).toEqual([]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }))).TagCount).toBeUndefined();
  });

  it("sets tags with PutObject's x-amz-tagging header", async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "with-header", Body: "y", Tagging: "a=1&b%20c=d%26e" }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "with-header" }))).TagSet).toEqual([
      { Key: "a", Value: "1" },
      { Key: "b c", Value: "d&e" },
    ]);
  });

  it("keeps tags per version and reads, sets and deletes one version's with versionId", async () => {
    const vb = "tagged-versions";
    await s3.send(new CreateBucketCommand({ Bucket: vb }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: vb, VersioningConfiguration: { Status: "Enabled" } }));
    const v1 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: "k", Body: "1", Tagging: "v=1" }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: vb, Key: "k", Body: "2" }))).VersionId!;
    const latest = await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: "k" }));
    expect(latest.TagSet).toEqual([]);
    expect(latest.VersionId).toBe(v2);
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: "k", VersionId: v1 }))).TagSet).toEqual([{ Key: "v", Value: "1" }]);
    const put = await s3.send(new PutObjectTaggingCommand({ Bucket: vb, Key: "k", VersionId: v1, Tagging: { TagSet: [{ Key: "v", Value: "one" }] } }));
    expect(put.VersionId).toBe(v1);
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: "k", VersionId: v1 }))).TagSet).toEqual([{ Key: "v", Value: "one" }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: vb, Key: "k", VersionId: v1 }));
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: "k", VersionId: v1 }))).TagSet).toEqual([]);
    await expectAwsError(s3.send(new GetObjectTaggingCommand({ Bucket: vb, Key: "k", VersionId: "not-a-version" })), "InvalidArgument", 400);
  });
});

describe("bad tag sets", () => {
  it("answers S3's errors and keeps the tags the object had", async () => {
    await s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: "obj", Tagging: { TagSet: [{ Key: "keep", Value: "me" }] } }));
    const put = (TagSet: Tag[]) => s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: "obj", Tagging: { TagSet } }));
    await expectAwsError(put(tags(11)), "BadRequest", 400, "Object tags cannot be greater than 10");
    await expectAwsError(put([{ Key: "k".repeat(129), Value: "v" }]), "InvalidTag", 400, "The TagKey you have provided is invalid");
    await expectAwsError(put([{ Key: "", Value: "v" }]), "InvalidTag", 400, "The TagKey you have provided is invalid");
    await expectAwsError(put([{ Key: "k", Value: "v".repeat(257) }]), "InvalidTag", 400, "The TagValue you have provided is invalid");
    await expectAwsError(put([{ Key: "aws:owner", Value: "v" }]), "InvalidTag", 400, "System tags cannot be added/updated by requester");
    await expectAwsError(
      put([
        { Key: "d", Value: "1" },
        { Key: "d", Value: "2" },
      ]),
      "InvalidTag",
      400,
      "Cannot provide multiple Tags with the same key",
    );
    await put(tags(10));
    await put([{ Key: "k".repeat(128), Value: "v".repeat(256) }]);
    expect((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj" }))).TagSet).toEqual([{ Key: "k".repeat(128), Value: "v".repeat(256) }]);
  });

  it("refuses malformed XML and a bad x-amz-tagging header", async () => {
    for (const body of ["", "<Tagging/>", "<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>", "<Nope><TagSet/></Nope>", "<Tagging><TagSet>"]) {
      const r = await putTaggingRaw(body);
      expect(r.status, body).toBe(400);
      expect(await r.text()).toContain("<Code>MalformedXML</Code>");
    }
    await expectAwsError(s3.send(new PutObjectCommand({ Bucket: B, Key: "dup", Body: "z", Tagging: "a=1&a=2" })), "InvalidArgument", 400);
    await expectAwsError(
      s3.send(
        new PutObjectCommand({
          Bucket: B,
          Key: "many",
          Body: "z",
          Tagging: tags(11)
            .map((t) => `${t.Key}=${t.Value}`)
            .join("&"),
        }),
      ),
      "BadRequest",
      400,
    );
    await expectAwsError(s3.send(new HeadObjectCommand({ Bucket: B, Key: "dup" })), "NotFound", 404);
  });

  it("answers NoSuchKey and NoSuchBucket", async () => {
    await expectAwsError(s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: "missing" })), "NoSuchKey", 404);
    await expectAwsError(s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: "missing", Tagging: { TagSet: [] } })), "NoSuchKey", 404);
    await expectAwsError(s3.send(new DeleteObjectTaggingCommand({ Bucket: "no-such-bucket-here", Key: "k" })), "NoSuchBucket", 404);
  });
});

describe("authorization", () => {
  it("needs s3:GetObjectTagging / s3:PutObjectTagging / s3:DeleteObjectTagging, and the Version actions with versionId", async () => {
    const reader = new S3Client({
      ...s.configFor(await userWithKey(iam, "tag-reader", doc([allow(["s3:GetObjectTagging", "s3:PutObject"], `arn:aws:s3:::${B}/*`)]))),
      forcePathStyle: true,
      maxAttempts: 1,
    });
    await reader.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj" }));
    await expectAwsError(reader.send(new GetObjectTaggingCommand({ Bucket: B, Key: "obj", VersionId: "null" })), "AccessDenied", 403);
    await expectAwsError(reader.send(new PutObjectTaggingCommand({ Bucket: B, Key: "obj", Tagging: { TagSet: [] } })), "AccessDenied", 403);
    await expectAwsError(reader.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: "obj" })), "AccessDenied", 403);
    // PutObject with tags needs s3:PutObjectTagging too
    await reader.send(new PutObjectCommand({ Bucket: B, Key: "untagged-put", Body: "z" }));
    await expectAwsError(reader.send(new PutObjectCommand({ Bucket: B, Key: "tagged-put", Body: "z", Tagging: "a=1" })), "AccessDenied", 403);
  });
});
