/**
 * Signing and verifying a message *digest* (Sign/Verify with MessageType=DIGEST), which
 * node:crypto has no direct API for: `crypto.sign(alg, data, key)` always hashes `data`, and
 * `crypto.sign(null, …)` still hashes with the key's default digest (SHA-256) for RSA and EC keys.
 * So the hash-free signature schemes are built here from primitives node does expose:
 *
 *   - RSASSA-PKCS1-v1_5: `privateEncrypt` with RSA_PKCS1_PADDING over DigestInfo ‖ digest is
 *     exactly the v1.5 signature primitive (EMSA-PKCS1-v1_5 with type-1 padding, RFC 8017 §9.2);
 *     verification is `publicDecrypt` with the same padding and a constant-time comparison with
 *     the expected DigestInfo ‖ digest (encode-and-compare, as RFC 8017 §8.2.2 prescribes).
 *   - RSASSA-PSS: EMSA-PSS-ENCODE / -VERIFY (RFC 8017 §9.1) implemented here with MGF1 over the
 *     same hash and salt length = hash length (what KMS specifies for RSASSA_PSS_SHA_*), and the
 *     raw RSA operations via `privateDecrypt` / `publicEncrypt` with RSA_NO_PADDING.
 *   - ECDSA: textbook ECDSA (SEC 1 §4.1) over the curve with bigint arithmetic in Jacobian
 *     coordinates; signatures are DER `Ecdsa-Sig-Value` like KMS returns.
 *
 * RAW messages never come here: they use node's native sign/verify. The tests check both paths
 * against each other (DIGEST signatures verify natively as RAW and vice versa).
 */
import { constants, createHash, privateDecrypt, privateEncrypt, publicDecrypt, publicEncrypt, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";

export type HashName = "sha256" | "sha384" | "sha512";

export const HASH_BYTES: Record<HashName, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** DER of DigestInfo { AlgorithmIdentifier { oid, NULL }, OCTET STRING (hLen) } without the digest. */
const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from("3031300d060960864801650304020105000420", "hex"),
  sha384: Buffer.from("3041300d060960864801650304020205000430", "hex"),
  sha512: Buffer.from("3051300d060960864801650304020305000440", "hex"),
};

// ---------------------------------------------------------------------------------------------
// RSASSA-PKCS1-v1_5

export function rsaPkcs1SignDigest(key: KeyObject, hash: HashName, digest: Buffer): Buffer {
  return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]));
}

export function rsaPkcs1VerifyDigest(key: KeyObject, hash: HashName, digest: Buffer, signature: Buffer): boolean {
  const k = modulusBytes(key);
  if (signature.length !== k) return false;
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  const expected = Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
  return recovered.length === expected.length && timingSafeEqual(recovered, expected);
}

// ---------------------------------------------------------------------------------------------
// RSASSA-PSS (salt length = hash length, MGF1 with the same hash)

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (!bits) throw new Error("not an RSA key");
  return bits;
}

function modulusBytes(key: KeyObject): number {
  return Math.ceil(modulusBits(key) / 8);
}

/** Raw RSA results may come back without their leading zero bytes; I2OSP wants exactly k. */
function leftPad(b: Buffer, k: number): Buffer {
  if (b.length > k) throw new Error("RSA result longer than the modulus");
  return b.length === k ? b : Buffer.concat([Buffer.alloc(k - b.length), b]);
}

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter, 0);
    const block = createHash(hash).update(seed).update(c).digest();
    out.push(block);
    produced += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

function pssHashPrime(hash: HashName, mHash: Buffer, salt: Buffer): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
}

export function rsaPssSignDigest(key: KeyObject, hash: HashName, digest: Buffer): Buffer {
  const hLen = HASH_BYTES[hash];
  const sLen = hLen;
  const modBits = modulusBits(key);
  const k = Math.ceil(modBits / 8);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + sLen + 2) throw new Error("RSA key too small for PSS with this hash");
  const salt = randomBytes(sLen);
  const h = pssHashPrime(hash, digest, salt);
  const db = Buffer.concat([Buffer.alloc(emLen - sLen - hLen - 2), Buffer.from([0x01]), salt]);
  const maskedDb = xor(db, mgf1(hash, h, emLen - hLen - 1));
  maskedDb[0] &= 0xff >> (8 * emLen - emBits);
  const em = Buffer.concat([maskedDb, h, Buffer.from([0xbc])]);
  const input = Buffer.concat([Buffer.alloc(k - emLen), em]);
  return leftPad(privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, input), k);
}

