/**
 * Bucket policies that grant, through @aws-sdk/client-s3 and unsigned fetches: another account's
 * principals (policy and their own identity policies), same-account principals (either), the
 * anonymous caller (policy only), S3 condition keys, and RestrictPublicBuckets
 * (docs/cloudtrail.md#s3, docs/security.md#anonymous-s3-requests).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, deny, doc, expectAwsError, userWithKey, type Creds } from "./iam-helpers.ts";
import { OTHER } from "./cross-account-helpers.ts";

let s: TestServer;
let owner: S3Client;
let iam: IAMClient;
const otherRoot: Creds = { accessKeyId: OTHER, secretAccessKey: "test" };
const client = (creds: Creds) => new S3Client({ ...s.configFor(creds), forcePathStyle: true, maxAttempts: 1 });

beforeAll(async () => {
  s = await startTestServer();
  owner = new S3Client({ ...s.config, forcePathStyle: true, maxAttempts: 1 });
  iam = new IAMClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

const openBlock = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };

async function bucketWith(name: string, statements: unknown[], objects: Record<string, string> = { "data.txt": "owner data" }): Promise<void> {
  await owner.send(new CreateBucketCommand({ Bucket: name }));
  await owner.send(new PutPublicAccessBlockCommand({ Bucket: name, PublicAccessBlockConfiguration: openBlock }));
  for (const [Key, Body] of Object.entries(objects)) await owner.send(new PutObjectCommand({ Bucket: name, Key, Body }));
  await owner.send(new PutBucketPolicyCommand({ Bucket: name, Policy: doc(statements) }));
}

const read = async (c: S3Client, Bucket: string, Key: string) => (await c.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();

/** An unsigned request, as a browser-less anonymous client sends it. */
const anonymous = (path: string, init: RequestInit = {}) => fetch(`${s.url}${path}`, init);

