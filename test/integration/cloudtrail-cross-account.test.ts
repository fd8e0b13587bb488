/**
 * A call on another account's resource is a CloudTrail event in both accounts: the caller's
 * account sees its principal in full, the resource owner's sees only the caller's account and
 * principal id; the two copies share a sharedEventID. A cross-account call refused by policy is
 * the caller's account's alone (docs/cloudtrail.md#cross-account-calls). Checked through
 * LookupEvents of both accounts and through both accounts' trails and digests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand, type Event } from "@aws-sdk/client-cloudtrail";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { CreateRoleCommand, GetUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateSecretCommand, GetSecretValueCommand, PutResourcePolicyCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createTrailBucket, lookupAll, recordOf } from "./cloudtrail-helpers.ts";
import { OTHER } from "./cross-account-helpers.ts";
import { allow, doc, trustAccount, userWithKey, type Creds } from "./iam-helpers.ts";
import type { LooseJson } from "../support/json.ts";

let s: TestServer;
/** the resource owner's (ACCOUNT) and the caller's (OTHER) event history */
let ownerCt: CloudTrailClient;
let callerCt: CloudTrailClient;
let ownerS3: S3Client;
let callerS3: S3Client;
/** an IAM user of OTHER, the caller of every cross-account call here */
let bob: Creds;
let bobArn: string;
let bobId: string;

const requestIdOf = (r: { $metadata: { requestId?: string } }) => r.$metadata.requestId!;

beforeAll(async () => {
  s = await startTestServer();
  const otherRoot = s.configFor({ accessKeyId: OTHER, secretAccessKey: "test" });
  ownerCt = new CloudTrailClient(s.config);
  callerCt = new CloudTrailClient(otherRoot);
  ownerS3 = new S3Client({ ...s.config, forcePathStyle: true });
  callerS3 = new S3Client({ ...otherRoot, forcePathStyle: true });
  // each account's trail, logging before any cross-account call
  for (const [s3, ct, name] of [
    [ownerS3, ownerCt, "owner-audit"],
    [callerS3, callerCt, "caller-audit"],
  ] as const) {
    await createTrailBucket(s3, name);
    await ct.send(new CreateTrailCommand({ Name: name, S3BucketName: name, EnableLogFileValidation: true }));
    await ct.send(new StartLoggingCommand({ Name: name }));
  }
  const otherIam = new IAMClient(otherRoot);
  bob = await userWithKey(otherIam, "bob", doc([allow("*")]));
  const user = (await otherIam.send(new GetUserCommand({ UserName: "bob" }))).User!;
  bobArn = user.Arn!;
  bobId = user.UserId!;
});
afterAll(async () => {
  await s?.close();
});

/** The record of each account's event history for the call with `requestId`. */
async function copies(eventName: string, requestId: string): Promise<{ owner: LooseJson[]; caller: LooseJson[]; ownerEvents: Event[]; callerEvents: Event[] }> {
  const of = async (ct: CloudTrailClient) => (await lookupAll(ct, "EventName", eventName)).filter((e) => recordOf(e).requestID === requestId);
  const ownerEvents = await of(ownerCt);
  const callerEvents = await of(callerCt);
  return { owner: ownerEvents.map(recordOf), caller: callerEvents.map(recordOf), ownerEvents, callerEvents };
}

/** What the owner's copy may say of bob: his account and principal id, nothing else. */
function expectNothingOfBob(record: LooseJson): void {
  const text = JSON.stringify(record);
  expect(text).not.toContain(bobArn);
  expect(text).not.toContain(bob.accessKeyId);
  expect(text).not.toContain('"userName":"bob"');
}