export function rsaPssVerifyDigest(key: KeyObject, hash: HashName, digest: Buffer, signature: Buffer): boolean {
  const hLen = HASH_BYTES[hash];
  const sLen = hLen;
  const modBits = modulusBits(key);
  const k = Math.ceil(modBits / 8);
  if (signature.length !== k) return false;
  let m: Buffer;
  try {
    m = leftPad(publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, signature), k);
  } catch {
    return false; // signature ≥ modulus
  }
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  for (let i = 0; i < k - emLen; i++) if (m[i] !== 0) return false;
  const em = m.subarray(k - emLen);
  if (emLen < hLen + sLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if ((maskedDb[0] & ~topMask) !== 0) return false;
  const db = xor(maskedDb, mgf1(hash, h, emLen - hLen - 1));
  db[0] &= topMask;
  const psLen = emLen - hLen - sLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 0x01) return false;
  const salt = db.subarray(db.length - sLen);
  return timingSafeEqual(pssHashPrime(hash, digest, salt), h);
}

// ---------------------------------------------------------------------------------------------
// ECDSA

export type CurveName = "P-256" | "P-384" | "P-521" | "secp256k1";

interface Curve {
  p: bigint;
  a: bigint;
  b: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
  /** bytes of a field element / scalar */
  size: number;
}

const h = (s: string) => BigInt("0x" + s.replace(/\s+/g, ""));

/** Domain parameters from SEC 2 v2 / FIPS 186-4 (checked against node's own curves in the tests). */
export const CURVES: Record<CurveName, Curve> = {
  "P-256": {
    p: h("ffffffff 00000001 00000000 00000000 00000000 ffffffff ffffffff ffffffff"),
    a: h("ffffffff 00000001 00000000 00000000 00000000 ffffffff ffffffff fffffffc"),
    b: h("5ac635d8 aa3a93e7 b3ebbd55 769886bc 651d06b0 cc53b0f6 3bce3c3e 27d2604b"),
    n: h("ffffffff 00000000 ffffffff ffffffff bce6faad a7179e84 f3b9cac2 fc632551"),
    gx: h("6b17d1f2 e12c4247 f8bce6e5 63a440f2 77037d81 2deb33a0 f4a13945 d898c296"),
    gy: h("4fe342e2 fe1a7f9b 8ee7eb4a 7c0f9e16 2bce3357 6b315ece cbb64068 37bf51f5"),
    size: 32,
  },
  "P-384": {
    p: h("ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff fffffffe ffffffff 00000000 00000000 ffffffff"),
    a: h("ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff fffffffe ffffffff 00000000 00000000 fffffffc"),
    b: h("b3312fa7 e23ee7e4 988e056b e3f82d19 181d9c6e fe814112 0314088f 5013875a c656398d 8a2ed19d 2a85c8ed d3ec2aef"),
    n: h("ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff c7634d81 f4372ddf 581a0db2 48b0a77a ecec196a ccc52973"),
    gx: h("aa87ca22 be8b0537 8eb1c71e f320ad74 6e1d3b62 8ba79b98 59f741e0 82542a38 5502f25d bf55296c 3a545e38 72760ab7"),
    gy: h("3617de4a 96262c6f 5d9e98bf 9292dc29 f8f41dbd 289a147c e9da3113 b5f0b8c0 0a60b1ce 1d7e819d 7a431d7c 90ea0e5f"),
    size: 48,
  },
  "P-521": {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    b: h("0051 953eb961 8e1c9a1f 929a21a0 b68540ee a2da725b 99b315f3 b8b48991 8ef109e1 56193951 ec7e937b 1652c0bd 3bb1bf07 3573df88 3d2c34f1 ef451fd4 6b503f00"),
    n: h("01ff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff fffffffa 51868783 bf2f966b 7fcc0148 f709a5d0 3bb5c9b8 899c47ae bb6fb71e 91386409"),
    gx: h("00c6 858e06b7 0404e9cd 9e3ecb66 2395b442 9c648139 053fb521 f828af60 6b4d3dba a14b5e77 efe75928 fe1dc127 a2ffa8de 3348b3c1 856a429b f97e7e31 c2e5bd66"),
    gy: h("0118 39296a78 9a3bc004 5c8a5fb4 2c7d1bd9 98f54449 579b4468 17afbd17 273e662c 97ee7299 5ef42640 c550b901 3fad0761 353c7086 a272c240 88be9476 9fd16650"),
    size: 66,
  },
  secp256k1: {
    p: h("ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff fffffffe fffffc2f"),
    a: 0n,
    b: 7n,
    n: h("ffffffff ffffffff ffffffff fffffffe baaedce6 af48a03b bfd25e8c d0364141"),
    gx: h("79be667e f9dcbbac 55a06295 ce870b07 029bfcdb 2dce28d9 59f2815b 16f81798"),
    gy: h("483ada77 26a3c465 5da4fbfc 0e1108a8 fd17b448 a6855419 9c47d08f fb10d4b8"),
    size: 32,
  },
};

