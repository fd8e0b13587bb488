/**
 * Key specs other than the symmetric default: what each supports (for KeyMetadata and for
 * request validation), key generation, GetPublicKey, Sign/Verify, asymmetric Encrypt/Decrypt and
 * GenerateMac/VerifyMac. Everything runs on node:crypto.
 *
 * Key material representation (what the store keeps, sealed under the root key):
 *   SYMMETRIC_DEFAULT  32 random bytes (AES-256-GCM key)
 *   HMAC_*             raw HMAC key bytes (generated: 28/32/48/64 bytes for 224/256/384/512)
 *   RSA_* / ECC_*      the private key as PKCS#8 DER
 *
 * Sign/Verify: RAW messages use node's native `crypto.sign/verify` with the algorithm's hash;
 * DIGEST messages use ./prehashed.ts (node cannot sign a pre-computed digest directly, see there).
 * RSASSA-PSS uses MGF1 with the same hash and a salt as long as the hash, as KMS specifies.
 * ECDSA signatures are DER-encoded (ASN.1 Ecdsa-Sig-Value), as KMS returns them.
 *
 * Errors with the texts AWS answers (docs/kms.md#error-texts):
 *   algorithm not supported by the key spec → InvalidKeyUsageException
 *       "Algorithm <alg> is incompatible with key spec <spec>."
 *   DIGEST of the wrong length → ValidationException "Digest is invalid length for algorithm <alg>."
 *   RSA plaintext too long → ValidationException
 *       "Algorithm <alg> and key spec <spec> cannot encrypt data larger than <n> bytes."
 *   RSA ciphertext that does not decrypt → InvalidCiphertextException (empty message)
 * Verify/VerifyMac return a boolean; the handlers turn false into KMSInvalidSignatureException /
 * KMSInvalidMacException with an empty message (as AWS does).
 */
import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  type KeyObject,
} from "node:crypto";
import { ServiceError } from "../../../kernel/errors.ts";
import { invalidCiphertext } from "./ciphertext.ts";
import { ecdsaSignDigest, ecdsaVerifyDigest, HASH_BYTES, rsaPkcs1SignDigest, rsaPkcs1VerifyDigest, rsaPssSignDigest, rsaPssVerifyDigest, type HashName } from "./prehashed.ts";

export type RsaKeySpec = "RSA_2048" | "RSA_3072" | "RSA_4096";
export type EccKeySpec = "ECC_NIST_P256" | "ECC_NIST_P384" | "ECC_NIST_P521" | "ECC_SECG_P256K1";
export type HmacKeySpec = "HMAC_224" | "HMAC_256" | "HMAC_384" | "HMAC_512";
export type SupportedKeySpec = "SYMMETRIC_DEFAULT" | RsaKeySpec | EccKeySpec | HmacKeySpec;
export type KeyUsage = "ENCRYPT_DECRYPT" | "SIGN_VERIFY" | "GENERATE_VERIFY_MAC" | "KEY_AGREEMENT";
export type SigningAlgorithm =
  | "RSASSA_PSS_SHA_256"
  | "RSASSA_PSS_SHA_384"
  | "RSASSA_PSS_SHA_512"
  | "RSASSA_PKCS1_V1_5_SHA_256"
  | "RSASSA_PKCS1_V1_5_SHA_384"
  | "RSASSA_PKCS1_V1_5_SHA_512"
  | "ECDSA_SHA_256"
  | "ECDSA_SHA_384"
  | "ECDSA_SHA_512";
export type EncryptionAlgorithm = "SYMMETRIC_DEFAULT" | "RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256";
export type MacAlgorithm = "HMAC_SHA_224" | "HMAC_SHA_256" | "HMAC_SHA_384" | "HMAC_SHA_512";
export type KeyAgreementAlgorithm = "ECDH";
export type MessageType = "RAW" | "DIGEST";

