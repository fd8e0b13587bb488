/**
 * GetObject, HeadObject, PutObject and DeleteObject (data events), each on the current version
 * or, with `versionId`, on one version
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/RetrievingObjectVersions.html).
 */
import { createHash } from "node:crypto";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { checkVersionId, damagedObject, noSuchBucket, noSuchKey, noSuchVersion, objectArn, S3Error, s3RequestParameters } from "./common.ts";
import { SealError } from "../../store/sealing.ts";
import { hasAclHeaders } from "./acl.ts";
import { checkObjectAcl } from "./public-access.ts";
import { parseTaggingHeader, taggingCountHeader } from "./object-tags.ts";
import { decryptObject, encryptObject, encryptionHeaders, requestedEncryption } from "./object-encryption.ts";
import { bypassCheck, isLocked, lockedError, newVersionLock, objectLockHeaders } from "./object-lock.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import type { Bucket, ObjectMeta, PutObjectOptions, S3Storage } from "./storage.ts";
import { existingBucket, resolveObject, type ObjectTarget } from "./target.ts";

/** The version a GetObject or HeadObject reads: S3's errors for a missing version or a delete marker. */
export function readableVersion(storage: S3Storage, b: Bucket, key: string, input: S3Input, method: "GET" | "HEAD" | "PUT" | "DELETE"): ObjectMeta {
  const versionId = input.query.versionId;
  if (versionId !== undefined) {
    checkVersionId(versionId, "versionId");
    const v = storage.version(b.name, key, versionId);
    if (!v) throw noSuchVersion(key, versionId);
    if (v.deleteMarker) {
      throw new S3Error("MethodNotAllowed", "The specified method is not allowed against this resource.", 405, {
        extra: { Method: method, ResourceType: "DeleteMarker" },
        headers: { "x-amz-delete-marker": "true", "x-amz-version-id": v.versionId, "last-modified": v.lastModified.toUTCString(), allow: "DELETE" },
      });
    }
    return v;
  }
  const latest = storage.latest(b.name, key);
  if (!latest) throw noSuchKey(key);
  if (latest.deleteMarker) throw noSuchKey(key, { "x-amz-delete-marker": "true", "x-amz-version-id": latest.versionId });
  return latest;
}

/** `x-amz-version-id` once the bucket has versioning (enabled or suspended). */
function versionHeader(storage: S3Storage, b: Bucket, versionId: string): Record<string, string> {
  return storage.versioning(b.name) !== undefined ? { "x-amz-version-id": versionId } : {};
}

const readAction = (input: S3Input) => (input.query.versionId !== undefined ? "s3:GetObjectVersion" : "s3:GetObject");

/** A GetObject or HeadObject target: whether the caller may also read the object's tags. */
interface ReadTarget extends ObjectTarget {
  tagsReadable: boolean;
  /** whether the Object Lock headers are shown: s3:GetObjectRetention, s3:GetObjectLegalHold */
  retentionReadable: boolean;
  legalHoldReadable: boolean;
}

/**
 * GetObject and HeadObject need s3:GetObject (s3:GetObjectVersion); the tag count is reported
 * only to a caller who may also read the tags, so that check hides the count instead of
 * refusing the call (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, `x-amz-tagging-count`).
 */
function readChecks(input: S3Input, target: ReadTarget): AuthCheck[] {
  const resource = objectArn(target.name, target.key);
  const tagAction = input.query.versionId !== undefined ? "s3:GetObjectVersionTagging" : "s3:GetObjectTagging";
  return [
    { action: readAction(input), resource },
    { action: tagAction, resource, itemDenied: () => (target.tagsReadable = false) },
    { action: "s3:GetObjectRetention", resource, itemDenied: () => (target.retentionReadable = false) },
    { action: "s3:GetObjectLegalHold", resource, itemDenied: () => (target.legalHoldReadable = false) },
  ];
}

