/**
 * Bring Your Own Key: GetParametersForImport's wrapping key pair and import token, and
 * ImportKeyMaterial's unwrapping and checking of the material.
 *
 * Wrapping key: an RSA key pair per GetParametersForImport call. PublicKey is DER
 * SubjectPublicKeyInfo — what the AWS docs have users feed to
 * `openssl pkeyutl -encrypt -pubin -keyform DER -inkey PublicKey.bin …`.
 *
 * EncryptedKeyMaterial, by WrappingAlgorithm (docs/kms.md#imported-key-material):
 *   RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256   RSAES-OAEP(material), MGF1 with the same hash, empty label
 *       (openssl pkeyutl -encrypt … -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
 *        -pkeyopt rsa_mgf1_md:sha256)
 *   RSA_AES_KEY_WRAP_SHA_1 / _SHA_256       RSAES-OAEP(ephemeral 256-bit AES key) ‖ AES key wrap with
 *       padding (RFC 5649, default IV A65959A6) of the material under that AES key
 *       (openssl enc -id-aes256-wrap-pad -K <aes key hex> -iv A65959A6 -in material, then the RSA
 *        step on the AES key, then `cat aes-key-wrapped.bin material-wrapped.bin`)
 *   The RSA part is exactly one modulus long, so the split is unambiguous. Anything that does not
 *   unwrap → InvalidCiphertextException with an empty message (the model's documented meaning of
 *   InvalidCiphertextException for ImportKeyMaterial).
 *
 * Material checks (validateImportedMaterial): symmetric keys must be exactly 256 bits; HMAC keys
 * within the per-spec length range; asymmetric keys a PKCS#8 DER private key of the key's spec.
 * Violations → IncorrectKeyMaterialException: the ImportKeyMaterial model lists it and documents
 * it as "the key material in the request is, expired, invalid, or is not the same key material
 * that was previously imported" (ValidationException is for request-shape problems; the exact
 * AWS message texts are UNCONFIRMED).
 *
 * Import token: an opaque, authenticated blob — AES-256-GCM under a key derived (HKDF-SHA256,
 * info "localfargate/kms/import-token/v1") from a server secret (the root key does), carrying the
 * key ARN, wrapping algorithm and key spec, the id of the stored wrapping private key and the
 * expiry (ParametersValidTo, epoch ms). Tampered, foreign or issued for another key →
 * InvalidImportTokenException; past validTo → ExpiredImportTokenException.
 */
import {
  constants,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createCipheriv,
  generateKeyPair,
  generateKeyPairSync,
  hkdfSync,
  privateDecrypt,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { ServiceError } from "../../../kernel/errors.ts";
import { keySpecInfo, privateKeyMatchesSpec } from "./asymmetric.ts";
import { invalidCiphertext } from "./ciphertext.ts";

export type WrappingKeySpec = "RSA_2048" | "RSA_3072" | "RSA_4096";
export type WrappingAlgorithm = "RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256" | "RSA_AES_KEY_WRAP_SHA_1" | "RSA_AES_KEY_WRAP_SHA_256";

const WRAPPING_BITS: Record<WrappingKeySpec, number> = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 };
const WRAPPING_ALGORITHMS: WrappingAlgorithm[] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"];
/** RFC 5649 alternative initial value (the 32-bit prefix; the rest is the length indicator). */
export const KWP_IV = Buffer.from("A65959A6", "hex");
/** GetParametersForImport's parameters are valid for 24 hours. */
export const IMPORT_PARAMETERS_TTL_MS = 24 * 60 * 60 * 1000;

function validation(message: string): ServiceError {
  return new ServiceError("ValidationException", message, 400);
}

function incorrectMaterial(message: string): ServiceError {
  return new ServiceError("IncorrectKeyMaterialException", message, 400);
}

/**
 * GetParametersForImport's WrappingAlgorithm × WrappingKeySpec check. RSAES_PKCS1_V1_5 was
 * withdrawn by AWS on 2023-10-10; SM2 / SM2PKE exist only in China Regions. (Texts UNCONFIRMED.)
 */
export function checkWrappingParameters(algorithm: string, keySpec: string): { algorithm: WrappingAlgorithm; keySpec: WrappingKeySpec } {
  if (algorithm === "RSAES_PKCS1_V1_5") throw validation("The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported.");
  if (algorithm === "SM2PKE" || keySpec === "SM2") throw validation("SM2 wrapping is supported only in China Regions.");
  if (!WRAPPING_ALGORITHMS.includes(algorithm as WrappingAlgorithm)) throw validation(`Unsupported wrapping algorithm ${algorithm}.`);
  if (!(keySpec in WRAPPING_BITS)) throw validation(`Unsupported wrapping key spec ${keySpec}.`);
  return { algorithm: algorithm as WrappingAlgorithm, keySpec: keySpec as WrappingKeySpec };
}

export interface WrappingKeyPair {
  /** DER SubjectPublicKeyInfo: GetParametersForImport's PublicKey */
  publicKeyDer: Buffer;
  /** PKCS#8 PEM */
  privateKeyPem: string;
  /** PKCS#8 DER (what to seal and store) */
  privateKeyDer: Buffer;
}

