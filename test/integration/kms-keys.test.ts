/** KMS keys through the real SDK: create, describe, list, tags, enable/disable, deletion, key policies. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeyPoliciesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateKeyDescriptionCommand,
} from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, REGION, createKey, doc, expectKmsError, rootStatement, trailRecords, utf8 } from "./kms-helpers.ts";

let s: TestServer;
let kms: KMSClient;
beforeAll(async () => {
  s = await startTestServer();
  kms = new KMSClient(s.config);
});
afterAll(async () => {
  await s.close();
});

const DEFAULT_POLICY = `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::${ACCOUNT}:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`;

describe("CreateKey", () => {
  it("creates an enabled symmetric key with AWS's metadata", async () => {
    const md = await createKey(kms, { Description: "first" });
    expect(md.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(md.Arn).toBe(`arn:aws:kms:${REGION}:${ACCOUNT}:key/${md.KeyId}`);
    expect(md).toMatchObject({
      AWSAccountId: ACCOUNT,
      Enabled: true,
      Description: "first",
      KeyUsage: "ENCRYPT_DECRYPT",
      KeyState: "Enabled",
      Origin: "AWS_KMS",
      KeyManager: "CUSTOMER",
      CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
      KeySpec: "SYMMETRIC_DEFAULT",
      EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
      MultiRegion: false,
    });
    expect(md.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(md.CreationDate).toBeInstanceOf(Date);
    expect(md.SigningAlgorithms).toBeUndefined();
  });

  it("attaches the default key policy, exactly as AWS writes it", async () => {
    const md = await createKey(kms);
    const p = await kms.send(new GetKeyPolicyCommand({ KeyId: md.KeyId }));
    expect(p.Policy).toBe(DEFAULT_POLICY);
    expect(p.PolicyName).toBe("default");
    expect((await kms.send(new ListKeyPoliciesCommand({ KeyId: md.KeyId }))).PolicyNames).toEqual(["default"]);
  });

  it("creates multi-Region keys with mrk- ids", async () => {
    const md = await createKey(kms, { MultiRegion: true });
    expect(md.KeyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    expect(md.MultiRegion).toBe(true);
    expect(md.MultiRegionConfiguration?.MultiRegionKeyType).toBe("PRIMARY");
    expect(md.MultiRegionConfiguration?.PrimaryKey?.Arn).toBe(md.Arn);
  });

  it.each([
    ["RSA_2048", "ENCRYPT_DECRYPT", { EncryptionAlgorithms: ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] }],
    ["RSA_3072", "SIGN_VERIFY", { SigningAlgorithms: expect.arrayContaining(["RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_512"]) }],
    ["ECC_NIST_P256", "SIGN_VERIFY", { SigningAlgorithms: ["ECDSA_SHA_256"] }],
    ["ECC_NIST_P384", "SIGN_VERIFY", { SigningAlgorithms: ["ECDSA_SHA_384"] }],
    ["ECC_NIST_P521", "SIGN_VERIFY", { SigningAlgorithms: ["ECDSA_SHA_512"] }],
    ["ECC_SECG_P256K1", "SIGN_VERIFY", { SigningAlgorithms: ["ECDSA_SHA_256"] }],
    ["ECC_NIST_P256", "KEY_AGREEMENT", { KeyAgreementAlgorithms: ["ECDH"] }],
    ["HMAC_224", "GENERATE_VERIFY_MAC", { MacAlgorithms: ["HMAC_SHA_224"] }],
    ["HMAC_512", "GENERATE_VERIFY_MAC", { MacAlgorithms: ["HMAC_SHA_512"] }],
  ] as const)("creates %s keys for %s", async (KeySpec, KeyUsage, algs) => {
    const md = await createKey(kms, { KeySpec, KeyUsage });
    expect(md).toMatchObject({ KeySpec, KeyUsage, CustomerMasterKeySpec: KeySpec, KeyState: "Enabled", ...algs });
    expect(md.CurrentKeyMaterialId).toBeUndefined();
  });

  it("refuses key usages a key spec does not support", async () => {
    await expectKmsError(kms.send(new CreateKeyCommand({ KeySpec: "HMAC_256", KeyUsage: "ENCRYPT_DECRYPT" })), "ValidationException");
    await expectKmsError(kms.send(new CreateKeyCommand({ KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "SIGN_VERIFY" })), "ValidationException");
    await expectKmsError(kms.send(new CreateKeyCommand({ KeySpec: "ECC_SECG_P256K1", KeyUsage: "KEY_AGREEMENT" })), "ValidationException");
    await expectKmsError(
      kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048" })),
      "ValidationException",
      "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
    );
    await expectKmsError(
      kms.send(new CreateKeyCommand({ KeySpec: "RSA_2048", CustomerMasterKeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" })),
      "ValidationException",
      /cannot specify KeySpec and CustomerMasterKeySpec/,
    );
  });

  it("creates EXTERNAL keys pending import and disabled", async () => {
    const md = await createKey(kms, { Origin: "EXTERNAL" });
    expect(md).toMatchObject({ Origin: "EXTERNAL", KeyState: "PendingImport", Enabled: false });
    expect(md.CurrentKeyMaterialId).toBeUndefined();
  });

  it("knows of no custom key stores", async () => {
    await expectKmsError(kms.send(new CreateKeyCommand({ Origin: "AWS_CLOUDHSM", CustomKeyStoreId: "cks-1234567890abcdef0" })), "CustomKeyStoreNotFoundException");
  });

  it("applies AWS's tag rules", async () => {
    await expectKmsError(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: "aws:x", TagValue: "1" }] })), "TagException", "Tags beginning with aws: are reserved");
    await expectKmsError(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: "AWS:x", TagValue: "1" }] })), "TagException", "Tags beginning with aws: are reserved");
    await expectKmsError(
      kms.send(
        new CreateKeyCommand({
          Tags: [
            { TagKey: "a", TagValue: "1" },
            { TagKey: "a", TagValue: "2" },
          ],
        }),
      ),
      "TagException",
      "Duplicate tag keys",
    );
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ TagKey: `k${i}`, TagValue: "v" }));
    await expectKmsError(kms.send(new CreateKeyCommand({ Tags: tooMany })), "TagException", "Too many tags");
    await expectKmsError(
      kms.send(new CreateKeyCommand({ Tags: [{ TagKey: "k".repeat(129), TagValue: "v" }] })),
      "ValidationException",
      /Member must have length less than or equal to 128/,
    );
  });

  it("validates a given policy and applies the lockout safety check", async () => {
    await expectKmsError(kms.send(new CreateKeyCommand({ Policy: "{not json" })), "MalformedPolicyDocumentException");
    const otherOnly = doc([{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" }]);
    await expectKmsError(
      kms.send(new CreateKeyCommand({ Policy: otherOnly })),
      "MalformedPolicyDocumentException",
      "The new key policy will not allow you to update the key policy in the future.",
    );
    const md = await createKey(kms, { Policy: otherOnly, BypassPolicyLockoutSafetyCheck: true });
    expect(md.KeyState).toBe("Enabled");
    // the policy now shuts the caller out
    await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: md.KeyId })), "AccessDeniedException");
    const mine = doc([rootStatement()]);
    const ok = await createKey(kms, { Policy: mine });
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: ok.KeyId }))).Policy).toBe(mine);
  });

  it("records CreateKey in CloudTrail with keyMetadata", async () => {
    const md = await createKey(kms, { Description: "trail me" });
    const rec = (await trailRecords(s, "CreateKey")).find((r) => r.responseElements?.keyMetadata?.keyId === md.KeyId)!;
    expect(rec).toBeDefined();
    expect(rec.eventSource).toBe("kms.amazonaws.com");
    expect(rec.readOnly).toBe(false);
    expect(rec.requestParameters).toMatchObject({
      description: "trail me",
      keySpec: "SYMMETRIC_DEFAULT",
      keyUsage: "ENCRYPT_DECRYPT",
      origin: "AWS_KMS",
      bypassPolicyLockoutSafetyCheck: false,
    });
    expect(rec.responseElements.keyMetadata).toMatchObject({ AWSAccountId: ACCOUNT, arn: md.Arn, keyState: "Enabled", enabled: true, keyManager: "CUSTOMER" });
    expect(rec.responseElements.keyMetadata.creationDate).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
    expect(rec.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: md.Arn }]);
  });
});

describe("DescribeKey and ListKeys", () => {
  it("describes by key id, key ARN, alias name and alias ARN", async () => {
    const md = await createKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/describe-me", TargetKeyId: md.KeyId }));
    for (const id of [md.KeyId!, md.Arn!, "alias/describe-me", `arn:aws:kms:${REGION}:${ACCOUNT}:alias/describe-me`]) {
      expect((await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.Arn).toBe(md.Arn);
    }
  });

  it("answers NotFoundException with AWS's messages", async () => {
    await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: "nope" })), "NotFoundException", "Invalid keyId 'nope'");
    const missing = "11111111-2222-3333-4444-555555555555";
    await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: missing })), "NotFoundException", `Key 'arn:aws:kms:${REGION}:${ACCOUNT}:key/${missing}' does not exist`);
    const md = await createKey(kms);
    await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: md.Arn!.replace(REGION, "eu-west-1") })), "NotFoundException", "Invalid arn eu-west-1");
    await expectKmsError(
      kms.send(new DescribeKeyCommand({ KeyId: "alias/none-such" })),
      "NotFoundException",
      `Alias arn:aws:kms:${REGION}:${ACCOUNT}:alias/none-such is not found.`,
    );
  });

  it("keeps keys per region and per account", async () => {
    const md = await createKey(kms);
    const west = new KMSClient({ ...s.config, region: "us-west-2" });
    await expectKmsError(west.send(new DescribeKeyCommand({ KeyId: md.KeyId })), "NotFoundException", `Key 'arn:aws:kms:us-west-2:${ACCOUNT}:key/${md.KeyId}' does not exist`);
    const ids = [];
    let Marker: string | undefined;
    do {
      const r = await west.send(new ListKeysCommand({ Marker }));
      ids.push(...r.Keys!.map((k) => k.KeyId));
      Marker = r.NextMarker;
    } while (Marker);
    expect(ids).not.toContain(md.KeyId);
  });

  it("pages ListKeys with Limit and Marker", async () => {
    const other = new KMSClient(s.configFor({ accessKeyId: "222233334444", secretAccessKey: "test" }, "eu-central-1"));
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await createKey(other)).KeyId!);
    const p1 = await other.send(new ListKeysCommand({ Limit: 2 }));
    expect(p1.Keys).toHaveLength(2);
    expect(p1.Truncated).toBe(true);
    const p2 = await other.send(new ListKeysCommand({ Limit: 2, Marker: p1.NextMarker }));
    const p3 = await other.send(new ListKeysCommand({ Limit: 2, Marker: p2.NextMarker }));
    expect(p3.Truncated).toBe(false);
    expect(p3.NextMarker).toBeUndefined();
    expect([...p1.Keys!, ...p2.Keys!, ...p3.Keys!].map((k) => k.KeyId)).toEqual(made);
    expect(p1.Keys![0].KeyArn).toBe(`arn:aws:kms:eu-central-1:222233334444:key/${made[0]}`);
    await expectKmsError(other.send(new ListKeysCommand({ Marker: "bogus" })), "InvalidMarkerException");
  });
});

describe("description and tags", () => {
  it("updates the description", async () => {
    const md = await createKey(kms, { Description: "old" });
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: md.Arn, Description: "new" }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata?.Description).toBe("new");
  });

  it("tags, overwrites, untags and lists with paging", async () => {
    const md = await createKey(kms, { Tags: [{ TagKey: "team", TagValue: "a" }] });
    await kms.send(
      new TagResourceCommand({
        KeyId: md.KeyId,
        Tags: [
          { TagKey: "team", TagValue: "b" },
          { TagKey: "env", TagValue: "dev" },
          { TagKey: "cost", TagValue: "1" },
        ],
      }),
    );
    const p1 = await kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId, Limit: 2 }));
    expect(p1.Truncated).toBe(true);
    const p2 = await kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId, Limit: 2, Marker: p1.NextMarker }));
    const all = [...p1.Tags!, ...p2.Tags!];
    expect(all).toEqual([
      { TagKey: "cost", TagValue: "1" },
      { TagKey: "env", TagValue: "dev" },
      { TagKey: "team", TagValue: "b" },
    ]);
    await kms.send(new UntagResourceCommand({ KeyId: md.KeyId, TagKeys: ["cost", "env"] }));
    expect((await kms.send(new ListResourceTagsCommand({ KeyId: md.KeyId }))).Tags).toEqual([{ TagKey: "team", TagValue: "b" }]);
    await expectKmsError(kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: [{ TagKey: "aws:cloudformation:stack", TagValue: "x" }] })), "TagException");
    const many = Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: "v" }));
    await expectKmsError(kms.send(new TagResourceCommand({ KeyId: md.KeyId, Tags: many })), "TagException", "Too many tags");
  });

  it("does not accept aliases where AWS takes only key ids", async () => {
    const md = await createKey(kms);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/tags-by-alias", TargetKeyId: md.KeyId }));
    await expectKmsError(kms.send(new ListResourceTagsCommand({ KeyId: "alias/tags-by-alias" })), "NotFoundException", "Invalid keyId 'alias/tags-by-alias'");
    await expectKmsError(kms.send(new DisableKeyCommand({ KeyId: "alias/tags-by-alias" })), "NotFoundException");
  });
});

describe("enable, disable and scheduled deletion", () => {
  it("disables and enables", async () => {
    const md = await createKey(kms);
    await kms.send(new DisableKeyCommand({ KeyId: md.KeyId }));
    let d = (await kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
    expect([d.KeyState, d.Enabled]).toEqual(["Disabled", false]);
    await kms.send(new DisableKeyCommand({ KeyId: md.KeyId })); // idempotent
    await kms.send(new EnableKeyCommand({ KeyId: md.KeyId }));
    d = (await kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
    expect([d.KeyState, d.Enabled]).toEqual(["Enabled", true]);
  });

  it("schedules deletion with a 7-30 day window, cancels to Disabled", async () => {
    const md = await createKey(kms);
    await expectKmsError(
      kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 6 })),
      "ValidationException",
      "PendingWindowInDays should be between 7 and 30, but it is 6",
    );
    await expectKmsError(kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 31 })), "ValidationException");
    const now = Date.parse(((await (await fetch(`${s.url}/_localfargate/clock`)).json()) as { now: string }).now);
    const r = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId }));
    expect(r.KeyId).toBe(md.Arn);
    expect(r.KeyState).toBe("PendingDeletion");
    expect(r.PendingWindowInDays).toBe(30);
    expect(Math.abs(r.DeletionDate!.getTime() - (now + 30 * 86400_000))).toBeLessThan(60_000);
    const d = (await kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
    expect(d.KeyState).toBe("PendingDeletion");
    expect(d.DeletionDate?.getTime()).toBe(r.DeletionDate?.getTime());
    await expectKmsError(kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId })), "KMSInvalidStateException", `${md.Arn} is pending deletion.`);
    await expectKmsError(kms.send(new EnableKeyCommand({ KeyId: md.KeyId })), "KMSInvalidStateException", `${md.Arn} is pending deletion.`);
    await expectKmsError(kms.send(new UpdateKeyDescriptionCommand({ KeyId: md.KeyId, Description: "x" })), "KMSInvalidStateException", `${md.Arn} is pending deletion.`);
    const c = await kms.send(new CancelKeyDeletionCommand({ KeyId: md.KeyId }));
    expect(c.KeyId).toBe(md.Arn);
    const after = (await kms.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata!;
    expect(after.KeyState).toBe("Disabled");
    expect(after.DeletionDate).toBeUndefined();
    await expectKmsError(kms.send(new CancelKeyDeletionCommand({ KeyId: md.KeyId })), "KMSInvalidStateException", `${md.Arn} is not pending deletion.`);
  });

  it("records ScheduleKeyDeletion and CancelKeyDeletion as AWS does", async () => {
    const md = await createKey(kms);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 }));
    await kms.send(new CancelKeyDeletionCommand({ KeyId: md.KeyId }));
    const sched = (await trailRecords(s, "ScheduleKeyDeletion")).find((r) => r.responseElements?.keyId === md.Arn)!;
    expect(sched.requestParameters).toEqual({ keyId: md.KeyId, pendingWindowInDays: 7 });
    expect(sched.responseElements).toMatchObject({ keyId: md.Arn, keyState: "PendingDeletion", pendingWindowInDays: 7 });
    expect(sched.responseElements.deletionDate).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
    const cancel = (await trailRecords(s, "CancelKeyDeletion")).find((r) => r.responseElements?.keyId === md.Arn)!;
    expect(cancel.requestParameters).toEqual({ keyId: md.KeyId });
  });

  it("deletes the key, its material and aliases when the window passes on the service clock", async () => {
    const own = await startTestServer();
    try {
      const k = new KMSClient(own.config);
      const md = await createKey(k);
      const blob = (await k.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: utf8("bye") }))).CiphertextBlob!;
      await k.send(new CreateAliasCommand({ AliasName: "alias/doomed", TargetKeyId: md.KeyId }));
      await k.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId, PendingWindowInDays: 7 }));
      await own.advanceClock(6 * 86400);
      expect((await k.send(new DescribeKeyCommand({ KeyId: md.KeyId }))).KeyMetadata?.KeyState).toBe("PendingDeletion");
      await own.advanceClock(86400 + 60);
      await expectKmsError(k.send(new DescribeKeyCommand({ KeyId: md.KeyId })), "NotFoundException", `Key '${md.Arn}' does not exist`);
      expect((await k.send(new ListAliasesCommand({}))).Aliases?.map((a) => a.AliasName)).not.toContain("alias/doomed");
      expect((await k.send(new ListKeysCommand({}))).Keys?.map((x) => x.KeyId)).not.toContain(md.KeyId);
      const { DecryptCommand } = await import("@aws-sdk/client-kms");
      await expectKmsError(
        k.send(new DecryptCommand({ CiphertextBlob: blob })),
        "AccessDeniedException",
        "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.",
      );
      const del = (await trailRecords(own, "DeleteKey")).find((r) => r.resources?.[0]?.ARN === md.Arn)!;
      expect(del).toBeDefined();
      expect(del.userIdentity).toEqual({ accountId: ACCOUNT, invokedBy: "AWS Internal" });
      expect(del.eventType).toBe("AwsServiceEvent");
      expect(del.requestParameters).toBeNull();
      expect(del.responseElements).toBeNull();
      expect(del.sourceIPAddress).toBe("AWS Internal");
      expect(del.requestID).toBeUndefined();
      expect(del.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: md.Arn }]);
    } finally {
      await own.close();
    }
  });
});

describe("key policies", () => {
  it("puts and gets a policy; other policy names do not exist", async () => {
    const md = await createKey(kms);
    const p = doc([rootStatement(), { Sid: "extra", Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:ScheduleKeyDeletion", Resource: "*" }]);
    await kms.send(new PutKeyPolicyCommand({ KeyId: md.KeyId, PolicyName: "default", Policy: p }));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: md.KeyId }))).Policy).toBe(p);
    await expectKmsError(kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId })), "AccessDeniedException", /explicit deny in a resource-based policy/);
    await expectKmsError(kms.send(new GetKeyPolicyCommand({ KeyId: md.KeyId, PolicyName: "other" })), "NotFoundException");
    const rec = (await trailRecords(s, "PutKeyPolicy")).find((r) => r.requestParameters?.keyId === md.KeyId)!;
    expect(rec.requestParameters).toEqual({ keyId: md.KeyId, policyName: "default", policy: p, bypassPolicyLockoutSafetyCheck: false });
  });

  it("refuses a policy that locks the caller out unless the check is bypassed", async () => {
    const md = await createKey(kms);
    const lockout = doc([{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:Encrypt", Resource: "*" }]);
    await expectKmsError(
      kms.send(new PutKeyPolicyCommand({ KeyId: md.KeyId, Policy: lockout })),
      "MalformedPolicyDocumentException",
      "The new key policy will not allow you to update the key policy in the future.",
    );
    await expectKmsError(kms.send(new PutKeyPolicyCommand({ KeyId: md.KeyId, Policy: '{"Statement": 5}' })), "MalformedPolicyDocumentException");
    await kms.send(new PutKeyPolicyCommand({ KeyId: md.KeyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
    await expectKmsError(kms.send(new GetKeyPolicyCommand({ KeyId: md.KeyId })), "AccessDeniedException");
    // still allowed by the new policy
    await kms.send(new EncryptCommand({ KeyId: md.KeyId, Plaintext: utf8("x") }));
  });

  it("lets key policies and ListKeyPolicies work in every key state", async () => {
    const md = await createKey(kms);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: md.KeyId }));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: md.KeyId }))).Policy).toBe(DEFAULT_POLICY);
    await kms.send(new PutKeyPolicyCommand({ KeyId: md.KeyId, Policy: DEFAULT_POLICY }));
    expect((await kms.send(new ListKeyPoliciesCommand({ KeyId: md.KeyId }))).PolicyNames).toEqual(["default"]);
  });
});
