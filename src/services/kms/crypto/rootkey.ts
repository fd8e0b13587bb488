/**
 * Key material at rest: every KMS key's material (and every import wrapping key) is stored only
 * sealed under a per-data-dir root key, so the SQLite store never holds raw material.
 *
 * Root key file: `<dataDir>/root.key`, exactly 32 random bytes, mode 0600, in a directory
 * created with mode 0700 if missing. Creation is exclusive and atomic: the bytes are written and
 * fsynced to a private temporary file, which is then hard-linked to `root.key` (link(2) fails
 * with EEXIST if another process got there first — O_EXCL semantics — and readers never see a
 * partly written key). Where hard links are not supported the file is created directly with
 * O_CREAT|O_EXCL ("wx"). An existing file of the wrong size is refused (a corrupt or foreign
 * root key must not silently become a new one: everything sealed under the old one would be lost).
 *
 * Sealed blob: [0x01 version][12-byte IV][AES-256-GCM ciphertext][16-byte tag], under a key
 * derived from the root key with HKDF-SHA256 (info "localfargate/kms/at-rest/v1"), with the
 * caller's label as AAD — e.g. "kms-material|<key ARN>|<material id>" — so a sealed blob moved
 * to another record does not open. Failure to open is a server fault (KMSInternalException 500):
 * it means a corrupted store or a different root key, never a client error.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, fchmodSync } from "node:fs";
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { join } from "node:path";
import { ServiceError } from "../../../kernel/errors.ts";

export const ROOT_KEY_FILE = "root.key";
export const ROOT_KEY_BYTES = 32;
const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

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

function writePrivate(path: string, bytes: Buffer): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    fchmodSync(fd, 0o600); // independent of the process umask
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not every platform can fsync a directory; the file itself is already durable
  }
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
  const key = randomBytes(ROOT_KEY_BYTES);
  const tmp = join(dataDir, `.${ROOT_KEY_FILE}.${process.pid}.${randomBytes(6).toString("hex")}`);
  writePrivate(tmp, key);
  try {
    linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return readRootKey(file); // another process created it first
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
    // no hard links here: fall back to an exclusive create of the file itself
    try {
      writePrivate(file, key);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST") return readRootKey(file);
      throw e2;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
  fsyncDir(dataDir);
  return key;
}

function atRestKey(rootKey: Buffer): Buffer {
  if (rootKey.length !== ROOT_KEY_BYTES) throw internal("root key must be 32 bytes");
  return Buffer.from(hkdfSync("sha256", rootKey, Buffer.alloc(0), "localfargate/kms/at-rest/v1", 32));
}

export function sealAtRest(rootKey: Buffer, plaintext: Buffer, label: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", atRestKey(rootKey), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(label, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, body, cipher.getAuthTag()]);
}

export function openAtRest(rootKey: Buffer, blob: Buffer, label: string): Buffer {
  const key = atRestKey(rootKey);
  if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== VERSION) throw internal("sealed key material is malformed");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, blob.subarray(1, 1 + IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(label, "utf8"));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    return Buffer.concat([decipher.update(blob.subarray(1 + IV_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw internal("sealed key material does not open under this data dir's root key");
  }
}