/** One call, two copies: each account's own event, tied by sharedEventID. */
async function expectBothCopies(eventName: string, requestId: string, resource: { type: string; ARN: string }): Promise<{ owner: LooseJson; caller: LooseJson }> {
  const c = await copies(eventName, requestId);
  expect(c.owner).toHaveLength(1);
  expect(c.caller).toHaveLength(1);
  const [owner, caller] = [c.owner[0], c.caller[0]];
  expect(owner.recipientAccountId).toBe(ACCOUNT);
  expect(caller.recipientAccountId).toBe(OTHER);
  expect(owner.userIdentity).toEqual({ type: "AWSAccount", principalId: bobId, accountId: OTHER });
  expect(caller.userIdentity).toEqual({ type: "IAMUser", principalId: bobId, arn: bobArn, accountId: OTHER, accessKeyId: bob.accessKeyId, userName: "bob" });
  expect(owner.sharedEventID).toMatch(/^[0-9a-f-]{36}$/);
  expect(caller.sharedEventID).toBe(owner.sharedEventID);
  expect(caller.eventID).not.toBe(owner.eventID);
  expect(c.ownerEvents[0].EventId).toBe(owner.eventID);
  expect(c.callerEvents[0].EventId).toBe(caller.eventID);
  for (const r of [owner, caller]) expect(r.resources).toContainEqual({ ...resource, accountId: ACCOUNT });
  // the same call: same request, parameters and answer
  expect(caller.requestParameters).toEqual(owner.requestParameters);
  expect(caller.responseElements).toEqual(owner.responseElements);
  // event history's columns: bob's name and key only in his own account's
  expect(c.ownerEvents[0].Username).toBeUndefined();
  expect(c.ownerEvents[0].AccessKeyId).toBeUndefined();
  expect(c.callerEvents[0].Username).toBe("bob");
  expect(c.callerEvents[0].AccessKeyId).toBe(bob.accessKeyId);
  expectNothingOfBob(owner);
  return { owner, caller };
}

/** A refused cross-account call: in the caller's account only. */
async function expectCallersOnly(eventName: string, requestId: string, errorCode: string): Promise<void> {
  const c = await copies(eventName, requestId);
  expect(c.owner).toEqual([]);
  expect(c.caller).toHaveLength(1);
  expect(c.caller[0]).toMatchObject({ recipientAccountId: OTHER, errorCode, userIdentity: { type: "IAMUser", arn: bobArn } });
  expect(c.caller[0].sharedEventID).toBeUndefined();
}

/** Every request the failed promise answered with, and its error code. */
async function refusal(p: Promise<unknown>): Promise<{ requestId: string; code: string }> {
  const e = (await p.then(
    () => undefined,
    (x: unknown) => x,
  )) as { name?: string; $metadata?: { requestId?: string } } | undefined;
  expect(e, "the call is refused").toBeDefined();
  return { requestId: e!.$metadata!.requestId!, code: e!.name! };
}

const requests: { shared: { eventName: string; requestId: string }[]; refused: string[] } = { shared: [], refused: [] };

describe("KMS: another account's key through its key policy", () => {
  let keyArn: string;
  let closedKeyArn: string;
  let kms: KMSClient;

  beforeAll(async () => {
    const owner = new KMSClient(s.config);
    kms = new KMSClient(s.configFor(bob));
    const policy = doc([
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"], Resource: "*" },
    ]);
    keyArn = (await owner.send(new CreateKeyCommand({ Policy: policy }))).KeyMetadata!.Arn!;
    closedKeyArn = (await owner.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  });

  it("GenerateDataKey, Decrypt, DescribeKey and CreateGrant are events of both accounts", async () => {
    const gdk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyArn, KeySpec: "AES_256", EncryptionContext: { purpose: "cross" } }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: { purpose: "cross" } }));
    expect(Buffer.from(dec.Plaintext!).equals(Buffer.from(gdk.Plaintext!))).toBe(true);
    const key = { type: "AWS::KMS::Key", ARN: keyArn };
    const g = await expectBothCopies("GenerateDataKey", requestIdOf(gdk), key);
    expect(g.owner.requestParameters).toMatchObject({ keyId: keyArn, keySpec: "AES_256", encryptionContext: { purpose: "cross" } });
    await expectBothCopies("Decrypt", requestIdOf(dec), key);
    const desc = await kms.send(new DescribeKeyCommand({ KeyId: keyArn }));
    await expectBothCopies("DescribeKey", requestIdOf(desc), key);
    const grant = await kms.send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: `arn:aws:iam::${OTHER}:root`, Operations: ["Decrypt"] }));
    const granted = await expectBothCopies("CreateGrant", requestIdOf(grant), key);
    expect(granted.owner.responseElements).toEqual({ grantId: grant.GrantId, keyId: keyArn });
    requests.shared.push(
      { eventName: "CreateGrant", requestId: requestIdOf(grant) },
      { eventName: "GenerateDataKey", requestId: requestIdOf(gdk) },
      { eventName: "Decrypt", requestId: requestIdOf(dec) },
      { eventName: "DescribeKey", requestId: requestIdOf(desc) },
    );
  });

  it("a call the key policy refuses is the caller's account's event only", async () => {
    const encrypt = await refusal(kms.send(new EncryptCommand({ KeyId: closedKeyArn, Plaintext: Buffer.from("x") })));
    expect(encrypt.code).toBe("AccessDeniedException");
    await expectCallersOnly("Encrypt", encrypt.requestId, "AccessDeniedException");
    // the key's own account learns nothing of bob from its event history
    expect(await lookupAll(ownerCt, "AccessKeyId", bob.accessKeyId)).toEqual([]);
    expect(await lookupAll(ownerCt, "Username", "bob")).toEqual([]);
    requests.refused.push(encrypt.requestId);
  });
});

