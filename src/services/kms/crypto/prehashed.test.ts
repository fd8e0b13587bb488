import { constants, createECDH, createHash, createSign, createVerify, generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  CURVES,
  ecdsaSignDigest,
  ecdsaVerifyDigest,
  isOnCurve,
  rsaPkcs1SignDigest,
  rsaPkcs1VerifyDigest,
  rsaPssSignDigest,
  rsaPssVerifyDigest,
  scalarMultBase,
  type CurveName,
} from "./prehashed.ts";

const NODE_CURVE: Record<CurveName, string> = { "P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1", secp256k1: "secp256k1" };

describe("curve constants", () => {
  for (const name of Object.keys(CURVES) as CurveName[]) {
    it(`${name}: G on the curve, n·G = ∞, k·G equals node's`, () => {
      const c = CURVES[name];
      expect(isOnCurve(name, c.gx, c.gy)).toBe(true);
      expect(scalarMultBase(name, c.n)).toBeUndefined();
      for (let i = 0; i < 3; i++) {
        const kBytes = randomBytes(c.size);
        const k = (BigInt("0x" + kBytes.toString("hex")) % (c.n - 1n)) + 1n;
        const ecdh = createECDH(NODE_CURVE[name]);
        ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(c.size * 2, "0"), "hex"));
        const pub = ecdh.getPublicKey();
        const mine = scalarMultBase(name, k)!;
        expect(mine.x).toBe(BigInt("0x" + pub.subarray(1, 1 + c.size).toString("hex")));
        expect(mine.y).toBe(BigInt("0x" + pub.subarray(1 + c.size).toString("hex")));
        expect(isOnCurve(name, mine.x, mine.y)).toBe(true);
      }
    });
  }
});

describe("ECDSA over a digest", () => {
  it("truncates digests longer than the order like OpenSSL does (P-256 with SHA-512)", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const msg = Buffer.from("truncate");
    const digest = createHash("sha512").update(msg).digest();
    const sig = ecdsaSignDigest(privateKey, digest);
    expect(createVerify("sha512").update(msg).verify(publicKey, sig)).toBe(true);
    const native = createSign("sha512").update(msg).sign(privateKey);
    expect(ecdsaVerifyDigest(publicKey, digest, native)).toBe(true);
  });

  it("verifies with the private key object too (public half is derived)", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
    const d = createHash("sha256").update("x").digest();
    expect(ecdsaVerifyDigest(privateKey, d, ecdsaSignDigest(privateKey, d))).toBe(true);
  });
});

describe("RSA over a digest", () => {
  it("handles a modulus whose bit length is ≡ 1 mod 8 (emLen < k) for PSS", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1025 });
    const msg = Buffer.from("odd modulus");
    const digest = createHash("sha256").update(msg).digest();
    for (let i = 0; i < 5; i++) {
      const sig = rsaPssSignDigest(privateKey, "sha256", digest);
      expect(privateKey.asymmetricKeyDetails!.modulusLength).toBe(1025);
      expect(sig.length).toBe(129);
      expect(createVerify("sha256").update(msg).verify({ key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig)).toBe(true);
      expect(rsaPssVerifyDigest(publicKey, "sha256", digest, sig)).toBe(true);
    }
    const native = createSign("sha256").update(msg).sign({ key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    expect(rsaPssVerifyDigest(publicKey, "sha256", digest, native)).toBe(true);
    const p1 = rsaPkcs1SignDigest(privateKey, "sha256", digest);
    expect(createVerify("sha256").update(msg).verify(publicKey, p1)).toBe(true);
    expect(rsaPkcs1VerifyDigest(publicKey, "sha256", digest, p1)).toBe(true);
  });

  it("rejects PKCS#1 v1.5 signatures over another hash's DigestInfo", () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const d512 = createHash("sha512").update("m").digest();
    const sig = rsaPkcs1SignDigest(privateKey, "sha512", d512);
    expect(rsaPkcs1VerifyDigest(publicKey, "sha512", d512, sig)).toBe(true);
    // same 64 bytes claimed as the first 64 of nothing else: other hash → different DigestInfo
    expect(rsaPkcs1VerifyDigest(publicKey, "sha384", d512.subarray(0, 48), sig)).toBe(false);
    expect(rsaPssVerifyDigest(publicKey, "sha512", d512, sig)).toBe(false);
    expect(rsaPkcs1VerifyDigest(publicKey, "sha512", d512, Buffer.alloc(256, 0xff))).toBe(false);
  });
});
