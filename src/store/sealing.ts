/**
 * Secrets at rest, sealed once for every service: AES-256-GCM with a fresh 12-byte IV per seal,
 * a full 16-byte tag, and an AAD naming the record the secret belongs to, so a sealed value
 * copied into another record, cut short or changed in any bit does not open. The key is one of
 * the data dir's checked key files (src/store/key-file.ts).
 *
 * Two encodings exist because data dirs already hold both: parts (IV, ciphertext, tag) that a
 * record stores side by side, and one blob `[version][IV][ciphertext][tag]`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

export const SEAL_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = "aes-256-gcm";

export interface SealedParts {
  iv: Buffer;
  ct: Buffer;
  tag: Buffer;
}

/** Why a sealed value did not open: not one of ours at all, or it fails authentication. */
export class SealError extends Error {
  constructor(readonly reason: "malformed" | "does-not-open") {
    super(reason === "malformed" ? "the sealed value is malformed" : "the sealed value does not open under this key and AAD");
  }
}

function checkKey(key: Buffer): void {
  if (key.length !== SEAL_KEY_BYTES) throw new RangeError(`a sealing key is ${SEAL_KEY_BYTES} bytes, not ${key.length}`);
}

export function sealParts(key: Buffer, plaintext: Buffer, aad: string): SealedParts {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ct, tag: cipher.getAuthTag() };
}

/** The plaintext, or SealError: a short IV or tag is refused, never accepted as a weaker check. */
export function openParts(key: Buffer, parts: SealedParts, aad: string): Buffer {
  checkKey(key);
  if (parts.iv.length !== IV_BYTES || parts.tag.length !== TAG_BYTES) throw new SealError("malformed");
  try {
    const decipher = createDecipheriv(ALGORITHM, key, parts.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(parts.tag);
    return Buffer.concat([decipher.update(parts.ct), decipher.final()]);
  } catch {
    throw new SealError("does-not-open");
  }
}

export function sealBlob(key: Buffer, plaintext: Buffer, aad: string, version: number): Buffer {
  const { iv, ct, tag } = sealParts(key, plaintext, aad);
  return Buffer.concat([Buffer.from([version]), iv, ct, tag]);
}

export function openBlob(key: Buffer, blob: Buffer, aad: string, version: number): Buffer {
  if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== version) throw new SealError("malformed");
  return openParts(key, { iv: blob.subarray(1, 1 + IV_BYTES), ct: blob.subarray(1 + IV_BYTES, blob.length - TAG_BYTES), tag: blob.subarray(blob.length - TAG_BYTES) }, aad);
}
