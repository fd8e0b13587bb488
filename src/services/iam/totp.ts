/**
 * Time-based one-time passwords as virtual MFA devices compute them: RFC 6238 TOTP over
 * RFC 4226 HOTP with HMAC-SHA1, 30-second steps and 6 digits, keyed by a seed exchanged as
 * RFC 4648 Base32 text (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_virtual.html).
 */
import { createHmac, randomBytes } from "node:crypto";

export const STEP_SECONDS = 30;
export const DIGITS = 6;
/** 40 random bytes: 64 Base32 characters, the length of AWS's Base32StringSeed. */
export const SEED_BYTES = 40;

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Base32 text (case-insensitive, '=' padding ignored) → bytes; undefined when it is not Base32. */
export function base32Decode(text: string): Buffer | undefined {
  const clean = text.replace(/=+$/, "").toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const v = BASE32.indexOf(c);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return Buffer.from(out);
}

export function newSeed(): string {
  return base32Encode(randomBytes(SEED_BYTES));
}

/** The TOTP time step a moment falls in. */
export function stepAt(ms: number): number {
  return Math.floor(ms / 1000 / STEP_SECONDS);
}

/** The code of one step (RFC 4226 dynamic truncation), zero-padded to `digits`. */
export function codeAt(seed: Uint8Array, step: number, digits = DIGITS): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", seed).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 10 ** digits).padStart(digits, "0");
}

/** The first step in [from, to] whose code is `code`, or undefined. */
export function findStep(seed: Uint8Array, code: string, from: number, to: number): number | undefined {
  for (let s = from; s <= to; s++) if (codeAt(seed, s) === code) return s;
  return undefined;
}

/**
 * The provisioning URI authenticator apps read from the QR code (Key Uri Format): the label is
 * `issuer:device@account`, as IAM's QRCodePNG documents it.
 */
export function otpauthUri(issuer: string, device: string, account: string, seed: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(device)}@${encodeURIComponent(account)}`;
  return `otpauth://totp/${label}?secret=${seed}&issuer=${encodeURIComponent(issuer)}`;
}
