/** What the S3 operations share: ARNs, errors, the owner element and CloudTrail requestParameters. */
import { createHash } from "node:crypto";
import { ServiceError } from "../../kernel/errors.ts";
import type { S3Input } from "./protocol.ts";
import { isValidVersionId } from "./storage.ts";
import type { XmlNode } from "./xml.ts";

export const bucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`;
export const objectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`;

/** An S3 error that sends headers with it (delete markers) or keeps its message as given. */
export class S3Error extends ServiceError {
  readonly headers: Record<string, string>;

  constructor(code: string, message: string, status: number, opts: { extra?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    super(code, message, status, { extra: opts.extra });
    this.headers = opts.headers ?? {};
  }
}

/**
 * A stored body that no longer opens (changed or damaged on disk): S3's own InternalError, as S3
 * answers a failure on its side, and the reason in the server's log, naming the object, for
 * whoever keeps the data dir (docs/s3.md#a-damaged-object).
 */
export function damagedObject(bucket: string, key: string, versionId: string, reason: string): S3Error {
  console.error(
    `[localfargate] s3: the stored body of ${bucket}/${key} (version ${versionId}) fails authentication (${reason}): it was changed or damaged on disk; restore the data dir from a backup`,
  );
  return new S3Error("InternalError", "We encountered an internal error. Please try again.", 500);
}

export const noSuchBucket = (bucket: string): ServiceError => new ServiceError("NoSuchBucket", "The specified bucket does not exist", 404, { extra: { BucketName: bucket } });
export const noSuchKey = (key: string, headers?: Record<string, string>): ServiceError =>
  new S3Error("NoSuchKey", "The specified key does not exist.", 404, { extra: { Key: key }, headers });
export const noSuchVersion = (key: string, versionId: string): ServiceError =>
  new ServiceError("NoSuchVersion", "The specified version does not exist.", 404, { extra: { Key: key, VersionId: versionId } });

/** A version id S3 could have made, or `null`; anything else is InvalidArgument. */
export function checkVersionId(value: string, argumentName: string): void {
  if (value === "") throw new ServiceError("InvalidArgument", "Version id cannot be the empty string", 400, { extra: { ArgumentName: argumentName, ArgumentValue: value } });
  if (!isValidVersionId(value)) throw new ServiceError("InvalidArgument", "Invalid version id specified", 400, { extra: { ArgumentName: argumentName, ArgumentValue: value } });
}

function canonicalUserId(accountId: string): string {
  return createHash("sha256").update(`localfargate-s3-owner:${accountId}`).digest("hex");
}

/** S3's <Owner>: a canonical user id (stable per account here) and the display name. */
export function ownerNode(accountId: string): XmlNode {
  return { ID: canonicalUserId(accountId), DisplayName: accountId };
}

export function iso(d: Date): string {
  return d.toISOString();
}

/** CloudTrail's requestParameters of an S3 call: bucketName, Host, key, plus what the operation adds. */
export function s3RequestParameters(input: S3Input, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...(input.Bucket !== undefined ? { bucketName: input.Bucket } : {}),
    Host: input.Host,
    ...(input.Key !== undefined ? { key: input.Key } : {}),
    ...extra,
  };
}

/** The query parameters `names` present in `q`. */
export function pick(q: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (q[n] !== undefined) out[n] = q[n];
  return out;
}