export interface KeySpecInfo {
  keySpec: SupportedKeySpec;
  kind: "symmetric" | "rsa" | "ecc" | "hmac";
  /** KeyUsage values CreateKey accepts for this spec; the first is not a default (only SYMMETRIC_DEFAULT has one) */
  usages: KeyUsage[];
  /** for KeyUsage ENCRYPT_DECRYPT */
  encryptionAlgorithms: EncryptionAlgorithm[];
  /** for KeyUsage SIGN_VERIFY */
  signingAlgorithms: SigningAlgorithm[];
  /** for KeyUsage GENERATE_VERIFY_MAC */
  macAlgorithms: MacAlgorithm[];
  /** for KeyUsage KEY_AGREEMENT */
  keyAgreementAlgorithms: KeyAgreementAlgorithm[];
  /** RSA modulus bits, EC curve (node name), or HMAC key length generated */
  rsaBits?: number;
  curve?: "prime256v1" | "secp384r1" | "secp521r1" | "secp256k1";
  hmacKeyBytes?: number;
}

/** AWS lists RSA signing algorithms in this order in KeyMetadata. */
const RSA_SIGNING: SigningAlgorithm[] = [
  "RSASSA_PKCS1_V1_5_SHA_256",
  "RSASSA_PKCS1_V1_5_SHA_384",
  "RSASSA_PKCS1_V1_5_SHA_512",
  "RSASSA_PSS_SHA_256",
  "RSASSA_PSS_SHA_384",
  "RSASSA_PSS_SHA_512",
];
const RSA_ENCRYPTION: EncryptionAlgorithm[] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];

function rsa(keySpec: RsaKeySpec, bits: number): KeySpecInfo {
  return {
    keySpec,
    kind: "rsa",
    usages: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
    encryptionAlgorithms: RSA_ENCRYPTION,
    signingAlgorithms: RSA_SIGNING,
    macAlgorithms: [],
    keyAgreementAlgorithms: [],
    rsaBits: bits,
  };
}

function ecc(keySpec: EccKeySpec, curve: KeySpecInfo["curve"], alg: SigningAlgorithm, keyAgreement: boolean): KeySpecInfo {
  return {
    keySpec,
    kind: "ecc",
    usages: keyAgreement ? ["SIGN_VERIFY", "KEY_AGREEMENT"] : ["SIGN_VERIFY"],
    encryptionAlgorithms: [],
    signingAlgorithms: [alg],
    macAlgorithms: [],
    keyAgreementAlgorithms: keyAgreement ? ["ECDH"] : [],
    curve,
  };
}

function hmac(keySpec: HmacKeySpec, alg: MacAlgorithm, bytes: number): KeySpecInfo {
  return {
    keySpec,
    kind: "hmac",
    usages: ["GENERATE_VERIFY_MAC"],
    encryptionAlgorithms: [],
    signingAlgorithms: [],
    macAlgorithms: [alg],
    keyAgreementAlgorithms: [],
    hmacKeyBytes: bytes,
  };
}

const SPECS: Record<SupportedKeySpec, KeySpecInfo> = {
  SYMMETRIC_DEFAULT: {
    keySpec: "SYMMETRIC_DEFAULT",
    kind: "symmetric",
    usages: ["ENCRYPT_DECRYPT"],
    encryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
    signingAlgorithms: [],
    macAlgorithms: [],
    keyAgreementAlgorithms: [],
  },
  RSA_2048: rsa("RSA_2048", 2048),
  RSA_3072: rsa("RSA_3072", 3072),
  RSA_4096: rsa("RSA_4096", 4096),
  ECC_NIST_P256: ecc("ECC_NIST_P256", "prime256v1", "ECDSA_SHA_256", true),
  ECC_NIST_P384: ecc("ECC_NIST_P384", "secp384r1", "ECDSA_SHA_384", true),
  ECC_NIST_P521: ecc("ECC_NIST_P521", "secp521r1", "ECDSA_SHA_512", true),
  ECC_SECG_P256K1: ecc("ECC_SECG_P256K1", "secp256k1", "ECDSA_SHA_256", false),
  HMAC_224: hmac("HMAC_224", "HMAC_SHA_224", 28),
  HMAC_256: hmac("HMAC_256", "HMAC_SHA_256", 32),
  HMAC_384: hmac("HMAC_384", "HMAC_SHA_384", 48),
  HMAC_512: hmac("HMAC_512", "HMAC_SHA_512", 64),
};

export const SUPPORTED_KEY_SPECS = Object.keys(SPECS) as SupportedKeySpec[];

/**
 * What a key spec supports; undefined for specs this emulator does not implement (SM2, which
 * AWS offers only in China Regions, and anything unknown).
 */
export function keySpecInfo(keySpec: string): KeySpecInfo | undefined {
  return Object.prototype.hasOwnProperty.call(SPECS, keySpec) ? SPECS[keySpec as SupportedKeySpec] : undefined;
}

