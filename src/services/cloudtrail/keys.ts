/**
 * The per-region RSA key pairs that sign digest files. A key signs for 30 days, then a new one
 * is made; ListPublicKeys returns every key whose validity overlaps the asked range, as DER
 * PKCS#1 RSAPublicKey with its fingerprint (MD5 of that DER, 32 hex: the value digests carry
 * in digestPublicKeyFingerprint). Public halves are store entities; private keys are kept
 * sealed (src/store/sealing.ts, bound to their Region and fingerprint) under the data dir's
 * checked `cloudtrail.key` (src/store/key-file.ts), one file of mode 0600 each in
 * `<data dir>/cloudtrail-keys/` (directory 0700), or in memory without a data dir. A PEM file an
 * older version left there is sealed and removed the first time it is used.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { createKeyFile, lazyCheckedKey, writePrivateFile } from "../../store/key-file.ts";
import { openBlob, sealBlob } from "../../store/sealing.ts";
import type { Store, WriteOp } from "../../store/store.ts";

export const SIGNING_SEAL_KEY_FILE = "cloudtrail.key";
const SEALED_SUFFIX = ".key.sealed";
const SEAL_VERSION = 0x01;

const sealAad = (region: string, fingerprint: string) => `cloudtrail-signing-key|${region}|${fingerprint}`;

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
  private readonly sealKey: (() => Buffer) | null;

  constructor(
    private readonly store: Store,
    dataDir: string | null,
  ) {
    this.dir = dataDir ? join(dataDir, "cloudtrail-keys") : null;
    this.sealKey = dataDir ? this.loadSealKey(dataDir) : null;
    for (const k of store.all<SigningKeyInfo>(KIND)) this.keys.push({ ...k, publicDer: Buffer.from(k.publicDer) });
    this.keys.sort((a, b) => a.validityStartMs - b.validityStartMs);
  }

  private sealedFiles(): string[] {
    return this.dir && existsSync(this.dir) ? readdirSync(this.dir).filter((f) => f.endsWith(SEALED_SUFFIX)) : [];
  }

  private loadSealKey(dataDir: string): () => Buffer {
    return lazyCheckedKey({
      dataDir,
      fileName: SIGNING_SEAL_KEY_FILE,
      store: this.store,
      metaKey: "cloudtrail.signingKeySealCheck",
      protects: "CloudTrail digest signing keys",
      hasSealedData: () => this.sealedFiles().length > 0,
      create: () => createKeyFile(dataDir, SIGNING_SEAL_KEY_FILE),
    });
  }

  private sealedFile(region: string, fingerprint: string): string {
    return join(this.dir!, `${region}_${fingerprint}${SEALED_SUFFIX}`);
  }

  private savePrivate(region: string, fingerprint: string, privateKey: KeyObject): void {
    mkdirSync(this.dir!, { recursive: true, mode: 0o700 });
    chmodSync(this.dir!, 0o700);
    const der = privateKey.export({ type: "pkcs8", format: "der" });
    writePrivateFile(this.sealedFile(region, fingerprint), sealBlob(this.sealKey!(), der, sealAad(region, fingerprint), SEAL_VERSION));
  }

  private loadPrivate(k: SigningKeyInfo): KeyObject | undefined {
    const sealed = this.sealedFile(k.region, k.fingerprint);
    if (existsSync(sealed)) {
      const der = openBlob(this.sealKey!(), readFileSync(sealed), sealAad(k.region, k.fingerprint), SEAL_VERSION);
      return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    }
    const legacyPem = join(this.dir!, `${k.region}_${k.fingerprint}.pem`);
    if (!existsSync(legacyPem)) return undefined;
    const p = createPrivateKey(readFileSync(legacyPem));
    this.savePrivate(k.region, k.fingerprint, p);
    unlinkSync(legacyPem);
    return p;
  }

  private privateKey(k: SigningKeyInfo): KeyObject | undefined {
    const id = `${k.region}/${k.fingerprint}`;
    let p = this.privates.get(id);
    if (!p && this.dir) {
      p = this.loadPrivate(k);
      if (p) this.privates.set(id, p);
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
    if (this.dir) this.savePrivate(region, key.fingerprint, privateKey);
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
export function digestSigningString(
  d: { digestEndTime: string; digestS3Bucket: string; digestS3Object: string; previousDigestSignature: string | null },
  uncompressed: Buffer,
): string {
  const hash = createHash("sha256").update(uncompressed).digest("hex");
  return `${d.digestEndTime}\n${d.digestS3Bucket}/${d.digestS3Object}\n${hash}\n${d.previousDigestSignature ?? "null"}`;
}
