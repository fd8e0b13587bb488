/**
 * How large a request body may be, decided from the request head alone, before any of the body
 * is read (docs/limits.md). A signature cannot be verified before the body arrives (the
 * payload hash is part of it), so the decision rests on what the head claims:
 *
 * - no SigV4 Authorization header and no presigned `X-Amz-Signature`: MAX_UNSIGNED_BODY.
 *   Unsigned requests are the control and task metadata endpoints, whose bodies are a few
 *   bytes, and anonymous S3 requests (docs/security.md#anonymous-s3-requests).
 * - an S3 object upload (PUT with a key: PutObject) signed, in form, for s3: MAX_S3_BODY. AWS
 *   takes up to 5 GB in one PUT (https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html);
 *   localfargate keeps every body in memory while it is handled, so it caps lower.
 * - anything else signed (awsJson, awsQuery, S3's other operations): MAX_API_BODY. The largest
 *   inputs these APIs take are far smaller (IAM policy documents are at most 131,072
 *   characters, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
 */
import { isS3ControlRequest, virtualHostBucket } from "../services/s3/protocol.ts";

export const MAX_UNSIGNED_BODY = 16 * 1024;
export const MAX_API_BODY = 1024 * 1024;
export const MAX_S3_BODY = 64 * 1024 * 1024;
/**
 * CloudWatch Logs PutLogEvents, signed for logs: AWS counts its 1,048,576-byte batch limit on the
 * decoded messages (docs/logs.md), and JSON escaping can make a message up to six times longer
 * on the wire (`\u0001`), so the body may be larger than MAX_API_BODY.
 */
export const MAX_PUT_LOG_EVENTS_BODY = 6 * 1024 * 1024;
const PUT_LOG_EVENTS_TARGET = "Logs_20140328.PutLogEvents";
const LOGS_AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=[^/,\s]+\/\d{8}\/[^/,\s]+\/logs\/aws4_request, ?SignedHeaders=[^,\s]+, ?Signature=[0-9a-f]{64}$/;

/** A SigV4 Authorization header for s3, in form (its signature is checked once the body is here). */
const S3_AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=[^/,\s]+\/\d{8}\/[^/,\s]+\/s3\/aws4_request, ?SignedHeaders=[^,\s]+, ?Signature=[0-9a-f]{64}$/;
const S3_PRESIGNED_CREDENTIAL = /^[^/]+\/\d{8}\/[^/]+\/s3\/aws4_request$/;

function splitUrl(url: string): { path: string; rawQuery: string } {
  const qi = url.indexOf("?");
  return qi >= 0 ? { path: url.slice(0, qi), rawQuery: url.slice(qi + 1) } : { path: url, rawQuery: "" };
}

/** True when the head claims a signature: an Authorization header or a presigned URL's signature. */
export function claimsSignature(headers: Record<string, string>, rawQuery: string): boolean {
  return headers.authorization !== undefined || /(?:^|&)X-Amz-Signature=/.test(rawQuery);
}

function signedForS3(headers: Record<string, string>, rawQuery: string): boolean {
  const auth = headers.authorization;
  if (auth !== undefined) return S3_AUTHORIZATION.test(auth);
  const q = new URLSearchParams(rawQuery);
  return (
    q.get("X-Amz-Algorithm") === "AWS4-HMAC-SHA256" &&
    S3_PRESIGNED_CREDENTIAL.test(q.get("X-Amz-Credential") ?? "") &&
    /^[0-9a-f]{64}$/.test(q.get("X-Amz-Signature") ?? "") &&
    /^\d{8}T\d{6}Z$/.test(q.get("X-Amz-Date") ?? "")
  );
}

/** A PUT naming an object: path-style `/bucket/key`, or virtual-hosted `bucket.s3…/key`. */
function isObjectPut(method: string, path: string, headers: Record<string, string>): boolean {
  if (method !== "PUT") return false;
  // S3 Control's account calls (/v20180820/...) are API calls, not object uploads
  if (isS3ControlRequest(path, headers, headers.host ?? "")) return false;
  const p = path.startsWith("/") ? path.slice(1) : path;
  if (virtualHostBucket(headers.host ?? "", () => true, false) !== undefined) return p !== "";
  const slash = p.indexOf("/");
  return slash > 0 && slash < p.length - 1;
}

/** The largest body this request head may be followed by. */
export function requestBodyLimit(method: string, url: string, headers: Record<string, string>): number {
  const { path, rawQuery } = splitUrl(url);
  if (!claimsSignature(headers, rawQuery)) return MAX_UNSIGNED_BODY;
  if (isObjectPut(method, path, headers) && signedForS3(headers, rawQuery)) return MAX_S3_BODY;
  if (method === "POST" && headers["x-amz-target"] === PUT_LOG_EVENTS_TARGET && LOGS_AUTHORIZATION.test(headers.authorization ?? "")) return MAX_PUT_LOG_EVENTS_BODY;
  return MAX_API_BODY;
}
