/**
 * Secret values at rest: each version gets its own data key from KMS, asked for as the caller
 * through Secrets Manager with the encryption context {SecretARN, SecretVersionId}, as
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html describes;
 * the value is sealed with it and only the encrypted data key is kept. KMS's refusals become
 * Secrets Manager's errors.
 */
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { Principal } from "../../kernel/principal.ts";
import { awsManagedAlias, ensureAwsManagedKey } from "../kms/aws-managed.ts";
import { decryptDataKeyVia, generateDataKeyVia, openWithDataKey, sealWithDataKey, type ViaServiceCaller } from "../kms/envelope.ts";
import { err, type SecretRecord, type SecretVersionRecord } from "./state.ts";

export interface SecretValue {
  string?: string;
  binary?: Buffer;
}

function encryptionContext(secretArn: string, versionId: string): Record<string, string> {
  return { SecretARN: secretArn, SecretVersionId: versionId };
}

function aad(secretArn: string, versionId: string): string {
  return `secretsmanager|${secretArn}|${versionId}`;
}

export function callerOf(ctx: RequestContext): ViaServiceCaller {
  return { principal: ctx.principal, region: ctx.region, service: "secretsmanager" };
}

/** The KeyId to ask KMS with: the secret's key, or the AWS managed key (created on first use). */
async function keyIdFor(app: AppContext, kmsKeyId: string | undefined, accountId: string, region: string): Promise<string> {
  if (kmsKeyId !== undefined && kmsKeyId !== awsManagedAlias("secretsmanager")) return kmsKeyId;
  return ensureAwsManagedKey(app.get("kms"), "secretsmanager", accountId, region);
}

function kmsFailure(e: unknown, wrap: (detail: string) => ServiceError): never {
  if (e instanceof ServiceError) {
    if (e.code === "AccessDeniedException") throw err.accessDeniedKms();
    throw wrap(`${e.code}: ${e.message}`);
  }
  throw e;
}

/** Seals a new version's value under a fresh data key of the secret's KMS key. */
export async function sealVersion(
  app: AppContext,
  caller: ViaServiceCaller,
  secret: Pick<SecretRecord, "arn" | "accountId" | "region" | "kmsKeyId">,
  versionId: string,
  value: SecretValue,
  stages: string[],
  now: Date,
): Promise<SecretVersionRecord> {
  const keyId = await keyIdFor(app, secret.kmsKeyId, secret.accountId, secret.region);
  let dk;
  try {
    dk = await generateDataKeyVia(app, caller, keyId, encryptionContext(secret.arn, versionId));
  } catch (e) {
    kmsFailure(e, err.encryptionFailure);
  }
  try {
    const plain = value.binary ?? Buffer.from(value.string ?? "", "utf8");
    const sealed = sealWithDataKey(dk.plaintext, plain, aad(secret.arn, versionId));
    return { id: versionId, stages, createdDate: now, kmsKeyArn: dk.keyArn, encryptedDataKey: dk.ciphertextBlob, sealed, binary: value.binary !== undefined };
  } finally {
    dk.plaintext.fill(0);
  }
}

/** Opens a version's value: KMS decrypts its data key for the caller, through Secrets Manager. */
export async function openVersion(app: AppContext, principal: Principal, region: string, secret: SecretRecord, v: SecretVersionRecord): Promise<SecretValue> {
  let key: Buffer;
  try {
    key = await decryptDataKeyVia(app, { principal, region, service: "secretsmanager" }, v.encryptedDataKey, encryptionContext(secret.arn, v.id));
  } catch (e) {
    kmsFailure(e, err.decryptionFailure);
  }
  try {
    const plain = openWithDataKey(key, v.sealed, aad(secret.arn, v.id));
    return v.binary ? { binary: plain } : { string: plain.toString("utf8") };
  } finally {
    key.fill(0);
  }
}