function requireSpec(keySpec: string): KeySpecInfo {
  const info = keySpecInfo(keySpec);
  if (!info) throw internal(`unsupported key spec ${keySpec}`);
  return info;
}

/**
 * CreateKey's KeySpec × KeyUsage check. Returns the effective usage (ENCRYPT_DECRYPT when
 * omitted for SYMMETRIC_DEFAULT). Omitted for any other spec → ValidationException with the
 * AWS-recorded text; an unsupported combination → ValidationException (text UNCONFIRMED).
 */
export function resolveKeyUsage(keySpec: string, usage: string | undefined): KeyUsage {
  const info = keySpecInfo(keySpec);
  if (!info) throw validation(`KeySpec ${keySpec} is not supported.`);
  if (usage === undefined) {
    if (info.kind === "symmetric") return "ENCRYPT_DECRYPT";
    throw validation("You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.");
  }
  if (!info.usages.includes(usage as KeyUsage)) throw validation(`KeyUsage ${usage} is not compatible with KeySpec ${keySpec}.`);
  return usage as KeyUsage;
}

/** The algorithm lists KeyMetadata carries for a key: only the list that matches its usage. */
export function metadataAlgorithms(
  keySpec: string,
  usage: string,
): { EncryptionAlgorithms?: EncryptionAlgorithm[]; SigningAlgorithms?: SigningAlgorithm[]; MacAlgorithms?: MacAlgorithm[]; KeyAgreementAlgorithms?: KeyAgreementAlgorithm[] } {
  const info = requireSpec(keySpec);
  switch (usage) {
    case "ENCRYPT_DECRYPT":
      return { EncryptionAlgorithms: [...info.encryptionAlgorithms] };
    case "SIGN_VERIFY":
      return { SigningAlgorithms: [...info.signingAlgorithms] };
    case "GENERATE_VERIFY_MAC":
      return { MacAlgorithms: [...info.macAlgorithms] };
    case "KEY_AGREEMENT":
      return { KeyAgreementAlgorithms: [...info.keyAgreementAlgorithms] };
    default:
      return {};
  }
}

function validation(message: string): ServiceError {
  return new ServiceError("ValidationException", message, 400);
}

function internal(message: string): ServiceError {
  return new ServiceError("KMSInternalException", message, 500);
}

function incompatible(alg: string, keySpec: string): ServiceError {
  return new ServiceError("InvalidKeyUsageException", `Algorithm ${alg} is incompatible with key spec ${keySpec}.`, 400);
}

export function requireSigningAlgorithm(keySpec: string, alg: string): SigningAlgorithm {
  const info = requireSpec(keySpec);
  if (!info.signingAlgorithms.includes(alg as SigningAlgorithm)) throw incompatible(alg, keySpec);
  return alg as SigningAlgorithm;
}

export function requireEncryptionAlgorithm(keySpec: string, alg: string): EncryptionAlgorithm {
  const info = requireSpec(keySpec);
  if (!info.encryptionAlgorithms.includes(alg as EncryptionAlgorithm)) throw incompatible(alg, keySpec);
  return alg as EncryptionAlgorithm;
}

export function requireMacAlgorithm(keySpec: string, alg: string): MacAlgorithm {
  const info = requireSpec(keySpec);
  if (!info.macAlgorithms.includes(alg as MacAlgorithm)) throw incompatible(alg, keySpec);
  return alg as MacAlgorithm;
}

// ---------------------------------------------------------------------------------------------
// key generation and public keys

function pkcs8(privateKey: KeyObject): Buffer {
  return privateKey.export({ format: "der", type: "pkcs8" });
}

function keyPairOptions(info: KeySpecInfo): { type: "rsa"; modulusLength: number; publicExponent: number } | { type: "ec"; namedCurve: string } {
  if (info.kind === "rsa") return { type: "rsa", modulusLength: info.rsaBits!, publicExponent: 0x10001 };
  return { type: "ec", namedCurve: info.curve! };
}

/**
 * New key material for a spec: raw bytes for SYMMETRIC_DEFAULT/HMAC, PKCS#8 DER for RSA/ECC.
 * Synchronous; RSA_4096 can take seconds — servers should prefer generateKeyMaterialAsync.
 */
