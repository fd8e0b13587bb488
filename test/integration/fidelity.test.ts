/**
 * Where localfargate used to answer differently from AWS: each case through the real SDK clients,
 * as AWS documents (or, where it does not, as docs/ says we chose).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudTrailClient, CreateTrailCommand, GetTrailCommand, LookupEventsCommand, UpdateTrailCommand } from "@aws-sdk/client-cloudtrail";
import { ECSClient, ListTaskDefinitionFamiliesCommand, ListTaskDefinitionsCommand, RegisterTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListPoliciesCommand,
  ListUsersCommand,
} from "@aws-sdk/client-iam";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  CreateGrantCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateBucketCommand, DeleteBucketPolicyCommand, GetBucketPolicyCommand, PutBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import { cloudTrailBucketPolicy } from "./cloudtrail-helpers.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { signedFetch } from "../support/signed-fetch.ts";
import { expectAwsError } from "./iam-helpers.ts";
import { ACCOUNT, createKey, expectKmsError, utf8 } from "./kms-helpers.ts";

let s: TestServer;
let kms: KMSClient;
let ecs: ECSClient;
let iam: IAMClient;
let ct: CloudTrailClient;

beforeAll(async () => {
  s = await startTestServer();
  kms = new KMSClient(s.config);
  ecs = new ECSClient(s.config);
  iam = new IAMClient(s.config);
  ct = new CloudTrailClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

describe("KMS", () => {
  it("CreateAlias refuses a name with characters outside letters, digits, '/', '_' and '-'", async () => {
    const k = await createKey(kms);
    await expectKmsError(
      kms.send(new CreateAliasCommand({ AliasName: "alias/my:alias", TargetKeyId: k.KeyId })),
      "ValidationException",
      "alias/my:alias contains invalid characters for an alias",
    );
    await kms.send(new CreateAliasCommand({ AliasName: "alias/my_alias-1/x", TargetKeyId: k.KeyId }));
    const names = (await kms.send(new ListAliasesCommand({ KeyId: k.KeyId }))).Aliases!.map((a) => a.AliasName);
    expect(names).toEqual(["alias/my_alias-1/x"]);
  });

  it("ListAliases lists the predefined AWS managed aliases without TargetKeyId, in name order, across pages", async () => {
    const other = new KMSClient({ ...s.config, region: "eu-west-1" });
    const k = (await other.send(new CreateKeyCommand({}))).KeyMetadata!;
    await other.send(new CreateAliasCommand({ AliasName: "alias/awsome", TargetKeyId: k.KeyId }));
    await other.send(new CreateAliasCommand({ AliasName: "alias/app", TargetKeyId: k.KeyId }));
    const all = (await other.send(new ListAliasesCommand({}))).Aliases!;
    const names = all.map((a) => a.AliasName!);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(["alias/app", "alias/awsome", "alias/aws/ebs", "alias/aws/secretsmanager", "alias/aws/ssm", "alias/aws/s3"]));
    const ebs = all.find((a) => a.AliasName === "alias/aws/ebs")!;
    expect(ebs).toEqual({ AliasName: "alias/aws/ebs", AliasArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/aws/ebs` });
    expect(all.find((a) => a.AliasName === "alias/app")!.TargetKeyId).toBe(k.KeyId);
    const paged: string[] = [];
    let Marker: string | undefined;
    do {
      const r = await other.send(new ListAliasesCommand({ Limit: 3, Marker }));
      expect(r.Aliases!.length).toBeLessThanOrEqual(3);
      paged.push(...r.Aliases!.map((a) => a.AliasName!));
      Marker = r.Truncated ? r.NextMarker : undefined;
    } while (Marker);
    expect(paged).toEqual(names);
    // filtered by key: only that key's aliases
    expect((await other.send(new ListAliasesCommand({ KeyId: k.KeyId }))).Aliases!.map((a) => a.AliasName)).toEqual(["alias/app", "alias/awsome"]);
  });

  it("DescribeKey on a predefined alias creates the AWS managed key behind it, which only its service may use", async () => {
    const west = new KMSClient({ ...s.config, region: "us-west-2" });
    const before = (await west.send(new ListAliasesCommand({}))).Aliases!.find((a) => a.AliasName === "alias/aws/ebs")!;
    expect(before.TargetKeyId).toBeUndefined();
    const md = (await west.send(new DescribeKeyCommand({ KeyId: "alias/aws/ebs" }))).KeyMetadata!;
    expect(md).toMatchObject({ KeyManager: "AWS", KeyState: "Enabled", Origin: "AWS_KMS", KeySpec: "SYMMETRIC_DEFAULT", AWSAccountId: ACCOUNT });
    expect((await west.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:us-west-2:${ACCOUNT}:alias/aws/ebs` }))).KeyMetadata!.KeyId).toBe(md.KeyId);
    const after = (await west.send(new ListAliasesCommand({}))).Aliases!.find((a) => a.AliasName === "alias/aws/ebs")!;
    expect(after.TargetKeyId).toBe(md.KeyId);
    expect((await west.send(new GetKeyRotationStatusCommand({ KeyId: md.KeyId }))).KeyRotationEnabled).toBe(true);
    expect(JSON.parse((await west.send(new GetKeyPolicyCommand({ KeyId: md.KeyId }))).Policy!).Statement[0].Condition.StringEquals["kms:ViaService"]).toBe(
      "ec2.us-west-2.amazonaws.com",
    );
    // used directly, or managed, it is refused by its key policy, even to the account's root
    await expectKmsError(west.send(new EncryptCommand({ KeyId: "alias/aws/ebs", Plaintext: utf8("x") })), "AccessDeniedException");
    await expectKmsError(west.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId })), "AccessDeniedException");
    await expectKmsError(west.send(new PutKeyPolicyCommand({ KeyId: md.KeyId, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [] }) })), "AccessDeniedException");
    // another Region's alias is still only predefined
    expect((await kms.send(new ListAliasesCommand({}))).Aliases!.find((a) => a.AliasName === "alias/aws/ebs")!.TargetKeyId).toBeUndefined();
  });

  it("RotateKeyOnDemand on a disabled asymmetric key answers DisabledException first", async () => {
    const k = await createKey(kms, { KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT" });
    await kms.send(new DisableKeyCommand({ KeyId: k.KeyId }));
    await expectKmsError(kms.send(new RotateKeyOnDemandCommand({ KeyId: k.KeyId })), "DisabledException", `${k.Arn} is disabled.`);
  });

  it("Decrypt and ReEncrypt DryRun with DryRunModifiers IGNORE_CIPHERTEXT check permissions without a valid ciphertext", async () => {
    const k = await createKey(kms);
    const garbage = utf8("not a ciphertext at all, but long enough to look like one");
    await expectKmsError(kms.send(new DecryptCommand({ KeyId: k.KeyId, CiphertextBlob: garbage, DryRun: true })), "InvalidCiphertextException");
    await expectKmsError(
      kms.send(new DecryptCommand({ KeyId: k.KeyId, CiphertextBlob: garbage, DryRun: true, DryRunModifiers: ["IGNORE_CIPHERTEXT"] })),
      "DryRunOperationException",
    );
    await expectKmsError(
      kms.send(new ReEncryptCommand({ SourceKeyId: k.KeyId, DestinationKeyId: k.KeyId, CiphertextBlob: garbage, DryRun: true, DryRunModifiers: ["IGNORE_CIPHERTEXT"] })),
      "DryRunOperationException",
    );
    // the modifier means nothing without DryRun, and needs the key named
    await expectKmsError(kms.send(new DecryptCommand({ KeyId: k.KeyId, CiphertextBlob: garbage, DryRunModifiers: ["IGNORE_CIPHERTEXT"] })), "InvalidCiphertextException");
    await expectKmsError(kms.send(new DecryptCommand({ CiphertextBlob: garbage, DryRun: true, DryRunModifiers: ["IGNORE_CIPHERTEXT"] })), "ValidationException");
  });

  it("Decrypt and ReEncrypt naming an HMAC key answer IncorrectKeyException", async () => {
    const sym = await createKey(kms);
    const hmac = await createKey(kms, { KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    const blob = (await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("x") }))).CiphertextBlob!;
    const message = "The key ID in the request does not identify a CMK that can perform this operation.";
    await expectKmsError(kms.send(new DecryptCommand({ KeyId: hmac.KeyId, CiphertextBlob: blob })), "IncorrectKeyException", message);
    await expectKmsError(kms.send(new ReEncryptCommand({ SourceKeyId: hmac.KeyId, DestinationKeyId: sym.KeyId, CiphertextBlob: blob })), "IncorrectKeyException", message);
  });
});

describe("ECS task definitions", () => {
  const container = { name: "app", image: "busybox", essential: true };

  it("ListTaskDefinitions' familyPrefix is the whole family name; ListTaskDefinitionFamilies' is a prefix", async () => {
    for (const family of ["web", "web", "webapp"]) {
      await ecs.send(new RegisterTaskDefinitionCommand({ family, containerDefinitions: [{ ...container, memory: 128 }] }));
    }
    const arns = (await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "web" }))).taskDefinitionArns;
    expect(arns).toEqual([`arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/web:1`, `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/web:2`]);
    expect((await ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: "we" }))).taskDefinitionArns).toEqual([]);
    expect((await ecs.send(new ListTaskDefinitionFamiliesCommand({ familyPrefix: "web" }))).families).toEqual(["web", "webapp"]);
  });

  it("refuses pidMode host and any ipcMode on Fargate, and keeps pidMode task", async () => {
    const fargate = { requiresCompatibilities: ["FARGATE" as const], networkMode: "awsvpc" as const, cpu: "256", memory: "512", containerDefinitions: [container] };
    await expectAwsError(
      ecs.send(new RegisterTaskDefinitionCommand({ family: "pid-host", ...fargate, pidMode: "host" })),
      "ClientException",
      400,
      "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
    );
    await expectAwsError(
      ecs.send(new RegisterTaskDefinitionCommand({ family: "ipc", ...fargate, ipcMode: "task" })),
      "ClientException",
      400,
      "Tasks using the Fargate launch type do not support ipcMode.",
    );
    const ok = await ecs.send(new RegisterTaskDefinitionCommand({ family: "pid-task", ...fargate, pidMode: "task" }));
    expect(ok.taskDefinition!.pidMode).toBe("task");
  });

  it("refuses an EC2 task definition with memory at neither the task nor the container level", async () => {
    await expectAwsError(
      ecs.send(new RegisterTaskDefinitionCommand({ family: "no-memory", requiresCompatibilities: ["EC2"], containerDefinitions: [container] })),
      "ClientException",
      400,
      "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified.",
    );
    await expectAwsError(
      ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "no-memory",
          containerDefinitions: [
            { ...container, memoryReservation: 64 },
            { ...container, name: "side" },
          ],
        }),
      ),
      "ClientException",
      400,
      "Invalid setting for container 'side'. At least one of 'memory' or 'memoryReservation' must be specified.",
    );
    await ecs.send(new RegisterTaskDefinitionCommand({ family: "task-memory", requiresCompatibilities: ["EC2"], memory: "256", containerDefinitions: [container] }));
    await ecs.send(new RegisterTaskDefinitionCommand({ family: "reservation", containerDefinitions: [{ ...container, memoryReservation: 64 }] }));
  });
});

describe("IAM and STS", () => {
  const document = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }] });

  it("CreatePolicy and ListPolicies leave out Description; GetPolicy has it, and Tags even when empty", async () => {
    const c = await iam.send(new CreatePolicyCommand({ PolicyName: "described", PolicyDocument: document, Description: "what it is for" }));
    expect(c.Policy!.Description).toBeUndefined();
    expect(c.Policy!.Tags).toBeUndefined();
    const g = await iam.send(new GetPolicyCommand({ PolicyArn: c.Policy!.Arn }));
    expect(g.Policy!.Description).toBe("what it is for");
    expect(g.Policy!.Tags).toEqual([]);
    const listed = (await iam.send(new ListPoliciesCommand({ Scope: "Local" }))).Policies!.find((p) => p.PolicyName === "described");
    expect(listed!.Description).toBeUndefined();
    const tagged = await iam.send(new CreatePolicyCommand({ PolicyName: "tagged", PolicyDocument: document, Tags: [{ Key: "k", Value: "v" }] }));
    expect(tagged.Policy!.Tags).toEqual([{ Key: "k", Value: "v" }]);
  });

  it("serves AWS's managed policy catalogue: security tools' policies by ARN, documents that really apply, all of them listed", async () => {
    for (const arn of [
      "arn:aws:iam::aws:policy/SecurityAudit",
      "arn:aws:iam::aws:policy/ReadOnlyAccess",
      "arn:aws:iam::aws:policy/AWSSupportAccess",
      "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
      "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    ]) {
      const p = (await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy!;
      expect(p.Arn).toBe(arn);
      expect(p.PolicyId).toMatch(/^ANPA[A-Z2-7]{17}$/);
      expect(p.DefaultVersionId).toMatch(/^v\d+$/);
      const v = (await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: p.DefaultVersionId }))).PolicyVersion!;
      expect(JSON.parse(decodeURIComponent(v.Document!)).Statement.length).toBeGreaterThan(0);
    }
    // the ID is the same at every look-up (and every start): derived from the ARN
    const again = (await iam.send(new GetPolicyCommand({ PolicyArn: "arn:aws:iam::aws:policy/SecurityAudit" }))).Policy!;
    expect(again.PolicyId).toBe((await iam.send(new GetPolicyCommand({ PolicyArn: "arn:aws:iam::aws:policy/SecurityAudit" }))).Policy!.PolicyId);
    // listed: every AWS managed policy, paged
    let count = 0;
    let Marker: string | undefined;
    do {
      const r = await iam.send(new ListPoliciesCommand({ Scope: "AWS", MaxItems: 1000, Marker }));
      count += r.Policies!.length;
      Marker = r.IsTruncated ? r.Marker : undefined;
    } while (Marker);
    expect(count).toBeGreaterThan(1000);
    // ReadOnlyAccess attached to a user really lets it read, and only read
    await iam.send(new CreateUserCommand({ UserName: "auditor" }));
    await iam.send(new AttachUserPolicyCommand({ UserName: "auditor", PolicyArn: "arn:aws:iam::aws:policy/ReadOnlyAccess" }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "auditor" }))).AccessKey!;
    const auditor = new IAMClient(s.configFor({ accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! }));
    expect((await auditor.send(new ListUsersCommand({}))).Users!.map((u) => u.UserName)).toContain("auditor");
    await expectAwsError(auditor.send(new CreateUserCommand({ UserName: "intruder" })), "AccessDenied", 403);
  });

  it("prints member patterns without ^ and $ anchors", async () => {
    const sts = new STSClient(s.config);
    await expectAwsError(
      sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/r`, RoleSessionName: "bad name" })),
      "ValidationError",
      400,
      "1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
    );
  });
});

describe("CloudTrail", () => {
  it("CreateTrail checks that a multi-Region trail includes global service events before it looks at the bucket", async () => {
    await expectAwsError(
      ct.send(new CreateTrailCommand({ Name: "no-global", S3BucketName: "no-such-bucket", IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false })),
      "InvalidParameterCombinationException",
      400,
      "Multi-Region trail must include global service events.",
    );
  });

  it("CreateTrail needs a bucket policy that lets CloudTrail write (InsufficientS3BucketPolicyException otherwise)", async () => {
    const s3 = new S3Client({ ...s.config, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: "no-policy" }));
    const insufficient = "Incorrect S3 bucket policy is detected for bucket: no-policy";
    await expectAwsError(ct.send(new CreateTrailCommand({ Name: "trail-one", S3BucketName: "no-policy" })), "InsufficientS3BucketPolicyException", 403, insufficient);
    // a policy that lets CloudTrail read the ACL but not write
    const aclOnly = JSON.parse(cloudTrailBucketPolicy("no-policy")) as { Statement: unknown[] };
    aclOnly.Statement = aclOnly.Statement.slice(0, 1);
    await s3.send(new PutBucketPolicyCommand({ Bucket: "no-policy", Policy: JSON.stringify(aclOnly) }));
    await expectAwsError(ct.send(new CreateTrailCommand({ Name: "trail-one", S3BucketName: "no-policy" })), "InsufficientS3BucketPolicyException", 403, insufficient);
    // write only under another prefix than the trail's
    const elsewhere = cloudTrailBucketPolicy("no-policy").replace("arn:aws:s3:::no-policy/*", "arn:aws:s3:::no-policy/other/*");
    await s3.send(new PutBucketPolicyCommand({ Bucket: "no-policy", Policy: elsewhere }));
    await expectAwsError(
      ct.send(new CreateTrailCommand({ Name: "trail-one", S3BucketName: "no-policy", S3KeyPrefix: "audit" })),
      "InsufficientS3BucketPolicyException",
      403,
      insufficient,
    );
    await ct.send(new CreateTrailCommand({ Name: "trail-one", S3BucketName: "no-policy", S3KeyPrefix: "other" }));
    // moving the trail to a prefix the policy does not cover is refused too, and changes nothing
    await expectAwsError(ct.send(new UpdateTrailCommand({ Name: "trail-one", S3KeyPrefix: "audit" })), "InsufficientS3BucketPolicyException", 403, insufficient);
    expect((await ct.send(new GetTrailCommand({ Name: "trail-one" }))).Trail!.S3KeyPrefix).toBe("other");
    // the documented policy lets any prefix in
    await s3.send(new PutBucketPolicyCommand({ Bucket: "no-policy", Policy: cloudTrailBucketPolicy("no-policy") }));
    await ct.send(new CreateTrailCommand({ Name: "trail-two", S3BucketName: "no-policy", S3KeyPrefix: "audit" }));
  });

  it("LookupEvents orders events of the same second by when they happened", async () => {
    const k = await createKey(kms);
    const grantee = `arn:aws:iam::${ACCOUNT}:root`;
    // DryRun fails and changes nothing, so it is stored through the audit log, after the real grant's transaction
    await expectKmsError(kms.send(new CreateGrantCommand({ KeyId: k.KeyId, GranteePrincipal: grantee, Operations: ["Decrypt"], DryRun: true })), "DryRunOperationException");
    await kms.send(new CreateGrantCommand({ KeyId: k.KeyId, GranteePrincipal: grantee, Operations: ["Decrypt"] }));
    const events = (await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: k.Arn! }] }))).Events!;
    const grants = events.filter((e) => e.EventName === "CreateGrant").map((e) => JSON.parse(e.CloudTrailEvent!) as { errorCode?: string; eventID: string });
    expect(grants.map((g) => g.errorCode ?? "ok")).toEqual(["ok", "DryRunOperationException"]);
    for (const e of events) expect(e.EventTime!.getTime() % 1000).toBe(0);
  });
});

describe("S3 bucket policies", () => {
  it("puts, gets and deletes a bucket policy, refusing malformed ones with S3's errors", async () => {
    const s3 = new S3Client({ ...s.config, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: "policy-crud" }));
    await expectAwsError(s3.send(new GetBucketPolicyCommand({ Bucket: "policy-crud" })), "NoSuchBucketPolicy", 404, "The bucket policy does not exist");
    const policy = cloudTrailBucketPolicy("policy-crud");
    await s3.send(new PutBucketPolicyCommand({ Bucket: "policy-crud", Policy: policy }));
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: "policy-crud" }))).Policy).toBe(policy);
    await expectAwsError(
      s3.send(new PutBucketPolicyCommand({ Bucket: "policy-crud", Policy: "not json" })),
      "MalformedPolicy",
      400,
      "Policies must be valid JSON and the first byte must be '{'",
    );
    await expectAwsError(
      s3.send(new PutBucketPolicyCommand({ Bucket: "policy-crud", Policy: policy.replace("arn:aws:s3:::policy-crud/*", "arn:aws:s3:::someone-else/*") })),
      "MalformedPolicy",
      400,
      "Policy has invalid resource",
    );
    await expectAwsError(s3.send(new PutBucketPolicyCommand({ Bucket: "policy-crud", Policy: JSON.stringify({ Statement: [{ Effect: "Maybe" }] }) })), "MalformedPolicy", 400);
    expect((await s3.send(new GetBucketPolicyCommand({ Bucket: "policy-crud" }))).Policy).toBe(policy);
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: "policy-crud" }));
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: "policy-crud" }));
    await expectAwsError(s3.send(new GetBucketPolicyCommand({ Bucket: "policy-crud" })), "NoSuchBucketPolicy", 404);
    await expectAwsError(s3.send(new GetBucketPolicyCommand({ Bucket: "no-such-bucket-here" })), "NoSuchBucket", 404);
  });
});

describe("a service localfargate does not have", () => {
  it("answers a Query request (EC2 DescribeRegions) in XML a Query client can read", async () => {
    const r = await signedFetch(s.url, "ec2", "Action=DescribeRegions&Version=2016-11-15", { "content-type": "application/x-www-form-urlencoded; charset=utf-8" });
    expect(r.status).toBe(400);
    expect(r.headers.get("content-type")).toBe("text/xml");
    const body = await r.text();
    expect(body).toMatch(/^<Response><Errors><Error><Code>InvalidAction<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>/);
  });

  it("still answers a JSON request (X-Amz-Target) in JSON", async () => {
    const r = await signedFetch(s.url, "dynamodb", "{}", { "content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.ListTables" });
    expect(r.status).toBe(400);
    expect(r.headers.get("x-amzn-errortype")).toBe("UnknownOperationException");
  });
});