describe("a bucket policy grants another account", () => {
  it("lets the account's root read, write and list what the policy names, and nothing else", async () => {
    const b = "shared-with-other";
    await bucketWith(b, [
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: ["s3:GetObject", "s3:PutObject"], Resource: `arn:aws:s3:::${b}/*` },
      { Effect: "Allow", Principal: { AWS: OTHER }, Action: "s3:ListBucket", Resource: `arn:aws:s3:::${b}` },
    ]);
    const other = client(otherRoot);
    expect(await read(other, b, "data.txt")).toBe("owner data");
    await other.send(new PutObjectCommand({ Bucket: b, Key: "from-other.txt", Body: "hello" }));
    expect(await read(owner, b, "from-other.txt")).toBe("hello");
    const listed = await other.send(new ListObjectsV2Command({ Bucket: b }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["data.txt", "from-other.txt"]);
    await expectAwsError(other.send(new DeleteObjectCommand({ Bucket: b, Key: "data.txt" })), "AccessDenied", 403);
    // a third account the policy does not name
    await expectAwsError(client({ accessKeyId: "222222222222", secretAccessKey: "test" }).send(new GetObjectCommand({ Bucket: b, Key: "data.txt" })), "AccessDenied", 403);
  });

  it("needs the other account's own identity policy too (cross-account)", async () => {
    const b = "shared-needs-identity";
    await bucketWith(b, [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` }]);
    const otherIam = new IAMClient(s.configFor(otherRoot));
    const bare = client(await userWithKey(otherIam, "bare"));
    await expectAwsError(bare.send(new GetObjectCommand({ Bucket: b, Key: "data.txt" })), "AccessDenied", 403);
    const reader = client(await userWithKey(otherIam, "reader", doc([allow("s3:GetObject", `arn:aws:s3:::${b}/*`)])));
    expect(await read(reader, b, "data.txt")).toBe("owner data");
  });

  it("grants a named user of the other account, and its Deny wins over the identity policy", async () => {
    const b = "shared-with-user";
    const otherIam = new IAMClient(s.configFor(otherRoot));
    const creds = await userWithKey(otherIam, "named", doc([allow("s3:*")]));
    await bucketWith(
      b,
      [
        { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:user/named` }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` },
        { Effect: "Deny", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/secret/*` },
      ],
      { "data.txt": "owner data", "secret/x": "hidden" },
    );
    const named = client(creds);
    expect(await read(named, b, "data.txt")).toBe("owner data");
    await expectAwsError(named.send(new GetObjectCommand({ Bucket: b, Key: "secret/x" })), "AccessDenied", 403);
    // the Deny also applies to the owner's own account
    await expectAwsError(owner.send(new GetObjectCommand({ Bucket: b, Key: "secret/x" })), "AccessDenied", 403);
  });

  it("evaluates S3 condition keys: s3:prefix on a listing", async () => {
    const b = "shared-prefix";
    await bucketWith(
      b,
      [{ Effect: "Allow", Principal: { AWS: OTHER }, Action: "s3:ListBucket", Resource: `arn:aws:s3:::${b}`, Condition: { StringEquals: { "s3:prefix": "public/" } } }],
      {
        "public/a": "a",
        "private/b": "b",
      },
    );
    const other = client(otherRoot);
    const listed = await other.send(new ListObjectsV2Command({ Bucket: b, Prefix: "public/" }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(["public/a"]);
    await expectAwsError(other.send(new ListObjectsV2Command({ Bucket: b })), "AccessDenied", 403);
    await expectAwsError(other.send(new ListObjectsV2Command({ Bucket: b, Prefix: "private/" })), "AccessDenied", 403);
  });
});

describe("global condition keys", () => {
  it("s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys see the tags a put sets", async () => {
    const b = "tagged-uploads";
    await bucketWith(b, [
      {
        Effect: "Allow",
        Principal: { AWS: OTHER },
        Action: ["s3:PutObject", "s3:PutObjectTagging"],
        Resource: `arn:aws:s3:::${b}/*`,
        Condition: { StringEquals: { "s3:RequestObjectTag/owner": "other" }, "ForAllValues:StringEquals": { "s3:RequestObjectTagKeys": ["owner"] } },
      },
    ]);
    const other = client(otherRoot);
    await other.send(new PutObjectCommand({ Bucket: b, Key: "ok.txt", Body: "x", Tagging: "owner=other" }));
    await expectAwsError(other.send(new PutObjectCommand({ Bucket: b, Key: "bad.txt", Body: "x", Tagging: "owner=someone" })), "AccessDenied", 403);
    await expectAwsError(other.send(new PutObjectCommand({ Bucket: b, Key: "extra.txt", Body: "x", Tagging: "owner=other&extra=1" })), "AccessDenied", 403);
    await expectAwsError(other.send(new PutObjectCommand({ Bucket: b, Key: "none.txt", Body: "x" })), "AccessDenied", 403);
    await other.send(new PutObjectTaggingCommand({ Bucket: b, Key: "ok.txt", Tagging: { TagSet: [{ Key: "owner", Value: "other" }] } }));
    await expectAwsError(other.send(new PutObjectTaggingCommand({ Bucket: b, Key: "ok.txt", Tagging: { TagSet: [{ Key: "owner", Value: "x" }] } })), "AccessDenied", 403);
  });

  it("s3:ExistingObjectTag/<key> sees the tags of the object asked for", async () => {
    const b = "shared-by-tag";
    await bucketWith(
      b,
      [
        {
          Effect: "Allow",
          Principal: { AWS: OTHER },
          Action: "s3:GetObject",
          Resource: `arn:aws:s3:::${b}/*`,
          Condition: { StringEquals: { "s3:ExistingObjectTag/share": "yes" } },
        },
      ],
      {},
    );
    await owner.send(new PutObjectCommand({ Bucket: b, Key: "shared.txt", Body: "shared", Tagging: "share=yes" }));
    await owner.send(new PutObjectCommand({ Bucket: b, Key: "private.txt", Body: "private", Tagging: "share=no" }));
    const other = client(otherRoot);
    expect(await read(other, b, "shared.txt")).toBe("shared");
    await expectAwsError(other.send(new GetObjectCommand({ Bucket: b, Key: "private.txt" })), "AccessDenied", 403);
  });

  it("aws:PrincipalAccount narrows a grant to everyone down to one account", async () => {
    const b = "shared-by-account-condition";
    await bucketWith(b, [
      { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*`, Condition: { StringEquals: { "aws:PrincipalAccount": OTHER } } },
    ]);
    expect(await read(client(otherRoot), b, "data.txt")).toBe("owner data");
    await expectAwsError(client({ accessKeyId: "444444444444", secretAccessKey: "test" }).send(new GetObjectCommand({ Bucket: b, Key: "data.txt" })), "AccessDenied", 403);
    expect((await anonymous(`/${b}/data.txt`)).status).toBe(403);
  });
});

describe("a bucket policy grants principals of the owner's account", () => {
  it("lets a user with no identity policy do what the policy names for it", async () => {
    const b = "same-account-user";
    const creds = await userWithKey(iam, "policy-only");
    await bucketWith(b, [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/policy-only` }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` }]);
    const c = client(creds);
    expect(await read(c, b, "data.txt")).toBe("owner data");
    await expectAwsError(c.send(new PutObjectCommand({ Bucket: b, Key: "x", Body: "x" })), "AccessDenied", 403);
  });

  it("naming the account only delegates to the user's identity policies", async () => {
    const b = "same-account-root-principal";
    const creds = await userWithKey(iam, "account-named");
    await bucketWith(b, [{ Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` }]);
    await expectAwsError(client(creds).send(new GetObjectCommand({ Bucket: b, Key: "data.txt" })), "AccessDenied", 403);
  });

  it("an explicit Deny refuses the account's administrator", async () => {
    const b = "same-account-deny";
    await bucketWith(b, [deny("s3:PutObject", `arn:aws:s3:::${b}/*`, { Principal: "*" })]);
    await expectAwsError(owner.send(new PutObjectCommand({ Bucket: b, Key: "y", Body: "y" })), "AccessDenied", 403);
    expect(await read(owner, b, "data.txt")).toBe("owner data");
  });
});

describe("unsigned (anonymous) requests", () => {
  it("are refused without a policy granting everyone", async () => {
    await owner.send(new CreateBucketCommand({ Bucket: "private-bucket" }));
    await owner.send(new PutObjectCommand({ Bucket: "private-bucket", Key: "k", Body: "private" }));
    for (const [path, init] of [
      ["/private-bucket/k", {}],
      ["/private-bucket", {}],
      ["/", {}],
      ["/private-bucket/k", { method: "PUT", body: "overwrite" }],
      ["/private-bucket/k", { method: "DELETE" }],
      ["/anonymous-new-bucket", { method: "PUT" }],
    ] as [string, RequestInit][]) {
      const r = await anonymous(path, init);
      expect(r.status, `${init.method ?? "GET"} ${path}`).toBe(403);
      expect(await r.text()).toContain("<Code>AccessDenied</Code>");
    }
    expect(await read(owner, "private-bucket", "k")).toBe("private");
    expect((await owner.send(new ListBucketsCommand({}))).Buckets?.map((x) => x.Name)).not.toContain("anonymous-new-bucket");
  });

  it('are allowed what a policy grants Principal "*" (or AWS "*"), and nothing else', async () => {
    const b = "public-read-bucket";
    await bucketWith(b, [
      { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` },
      { Effect: "Allow", Principal: { AWS: "*" }, Action: "s3:PutObject", Resource: `arn:aws:s3:::${b}/uploads/*` },
    ]);
    const got = await anonymous(`/${b}/data.txt`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("owner data");
    expect((await anonymous(`/${b}/uploads/u.txt`, { method: "PUT", body: "anonymous upload" })).status).toBe(200);
    expect(await read(owner, b, "uploads/u.txt")).toBe("anonymous upload");
    expect((await anonymous(`/${b}/data.txt`, { method: "PUT", body: "overwrite" })).status).toBe(403);
    expect((await anonymous(`/${b}/data.txt`, { method: "DELETE" })).status).toBe(403);
    expect((await anonymous(`/${b}?list-type=2`)).status).toBe(403);
    expect(await read(owner, b, "data.txt")).toBe("owner data");
    // any other account is "everyone" too, signed
    expect(await read(client({ accessKeyId: "333333333333", secretAccessKey: "test" }), b, "data.txt")).toBe("owner data");
  });

  it("see aws:SourceIp in the policy's conditions", async () => {
    const b = "public-by-ip";
    await bucketWith(
      b,
      [
        { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/data.txt`, Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } } },
        { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/far/*`, Condition: { IpAddress: { "aws:SourceIp": "192.0.2.0/24" } } },
      ],
      { "data.txt": "owner data", "far/x": "far" },
    );
    expect((await anonymous(`/${b}/data.txt`)).status).toBe(200);
    expect((await anonymous(`/${b}/far/x`)).status).toBe(403);
  });

  it("from a foreign web page stay refused by the browser guard", async () => {
    const b = "public-for-browsers";
    await bucketWith(b, [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` }]);
    const r = await anonymous(`/${b}/data.txt`, { headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } });
    expect(r.status).toBe(403);
    expect(await r.text()).not.toContain("owner data");
  });
});

describe("RestrictPublicBuckets", () => {
  it("limits a public policy to the owner's account and AWS services", async () => {
    const b = "restricted-public";
    const creds = await userWithKey(iam, "restricted-reader");
    await bucketWith(b, [
      { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` },
    ]);
    expect((await anonymous(`/${b}/data.txt`)).status).toBe(200);
    await owner.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { ...openBlock, RestrictPublicBuckets: true } }));
    expect((await anonymous(`/${b}/data.txt`)).status).toBe(403);
    await expectAwsError(client(otherRoot).send(new GetObjectCommand({ Bucket: b, Key: "data.txt" })), "AccessDenied", 403);
    // the owner's account keeps what the policy grants it
    expect(await read(client(creds), b, "data.txt")).toBe("owner data");
  });

  it("leaves a policy that is not public alone", async () => {
    const b = "restricted-not-public";
    await bucketWith(b, [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "s3:GetObject", Resource: `arn:aws:s3:::${b}/*` }]);
    await owner.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { ...openBlock, RestrictPublicBuckets: true } }));
    expect(await read(client(otherRoot), b, "data.txt")).toBe("owner data");
  });
});

describe("DeleteObjects", () => {
  it("answers AccessDenied for each object the caller may not delete and deletes the others", async () => {
    const b = "bulk-partial";
    await owner.send(new CreateBucketCommand({ Bucket: b }));
    for (const Key of ["tmp/a", "keep/b", "tmp/c"]) await owner.send(new PutObjectCommand({ Bucket: b, Key, Body: Key }));
    const creds = await userWithKey(iam, "tmp-cleaner", doc([allow("s3:DeleteObject", `arn:aws:s3:::${b}/tmp/*`)]));
    const r = await client(creds).send(
      new DeleteObjectsCommand({ Bucket: b, Delete: { Objects: [{ Key: "tmp/a" }, { Key: "keep/b" }, { Key: "tmp/c" }, { Key: "keep/d", VersionId: "null" }] } }),
    );
    expect(r.Deleted?.map((d) => d.Key)).toEqual(["tmp/a", "tmp/c"]);
    expect(r.Errors).toEqual([
      { Key: "keep/b", Code: "AccessDenied", Message: "Access Denied" },
      { Key: "keep/d", VersionId: "null", Code: "AccessDenied", Message: "Access Denied" },
    ]);
    expect(await read(owner, b, "keep/b")).toBe("keep/b");
    await expectAwsError(owner.send(new HeadObjectCommand({ Bucket: b, Key: "tmp/a" })), "NotFound", 404);
  });

  it("lets another account delete what the bucket policy grants it, object by object", async () => {
    const b = "bulk-cross-account";
    await bucketWith(b, [{ Effect: "Allow", Principal: { AWS: OTHER }, Action: "s3:DeleteObject", Resource: `arn:aws:s3:::${b}/tmp/*` }], {
      "tmp/x": "x",
      "data.txt": "owner data",
    });
    const r = await client(otherRoot).send(new DeleteObjectsCommand({ Bucket: b, Delete: { Quiet: true, Objects: [{ Key: "tmp/x" }, { Key: "data.txt" }] } }));
    expect(r.Deleted ?? []).toEqual([]);
    expect(r.Errors).toEqual([{ Key: "data.txt", Code: "AccessDenied", Message: "Access Denied" }]);
    expect(await read(owner, b, "data.txt")).toBe("owner data");
    await expectAwsError(owner.send(new HeadObjectCommand({ Bucket: b, Key: "tmp/x" })), "NotFound", 404);
  });
});
