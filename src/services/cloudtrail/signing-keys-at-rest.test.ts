import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StartupError } from "../../store/startup-error.ts";
import { Store } from "../../store/store.ts";
import { SigningKeys, signDigest } from "./keys.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lf-ct-keys-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.parse("2026-01-01T00:00:00Z");

/** Makes one signing key in a fresh data dir and closes the store. */
function withOneKey(dir: string): { fp: string; der: Buffer; pem: string } {
  const store = new Store(dir);
  const a = new SigningKeys(store, dir).current("us-east-1", T0);
  store.commitNow(a.writes);
  store.close();
  const der = a.privateKey.export({ type: "pkcs8", format: "der" });
  return { fp: a.key.fingerprint, der, pem: a.privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}

describe("CloudTrail signing keys at rest", () => {
  it("keep the private key sealed (no PEM, no DER in clear) under a 0600 cloudtrail.key, and sign again after a restart", () => {
    const dir = tempDir();
    const { fp, der } = withOneKey(dir);
    const [file] = readdirSync(join(dir, "cloudtrail-keys"));
    expect(file).toBe(`us-east-1_${fp}.key.sealed`);
    const sealed = readFileSync(join(dir, "cloudtrail-keys", file));
    expect(sealed.toString("latin1")).not.toContain("PRIVATE KEY");
    expect(sealed.includes(der.subarray(der.length - 64))).toBe(false);
    expect(statSync(join(dir, "cloudtrail.key")).mode & 0o777).toBe(0o600);
    const store = new Store(dir);
    const again = new SigningKeys(store, dir).current("us-east-1", T0 + 1000);
    expect(again.key.fingerprint).toBe(fp);
    expect(again.writes).toHaveLength(0);
    expect(signDigest("x", again.privateKey)).toMatch(/^[0-9a-f]{512}$/);
    store.close();
  });

  it("refuses to start without cloudtrail.key over sealed keys, and never makes a new one", () => {
    const dir = tempDir();
    withOneKey(dir);
    unlinkSync(join(dir, "cloudtrail.key"));
    const store = new Store(dir);
    try {
      expect(() => new SigningKeys(store, dir)).toThrow(StartupError);
      expect(readdirSync(dir)).not.toContain("cloudtrail.key");
    } finally {
      store.close();
    }
  });

  it("does not use a sealed key file that was changed", () => {
    const dir = tempDir();
    withOneKey(dir);
    const [file] = readdirSync(join(dir, "cloudtrail-keys"));
    const path = join(dir, "cloudtrail-keys", file);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(path, bytes);
    const store = new Store(dir);
    try {
      expect(() => new SigningKeys(store, dir).current("us-east-1", T0 + 1000)).toThrow();
    } finally {
      store.close();
    }
  });

  it("seals a PEM file an older version left and removes it, signing with the same key", () => {
    const dir = tempDir();
    const { fp, pem } = withOneKey(dir);
    const keysDir = join(dir, "cloudtrail-keys");
    for (const f of readdirSync(keysDir)) unlinkSync(join(keysDir, f));
    writeFileSync(join(keysDir, `us-east-1_${fp}.pem`), pem, { mode: 0o600 });
    const store = new Store(dir);
    try {
      const again = new SigningKeys(store, dir).current("us-east-1", T0 + 1000);
      expect(again.key.fingerprint).toBe(fp);
      expect(again.privateKey.export({ type: "pkcs8", format: "pem" }).toString()).toBe(pem);
      expect(readdirSync(keysDir)).toEqual([`us-east-1_${fp}.key.sealed`]);
    } finally {
      store.close();
    }
  });
});
