/** Secrets Manager through @aws-sdk/client-secrets-manager: values, versions, deletion, policies, KMS. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  SecretsManagerClient,
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
  DeleteSecretCommand,
  RestoreSecretCommand,
  ListSecretVersionIdsCommand,
  UpdateSecretVersionStageCommand,
  TagResourceCommand,
  UntagResourceCommand,
  PutResourcePolicyCommand,
  GetResourcePolicyCommand,
  DeleteResourcePolicyCommand,
  ValidateResourcePolicyCommand,
  BatchGetSecretValueCommand,
  GetRandomPasswordCommand,
} from "@aws-sdk/client-secrets-manager";
import { KMSClient, CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, DescribeKeyCommand, ListAliasesCommand } from "@aws-sdk/client-kms";
import { IAMClient } from "@aws-sdk/client-iam";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let sm: SecretsManagerClient;
let kms: KMSClient;
let iam: IAMClient;

beforeAll(async () => {
  s = await startTestServer();
  sm = new SecretsManagerClient(s.config);
  kms = new KMSClient(s.config);
  iam = new IAMClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

describe("secret values", () => {
  it("creates a secret under the AWS managed key, created on first use, and reads it back", async () => {
    const c = await sm.send(new CreateSecretCommand({ Name: "db/password", SecretString: "hunter2", Description: "the db" }));
    expect(c.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:db\/password-[A-Za-z0-9]{6}$/);
    expect(c.VersionId).toBeDefined();
    const g = await sm.send(new GetSecretValueCommand({ SecretId: "db/password" }));
    expect(g).toMatchObject({ ARN: c.ARN, Name: "db/password", SecretString: "hunter2", VersionId: c.VersionId, VersionStages: ["AWSCURRENT"] });
    const aliases = await kms.send(new ListAliasesCommand({}));
    const managed = aliases.Aliases!.find((a) => a.AliasName === "alias/aws/secretsmanager");
    expect(managed?.TargetKeyId).toBeDefined();
    const md = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/secretsmanager" }))).KeyMetadata!;
    expect(md.KeyManager).toBe("AWS");
    // by full ARN, partial ARN (no suffix) and binary values
    expect((await sm.send(new GetSecretValueCommand({ SecretId: c.ARN }))).SecretString).toBe("hunter2");
    expect((await sm.send(new GetSecretValueCommand({ SecretId: c.ARN!.slice(0, -7) }))).SecretString).toBe("hunter2");
    await sm.send(new CreateSecretCommand({ Name: "bin", SecretBinary: Buffer.from([0, 1, 2, 255]) }));
    expect(Buffer.from((await sm.send(new GetSecretValueCommand({ SecretId: "bin" }))).SecretBinary!)).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it("never keeps a value in plaintext on disk", async () => {
    const marker = "PLAINTEXT-MARKER-7c1e0d9a";
    await sm.send(new CreateSecretCommand({ Name: "marker", SecretString: marker }));
    await sm.send(new GetSecretValueCommand({ SecretId: "marker" }));
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    for (const f of walk(s.dataDir)) {
      if (f.endsWith("localfargate.lock")) continue;
      expect(readFileSync(f).includes(marker), f).toBe(false);
    }
  });

  it("moves AWSCURRENT and AWSPREVIOUS and keeps custom labels", async () => {
    const c = await sm.send(new CreateSecretCommand({ Name: "versions", SecretString: "v1" }));
    const p2 = await sm.send(new PutSecretValueCommand({ SecretId: "versions", SecretString: "v2" }));
    expect(p2.VersionStages).toEqual(["AWSCURRENT"]);
    const p3 = await sm.send(new PutSecretValueCommand({ SecretId: "versions", SecretString: "v3", VersionStages: ["AWSCURRENT", "BLUE"] }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "versions" }))).SecretString).toBe("v3");
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "versions", VersionStage: "AWSPREVIOUS" }))).SecretString).toBe("v2");
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "versions", VersionId: c.VersionId }))).SecretString).toBe("v1");
    const d = await sm.send(new DescribeSecretCommand({ SecretId: "versions" }));
    expect(d.VersionIdsToStages).toEqual({ [p2.VersionId!]: ["AWSPREVIOUS"], [p3.VersionId!]: ["AWSCURRENT", "BLUE"] });
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "versions", IncludeDeprecated: true }));
    expect(all.Versions!.map((v) => v.VersionId)).toEqual([c.VersionId, p2.VersionId, p3.VersionId]);
    expect((await sm.send(new ListSecretVersionIdsCommand({ SecretId: "versions" }))).Versions!.length).toBe(2);
    // moving a label held by another version needs RemoveFromVersionId
    await expectAwsError(
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: "versions", VersionStage: "BLUE", MoveToVersionId: c.VersionId })),
      "InvalidParameterException",
      400,
    );
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: "versions", VersionStage: "BLUE", MoveToVersionId: c.VersionId, RemoveFromVersionId: p3.VersionId }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "versions", VersionStage: "BLUE" }))).SecretString).toBe("v1");
    await expectAwsError(
      sm.send(new GetSecretValueCommand({ SecretId: "versions", VersionStage: "NOPE" })),
      "ResourceNotFoundException",
      400,
      "Secrets Manager can't find the specified secret value for staging label: NOPE",
    );
  });

  it("treats a repeated ClientRequestToken as a retry and a changed value as a conflict", async () => {
    await sm.send(new CreateSecretCommand({ Name: "idem", SecretString: "a" }));
    const token = "0123456789abcdef0123456789abcdef";
    const a = await sm.send(new PutSecretValueCommand({ SecretId: "idem", SecretString: "b", ClientRequestToken: token }));
    const again = await sm.send(new PutSecretValueCommand({ SecretId: "idem", SecretString: "b", ClientRequestToken: token }));
    expect(again.VersionId).toBe(a.VersionId);
    await expectAwsError(
      sm.send(new PutSecretValueCommand({ SecretId: "idem", SecretString: "c", ClientRequestToken: token })),
      "ResourceExistsException",
      400,
      "You can't modify an existing version, you can only create a new version.",
    );
  });

  it("answers a retried CreateSecret (same ClientRequestToken and value) with the secret it made", async () => {
    const token = "fedcba9876543210fedcba9876543210";
    const first = await sm.send(new CreateSecretCommand({ Name: "retried", SecretString: "r", ClientRequestToken: token }));
    const again = await sm.send(new CreateSecretCommand({ Name: "retried", SecretString: "r", ClientRequestToken: token }));
    expect(again).toMatchObject({ ARN: first.ARN, VersionId: token });
    await expectAwsError(sm.send(new CreateSecretCommand({ Name: "retried", SecretString: "other", ClientRequestToken: token })), "ResourceExistsException", 400);
    await expectAwsError(
      sm.send(new CreateSecretCommand({ Name: "retried", SecretString: "r" })),
      "ResourceExistsException",
      400,
      "The operation failed because the secret retried already exists.",
    );
  });

  it("answers AWS's errors for bad input", async () => {
    await expectAwsError(sm.send(new GetSecretValueCommand({ SecretId: "missing" })), "ResourceNotFoundException", 400, "Secrets Manager can't find the specified secret.");
    await expectAwsError(
      sm.send(new CreateSecretCommand({ Name: "both", SecretString: "x", SecretBinary: Buffer.from("y") })),
      "InvalidParameterException",
      400,
      "You can't specify both a binary secret value and a string secret value in the same secret.",
    );
    await expectAwsError(sm.send(new CreateSecretCommand({ Name: "bad name!" })), "InvalidParameterException", 400);
    await sm.send(new CreateSecretCommand({ Name: "dupe" }));
    await expectAwsError(sm.send(new CreateSecretCommand({ Name: "dupe" })), "ResourceExistsException", 400, "The operation failed because the secret dupe already exists.");
    await expectAwsError(sm.send(new GetSecretValueCommand({ SecretId: "dupe" })), "ResourceNotFoundException", 400);
    await expectAwsError(sm.send(new DeleteSecretCommand({ SecretId: "dupe", RecoveryWindowInDays: 3 })), "InvalidParameterException", 400);
    await expectAwsError(sm.send(new DeleteSecretCommand({ SecretId: "dupe", RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })), "InvalidParameterException", 400);
  });
});

describe("deletion on the service clock", () => {
  it("schedules, refuses reads, restores, and deletes when the window has passed", async () => {
    await sm.send(new CreateSecretCommand({ Name: "temp", SecretString: "t" }));
    const d = await sm.send(new DeleteSecretCommand({ SecretId: "temp", RecoveryWindowInDays: 7 }));
    expect(d.DeletionDate).toBeInstanceOf(Date);
    await expectAwsError(
      sm.send(new GetSecretValueCommand({ SecretId: "temp" })),
      "InvalidRequestException",
      400,
      "You can't perform this operation on the secret because it was marked for deletion.",
    );
    expect((await sm.send(new ListSecretsCommand({}))).SecretList!.some((x) => x.Name === "temp")).toBe(false);
    expect((await sm.send(new ListSecretsCommand({ IncludePlannedDeletion: true }))).SecretList!.some((x) => x.Name === "temp")).toBe(true);
    await sm.send(new RestoreSecretCommand({ SecretId: "temp" }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "temp" }))).SecretString).toBe("t");
    await sm.send(new DeleteSecretCommand({ SecretId: "temp", RecoveryWindowInDays: 7 }));
    await s.advanceClock(6 * 86400);
    expect((await sm.send(new DescribeSecretCommand({ SecretId: "temp" }))).DeletedDate).toBeDefined();
    await s.advanceClock(2 * 86400);
    await expectAwsError(sm.send(new DescribeSecretCommand({ SecretId: "temp" })), "ResourceNotFoundException", 400);
    // the name is free again
    await sm.send(new CreateSecretCommand({ Name: "temp", SecretString: "again" }));
  });

  it("ForceDeleteWithoutRecovery deletes at once", async () => {
    await sm.send(new CreateSecretCommand({ Name: "gone", SecretString: "g" }));
    await sm.send(new DeleteSecretCommand({ SecretId: "gone", ForceDeleteWithoutRecovery: true }));
    await expectAwsError(sm.send(new DescribeSecretCommand({ SecretId: "gone" })), "ResourceNotFoundException", 400);
  });
});

describe("listing, tags, policies, passwords", () => {
  it("filters and pages ListSecrets and BatchGetSecretValue", async () => {
    for (const n of ["list/a", "list/b", "list/c"]) await sm.send(new CreateSecretCommand({ Name: n, SecretString: n, Tags: [{ Key: "team", Value: "blue" }] }));
    const first = await sm.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["list/"] }], MaxResults: 2 }));
    expect(first.SecretList!.map((x) => x.Name)).toEqual(["list/a", "list/b"]);
    const rest = await sm.send(new ListSecretsCommand({ Filters: [{ Key: "name", Values: ["list/"] }], MaxResults: 2, NextToken: first.NextToken }));
    expect(rest.SecretList!.map((x) => x.Name)).toEqual(["list/c"]);
    expect(rest.NextToken).toBeUndefined();
    await expectAwsError(sm.send(new ListSecretsCommand({ NextToken: "garbage" })), "InvalidParameterException", 400);
    const b = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: ["list/a", "list/c", "nope"] }));
    expect(b.SecretValues!.map((v) => v.SecretString)).toEqual(["list/a", "list/c"]);
    expect(b.Errors).toEqual([{ SecretId: "nope", ErrorCode: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret." }]);
    const byTag = await sm.send(new BatchGetSecretValueCommand({ Filters: [{ Key: "tag-value", Values: ["blue"] }] }));
    expect(byTag.SecretValues!.length).toBe(3);
  });

  it("tags and untags", async () => {
    await sm.send(new CreateSecretCommand({ Name: "tagged" }));
    await sm.send(
      new TagResourceCommand({
        SecretId: "tagged",
        Tags: [
          { Key: "a", Value: "1" },
          { Key: "b", Value: "2" },
        ],
      }),
    );
    await sm.send(new UntagResourceCommand({ SecretId: "tagged", TagKeys: ["a"] }));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: "tagged" }))).Tags).toEqual([{ Key: "b", Value: "2" }]);
    await expectAwsError(sm.send(new TagResourceCommand({ SecretId: "tagged", Tags: [{ Key: "aws:x", Value: "1" }] })), "InvalidParameterException", 400);
  });

  it("keeps, validates and removes resource policies", async () => {
    const c = await sm.send(new CreateSecretCommand({ Name: "with-policy", SecretString: "p" }));
    const policy = doc([{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "secretsmanager:GetSecretValue", Resource: "*" }]);
    await sm.send(new PutResourcePolicyCommand({ SecretId: "with-policy", ResourcePolicy: policy }));
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: c.ARN }))).ResourcePolicy).toBe(policy);
    const open = doc([{ Effect: "Allow", Principal: "*", Action: "secretsmanager:GetSecretValue", Resource: "*" }]);
    await expectAwsError(sm.send(new PutResourcePolicyCommand({ SecretId: "with-policy", ResourcePolicy: open, BlockPublicPolicy: true })), "PublicPolicyException", 400);
    await expectAwsError(sm.send(new PutResourcePolicyCommand({ SecretId: "with-policy", ResourcePolicy: "{not json" })), "MalformedPolicyDocumentException", 400);
    expect((await sm.send(new ValidateResourcePolicyCommand({ ResourcePolicy: open }))).PolicyValidationPassed).toBe(false);
    expect((await sm.send(new ValidateResourcePolicyCommand({ ResourcePolicy: policy }))).PolicyValidationPassed).toBe(true);
    await sm.send(new DeleteResourcePolicyCommand({ SecretId: "with-policy" }));
    expect((await sm.send(new GetResourcePolicyCommand({ SecretId: "with-policy" }))).ResourcePolicy).toBeUndefined();
  });

  it("generates passwords by AWS's rules", async () => {
    const p = (await sm.send(new GetRandomPasswordCommand({}))).RandomPassword!;
    expect(p).toHaveLength(32);
    expect(p).toMatch(/[A-Z]/);
    expect(p).toMatch(/[a-z]/);
    expect(p).toMatch(/[0-9]/);
    const digits = (await sm.send(new GetRandomPasswordCommand({ PasswordLength: 50, ExcludeUppercase: true, ExcludeLowercase: true, ExcludePunctuation: true }))).RandomPassword!;
    expect(digits).toMatch(/^[0-9]{50}$/);
    await expectAwsError(
      sm.send(new GetRandomPasswordCommand({ ExcludeUppercase: true, ExcludeLowercase: true, ExcludePunctuation: true, ExcludeNumbers: true })),
      "InvalidParameterException",
      400,
    );
  });
});

describe("customer managed keys, key policies and CloudTrail", () => {
  it("encrypts under the secret's key through Secrets Manager, and a disabled key or missing kms:Decrypt refuses the read", async () => {
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const c = await sm.send(new CreateSecretCommand({ Name: "cmk", SecretString: "under-cmk", KmsKeyId: key.Arn }));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: "cmk" }))).KmsKeyId).toBe(key.Arn);
    const events = (await lookupAll(new CloudTrailClient(s.config), "ResourceName", key.Arn)).map(recordOf);
    const gen = events.find((e) => e.eventName === "GenerateDataKey")!;
    expect(gen).toBeDefined();
    expect(gen.requestParameters.encryptionContext).toEqual({ SecretARN: c.ARN, SecretVersionId: c.VersionId });
    expect(gen.sourceIPAddress).toBe("secretsmanager.amazonaws.com");

    // a user allowed secretsmanager:GetSecretValue but not kms:Decrypt
    const creds = await userWithKey(iam, "reader", doc([allow("secretsmanager:GetSecretValue")]));
    const reader = new SecretsManagerClient(s.configFor(creds));
    await expectAwsError(reader.send(new GetSecretValueCommand({ SecretId: "cmk" })), "AccessDeniedException", 400, "Access to KMS is not allowed");
    const creds2 = await userWithKey(iam, "reader2", doc([allow(["secretsmanager:GetSecretValue", "kms:Decrypt"])]));
    expect((await new SecretsManagerClient(s.configFor(creds2)).send(new GetSecretValueCommand({ SecretId: "cmk" }))).SecretString).toBe("under-cmk");
    // no secretsmanager:GetSecretValue at all
    const creds3 = await userWithKey(iam, "nobody", doc([allow("kms:Decrypt")]));
    await expectAwsError(new SecretsManagerClient(s.configFor(creds3)).send(new GetSecretValueCommand({ SecretId: "cmk" })), "AccessDeniedException", 400);

    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectAwsError(sm.send(new GetSecretValueCommand({ SecretId: "cmk" })), "DecryptionFailure", 400);
    await expectAwsError(sm.send(new PutSecretValueCommand({ SecretId: "cmk", SecretString: "x" })), "EncryptionFailure", 400);
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "cmk" }))).SecretString).toBe("under-cmk");
  });

  it("under the AWS managed key, secretsmanager:GetSecretValue alone reads; the key itself cannot be managed", async () => {
    await sm.send(new CreateSecretCommand({ Name: "managed-read", SecretString: "m" }));
    const creds = await userWithKey(iam, "managed-reader", doc([allow("secretsmanager:GetSecretValue")]));
    expect((await new SecretsManagerClient(s.configFor(creds)).send(new GetSecretValueCommand({ SecretId: "managed-read" }))).SecretString).toBe("m");
    const managed = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/aws/secretsmanager" }))).KeyMetadata!;
    await expectAwsError(kms.send(new DisableKeyCommand({ KeyId: managed.KeyId })), "AccessDeniedException", 400);
  });

  it("re-encrypts the labelled versions when the key changes", async () => {
    const k1 = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    const k2 = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    await sm.send(new CreateSecretCommand({ Name: "rekey", SecretString: "r", KmsKeyId: k1.Arn }));
    await sm.send(new UpdateSecretCommand({ SecretId: "rekey", KmsKeyId: k2.Arn }));
    await kms.send(new DisableKeyCommand({ KeyId: k1.KeyId }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: "rekey" }))).SecretString).toBe("r");
    const versions = await sm.send(new ListSecretVersionIdsCommand({ SecretId: "rekey" }));
    expect(versions.Versions![0].KmsKeyIds).toEqual([k2.Arn]);
  });

  it("records no secret value in CloudTrail", async () => {
    await sm.send(new CreateSecretCommand({ Name: "quiet", SecretString: "TRAIL-MARKER-41" }));
    await sm.send(new PutSecretValueCommand({ SecretId: "quiet", SecretString: "TRAIL-MARKER-42" }));
    await sm.send(new GetSecretValueCommand({ SecretId: "quiet" }));
    const all = await lookupAll(new CloudTrailClient(s.config));
    expect(all.some((e) => e.CloudTrailEvent!.includes("TRAIL-MARKER"))).toBe(false);
  });
});

describe("another account", () => {
  it("reads a secret by its full ARN only where the resource policy and the key policy let it in", async () => {
    const OTHER = "111122223333";
    const other = new SecretsManagerClient(s.configFor({ accessKeyId: OTHER, secretAccessKey: "test" }));
    const keyPolicy = doc([
      { Effect: "Allow", Principal: { AWS: "arn:aws:iam::000000000000:root" }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "kms:Decrypt", Resource: "*" },
    ]);
    const key = (await kms.send(new CreateKeyCommand({ Policy: keyPolicy }))).KeyMetadata!;
    const shared = await sm.send(new CreateSecretCommand({ Name: "shared", SecretString: "for-b", KmsKeyId: key.Arn }));
    const managed = await sm.send(new CreateSecretCommand({ Name: "shared-managed", SecretString: "for-b" }));
    // no resource policy yet: refused
    await expectAwsError(other.send(new GetSecretValueCommand({ SecretId: shared.ARN })), "AccessDeniedException", 400);
    const letB = (arn: string) => doc([{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "secretsmanager:GetSecretValue", Resource: arn }]);
    await sm.send(new PutResourcePolicyCommand({ SecretId: shared.ARN, ResourcePolicy: letB(shared.ARN!) }));
    await sm.send(new PutResourcePolicyCommand({ SecretId: managed.ARN, ResourcePolicy: letB(managed.ARN!) }));
    expect((await other.send(new GetSecretValueCommand({ SecretId: shared.ARN }))).SecretString).toBe("for-b");
    // a name resolves in the caller's own account
    await expectAwsError(other.send(new GetSecretValueCommand({ SecretId: "shared" })), "ResourceNotFoundException", 400);
    // the AWS managed key's policy admits callers of its own account only
    await expectAwsError(other.send(new GetSecretValueCommand({ SecretId: managed.ARN })), "AccessDeniedException", 400, "Access to KMS is not allowed");
    // the resource policy grants GetSecretValue only
    await expectAwsError(other.send(new PutSecretValueCommand({ SecretId: shared.ARN, SecretString: "overwritten" })), "AccessDeniedException", 400);
  });
});

describe("condition keys", () => {
  it("secretsmanager:ResourceTag and secretsmanager:VersionStage decide in IAM policies", async () => {
    await sm.send(new CreateSecretCommand({ Name: "team-a", SecretString: "a", Tags: [{ Key: "team", Value: "a" }] }));
    await sm.send(new CreateSecretCommand({ Name: "team-b", SecretString: "b", Tags: [{ Key: "team", Value: "b" }] }));
    await sm.send(new PutSecretValueCommand({ SecretId: "team-a", SecretString: "a2" }));
    const policy = doc([
      allow("secretsmanager:GetSecretValue", "*", { Condition: { StringEquals: { "secretsmanager:ResourceTag/team": "a", "secretsmanager:VersionStage": "AWSCURRENT" } } }),
    ]);
    const reader = new SecretsManagerClient(s.configFor(await userWithKey(iam, "team-a-reader", policy)));
    expect((await reader.send(new GetSecretValueCommand({ SecretId: "team-a", VersionStage: "AWSCURRENT" }))).SecretString).toBe("a2");
    await expectAwsError(reader.send(new GetSecretValueCommand({ SecretId: "team-a", VersionStage: "AWSPREVIOUS" })), "AccessDeniedException", 400);
    await expectAwsError(reader.send(new GetSecretValueCommand({ SecretId: "team-b", VersionStage: "AWSCURRENT" })), "AccessDeniedException", 400);
  });
});
