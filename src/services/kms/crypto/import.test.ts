import { execFileSync } from "node:child_process";
import { constants, createCipheriv, createPublicKey, generateKeyPairSync, publicEncrypt, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ServiceError } from "../../../kernel/errors.ts";
import { generateKeyMaterial, sign, verify } from "./asymmetric.ts";
import { materialIdHex, openSymmetric, sealSymmetric } from "./ciphertext.ts";
import {
  aesKeyUnwrapPad,
  aesKeyWrapPad,
  checkWrappingParameters,
  IMPORT_PARAMETERS_TTL_MS,
  importedMaterialId,
  newImportTokenId,
  newWrappingKeyPair,
  newWrappingKeyPairAsync,
  openImportToken,
  sealImportToken,
  unwrapKeyMaterial,
  validateImportedMaterial,
  type WrappingAlgorithm,
  type WrappingKeyPair,
  type WrappingKeySpec,
} from "./import.ts";

function caught(fn: () => unknown): ServiceError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    return e as ServiceError;
  }
  throw new Error("expected a ServiceError");
}

function expectInvalidCiphertext(fn: () => unknown): void {
  const e = caught(fn);
  expect(e.code).toBe("InvalidCiphertextException");
  expect(e.message).toBe("");
}

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

const SPECS: WrappingKeySpec[] = ["RSA_2048", "RSA_3072", "RSA_4096"];
const ALGORITHMS: WrappingAlgorithm[] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"];
const pairs = new Map<WrappingKeySpec, WrappingKeyPair>();

beforeAll(async () => {
  const generated = await Promise.all(SPECS.map((s) => newWrappingKeyPairAsync(s)));
  SPECS.forEach((s, i) => pairs.set(s, generated[i]));
});

/**
 * The client side, done with node:crypto exactly as the AWS docs tell users to do it with openssl:
 *   RSAES_OAEP_*:   openssl pkeyutl -encrypt -in material -inkey PublicKey.bin -keyform DER -pubin
 *                   -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:<md> -pkeyopt rsa_mgf1_md:<md>
 *   RSA_AES_*:      openssl rand -out aes-key.bin 32
 *                   openssl enc -id-aes256-wrap-pad -K <aes hex> -iv A65959A6 -in material -out m.bin
 *                   (the RSAES_OAEP step above on aes-key.bin) ; cat aes-key-wrapped.bin m.bin
 */
function clientWrap(publicKeyDer: Buffer, algorithm: WrappingAlgorithm, material: Buffer): Buffer {
  const pub = createPublicKey({ key: publicKeyDer, format: "der", type: "spki" });
  const md = algorithm.endsWith("SHA_1") ? "sha1" : "sha256";
  // node's oaepHash sets both the OAEP digest and the MGF1 digest (rsa_oaep_md + rsa_mgf1_md)
  const rsaOaep = (data: Buffer) => publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: md }, data);
  if (algorithm.startsWith("RSAES_OAEP")) return rsaOaep(material);
  const aesKey = randomBytes(32);
  const kwp = createCipheriv("id-aes256-wrap-pad", aesKey, Buffer.from("A65959A6", "hex"));
  const wrappedMaterial = Buffer.concat([kwp.update(material), kwp.final()]);
  return Buffer.concat([rsaOaep(aesKey), wrappedMaterial]);
}

