/**
 * Key files in the data dir (`root.key`, `credentials.key`) and the check values that tie them
 * to the data they seal.
 *
 * A key file's check value, HMAC-SHA256(key, "localfargate key check value|<file name>"), is
 * stored in the database meta when the key is first used. At every start the file must be
 * there and match it: a key file that is missing, damaged (one flipped bit) or from another
 * data dir is refused, because using it would answer every old secret with an error and seal
 * new ones under a key nobody has. A new key is made only for a data dir that holds nothing
 * sealed yet. The check value reveals nothing about the key (HMAC is a PRF).
 *
 * A new key file is created exclusively and atomically (`createKeyFile`): 32 random bytes are
 * written and fsynced to a private temporary file (mode 0600 whatever the umask), which is then
 * hard-linked to its name; link(2) fails with EEXIST when another process got there first, and
 * readers never see a partly written key. Where hard links are not supported the file itself is
 * created with O_CREAT|O_EXCL. An existing key file is never replaced.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { closeSync, existsSync, fchmodSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { StartupError } from "./startup-error.ts";
import type { Store } from "./store.ts";

export const KEY_BYTES = 32;

export interface KeyFileSpec {
  dataDir: string;
  fileName: string;
  store: Store;
  /** the meta entry that holds the check value */
  metaKey: string;
  /** what the key seals, for messages ("KMS key material") */
  protects: string;
  /** true when the store already holds data sealed under this key */
  hasSealedData(): boolean;
  /** data dirs of versions before check values: does one sealed record open under this key? */
  opensSealedData?(key: Buffer): boolean;
  /** creates the key file (mode 0600) and returns the new key */
  create(): Buffer;
}

export function keyCheckValue(key: Buffer, fileName: string): string {
  return createHmac("sha256", key).update(`localfargate key check value|${fileName}`).digest("hex");
}

/** The key in the file, verified against the data it seals; made only for a data dir with none. */
export function loadCheckedKey(spec: KeyFileSpec): Buffer {
  const { dataDir, fileName, store, metaKey, protects } = spec;
  const file = join(dataDir, fileName);
  const remedy = `restore the original ${fileName} from a backup of this data dir, or start with a new, empty --data-dir`;
  const wrongKey = () =>
    new StartupError(`${file} is not the key the ${protects} in this data dir are sealed under (its check value differs; the file is damaged or from another data dir): ${remedy}`);
  const stored = store.getMeta(metaKey);
  let key = readKeyFile(file, remedy);
  if (!key) {
    if (stored !== undefined || spec.hasSealedData()) {
      throw new StartupError(`${file} is missing, but this data dir holds ${protects} sealed under it: ${remedy}. A new key is never made over existing data.`);
    }
    key = spec.create();
  } else if (stored !== undefined) {
    const expected = Buffer.from(stored, "hex");
    const actual = Buffer.from(keyCheckValue(key, fileName), "hex");
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw wrongKey();
    return key;
  } else if (spec.opensSealedData && spec.hasSealedData() && !spec.opensSealedData(key)) {
    throw wrongKey();
  }
  store.commitNow([store.setMeta(metaKey, keyCheckValue(key, fileName))]);
  return key;
}

/**
 * Like `loadCheckedKey`, but a data dir that has neither the key file nor anything sealed under
 * it gets its key only when something first asks for it: a fresh start does not wait for key
 * files (and their fsyncs) that a session may never use. Anything that is there is still checked
 * at start-up. The key file is durable before the caller can seal with it.
 */
export function lazyCheckedKey(spec: KeyFileSpec): () => Buffer {
  let key: Buffer | undefined;
  const fresh = spec.store.getMeta(spec.metaKey) === undefined && !existsSync(join(spec.dataDir, spec.fileName)) && !spec.hasSealedData();
  if (!fresh) key = loadCheckedKey(spec);
  // Nothing can have been sealed under a key that does not exist yet: records written since the
  // start (a KMS key awaiting imported material) hold nothing sealed under it.
  return () => (key ??= loadCheckedKey({ ...spec, hasSealedData: () => false }));
}

function readKeyFile(file: string, remedy: string): Buffer | undefined {
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StartupError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (key.length !== KEY_BYTES) throw new StartupError(`${file} is ${key.length} bytes, not a ${KEY_BYTES}-byte key: it is damaged; ${remedy}`);
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

/**
 * Writes a private file (mode 0600) whole or not at all: a fsynced temporary file renamed over
 * the name, so a crash leaves the old file or the new one, never a part.
 */
export function writePrivateFile(file: string, bytes: Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writePrivate(tmp, bytes);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // never made
    }
    throw e;
  }
  fsyncDir(dirname(file));
}

/** The key in a file another process created first: it must be a whole key. */
function readRacedKey(file: string): Buffer {
  const key = readKeyFile(file, "remove it only if nothing was ever sealed under it");
  if (!key) throw new StartupError(`${file} vanished while it was being created`);
  return key;
}

/**
 * Creates `<dataDir>/<fileName>` (and the data dir, mode 0700) holding a new random key, or
 * returns the key another process created there first. Never overwrites an existing file.
 */
export function createKeyFile(dataDir: string, fileName: string): Buffer {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, fileName);
  const key = randomBytes(KEY_BYTES);
  const tmp = join(dataDir, `.${fileName}.${process.pid}.${randomBytes(6).toString("hex")}`);
  writePrivate(tmp, key);
  try {
    linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return readRacedKey(file);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
    // no hard links here: fall back to an exclusive create of the file itself
    try {
      writePrivate(file, key);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST") return readRacedKey(file);
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
