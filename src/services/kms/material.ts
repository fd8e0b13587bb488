/**
 * Thin glue between the KMS operations and the crypto core (./crypto): key material versions
 * sealed at rest under the data dir's root key, opened on demand and kept only in memory, and
 * the per-spec facts (algorithms) the API reports. No cryptographic primitive lives here.
 */
import type { KeySpec, KeyUsageType } from "@aws-sdk/client-kms";
import { generateKeyMaterialAsync, metadataAlgorithms } from "./crypto/asymmetric.ts";
import { materialIdHex, newMaterialId as newMaterialIdBytes } from "./crypto/ciphertext.ts";
import type { KeyRecord, KmsState, MaterialRecord } from "./state.ts";

/** Seals key material at rest; `aad` binds a sealed blob to the key and material it belongs to. */
export interface Sealer {
  seal(plaintext: Buffer, aad: string): Buffer;
  open(sealed: Buffer, aad: string): Buffer;
  /** the server secret import tokens are authenticated with (the root key) */
  readonly secret: Buffer;
}

/** A new KeyMaterialId (64 lower-case hex digits). */
export function newMaterialId(): string {
  return materialIdHex(newMaterialIdBytes());
}

export function materialAad(keyArn: string, materialId: string): string {
  return `kms-material|${keyArn}|${materialId}`;
}

/** New material for a key spec (raw AES/HMAC key or PKCS#8 DER), generated off the event loop. */
export function generateMaterial(keySpec: KeySpec): Promise<Buffer> {
  return generateKeyMaterialAsync(keySpec);
}

/** Wraps raw material as a sealed version of a key; the opened form is cached in memory. */
export function sealMaterial(state: KmsState, sealer: Sealer, keyArn: string, raw: Buffer, createdAt: Date, extra: Partial<MaterialRecord> = {}): MaterialRecord {
  const id = extra.id ?? newMaterialId();
  const m: MaterialRecord = { ...extra, id, sealed: sealer.seal(raw, materialAad(keyArn, id)), createdAt };
  state.openMaterial.set(id, raw);
  return m;
}

/** The raw material of one version of a key (undefined when the key has no such version). */
export function openMaterial(state: KmsState, sealer: Sealer, key: KeyRecord, materialId: string): Buffer | undefined {
  const m = key.materials.find((x) => x.id === materialId);
  if (!m || (key.origin === "EXTERNAL" && m.importState !== "IMPORTED")) return undefined;
  let raw = state.openMaterial.get(materialId);
  if (!raw) {
    raw = sealer.open(m.sealed, materialAad(key.arn, m.id));
    state.openMaterial.set(materialId, raw);
  }
  return raw;
}

/** The material new ciphertexts, signatures and MACs use. */
export function currentMaterial(state: KmsState, sealer: Sealer, key: KeyRecord): { id: string; raw: Buffer } | undefined {
  if (!key.currentMaterialId) return undefined;
  const raw = openMaterial(state, sealer, key, key.currentMaterialId);
  return raw ? { id: key.currentMaterialId, raw } : undefined;
}

/** The algorithm lists KeyMetadata and GetPublicKey report for a key. */
export function algorithmsFor(keySpec: KeySpec, keyUsage: KeyUsageType) {
  return metadataAlgorithms(keySpec, keyUsage);
}
