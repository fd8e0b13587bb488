/**
 * S3 Object Lock (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
 * a bucket's Object Lock configuration (enabled for good, with an optional default retention),
 * each version's retention (GOVERNANCE or COMPLIANCE until a date) and legal hold, the
 * `x-amz-object-lock-*` headers of PutObject, and the rule every delete of a version obeys: a
 * version under retention (until the date passes on the service clock) or under a legal hold
 * cannot be deleted; GOVERNANCE yields to `x-amz-bypass-governance-retention: true` from a caller
 * allowed s3:BypassGovernanceRetention, COMPLIANCE to no one.
 */
import type { Element } from "@xmldom/xmldom";
import type { RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { childElements, malformedXml, rootOf, textOf } from "./bucket-config.ts";
import { checkVersionId, objectArn, S3Error, s3RequestParameters } from "./common.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import type { Bucket, BucketObjectLock, ObjectMeta, ObjectRetention, RetentionMode, S3Storage } from "./storage.ts";
import { authorizedOnBucket, existingBucket, resolveBucket, resolveObject, type BucketTarget, type ObjectTarget } from "./target.ts";
import type { XmlNode } from "./xml.ts";

const MODES: readonly string[] = ["GOVERNANCE", "COMPLIANCE"];

export const lockedError = () => new S3Error("AccessDenied", "Access Denied because object protected by object lock.", 403);
const missingLockConfiguration = () => new ServiceError("InvalidRequest", "Bucket is missing Object Lock Configuration", 400);
const noObjectLockConfiguration = () => new ServiceError("NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration", 404);

/** A request that names object-lock settings must carry Content-MD5 or a flexible checksum. */
function requireIntegrityHeader(h: Record<string, string>, operation: string): void {
  if (h["content-md5"] !== undefined || h["x-amz-trailer"] !== undefined) return;
  if (Object.keys(h).some((k) => k.startsWith("x-amz-checksum-") && k !== "x-amz-checksum-type" && k !== "x-amz-checksum-algorithm")) return;
  throw new ServiceError("InvalidRequest", `Content-MD5 OR x-amz-checksum- HTTP header is required for ${operation} requests with Object Lock parameters`, 400);
}

/** True while the version may not be deleted (or its retention weakened) by this caller. */
export function isLocked(meta: ObjectMeta, now: Date, bypassGovernance: boolean): boolean {
  if (meta.legalHold) return true;
  const r = meta.retention;
  if (!r || Date.parse(r.until) <= now.getTime()) return false;
  return r.mode === "COMPLIANCE" || !bypassGovernance;
}

/** `x-amz-bypass-governance-retention: true`, and the authorization check it needs (denied: no bypass). */
export function bypassCheck(input: S3Input, resource: string, target: { bypass: boolean }): AuthCheck[] {
  if ((input.headers["x-amz-bypass-governance-retention"] ?? "").toLowerCase() !== "true") return [];
  target.bypass = true;
  return [{ action: "s3:BypassGovernanceRetention", resource, itemDenied: () => (target.bypass = false) }];
}

/** A retain-until date as S3 takes it (ISO 8601); InvalidArgument otherwise. */
function parseDate(text: string | undefined, argument: string): Date {
  const d = text !== undefined && /^\d{4}-\d{2}-\d{2}T/.test(text.trim()) ? new Date(text.trim()) : new Date(NaN);
  if (Number.isNaN(d.getTime())) {
    throw new ServiceError("InvalidArgument", "The retain until date must be provided in ISO 8601 format", 400, { extra: { ArgumentName: argument, ArgumentValue: text ?? "" } });
  }
  return d;
}

function futureRetention(mode: string | undefined, until: string | undefined, now: Date, argument: string): ObjectRetention {
  if (mode === undefined || !MODES.includes(mode)) {
    throw new ServiceError("InvalidArgument", "Unknown wormMode directive.", 400, { extra: { ArgumentName: "x-amz-object-lock-mode", ArgumentValue: mode ?? "" } });
  }
  const date = parseDate(until, argument);
  if (date.getTime() <= now.getTime()) throw new ServiceError("InvalidArgument", "The retain until date must be in the future!", 400);
  return { mode: mode as RetentionMode, until: date.toISOString() };
}

/**
 * What PutObject's `x-amz-object-lock-*` headers give the new version (without a retention, the
 * storage gives it the bucket's default); errors as S3 answers them, before anything is stored.
 */
export function newVersionLock(b: Bucket, h: Record<string, string>, now: Date): { retention?: ObjectRetention; legalHold?: boolean } {
  const mode = h["x-amz-object-lock-mode"];
  const until = h["x-amz-object-lock-retain-until-date"];
  const hold = h["x-amz-object-lock-legal-hold"];
  if (mode === undefined && until === undefined && hold === undefined) return {};
  // PutObject words this error without the space the object-lock calls have.
  if (!b.objectLock) throw new ServiceError("InvalidRequest", "Bucket is missing ObjectLockConfiguration", 400);
  if ((mode === undefined) !== (until === undefined)) {
    throw new ServiceError("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied", 400);
  }
  if (hold !== undefined && hold !== "ON" && hold !== "OFF") {
    throw new ServiceError("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'", 400, { extra: { ArgumentName: "x-amz-object-lock-legal-hold", ArgumentValue: hold } });
  }
  const retention = mode !== undefined ? futureRetention(mode, until, now, "x-amz-object-lock-retain-until-date") : undefined;
  requireIntegrityHeader(h, "Put Object");
  return { ...(retention ? { retention } : {}), ...(hold !== undefined ? { legalHold: hold === "ON" } : {}) };
}

/**
 * The response headers of GetObject and HeadObject for a locked version, each only for a caller
 * who may read it (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
 */
export function objectLockHeaders(meta: ObjectMeta, readable: { retentionReadable: boolean; legalHoldReadable: boolean }): Record<string, string> {
  const h: Record<string, string> = {};
  if (meta.retention && readable.retentionReadable) {
    h["x-amz-object-lock-mode"] = meta.retention.mode;
    h["x-amz-object-lock-retain-until-date"] = meta.retention.until;
  }
  if (meta.legalHold && readable.legalHoldReadable) h["x-amz-object-lock-legal-hold"] = "ON";
  return h;
}

function positiveInteger(text: string | undefined, name: "Days" | "Years"): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw malformedXml();
  const n = Number(text);
  if (n <= 0) throw new ServiceError("InvalidArgument", "Default retention period must be a positive integer value.", 400, { extra: { ArgumentName: name } });
  // at most 100 years (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html)
  if (n > (name === "Days" ? 36500 : 100)) throw new ServiceError("InvalidRetentionPeriod", "Default retention period is too large.", 400);
  return n;
}

