/**
 * Multi-Region keys end to end through @aws-sdk/client-kms, two Regions against one server:
 * ReplicateKey (Creating → Enabled on the service clock, own policy, description and tags),
 * ciphertexts from one Region decrypting in the other, rotation shared from the primary,
 * imported material into replicas, UpdatePrimaryRegion, the primary/replica deletion rules,
 * CloudTrail in both Regions and the refusals (docs/kms.md#multi-region-keys).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListKeyRotationsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReEncryptCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  UpdatePrimaryRegionCommand,
  VerifyCommand,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, addPrincipal, createKey, doc, expectKmsError, rootStatement, text, trailRecords, utf8, wrap } from "./kms-helpers.ts";

const EAST = "us-east-1";
const WEST = "eu-west-1";
const SOUTH = "ap-southeast-2";

let s: TestServer;
let east: KMSClient;
let west: KMSClient;
let south: KMSClient;
beforeAll(async () => {
  s = await startTestServer();
  east = new KMSClient(s.config);
  west = new KMSClient({ ...s.config, region: WEST });
  south = new KMSClient({ ...s.config, region: SOUTH });
});
afterAll(async () => {
  await s.close();
});

async function importMaterial(c: KMSClient, keyId: string, material: Buffer, ImportType?: "NEW_KEY_MATERIAL" | "EXISTING_KEY_MATERIAL") {
  const p = await c.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }));
  return c.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: p.ImportToken,
      EncryptedKeyMaterial: wrap(p.PublicKey!, "RSAES_OAEP_SHA_256", material),
      ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      ...(ImportType ? { ImportType } : {}),
    }),
  );
}

const describeIn = async (c: KMSClient, keyId: string) => (await c.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;

/** A replica in `region`, past its Creating period. */
async function replicate(key: KeyMetadata, region: string, extra: Partial<ConstructorParameters<typeof ReplicateKeyCommand>[0]> = {}) {
  const out = await east.send(new ReplicateKeyCommand({ KeyId: key.KeyId, ReplicaRegion: region, ...extra }));
  await s.advanceClock(6);
  return out;
}