function objectHeaders(o: ObjectMeta, target: ReadTarget): Record<string, string> {
  const h: Record<string, string> = {
    "last-modified": o.lastModified.toUTCString(),
    etag: o.etag,
    "content-type": o.contentType,
    "accept-ranges": "bytes",
  };
  if (o.contentEncoding) h["content-encoding"] = o.contentEncoding;
  if (o.contentDisposition) h["content-disposition"] = o.contentDisposition;
  if (o.contentLanguage) h["content-language"] = o.contentLanguage;
  if (o.cacheControl) h["cache-control"] = o.cacheControl;
  if (o.expires) h.expires = o.expires;
  for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v;
  return { ...h, ...encryptionHeaders(o.encryption), ...(target.tagsReadable ? taggingCountHeader(o.tags) : {}), ...objectLockHeaders(o, target) };
}

/** Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined = whole object. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) throw rangeError(size);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw rangeError(size);
  return { start, end };
}

function rangeError(size: number): ServiceError {
  return new ServiceError("InvalidRange", "The requested range is not satisfiable", 416, { extra: { RangeRequested: "", ActualObjectSize: size } });
}

function applyResponseOverrides(headers: Record<string, string>, q: Record<string, string>): void {
  const map: Record<string, string> = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
  };
  for (const [p, h] of Object.entries(map)) if (q[p] !== undefined) headers[h] = q[p];
}

/** A Content-MD5 header must be a base64 MD5 and match the body (InvalidDigest, BadDigest). */
export function checkContentMd5(md5: string | undefined, body: Buffer): void {
  if (md5 === undefined) return;
  const given = Buffer.from(md5, "base64");
  if (given.length !== 16 || given.toString("base64") !== md5.trim())
    throw new ServiceError("InvalidDigest", "The Content-MD5 you specified is not valid.", 400, { extra: { "Content-MD5": md5 } });
  const actual = createHash("md5").update(body).digest();
  if (!actual.equals(given)) {
    throw new ServiceError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400, {
      extra: { ExpectedDigest: md5, CalculatedDigest: actual.toString("base64") },
    });
  }
}

/** The version's stored body; one sealed under S3's key that no longer opens is S3's InternalError. */
function storedBody(storage: S3Storage, bucket: string, key: string, versionId: string): Buffer | undefined {
  try {
    return storage.body(bucket, key, versionId);
  } catch (e) {
    if (e instanceof SealError) throw damagedObject(bucket, key, versionId, e.message);
    throw e;
  }
}

export function getObjectOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ReadTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input): ReadTarget => ({ ...resolveObject(ctx, storage, input), tagsReadable: true, retentionReadable: true, legalHoldReadable: true }),
    authorize: (_ctx, input, target) => readChecks(input, target),
    handler: async function getObject(ctx, input, target) {
      const b = existingBucket(target);
      const meta = readableVersion(storage, b, target.key, input, "GET");
      const stored = storedBody(storage, b.name, target.key, meta.versionId);
      if (!stored) throw noSuchKey(target.key);
      const body = await decryptObject(ctx, b.name, target.key, meta.versionId, meta.encryption, stored);
      const headers = { ...objectHeaders(meta, target), ...versionHeader(storage, b, meta.versionId) };
      applyResponseOverrides(headers, input.query);
      const range = parseRange(input.headers.range, meta.size);
      if (range) {
        headers["content-range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
        return { status: 206, headers, body: body.subarray(range.start, range.end + 1) };
      }
      return { headers, body };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, versionParameter(input)) },
  });
}

export function headObjectOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ReadTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input): ReadTarget => ({ ...resolveObject(ctx, storage, input), tagsReadable: true, retentionReadable: true, legalHoldReadable: true }),
    authorize: (_ctx, input, target) => readChecks(input, target),
    handler: function headObject(_ctx, input, target) {
      const b = existingBucket(target);
      const meta = readableVersion(storage, b, target.key, input, "HEAD");
      const headers = { ...objectHeaders(meta, target), ...versionHeader(storage, b, meta.versionId) };
      headers["content-length"] = String(meta.size);
      return { headers };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, versionParameter(input)) },
  });
}