describe("STS: assuming another account's role", () => {
  let sts: STSClient;
  let roleArn: string;
  let closedRoleArn: string;

  beforeAll(async () => {
    const iam = new IAMClient(s.config);
    sts = new STSClient(s.configFor(bob));
    roleArn = (await iam.send(new CreateRoleCommand({ RoleName: "shared-role", AssumeRolePolicyDocument: trustAccount(OTHER) }))).Role!.Arn!;
    closedRoleArn = (await iam.send(new CreateRoleCommand({ RoleName: "closed-role", AssumeRolePolicyDocument: trustAccount(ACCOUNT) }))).Role!.Arn!;
  });

  it("AssumeRole is an event of both accounts, the owner's naming bob by account and id", async () => {
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "cross-session" }));
    const { owner } = await expectBothCopies("AssumeRole", requestIdOf(r), { type: "AWS::IAM::Role", ARN: roleArn });
    expect(owner.requestParameters).toMatchObject({ roleArn, roleSessionName: "cross-session" });
    expect(owner.responseElements.assumedRoleUser.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/shared-role/cross-session`);
    requests.shared.push({ eventName: "AssumeRole", requestId: requestIdOf(r) });
  });

  it("an AssumeRole the trust policy refuses is the caller's account's event only", async () => {
    const refused = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: closedRoleArn, RoleSessionName: "nope" })));
    expect(refused.code).toBe("AccessDenied");
    await expectCallersOnly("AssumeRole", refused.requestId, "AccessDenied");
    requests.refused.push(refused.requestId);
  });
});

describe("Secrets Manager: another account's secret through its resource policy", () => {
  it("GetSecretValue, and the KMS Decrypt Secrets Manager makes for it, are events of both accounts", async () => {
    const kms = new KMSClient(s.config);
    const sm = new SecretsManagerClient(s.config);
    const keyPolicy = doc([
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
      { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "kms:Decrypt", Resource: "*" },
    ]);
    const key = (await kms.send(new CreateKeyCommand({ Policy: keyPolicy }))).KeyMetadata!;
    const secret = await sm.send(new CreateSecretCommand({ Name: "shared-secret", SecretString: "for-bob", KmsKeyId: key.Arn }));
    const letOther = doc([{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OTHER}:root` }, Action: "secretsmanager:GetSecretValue", Resource: secret.ARN }]);
    await sm.send(new PutResourcePolicyCommand({ SecretId: secret.ARN, ResourcePolicy: letOther }));

    const got = await new SecretsManagerClient(s.configFor(bob)).send(new GetSecretValueCommand({ SecretId: secret.ARN }));
    expect(got.SecretString).toBe("for-bob");
    const { owner } = await expectBothCopies("GetSecretValue", requestIdOf(got), { type: "AWS::SecretsManager::Secret", ARN: secret.ARN! });
    expect(owner.requestParameters).toEqual({ secretId: secret.ARN });
    requests.shared.push({ eventName: "GetSecretValue", requestId: requestIdOf(got) });

    // Secrets Manager decrypts with bob's credentials: his account sees him, the key's sees
    // his account and id, and the service
    const callers = (await lookupAll(callerCt, "EventName", "Decrypt")).map(recordOf).filter((r) => r.userIdentity.invokedBy === "secretsmanager.amazonaws.com");
    expect(callers).toHaveLength(1);
    expect(callers[0]).toMatchObject({ recipientAccountId: OTHER, userIdentity: { type: "IAMUser", arn: bobArn } });
    const owners = (await lookupAll(ownerCt, "EventName", "Decrypt")).map(recordOf).filter((r) => r.sharedEventID === callers[0].sharedEventID);
    expect(owners).toHaveLength(1);
    expect(owners[0].recipientAccountId).toBe(ACCOUNT);
    expect(owners[0].userIdentity).toEqual({ type: "AWSAccount", principalId: bobId, accountId: OTHER, invokedBy: "secretsmanager.amazonaws.com" });
    expect(owners[0].resources).toContainEqual({ type: "AWS::KMS::Key", ARN: key.Arn, accountId: ACCOUNT });
    expectNothingOfBob(owners[0]);
  });
});

