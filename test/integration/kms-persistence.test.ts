/**
 * KMS across a restart with the same data dir: keys (material sealed under the root key),
 * aliases, grants, rotations, import parameters and scheduled deletions survive, and every
 * ciphertext, signature and MAC made before the restart still checks out after it. The store
 * never holds raw key material.
 */
import { describe, it, expect } from "vitest";
import { constants, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  CreateAliasCommand,
  CreateGrantCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
  ListGrantsCommand,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
} from "@aws-sdk/client-kms";
import { startTestServer } from "../support/server.ts";
import { ACCOUNT, createKey, expectKmsError, text, utf8 } from "./kms-helpers.ts";

function wrapOaep256(publicKeyDer: Uint8Array, material: Buffer): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: "der", type: "spki" });
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, material);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe("restart with the same data dir", () => {
  it("keeps every key, alias, grant, rotation and import, and decrypts every old ciphertext", { timeout: 120_000 }, async () => {
    const first = await startTestServer();
    const dataDir = first.dataDir;
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      let kms = new KMSClient(first.config);
      const sym = await createKey(kms, { Description: "survivor", Tags: [{ TagKey: "k", TagValue: "v" }] });
      const beforeRotation = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("v1"), EncryptionContext: { ctx: "1" } }));
      await kms.send(new RotateKeyOnDemandCommand({ KeyId: sym.KeyId }));
      await kms.send(new EnableKeyRotationCommand({ KeyId: sym.KeyId, RotationPeriodInDays: 100 }));
      const afterRotation = await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("v2") }));
      await kms.send(new CreateAliasCommand({ AliasName: "alias/survivor", TargetKeyId: sym.KeyId }));
      const grant = await kms.send(new CreateGrantCommand({ KeyId: sym.KeyId, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/bob`, Operations: ["Decrypt"], Name: "keep" }));

      const signer = await createKey(kms, { KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" });
      const sig = await kms.send(new SignCommand({ KeyId: signer.KeyId, Message: utf8("signed before"), SigningAlgorithm: "ECDSA_SHA_256" }));
      const mac = await createKey(kms, { KeySpec: "HMAC_384", KeyUsage: "GENERATE_VERIFY_MAC" });
      const tag = await kms.send(new GenerateMacCommand({ KeyId: mac.KeyId, Message: utf8("mac before"), MacAlgorithm: "HMAC_SHA_384" }));

      const ext = await createKey(kms, { Origin: "EXTERNAL" });
      const material = randomBytes(32);
      const p = await kms.send(new GetParametersForImportCommand({ KeyId: ext.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }));
      await kms.send(
        new ImportKeyMaterialCommand({
          KeyId: ext.KeyId,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: wrapOaep256(p.PublicKey!, material),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      );
      const extBlob = await kms.send(new EncryptCommand({ KeyId: ext.KeyId, Plaintext: utf8("imported") }));
      // parameters issued before the restart, used after it
      const ext2 = await createKey(kms, { Origin: "EXTERNAL" });
      const p2 = await kms.send(new GetParametersForImportCommand({ KeyId: ext2.KeyId, WrappingAlgorithm: "RSAES_OAEP_SHA_256", WrappingKeySpec: "RSA_2048" }));

      const doomed = await createKey(kms);
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 7 }));

      await first.stop();

      // nothing in the data dir holds raw material
      const needles = [material, Buffer.from(material.toString("base64")), Buffer.from(material.toString("hex"))];
      for (const f of filesUnder(dataDir)) {
        const bytes = readFileSync(f);
        for (const n of needles) expect(bytes.includes(n), `${f} contains the imported key material`).toBe(false);
      }
      const rootKey = join(dataDir, "root.key");
      expect(statSync(rootKey).mode & 0o777).toBe(0o600);

      second = await startTestServer({ dataDir });
      kms = new KMSClient(second.config);
      const md = (await kms.send(new DescribeKeyCommand({ KeyId: "alias/survivor" }))).KeyMetadata!;
      expect(md).toMatchObject({ Arn: sym.Arn, Description: "survivor", KeyState: "Enabled" });
      expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: beforeRotation.CiphertextBlob, EncryptionContext: { ctx: "1" } }))).Plaintext)).toBe("v1");
      expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: afterRotation.CiphertextBlob }))).Plaintext)).toBe("v2");
      expect((await kms.send(new ListKeyRotationsCommand({ KeyId: sym.KeyId }))).Rotations).toHaveLength(1);
      expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: sym.KeyId }))).RotationPeriodInDays).toBe(100);
      const grants = (await kms.send(new ListGrantsCommand({ KeyId: sym.KeyId }))).Grants!;
      expect(grants.map((g) => g.GrantId)).toEqual([grant.GrantId]);
      // the grant token issued before the restart is still a token KMS accepts
      await kms.send(new EncryptCommand({ KeyId: sym.KeyId, Plaintext: utf8("x"), GrantTokens: [grant.GrantToken!] }));
      expect(
        (await kms.send(new VerifyCommand({ KeyId: signer.KeyId, Message: utf8("signed before"), Signature: sig.Signature, SigningAlgorithm: "ECDSA_SHA_256" }))).SignatureValid,
      ).toBe(true);
      expect((await kms.send(new VerifyMacCommand({ KeyId: mac.KeyId, Message: utf8("mac before"), Mac: tag.Mac, MacAlgorithm: "HMAC_SHA_384" }))).MacValid).toBe(true);
      expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: extBlob.CiphertextBlob }))).Plaintext)).toBe("imported");
      await kms.send(
        new ImportKeyMaterialCommand({
          KeyId: ext2.KeyId,
          ImportToken: p2.ImportToken,
          EncryptedKeyMaterial: wrapOaep256(p2.PublicKey!, randomBytes(32)),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      );
      expect((await kms.send(new DescribeKeyCommand({ KeyId: ext2.KeyId }))).KeyMetadata?.KeyState).toBe("Enabled");
      expect((await kms.send(new DescribeKeyCommand({ KeyId: doomed.KeyId }))).KeyMetadata?.KeyState).toBe("PendingDeletion");
      await second.advanceClock(8 * 86400);
      await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: doomed.KeyId })), "NotFoundException");
    } finally {
      await first.stop();
      if (second) await second.close();
      else await first.close();
    }
  });

  it("a different root key cannot open the material: the server refuses to start rather than inventing keys", async () => {
    const s = await startTestServer();
    try {
      const kms = new KMSClient(s.config);
      const key = await createKey(kms);
      const blob = (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("x") }))).CiphertextBlob;
      await s.stop();
      const { writeFileSync } = await import("node:fs");
      const original = readFileSync(join(s.dataDir, "root.key"));
      writeFileSync(join(s.dataDir, "root.key"), randomBytes(32));
      await expect(startTestServer({ dataDir: s.dataDir })).rejects.toThrow(/root\.key is not the key the KMS key material in this data dir are sealed under/);
      // the refused start released the data dir: with the original key it starts and decrypts
      writeFileSync(join(s.dataDir, "root.key"), original);
      const again = await startTestServer({ dataDir: s.dataDir });
      try {
        const out = await new KMSClient(again.config).send(new DecryptCommand({ CiphertextBlob: blob }));
        expect(text(out.Plaintext)).toBe("x");
      } finally {
        await again.stop();
      }
    } finally {
      await s.close();
    }
  });
});
