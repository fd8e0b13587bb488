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
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
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