const mod = (x: bigint, m: bigint) => {
  const r = x % m;
  return r < 0n ? r + m : r;
};

function modInv(x: bigint, m: bigint): bigint {
  let [a, b] = [mod(x, m), m];
  let [u, v] = [1n, 0n];
  while (b !== 0n) {
    const q = a / b;
    [a, b] = [b, a - q * b];
    [u, v] = [v, u - q * v];
  }
  if (a !== 1n) throw new Error("not invertible");
  return mod(u, m);
}

/** Jacobian point; z = 0 is the point at infinity. */
interface Jac {
  x: bigint;
  y: bigint;
  z: bigint;
}

const INF: Jac = { x: 1n, y: 1n, z: 0n };

function dbl(c: Curve, P: Jac): Jac {
  const { p } = c;
  if (P.z === 0n || P.y === 0n) return INF;
  const y2 = mod(P.y * P.y, p);
  const s = mod(4n * P.x * y2, p);
  const z2 = mod(P.z * P.z, p);
  const m = mod(3n * P.x * P.x + c.a * z2 * z2, p);
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * y2 * y2, p);
  const z3 = mod(2n * P.y * P.z, p);
  return { x: x3, y: y3, z: z3 };
}

function add(c: Curve, P: Jac, Q: Jac): Jac {
  const { p } = c;
  if (P.z === 0n) return Q;
  if (Q.z === 0n) return P;
  const z1z1 = mod(P.z * P.z, p);
  const z2z2 = mod(Q.z * Q.z, p);
  const u1 = mod(P.x * z2z2, p);
  const u2 = mod(Q.x * z1z1, p);
  const s1 = mod(P.y * Q.z * z2z2, p);
  const s2 = mod(Q.y * P.z * z1z1, p);
  if (u1 === u2) return s1 === s2 ? dbl(c, P) : INF;
  const hh = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  const h2 = mod(hh * hh, p);
  const h3 = mod(h2 * hh, p);
  const u1h2 = mod(u1 * h2, p);
  const x3 = mod(r * r - h3 - 2n * u1h2, p);
  const y3 = mod(r * (u1h2 - x3) - s1 * h3, p);
  const z3 = mod(hh * P.z * Q.z, p);
  return { x: x3, y: y3, z: z3 };
}

function mul(c: Curve, P: Jac, k: bigint): Jac {
  let R = INF;
  for (let i = BigInt(k.toString(2).length - 1); i >= 0n; i--) {
    R = dbl(c, R);
    if ((k >> i) & 1n) R = add(c, R, P);
  }
  return R;
}

function affine(c: Curve, P: Jac): { x: bigint; y: bigint } | undefined {
  if (P.z === 0n) return undefined;
  const zi = modInv(P.z, c.p);
  const zi2 = mod(zi * zi, c.p);
  return { x: mod(P.x * zi2, c.p), y: mod(P.y * zi2 * zi, c.p) };
}

/** k·G in affine coordinates (exported for the tests' cross-check against node's curves). */
export function scalarMultBase(curve: CurveName, k: bigint): { x: bigint; y: bigint } | undefined {
  const c = CURVES[curve];
  return affine(c, mul(c, { x: c.gx, y: c.gy, z: 1n }, mod(k, c.n)));
}

export function isOnCurve(curve: CurveName, x: bigint, y: bigint): boolean {
  const c = CURVES[curve];
  return mod(y * y - (x * x * x + c.a * x + c.b), c.p) === 0n;
}

function bitLength(n: bigint): number {
  return n.toString(2).length;
}