export function generateKeyMaterial(keySpec: string): Buffer {
  const info = requireSpec(keySpec);
  if (info.kind === "symmetric") return randomBytes(32);
  if (info.kind === "hmac") return randomBytes(info.hmacKeyBytes!);
  const o = keyPairOptions(info);
  const { privateKey } = o.type === "rsa" ? generateKeyPairSync("rsa", o) : generateKeyPairSync("ec", o);
  return pkcs8(privateKey);
}

/** generateKeyMaterial without blocking the event loop (key-pair generation on the thread pool). */
export async function generateKeyMaterialAsync(keySpec: string): Promise<Buffer> {
  const info = requireSpec(keySpec);
  if (info.kind === "symmetric" || info.kind === "hmac") return generateKeyMaterial(keySpec);
  const o = keyPairOptions(info);
  return new Promise((resolve, reject) => {
    const done = (e: Error | null, _pub: KeyObject, priv: KeyObject) => (e ? reject(e) : resolve(pkcs8(priv)));
    if (o.type === "rsa") generateKeyPair("rsa", o, done);
    else generateKeyPair("ec", o, done);
  });
}

function privateKeyOf(info: KeySpecInfo, material: Buffer): KeyObject {
  if (info.kind !== "rsa" && info.kind !== "ecc") throw internal(`key spec ${info.keySpec} has no key pair`);
  try {
    return createPrivateKey({ key: material, format: "der", type: "pkcs8" });
  } catch {
    throw internal(`stored key material for ${info.keySpec} is not a PKCS#8 private key`);
  }
}

/** GetPublicKey's PublicKey: DER SubjectPublicKeyInfo (RFC 5280). */
export function publicKeyDer(keySpec: string, material: Buffer): Buffer {
  const key = privateKeyOf(requireSpec(keySpec), material);
  return createPublicKey(key).export({ format: "der", type: "spki" });
}

/**
 * Checks that a PKCS#8 DER private key is of the given spec (RSA modulus size or EC curve).
 * Used for imported asymmetric material.
 */
export function privateKeyMatchesSpec(keySpec: string, der: Buffer): boolean {
  const info = keySpecInfo(keySpec);
  if (!info || (info.kind !== "rsa" && info.kind !== "ecc")) return false;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } catch {
    return false;
  }
  const d = key.asymmetricKeyDetails ?? {};
  if (info.kind === "rsa") return key.asymmetricKeyType === "rsa" && d.modulusLength === info.rsaBits;
  return key.asymmetricKeyType === "ec" && d.namedCurve === info.curve;
}

// ---------------------------------------------------------------------------------------------
// Sign / Verify

const MAX_MESSAGE = 4096;

interface SigningScheme {
  hash: HashName;
  kind: "pss" | "pkcs1" | "ecdsa";
}

function scheme(alg: SigningAlgorithm): SigningScheme {
  const hash = `sha${alg.slice(-3)}` as HashName;
  if (alg.startsWith("RSASSA_PSS_")) return { hash, kind: "pss" };
  if (alg.startsWith("RSASSA_PKCS1_V1_5_")) return { hash, kind: "pkcs1" };
  return { hash, kind: "ecdsa" };
}

function checkMessage(message: Buffer, messageType: string, alg: SigningAlgorithm, s: SigningScheme): void {
  if (messageType === "DIGEST") {
    if (message.length !== HASH_BYTES[s.hash]) throw validation(`Digest is invalid length for algorithm ${alg}.`);
  } else if (messageType === "RAW") {
    if (message.length > MAX_MESSAGE) {
      throw validation("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
    }
  } else {
    throw validation(`1 validation error detected: Value '${messageType}' at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [DIGEST, RAW]`);
  }
}

function nativeOptions(key: KeyObject, s: SigningScheme) {
  if (s.kind === "pss") return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: HASH_BYTES[s.hash] };
  if (s.kind === "pkcs1") return { key, padding: constants.RSA_PKCS1_PADDING };
  return { key, dsaEncoding: "der" as const };
}

/** Sign: the signature bytes (RSA: modulus length; ECDSA: DER). */
export function sign(keySpec: string, material: Buffer, message: Buffer, messageType: MessageType | string, alg: string): Buffer {
  const a = requireSigningAlgorithm(keySpec, alg);
  const s = scheme(a);
  checkMessage(message, messageType, a, s);
  const key = privateKeyOf(requireSpec(keySpec), material);
  if (messageType === "RAW") return nodeSign(s.hash, message, nativeOptions(key, s));
  if (s.kind === "pss") return rsaPssSignDigest(key, s.hash, message);
  if (s.kind === "pkcs1") return rsaPkcs1SignDigest(key, s.hash, message);
  return ecdsaSignDigest(key, message);
}

