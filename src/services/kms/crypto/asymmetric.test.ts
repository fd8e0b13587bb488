import { execFileSync } from "node:child_process";
import { constants, createHash, createHmac, createPrivateKey, createPublicKey, createSign, createVerify, publicEncrypt, randomBytes, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ServiceError } from "../../../kernel/errors.ts";
import {
  generateKeyMaterial,
  generateKeyMaterialAsync,
  generateMac,
  keySpecInfo,
  metadataAlgorithms,
  privateKeyMatchesSpec,
  publicKeyDer,
  resolveKeyUsage,
  rsaDecrypt,
  rsaEncrypt,
  rsaMaxPlaintext,
  sign,
  SUPPORTED_KEY_SPECS,
  verify,
  verifyMac,
  type SigningAlgorithm,
} from "./asymmetric.ts";
import { derSignature, parseDerSignature } from "./prehashed.ts";

function caught(fn: () => unknown): ServiceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    return e as ServiceError;
  }
  throw new Error("expected a ServiceError");
}

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

const SIGNING_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1"] as const;
const material = new Map<string, Buffer>();

beforeAll(async () => {
  // one key per spec, generated in parallel on the thread pool
  const all = await Promise.all(SIGNING_SPECS.map((s) => generateKeyMaterialAsync(s)));
  SIGNING_SPECS.forEach((s, i) => material.set(s, all[i]));
});

