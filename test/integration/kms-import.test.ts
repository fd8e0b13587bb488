/**
 * Imported key material (BYOK): material wrapped with node:crypto exactly as the AWS docs tell
 * users to wrap it with openssl, for all four wrapping algorithms; the ExpirationModel/ValidTo
 * rules; re-import of the same material; refusal of different material; expiry on the clock.
 */
import { describe, it, expect } from "vitest";
import { createDecipheriv, createPublicKey, randomBytes } from "node:crypto";
import {
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
  type AlgorithmSpec,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { startTestServer, useTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createKey, expectKmsError, importMaterial, text, trailRecords, utf8, wrap } from "./kms-helpers.ts";

const DAY = 86400;
let s: TestServer;
let kms: KMSClient;
useTestServer((server) => {
  s = server;
  kms = new KMSClient(s.config);
});

const importInto = (
  key: KeyMetadata,
  material: Buffer,
  algorithm: AlgorithmSpec = "RSAES_OAEP_SHA_256",
  extra: { ValidTo?: Date; ExpirationModel?: "KEY_MATERIAL_EXPIRES" | "KEY_MATERIAL_DOES_NOT_EXPIRE" } = { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" },
) => importMaterial(kms, key, material, algorithm, extra);

/** Opens a KMS symmetric ciphertext (layout in src/services/kms/crypto/ciphertext.ts) with raw material, using only node. */
function openWith(material: Buffer, blob: Uint8Array): string {
  const b = Buffer.from(blob);
  const headerLen = 2 + b[1] + 32;
  const d = createDecipheriv("aes-256-gcm", material, b.subarray(headerLen, headerLen + 12));
  d.setAAD(b.subarray(0, headerLen));
  d.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([d.update(b.subarray(headerLen + 12, b.length - 16)), d.final()]).toString("utf8");
}

describe("GetParametersForImport", () => {
  it("returns a DER public key, a token and a 24-hour validity", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const now = Date.parse(((await (await fetch(`${s.url}/_localfargate/clock`)).json()) as { now: string }).now);
    const p = await kms.send(new GetParametersForImportCommand({ KeyId: key.Arn, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_3072" }));
    expect(p.KeyId).toBe(key.Arn);
    expect(createPublicKey({ key: Buffer.from(p.PublicKey!), format: "der", type: "spki" }).asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(p.ImportToken!.length).toBeGreaterThan(16);
    expect(Math.abs(p.ParametersValidTo!.getTime() - (now + DAY * 1000))).toBeLessThan(60_000);
    const rec = (await trailRecords(s, "GetParametersForImport")).find((r) => r.resources?.[0]?.ARN === key.Arn)!;
    expect(rec.requestParameters).toEqual({ keyId: key.Arn, wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_3072" });
    expect(JSON.stringify(rec)).not.toContain(Buffer.from(p.ImportToken!).toString("base64").slice(0, 32));
  });

  it("is only for EXTERNAL keys and current wrapping algorithms", async () => {
    const normal = await createKey(kms);
    await expectKmsError(
      kms.send(new GetParametersForImportCommand({ KeyId: normal.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" })),
      "UnsupportedOperationException",
      `${normal.Arn} origin is AWS_KMS which is not valid for this operation.`,
    );
    const ext = await createKey(kms, { Origin: "EXTERNAL" });
    await expectKmsError(
      kms.send(new GetParametersForImportCommand({ KeyId: ext.KeyId, WrappingAlgorithm: "RSAES_PKCS1_V1_5", WrappingKeySpec: "RSA_2048" })),
      "ValidationException",
    );
    await expectKmsError(
      kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: normal.KeyId })),
      "UnsupportedOperationException",
      `${normal.Arn} origin is AWS_KMS which is not valid for this operation.`,
    );
  });
});

describe("ImportKeyMaterial", () => {
  it.each(["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"] as const)(
    "imports material wrapped with %s; the key then encrypts with exactly that material",
    async (algorithm) => {
      const key = await createKey(kms, { Origin: "EXTERNAL" });
      const material = randomBytes(32);
      const r = await importInto(key, material, algorithm);
      expect(r.KeyId).toBe(key.Arn);
      expect(r.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
      const md = (await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
      expect(md).toMatchObject({ KeyState: "Enabled", Enabled: true, Origin: "EXTERNAL", ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", CurrentKeyMaterialId: r.KeyMaterialId });
      expect(md.ValidTo).toBeUndefined();
      const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("byok") }));
      expect(openWith(material, enc.CiphertextBlob!)).toBe("byok");
      expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext)).toBe("byok");
    },
  );

  it("applies the ExpirationModel / ValidTo rules", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const m = randomBytes(32);
    await expectKmsError(importInto(key, m, "RSAES_OAEP_SHA_256", {}), "ValidationException", "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
    await expectKmsError(
      importInto(key, m, "RSAES_OAEP_SHA_256", { ExpirationModel: "KEY_MATERIAL_EXPIRES" }),
      "ValidationException",
      "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
    );
    await expectKmsError(
      importInto(key, m, "RSAES_OAEP_SHA_256", { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ValidTo: new Date(Date.now() + 10 * DAY * 1000) }),
      "ValidationException",
    );
    await expectKmsError(importInto(key, m, "RSAES_OAEP_SHA_256", { ValidTo: new Date(Date.now() - DAY * 1000) }), "ValidationException");
    await expectKmsError(importInto(key, m, "RSAES_OAEP_SHA_256", { ValidTo: new Date(Date.now() + 400 * DAY * 1000) }), "ValidationException");
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState).toBe("PendingImport");
  });

  it("refuses bad tokens, tokens for another key, undecryptable or wrong-size material", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const other = await createKey(kms, { Origin: "EXTERNAL" });
    const p = await kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }));
    const good = wrap(p.PublicKey!, "RSAES_OAEP_SHA_256", randomBytes(32));
    const base = { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" as const };
    await expectKmsError(
      kms.send(new ImportKeyMaterialCommand({ KeyId: other.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: good, ...base })),
      "InvalidImportTokenException",
    );
    const forged = Buffer.from(p.ImportToken!);
    forged[forged.length - 1] ^= 1;
    await expectKmsError(kms.send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: forged, EncryptedKeyMaterial: good, ...base })), "InvalidImportTokenException");
    await expectKmsError(
      kms.send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: randomBytes(256), ...base })),
      "InvalidCiphertextException",
    );
    await expectKmsError(
      kms.send(
        new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(p.PublicKey!, "RSAES_OAEP_SHA_256", randomBytes(16)), ...base }),
      ),
      "IncorrectKeyMaterialException",
    );
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState).toBe("PendingImport");
    // the same token still works for correct material
    await kms.send(new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: good, ...base }));
  });

  it("refuses a token after 24 hours on the service clock", async () => {
    const own = await startTestServer();
    try {
      const k = new KMSClient(own.config);
      const key = await createKey(k, { Origin: "EXTERNAL" });
      const p = await k.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256", WrappingKeySpec: "RSA_2048" }));
      await own.advanceClock(DAY + 60);
      await expectKmsError(
        k.send(
          new ImportKeyMaterialCommand({
            KeyId: key.KeyId,
            ImportToken: p.ImportToken,
            EncryptedKeyMaterial: wrap(p.PublicKey!, "RSA_AES_KEY_WRAP_SHA_256", randomBytes(32)),
            ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
          }),
        ),
        "ExpiredImportTokenException",
      );
    } finally {
      await own.close();
    }
  });
});