function pairOf(publicKey: KeyObject, privateKey: KeyObject): WrappingKeyPair {
  return {
    publicKeyDer: publicKey.export({ format: "der", type: "spki" }),
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    privateKeyDer: privateKey.export({ format: "der", type: "pkcs8" }),
  };
}

function wrappingBits(spec: string): number {
  const bits = WRAPPING_BITS[spec as WrappingKeySpec];
  if (!bits) throw validation(`Unsupported wrapping key spec ${spec}.`);
  return bits;
}

export function newWrappingKeyPair(spec: WrappingKeySpec): WrappingKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: wrappingBits(spec), publicExponent: 0x10001 });
  return pairOf(publicKey, privateKey);
}

/** newWrappingKeyPair on the thread pool (RSA_4096 generation can take seconds). */
export function newWrappingKeyPairAsync(spec: WrappingKeySpec): Promise<WrappingKeyPair> {
  const modulusLength = wrappingBits(spec);
  return new Promise((resolve, reject) =>
    generateKeyPair("rsa", { modulusLength, publicExponent: 0x10001 }, (e, publicKey, privateKey) => (e ? reject(e) : resolve(pairOf(publicKey, privateKey)))),
  );
}

function loadPrivateKey(privateKey: string | Buffer): KeyObject {
  return typeof privateKey === "string" ? createPrivateKey({ key: privateKey, format: "pem" }) : createPrivateKey({ key: privateKey, format: "der", type: "pkcs8" });
}

function oaepDecrypt(key: KeyObject, hash: "sha1" | "sha256", data: Buffer): Buffer {
  try {
    return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
  } catch {
    throw invalidCiphertext();
  }
}

/** RFC 5649 unwrap (AES-256 key wrap with padding). */
export function aesKeyUnwrapPad(aesKey: Buffer, wrapped: Buffer): Buffer {
  try {
    const d = createDecipheriv("id-aes256-wrap-pad", aesKey, KWP_IV);
    return Buffer.concat([d.update(wrapped), d.final()]);
  } catch {
    throw invalidCiphertext();
  }
}

/** RFC 5649 wrap — the client side of RSA_AES_KEY_WRAP (used by tests and tooling). */
export function aesKeyWrapPad(aesKey: Buffer, material: Buffer): Buffer {
  const c = createCipheriv("id-aes256-wrap-pad", aesKey, KWP_IV);
  return Buffer.concat([c.update(material), c.final()]);
}

/**
 * ImportKeyMaterial: recovers the key material from EncryptedKeyMaterial with the wrapping
 * private key (PKCS#8 PEM or DER) of the import token's parameters.
 */
export function unwrapKeyMaterial(privateKey: string | Buffer, algorithm: WrappingAlgorithm | string, encrypted: Buffer): Buffer {
  let key: KeyObject;
  try {
    key = loadPrivateKey(privateKey);
  } catch {
    throw new ServiceError("KMSInternalException", "the stored wrapping key is not an RSA private key", 500);
  }
  const k = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  switch (algorithm) {
    case "RSAES_OAEP_SHA_1":
    case "RSAES_OAEP_SHA_256": {
      if (encrypted.length !== k) throw invalidCiphertext();
      return oaepDecrypt(key, algorithm === "RSAES_OAEP_SHA_1" ? "sha1" : "sha256", encrypted);
    }
    case "RSA_AES_KEY_WRAP_SHA_1":
    case "RSA_AES_KEY_WRAP_SHA_256": {
      // RSA part (one modulus) ‖ RFC 5649 output (a multiple of 8 bytes, at least 16)
      const rest = encrypted.length - k;
      if (rest < 16 || rest % 8 !== 0) throw invalidCiphertext();
      const aesKey = oaepDecrypt(key, algorithm === "RSA_AES_KEY_WRAP_SHA_1" ? "sha1" : "sha256", encrypted.subarray(0, k));
      if (aesKey.length !== 32) throw invalidCiphertext();
      return aesKeyUnwrapPad(aesKey, encrypted.subarray(k));
    }
    default:
      throw validation(`Unsupported wrapping algorithm ${algorithm}.`);
  }
}

/** Accepted imported HMAC key lengths in bytes, per key spec (AWS "Requirements for imported key material"; UNCONFIRMED). */
export const HMAC_IMPORT_BYTES: Record<string, [number, number]> = {
  HMAC_224: [28, 64],
  HMAC_256: [32, 64],
  HMAC_384: [48, 128],
  HMAC_512: [64, 128],
};

/**
 * Checks unwrapped material against the key's spec and returns it in its stored form
 * (asymmetric keys re-encoded as canonical PKCS#8 DER). Bad material → IncorrectKeyMaterialException.
 */
