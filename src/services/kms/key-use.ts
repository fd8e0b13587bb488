/**
 * What the cryptographic operations share: the checks on a key's usage and spec, the key a
 * ciphertext is for, and sealing and opening data under a key's material (./crypto does the
 * cryptography; ./material.ts keeps the material sealed at rest).
 */
import { ServiceError } from "../../kernel/errors.ts";
import { defaultRequestParameters } from "../../audit/record.ts";
import { kmsShapes } from "../../protocol/shapes/kms.gen.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck } from "../../kernel/operation.ts";
import { namingKeys, type Kms } from "./core.ts";
import { checkGrantTokens } from "./grants.ts";
import { requireEncryptionAlgorithm, rsaDecrypt, rsaEncrypt } from "./crypto/asymmetric.ts";
import { materialIdHex, openSymmetric, parseCiphertext, sealSymmetric } from "./crypto/ciphertext.ts";
import { keyCheck } from "./key-policy.ts";
import { currentMaterial, openMaterial } from "./material.ts";
import { regionalKeyArn } from "./multi-region.ts";
import { keyOf, type Resolved } from "./resolve.ts";
import { err, type KeyRecord } from "./state.ts";

export type EC = Record<string, string> | undefined;

export function requireUsage(key: KeyRecord, usage: string, op: string): void {
  if (key.keyUsage !== usage) throw err.keyUsage(key.arn, key.keyUsage, op);
}

/** Symmetric encryption keys only (GenerateDataKey*, GenerateDataKeyPair*). */
export function requireSymmetric(key: KeyRecord, op: string): void {
  requireUsage(key, "ENCRYPT_DECRYPT", op);
  if (key.keySpec !== "SYMMETRIC_DEFAULT") throw err.keySpec(key.arn, key.keySpec, op);
}

export function isSymmetric(key: KeyRecord): boolean {
  return key.keySpec === "SYMMETRIC_DEFAULT";
}

export function noContextForAsymmetric(key: KeyRecord, ec: EC): void {
  if (!isSymmetric(key) && ec && Object.keys(ec).length) {
    throw err.validation(`EncryptionContext is not supported for asymmetric KMS keys; ${key.arn} has KeySpec ${key.keySpec}.`);
  }
}

export function rejectRecipient(input: { Recipient?: unknown }): void {
  if (input.Recipient !== undefined) {
    throw new ServiceError("UnsupportedOperationException", "Recipient (AWS Nitro Enclaves attestation) is not supported by localfargate: there is no enclave to attest.", 400);
  }
}

/** CloudTrail requestParameters: the default (blobs, tokens left out) plus the algorithm AWS always logs. */
export function withAlgorithms(shape: string, members: Record<string, string>) {
  return (input: object): unknown => {
    const base = (defaultRequestParameters(kmsShapes, shape, input) as Record<string, unknown> | null) ?? {};
    for (const [member, param] of Object.entries(members)) base[param] = ((input as Record<string, unknown>)[member] as string | undefined) ?? "SYMMETRIC_DEFAULT";
    return base;
  };
}

/** The key a crypto operation uses: key ID, key ARN, alias name or alias ARN. */
export function keyInUse(kms: Kms, ctx: RequestContext, keyId: string): Resolved {
  return keyOf(kms.state, ctx, keyId, { aliases: true });
}

/**
 * The key a cryptographic operation names by KeyId, after the request checks AWS makes first
 * (grant tokens, no Recipient), named in the call's CloudTrail record.
 */
export function namedKeyInUse(kms: Kms, ctx: RequestContext, i: { GrantTokens?: string[]; Recipient?: unknown; KeyId?: string }): Resolved {
  checkGrantTokens(i.GrantTokens);
  rejectRecipient(i);
  const r = keyInUse(kms, ctx, i.KeyId!);
  return namingKeys(ctx, r, r.key);
}

/** The AuthCheck for a crypto operation: key policy, IAM, and grants for the same operation. */
export function useCheck(ctx: RequestContext, kms: Kms, r: Resolved, action: string, ec?: EC, context?: AuthCheck["context"]): AuthCheck {
  return keyCheck(ctx, kms.state, r.key, action, { alias: r.alias, encryptionContext: ec, grantOperation: action, context });
}

/** The symmetric material a ciphertext names, or InvalidCiphertextException. */
function materialFor(kms: Kms, key: KeyRecord, materialId: string): Buffer {
  const raw = openMaterial(kms.state, kms.sealer, key, materialId);
  if (!raw) throw err.invalidCiphertext();
  return raw;
}

export function current(kms: Kms, key: KeyRecord): { id: string; raw: Buffer } {
  const m = currentMaterial(kms.state, kms.sealer, key);
  if (!m) throw err.pendingImport(key.arn);
  return m;
}