describe("ReplicateKey", () => {
  it("creates a replica with the same key ID, Creating until the service clock passes a few seconds, then Enabled", async () => {
    const primary = await createKey(east, { MultiRegion: true, Description: "primary" });
    const out = await east.send(new ReplicateKeyCommand({ KeyId: primary.Arn, ReplicaRegion: WEST, Description: "replica", Tags: [{ TagKey: "site", TagValue: "dublin" }] }));
    const md = out.ReplicaKeyMetadata!;
    expect(md.KeyId).toBe(primary.KeyId);
    expect(md.Arn).toBe(`arn:aws:kms:${WEST}:${ACCOUNT}:key/${primary.KeyId}`);
    expect(md.KeyState).toBe("Creating");
    expect(md.Enabled).toBe(false);
    expect(md.Description).toBe("replica");
    expect(md.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: "REPLICA",
      PrimaryKey: { Arn: primary.Arn, Region: EAST },
      ReplicaKeys: [{ Arn: md.Arn, Region: WEST }],
    });
    expect(out.ReplicaTags).toEqual([{ TagKey: "site", TagValue: "dublin" }]);
    expect(JSON.parse(out.ReplicaPolicy!).Statement[0]).toEqual(rootStatement());
    // not yet usable
    await expectKmsError(west.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("x") })), "KMSInvalidStateException", `${md.Arn} is being created.`);

    await s.advanceClock(6);
    const ready = await describeIn(west, primary.KeyId!);
    expect(ready.KeyState).toBe("Enabled");
    expect(ready.Description).toBe("replica");
    // the primary lists its replica; each Region lists its own copy
    expect((await describeIn(east, primary.KeyId!)).MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: "PRIMARY",
      PrimaryKey: { Arn: primary.Arn, Region: EAST },
      ReplicaKeys: [{ Arn: md.Arn, Region: WEST }],
    });
    const westKeys = (await west.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyArn);
    expect(westKeys).toContain(md.Arn);
    expect(westKeys).not.toContain(primary.Arn);
    expect((await west.send(new ListResourceTagsCommand({ KeyId: primary.KeyId }))).Tags).toEqual([{ TagKey: "site", TagValue: "dublin" }]);
    expect((await east.send(new ListResourceTagsCommand({ KeyId: primary.KeyId }))).Tags).toEqual([]);
  });

  it("decrypts in one Region what the other Region encrypted, both ways, and ReEncrypts across them", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    await replicate(primary, WEST);
    const fromEast = (await east.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("east secret"), EncryptionContext: { a: "1" } }))).CiphertextBlob!;
    const d = await west.send(new DecryptCommand({ CiphertextBlob: fromEast, EncryptionContext: { a: "1" } }));
    expect(text(d.Plaintext)).toBe("east secret");
    expect(d.KeyId).toBe(`arn:aws:kms:${WEST}:${ACCOUNT}:key/${primary.KeyId}`);
    // naming the replica by its ID in its own Region is the right key for the blob
    expect(text((await west.send(new DecryptCommand({ CiphertextBlob: fromEast, KeyId: primary.KeyId, EncryptionContext: { a: "1" } }))).Plaintext)).toBe("east secret");
    await expectKmsError(west.send(new DecryptCommand({ CiphertextBlob: fromEast, EncryptionContext: { a: "2" } })), "InvalidCiphertextException", "");

    const fromWest = (await west.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("west secret") }))).CiphertextBlob!;
    expect(text((await east.send(new DecryptCommand({ CiphertextBlob: fromWest }))).Plaintext)).toBe("west secret");
    const re = await west.send(new ReEncryptCommand({ CiphertextBlob: fromEast, SourceEncryptionContext: { a: "1" }, DestinationKeyId: primary.KeyId }));
    expect(text((await east.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob! }))).Plaintext)).toBe("east secret");
    // a Region without a replica cannot decrypt it
    await expectKmsError(south.send(new DecryptCommand({ CiphertextBlob: fromEast, EncryptionContext: { a: "1" } })), "AccessDeniedException");
  });

  it("leaves a single-Region key's ciphertext to its own Region", async () => {
    const single = await createKey(east);
    const blob = (await east.send(new EncryptCommand({ KeyId: single.KeyId, Plaintext: utf8("x") }))).CiphertextBlob!;
    await expectKmsError(west.send(new DecryptCommand({ CiphertextBlob: blob })), "AccessDeniedException");
  });

  it("replicates asymmetric keys: a signature made in one Region verifies in the other", async () => {
    const primary = await createKey(east, { MultiRegion: true, KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
    await replicate(primary, WEST);
    const sig = await east.send(new SignCommand({ KeyId: primary.KeyId, Message: utf8("m"), SigningAlgorithm: "ECDSA_SHA_256" }));
    const v = await west.send(new VerifyCommand({ KeyId: primary.KeyId, Message: utf8("m"), Signature: sig.Signature, SigningAlgorithm: "ECDSA_SHA_256" }));
    expect(v.SignatureValid).toBe(true);
  });

  it("gives each copy its own policy, aliases and enabled state", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    const policy = doc([rootStatement(), { Sid: "west only", Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:Decrypt", Resource: "*" }]);
    const out = await replicate(primary, WEST, { Policy: policy });
    expect(out.ReplicaPolicy).toBe(policy);
    expect((await west.send(new GetKeyPolicyCommand({ KeyId: primary.KeyId, PolicyName: "default" }))).Policy).toBe(policy);
    expect(JSON.parse((await east.send(new GetKeyPolicyCommand({ KeyId: primary.KeyId, PolicyName: "default" }))).Policy!).Statement).toHaveLength(1);
    const blob = (await east.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("x") }))).CiphertextBlob!;
    await expectKmsError(west.send(new DecryptCommand({ CiphertextBlob: blob })), "AccessDeniedException");
    expect(text((await east.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe("x");

    await west.send(new CreateAliasCommand({ AliasName: "alias/mrk-west", TargetKeyId: primary.KeyId }));
    await expectKmsError(east.send(new DescribeKeyCommand({ KeyId: "alias/mrk-west" })), "NotFoundException");
    await west.send(new DisableKeyCommand({ KeyId: primary.KeyId }));
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("Disabled");
    expect((await describeIn(east, primary.KeyId!)).KeyState).toBe("Enabled");
  });

  it("refuses bad requests with AWS's errors", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    const single = await createKey(east);
    await expectKmsError(
      east.send(new ReplicateKeyCommand({ KeyId: single.KeyId, ReplicaRegion: WEST })),
      "UnsupportedOperationException",
      `${single.Arn} is not a multi-Region primary key.`,
    );
    await expectKmsError(
      east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: EAST })),
      "ValidationException",
      `ReplicaRegion ${EAST} is the Region of ${primary.Arn}; it must be a different Region.`,
    );
    await expectKmsError(east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: "xx-nowhere-9" })), "ValidationException", /xx-nowhere-9 is not a Region/);
    await expectKmsError(east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: "Not A Region" })), "ValidationException", /replicaRegion/);
    await expectKmsError(east.send(new ReplicateKeyCommand({ KeyId: "alias/x", ReplicaRegion: WEST })), "NotFoundException", "Invalid keyId 'alias/x'");
    await expectKmsError(east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST, Policy: "{not json" })), "MalformedPolicyDocumentException");
    await expectKmsError(east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST, Tags: [{ TagKey: "aws:x", TagValue: "y" }] })), "TagException");
    // none of the refusals left a replica behind
    expect((await describeIn(east, primary.KeyId!)).MultiRegionConfiguration!.ReplicaKeys).toEqual([]);

    await replicate(primary, WEST);
    await expectKmsError(east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST })), "AlreadyExistsException");
    // a replica cannot be replicated
    const replicaArn = `arn:aws:kms:${WEST}:${ACCOUNT}:key/${primary.KeyId}`;
    await expectKmsError(
      west.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: SOUTH })),
      "UnsupportedOperationException",
      `${replicaArn} is not a multi-Region primary key.`,
    );
  });

  it("checks kms:ReplicateKey on the primary and kms:CreateKey in the replica Region", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    const p = addPrincipal(s, "user", "replicator", [doc([{ Effect: "Allow", Action: "kms:ReplicateKey", Resource: "*" }])]);
    const asUser = new KMSClient(p.config);
    await expectKmsError(asUser.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST })), "AccessDeniedException", /kms:CreateKey/);
    p.setPolicies([doc([{ Effect: "Allow", Action: "kms:CreateKey", Resource: "*" }])]);
    await expectKmsError(asUser.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST })), "AccessDeniedException", /kms:ReplicateKey/);
    p.setPolicies([doc([{ Effect: "Allow", Action: ["kms:CreateKey", "kms:ReplicateKey"], Resource: "*", Condition: { StringEquals: { "kms:ReplicaRegion": SOUTH } } }])]);
    await expectKmsError(asUser.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST })), "AccessDeniedException");
    p.setPolicies([doc([{ Effect: "Allow", Action: ["kms:CreateKey", "kms:ReplicateKey", "kms:PutKeyPolicy"], Resource: "*" }])]);
    await expectKmsError(
      asUser.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST, Tags: [{ TagKey: "a", TagValue: "b" }] })),
      "AccessDeniedException",
      /kms:TagResource/,
    );
    const out = await asUser.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST }));
    expect(out.ReplicaKeyMetadata!.KeyState).toBe("Creating");
  });

  it("has no cross-account use: another account is not found even where the key policy lets it in", async () => {
    const other = "111111111111";
    const policy = doc([rootStatement(), { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${other}:root` }, Action: "kms:*", Resource: "*" }]);
    const primary = await createKey(east, { MultiRegion: true, Policy: policy });
    const asOther = new KMSClient(s.configFor({ accessKeyId: other, secretAccessKey: "test" }));
    // the policy does let the other account use the key
    expect((await asOther.send(new DescribeKeyCommand({ KeyId: primary.Arn }))).KeyMetadata!.KeyId).toBe(primary.KeyId);
    await expectKmsError(asOther.send(new ReplicateKeyCommand({ KeyId: primary.Arn, ReplicaRegion: WEST })), "NotFoundException", `Key '${primary.Arn}' does not exist`);
    await expectKmsError(asOther.send(new UpdatePrimaryRegionCommand({ KeyId: primary.Arn, PrimaryRegion: WEST })), "NotFoundException");
    expect((await describeIn(east, primary.KeyId!)).MultiRegionConfiguration!.ReplicaKeys).toEqual([]);
    await expectKmsError(asOther.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:${WEST}:${ACCOUNT}:key/${primary.KeyId}` })), "NotFoundException");
  });

  it("keeps replicas, their roles and their material across a restart", async () => {
    const r = await startTestServer();
    try {
      const e = new KMSClient(r.config);
      const primary = await createKey(e, { MultiRegion: true });
      await e.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: WEST }));
      const blob = (await e.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("durable") }))).CiphertextBlob!;
      await r.stop();
      const again = await startTestServer({ dataDir: r.dataDir });
      try {
        await again.advanceClock(6);
        const w = new KMSClient({ ...again.config, region: WEST });
        expect(text((await w.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe("durable");
        const cfg = (await w.send(new DescribeKeyCommand({ KeyId: primary.KeyId }))).KeyMetadata!.MultiRegionConfiguration!;
        expect(cfg.MultiRegionKeyType).toBe("REPLICA");
        expect(cfg.PrimaryKey!.Region).toBe(EAST);
      } finally {
        await again.close();
      }
    } finally {
      await r.close();
    }
  });

  it("names each copy's role in kms:MultiRegionKeyType", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    await replicate(primary, WEST);
    const p = addPrincipal(s, "user", "primaryonly", [
      doc([{ Effect: "Allow", Action: "kms:Encrypt", Resource: "*", Condition: { StringEquals: { "kms:MultiRegionKeyType": "PRIMARY" } } }]),
    ]);
    await new KMSClient(p.config).send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("x") }));
    await expectKmsError(new KMSClient({ ...p.config, region: WEST }).send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("x") })), "AccessDeniedException");
  });

  it("records ReplicateKey in the primary's Region and CreateKey in the replica's", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    await replicate(primary, SOUTH);
    const rep = (await trailRecords(s, "ReplicateKey", EAST)).find((r) => r.requestParameters?.keyId === primary.KeyId);
    expect(rep?.awsRegion).toBe(EAST);
    expect(rep?.requestParameters?.replicaRegion).toBe(SOUTH);
    expect(rep?.responseElements?.replicaKeyMetadata?.arn).toBe(`arn:aws:kms:${SOUTH}:${ACCOUNT}:key/${primary.KeyId}`);
    expect(rep?.responseElements?.replicaKeyMetadata?.aWSAccountId).toBe(ACCOUNT);
    expect(rep?.responseElements?.replicaKeyMetadata?.multiRegionConfiguration?.multiRegionKeyType).toBe("REPLICA");
    expect(rep?.requestParameters?.bypassPolicyLockoutSafetyCheck).toBe(false);
    const southArn = `arn:aws:kms:${SOUTH}:${ACCOUNT}:key/${primary.KeyId}`;
    const created = (await trailRecords(s, "CreateKey", SOUTH)).find((r) => r.responseElements?.keyMetadata?.keyId === primary.KeyId);
    expect(created?.awsRegion).toBe(SOUTH);
    expect(created?.eventType).toBe("AwsApiCall");
    expect(created?.userIdentity?.arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect(created?.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: southArn }]);
    expect(created?.responseElements?.keyMetadata?.multiRegion).toBe(true);

    // UpdatePrimaryRegion writes one record in each Region, each naming that Region's key
    await east.send(new UpdatePrimaryRegionCommand({ KeyId: primary.KeyId, PrimaryRegion: SOUTH }));
    const inEast = (await trailRecords(s, "UpdatePrimaryRegion", EAST)).find((r) => r.requestParameters?.keyId === primary.KeyId);
    const inSouth = (await trailRecords(s, "UpdatePrimaryRegion", SOUTH)).find((r) => r.requestParameters?.keyId === primary.KeyId);
    expect(inEast?.responseElements).toEqual({ keyId: primary.Arn });
    expect(inEast?.resources?.map((r: { ARN: string }) => r.ARN)).toEqual([primary.Arn]);
    expect(inSouth?.responseElements).toEqual({ keyId: southArn });
    expect(inSouth?.requestParameters?.primaryRegion).toBe(SOUTH);
    expect(inSouth?.resources?.map((r: { ARN: string }) => r.ARN)).toEqual([southArn]);
  });
});

