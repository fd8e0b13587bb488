/**
 * Bucket configurations (and SSE-KMS default encryption of objects) through @aws-sdk/client-s3: versioning, default encryption, Block Public
 * Access, Object Ownership, tags, and the reads S3 answers for what a bucket does not have.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateBucketCommand,
  DeleteBucketEncryptionCommand,
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketTaggingCommand,
  DeletePublicAccessBlockCommand,
  GetBucketAclCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketLoggingCommand,
  GetBucketNotificationConfigurationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketReplicationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  PutBucketEncryptionCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type BucketVersioningStatus,
} from "@aws-sdk/client-s3";
import { CreateKeyCommand, DisableKeyCommand, KMSClient, ListAliasesCommand } from "@aws-sdk/client-kms";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";

let s: TestServer;
let s3: S3Client;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "reviewed" }));
});
afterAll(async () => {
  await s?.close();
});

async function fails(p: Promise<unknown>, code: string, status: number): Promise<void> {
  const e = (await p.then(
    () => undefined,
    (x: unknown) => x,
  )) as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  expect(e, `expected ${code}`).toBeDefined();
  expect(e!.Code ?? e!.name).toBe(code);
  expect(e!.$metadata?.httpStatusCode).toBe(status);
}

describe("a new bucket, as S3 makes one", () => {
  it("has SSE-S3 default encryption, Block Public Access on, BucketOwnerEnforced, and no versioning", async () => {
    const enc = await s3.send(new GetBucketEncryptionCommand({ Bucket: "reviewed" }));
    expect(enc.ServerSideEncryptionConfiguration?.Rules).toEqual([{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" }, BucketKeyEnabled: false }]);
    const pab = await s3.send(new GetPublicAccessBlockCommand({ Bucket: "reviewed" }));
    expect(pab.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    const own = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: "reviewed" }));
    expect(own.OwnershipControls?.Rules).toEqual([{ ObjectOwnership: "BucketOwnerEnforced" }]);
    const ver = await s3.send(new GetBucketVersioningCommand({ Bucket: "reviewed" }));
    expect(ver.Status).toBeUndefined();
  });

  it("answers the reads of what it does not have as S3 does", async () => {
    await fails(s3.send(new GetBucketTaggingCommand({ Bucket: "reviewed" })), "NoSuchTagSet", 404);
    await fails(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "reviewed" })), "NoSuchLifecycleConfiguration", 404);
    await fails(s3.send(new GetObjectLockConfigurationCommand({ Bucket: "reviewed" })), "ObjectLockConfigurationNotFoundError", 404);
    await fails(s3.send(new GetBucketReplicationCommand({ Bucket: "reviewed" })), "ReplicationConfigurationNotFoundError", 404);
    expect((await s3.send(new GetBucketLoggingCommand({ Bucket: "reviewed" }))).LoggingEnabled).toBeUndefined();
    const n = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: "reviewed" }));
    expect(n.TopicConfigurations ?? []).toEqual([]);
    const acl = await s3.send(new GetBucketAclCommand({ Bucket: "reviewed" }));
    expect(acl.Grants).toHaveLength(1);
    expect(acl.Grants![0]).toMatchObject({ Permission: "FULL_CONTROL", Grantee: { Type: "CanonicalUser", ID: acl.Owner!.ID } });
  });

  it("answers NoSuchBucket for a bucket that is not there", async () => {
    await fails(s3.send(new GetBucketVersioningCommand({ Bucket: "not-there" })), "NoSuchBucket", 404);
    await fails(s3.send(new GetBucketAclCommand({ Bucket: "not-there" })), "NoSuchBucket", 404);
  });
});

describe("configurations set, read and deleted", () => {
  it("versioning", async () => {
    await s3.send(new PutBucketVersioningCommand({ Bucket: "reviewed", VersioningConfiguration: { Status: "Enabled" } }));
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "reviewed" }))).Status).toBe("Enabled");
    await fails(s3.send(new PutBucketVersioningCommand({ Bucket: "reviewed", VersioningConfiguration: { Status: "On" as BucketVersioningStatus } })), "MalformedXML", 400);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "reviewed" }))).Status).toBe("Enabled");
  });

  it("default encryption with a KMS key, refused with AES256 and a key, deleted back to SSE-S3", async () => {
    const keyArn = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555";
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: "reviewed",
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: keyArn }, BucketKeyEnabled: true }] },
      }),
    );
    expect((await s3.send(new GetBucketEncryptionCommand({ Bucket: "reviewed" }))).ServerSideEncryptionConfiguration?.Rules).toEqual([
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: keyArn }, BucketKeyEnabled: true },
    ]);
    await fails(
      s3.send(
        new PutBucketEncryptionCommand({
          Bucket: "reviewed",
          ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256", KMSMasterKeyID: keyArn } }] },
        }),
      ),
      "InvalidArgument",
      400,
    );
    await s3.send(new DeleteBucketEncryptionCommand({ Bucket: "reviewed" }));
    expect(
      (await s3.send(new GetBucketEncryptionCommand({ Bucket: "reviewed" }))).ServerSideEncryptionConfiguration?.Rules?.[0].ApplyServerSideEncryptionByDefault?.SSEAlgorithm,
    ).toBe("AES256");
  });

  it("Block Public Access: turned off, then deleted (not found)", async () => {
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "reviewed", PublicAccessBlockConfiguration: { BlockPublicAcls: false, BlockPublicPolicy: true } }));
    expect((await s3.send(new GetPublicAccessBlockCommand({ Bucket: "reviewed" }))).PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: false,
      IgnorePublicAcls: false,
      BlockPublicPolicy: true,
      RestrictPublicBuckets: false,
    });
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: "reviewed" }));
    await fails(s3.send(new GetPublicAccessBlockCommand({ Bucket: "reviewed" })), "NoSuchPublicAccessBlockConfiguration", 404);
  });

  it("Object Ownership", async () => {
    await s3.send(new PutBucketOwnershipControlsCommand({ Bucket: "reviewed", OwnershipControls: { Rules: [{ ObjectOwnership: "ObjectWriter" }] } }));
    expect((await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: "reviewed" }))).OwnershipControls?.Rules).toEqual([{ ObjectOwnership: "ObjectWriter" }]);
    await s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: "reviewed" }));
    await fails(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: "reviewed" })), "OwnershipControlsNotFoundError", 404);
  });

  it("tags, with S3's tag rules", async () => {
    await s3.send(new PutBucketTaggingCommand({ Bucket: "reviewed", Tagging: { TagSet: [{ Key: "owner", Value: "security" }] } }));
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: "reviewed" }))).TagSet).toEqual([{ Key: "owner", Value: "security" }]);
    await fails(s3.send(new PutBucketTaggingCommand({ Bucket: "reviewed", Tagging: { TagSet: [{ Key: "aws:x", Value: "y" }] } })), "InvalidTag", 400);
    await s3.send(new DeleteBucketTaggingCommand({ Bucket: "reviewed" }));
    await fails(s3.send(new GetBucketTaggingCommand({ Bucket: "reviewed" })), "NoSuchTagSet", 404);
  });

  it("survive a restart", async () => {
    await s3.send(new PutBucketTaggingCommand({ Bucket: "reviewed", Tagging: { TagSet: [{ Key: "kept", Value: "yes" }] } }));
    const dataDir = s.dataDir;
    await s.stop();
    s = await startTestServer({ dataDir });
    s3 = new S3Client({ ...s.config, forcePathStyle: true });
    expect((await s3.send(new GetBucketTaggingCommand({ Bucket: "reviewed" }))).TagSet).toEqual([{ Key: "kept", Value: "yes" }]);
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: "reviewed" }))).Status).toBe("Enabled");
    await fails(s3.send(new GetPublicAccessBlockCommand({ Bucket: "reviewed" })), "NoSuchPublicAccessBlockConfiguration", 404);
  });

  it("are another account's to read or change only with access (AccessDenied)", async () => {
    const other = new S3Client({ ...s.configFor({ accessKeyId: "111111111111", secretAccessKey: "test" }), forcePathStyle: true });
    await fails(other.send(new GetBucketEncryptionCommand({ Bucket: "reviewed" })), "AccessDenied", 403);
    await fails(other.send(new PutBucketVersioningCommand({ Bucket: "reviewed", VersioningConfiguration: { Status: "Suspended" } })), "AccessDenied", 403);
  });
});

describe("default encryption really encrypts (SSE-KMS)", () => {
  it("seals objects with a data key of the bucket's KMS key; reading needs kms:Decrypt", async () => {
    const kms = new KMSClient(s.config);
    const keyArn = (await kms.send(new CreateKeyCommand({ Description: "bucket key" }))).KeyMetadata!.Arn!;
    await s3.send(new CreateBucketCommand({ Bucket: "sealed" }));
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: "sealed",
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: keyArn } }] },
      }),
    );
    const put = await s3.send(new PutObjectCommand({ Bucket: "sealed", Key: "secret.txt", Body: "the plaintext only KMS may open" }));
    expect(put).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: keyArn });
    const row = s.app.store.db.prepare("SELECT body FROM s3_object_versions WHERE bucket = ? AND key = ?").get("sealed", "secret.txt") as { body: Buffer };
    expect(row.body.includes(Buffer.from("plaintext"))).toBe(false);

    const got = await s3.send(new GetObjectCommand({ Bucket: "sealed", Key: "secret.txt" }));
    expect(await got.Body!.transformToString()).toBe("the plaintext only KMS may open");
    expect(got).toMatchObject({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: keyArn });
    const head = await s3.send(new HeadObjectCommand({ Bucket: "sealed", Key: "secret.txt" }));
    expect(head.ContentLength).toBe(31);

    const iam = new IAMClient(s.config);
    await iam.send(new CreateUserCommand({ UserName: "s3-only" }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "s3-only",
        PolicyName: "s3",
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] }),
      }),
    );
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: "s3-only" }))).AccessKey!;
    const s3only = new S3Client({ ...s.configFor({ accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! }), forcePathStyle: true });
    await fails(s3only.send(new GetObjectCommand({ Bucket: "sealed", Key: "secret.txt" })), "AccessDenied", 403);
    await fails(s3only.send(new PutObjectCommand({ Bucket: "sealed", Key: "other.txt", Body: "x" })), "AccessDenied", 403);

    await kms.send(new DisableKeyCommand({ KeyId: keyArn }));
    await fails(s3.send(new GetObjectCommand({ Bucket: "sealed", Key: "secret.txt" })), "KMS.DisabledException", 400);
  });

  it("uses the AWS managed key aws/s3 when no key is named, and honours the request's headers", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "managed-sealed" }));
    const put = await s3.send(new PutObjectCommand({ Bucket: "managed-sealed", Key: "a", Body: "abc", ServerSideEncryption: "aws:kms" }));
    expect(put.SSEKMSKeyId).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\//);
    const aliases = await new KMSClient(s.config).send(new ListAliasesCommand({}));
    expect(aliases.Aliases!.find((a) => a.AliasName === "alias/aws/s3")?.TargetKeyId).toBeDefined();
    expect(await (await s3.send(new GetObjectCommand({ Bucket: "managed-sealed", Key: "a" }))).Body!.transformToString()).toBe("abc");
    const plain = await s3.send(new PutObjectCommand({ Bucket: "managed-sealed", Key: "b", Body: "abc" }));
    expect(plain.ServerSideEncryption).toBe("AES256");
    await fails(s3.send(new PutObjectCommand({ Bucket: "managed-sealed", Key: "c", Body: "abc", ServerSideEncryption: "rot13" as "AES256" })), "InvalidArgument", 400);
  });
});