describe("deleting, re-importing and expiring material", () => {
  it("DeleteImportedKeyMaterial → PendingImport; the same material brings old ciphertexts back; other material is refused", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const material = randomBytes(32);
    const first = await importInto(key, material);
    const old = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("kept"), EncryptionContext: { v: "1" } }));
    const del = await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.Arn }));
    expect(del.KeyId).toBe(key.Arn);
    const md = (await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    expect([md.KeyState, md.Enabled, md.CurrentKeyMaterialId]).toEqual(["PendingImport", false, undefined]);
    await expectKmsError(kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("x") })), "KMSInvalidStateException", `${key.Arn} is pending import.`);
    await expectKmsError(
      kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob, EncryptionContext: { v: "1" } })),
      "KMSInvalidStateException",
      `${key.Arn} is pending import.`,
    );
    // deleting again: no effect
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId }));
    await expectKmsError(importInto(key, randomBytes(32)), "IncorrectKeyMaterialException");
    const again = await importInto(key, material, "RSA_AES_KEY_WRAP_SHA_1");
    expect(again.KeyMaterialId).toBe(first.KeyMaterialId);
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob, EncryptionContext: { v: "1" } }))).Plaintext)).toBe("kept");
    // re-importing the same material into an Enabled key is allowed (e.g. to change expiration)
    await importInto(key, material, "RSAES_OAEP_SHA_1", { ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: new Date(Date.now() + 30 * DAY * 1000) });
    const md2 = (await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    expect(md2.ExpirationModel).toBe("KEY_MATERIAL_EXPIRES");
    expect(md2.ValidTo).toBeInstanceOf(Date);
  });

  it("expires material at ValidTo on the service clock: PendingImport and a DeleteExpiredKeyMaterial event", async () => {
    const own = await startTestServer();
    try {
      const k = new KMSClient(own.config);
      const key = await createKey(k, { Origin: "EXTERNAL" });
      const material = randomBytes(32);
      const serviceNow = Date.parse(((await (await fetch(`${own.url}/_localfargate/clock`)).json()) as { now: string }).now);
      const validTo = new Date(serviceNow + 2 * DAY * 1000);
      const p = await k.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_1", WrappingKeySpec: "RSA_2048" }));
      await k.send(
        new ImportKeyMaterialCommand({ KeyId: key.KeyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrap(p.PublicKey!, "RSAES_OAEP_SHA_1", material), ValidTo: validTo }),
      );
      const md = (await k.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
      expect(md.ExpirationModel).toBe("KEY_MATERIAL_EXPIRES");
      expect(Math.abs(md.ValidTo!.getTime() - validTo.getTime())).toBeLessThan(1000);
      const blob = (await k.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("short-lived") }))).CiphertextBlob;
      await own.advanceClock(DAY);
      expect((await k.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState).toBe("Enabled");
      await own.advanceClock(DAY + 60);
      expect((await k.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState).toBe("PendingImport");
      await expectKmsError(k.send(new DecryptCommand({ CiphertextBlob: blob })), "KMSInvalidStateException", `${key.Arn} is pending import.`);
      const rec = (await trailRecords(own, "DeleteExpiredKeyMaterial")).find((r) => r.serviceEventDetails?.keyId === key.KeyId)!;
      expect(rec.eventType).toBe("AwsServiceEvent");
      expect(rec.userIdentity).toEqual({ accountId: ACCOUNT, invokedBy: "AWS Internal" });
      // re-import the same material: back in business
      const p2 = await k.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }));
      await k.send(
        new ImportKeyMaterialCommand({
          KeyId: key.KeyId,
          ImportToken: p2.ImportToken,
          EncryptedKeyMaterial: wrap(p2.PublicKey!, "RSAES_OAEP_SHA_256", material),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      );
      expect(text((await k.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext)).toBe("short-lived");
    } finally {
      await own.close();
    }
  });

  it("a key pending deletion keeps its state when material is deleted, and refuses imports", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    await importInto(key, randomBytes(32));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }));
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata?.KeyState).toBe("PendingDeletion");
    await expectKmsError(
      kms.send(new GetParametersForImportCommand({ KeyId: key.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" })),
      "KMSInvalidStateException",
      `${key.Arn} is pending deletion.`,
    );
  });
});