describe("shared properties", () => {
  it("rotation is the primary's: replicas take new material and refuse the rotation settings", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    await replicate(primary, WEST);
    const replicaArn = `arn:aws:kms:${WEST}:${ACCOUNT}:key/${primary.KeyId}`;
    await expectKmsError(west.send(new EnableKeyRotationCommand({ KeyId: primary.KeyId })), "UnsupportedOperationException", `${replicaArn} is not a multi-Region primary key.`);
    await expectKmsError(west.send(new RotateKeyOnDemandCommand({ KeyId: primary.KeyId })), "UnsupportedOperationException");

    const before = (await west.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("old") }))).CiphertextBlob!;
    await east.send(new EnableKeyRotationCommand({ KeyId: primary.KeyId, RotationPeriodInDays: 90 }));
    expect((await west.send(new GetKeyRotationStatusCommand({ KeyId: primary.KeyId }))).KeyRotationEnabled).toBe(true);
    await east.send(new RotateKeyOnDemandCommand({ KeyId: primary.KeyId }));
    const current = (await describeIn(east, primary.KeyId!)).CurrentKeyMaterialId;
    expect((await describeIn(west, primary.KeyId!)).CurrentKeyMaterialId).toBe(current);
    const after = await west.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("new") }));
    expect(text((await east.send(new DecryptCommand({ CiphertextBlob: after.CiphertextBlob! }))).Plaintext)).toBe("new");
    expect(text((await east.send(new DecryptCommand({ CiphertextBlob: before }))).Plaintext)).toBe("old");

    // automatic rotation on the service clock reaches the replica too
    await s.advanceClock(91 * 86_400);
    const rotated = (await describeIn(east, primary.KeyId!)).CurrentKeyMaterialId;
    expect(rotated).not.toBe(current);
    expect((await describeIn(west, primary.KeyId!)).CurrentKeyMaterialId).toBe(rotated);
  });

  it("an EXTERNAL replica waits for its own import of the primary's material, and refuses other material", async () => {
    const primary = await createKey(east, { MultiRegion: true, Origin: "EXTERNAL" });
    const material = randomBytes(32);
    const importInto = async (c: KMSClient, m: Buffer) => {
      const p = await c.send(new GetParametersForImportCommand({ KeyId: primary.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }));
      return c.send(
        new ImportKeyMaterialCommand({
          KeyId: primary.KeyId,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: wrap(p.PublicKey!, "RSAES_OAEP_SHA_256", m),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      );
    };
    await importInto(east, material);
    await replicate(primary, WEST);
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("PendingImport");
    await expectKmsError(importInto(west, randomBytes(32)), "IncorrectKeyMaterialException");
    const imported = await importInto(west, material);
    expect(imported.KeyMaterialId).toBe((await describeIn(east, primary.KeyId!)).CurrentKeyMaterialId);
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("Enabled");
    const blob = (await east.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("imported") }))).CiphertextBlob!;
    expect(text((await west.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe("imported");
  });

  it("rotates imported material on demand only once every replica has imported the new material", async () => {
    const primary = await createKey(east, { MultiRegion: true, Origin: "EXTERNAL" });
    const first = randomBytes(32);
    await importMaterial(east, primary.KeyId!, first);
    await replicate(primary, WEST);
    await importMaterial(west, primary.KeyId!, first);
    const second = randomBytes(32);
    const next = (await importMaterial(east, primary.KeyId!, second, "NEW_KEY_MATERIAL")).KeyMaterialId!;
    const stateOf = async (c: KMSClient) =>
      (await c.send(new ListKeyRotationsCommand({ KeyId: primary.KeyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }))).Rotations!.find((r) => r.KeyMaterialId === next)
        ?.KeyMaterialState;
    expect(await stateOf(east)).toBe("PENDING_MULTI_REGION_IMPORT_AND_ROTATION");
    await expectKmsError(east.send(new RotateKeyOnDemandCommand({ KeyId: primary.KeyId })), "KMSInvalidStateException");
    // new material goes into the primary; a replica re-imports it as existing material
    await expectKmsError(importMaterial(west, primary.KeyId!, second, "NEW_KEY_MATERIAL"), "UnsupportedOperationException");
    await importMaterial(west, primary.KeyId!, second, "EXISTING_KEY_MATERIAL");
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("Enabled");
    expect(await stateOf(east)).toBe("PENDING_ROTATION");

    await east.send(new RotateKeyOnDemandCommand({ KeyId: primary.KeyId }));
    expect((await describeIn(west, primary.KeyId!)).CurrentKeyMaterialId).toBe(next);
    expect(await stateOf(west)).toBe("CURRENT");
    const blob = (await west.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("rotated") }))).CiphertextBlob!;
    const d = await east.send(new DecryptCommand({ CiphertextBlob: blob }));
    expect(text(d.Plaintext)).toBe("rotated");
    expect(d.KeyMaterialId).toBe(next);
  });

  it("a replica of a primary without material stays PendingImport and takes only the material the primary gets", async () => {
    const primary = await createKey(east, { MultiRegion: true, Origin: "EXTERNAL" });
    await replicate(primary, WEST);
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("PendingImport");
    const material = randomBytes(32);
    await expectKmsError(importMaterial(west, primary.KeyId!, material), "IncorrectKeyMaterialException");
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("PendingImport");
    await importMaterial(east, primary.KeyId!, material);
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("PendingImport");
    await importMaterial(west, primary.KeyId!, material);
    expect((await describeIn(west, primary.KeyId!)).KeyState).toBe("Enabled");
    const blob = (await west.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("late") }))).CiphertextBlob!;
    expect(text((await east.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe("late");
  });
});