describe("wrapping key pairs", () => {
  it("have the requested size and a DER SubjectPublicKeyInfo public key", () => {
    for (const spec of SPECS) {
      const p = pairs.get(spec)!;
      const pub = createPublicKey({ key: p.publicKeyDer, format: "der", type: "spki" });
      expect(pub.asymmetricKeyType).toBe("rsa");
      expect(pub.asymmetricKeyDetails!.modulusLength).toBe(Number(spec.slice(4)));
      expect(p.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    }
    expect(newWrappingKeyPair("RSA_2048").publicKeyDer.equals(pairs.get("RSA_2048")!.publicKeyDer)).toBe(false);
  });

  it("checks GetParametersForImport's algorithm and key spec", () => {
    expect(checkWrappingParameters("RSA_AES_KEY_WRAP_SHA_256", "RSA_4096")).toEqual({ algorithm: "RSA_AES_KEY_WRAP_SHA_256", keySpec: "RSA_4096" });
    for (const [alg, spec] of [
      ["RSAES_PKCS1_V1_5", "RSA_2048"],
      ["SM2PKE", "SM2"],
      ["RSAES_OAEP_SHA_256", "SM2"],
      ["RSAES_OAEP_SHA_512", "RSA_2048"],
      ["RSAES_OAEP_SHA_256", "RSA_1024"],
    ]) {
      expect(caught(() => checkWrappingParameters(alg, spec)).code).toBe("ValidationException");
    }
  });
});

describe("unwrapKeyMaterial: every algorithm × every wrapping key size", () => {
  for (const spec of SPECS) {
    for (const algorithm of ALGORITHMS) {
      it(`${algorithm} with ${spec}`, () => {
        const p = pairs.get(spec)!;
        const material = randomBytes(32);
        const wrapped = clientWrap(p.publicKeyDer, algorithm, material);
        // PEM and DER forms of the private key both work
        expect(unwrapKeyMaterial(p.privateKeyPem, algorithm, wrapped).equals(material)).toBe(true);
        expect(unwrapKeyMaterial(p.privateKeyDer, algorithm, wrapped).equals(material)).toBe(true);
        expect(validateImportedMaterial("SYMMETRIC_DEFAULT", unwrapKeyMaterial(p.privateKeyPem, algorithm, wrapped)).equals(material)).toBe(true);

        // the other hash, the other family, another key pair, tampering and truncation all fail
        const otherHash = algorithm.replace(/SHA_(1|256)$/, (_m, h) => (h === "1" ? "SHA_256" : "SHA_1"));
        expectInvalidCiphertext(() => unwrapKeyMaterial(p.privateKeyPem, otherHash, wrapped));
        const otherFamily = algorithm.startsWith("RSAES") ? algorithm.replace("RSAES_OAEP", "RSA_AES_KEY_WRAP") : algorithm.replace("RSA_AES_KEY_WRAP", "RSAES_OAEP");
        expectInvalidCiphertext(() => unwrapKeyMaterial(p.privateKeyPem, otherFamily, wrapped));
        const other = pairs.get(spec === "RSA_2048" ? "RSA_3072" : "RSA_2048")!;
        expectInvalidCiphertext(() => unwrapKeyMaterial(other.privateKeyPem, algorithm, wrapped));
        for (const i of [0, wrapped.length >> 1, wrapped.length - 1]) {
          const t = Buffer.from(wrapped);
          t[i] ^= 0x20;
          expectInvalidCiphertext(() => unwrapKeyMaterial(p.privateKeyPem, algorithm, t));
        }
        for (const n of [0, 1, wrapped.length - 8, wrapped.length - 1]) {
          expectInvalidCiphertext(() => unwrapKeyMaterial(p.privateKeyPem, algorithm, wrapped.subarray(0, n)));
        }
      });
    }
  }

  it("RSA_AES wraps material too large for plain OAEP (an RSA private key, a P-521 key) and rejects short AES keys", () => {
    const p = pairs.get("RSA_2048")!;
    for (const keySpec of ["RSA_2048", "ECC_NIST_P521"]) {
      const pkcs8 = generateKeyMaterial(keySpec);
      expect(() => clientWrap(p.publicKeyDer, "RSAES_OAEP_SHA_256", pkcs8)).toThrow();
      const wrapped = clientWrap(p.publicKeyDer, "RSA_AES_KEY_WRAP_SHA_256", pkcs8);
      const unwrapped = unwrapKeyMaterial(p.privateKeyPem, "RSA_AES_KEY_WRAP_SHA_256", wrapped);
      expect(validateImportedMaterial(keySpec, unwrapped).equals(pkcs8)).toBe(true);
    }
    // an AES-128 ephemeral key is not the documented 256-bit one
    const pub = createPublicKey({ key: p.publicKeyDer, format: "der", type: "spki" });
    const aes128 = randomBytes(16);
    const c = createCipheriv("id-aes128-wrap-pad", aes128, Buffer.from("A65959A6", "hex"));
    const blob = Buffer.concat([publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, aes128), c.update(randomBytes(32)), c.final()]);
    expectInvalidCiphertext(() => unwrapKeyMaterial(p.privateKeyPem, "RSA_AES_KEY_WRAP_SHA_256", blob));
  });

  it("RFC 5649 helpers round-trip with the right sizes; node's KWP reproduces the RFC 5649 test vector", () => {
    const kek = randomBytes(32);
    for (const n of [1, 7, 8, 20, 32, 100]) {
      const m = randomBytes(n);
      const w = aesKeyWrapPad(kek, m);
      expect(w.length).toBe(8 + Math.ceil(n / 8) * 8);
      expect(aesKeyUnwrapPad(kek, w).equals(m)).toBe(true);
    }
    // the RFC 5649 vector for a 20-byte key under a 192-bit KEK
    const kek192 = Buffer.from("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8", "hex");
    const c = createCipheriv("id-aes192-wrap-pad", kek192, Buffer.from("A65959A6", "hex"));
    const out = Buffer.concat([c.update(Buffer.from("c37b7e6492584340bed12207808941155068f738", "hex")), c.final()]);
    expect(out.toString("hex")).toBe("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
  });

  it.runIf(hasOpenssl())("unwraps what the openssl CLI produces with the AWS recipe (RSA_AES_KEY_WRAP_SHA_256 and RSAES_OAEP_SHA_1)", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-import-"));
    const f = (n: string) => join(dir, n);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    try {
      const p = pairs.get("RSA_3072")!;
      writeFileSync(f("WrappingPublicKey.bin"), p.publicKeyDer);

      // 1) RSA_AES_KEY_WRAP_SHA_256 of an ECC_NIST_P384 private key (PKCS#8 DER), step by step as documented
      const pkcs8 = generateKeyMaterial("ECC_NIST_P384");
      writeFileSync(f("PlaintextKeyMaterial.der"), pkcs8);
      openssl("rand", "-out", f("aes-key.bin"), "32");
      const aesHex = readFileSync(f("aes-key.bin")).toString("hex");
      openssl("enc", "-id-aes256-wrap-pad", "-K", aesHex, "-iv", "A65959A6", "-in", f("PlaintextKeyMaterial.der"), "-out", f("key-material-wrapped.bin"));
      openssl(
        "pkeyutl",
        "-encrypt",
        "-in",
        f("aes-key.bin"),
        "-out",
        f("aes-key-wrapped.bin"),
        "-inkey",
        f("WrappingPublicKey.bin"),
        "-keyform",
        "DER",
        "-pubin",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha256",
        "-pkeyopt",
        "rsa_mgf1_md:sha256",
      );
      const encrypted = Buffer.concat([readFileSync(f("aes-key-wrapped.bin")), readFileSync(f("key-material-wrapped.bin"))]);
      const material = validateImportedMaterial("ECC_NIST_P384", unwrapKeyMaterial(p.privateKeyPem, "RSA_AES_KEY_WRAP_SHA_256", encrypted));
      expect(material.equals(pkcs8)).toBe(true);
      // and the imported key signs
      const d = Buffer.alloc(48, 7);
      expect(verify("ECC_NIST_P384", material, d, "DIGEST", "ECDSA_SHA_384", sign("ECC_NIST_P384", material, d, "DIGEST", "ECDSA_SHA_384"))).toBe(true);

      // 2) RSAES_OAEP_SHA_1 of a 256-bit symmetric key
      const sym = randomBytes(32);
      writeFileSync(f("PlaintextKeyMaterial.bin"), sym);
      openssl(
        "pkeyutl",
        "-encrypt",
        "-in",
        f("PlaintextKeyMaterial.bin"),
        "-out",
        f("EncryptedKeyMaterial.bin"),
        "-inkey",
        f("WrappingPublicKey.bin"),
        "-keyform",
        "DER",
        "-pubin",
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        "rsa_oaep_md:sha1",
        "-pkeyopt",
        "rsa_mgf1_md:sha1",
      );
      expect(unwrapKeyMaterial(p.privateKeyPem, "RSAES_OAEP_SHA_1", readFileSync(f("EncryptedKeyMaterial.bin"))).equals(sym)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("validateImportedMaterial", () => {
  const incorrect = (fn: () => unknown) => expect(caught(fn).code).toBe("IncorrectKeyMaterialException");

  it("requires exactly 256 bits for symmetric keys", () => {
    expect(validateImportedMaterial("SYMMETRIC_DEFAULT", Buffer.alloc(32, 1)).length).toBe(32);
    for (const n of [0, 16, 24, 31, 33, 64]) incorrect(() => validateImportedMaterial("SYMMETRIC_DEFAULT", randomBytes(n)));
  });

  it("enforces the HMAC length ranges", () => {
    expect(validateImportedMaterial("HMAC_224", randomBytes(28)).length).toBe(28);
    expect(validateImportedMaterial("HMAC_224", randomBytes(64)).length).toBe(64);
    incorrect(() => validateImportedMaterial("HMAC_224", randomBytes(27)));
    incorrect(() => validateImportedMaterial("HMAC_256", randomBytes(31)));
    incorrect(() => validateImportedMaterial("HMAC_256", randomBytes(65)));
    expect(validateImportedMaterial("HMAC_512", randomBytes(128)).length).toBe(128);
    incorrect(() => validateImportedMaterial("HMAC_512", randomBytes(63)));
  });

  it("requires a PKCS#8 private key of the key's own spec", () => {
    const p256 = generateKeyMaterial("ECC_NIST_P256");
    expect(validateImportedMaterial("ECC_NIST_P256", p256).equals(p256)).toBe(true);
    incorrect(() => validateImportedMaterial("ECC_NIST_P384", p256));
    incorrect(() => validateImportedMaterial("ECC_SECG_P256K1", p256));
    incorrect(() => validateImportedMaterial("RSA_2048", p256));
    incorrect(() => validateImportedMaterial("RSA_2048", randomBytes(32)));
    // a PKCS#1 (not PKCS#8) RSA key is refused
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    incorrect(() => validateImportedMaterial("RSA_2048", privateKey.export({ format: "der", type: "pkcs1" })));
    expect(validateImportedMaterial("RSA_2048", privateKey.export({ format: "der", type: "pkcs8" })).length).toBeGreaterThan(1000);
    incorrect(() => validateImportedMaterial("SM2", p256));
  });
});

describe("importedMaterialId", () => {
  it("is 32 bytes, stable for the same key and material, different otherwise", () => {
    const m = randomBytes(32);
    const a = importedMaterialId("1234abcd-12ab-34cd-56ef-1234567890ab", m);
    expect(a.length).toBe(32);
    expect(materialIdHex(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(importedMaterialId("1234abcd-12ab-34cd-56ef-1234567890ab", Buffer.from(m)).equals(a)).toBe(true);
    expect(importedMaterialId("0000abcd-12ab-34cd-56ef-1234567890ab", m).equals(a)).toBe(false);
    expect(importedMaterialId("1234abcd-12ab-34cd-56ef-1234567890ab", randomBytes(32)).equals(a)).toBe(false);
  });

  it("works as the material id in ciphertexts of imported keys", () => {
    const arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const m = randomBytes(32);
    const blob = sealSymmetric(arn, importedMaterialId("1234abcd-12ab-34cd-56ef-1234567890ab", m), m, Buffer.from("byok"));
    expect(openSymmetric(blob, m).toString()).toBe("byok");
  });
});

describe("import tokens", () => {
  const secret = randomBytes(32);
  const keyArn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  const now = 1_700_000_000_000;
  const payload = {
    tokenId: newImportTokenId(),
    keyArn,
    wrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256",
    wrappingKeySpec: "RSA_4096",
    validTo: now + IMPORT_PARAMETERS_TTL_MS,
  };

  it("round-trips and is opaque and small", () => {
    const token = sealImportToken(secret, payload);
    expect(token.length).toBeLessThanOrEqual(6144);
    expect(token.includes(Buffer.from(keyArn))).toBe(false);
    expect(openImportToken(secret, token, { keyArn, now })).toEqual(payload);
    expect(openImportToken(secret, token, { keyArn, now: payload.validTo })).toEqual(payload);
    expect(payload.tokenId).toMatch(/^[0-9a-f]{32}$/);
    expect(sealImportToken(secret, payload).equals(token)).toBe(false);
  });

  it("is invalid for another key, another server secret, any modification or truncation", () => {
    const token = sealImportToken(secret, payload);
    const invalid = (fn: () => unknown) => {
      const e = caught(fn);
      expect(e.code).toBe("InvalidImportTokenException");
      expect(e.status).toBe(400);
    };
    invalid(() => openImportToken(secret, token, { keyArn: keyArn.replace("1234abcd", "0000abcd"), now }));
    invalid(() => openImportToken(randomBytes(32), token, { keyArn, now }));
    for (let i = 0; i < token.length; i++) {
      const t = Buffer.from(token);
      t[i] ^= 0x01;
      invalid(() => openImportToken(secret, t, { keyArn, now }));
    }
    for (let n = 0; n < token.length; n++) invalid(() => openImportToken(secret, token.subarray(0, n), { keyArn, now }));
    invalid(() => openImportToken(secret, randomBytes(200), { keyArn, now }));
  });

  it("expires after ParametersValidTo", () => {
    const token = sealImportToken(secret, payload);
    const e = caught(() => openImportToken(secret, token, { keyArn, now: payload.validTo + 1 }));
    expect(e.code).toBe("ExpiredImportTokenException");
    expect(e.status).toBe(400);
  });
});