/** The ObjectLockConfiguration document: `ObjectLockEnabled` Enabled, an optional rule with a mode and Days or Years. */
function parseLockConfiguration(body: Buffer): BucketObjectLock {
  const root = rootOf(body, "ObjectLockConfiguration");
  if (textOf(root, "ObjectLockEnabled") !== "Enabled") throw malformedXml();
  const rule = childElements(root, "Rule")[0];
  if (!rule) return {};
  const retention: Element | undefined = childElements(rule, "DefaultRetention")[0];
  if (!retention) throw malformedXml();
  const mode = textOf(retention, "Mode");
  const days = positiveInteger(textOf(retention, "Days"), "Days");
  const years = positiveInteger(textOf(retention, "Years"), "Years");
  if (mode === undefined || !MODES.includes(mode)) throw malformedXml();
  if ((days === undefined) === (years === undefined)) throw malformedXml();
  return { rule: { mode: mode as RetentionMode, ...(days !== undefined ? { days } : { years }) } };
}

function lockConfigurationNode(lock: BucketObjectLock): XmlNode {
  const r = lock.rule;
  return {
    ObjectLockEnabled: "Enabled",
    ...(r ? { Rule: { DefaultRetention: { Mode: r.mode, ...(r.days !== undefined ? { Days: r.days } : { Years: r.years }) } } } : {}),
  };
}

const bucketParameters = (input: S3Input) => s3RequestParameters(input, { "object-lock": "" });

export function putObjectLockConfigurationOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: false,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:PutBucketObjectLockConfiguration"),
    handler: function putObjectLockConfiguration(ctx, input, target) {
      const b = existingBucket(target);
      requireIntegrityHeader(input.headers, "PutObjectLockConfiguration");
      const lock = parseLockConfiguration(input.Body);
      // Enabling it on an existing bucket needs versioning on
      // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html).
      if (!b.objectLock && storage.versioning(b.name) !== "Enabled") {
        throw new ServiceError("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration", 409);
      }
      ctx.writes.push(...storage.setBucketObjectLock(b.name, lock));
      return {};
    },
    audit: { requestParameters: bucketParameters },
  });
}

export function getObjectLockConfigurationOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: true,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:GetBucketObjectLockConfiguration"),
    handler: function getObjectLockConfiguration(_ctx, _input, target) {
      const b = existingBucket(target);
      if (!b.objectLock) {
        throw new ServiceError("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket", 404, { extra: { BucketName: b.name } });
      }
      return { xml: { root: "ObjectLockConfiguration", body: lockConfigurationNode(b.objectLock) } };
    },
    audit: { requestParameters: bucketParameters },
  });
}

const versioned = (input: S3Input) => input.query.versionId !== undefined;

/** The version a retention or legal-hold call names: S3's errors for a missing one or a delete marker. */
function lockedVersion(storage: S3Storage, b: Bucket, key: string, input: S3Input): ObjectMeta {
  const versionId = input.query.versionId;
  if (versionId !== undefined) checkVersionId(versionId, "versionId");
  const meta = versionId !== undefined ? storage.version(b.name, key, versionId) : storage.latest(b.name, key);
  if (!meta) {
    if (versionId !== undefined) throw new ServiceError("NoSuchVersion", "The specified version does not exist.", 404, { extra: { Key: key, VersionId: versionId } });
    throw new ServiceError("NoSuchKey", "The specified key does not exist.", 404, { extra: { Key: key } });
  }
  if (meta.deleteMarker) throw new ServiceError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405, { extra: { ResourceType: "DeleteMarker" } });
  return meta;
}