export function validateImportedMaterial(keySpec: string, material: Buffer): Buffer {
  const info = keySpecInfo(keySpec);
  if (!info) throw incorrectMaterial(`Key material cannot be imported into a key with key spec ${keySpec}.`);
  switch (info.kind) {
    case "symmetric":
      if (material.length !== 32) throw incorrectMaterial("Imported key material for a SYMMETRIC_DEFAULT key must be 256 bits (32 bytes).");
      return material;
    case "hmac": {
      const [min, max] = HMAC_IMPORT_BYTES[keySpec];
      if (material.length < min || material.length > max) {
        throw incorrectMaterial(`Imported key material for a ${keySpec} key must be between ${min} and ${max} bytes.`);
      }
      return material;
    }
    default:
      if (!privateKeyMatchesSpec(keySpec, material)) {
        throw incorrectMaterial(`Imported key material for a ${keySpec} key must be a DER-encoded PKCS #8 ${keySpec} private key.`);
      }
      return createPrivateKey({ key: material, format: "der", type: "pkcs8" }).export({ format: "der", type: "pkcs8" });
  }
}

/**
 * The KeyMaterialId of imported material: derived from the key ID and the material (as AWS
 * describes it), 32 bytes — HMAC-SHA256 keyed by the material, so the id reveals nothing about
 * it, and re-importing the same material into the same key yields the same id.
 */
export function importedMaterialId(keyId: string, material: Buffer): Buffer {
  return createHmac("sha256", material).update(`localfargate/kms/imported-material-id/v1\0${keyId}`).digest();
}

// ---------------------------------------------------------------------------------------------
// import tokens

export interface ImportTokenPayload {
  /** id of the stored wrapping key pair (ImportParamsRecord.tokenId) */
  tokenId: string;
  keyArn: string;
  wrappingAlgorithm: string;
  wrappingKeySpec: string;
  /** ParametersValidTo, epoch milliseconds */
  validTo: number;
}

const TOKEN_VERSION = 0x01;
const TOKEN_IV = 12;
const TOKEN_TAG = 16;

/** A fresh import-parameters id (32 hex digits). */
export function newImportTokenId(): string {
  return randomBytes(16).toString("hex");
}

function tokenKey(secret: Buffer): Buffer {
  if (secret.length < 16) throw new ServiceError("KMSInternalException", "import-token secret too short", 500);
  return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), "localfargate/kms/import-token/v1", 32));
}

function invalidToken(): ServiceError {
  return new ServiceError("InvalidImportTokenException", "The import token is invalid or is associated with a different KMS key.", 400);
}

export function sealImportToken(secret: Buffer, payload: ImportTokenPayload): Buffer {
  const body = Buffer.from(
    JSON.stringify({
      tokenId: payload.tokenId,
      keyArn: payload.keyArn,
      wrappingAlgorithm: payload.wrappingAlgorithm,
      wrappingKeySpec: payload.wrappingKeySpec,
      validTo: payload.validTo,
    }),
    "utf8",
  );
  const iv = randomBytes(TOKEN_IV);
  const c = createCipheriv("aes-256-gcm", tokenKey(secret), iv, { authTagLength: TOKEN_TAG });
  c.setAAD(Buffer.from([TOKEN_VERSION]));
  const ct = Buffer.concat([c.update(body), c.final()]);
  return Buffer.concat([Buffer.from([TOKEN_VERSION]), iv, ct, c.getAuthTag()]);
}

/**
 * Opens an ImportKeyMaterial ImportToken for the key the request names, at time `now` (epoch ms,
 * from the platform clock). Tampered / foreign / other key → InvalidImportTokenException;
 * now > validTo → ExpiredImportTokenException.
 */
export function openImportToken(secret: Buffer, token: Buffer, expected: { keyArn: string; now: number }): ImportTokenPayload {
  if (token.length < 1 + TOKEN_IV + TOKEN_TAG + 2 || token[0] !== TOKEN_VERSION) throw invalidToken();
  let payload: ImportTokenPayload;
  try {
    const d = createDecipheriv("aes-256-gcm", tokenKey(secret), token.subarray(1, 1 + TOKEN_IV), { authTagLength: TOKEN_TAG });
    d.setAAD(Buffer.from([TOKEN_VERSION]));
    d.setAuthTag(token.subarray(token.length - TOKEN_TAG));
    const body = Buffer.concat([d.update(token.subarray(1 + TOKEN_IV, token.length - TOKEN_TAG)), d.final()]);
    payload = JSON.parse(body.toString("utf8")) as ImportTokenPayload;
  } catch {
    throw invalidToken();
  }
  if (
    typeof payload?.tokenId !== "string" ||
    typeof payload.keyArn !== "string" ||
    typeof payload.wrappingAlgorithm !== "string" ||
    typeof payload.wrappingKeySpec !== "string" ||
    typeof payload.validTo !== "number"
  ) {
    throw invalidToken();
  }
  if (payload.keyArn !== expected.keyArn) throw invalidToken();
  if (expected.now > payload.validTo) {
    throw new ServiceError("ExpiredImportTokenException", "The import token is expired. Use GetParametersForImport to get a new one.", 400);
  }
  return payload;
}