/** Verify: true iff the signature is valid. Same validation errors as sign. */
export function verify(keySpec: string, material: Buffer, message: Buffer, messageType: MessageType | string, alg: string, signature: Buffer): boolean {
  const a = requireSigningAlgorithm(keySpec, alg);
  const s = scheme(a);
  checkMessage(message, messageType, a, s);
  const key = createPublicKey(privateKeyOf(requireSpec(keySpec), material));
  if (messageType === "RAW") {
    try {
      return nodeVerify(s.hash, message, nativeOptions(key, s), signature);
    } catch {
      return false;
    }
  }
  if (s.kind === "pss") return rsaPssVerifyDigest(key, s.hash, message, signature);
  if (s.kind === "pkcs1") return rsaPkcs1VerifyDigest(key, s.hash, message, signature);
  return ecdsaVerifyDigest(key, message, signature);
}

// ---------------------------------------------------------------------------------------------
// RSA Encrypt / Decrypt (RSAES-OAEP, MGF1 with the same hash, empty label)

const OAEP_HASH: Record<"RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256", { name: string; bytes: number }> = {
  RSAES_OAEP_SHA_1: { name: "sha1", bytes: 20 },
  RSAES_OAEP_SHA_256: { name: "sha256", bytes: 32 },
};

function oaepAlgorithm(keySpec: string, alg: string): { info: KeySpecInfo; hash: { name: string; bytes: number } } {
  const a = requireEncryptionAlgorithm(keySpec, alg);
  const info = requireSpec(keySpec);
  if (info.kind !== "rsa" || a === "SYMMETRIC_DEFAULT") throw incompatible(alg, keySpec);
  return { info, hash: OAEP_HASH[a] };
}

/** The largest plaintext RSAES-OAEP can take: k − 2·hLen − 2 (e.g. 190 for RSA_2048/SHA-256). */
export function rsaMaxPlaintext(keySpec: string, alg: string): number {
  const { info, hash } = oaepAlgorithm(keySpec, alg);
  return info.rsaBits! / 8 - 2 * hash.bytes - 2;
}

/** Encrypt with an RSA KMS key (the public half of the stored private key). */
export function rsaEncrypt(keySpec: string, material: Buffer, alg: string, plaintext: Buffer): Buffer {
  const { info, hash } = oaepAlgorithm(keySpec, alg);
  const max = rsaMaxPlaintext(keySpec, alg);
  if (plaintext.length > max) throw validation(`Algorithm ${alg} and key spec ${keySpec} cannot encrypt data larger than ${max} bytes.`);
  const key = createPublicKey(privateKeyOf(info, material));
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash.name }, plaintext);
}

/** Decrypt an RSAES-OAEP ciphertext; anything that does not decrypt → InvalidCiphertextException. */
export function rsaDecrypt(keySpec: string, material: Buffer, alg: string, ciphertext: Buffer): Buffer {
  const { info, hash } = oaepAlgorithm(keySpec, alg);
  if (ciphertext.length !== info.rsaBits! / 8) throw invalidCiphertext();
  const key = privateKeyOf(info, material);
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash.name }, ciphertext);
  } catch {
    throw invalidCiphertext();
  }
}

// ---------------------------------------------------------------------------------------------
// HMAC

function macHash(keySpec: string, alg: string): string {
  const a = requireMacAlgorithm(keySpec, alg);
  return `sha${a.slice(-3)}`;
}

function checkMacMessage(message: Buffer): void {
  if (message.length > MAX_MESSAGE) {
    throw validation("1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length less than or equal to 4096");
  }
}

export function generateMac(keySpec: string, key: Buffer, message: Buffer, alg: string): Buffer {
  const hash = macHash(keySpec, alg);
  checkMacMessage(message);
  return createHmac(hash, key).update(message).digest();
}

/** true iff `mac` is the HMAC of `message` (constant-time comparison). */
export function verifyMac(keySpec: string, key: Buffer, message: Buffer, alg: string, mac: Buffer): boolean {
  const expected = generateMac(keySpec, key, message, alg);
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}