describe("UpdatePrimaryRegion", () => {
  it("swaps the primary and the replica in every copy's MultiRegionConfiguration", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    await replicate(primary, WEST);
    await replicate(primary, SOUTH);
    const westArn = `arn:aws:kms:${WEST}:${ACCOUNT}:key/${primary.KeyId}`;
    await east.send(new UpdatePrimaryRegionCommand({ KeyId: primary.KeyId, PrimaryRegion: WEST }));
    for (const c of [east, west, south]) {
      const cfg = (await describeIn(c, primary.KeyId!)).MultiRegionConfiguration!;
      expect(cfg.PrimaryKey).toEqual({ Arn: westArn, Region: WEST });
      expect(cfg.ReplicaKeys!.map((r) => r.Region).sort()).toEqual([SOUTH, EAST].sort());
    }
    expect((await describeIn(east, primary.KeyId!)).MultiRegionConfiguration!.MultiRegionKeyType).toBe("REPLICA");
    // the new primary replicates and rotates; the old one no longer does
    await expectKmsError(east.send(new EnableKeyRotationCommand({ KeyId: primary.KeyId })), "UnsupportedOperationException");
    await west.send(new EnableKeyRotationCommand({ KeyId: primary.KeyId }));
    expect((await east.send(new GetKeyRotationStatusCommand({ KeyId: primary.KeyId }))).KeyRotationEnabled).toBe(true);
    await expectKmsError(east.send(new UpdatePrimaryRegionCommand({ KeyId: primary.KeyId, PrimaryRegion: SOUTH })), "UnsupportedOperationException");
  });

  it("refuses a Region without a replica, the key's own Region and single-Region keys", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    const single = await createKey(east);
    await expectKmsError(
      east.send(new UpdatePrimaryRegionCommand({ KeyId: primary.KeyId, PrimaryRegion: WEST })),
      "NotFoundException",
      `Key 'arn:aws:kms:${WEST}:${ACCOUNT}:key/${primary.KeyId}' does not exist`,
    );
    await expectKmsError(east.send(new UpdatePrimaryRegionCommand({ KeyId: primary.KeyId, PrimaryRegion: EAST })), "ValidationException");
    await expectKmsError(east.send(new UpdatePrimaryRegionCommand({ KeyId: single.KeyId, PrimaryRegion: WEST })), "UnsupportedOperationException");
  });

  it("needs kms:UpdatePrimaryRegion in both keys' policies", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    const p = addPrincipal(s, "user", "promoter", [doc([{ Effect: "Allow", Action: "kms:UpdatePrimaryRegion", Resource: "*" }])]);
    const denyUser = doc([rootStatement(), { Effect: "Deny", Principal: { AWS: p.arn }, Action: "kms:UpdatePrimaryRegion", Resource: "*" }]);
    await replicate(primary, WEST, { Policy: denyUser });
    const asUser = new KMSClient(p.config);
    await expectKmsError(asUser.send(new UpdatePrimaryRegionCommand({ KeyId: primary.KeyId, PrimaryRegion: WEST })), "AccessDeniedException");
    // without permission on a key, the caller learns nothing of its kind
    p.setPolicies([]);
    const single = await createKey(east);
    await expectKmsError(asUser.send(new UpdatePrimaryRegionCommand({ KeyId: single.KeyId, PrimaryRegion: WEST })), "AccessDeniedException");
    await expectKmsError(asUser.send(new ReplicateKeyCommand({ KeyId: single.KeyId, ReplicaRegion: WEST })), "AccessDeniedException");
    expect((await describeIn(east, primary.KeyId!)).MultiRegionConfiguration!.MultiRegionKeyType).toBe("PRIMARY");
  });
});

