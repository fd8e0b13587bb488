/**
 * Server-side encryption of objects: the request's `x-amz-server-side-encryption` headers, else
 * the bucket's default encryption (bucket-config.ts). SSE-KMS really encrypts: S3 asks KMS for a
 * data key as the caller, through S3 (kms:ViaService `s3.amazonaws.com`), with the encryption
 * context `{"aws:s3:arn": <object ARN>}`, seals the body with it and keeps only the encrypted data
 * key; GetObject asks KMS to decrypt that data key, again as the caller, so the key policy, IAM
 * policies and grants decide who can read
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html). Without a key
 * named, the account's AWS managed key `aws/s3` is used (created on first use). SSE-S3 (`AES256`)
 * bodies are sealed by the storage under S3's own key (sse-key.ts), not KMS's.
 */
import type { RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { ensureAwsManagedKey } from "../kms/aws-managed.ts";
import { decryptDataKeyVia, generateDataKeyVia, openWithDataKey, sealWithDataKey, type ViaServiceCaller } from "../kms/envelope.ts";
import { bucketConfig } from "./bucket-config.ts";
import { damagedObject, objectArn } from "./common.ts";
import type { Bucket, ObjectEncryption } from "./storage.ts";

const ALGORITHMS = new Set(["AES256", "aws:kms", "aws:kms:dsse"]);

function callerOf(ctx: RequestContext): ViaServiceCaller {
  return { principal: ctx.principal, region: ctx.region, service: "s3" };
}

const contextFor = (bucket: string, key: string) => ({ "aws:s3:arn": objectArn(bucket, key) });
const aadFor = (bucket: string, key: string) => `s3|${objectArn(bucket, key)}`;

/** KMS's refusals as S3 answers them: AccessDenied, or the KMS error's code prefixed with `KMS.`. */
function kmsFailure(e: unknown): never {
  if (e instanceof ServiceError) {
    if (e.code === "AccessDeniedException") throw new ServiceError("AccessDenied", e.message || "Access Denied", 403);
    throw new ServiceError(`KMS.${e.code}`, e.message, 400);
  }
  throw e;
}

/** What encryption a PutObject asks for (headers, then the bucket's default). */
export function requestedEncryption(b: Bucket, headers: Record<string, string>): { algorithm: string; keyId?: string; bucketKeyEnabled: boolean } {
  const header = headers["x-amz-server-side-encryption"];
  const headerKey = headers["x-amz-server-side-encryption-aws-kms-key-id"];
  if (header !== undefined) {
    if (!ALGORITHMS.has(header)) throw new ServiceError("InvalidArgument", "The encryption method specified is not supported", 400);
    if (headerKey !== undefined && header === "AES256") {
      throw new ServiceError("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms", 400);
    }
    return { algorithm: header, ...(headerKey ? { keyId: headerKey } : {}), bucketKeyEnabled: headers["x-amz-server-side-encryption-bucket-key-enabled"] === "true" };
  }
  if (headerKey !== undefined)
    throw new ServiceError("InvalidArgument", "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms", 400);
  const rule = bucketConfig(b, "encryption")?.Rule as
    { ApplyServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string }; BucketKeyEnabled?: boolean } | undefined;
  const apply = rule?.ApplyServerSideEncryptionByDefault;
  return { algorithm: apply?.SSEAlgorithm ?? "AES256", ...(apply?.KMSMasterKeyID ? { keyId: apply.KMSMasterKeyID } : {}), bucketKeyEnabled: rule?.BucketKeyEnabled === true };
}

/** Encrypts a new object's body as requested: the body to store and what to remember about it. */
export async function encryptObject(
  ctx: RequestContext,
  b: Bucket,
  key: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ stored: Buffer; encryption: ObjectEncryption }> {
  const want = requestedEncryption(b, headers);
  if (want.algorithm === "AES256") return { stored: body, encryption: { algorithm: "AES256" } };
  let keyId = want.keyId;
  if (keyId === undefined) keyId = await ensureAwsManagedKey(ctx.app.get("kms"), "s3", b.ownerAccountId, b.region);
  let dk;
  try {
    dk = await generateDataKeyVia(ctx.app, callerOf(ctx), keyId, contextFor(b.name, key));
  } catch (e) {
    kmsFailure(e);
  }
  try {
    const stored = sealWithDataKey(dk.plaintext, body, aadFor(b.name, key));
    return { stored, encryption: { algorithm: want.algorithm, keyArn: dk.keyArn, bucketKeyEnabled: want.bucketKeyEnabled, dataKey: dk.ciphertextBlob.toString("base64") } };
  } finally {
    dk.plaintext.fill(0);
  }
}

/** The stored body in the clear: SSE-KMS bodies are opened with the data key KMS decrypts for the caller. */
export async function decryptObject(
  ctx: RequestContext,
  bucket: string,
  key: string,
  versionId: string,
  encryption: ObjectEncryption | undefined,
  stored: Buffer,
): Promise<Buffer> {
  if (!encryption?.dataKey) return stored;
  let dataKey: Buffer;
  try {
    dataKey = await decryptDataKeyVia(ctx.app, callerOf(ctx), Buffer.from(encryption.dataKey, "base64"), contextFor(bucket, key));
  } catch (e) {
    kmsFailure(e);
  }
  try {
    return openWithDataKey(dataKey, stored, aadFor(bucket, key));
  } catch (e) {
    throw damagedObject(bucket, key, versionId, `the body does not open under its data key: ${(e as Error).message}`);
  } finally {
    dataKey.fill(0);
  }
}

/** The response headers that say how an object is encrypted. */
export function encryptionHeaders(encryption: ObjectEncryption | undefined): Record<string, string> {
  const e = encryption ?? { algorithm: "AES256" };
  const h: Record<string, string> = { "x-amz-server-side-encryption": e.algorithm };
  if (e.keyArn) h["x-amz-server-side-encryption-aws-kms-key-id"] = e.keyArn;
  if (e.bucketKeyEnabled) h["x-amz-server-side-encryption-bucket-key-enabled"] = "true";
  return h;
}