/** SEC 1 §4.1.3 step 5: the leftmost min(bitlen(n), 8·len) bits of the digest as an integer. */
function digestToInt(c: Curve, digest: Buffer): bigint {
  if (digest.length === 0) return 0n;
  let e = BigInt("0x" + digest.toString("hex"));
  const excess = digest.length * 8 - bitLength(c.n);
  if (excess > 0) e >>= BigInt(excess);
  return e;
}

const b64uToInt = (s: string) => BigInt("0x" + (Buffer.from(s, "base64url").toString("hex") || "0"));

function ecPrivate(key: KeyObject): { curve: CurveName; d: bigint } {
  const jwk = key.export({ format: "jwk" });
  return { curve: jwk.crv as CurveName, d: b64uToInt(jwk.d!) };
}

function ecPublic(key: KeyObject): { curve: CurveName; x: bigint; y: bigint } {
  const jwk = key.export({ format: "jwk" });
  return { curve: jwk.crv as CurveName, x: b64uToInt(jwk.x!), y: b64uToInt(jwk.y!) };
}

function randomScalar(n: bigint): bigint {
  // 64 extra bits make the modulo bias negligible
  const bytes = randomBytes(Math.ceil(bitLength(n) / 8) + 8);
  return mod(BigInt("0x" + bytes.toString("hex")), n - 1n) + 1n;
}

export function ecdsaSignDigest(key: KeyObject, digest: Buffer): Buffer {
  const { curve, d } = ecPrivate(key);
  const c = CURVES[curve];
  if (!c) throw new Error(`unsupported curve ${curve}`);
  const e = digestToInt(c, digest);
  const G: Jac = { x: c.gx, y: c.gy, z: 1n };
  for (;;) {
    const k = randomScalar(c.n);
    const R = affine(c, mul(c, G, k));
    if (!R) continue;
    const r = mod(R.x, c.n);
    if (r === 0n) continue;
    const s = mod(modInv(k, c.n) * (e + r * d), c.n);
    if (s === 0n) continue;
    return derSignature(r, s);
  }
}

export function ecdsaVerifyDigest(key: KeyObject, digest: Buffer, signature: Buffer): boolean {
  const { curve, x, y } = ecPublic(key);
  const c = CURVES[curve];
  if (!c) return false;
  const rs = parseDerSignature(signature);
  if (!rs) return false;
  const { r, s } = rs;
  if (r < 1n || r >= c.n || s < 1n || s >= c.n) return false;
  const e = digestToInt(c, digest);
  const w = modInv(s, c.n);
  const u1 = mod(e * w, c.n);
  const u2 = mod(r * w, c.n);
  const X = affine(c, add(c, mul(c, { x: c.gx, y: c.gy, z: 1n }, u1), mul(c, { x, y, z: 1n }, u2)));
  if (!X) return false;
  return mod(X.x, c.n) === r;
}

// DER Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }

function derInt(v: bigint): Buffer {
  let hex = v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  let bytes = Buffer.from(hex, "hex");
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), derLen(bytes.length), bytes]);
}

function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}

export function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInt(r), derInt(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLen(body.length), body]);
}

/** Strict DER parse; undefined for anything malformed. */
export function parseDerSignature(sig: Buffer): { r: bigint; s: bigint } | undefined {
  let off = 0;
  const readLen = (): number | undefined => {
    if (off >= sig.length) return undefined;
    const first = sig[off++];
    if (first < 0x80) return first;
    const count = first & 0x7f;
    if (count === 0 || count > 2 || off + count > sig.length) return undefined;
    let n = 0;
    for (let i = 0; i < count; i++) n = (n << 8) | sig[off++];
    if (n < 0x80 || (count === 2 && n < 0x100)) return undefined; // non-minimal length
    return n;
  };
  const readInt = (): bigint | undefined => {
    if (sig[off++] !== 0x02) return undefined;
    const len = readLen();
    if (len === undefined || len === 0 || off + len > sig.length) return undefined;
    const bytes = sig.subarray(off, off + len);
    off += len;
    if (bytes[0] & 0x80) return undefined; // negative
    if (len > 1 && bytes[0] === 0 && !(bytes[1] & 0x80)) return undefined; // non-minimal
    return BigInt("0x" + bytes.toString("hex"));
  };
  if (sig.length < 2 || sig[off++] !== 0x30) return undefined;
  const total = readLen();
  if (total === undefined || off + total !== sig.length) return undefined;
  const r = readInt();
  if (r === undefined) return undefined;
  const s = readInt();
  if (s === undefined || off !== sig.length) return undefined;
  return { r, s };
}