describe("trails and digests", () => {
  /** Every log file of a trail bucket, with its records, and the digests' view of them. */
  async function delivered(s3: S3Client, bucket: string, account: string): Promise<{ records: LooseJson[]; logFiles: Map<string, string>; digested: Map<string, string> }> {
    const list = async (prefix: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((c) => c.Key!);
    const body = async (key: string) => gunzipSync(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray()));
    const records: LooseJson[] = [];
    const logFiles = new Map<string, string>();
    for (const key of await list(`AWSLogs/${account}/CloudTrail/`)) {
      const text = await body(key);
      logFiles.set(key, createHash("sha256").update(text).digest("hex"));
      records.push(...(JSON.parse(text.toString()) as { Records: LooseJson[] }).Records);
    }
    const digested = new Map<string, string>();
    for (const key of await list(`AWSLogs/${account}/CloudTrail-Digest/`)) {
      const digest = JSON.parse((await body(key)).toString()) as LooseJson;
      expect(digest.awsAccountId).toBe(account);
      for (const f of digest.logFiles as LooseJson[]) digested.set(f.s3Object, f.hashValue);
    }
    return { records, logFiles, digested };
  }

  it("deliver each account its own copy, covered by its own digests", async () => {
    expect(requests.shared.length).toBeGreaterThanOrEqual(5);
    await s.advanceClock(2 * 3600);
    const owner = await delivered(ownerS3, "owner-audit", ACCOUNT);
    const caller = await delivered(callerS3, "caller-audit", OTHER);
    for (const { eventName, requestId } of requests.shared) {
      const o = owner.records.filter((r) => r.requestID === requestId && r.eventName === eventName);
      const c = caller.records.filter((r) => r.requestID === requestId && r.eventName === eventName);
      expect(o, `${eventName} in the owner's trail`).toHaveLength(1);
      expect(c, `${eventName} in the caller's trail`).toHaveLength(1);
      expect(o[0]).toMatchObject({ recipientAccountId: ACCOUNT, userIdentity: { type: "AWSAccount", principalId: bobId, accountId: OTHER } });
      expect(c[0]).toMatchObject({ recipientAccountId: OTHER, userIdentity: { type: "IAMUser", arn: bobArn } });
      expect(c[0].sharedEventID).toBe(o[0].sharedEventID);
      expectNothingOfBob(o[0]);
    }
    for (const requestId of requests.refused) {
      expect(owner.records.filter((r) => r.requestID === requestId)).toEqual([]);
      expect(caller.records.filter((r) => r.requestID === requestId)).toHaveLength(1);
    }
    // every account's records are only its own, and every log file is in its account's digests
    for (const [d, account] of [
      [owner, ACCOUNT],
      [caller, OTHER],
    ] as const) {
      expect(d.records.every((r) => r.recipientAccountId === account)).toBe(true);
      expect(d.logFiles.size).toBeGreaterThan(0);
      for (const [key, hash] of d.logFiles) expect(d.digested.get(key), key).toBe(hash);
    }
    // bob's user name and key appear nowhere in the owner's trail
    for (const r of owner.records.filter((x) => x.userIdentity?.accountId === OTHER)) expectNothingOfBob(r);
  });
});