/** New symmetric ciphertext under the key's current material. */
export function seal(kms: Kms, key: KeyRecord, plaintext: Buffer, ec: EC): { blob: Buffer; materialId: string } {
  const m = current(kms, key);
  return { blob: sealSymmetric(key.arn, Buffer.from(m.id, "hex"), m.raw, plaintext, ec), materialId: m.id };
}

/** The key a ciphertext is for, the alias it was named by and the material version in its header. */
export interface CiphertextTarget extends Resolved {
  materialId?: string;
}

/**
 * Which key a ciphertext is for: the named key when it is asymmetric (RSA ciphertexts carry
 * no metadata), else the key in the blob's header (a multi-Region key's copy in the caller's
 * Region). A named key that differs from the blob's, or
 * an HMAC key, →
 * IncorrectKeyException; a blob naming a key that does not exist here → AccessDeniedException
 * with AWS's text.
 */
export function decryptTarget(kms: Kms, ctx: RequestContext, blob: Buffer | undefined, keyId: string | undefined, ignoreCiphertext = false): CiphertextTarget {
  const named = keyId !== undefined ? keyInUse(kms, ctx, keyId) : undefined;
  // an HMAC key can hold no ciphertext: AWS answers as for a key that does not match the blob
  if (named?.key.keySpec.startsWith("HMAC_")) throw err.incorrectKey();
  if (ignoreCiphertext) {
    // a DryRun that tests permissions only: the named key, whatever the blob holds
    if (!named) throw err.validation("A KeyId is required when DryRunModifiers includes IGNORE_CIPHERTEXT.");
    return { key: named.key, alias: named.alias };
  }
  // the newer models make CiphertextBlob optional for IGNORE_CIPHERTEXT dry runs only; any other call needs it
  if (!blob) throw err.validation("1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
  if (named && !isSymmetric(named.key)) return { key: named.key, alias: named.alias };
  const parsed = parseCiphertext(blob);
  // a multi-Region key's ciphertext is for every Regional copy: the one in the caller's Region decrypts it
  const local = regionalKeyArn(parsed.keyArn, ctx.region);
  if (named && named.key.arn !== local) throw err.incorrectKey();
  const key = kms.state.keys.get(local);
  if (!key || key.region !== ctx.region) throw err.unknownCiphertextKey();
  return { key, alias: named?.alias, materialId: materialIdHex(parsed.materialId) };
}

/**
 * DryRunModifiers IGNORE_CIPHERTEXT (newer models): a DryRun that checks permissions without the
 * ciphertext (https://docs.aws.amazon.com/kms/latest/developerguide/testing-permissions.html).
 */
export function ignoresCiphertext(i: { DryRun?: boolean; DryRunModifiers?: string[] }): boolean {
  return i.DryRun === true && (i.DryRunModifiers ?? []).includes("IGNORE_CIPHERTEXT");
}

/** Decrypts for Decrypt / ReEncrypt (state and usage already checked). */
export function decryptWith(
  kms: Kms,
  target: CiphertextTarget,
  blob: Buffer,
  ec: EC,
  algorithm: string | undefined,
): { plaintext: Buffer; materialId?: string; algorithm: string } {
  const key = target.key;
  const alg = requireEncryptionAlgorithm(key.keySpec, algorithm ?? "SYMMETRIC_DEFAULT");
  if (isSymmetric(key)) {
    const materialId = target.materialId!;
    return { plaintext: openSymmetric(blob, materialFor(kms, key, materialId), ec), materialId, algorithm: alg };
  }
  noContextForAsymmetric(key, ec);
  return { plaintext: rsaDecrypt(key.keySpec, current(kms, key).raw, alg, blob), algorithm: alg };
}

export function encryptWith(kms: Kms, key: KeyRecord, plaintext: Buffer, ec: EC, algorithm: string | undefined): { blob: Buffer; materialId?: string; algorithm: string } {
  const alg = requireEncryptionAlgorithm(key.keySpec, algorithm ?? "SYMMETRIC_DEFAULT");
  if (isSymmetric(key)) {
    const s = seal(kms, key, plaintext, ec);
    return { blob: s.blob, materialId: s.materialId, algorithm: alg };
  }
  noContextForAsymmetric(key, ec);
  return { blob: rsaEncrypt(key.keySpec, current(kms, key).raw, alg, plaintext), algorithm: alg };
}

/** The request's ciphertext, absent when the caller sent none (the newer models make CiphertextBlob optional). */
export function ciphertextOf(blob: Uint8Array | undefined): Buffer | undefined {
  return blob === undefined ? undefined : Buffer.from(blob);
}
