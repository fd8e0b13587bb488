/**
 * What keeps S3 data private, through @aws-sdk/client-s3: SSE-S3 bodies sealed under S3's own
 * key file (not the data dir's root key), and Block Public Access refusing public bucket
 * policies and public ACLs (docs/cloudtrail.md#s3).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  CreateBucketCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetObjectAclCommand,
  PutBucketAclCommand,
  PutBucketVersioningCommand,
  PutObjectAclCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  type ObjectCannedACL,
} from "@aws-sdk/client-s3";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { s3Fails as fails } from "./s3-helpers.ts";
import { cloudTrailBucketPolicy } from "./cloudtrail-helpers.ts";

let s: TestServer;
let s3: S3Client;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
});
afterAll(async () => {
  await s?.close();
});

function storedBody(bucket: string, key: string): Buffer {
  const row = s.app.store.db.prepare("SELECT body FROM s3_object_versions WHERE bucket = ? AND key = ?").get(bucket, key) as { body: Buffer };
  return row.body;
}

describe("SSE-S3", () => {
  it("seals object bodies under S3's own key file, apart from the root key, and reports AES256", async () => {
    await new KMSClient(s.config).send(new CreateKeyCommand({})); // the data dir's root key exists too
    await s3.send(new CreateBucketCommand({ Bucket: "sse-s3" }));
    const put = await s3.send(new PutObjectCommand({ Bucket: "sse-s3", Key: "clear.txt", Body: "plaintext secret words" }));
    expect(put.ServerSideEncryption).toBe("AES256");
    expect(storedBody("sse-s3", "clear.txt").includes(Buffer.from("plaintext secret words"))).toBe(false);
    const keyFile = join(s.dataDir, "s3-sse.key");
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile).length).toBe(32);
    expect(readFileSync(keyFile).equals(readFileSync(join(s.dataDir, "root.key")))).toBe(false);
    const got = await s3.send(new GetObjectCommand({ Bucket: "sse-s3", Key: "clear.txt" }));
    expect(got.ServerSideEncryption).toBe("AES256");
    expect(await got.Body!.transformToString()).toBe("plaintext secret words");
    const head = await s3.send(new HeadObjectCommand({ Bucket: "sse-s3", Key: "clear.txt" }));
    expect(head.ServerSideEncryption).toBe("AES256");
    const explicit = await s3.send(new PutObjectCommand({ Bucket: "sse-s3", Key: "asked.txt", Body: "asked for", ServerSideEncryption: "AES256" }));
    expect(explicit.ServerSideEncryption).toBe("AES256");
    expect(storedBody("sse-s3", "asked.txt").includes(Buffer.from("asked for"))).toBe(false);
  });

  it("keeps SSE-KMS bodies under the customer key, reported as aws:kms", async () => {
    const key = await new KMSClient(s.config).send(new CreateKeyCommand({}));
    const put = await s3.send(new PutObjectCommand({ Bucket: "sse-s3", Key: "kms.txt", Body: "kms body", ServerSideEncryption: "aws:kms", SSEKMSKeyId: key.KeyMetadata!.Arn }));
    expect(put).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: key.KeyMetadata!.Arn });
    const meta = JSON.parse((s.app.store.db.prepare("SELECT meta FROM s3_object_versions WHERE bucket = ? AND key = ?").get("sse-s3", "kms.txt") as { meta: string }).meta) as {
      encryption: { dataKey?: string; s3Sealed?: boolean };
    };
    expect(meta.encryption.dataKey).toBeTruthy();
    expect(meta.encryption.s3Sealed).toBeUndefined();
    const head = await s3.send(new HeadObjectCommand({ Bucket: "sse-s3", Key: "kms.txt" }));
    expect(head).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: key.KeyMetadata!.Arn });
  });

  it("reads sealed objects after a restart, and refuses to start without the key file over sealed objects", async () => {
    await s.stop();
    const keyFile = join(s.dataDir, "s3-sse.key");
    renameSync(keyFile, `${keyFile}.away`);
    await expect(startTestServer({ dataDir: s.dataDir })).rejects.toThrow(/s3-sse\.key is missing/);
    expect(existsSync(keyFile)).toBe(false);
    renameSync(`${keyFile}.away`, keyFile);
    s = await startTestServer({ dataDir: s.dataDir });
    s3 = new S3Client({ ...s.config, forcePathStyle: true });
    expect(await (await s3.send(new GetObjectCommand({ Bucket: "sse-s3", Key: "clear.txt" }))).Body!.transformToString()).toBe("plaintext secret words");
  });
});

const PUBLIC_READ = (bucket: string) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: `arn:aws:s3:::${bucket}/*` }] });

describe("Block Public Access: BlockPublicPolicy", () => {
  it("refuses a public bucket policy with AccessDenied, naming the setting; stores nothing", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "bpa-policy" }));
    await fails(
      s3.send(new PutBucketPolicyCommand({ Bucket: "bpa-policy", Policy: PUBLIC_READ("bpa-policy") })),
      "AccessDenied",
      403,
      'User: arn:aws:iam::000000000000:root is not authorized to perform: s3:PutBucketPolicy on resource: "arn:aws:s3:::bpa-policy" because public policies are blocked by the BlockPublicPolicy block public access setting.',
    );
    await fails(s3.send(new GetBucketPolicyCommand({ Bucket: "bpa-policy" })), "NoSuchBucketPolicy", 404);
    const everyoneAws = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { AWS: ["111122223333", "*"] }, Action: "s3:ListBucket", Resource: "arn:aws:s3:::bpa-policy" }],
    });
    await fails(s3.send(new PutBucketPolicyCommand({ Bucket: "bpa-policy", Policy: everyoneAws })), "AccessDenied", 403);
    const wideIp = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::bpa-policy/*", Condition: { IpAddress: { "aws:SourceIp": "0.0.0.0/0" } } }],
    });
    await fails(s3.send(new PutBucketPolicyCommand({ Bucket: "bpa-policy", Policy: wideIp })), "AccessDenied", 403);
    const wildcardSource = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::bpa-policy/*", Condition: { StringLike: { "aws:SourceAccount": "*" } } }],
    });
    await fails(s3.send(new PutBucketPolicyCommand({ Bucket: "bpa-policy", Policy: wildcardSource })), "AccessDenied", 403);
  });

  it("accepts policies that are not public: named principals, service principals, fixed conditions, denies", async () => {
    const ok = [
      cloudTrailBucketPolicy("bpa-policy"),
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "s3:GetObject", Resource: "arn:aws:s3:::bpa-policy/*" }],
      }),
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::bpa-policy/*", Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abcdefghij" } } },
        ],
      }),
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::bpa-policy/*", Condition: { IpAddress: { "aws:SourceIp": "203.0.113.0/24" } } },
        ],
      }),
      JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "arn:aws:s3:::bpa-policy/*" }] }),
    ];
    for (const Policy of ok) {
      await s3.send(new PutBucketPolicyCommand({ Bucket: "bpa-policy", Policy }));
      expect((await s3.send(new GetBucketPolicyCommand({ Bucket: "bpa-policy" }))).Policy).toBe(Policy);
    }
  });

  it("accepts a public policy once BlockPublicPolicy is off", async () => {
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "bpa-policy", PublicAccessBlockConfiguration: { BlockPublicPolicy: false, RestrictPublicBuckets: true } }));
    await s3.send(new PutBucketPolicyCommand({ Bucket: "bpa-policy", Policy: PUBLIC_READ("bpa-policy") }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: "bpa-policy" }))).Policy).toBe(PUBLIC_READ("bpa-policy"));
  });
});

describe("Block Public Access: RestrictPublicBuckets", () => {
  it("lets a public bucket policy grant nothing to another account or an anonymous caller", async () => {
    await s3.send(new PutObjectCommand({ Bucket: "bpa-policy", Key: "doc.txt", Body: "owner's" }));
    const other = new S3Client({ ...s.configFor({ accessKeyId: "111111111111", secretAccessKey: "test" }), forcePathStyle: true });
    await fails(other.send(new GetObjectCommand({ Bucket: "bpa-policy", Key: "doc.txt" })), "AccessDenied", 403);
    const anonymous = await fetch(`${s.url}/bpa-policy/doc.txt`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain("<Code>AccessDenied</Code>");
  });
});

describe("Block Public Access: ACLs", () => {
  it("refuses a public canned ACL or grant on PutObject (AccessDenied), and any ACL but the owner's under BucketOwnerEnforced", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "bpa-acl" }));
    for (const ACL of ["public-read", "public-read-write", "authenticated-read"] as ObjectCannedACL[]) {
      await fails(s3.send(new PutObjectCommand({ Bucket: "bpa-acl", Key: "k", Body: "x", ACL })), "AccessDenied", 403, "Access Denied");
    }
    await fails(s3.send(new PutObjectCommand({ Bucket: "bpa-acl", Key: "k", Body: "x", GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"' })), "AccessDenied", 403);
    await fails(s3.send(new PutObjectCommand({ Bucket: "bpa-acl", Key: "k", Body: "x", ACL: "private" })), "AccessControlListNotSupported", 400, "The bucket does not allow ACLs");
    await fails(s3.send(new HeadObjectCommand({ Bucket: "bpa-acl", Key: "k" })), "NotFound", 404);
    await s3.send(new PutObjectCommand({ Bucket: "bpa-acl", Key: "k", Body: "x", ACL: "bucket-owner-full-control" }));
  });

  it("lets a bucket with ACLs enabled and BlockPublicAcls off take a public ACL", async () => {
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: "bpa-acl", OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } }));
    await s3.send(new PutObjectCommand({ Bucket: "bpa-acl", Key: "private", Body: "x", ACL: "private" }));
    await fails(s3.send(new PutObjectCommand({ Bucket: "bpa-acl", Key: "k", Body: "x", ACL: "public-read" })), "AccessDenied", 403);
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "bpa-acl", PublicAccessBlockConfiguration: { IgnorePublicAcls: true } }));
    await s3.send(new PutObjectCommand({ Bucket: "bpa-acl", Key: "k", Body: "x", ACL: "public-read" }));
  });

  it("refuses ACLs on CreateBucket as S3 does for a new bucket", async () => {
    await fails(
      s3.send(new CreateBucketCommand({ Bucket: "bpa-new-1", ACL: "public-read" })),
      "InvalidBucketAclWithObjectOwnership",
      400,
      "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
    );
    await fails(
      s3.send(new CreateBucketCommand({ Bucket: "bpa-new-1", ACL: "public-read", ObjectOwnership: "ObjectWriter" })),
      "InvalidBucketAclWithBlockPublicAccessError",
      400,
      "Bucket cannot have public ACLs set with BlockPublicAccess enabled",
    );
    await fails(s3.send(new GetBucketLocationCommand({ Bucket: "bpa-new-1" })), "NoSuchBucket", 404);
    await s3.send(new CreateBucketCommand({ Bucket: "bpa-new-1", ACL: "private" }));
    await s3.send(new CreateBucketCommand({ Bucket: "bpa-new-2", ObjectOwnership: "ObjectWriter", GrantRead: `id="${"0".repeat(64)}"` }));
    const own = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: "bpa-new-2" }));
    expect(own.OwnershipControls?.Rules).toEqual([{ ObjectOwnership: "ObjectWriter" }]);
  });
});

const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

function grantsOf(r: { Grants?: { Grantee?: { Type?: string; URI?: string; ID?: string }; Permission?: string }[] }): string[] {
  return (r.Grants ?? []).map((g) => `${g.Grantee?.Type}:${g.Grantee?.URI ?? "owner"}:${g.Permission}`);
}

describe("ACLs: PutBucketAcl, PutObjectAcl, GetObjectAcl", () => {
  const OWNER_FULL = "CanonicalUser:owner:FULL_CONTROL";

  it("refuses any ACL but the owner's while ACLs are disabled (BucketOwnerEnforced), a public one first under BlockPublicAcls", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "acl-default" }));
    await s3.send(new PutObjectCommand({ Bucket: "acl-default", Key: "k", Body: "x" }));
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-default", ACL: "public-read" })), "AccessDenied", 403);
    await fails(s3.send(new PutObjectAclCommand({ Bucket: "acl-default", Key: "k", ACL: "public-read" })), "AccessDenied", 403);
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-default", ACL: "private" })), "AccessControlListNotSupported", 400, "The bucket does not allow ACLs");
    await fails(s3.send(new PutObjectAclCommand({ Bucket: "acl-default", Key: "k", ACL: "private" })), "AccessControlListNotSupported", 400);
    await s3.send(new PutObjectAclCommand({ Bucket: "acl-default", Key: "k", ACL: "bucket-owner-full-control" }));
    expect(grantsOf(await s3.send(new GetBucketAclCommand({ Bucket: "acl-default" })))).toEqual([OWNER_FULL]);
    expect(grantsOf(await s3.send(new GetObjectAclCommand({ Bucket: "acl-default", Key: "k" })))).toEqual([OWNER_FULL]);
  });

  it("stores and reports ACLs once they are enabled; BlockPublicAcls refuses public ones, IgnorePublicAcls keeps them reported", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "acl-enabled", ObjectOwnership: "ObjectWriter" }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: "acl-enabled", VersioningConfiguration: { Status: "Enabled" } }));
    await s3.send(new PutBucketAclCommand({ Bucket: "acl-enabled", ACL: "private" }));
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-enabled", ACL: "public-read" })), "AccessDenied", 403);
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "acl-enabled", PublicAccessBlockConfiguration: { IgnorePublicAcls: true, BlockPublicPolicy: true } }));
    await s3.send(new PutBucketAclCommand({ Bucket: "acl-enabled", ACL: "public-read" }));
    expect(grantsOf(await s3.send(new GetBucketAclCommand({ Bucket: "acl-enabled" })))).toEqual([OWNER_FULL, `Group:${ALL_USERS}:READ`]);

    const v1 = (await s3.send(new PutObjectCommand({ Bucket: "acl-enabled", Key: "k", Body: "x", ACL: "authenticated-read" }))).VersionId!;
    const v2 = (await s3.send(new PutObjectCommand({ Bucket: "acl-enabled", Key: "k", Body: "y" }))).VersionId!;
    expect(grantsOf(await s3.send(new GetObjectAclCommand({ Bucket: "acl-enabled", Key: "k", VersionId: v1 })))).toEqual([OWNER_FULL, `Group:${AUTHENTICATED}:READ`]);
    const latest = await s3.send(new GetObjectAclCommand({ Bucket: "acl-enabled", Key: "k" }));
    expect(grantsOf(latest)).toEqual([OWNER_FULL]);
    expect(latest.Owner?.ID).toMatch(/^[0-9a-f]{64}$/);

    const ownerId = latest.Owner!.ID!;
    await s3.send(
      new PutObjectAclCommand({
        Bucket: "acl-enabled",
        Key: "k",
        VersionId: v2,
        AccessControlPolicy: {
          Owner: { ID: ownerId },
          Grants: [
            { Grantee: { Type: "CanonicalUser", ID: ownerId }, Permission: "FULL_CONTROL" },
            { Grantee: { Type: "Group", URI: ALL_USERS }, Permission: "READ" },
          ],
        },
      }),
    );
    expect(grantsOf(await s3.send(new GetObjectAclCommand({ Bucket: "acl-enabled", Key: "k" })))).toEqual([OWNER_FULL, `Group:${ALL_USERS}:READ`]);
    await s3.send(new PutObjectAclCommand({ Bucket: "acl-enabled", Key: "k", GrantRead: `id="${"a".repeat(64)}"`, GrantFullControl: `id="${ownerId}"` }));
    expect(grantsOf(await s3.send(new GetObjectAclCommand({ Bucket: "acl-enabled", Key: "k" })))).toEqual([OWNER_FULL, "CanonicalUser:owner:READ"]);

    // back on: public ACLs are refused again, those set stay reported
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "acl-enabled", PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true } }));
    await fails(s3.send(new PutObjectAclCommand({ Bucket: "acl-enabled", Key: "k", ACL: "public-read-write" })), "AccessDenied", 403);
    expect(grantsOf(await s3.send(new GetBucketAclCommand({ Bucket: "acl-enabled" })))).toEqual([OWNER_FULL, `Group:${ALL_USERS}:READ`]);

    // ACLs disabled again: every ACL reads as the owner's full control
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: "acl-enabled", OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] } }));
    expect(grantsOf(await s3.send(new GetBucketAclCommand({ Bucket: "acl-enabled" })))).toEqual([OWNER_FULL]);
    expect(grantsOf(await s3.send(new GetObjectAclCommand({ Bucket: "acl-enabled", Key: "k", VersionId: v1 })))).toEqual([OWNER_FULL]);
  });

  it("answers S3's errors for bad ACL requests, changing nothing", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "acl-bad", ObjectOwnership: "BucketOwnerPreferred" }));
    await s3.send(new PutObjectCommand({ Bucket: "acl-bad", Key: "k", Body: "x" }));
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-bad" })), "MissingSecurityHeader", 400);
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-bad", ACL: "private", GrantRead: `id="${"a".repeat(64)}"` })), "InvalidRequest", 400);
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-bad", ACL: "everyone" as never })), "InvalidArgument", 400);
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-bad", GrantRead: 'emailAddress="someone@example.com"' })), "UnresolvableGrantByEmailAddress", 400);
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-bad", GrantRead: 'id="not-an-id"' })), "InvalidArgument", 400);
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-bad", GrantRead: 'uri="http://example.com/everyone"' })), "InvalidArgument", 400);
    await fails(
      s3.send(
        new PutObjectAclCommand({
          Bucket: "acl-bad",
          Key: "k",
          AccessControlPolicy: { Grants: [{ Grantee: { Type: "Group", URI: ALL_USERS }, Permission: "EVERYTHING" as never }] },
        }),
      ),
      "MalformedACLError",
      400,
    );
    const tooMany = Array.from({ length: 101 }, () => ({ Grantee: { Type: "CanonicalUser" as const, ID: "a".repeat(64) }, Permission: "READ" as const }));
    await fails(s3.send(new PutObjectAclCommand({ Bucket: "acl-bad", Key: "k", AccessControlPolicy: { Grants: tooMany } })), "MalformedACLError", 400);
    // the 100-grant cap holds for x-amz-grant-* headers as for a document
    const manyHeaderGrants = Array.from({ length: 101 }, () => `id="${"a".repeat(64)}"`).join(", ");
    await fails(s3.send(new PutBucketAclCommand({ Bucket: "acl-bad", GrantRead: manyHeaderGrants })), "MalformedACLError", 400);
    await fails(s3.send(new PutObjectCommand({ Bucket: "acl-bad", Key: "k", Body: "y", GrantRead: manyHeaderGrants })), "MalformedACLError", 400);
    await fails(s3.send(new PutObjectAclCommand({ Bucket: "acl-bad", Key: "missing", ACL: "private" })), "NoSuchKey", 404);
    await fails(s3.send(new GetObjectAclCommand({ Bucket: "acl-bad", Key: "k", VersionId: "bad" })), "InvalidArgument", 400);
    expect(grantsOf(await s3.send(new GetBucketAclCommand({ Bucket: "acl-bad" })))).toEqual(["CanonicalUser:owner:FULL_CONTROL"]);
    expect(grantsOf(await s3.send(new GetObjectAclCommand({ Bucket: "acl-bad", Key: "k" })))).toEqual(["CanonicalUser:owner:FULL_CONTROL"]);
  });
});
