/**
 * Several key materials in one key with imported material, and on-demand rotation to material
 * imported for it: ImportType, KeyMaterialId and KeyMaterialDescription on ImportKeyMaterial,
 * RotateKeyOnDemand, ListKeyRotations' IncludeKeyMaterial, DeleteImportedKeyMaterial's
 * KeyMaterialId. The members the newer models have travel as the SDK sends them.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import {
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  type ImportKeyMaterialCommandInput,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { useTestServer, type TestServer } from "../support/server.ts";
import { createKey, expectKmsError, importMaterial, text, utf8 } from "./kms-helpers.ts";

let s: TestServer;
let kms: KMSClient;
useTestServer((server) => {
  s = server;
  kms = new KMSClient(s.config);
});

const importInto = (key: KeyMetadata, material: Buffer, extra: Partial<ImportKeyMaterialCommandInput> = {}) =>
  importMaterial(kms, key, material, "RSAES_OAEP_SHA_256", { ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", ...extra });

const encrypt = async (key: KeyMetadata, s: string) => (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8(s) }))).CiphertextBlob!;
const decrypt = async (blob: Uint8Array) => text((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext);
const materials = async (key: KeyMetadata, IncludeKeyMaterial?: "ALL_KEY_MATERIAL" | "ROTATIONS_ONLY") =>
  (await kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, IncludeKeyMaterial }))).Rotations!;

describe("imported key material: several materials, rotated on demand", () => {
  it("imports new material as PENDING_ROTATION, rotates to it, and keeps decrypting what the old material encrypted", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const first = randomBytes(32);
    const one = await importInto(key, first, { KeyMaterialDescription: "first" });
    const before = await encrypt(key, "under the first material");

    const second = randomBytes(32);
    const two = await importInto(key, second, { ImportType: "NEW_KEY_MATERIAL", KeyMaterialDescription: "second" });
    expect(two.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    expect(two.KeyMaterialId).not.toBe(one.KeyMaterialId);
    // imported, not yet current: the key still encrypts under the first
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(one.KeyMaterialId);
    const all = await materials(key, "ALL_KEY_MATERIAL");
    expect(all.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState, r.KeyMaterialDescription])).toEqual([
      [one.KeyMaterialId, "CURRENT", "IMPORTED", "first"],
      [two.KeyMaterialId, "PENDING_ROTATION", "IMPORTED", "second"],
    ]);
    expect(await materials(key)).toEqual([]);

    // a second new material while one is pending is refused
    await expectKmsError(importInto(key, randomBytes(32), { ImportType: "NEW_KEY_MATERIAL" }), "KMSInvalidStateException", /pending rotation/);

    await kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId).toBe(two.KeyMaterialId);
    const rotations = await materials(key);
    expect(rotations.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.RotationType])).toEqual([[two.KeyMaterialId, "CURRENT", "ON_DEMAND"]]);
    expect((await materials(key, "ALL_KEY_MATERIAL")).map((r) => r.KeyMaterialState)).toEqual(["NON_CURRENT", "CURRENT"]);

    const after = await encrypt(key, "under the second material");
    expect((await kms.send(new DecryptCommand({ CiphertextBlob: after }))).KeyMaterialId).toBe(two.KeyMaterialId);
    expect(await decrypt(before)).toBe("under the first material");
    expect(await decrypt(after)).toBe("under the second material");

    // without new material pending, RotateKeyOnDemand has nothing to rotate to
    await expectKmsError(kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })), "UnsupportedOperationException", /no key material pending rotation/);
  });

  it("deletes one material by KeyMaterialId: the key is unusable until that same material is re-imported", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const first = randomBytes(32);
    const one = await importInto(key, first);
    const second = randomBytes(32);
    const two = await importInto(key, second, { ImportType: "NEW_KEY_MATERIAL" });
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    const old = (await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("x") }))).CiphertextBlob!;

    const del = await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: one.KeyMaterialId }));
    expect(del.KeyMaterialId).toBe(one.KeyMaterialId);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe("PendingImport");
    await expectKmsError(decrypt(old), "KMSInvalidStateException");
    // re-importing other material as "existing", or naming another material, is refused
    await expectKmsError(importInto(key, randomBytes(32)), "IncorrectKeyMaterialException");
    await expectKmsError(importInto(key, first, { KeyMaterialId: two.KeyMaterialId }), "IncorrectKeyMaterialException");
    await importInto(key, first, { ImportType: "EXISTING_KEY_MATERIAL", KeyMaterialId: one.KeyMaterialId });
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe("Enabled");
    expect(await decrypt(old)).toBe("x");
  });

  it("drops material pending rotation when it is deleted, and refuses the newer members where they do not apply", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const one = await importInto(key, randomBytes(32));
    const two = await importInto(key, randomBytes(32), { ImportType: "NEW_KEY_MATERIAL" });
    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: two.KeyMaterialId }));
    expect((await materials(key, "ALL_KEY_MATERIAL")).map((r) => r.KeyMaterialId)).toEqual([one.KeyMaterialId]);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe("Enabled");
    await expectKmsError(importInto(key, randomBytes(32), { ImportType: "NEW_KEY_MATERIAL", KeyMaterialId: one.KeyMaterialId }), "ValidationException");
    await expectKmsError(kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyId, KeyMaterialId: "0".repeat(64) })), "ValidationException", /is not associated with/);
    await expectKmsError(importInto(key, randomBytes(32), { ImportType: "SOMETHING" as "NEW_KEY_MATERIAL" }), "ValidationException", /importType/);
    // an HMAC key holds one material: the members that choose among several are refused
    const hmac = await createKey(kms, { Origin: "EXTERNAL", KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" });
    await expectKmsError(importInto(hmac, randomBytes(32), { ImportType: "NEW_KEY_MATERIAL" }), "ValidationException", /symmetric encryption/);
  });

  it("expires each material on its own ValidTo: pending material goes away, a held one makes the key PendingImport", async () => {
    const key = await createKey(kms, { Origin: "EXTERNAL" });
    const now = Date.parse(((await (await fetch(`${s.url}/_localfargate/clock`)).json()) as { now: string }).now);
    const first = randomBytes(32);
    const one = await importInto(key, first, { ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: new Date(now + 10 * 86400_000) });
    await importInto(key, randomBytes(32), { ImportType: "NEW_KEY_MATERIAL", ExpirationModel: "KEY_MATERIAL_EXPIRES", ValidTo: new Date(now + 2 * 86400_000) });
    const entries = await materials(key, "ALL_KEY_MATERIAL");
    expect(entries.map((r) => r.ValidTo!.getTime())).toEqual([now + 10 * 86400_000, now + 2 * 86400_000]);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.ValidTo!.getTime()).toBe(now + 10 * 86400_000);
    await s.advanceClock(3 * 86400);
    expect((await materials(key, "ALL_KEY_MATERIAL")).map((r) => r.KeyMaterialId)).toEqual([one.KeyMaterialId]);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState).toBe("Enabled");
    await s.advanceClock(8 * 86400);
    const md = (await kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
    expect(md.KeyState).toBe("PendingImport");
    expect((await materials(key, "ALL_KEY_MATERIAL")).map((r) => r.ImportState)).toEqual(["PENDING_IMPORT"]);
  });

  it("lets a key that generated its own material list its first material with ALL_KEY_MATERIAL", async () => {
    const key = await createKey(kms);
    expect(await materials(key)).toEqual([]);
    const all = await materials(key, "ALL_KEY_MATERIAL");
    expect(all.map((r) => r.KeyMaterialState)).toEqual(["CURRENT"]);
    expect(all[0].ImportState).toBeUndefined();
  });
});
