/**
 * The symmetric ciphertext blob KMS returns from Encrypt / GenerateDataKey* / ReEncrypt and
 * accepts in Decrypt (our format, docs/kms.md#cryptography; AWS's real layout is not public).
 *
 *   offset  size  field
 *   0       1     version = 0x01
 *   1       1     L = length of the key ARN in bytes (1..255)
 *   2       L     key ARN, UTF-8
 *   2+L     32    key-material id (the KeyMaterialId, raw bytes; 64 hex chars in the API)
 *   34+L    12    IV (random per call)
 *   46+L    n     AES-256-GCM ciphertext (n = plaintext length)
 *   46+L+n  16    GCM tag
 *
 * AAD = header ‖ canonicalContext(ctx), where header = bytes [0, 34+L) — everything before the
 * IV. The IV is not repeated in the AAD because GCM already binds it (a different IV gives a
 * different keystream and tag). So every header byte (version, ARN, material id) and the exact
 * encryption context are authenticated: changing any of them, or any IV/ciphertext/tag byte,
 * makes the tag check fail → InvalidCiphertextException with an empty message, as AWS does.
 *
 * Canonical encryption context: pairs sorted by key in UTF-16 code-unit order (JS default
 * string order), each key and each value as UTF-8 with a u32 big-endian byte-length prefix,
 * concatenated. Absent or empty context → empty bytes. The length prefixes make the encoding
 * injective ({"ab":"c"} ≠ {"a":"bc"}, unlike plain concatenation), pair order is irrelevant and
 * matching is exact and case-sensitive.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { secureRandomBytes } from "./random.ts";
import { ServiceError } from "../../../kernel/errors.ts";

export const CIPHERTEXT_VERSION = 0x01;
export const MATERIAL_ID_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const SYMMETRIC_KEY_BYTES = 32;
/** bytes a blob adds to the plaintext, besides the ARN: version, length, id, IV, tag */
export const FIXED_OVERHEAD = 2 + MATERIAL_ID_BYTES + IV_BYTES + TAG_BYTES;

export interface ParsedCiphertext {
  keyArn: string;
  /** 32 bytes */
  materialId: Buffer;
}

interface Layout extends ParsedCiphertext {
  header: Buffer;
  iv: Buffer;
  body: Buffer;
  tag: Buffer;
}

/** InvalidCiphertextException carries no message on the wire (docs/kms.md#error-texts). */
export function invalidCiphertext(): ServiceError {
  return new ServiceError("InvalidCiphertextException", "", 400);
}

function internal(message: string): ServiceError {
  return new ServiceError("KMSInternalException", message, 500);
}

/** A fresh key-material id: 32 random bytes. */
export function newMaterialId(): Buffer {
  return randomBytes(MATERIAL_ID_BYTES);
}

/** The API form of a material id (KeyMaterialId): 64 lower-case hex digits. */
export function materialIdHex(id: Buffer): string {
  return id.toString("hex");
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses a KeyMaterialId (64 lower-case hex digits); undefined when it is not one. */
export function materialIdFromHex(hex: string): Buffer | undefined {
  return HEX64.test(hex) ? Buffer.from(hex, "hex") : undefined;
}

export function canonicalContext(ctx?: Record<string, string>): Buffer {
  if (!ctx) return Buffer.alloc(0);
  const keys = Object.keys(ctx).sort();
  if (keys.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const k of keys) {
    const v = ctx[k];
    if (typeof v !== "string") throw new ServiceError("ValidationException", "Encryption context values must be strings.", 400);
    for (const s of [k, v]) {
      const bytes = Buffer.from(s, "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length, 0);
      parts.push(len, bytes);
    }
  }
  return Buffer.concat(parts);
}

function header(keyArn: string, materialId: Buffer): Buffer {
  const arn = Buffer.from(keyArn, "utf8");
  if (arn.length < 1 || arn.length > 255) throw internal(`key ARN must be 1-255 bytes, got ${arn.length}`);
  if (materialId.length !== MATERIAL_ID_BYTES) throw internal(`key-material id must be ${MATERIAL_ID_BYTES} bytes`);
  return Buffer.concat([Buffer.from([CIPHERTEXT_VERSION, arn.length]), arn, materialId]);
}

function checkMaterial(material: Buffer): void {
  if (material.length !== SYMMETRIC_KEY_BYTES) throw internal(`symmetric key material must be ${SYMMETRIC_KEY_BYTES} bytes`);
}

export function sealSymmetric(keyArn: string, materialId: Buffer, material: Buffer, plaintext: Buffer, ctx?: Record<string, string>): Buffer {
  checkMaterial(material);
  const head = header(keyArn, materialId);
  const iv = secureRandomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", material, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([head, canonicalContext(ctx)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, body, cipher.getAuthTag()]);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function layout(blob: Buffer): Layout {
  if (!((blob as unknown) instanceof Uint8Array)) throw invalidCiphertext();
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.length < 2 || b[0] !== CIPHERTEXT_VERSION) throw invalidCiphertext();
  const arnLen = b[1];
  if (arnLen === 0) throw invalidCiphertext();
  const headerLen = 2 + arnLen + MATERIAL_ID_BYTES;
  if (b.length < headerLen + IV_BYTES + TAG_BYTES) throw invalidCiphertext();
  let keyArn: string;
  try {
    keyArn = utf8.decode(b.subarray(2, 2 + arnLen));
  } catch {
    throw invalidCiphertext();
  }
  return {
    keyArn,
    materialId: Buffer.from(b.subarray(2 + arnLen, headerLen)),
    header: b.subarray(0, headerLen),
    iv: b.subarray(headerLen, headerLen + IV_BYTES),
    body: b.subarray(headerLen + IV_BYTES, b.length - TAG_BYTES),
    tag: b.subarray(b.length - TAG_BYTES),
  };
}

/**
 * Reads the cleartext header (which key, which material) without decrypting, so Decrypt can
 * find the key. Bad version / truncated / malformed → InvalidCiphertextException.
 */
export function parseCiphertext(blob: Buffer): ParsedCiphertext {
  const { keyArn, materialId } = layout(blob);
  return { keyArn, materialId };
}

/**
 * Decrypts a blob with the material its header names. Any failure (format, tag, wrong
 * material, encryption context not an exact match) → InvalidCiphertextException, empty message.
 */
export function openSymmetric(blob: Buffer, material: Buffer, ctx?: Record<string, string>): Buffer {
  checkMaterial(material);
  const l = layout(blob);
  let aad: Buffer;
  try {
    aad = Buffer.concat([l.header, canonicalContext(ctx)]);
  } catch {
    throw invalidCiphertext();
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", material, l.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(l.tag);
    return Buffer.concat([decipher.update(l.body), decipher.final()]);
  } catch {
    throw invalidCiphertext();
  }
}
