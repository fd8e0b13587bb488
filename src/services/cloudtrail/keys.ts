/**
 * The per-region RSA key pairs that sign digest files. A key signs for 30 days, then a new one
 * is made; ListPublicKeys returns every key whose validity overlaps the asked range, as DER
 * PKCS#1 RSAPublicKey with its fingerprint (MD5 of that DER, 32 hex: the value digests carry
 * in digestPublicKeyFingerprint). Public halves are store entities; private keys are PEM files
 * of mode 0600 in `<data dir>/cloudtrail-keys/` (directory 0700), or memory without a data dir.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Store, WriteOp } from "../../store/store.ts";

export const KEY_VALIDITY_MS = 30 * 24 * 3600 * 1000;
const KIND = "cloudtrail.signing-key";

export interface SigningKeyInfo {
  region: string;
  fingerprint: string;
  /** DER PKCS#1 RSAPublicKey */
  publicDer: Buffer;
  validityStartMs: number;
  validityEndMs: number;
}

export class SigningKeys {
  private readonly keys: SigningKeyInfo[] = [];
  private readonly privates = new Map<string, KeyObject>();
  private readonly dir: string | null;

  constructor(private readonly store: Store, dataDir: string | null) {
    this.dir = dataDir ? join(dataDir, "cloudtrail-keys") : null;
    for (const k of store.all<SigningKeyInfo>(KIND)) this.keys.push({ ...k, publicDer: Buffer.from(k.publicDer) });
    this.keys.sort((a, b) => a.validityStartMs - b.validityStartMs);
  }

  private privateKey(k: SigningKeyInfo): KeyObject | undefined {
    const id = `${k.region}/${k.fingerprint}`;
    let p = this.privates.get(id);
    if (!p && this.dir) {
      const file = join(this.dir, `${k.region}_${k.fingerprint}.pem`);
      if (existsSync(file)) {
        p = createPrivateKey(readFileSync(file));
        this.privates.set(id, p);
      }
    }
    return p;
  }

  /** The key that signs in `region` at `nowMs`; makes a new one (and returns its writes) when none is valid. */
  current(region: string, nowMs: number): { key: SigningKeyInfo; privateKey: KeyObject; writes: WriteOp[] } {
    for (let i = this.keys.length - 1; i >= 0; i--) {
      const k = this.keys[i];
      if (k.region !== region || k.validityStartMs > nowMs || k.validityEndMs <= nowMs) continue;
      const p = this.privateKey(k);
      if (p) return { key: k, privateKey: p, writes: [] };
    }
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, publicExponent: 0x10001 });
    const publicDer = publicKey.export({ type: "pkcs1", format: "der" });
    const key: SigningKeyInfo = {
      region,
      fingerprint: createHash("md5").update(publicDer).digest("hex"),
      publicDer,
      validityStartMs: nowMs,
      validityEndMs: nowMs + KEY_VALIDITY_MS,
    };
    if (this.dir) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      chmodSync(this.dir, 0o700);
      const file = join(this.dir, `${region}_${key.fingerprint}.pem`);
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
      renameSync(tmp, file);
    }
    this.privates.set(`${region}/${key.fingerprint}`, privateKey);
    this.keys.push(key);
    return { key, privateKey, writes: [this.store.put(KIND, `${region}/${key.fingerprint}`, key)] };
  }

  /** Keys of `region` whose validity overlaps [startMs, endMs], oldest first. */
  inRange(region: string, startMs: number, endMs: number): SigningKeyInfo[] {
    return this.keys.filter((k) => k.region === region && k.validityStartMs <= endMs && k.validityEndMs >= startMs);
  }
}

/** SHA256withRSA (RSASSA-PKCS1-v1_5) over the UTF-8 signing string, hex. */
export function signDigest(signingString: string, privateKey: KeyObject): string {
  return sign("sha256", Buffer.from(signingString, "utf8"), privateKey).toString("hex");
}

/** The exact string CloudTrail signs (and `aws cloudtrail validate-logs` verifies). */
export function digestSigningString(d: { digestEndTime: string; digestS3Bucket: string; digestS3Object: string; previousDigestSignature: string | null }, uncompressed: Buffer): string {
  const hash = createHash("sha256").update(uncompressed).digest("hex");
  return `${d.digestEndTime}\n${d.digestS3Bucket}/${d.digestS3Object}\n${hash}\n${d.previousDigestSignature ?? "null"}`;
}
