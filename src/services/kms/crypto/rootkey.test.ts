import { execFile } from "node:child_process";
import { createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceError } from "../../../kernel/errors.ts";
import { loadOrCreateRootKey, openAtRest, sealAtRest } from "./rootkey.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lf-rootkey-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("loadOrCreateRootKey", () => {
  it("creates the directory and a 32-byte root.key with mode 0600, then reuses it", () => {
    const dataDir = join(tempDir(), "nested", "data");
    const key = loadOrCreateRootKey(dataDir);
    expect(key.length).toBe(32);
    const file = join(dataDir, "root.key");
    expect(readFileSync(file).equals(key)).toBe(true);
    if (process.platform !== "win32") {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dataDir).mode & 0o077).toBe(0);
    }
    expect(loadOrCreateRootKey(dataDir).equals(key)).toBe(true);
    // no temporary files are left behind
    expect(readdirSync(dataDir)).toEqual(["root.key"]);
  });

  it("gives different data dirs different keys", () => {
    expect(loadOrCreateRootKey(tempDir()).equals(loadOrCreateRootKey(tempDir()))).toBe(false);
  });

  it("uses a key another process already wrote and refuses a file of the wrong size", () => {
    const d = tempDir();
    const existing = randomBytes(32);
    writeFileSync(join(d, "root.key"), existing, { mode: 0o600 });
    expect(loadOrCreateRootKey(d).equals(existing)).toBe(true);
    const bad = tempDir();
    writeFileSync(join(bad, "root.key"), randomBytes(16));
    expect(() => loadOrCreateRootKey(bad)).toThrow(/16 bytes, expected 32/);
    expect(readFileSync(join(bad, "root.key")).length).toBe(16); // not replaced
  });

  it("is safe when several processes race on a fresh directory: they all get the same key", async () => {
    const d = join(tempDir(), "race");
    const moduleUrl = new URL("./rootkey.ts", import.meta.url).href;
    const script = `import(${JSON.stringify(moduleUrl)}).then((m) => process.stdout.write(m.loadOrCreateRootKey(${JSON.stringify(d)}).toString("hex")))`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ["--import", "tsx", "-e", script], (err, stdout) => (err ? reject(err) : resolve(stdout)));
      });
    const keys = await Promise.all(Array.from({ length: 4 }, run));
    for (const k of keys) expect(k).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(keys).size).toBe(1);
    expect(readFileSync(join(d, "root.key")).toString("hex")).toBe(keys[0]);
    expect(readdirSync(d)).toEqual(["root.key"]);
  });
});

describe("sealAtRest / openAtRest", () => {
  const root = randomBytes(32);

  it("round-trips and never contains the plaintext", () => {
    const material = randomBytes(32);
    const sealed = sealAtRest(root, material, "kms-material|arn:aws:kms:us-east-1:111122223333:key/k|id");
    expect(sealed.length).toBe(1 + 12 + 32 + 16);
    expect(sealed.includes(material)).toBe(false);
    expect(openAtRest(root, sealed, "kms-material|arn:aws:kms:us-east-1:111122223333:key/k|id").equals(material)).toBe(true);
    expect(sealAtRest(root, material, "l").equals(sealAtRest(root, material, "l"))).toBe(false);
  });

  it("uses AES-256-GCM under an HKDF subkey with the label as AAD (documented format)", () => {
    const sealed = sealAtRest(root, Buffer.from("pkcs8 bytes"), "label");
    expect(sealed[0]).toBe(1);
    const k = Buffer.from(hkdfSync("sha256", root, Buffer.alloc(0), "localfargate/kms/at-rest/v1", 32));
    const d = createDecipheriv("aes-256-gcm", k, sealed.subarray(1, 13));
    d.setAAD(Buffer.from("label"));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    expect(Buffer.concat([d.update(sealed.subarray(13, sealed.length - 16)), d.final()]).toString()).toBe("pkcs8 bytes");
  });

  it("fails with a server error for another label, another root key, tampering or truncation", () => {
    const sealed = sealAtRest(root, Buffer.from("secret"), "a");
    const fails = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ServiceError);
        expect((e as ServiceError).code).toBe("KMSInternalException");
        expect((e as ServiceError).status).toBe(500);
        return;
      }
      throw new Error("opened");
    };
    fails(() => openAtRest(root, sealed, "b"));
    fails(() => openAtRest(randomBytes(32), sealed, "a"));
    for (let i = 0; i < sealed.length; i++) {
      const t = Buffer.from(sealed);
      t[i] ^= 0x10;
      fails(() => openAtRest(root, t, "a"));
    }
    for (let n = 0; n < sealed.length; n++) fails(() => openAtRest(root, sealed.subarray(0, n), "a"));
  });
});
