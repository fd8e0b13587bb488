import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createKeyFile, lazyCheckedKey, type KeyFileSpec } from "./key-file.ts";
import { Store } from "./store.ts";
import { StartupError } from "./startup-error.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lf-keyfile-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("createKeyFile", () => {
  it("creates a 32-byte key file of mode 0600 in a 0700 data dir, leaving no temporary file", () => {
    const dataDir = join(tempDir(), "nested", "data");
    const key = createKeyFile(dataDir, "credentials.key");
    expect(key.length).toBe(32);
    expect(readFileSync(join(dataDir, "credentials.key")).equals(key)).toBe(true);
    expect(statSync(join(dataDir, "credentials.key")).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o077).toBe(0);
    expect(readdirSync(dataDir)).toEqual(["credentials.key"]);
  });

  it("never overwrites a key file that is there: it answers the key in it", () => {
    const d = tempDir();
    const existing = randomBytes(32);
    writeFileSync(join(d, "credentials.key"), existing, { mode: 0o600 });
    expect(createKeyFile(d, "credentials.key").equals(existing)).toBe(true);
    expect(readdirSync(d)).toEqual(["credentials.key"]);
  });

  it("refuses a file of the wrong size that is there, and leaves it as it was", () => {
    const d = tempDir();
    writeFileSync(join(d, "root.key"), randomBytes(16));
    expect(() => createKeyFile(d, "root.key")).toThrow(StartupError);
    expect(readFileSync(join(d, "root.key")).length).toBe(16);
    expect(readdirSync(d)).toEqual(["root.key"]);
  });
});

describe("lazyCheckedKey", () => {
  const spec = (dataDir: string, store: Store, sealed = false): KeyFileSpec => ({
    dataDir,
    fileName: "credentials.key",
    store,
    metaKey: "test.keyCheck",
    protects: "test secrets",
    hasSealedData: () => sealed,
    create: () => createKeyFile(dataDir, "credentials.key"),
  });

  it("makes no key file for a fresh data dir until the key is first asked for, then checks it at every start", () => {
    const d = tempDir();
    let store = new Store(d);
    const key = lazyCheckedKey(spec(d, store));
    expect(readdirSync(d)).not.toContain("credentials.key");
    const k = key();
    expect(readFileSync(join(d, "credentials.key")).equals(k)).toBe(true);
    expect(key().equals(k)).toBe(true);
    store.close();
    store = new Store(d);
    expect(lazyCheckedKey(spec(d, store))().equals(k)).toBe(true);
    writeFileSync(join(d, "credentials.key"), randomBytes(32));
    expect(() => lazyCheckedKey(spec(d, store))).toThrow(/not the key the test secrets/);
    store.close();
  });

  it("refuses at start-up, not at first use, a missing key file over sealed data", () => {
    const d = tempDir();
    const store = new Store(d);
    expect(() => lazyCheckedKey(spec(d, store, true))).toThrow(/credentials.key is missing/);
    store.close();
  });
});
