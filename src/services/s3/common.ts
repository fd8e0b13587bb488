/** What the S3 operations share: ARNs, errors, the owner element and CloudTrail requestParameters. */
import { createHash } from "node:crypto";
import { ServiceError } from "../../kernel/errors.ts";
import type { S3Input } from "./protocol.ts";
import type { XmlNode } from "./xml.ts";

export const bucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`;
export const objectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`;

export const noSuchBucket = (bucket: string): ServiceError => new ServiceError("NoSuchBucket", "The specified bucket does not exist", 404, { extra: { BucketName: bucket } });
export const noSuchKey = (key: string): ServiceError => new ServiceError("NoSuchKey", "The specified key does not exist.", 404, { extra: { Key: key } });

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
