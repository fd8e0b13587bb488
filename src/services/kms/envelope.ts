/**
 * Envelope encryption as AWS services do it for their customers (Secrets Manager, Parameter
 * Store): the service asks KMS for a data key *as the caller*, through the service (kms:ViaService
 * = `<service>.<region>.amazonaws.com`), with the service's encryption context, encrypts the
 * value locally with it and keeps only the encrypted data key beside the ciphertext. Reading asks
 * KMS to Decrypt the data key, again as the caller through the service. The key policy, IAM
 * policies and grants decide both calls, and CloudTrail records both
 * (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#enveloping).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { AppContext, InvokeOptions } from "../../kernel/context.ts";
import type { Principal } from "../../kernel/principal.ts";

/** Who asks KMS: the caller, through `service` in `region`. */
export interface ViaServiceCaller {
  principal: Principal;
  region: string;
  /** the service's endpoint prefix: "secretsmanager", "ssm" */
  service: string;
}

function invokeOptions(c: ViaServiceCaller): InvokeOptions {
  const host = `${c.service}.amazonaws.com`;
  return { principal: c.principal, region: c.region, viaService: host, sourceIp: host, userAgent: host };
}

export interface DataKey {
  plaintext: Buffer;
  ciphertextBlob: Buffer;
  /** the key ARN KMS used */
  keyArn: string;
}

export async function generateDataKeyVia(app: AppContext, caller: ViaServiceCaller, keyId: string, encryptionContext: Record<string, string>): Promise<DataKey> {
  const out = await app.invoke<{ Plaintext: Uint8Array; CiphertextBlob: Uint8Array; KeyId: string }>(
    "kms",
    "GenerateDataKey",
    { KeyId: keyId, KeySpec: "AES_256", EncryptionContext: encryptionContext },
    invokeOptions(caller),
  );
  return { plaintext: Buffer.from(out.Plaintext), ciphertextBlob: Buffer.from(out.CiphertextBlob), keyArn: out.KeyId };
}

export async function decryptDataKeyVia(app: AppContext, caller: ViaServiceCaller, ciphertextBlob: Buffer, encryptionContext: Record<string, string>): Promise<Buffer> {
  const out = await app.invoke<{ Plaintext: Uint8Array }>("kms", "Decrypt", { CiphertextBlob: ciphertextBlob, EncryptionContext: encryptionContext }, invokeOptions(caller));
  return Buffer.from(out.Plaintext);
}

const IV = 12;
const TAG = 16;

/** AES-256-GCM under a data key: iv ‖ tag ‖ ciphertext, bound to `aad`. */
export function sealWithDataKey(dataKey: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv("aes-256-gcm", dataKey, iv);
  c.setAAD(Buffer.from(aad, "utf8"));
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]);
}

export function openWithDataKey(dataKey: Buffer, sealed: Buffer, aad: string): Buffer {
  const d = createDecipheriv("aes-256-gcm", dataKey, sealed.subarray(0, IV));
  d.setAAD(Buffer.from(aad, "utf8"));
  d.setAuthTag(sealed.subarray(IV, IV + TAG));
  return Buffer.concat([d.update(sealed.subarray(IV + TAG)), d.final()]);
}