export function putObjectOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: false,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    // An ACL or tags set with the object need s3:PutObjectAcl / s3:PutObjectTagging as well
    // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, "Permissions")
    authorize: (_ctx, input, { name, key }) => [
      { action: "s3:PutObject", resource: objectArn(name, key) },
      ...(hasAclHeaders(input.headers) ? [{ action: "s3:PutObjectAcl", resource: objectArn(name, key) }] : []),
      ...(input.headers["x-amz-tagging"] !== undefined ? [{ action: "s3:PutObjectTagging", resource: objectArn(name, key) }] : []),
    ],
    handler: async function putObject(ctx, input, target) {
      const b = existingBucket(target);
      const h = input.headers;
      checkContentMd5(h["content-md5"], input.Body);
      const tags = parseTaggingHeader(h["x-amz-tagging"]);
      requestedEncryption(b, h);
      const acl = checkObjectAcl(storage, b, h);
      const lock = newVersionLock(b, h, ctx.now);
      const contentEncoding = (h["content-encoding"] ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s && s.toLowerCase() !== "aws-chunked")
        .join(",");
      const opts: PutObjectOptions = {
        contentType: h["content-type"],
        contentEncoding: contentEncoding || undefined,
        contentDisposition: h["content-disposition"],
        contentLanguage: h["content-language"],
        cacheControl: h["cache-control"],
        expires: h.expires,
        metadata: input.Metadata,
        ...(acl ? { acl } : {}),
        ...(tags ? { tags } : {}),
        ...lock,
      };
      const encrypted = await encryptObject(ctx, b, target.key, input.Body, h);
      if (encrypted.encryption.dataKey) opts.encrypted = encrypted;
      if (!storage.bucket(b.name)) throw noSuchBucket(b.name);
      const { meta, writes } = storage.putObject(b.name, target.key, input.Body, ctx.now, opts);
      ctx.writes.push(...writes);
      const version: Record<string, string> = meta.versionId !== "null" ? { "x-amz-version-id": meta.versionId } : {};
      return { headers: { etag: meta.etag, ...encryptionHeaders(encrypted.encryption), ...version } };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input) },
  });
}

export function deleteObjectOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget & { bypass: boolean }>({
    readOnly: false,
    dataEvent: true,
    resolve: (ctx, input) => ({ ...resolveObject(ctx, storage, input), bypass: false }),
    authorize: (_ctx, input, target) => [
      { action: input.query.versionId !== undefined ? "s3:DeleteObjectVersion" : "s3:DeleteObject", resource: objectArn(target.name, target.key) },
      ...bypassCheck(input, objectArn(target.name, target.key), target),
    ],
    handler: function deleteObject(ctx, input, target) {
      const b = existingBucket(target);
      const versionId = input.query.versionId;
      if (versionId !== undefined) {
        checkVersionId(versionId, "versionId");
        const locked = storage.version(b.name, target.key, versionId);
        if (locked && isLocked(locked, ctx.now, target.bypass)) throw lockedError();
        const { removed, writes } = storage.deleteVersion(b.name, target.key, versionId);
        ctx.writes.push(...writes);
        const headers: Record<string, string> = { "x-amz-version-id": versionId };
        if (removed?.deleteMarker) headers["x-amz-delete-marker"] = "true";
        return { status: 204, headers };
      }
      const { marker, writes } = storage.deleteObject(b.name, target.key, ctx.now);
      ctx.writes.push(...writes);
      const headers: Record<string, string> = marker ? { "x-amz-delete-marker": "true", "x-amz-version-id": marker.versionId } : {};
      return { status: 204, headers };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, versionParameter(input)) },
  });
}

function versionParameter(input: S3Input): Record<string, string> {
  return input.query.versionId !== undefined ? { versionId: input.query.versionId } : {};
}