function versionHeader(meta: ObjectMeta): Record<string, string> {
  return meta.versionId !== "null" ? { "x-amz-version-id": meta.versionId } : {};
}

interface RetentionTarget extends ObjectTarget {
  bypass: boolean;
}

export function putObjectRetentionOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, RetentionTarget>({
    readOnly: false,
    dataEvent: true,
    resolve: (ctx, input) => ({ ...resolveObject(ctx, storage, input), bypass: false }),
    authorize: (_ctx, input, target) => {
      const resource = objectArn(target.name, target.key);
      return [{ action: "s3:PutObjectRetention", resource }, ...bypassCheck(input, resource, target)];
    },
    handler: function putObjectRetention(ctx, input, target) {
      const b = existingBucket(target);
      requireIntegrityHeader(input.headers, "PutObjectRetention");
      const root = rootOf(input.Body, "Retention");
      const mode = textOf(root, "Mode");
      const until = textOf(root, "RetainUntilDate");
      if (!b.objectLock) throw missingLockConfiguration();
      const meta = lockedVersion(storage, b, target.key, input);
      let next: ObjectRetention | null;
      if (mode === undefined && until === undefined) next = null;
      else if (mode === undefined || until === undefined) throw malformedXml();
      else next = futureRetention(mode, until, ctx.now, "RetainUntilDate");
      if (weakens(meta.retention, next, ctx.now, target.bypass)) throw lockedError();
      ctx.writes.push(...storage.setObjectLockState(b.name, target.key, meta.versionId, { retention: next }));
      return { headers: versionHeader(meta) };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { retention: "", ...(versioned(input) ? { versionId: input.query.versionId } : {}) }) },
  });
}

/**
 * Whether replacing a retention in force shortens or removes it, or turns COMPLIANCE into
 * GOVERNANCE: COMPLIANCE never allows it, GOVERNANCE only with the bypass.
 */
function weakens(current: ObjectRetention | undefined, next: ObjectRetention | null, now: Date, bypass: boolean): boolean {
  if (!current || Date.parse(current.until) <= now.getTime()) return false;
  const weaker = next === null || Date.parse(next.until) < Date.parse(current.until) || (current.mode === "COMPLIANCE" && next.mode === "GOVERNANCE");
  if (!weaker) return false;
  return current.mode === "COMPLIANCE" || !bypass;
}

export function getObjectRetentionOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, _input, { name, key }) => [{ action: "s3:GetObjectRetention", resource: objectArn(name, key) }],
    handler: function getObjectRetention(_ctx, input, target) {
      const b = existingBucket(target);
      if (!b.objectLock) throw missingLockConfiguration();
      const meta = lockedVersion(storage, b, target.key, input);
      if (!meta.retention) throw noObjectLockConfiguration();
      return { xml: { root: "Retention", body: { Mode: meta.retention.mode, RetainUntilDate: meta.retention.until } } };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { retention: "", ...(versioned(input) ? { versionId: input.query.versionId } : {}) }) },
  });
}

export function putObjectLegalHoldOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: false,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, _input, { name, key }) => [{ action: "s3:PutObjectLegalHold", resource: objectArn(name, key) }],
    handler: function putObjectLegalHold(ctx: RequestContext, input, target) {
      const b = existingBucket(target);
      requireIntegrityHeader(input.headers, "PutObjectLegalHold");
      const status = textOf(rootOf(input.Body, "LegalHold"), "Status");
      if (status !== "ON" && status !== "OFF") throw malformedXml();
      if (!b.objectLock) throw missingLockConfiguration();
      const meta = lockedVersion(storage, b, target.key, input);
      ctx.writes.push(...storage.setObjectLockState(b.name, target.key, meta.versionId, { legalHold: status === "ON" }));
      return { headers: versionHeader(meta) };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { "legal-hold": "", ...(versioned(input) ? { versionId: input.query.versionId } : {}) }) },
  });
}

export function getObjectLegalHoldOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, ObjectTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input) => resolveObject(ctx, storage, input),
    authorize: (_ctx, _input, { name, key }) => [{ action: "s3:GetObjectLegalHold", resource: objectArn(name, key) }],
    handler: function getObjectLegalHold(_ctx, input, target) {
      const b = existingBucket(target);
      if (!b.objectLock) throw missingLockConfiguration();
      const meta = lockedVersion(storage, b, target.key, input);
      if (meta.legalHold === undefined) throw noObjectLockConfiguration();
      return { xml: { root: "LegalHold", body: { Status: meta.legalHold ? "ON" : "OFF" } } };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { "legal-hold": "", ...(versioned(input) ? { versionId: input.query.versionId } : {}) }) },
  });
}