describe("deletion", () => {
  it("holds a primary with replicas in PendingReplicaDeletion until the last replica is deleted", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    await replicate(primary, WEST);
    await replicate(primary, SOUTH);
    const sched = await east.send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 7 }));
    expect(sched.KeyState).toBe("PendingReplicaDeletion");
    expect(sched.DeletionDate).toBeUndefined();
    expect(sched.PendingWindowInDays).toBe(7);
    let md = await describeIn(east, primary.KeyId!);
    expect(md.KeyState).toBe("PendingReplicaDeletion");
    expect(md.PendingDeletionWindowInDays).toBe(7);
    expect(md.DeletionDate).toBeUndefined();
    await expectKmsError(east.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("x") })), "KMSInvalidStateException", `${primary.Arn} is pending replica deletion.`);
    await expectKmsError(east.send(new ReplicateKeyCommand({ KeyId: primary.KeyId, ReplicaRegion: "eu-central-1" })), "KMSInvalidStateException");
    // replicas keep working
    await west.send(new EncryptCommand({ KeyId: primary.KeyId, Plaintext: utf8("x") }));

    await west.send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 7 }));
    await south.send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId, PendingWindowInDays: 30 }));
    await s.advanceClock(8 * 86_400);
    // the western replica is gone, the southern one is still pending: the primary waits
    await expectKmsError(describeIn(west, primary.KeyId!), "NotFoundException");
    md = await describeIn(east, primary.KeyId!);
    expect(md.KeyState).toBe("PendingReplicaDeletion");
    expect(md.MultiRegionConfiguration!.ReplicaKeys).toEqual([{ Arn: `arn:aws:kms:${SOUTH}:${ACCOUNT}:key/${primary.KeyId}`, Region: SOUTH }]);

    await s.advanceClock(23 * 86_400);
    await expectKmsError(describeIn(south, primary.KeyId!), "NotFoundException");
    md = await describeIn(east, primary.KeyId!);
    expect(md.KeyState).toBe("PendingDeletion");
    expect(md.DeletionDate).toBeDefined();
    expect(md.PendingDeletionWindowInDays).toBeUndefined();
    await s.advanceClock(8 * 86_400);
    await expectKmsError(describeIn(east, primary.KeyId!), "NotFoundException");
  });

  it("cancels a PendingReplicaDeletion like a PendingDeletion, and deletes a primary without replicas straight away", async () => {
    const primary = await createKey(east, { MultiRegion: true });
    await replicate(primary, WEST);
    await east.send(new ScheduleKeyDeletionCommand({ KeyId: primary.KeyId }));
    await east.send(new CancelKeyDeletionCommand({ KeyId: primary.KeyId }));
    expect((await describeIn(east, primary.KeyId!)).KeyState).toBe("Disabled");

    const lone = await createKey(east, { MultiRegion: true });
    const sched = await east.send(new ScheduleKeyDeletionCommand({ KeyId: lone.KeyId, PendingWindowInDays: 7 }));
    expect(sched.KeyState).toBe("PendingDeletion");
    expect(sched.DeletionDate).toBeDefined();
  });
});
