/**
 * SecureString values: sealed under a data key that KMS generates for the caller through
 * Parameter Store (kms:ViaService = ssm.<region>.amazonaws.com) with the encryption context
 * {PARAMETER_ARN: <parameter ARN>}, under the parameter's key or the AWS managed key aws/ssm
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/secure-string-parameter-kms-encryption.html).
 */
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { Principal } from "../../kernel/principal.ts";
import { awsManagedAlias, ensureAwsManagedKey } from "../kms/aws-managed.ts";
import { decryptDataKeyVia, generateDataKeyVia, openWithDataKey, sealWithDataKey } from "../kms/envelope.ts";
import { err, type ParameterVersionRecord } from "./state.ts";

function context(arn: string): Record<string, string> {
  return { PARAMETER_ARN: arn };
}

function aad(arn: string, version: number): string {
  return `ssm|${arn}|${version}`;
}

function kmsError(e: unknown): never {
  if (e instanceof ServiceError) {
    if (e.code === "AccessDeniedException") throw e;
    if (e.code === "NotFoundException") throw err.invalidKeyId(e.message);
    if (e.code === "DisabledException" || e.code === "KMSInvalidStateException" || e.code === "InvalidKeyUsageException") throw err.invalidKeyId(`${e.code}: ${e.message}`);
    throw new ServiceError(e.code, e.message, e.status, { sender: e.sender });
  }
  throw e;
}

export async function sealSecure(
  ctx: RequestContext,
  arn: string,
  version: number,
  keyId: string | undefined,
  value: string,
): Promise<Pick<ParameterVersionRecord, "kmsKeyArn" | "encryptedDataKey" | "sealed">> {
  const key = keyId && keyId !== awsManagedAlias("ssm") ? keyId : await ensureAwsManagedKey(ctx.app.get("kms"), "ssm", ctx.principal.accountId, ctx.region);
  let dk;
  try {
    dk = await generateDataKeyVia(ctx.app, { principal: ctx.principal, region: ctx.region, service: "ssm" }, key, context(arn));
  } catch (e) {
    kmsError(e);
  }
  try {
    return { kmsKeyArn: dk.keyArn, encryptedDataKey: dk.ciphertextBlob, sealed: sealWithDataKey(dk.plaintext, Buffer.from(value, "utf8"), aad(arn, version)) };
  } finally {
    dk.plaintext.fill(0);
  }
}

export async function openSecure(app: AppContext, principal: Principal, region: string, arn: string, v: ParameterVersionRecord): Promise<string> {
  let key: Buffer;
  try {
    key = await decryptDataKeyVia(app, { principal, region, service: "ssm" }, v.encryptedDataKey!, context(arn));
  } catch (e) {
    kmsError(e);
  }
  try {
    return openWithDataKey(key, v.sealed!, aad(arn, v.version)).toString("utf8");
  } finally {
    key.fill(0);
  }
}

/** What a SecureString reads as without decryption: its encrypted form, base64. */
export function ciphertextOf(v: ParameterVersionRecord): string {
  return Buffer.concat([v.encryptedDataKey!, v.sealed!]).toString("base64");
}