describe("keySpecInfo and KeyMetadata algorithms", () => {
  it("covers exactly the supported specs (no SM2)", () => {
    expect([...SUPPORTED_KEY_SPECS].sort()).toEqual(
      [
        "SYMMETRIC_DEFAULT",
        "RSA_2048",
        "RSA_3072",
        "RSA_4096",
        "ECC_NIST_P256",
        "ECC_NIST_P384",
        "ECC_NIST_P521",
        "ECC_SECG_P256K1",
        "HMAC_224",
        "HMAC_256",
        "HMAC_384",
        "HMAC_512",
      ].sort(),
    );
    expect(keySpecInfo("SM2")).toBeUndefined();
    expect(keySpecInfo("toString")).toBeUndefined();
  });

  it("lists usages and algorithms as AWS does", () => {
    expect(keySpecInfo("SYMMETRIC_DEFAULT")!.usages).toEqual(["ENCRYPT_DECRYPT"]);
    expect(keySpecInfo("RSA_3072")!.usages).toEqual(["ENCRYPT_DECRYPT", "SIGN_VERIFY"]);
    expect(keySpecInfo("ECC_NIST_P384")!.usages).toEqual(["SIGN_VERIFY", "KEY_AGREEMENT"]);
    expect(keySpecInfo("ECC_SECG_P256K1")!.usages).toEqual(["SIGN_VERIFY"]);
    expect(keySpecInfo("HMAC_384")!.usages).toEqual(["GENERATE_VERIFY_MAC"]);
    expect(metadataAlgorithms("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")).toEqual({ EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"] });
    expect(metadataAlgorithms("RSA_2048", "ENCRYPT_DECRYPT")).toEqual({ EncryptionAlgorithms: ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] });
    expect(metadataAlgorithms("RSA_4096", "SIGN_VERIFY")).toEqual({
      SigningAlgorithms: ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"],
    });
    expect(metadataAlgorithms("ECC_NIST_P256", "SIGN_VERIFY")).toEqual({ SigningAlgorithms: ["ECDSA_SHA_256"] });
    expect(metadataAlgorithms("ECC_NIST_P384", "SIGN_VERIFY")).toEqual({ SigningAlgorithms: ["ECDSA_SHA_384"] });
    expect(metadataAlgorithms("ECC_NIST_P521", "SIGN_VERIFY")).toEqual({ SigningAlgorithms: ["ECDSA_SHA_512"] });
    expect(metadataAlgorithms("ECC_SECG_P256K1", "SIGN_VERIFY")).toEqual({ SigningAlgorithms: ["ECDSA_SHA_256"] });
    expect(metadataAlgorithms("ECC_NIST_P256", "KEY_AGREEMENT")).toEqual({ KeyAgreementAlgorithms: ["ECDH"] });
    expect(metadataAlgorithms("HMAC_224", "GENERATE_VERIFY_MAC")).toEqual({ MacAlgorithms: ["HMAC_SHA_224"] });
    expect(metadataAlgorithms("HMAC_512", "GENERATE_VERIFY_MAC")).toEqual({ MacAlgorithms: ["HMAC_SHA_512"] });
  });

  it("resolves CreateKey's KeyUsage", () => {
    expect(resolveKeyUsage("SYMMETRIC_DEFAULT", undefined)).toBe("ENCRYPT_DECRYPT");
    expect(resolveKeyUsage("RSA_2048", "SIGN_VERIFY")).toBe("SIGN_VERIFY");
    const e = caught(() => resolveKeyUsage("HMAC_256", undefined));
    expect(e.code).toBe("ValidationException");
    expect(e.message).toBe("You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.");
    expect(caught(() => resolveKeyUsage("ECC_SECG_P256K1", "ENCRYPT_DECRYPT")).code).toBe("ValidationException");
    expect(caught(() => resolveKeyUsage("HMAC_256", "SIGN_VERIFY")).code).toBe("ValidationException");
    expect(caught(() => resolveKeyUsage("SM2", "SIGN_VERIFY")).code).toBe("ValidationException");
  });
});

describe("generateKeyMaterial / publicKeyDer", () => {
  it("makes raw keys of the right size for symmetric and HMAC specs", () => {
    expect(generateKeyMaterial("SYMMETRIC_DEFAULT").length).toBe(32);
    expect(generateKeyMaterial("HMAC_224").length).toBe(28);
    expect(generateKeyMaterial("HMAC_256").length).toBe(32);
    expect(generateKeyMaterial("HMAC_384").length).toBe(48);
    expect(generateKeyMaterial("HMAC_512").length).toBe(64);
    expect(generateKeyMaterial("HMAC_256").equals(generateKeyMaterial("HMAC_256"))).toBe(false);
  });

  it("makes PKCS#8 private keys of the right type and size", () => {
    const expected: Record<string, [string, number | string]> = {
      RSA_2048: ["rsa", 2048],
      RSA_3072: ["rsa", 3072],
      RSA_4096: ["rsa", 4096],
      ECC_NIST_P256: ["ec", "prime256v1"],
      ECC_NIST_P384: ["ec", "secp384r1"],
      ECC_NIST_P521: ["ec", "secp521r1"],
      ECC_SECG_P256K1: ["ec", "secp256k1"],
    };
    for (const spec of SIGNING_SPECS) {
      const key = createPrivateKey({ key: material.get(spec)!, format: "der", type: "pkcs8" });
      const [type, size] = expected[spec];
      expect(key.asymmetricKeyType).toBe(type);
      expect(type === "rsa" ? key.asymmetricKeyDetails!.modulusLength : key.asymmetricKeyDetails!.namedCurve).toBe(size);
      expect(privateKeyMatchesSpec(spec, material.get(spec)!)).toBe(true);
    }
    // the sync generator too
    expect(privateKeyMatchesSpec("ECC_NIST_P256", generateKeyMaterial("ECC_NIST_P256"))).toBe(true);
    expect(privateKeyMatchesSpec("RSA_3072", material.get("RSA_2048")!)).toBe(false);
    expect(privateKeyMatchesSpec("ECC_NIST_P256", material.get("ECC_SECG_P256K1")!)).toBe(false);
    expect(privateKeyMatchesSpec("ECC_NIST_P256", randomBytes(100))).toBe(false);
  });

  it("returns the public key as DER SubjectPublicKeyInfo", () => {
    for (const spec of SIGNING_SPECS) {
      const der = publicKeyDer(spec, material.get(spec)!);
      expect(der[0]).toBe(0x30);
      const pub = createPublicKey({ key: der, format: "der", type: "spki" });
      const priv = createPrivateKey({ key: material.get(spec)!, format: "der", type: "pkcs8" });
      expect(pub.export({ format: "jwk" })).toEqual(createPublicKey(priv).export({ format: "jwk" }));
    }
    expect(caught(() => publicKeyDer("HMAC_256", randomBytes(32))).status).toBe(500);
  });

  it.runIf(hasOpenssl())("produces a public key openssl reads with -pubin -inform DER", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-spki-"));
    try {
      for (const spec of ["RSA_2048", "ECC_SECG_P256K1"]) {
        const file = join(dir, `${spec}.der`);
        writeFileSync(file, publicKeyDer(spec, material.get(spec)!));
        const out = execFileSync("openssl", ["pkey", "-pubin", "-inform", "DER", "-in", file, "-text", "-noout"]).toString();
        expect(out).toMatch(spec === "RSA_2048" ? /Public-Key: \(2048 bit\)/ : /secp256k1/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const ALGS: Record<(typeof SIGNING_SPECS)[number], SigningAlgorithm[]> = {
  RSA_2048: ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"],
  RSA_3072: ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"],
  RSA_4096: ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"],
  ECC_NIST_P256: ["ECDSA_SHA_256"],
  ECC_NIST_P384: ["ECDSA_SHA_384"],
  ECC_NIST_P521: ["ECDSA_SHA_512"],
  ECC_SECG_P256K1: ["ECDSA_SHA_256"],
};

const hashOf = (alg: string) => `sha${alg.slice(-3)}`;

/** Verification options exactly as an outside verifier would use them (independent of our code). */
function outsideVerifierKey(spec: string, alg: string): { key: KeyObject; padding?: number; saltLength?: number } {
  const key = createPublicKey({ key: publicKeyDer(spec, material.get(spec)!), format: "der", type: "spki" });
  if (alg.startsWith("RSASSA_PSS")) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(-3)) / 8 };
  if (alg.startsWith("RSASSA_PKCS1")) return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key };
}

describe("sign / verify", () => {
  for (const spec of SIGNING_SPECS) {
    for (const alg of ALGS[spec]) {
      it(`${spec} ${alg}: RAW and DIGEST agree with an independent verifier`, () => {
        const m = material.get(spec)!;
        const message = randomBytes(777);
        const digest = createHash(hashOf(alg)).update(message).digest();
        const outside = outsideVerifierKey(spec, alg);

        const rawSig = sign(spec, m, message, "RAW", alg);
        const digestSig = sign(spec, m, digest, "DIGEST", alg);
        for (const sig of [rawSig, digestSig]) {
          // our verify, both message types
          expect(verify(spec, m, message, "RAW", alg, sig)).toBe(true);
          expect(verify(spec, m, digest, "DIGEST", alg, sig)).toBe(true);
          // node's createVerify on the RAW message with the SPKI public key
          expect(createVerify(hashOf(alg)).update(message).verify(outside, sig)).toBe(true);
        }
        // a signature made by node's createSign verifies through our DIGEST path
        const privateKey = createPrivateKey({ key: m, format: "der", type: "pkcs8" });
        const nativeSig = createSign(hashOf(alg))
          .update(message)
          .sign({ ...outside, key: privateKey });
        expect(verify(spec, m, digest, "DIGEST", alg, nativeSig)).toBe(true);

        // wrong message / digest / signature
        const otherMessage = Buffer.concat([message, Buffer.from([0])]);
        const otherDigest = Buffer.from(digest);
        otherDigest[0] ^= 1;
        for (const sig of [rawSig, digestSig]) {
          expect(verify(spec, m, otherMessage, "RAW", alg, sig)).toBe(false);
          expect(verify(spec, m, otherDigest, "DIGEST", alg, sig)).toBe(false);
          // a digest passed as RAW is hashed again: a different message
          expect(verify(spec, m, digest, "RAW", alg, sig)).toBe(false);
          for (const i of [0, sig.length >> 1, sig.length - 1]) {
            const bad = Buffer.from(sig);
            bad[i] ^= 0x04;
            expect(verify(spec, m, message, "RAW", alg, bad)).toBe(false);
            expect(verify(spec, m, digest, "DIGEST", alg, bad)).toBe(false);
          }
          expect(verify(spec, m, digest, "DIGEST", alg, sig.subarray(1))).toBe(false);
          expect(verify(spec, m, digest, "DIGEST", alg, Buffer.alloc(0))).toBe(false);
        }
      });
    }
  }

  it("RSA signatures are modulus-sized; PKCS#1 v1.5 is deterministic, PSS and ECDSA are not", () => {
    const m = material.get("RSA_3072")!;
    const d = createHash("sha256").update("x").digest();
    const a = sign("RSA_3072", m, d, "DIGEST", "RSASSA_PKCS1_V1_5_SHA_256");
    expect(a.length).toBe(384);
    expect(sign("RSA_3072", m, Buffer.from("x"), "RAW", "RSASSA_PKCS1_V1_5_SHA_256").equals(a)).toBe(true);
    const p1 = sign("RSA_3072", m, d, "DIGEST", "RSASSA_PSS_SHA_256");
    const p2 = sign("RSA_3072", m, d, "DIGEST", "RSASSA_PSS_SHA_256");
    expect(p1.length).toBe(384);
    expect(p1.equals(p2)).toBe(false);
    const e1 = sign("ECC_NIST_P256", material.get("ECC_NIST_P256")!, d, "DIGEST", "ECDSA_SHA_256");
    expect(e1.equals(sign("ECC_NIST_P256", material.get("ECC_NIST_P256")!, d, "DIGEST", "ECDSA_SHA_256"))).toBe(false);
  });

  it("a PSS signature with another salt length does not verify", () => {
    const m = material.get("RSA_2048")!;
    const priv = createPrivateKey({ key: m, format: "der", type: "pkcs8" });
    const msg = Buffer.from("salt");
    const sig = createSign("sha256").update(msg).sign({ key: priv, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 20 });
    expect(verify("RSA_2048", m, msg, "RAW", "RSASSA_PSS_SHA_256", sig)).toBe(false);
    expect(verify("RSA_2048", m, createHash("sha256").update(msg).digest(), "DIGEST", "RSASSA_PSS_SHA_256", sig)).toBe(false);
  });

  it("ECDSA signatures are strict DER", () => {
    const m = material.get("ECC_NIST_P384")!;
    const d = createHash("sha384").update("der").digest();
    const sig = sign("ECC_NIST_P384", m, d, "DIGEST", "ECDSA_SHA_384");
    const rs = parseDerSignature(sig)!;
    expect(derSignature(rs.r, rs.s).equals(sig)).toBe(true);
    // the same (r, s) with a padded, non-minimal integer encoding is rejected
    const rBytes = Buffer.from(rs.r.toString(16).padStart(96, "0"), "hex");
    const sBytes = Buffer.from(rs.s.toString(16).padStart(96, "0"), "hex");
    const loose = (b: Buffer) => Buffer.concat([Buffer.from([0x02, b.length + 1, 0]), b]);
    const body = Buffer.concat([loose(rBytes), loose(sBytes)]);
    const nonMinimal = Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]);
    if (rBytes[0] < 0x80 || sBytes[0] < 0x80) expect(parseDerSignature(nonMinimal)).toBeUndefined();
    expect(parseDerSignature(Buffer.concat([sig, Buffer.from([0])]))).toBeUndefined();
    expect(verify("ECC_NIST_P384", m, d, "DIGEST", "ECDSA_SHA_384", Buffer.concat([sig, Buffer.from([0])]))).toBe(false);
    for (let n = 0; n < 120; n++) expect(verify("ECC_NIST_P384", m, d, "DIGEST", "ECDSA_SHA_384", randomBytes(n))).toBe(false);
    // r = 0 or s = n are out of range
    expect(verify("ECC_NIST_P384", m, d, "DIGEST", "ECDSA_SHA_384", derSignature(0n, rs.s))).toBe(false);
  });

  it("rejects algorithms the key spec does not support (InvalidKeyUsageException, AWS text)", () => {
    const e = caught(() => sign("ECC_NIST_P256", material.get("ECC_NIST_P256")!, Buffer.from("m"), "RAW", "ECDSA_SHA_384"));
    expect(e.code).toBe("InvalidKeyUsageException");
    expect(e.message).toBe("Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.");
    expect(caught(() => sign("RSA_2048", material.get("RSA_2048")!, Buffer.from("m"), "RAW", "ECDSA_SHA_256")).code).toBe("InvalidKeyUsageException");
    expect(caught(() => verify("ECC_SECG_P256K1", material.get("ECC_SECG_P256K1")!, Buffer.from("m"), "RAW", "RSASSA_PSS_SHA_256", Buffer.alloc(64))).code).toBe(
      "InvalidKeyUsageException",
    );
  });

  it("validates DIGEST length and RAW size (ValidationException, AWS text)", () => {
    const m = material.get("RSA_2048")!;
    const e = caught(() => sign("RSA_2048", m, Buffer.alloc(31), "DIGEST", "RSASSA_PSS_SHA_256"));
    expect(e.code).toBe("ValidationException");
    expect(e.message).toBe("Digest is invalid length for algorithm RSASSA_PSS_SHA_256.");
    expect(caught(() => verify("RSA_2048", m, Buffer.alloc(32), "DIGEST", "RSASSA_PKCS1_V1_5_SHA_384", Buffer.alloc(256))).message).toBe(
      "Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_384.",
    );
    expect(verify("RSA_2048", m, Buffer.alloc(4096), "RAW", "RSASSA_PSS_SHA_256", sign("RSA_2048", m, Buffer.alloc(4096), "RAW", "RSASSA_PSS_SHA_256"))).toBe(true);
    const big = caught(() => sign("RSA_2048", m, Buffer.alloc(4097), "RAW", "RSASSA_PSS_SHA_256"));
    expect(big.code).toBe("ValidationException");
    expect(big.message).toBe("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
    expect(caught(() => sign("RSA_2048", m, Buffer.alloc(32), "HASHED", "RSASSA_PSS_SHA_256")).code).toBe("ValidationException");
  });
});

describe("RSA encrypt / decrypt (OAEP)", () => {
  const limits: Record<string, Record<string, number>> = {
    RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
    RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
    RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
  };
  for (const spec of ["RSA_2048", "RSA_3072", "RSA_4096"] as const) {
    for (const alg of ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] as const) {
      it(`${spec} ${alg}: round-trips up to the AWS limit and rejects one byte more`, () => {
        const m = material.get(spec)!;
        const max = limits[spec][alg];
        expect(rsaMaxPlaintext(spec, alg)).toBe(max);
        const pt = randomBytes(max);
        const ct = rsaEncrypt(spec, m, alg, pt);
        expect(ct.length).toBe(Number(spec.slice(4)) / 8);
        expect(rsaDecrypt(spec, m, alg, ct).equals(pt)).toBe(true);
        // ciphertext made outside with the SPKI public key decrypts
        const pub = createPublicKey({ key: publicKeyDer(spec, m), format: "der", type: "spki" });
        const outside = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: alg.endsWith("_1") ? "sha1" : "sha256" }, Buffer.from("hi"));
        expect(rsaDecrypt(spec, m, alg, outside).toString()).toBe("hi");
        const e = caught(() => rsaEncrypt(spec, m, alg, randomBytes(max + 1)));
        expect(e.code).toBe("ValidationException");
        expect(e.message).toBe(`Algorithm ${alg} and key spec ${spec} cannot encrypt data larger than ${max} bytes.`);
      });
    }
  }

  it("decrypting with the other OAEP hash, a tampered or a mis-sized ciphertext → InvalidCiphertextException", () => {
    const m = material.get("RSA_2048")!;
    const ct = rsaEncrypt("RSA_2048", m, "RSAES_OAEP_SHA_256", Buffer.from("secret"));
    const expectInvalid = (fn: () => unknown) => {
      const e = caught(fn);
      expect(e.code).toBe("InvalidCiphertextException");
      expect(e.message).toBe("");
    };
    expectInvalid(() => rsaDecrypt("RSA_2048", m, "RSAES_OAEP_SHA_1", ct));
    const bad = Buffer.from(ct);
    bad[100] ^= 1;
    expectInvalid(() => rsaDecrypt("RSA_2048", m, "RSAES_OAEP_SHA_256", bad));
    expectInvalid(() => rsaDecrypt("RSA_2048", m, "RSAES_OAEP_SHA_256", ct.subarray(1)));
    expectInvalid(() => rsaDecrypt("RSA_2048", m, "RSAES_OAEP_SHA_256", Buffer.alloc(256, 0xff)));
  });

  it("rejects symmetric and signing algorithms for RSA encryption", () => {
    const m = material.get("RSA_2048")!;
    expect(caught(() => rsaEncrypt("RSA_2048", m, "SYMMETRIC_DEFAULT", Buffer.from("x"))).message).toBe("Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");
    expect(caught(() => rsaEncrypt("ECC_NIST_P256", material.get("ECC_NIST_P256")!, "RSAES_OAEP_SHA_256", Buffer.from("x"))).code).toBe("InvalidKeyUsageException");
  });

  it.runIf(hasOpenssl())("uses MGF1 with the OAEP hash: openssl pkeyutl decrypts RSAES_OAEP_SHA_256", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-oaep-"));
    try {
      const m = material.get("RSA_2048")!;
      writeFileSync(join(dir, "key.der"), m);
      writeFileSync(join(dir, "ct.bin"), rsaEncrypt("RSA_2048", m, "RSAES_OAEP_SHA_256", Buffer.from("via openssl")));
      const out = execFileSync("openssl", [
        "pkeyutl",
        "-decrypt",
        "-in",
        join(dir, "ct.bin"),
        "-inkey",
        join(dir, "key.der"),
        "-keyform",
        "DER",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
      ]);
      expect(out.toString()).toBe("via openssl");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("HMAC", () => {
  // RFC 4231 test case 2
  const key = Buffer.from("Jefe");
  const data = Buffer.from("what do ya want for nothing?");
  const vectors: [string, string, string][] = [
    ["HMAC_224", "HMAC_SHA_224", "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"],
    ["HMAC_256", "HMAC_SHA_256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
    ["HMAC_384", "HMAC_SHA_384", "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"],
    ["HMAC_512", "HMAC_SHA_512", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"],
  ];
  for (const [spec, alg, hex] of vectors) {
    it(`${spec} ${alg}: RFC 4231 vector, verify, tamper`, () => {
      const mac = generateMac(spec, key, data, alg);
      expect(mac.toString("hex")).toBe(hex);
      expect(verifyMac(spec, key, data, alg, mac)).toBe(true);
      const bad = Buffer.from(mac);
      bad[bad.length - 1] ^= 1;
      expect(verifyMac(spec, key, data, alg, bad)).toBe(false);
      expect(verifyMac(spec, key, data, alg, mac.subarray(1))).toBe(false);
      expect(verifyMac(spec, key, Buffer.from("what do ya want for nothing!"), alg, mac)).toBe(false);
      const k2 = generateKeyMaterial(spec);
      expect(
        generateMac(spec, k2, data, alg).equals(
          createHmac(`sha${alg.slice(-3)}`, k2)
            .update(data)
            .digest(),
        ),
      ).toBe(true);
    });
  }

  it("rejects other algorithms and oversized messages with AWS's errors", () => {
    const e = caught(() => generateMac("HMAC_224", key, data, "HMAC_SHA_256"));
    expect(e.code).toBe("InvalidKeyUsageException");
    expect(e.message).toBe("Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224.");
    expect(caught(() => verifyMac("HMAC_256", key, data, "HMAC_SHA_512", Buffer.alloc(64))).message).toBe("Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.");
    expect(caught(() => generateMac("HMAC_256", key, Buffer.alloc(4097), "HMAC_SHA_256")).code).toBe("ValidationException");
    expect(generateMac("HMAC_256", key, Buffer.alloc(4096), "HMAC_SHA_256").length).toBe(32);
  });
});
