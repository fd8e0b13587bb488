/**
 * GenerateRandom and the plaintext of data keys (GenerateDataKey / GenerateDataKeyWithoutPlaintext),
 * from node's CSPRNG, with AWS's validation errors (docs/kms.md#error-texts):
 *
 *   GenerateRandom without NumberOfBytes  → ValidationException "NumberOfBytes is required."
 *   NumberOfBytes 0 / 1025                → ValidationException "1 validation error detected: Value '0'
 *       at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal
 *       to 1" / "… less than or equal to 1024"
 *   GenerateDataKey with neither or both of KeySpec and NumberOfBytes → ValidationException
 *       "Please specify either number of bytes or key spec." (our choice: "NumberOfBytes is
 *       required." is AWS's answer for GenerateRandom; its text for GenerateDataKey is not known,
 *       docs/kms.md#choices-where-awss-behaviour-is-not-confirmed)
 *   KeySpec other than AES_256 / AES_128  → the Coral enum message.
 */
import { randomBytes, randomFillSync } from "node:crypto";
import { ServiceError, validationMessage } from "../../../kernel/errors.ts";

export const MAX_RANDOM_BYTES = 1024;

const POOL_BYTES = 4096;
const POOLED_MAX = 64;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * `n` bytes from the CSPRNG. Small requests (IVs, data keys) are cut from a pool filled 4 KiB at
 * a time: one call into the CSPRNG per request cost more than the AES-GCM that used the bytes.
 * Each byte is handed out once, copied, and wiped from the pool.
 */
export function secureRandomBytes(n: number): Buffer {
  if (n > POOLED_MAX) return randomBytes(n);
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = Buffer.from(pool.subarray(poolOffset, poolOffset + n));
  pool.fill(0, poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}
export type DataKeySpec = "AES_256" | "AES_128";
const DATA_KEY_BYTES: Record<DataKeySpec, number> = { AES_256: 32, AES_128: 16 };

function validation(message: string): ServiceError {
  return new ServiceError("ValidationException", message, 400);
}

function checkNumberOfBytes(n: number): void {
  if (!Number.isInteger(n)) {
    throw validation(validationMessage([`Value '${n}' at 'numberOfBytes' failed to satisfy constraint: Member must be an integer`]));
  }
  if (n < 1) {
    throw validation(validationMessage([`Value '${n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1`]));
  }
  if (n > MAX_RANDOM_BYTES) {
    throw validation(validationMessage([`Value '${n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to ${MAX_RANDOM_BYTES}`]));
  }
}

/** GenerateRandom: `numberOfBytes` (1–1024) bytes from the CSPRNG. */
export function generateRandom(numberOfBytes?: number): Buffer {
  if (numberOfBytes === undefined || numberOfBytes === null) throw validation("NumberOfBytes is required.");
  checkNumberOfBytes(numberOfBytes);
  return randomBytes(numberOfBytes);
}

/** The data-key length GenerateDataKey* asks for: exactly one of KeySpec and NumberOfBytes. */
export function dataKeyLength(keySpec?: string, numberOfBytes?: number): number {
  const hasSpec = keySpec !== undefined && keySpec !== null;
  const hasBytes = numberOfBytes !== undefined && numberOfBytes !== null;
  if (hasSpec === hasBytes) throw validation("Please specify either number of bytes or key spec.");
  if (hasBytes) {
    checkNumberOfBytes(numberOfBytes!);
    return numberOfBytes!;
  }
  if (!Object.prototype.hasOwnProperty.call(DATA_KEY_BYTES, keySpec!)) {
    throw validation(validationMessage([`Value '${keySpec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`]));
  }
  return DATA_KEY_BYTES[keySpec as DataKeySpec];
}

/** A data key's plaintext: 32 bytes for AES_256, 16 for AES_128, or NumberOfBytes (1–1024). */
export function generateDataKey(keySpec?: string, numberOfBytes?: number): Buffer {
  return secureRandomBytes(dataKeyLength(keySpec, numberOfBytes));
}
