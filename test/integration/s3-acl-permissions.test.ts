/**
 * The extra permissions S3 asks for beyond an operation's own action, through @aws-sdk/client-s3
 * and unsigned fetches: PutObject with ACL headers (s3:PutObjectAcl), CreateBucket with a
 * non-private ACL (s3:PutBucketAcl) or x-amz-object-ownership (s3:PutBucketOwnershipControls),
 * `x-amz-tagging-count` only for a caller who may read the tags, and anonymous calls running in
 * the bucket's Region (docs/cloudtrail.md#s3, docs/security.md#anonymous-s3-requests).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateBucketCommand,
  GetBucketOwnershipControlsCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { allow, doc, expectAwsError, userWithKey, type Creds } from "./iam-helpers.ts";

let s: TestServer;
let owner: S3Client;
let iam: IAMClient;
const client = (creds: Creds, region = "us-east-1") => new S3Client({ ...s.configFor(creds, region), forcePathStyle: true, maxAttempts: 1 });
const openBlock = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };

beforeAll(async () => {
  s = await startTestServer();
  owner = new S3Client({ ...s.config, forcePathStyle: true, maxAttempts: 1 });
  iam = new IAMClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

describe("PutObject with ACL headers", () => {
  it("needs s3:PutObjectAcl as well as s3:PutObject, and stores nothing when refused", async () => {
    const b = "acl-put-bucket";
    await owner.send(new CreateBucketCommand({ Bucket: b, ObjectOwnership: "BucketOwnerPreferred" }));
    const writer = client(await userWithKey(iam, "acl-writer", doc([allow("s3:PutObject", `arn:aws:s3:::${b}/*`)])));
    await writer.send(new PutObjectCommand({ Bucket: b, Key: "plain", Body: "x" }));
    await expectAwsError(writer.send(new PutObjectCommand({ Bucket: b, Key: "canned", Body: "x", ACL: "bucket-owner-full-control" })), "AccessDenied", 403);
    await expectAwsError(writer.send(new PutObjectCommand({ Bucket: b, Key: "granted", Body: "x", GrantRead: `id="${"a".repeat(64)}"` })), "AccessDenied", 403);
    await expectAwsError(owner.send(new GetObjectAclCommand({ Bucket: b, Key: "canned" })), "NoSuchKey", 404);

    const aclWriter = client(await userWithKey(iam, "acl-writer2", doc([allow(["s3:PutObject", "s3:PutObjectAcl"], `arn:aws:s3:::${b}/*`)])));
    await aclWriter.send(new PutObjectCommand({ Bucket: b, Key: "canned", Body: "x", ACL: "bucket-owner-full-control" }));
    expect((await owner.send(new GetObjectAclCommand({ Bucket: b, Key: "canned" }))).Grants?.length).toBeGreaterThan(0);
  });
});

describe("CreateBucket with ACL or Object Ownership headers", () => {
  it("needs s3:PutBucketAcl for an ACL other than private, s3:PutBucketOwnershipControls for x-amz-object-ownership", async () => {
    const creator = client(await userWithKey(iam, "bucket-creator", doc([allow(["s3:CreateBucket", "s3:ListAllMyBuckets"], "*")])));
    await creator.send(new CreateBucketCommand({ Bucket: "cb-plain" }));
    await creator.send(new CreateBucketCommand({ Bucket: "cb-private", ACL: "private" }));
    await expectAwsError(creator.send(new CreateBucketCommand({ Bucket: "cb-owned", ObjectOwnership: "ObjectWriter" })), "AccessDenied", 403);
    const bucketOwnerRead = `id="${"b".repeat(64)}"`;
    await expectAwsError(creator.send(new CreateBucketCommand({ Bucket: "cb-granted", GrantRead: bucketOwnerRead })), "AccessDenied", 403);
    const names = (await creator.send(new ListBucketsCommand({}))).Buckets?.map((x) => x.Name);
    expect(names).toEqual(expect.arrayContaining(["cb-plain", "cb-private"]));
    expect(names).not.toContain("cb-owned");
    expect(names).not.toContain("cb-granted");

    const full = client(
      await userWithKey(iam, "bucket-creator2", doc([allow(["s3:CreateBucket", "s3:PutBucketAcl", "s3:PutBucketOwnershipControls", "s3:GetBucketOwnershipControls"], "*")])),
    );
    await full.send(new CreateBucketCommand({ Bucket: "cb-owned", ObjectOwnership: "ObjectWriter", GrantRead: bucketOwnerRead }));
    const got = await full.send(new GetBucketOwnershipControlsCommand({ Bucket: "cb-owned" }));
    expect(got.OwnershipControls?.Rules?.[0]?.ObjectOwnership).toBe("ObjectWriter");
  });
});

describe("x-amz-tagging-count", () => {
  it("is reported only to a caller who may read the object's tags", async () => {
    const b = "tag-count-bucket";
    await owner.send(new CreateBucketCommand({ Bucket: b }));
    await owner.send(new PutObjectCommand({ Bucket: b, Key: "obj", Body: "x", Tagging: "a=1&b=2" }));
    expect((await owner.send(new GetObjectCommand({ Bucket: b, Key: "obj" }))).TagCount).toBe(2);

    const reader = client(await userWithKey(iam, "obj-reader", doc([allow("s3:GetObject", `arn:aws:s3:::${b}/*`)])));
    const got = await reader.send(new GetObjectCommand({ Bucket: b, Key: "obj" }));
    expect(await got.Body!.transformToString()).toBe("x");
    expect(got.TagCount).toBeUndefined();
    const head = await reader.send(new HeadObjectCommand({ Bucket: b, Key: "obj" }));
    expect(head.ContentLength).toBe(1);
    expect(head.TagCount).toBeUndefined();

    const tagReader = client(await userWithKey(iam, "obj-tag-reader", doc([allow(["s3:GetObject", "s3:GetObjectTagging"], `arn:aws:s3:::${b}/*`)])));
    expect((await tagReader.send(new GetObjectCommand({ Bucket: b, Key: "obj" }))).TagCount).toBe(2);
    expect((await tagReader.send(new HeadObjectCommand({ Bucket: b, Key: "obj" }))).TagCount).toBe(2);
  });
});

describe("anonymous requests", () => {
  it("run in the Region of the bucket they name (aws:RequestedRegion)", async () => {
    const eu = new S3Client({ ...s.configFor(s.config.credentials, "eu-west-1"), forcePathStyle: true, maxAttempts: 1 });
    const b = "eu-public-bucket";
    await eu.send(new CreateBucketCommand({ Bucket: b, CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } }));
    await eu.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: openBlock }));
    await eu.send(new PutObjectCommand({ Bucket: b, Key: "data.txt", Body: "from eu" }));
    const inRegion = (region: string) => ({ StringEquals: { "aws:RequestedRegion": region } });
    await eu.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: doc([{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/open/*`, Condition: inRegion("eu-west-1") }]),
      }),
    );
    await eu.send(new PutObjectCommand({ Bucket: b, Key: "open/x.txt", Body: "open" }));
    const r = await fetch(`${s.url}/${b}/open/x.txt`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("open");
    // a policy for us-east-1 grants nothing to a call on this bucket
    await eu.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: doc([{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/open/*`, Condition: inRegion("us-east-1") }]),
      }),
    );
    expect((await fetch(`${s.url}/${b}/open/x.txt`)).status).toBe(403);
  });
});
