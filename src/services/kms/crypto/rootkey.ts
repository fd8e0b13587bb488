/**
 * Key material at rest: every KMS key's material (and every import wrapping key) is stored only
 * sealed under a per-data-dir root key, so the SQLite store never holds raw material.
 *
 * Root key file: `<dataDir>/root.key`, exactly 32 random bytes, mode 0600, created exclusively
 * and atomically by the shared key-file code (src/store/key-file.ts). An existing file of the
 * wrong size is refused (a corrupt or foreign root key must not silently become a new one:
 * everything sealed under the old one would be lost).
 *
 * Sealed blob (src/store/sealing.ts): [0x01 version][12-byte IV][AES-256-GCM ciphertext][16-byte tag], under a key
 * derived from the root key with HKDF-SHA256 (info "localfargate/kms/at-rest/v1"), with the
 * caller's label as AAD — e.g. "kms-material|<key ARN>|<material id>" — so a sealed blob moved
 * to another record does not open. Failure to open is a server fault (KMSInternalException 500):
 * it means a corrupted store or a different root key, never a client error.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { hkdfSync } from "node:crypto";
import { join } from "node:path";
import { ServiceError } from "../../../kernel/errors.ts";
import { createKeyFile } from "../../../store/key-file.ts";
import { openBlob, sealBlob, SealError } from "../../../store/sealing.ts";

export const ROOT_KEY_FILE = "root.key";
export const ROOT_KEY_BYTES = 32;
const VERSION = 0x01;

function internal(message: string): ServiceError {
  return new ServiceError("KMSInternalException", message, 500);
}

function readRootKey(file: string): Buffer {
  const key = readFileSync(file);
  if (key.length !== ROOT_KEY_BYTES) {
    throw internal(`${file} is ${key.length} bytes, expected ${ROOT_KEY_BYTES}; refusing to use or replace it`);
  }
  return key;
}

/** Reads `<dataDir>/root.key`, creating it (and the directory) on first use. */
export function loadOrCreateRootKey(dataDir: string): Buffer {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, ROOT_KEY_FILE);
  try {
    return readRootKey(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return createKeyFile(dataDir, ROOT_KEY_FILE);
}

function atRestKey(rootKey: Buffer): Buffer {
  if (rootKey.length !== ROOT_KEY_BYTES) throw internal("root key must be 32 bytes");
  return Buffer.from(hkdfSync("sha256", rootKey, Buffer.alloc(0), "localfargate/kms/at-rest/v1", 32));
}

export function sealAtRest(rootKey: Buffer, plaintext: Buffer, label: string): Buffer {
  return sealBlob(atRestKey(rootKey), plaintext, label, VERSION);
}

export function openAtRest(rootKey: Buffer, blob: Buffer, label: string): Buffer {
  try {
    return openBlob(atRestKey(rootKey), blob, label, VERSION);
  } catch (e) {
    if (!(e instanceof SealError)) throw e;
    throw internal(e.reason === "malformed" ? "sealed key material is malformed" : "sealed key material does not open under this data dir's root key");
  }
}
