/**
 * Builds one CloudTrail record (AWS's shape, eventVersion 1.08) for a request: allowed, denied
 * or failed, over HTTP or made in-process by a service.
 */
import { newEventId } from "./event-id.ts";
import type { CloudTrailResource } from "../kernel/operation.ts";
import type { Principal } from "../kernel/principal.ts";
import type { AppContext, AuditSink, RequestContext, ServiceEvent } from "../kernel/context.ts";
import type { WriteOp } from "../store/store.ts";
import type { ServiceDef } from "../kernel/service.ts";
import type { ServiceShapes } from "../protocol/shapes/types.ts";
import type { ServiceError } from "../kernel/errors.ts";
import { own } from "../util/own-property.ts";

export const EVENT_VERSION = "1.08";

let lastSecond = NaN;
let lastIso = "";
/** "2026-11-29T07:40:00Z": every record has one, and many share the second, so the last is kept. */
export function isoSeconds(d: Date): string {
  const sec = Math.floor(d.getTime() / 1000);
  if (sec !== lastSecond) {
    lastSecond = sec;
    lastIso = d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return lastIso;
}

/**
 * An unsigned S3 request, as AWS records it: the anonymous "account"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html).
 */
export const ANONYMOUS_S3_IDENTITY = { type: "AWSAccount", principalId: "", accountId: "ANONYMOUS_PRINCIPAL" } as const;

export function userIdentity(p: Principal, service?: string): Record<string, unknown> {
  switch (p.type) {
    case "AWSService":
      return { type: "AWSService", invokedBy: p.invokedBy ?? p.arn };
    case "Root":
      return {
        type: "Root",
        principalId: p.accountId,
        arn: p.arn,
        accountId: p.accountId,
        ...(p.accessKeyId ? { accessKeyId: p.accessKeyId } : {}),
        ...(p.session ? { sessionContext: sessionContext(p) } : {}),
      };
    case "IAMUser":
      return {
        type: "IAMUser",
        principalId: p.principalId,
        arn: p.arn,
        accountId: p.accountId,
        ...(p.accessKeyId ? { accessKeyId: p.accessKeyId } : {}),
        userName: p.userName,
        ...(p.session ? { sessionContext: sessionContext(p) } : {}),
      };
    case "FederatedUser":
      return {
        type: "FederatedUser",
        principalId: p.principalId,
        arn: p.arn,
        accountId: p.accountId,
        ...(p.accessKeyId ? { accessKeyId: p.accessKeyId } : {}),
        sessionContext: sessionContext(p),
      };
    case "Anonymous":
      return service === "s3" ? { ...ANONYMOUS_S3_IDENTITY } : { type: "Unknown" };
    case "AssumedRole":
      return {
        type: "AssumedRole",
        principalId: p.principalId,
        arn: p.arn,
        accountId: p.accountId,
        ...(p.accessKeyId ? { accessKeyId: p.accessKeyId } : {}),
        sessionContext: sessionContext(p),
      };
  }
}

/**
 * AWS's sessionContext: role sessions name their issuer; sessions from GetSessionToken (IAM user or
 * root) carry an empty issuer. `webIdFederationData` is present (empty) outside web identity.
 */
function sessionContext(p: Principal): Record<string, unknown> {
  const s = p.session!;
  const attributes = { creationDate: isoSeconds(s.createdAt), mfaAuthenticated: String(s.mfaAuthenticated) };
  if (p.type === "FederatedUser") {
    // GetFederationToken: the issuer is the IAM user (or the root user) that asked for the token
    const issuer =
      s.issuerType === "IAMUser"
        ? { type: "IAMUser", principalId: s.issuerId, arn: s.issuerArn, accountId: p.accountId, userName: s.issuerArn.slice(s.issuerArn.lastIndexOf("/") + 1) }
        : { type: "Root", principalId: p.accountId, arn: s.issuerArn, accountId: p.accountId };
    return { sessionIssuer: issuer, webIdFederationData: {}, attributes };
  }
  if (s.issuerType !== "Role") return { sessionIssuer: {}, webIdFederationData: {}, attributes };
  return {
    sessionIssuer: { type: "Role", principalId: s.roleId, arn: s.roleArn, accountId: p.accountId, userName: s.roleName },
    webIdFederationData: s.federatedProvider ? { federatedProvider: s.federatedProvider, attributes: {} } : {},
    attributes,
  };
}

/** Members AWS never logs: secrets, plaintext, ciphertext, tokens. */
const NEVER_LOGGED = new Set([
  "GrantTokens",
  "GrantToken",
  "ImportToken",
  "Password",
  "OldPassword",
  "NewPassword",
  "PrivateKey",
  "SecretAccessKey",
  "ServicePassword",
  "ServiceCredentialSecret",
  "SessionToken",
  "PolicyDocument_",
]);

/** Default requestParameters: the input with lower-camel member names, blobs and secrets left out. */
export function defaultRequestParameters(shapes: ServiceShapes | undefined, shapeName: string | undefined, input: unknown): unknown {
  if (input === undefined || input === null) return null;
  const v = camelize(shapes, shapeName, input);
  if (v && typeof v === "object" && Object.keys(v as object).length === 0) return null;
  return v ?? null;
}

function camelize(shapes: ServiceShapes | undefined, shapeName: string | undefined, v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  if (v instanceof Uint8Array) return undefined;
  if (v instanceof Date) return isoSeconds(v);
  const shape = shapeName ? shapes?.shapes[shapeName] : undefined;
  if (Array.isArray(v)) {
    const member = shape?.type === "list" ? shape.member : undefined;
    return v.map((x) => camelize(shapes, member, x));
  }
  if (typeof v === "object") {
    if (shape?.type === "map") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = camelize(shapes, shape.value, x);
      return out;
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (NEVER_LOGGED.has(k)) continue;
      const target = shape?.type === "structure" ? shape.members[k]?.target : undefined;
      const c = camelize(shapes, target, x);
      if (c !== undefined) out[k[0].toLowerCase() + k.slice(1)] = c;
    }
    return out;
  }
  return v;
}

const READ_PREFIXES = ["Describe", "List", "Get", "Lookup", "Head", "Simulate"];
export function defaultReadOnly(operation: string): boolean {
  return READ_PREFIXES.some((p) => operation.startsWith(p));
}

export interface Outcome {
  input?: unknown;
  output?: unknown;
  error?: ServiceError;
}

export function buildRecord(ctx: RequestContext, svc: ServiceDef, outcome: Outcome): Record<string, unknown> {
  const op = own(svc.operations, ctx.operation);
  const p = ctx.principal;
  const isService = p.type === "AWSService";
  const region = svc.globalRegion ?? ctx.region;
  const a = ctx.audit;
  let requestParameters: unknown = a.requestParameters;
  if (requestParameters === undefined) {
    try {
      requestParameters =
        op?.audit?.requestParameters && outcome.input !== undefined
          ? op.audit.requestParameters(outcome.input as object, ctx)
          : defaultRequestParameters(svc.shapes, own(svc.shapes?.operations, ctx.operation)?.input, outcome.input);
    } catch {
      requestParameters = null;
    }
  }
  let responseElements: unknown = a.responseElements;
  if (responseElements === undefined) {
    try {
      responseElements = !outcome.error && op?.audit?.responseElements ? op.audit.responseElements(outcome.output, outcome.input as object, ctx) : null;
    } catch {
      responseElements = null;
    }
  }
  if (outcome.error) responseElements = null;
  const serviceEvent = a.eventType === "AwsServiceEvent";
  // A service acting with the caller's credentials (a forward access session): CloudTrail names
  // the service as invokedBy, source IP and user agent
  // (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
  const via = !isService ? ctx.viaService : undefined;
  const record: Record<string, unknown> = {
    eventVersion: EVENT_VERSION,
    userIdentity: serviceEvent
      ? { accountId: p.accountId, invokedBy: "AWS Internal" }
      : (a.userIdentity ?? (via ? { ...userIdentity(p, svc.name), invokedBy: via } : userIdentity(p, svc.name))),
    eventTime: isoSeconds(ctx.now),
    eventSource: svc.eventSource,
    eventName: op?.eventName ?? ctx.operation,
    awsRegion: region,
    sourceIPAddress: serviceEvent ? "AWS Internal" : isService ? (p.invokedBy ?? p.arn) : (via ?? ctx.sourceIp),
    userAgent: serviceEvent ? "AWS Internal" : isService ? (p.invokedBy ?? p.arn) : (via ?? ctx.userAgent),
  };
  if (outcome.error) {
    record.errorCode = outcome.error.code;
    record.errorMessage = outcome.error.message;
  }
  record.requestParameters = requestParameters ?? null;
  record.responseElements = responseElements ?? null;
  if (a.additionalEventData) record.additionalEventData = a.additionalEventData;
  if (!serviceEvent) record.requestID = ctx.requestId;
  record.eventID = newEventId(ctx.now.getTime());
  record.readOnly = op?.readOnly ?? defaultReadOnly(ctx.operation);
  if (a.resources?.length) record.resources = a.resources;
  record.eventType = a.eventType ?? "AwsApiCall";
  // S3 object-level calls are data events (eventCategory "Data", managementEvent false): not shown
  // by LookupEvents, delivered only to trails whose selectors ask for them
  const data = op?.dataEvent === true;
  record.managementEvent = !data;
  record.recipientAccountId = resourceAccount(ctx.audit.resources, p.accountId);
  if (a.serviceEventDetails) record.serviceEventDetails = a.serviceEventDetails;
  if (isService && !serviceEvent) record.sharedEventID = record.eventID;
  record.eventCategory = data ? "Data" : "Management";
  return record;
}

/**
 * The caller's account when it is an account of its own (not an AWS service, an anonymous
 * caller or a service event), else undefined.
 */
function callerAccountOf(record: Record<string, unknown>, caller: Principal): string | undefined {
  if (caller.type === "AWSService" || caller.type === "Anonymous" || record.eventType === "AwsServiceEvent") return undefined;
  return /^\d{12}$/.test(caller.accountId) ? caller.accountId : undefined;
}

/** Refusals by policy: the errors AWS's services answer when a call is not authorized. */
const ACCESS_DENIED = new Set(["AccessDenied", "AccessDeniedException"]);

/**
 * How a resource owner's copy of another account's call names the caller: the account and the
 * principal's unique id, never its ARN, name, access key or session
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html, "Example
 * cross-account AWS STS API events"; type AWSAccount in
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
 * A service acting with the caller's credentials stays named (`invokedBy`).
 */
export function crossAccountIdentity(userIdentity: Record<string, unknown>): Record<string, unknown> {
  return {
    type: "AWSAccount",
    principalId: userIdentity.principalId ?? "",
    accountId: userIdentity.accountId ?? "",
    ...(typeof userIdentity.invokedBy === "string" ? { invokedBy: userIdentity.invokedBy } : {}),
  };
}

/**
 * The records one call delivers, one per account that receives it. This is the one place that
 * decides the recipients, from the caller's account and the account that owns the call's resource
 * (`recipientAccountId` of `record`):
 * - the same account, or a caller without an account of its own: the one record;
 * - another account's caller: a copy for each account, each with its own eventID and
 *   recipientAccountId, tied by one sharedEventID
 *   (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
 *   The caller's account sees its principal in full; the owner's copy names it as
 *   `crossAccountIdentity` does;
 * - a management call of another account's caller refused by policy: the caller's account only,
 *   as KMS and STS log them (https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html,
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/cloudtrail-integration.html). Data events
 *   keep both copies.
 */
export function recordsPerAccount(record: Record<string, unknown>, caller: Principal): Record<string, unknown>[] {
  // most calls stay in their own account: decided before anything else is looked at
  if (caller.accountId === record.recipientAccountId) return [record];
  const callerAccount = callerAccountOf(record, caller);
  if (!callerAccount) return [record];
  const callersCopy = { ...record, recipientAccountId: callerAccount };
  if (record.eventCategory !== "Data" && ACCESS_DENIED.has(record.errorCode as string)) return [callersCopy];
  const at = Date.parse(record.eventTime as string);
  const shared = newEventId(at);
  const ownersCopy = { ...record, userIdentity: crossAccountIdentity((record.userIdentity ?? {}) as Record<string, unknown>) };
  return [withShared(ownersCopy, record.eventID, shared), withShared(callersCopy, newEventId(at), shared)];
}

/** Where each record of `recordsPerAccount` is stored: its recipient's account, in its Region. */
export function deliveries(record: Record<string, unknown>, caller: Principal): { record: Record<string, unknown>; meta: { accountId: string; region: string } }[] {
  return recordsPerAccount(record, caller).map((r) => ({ record: r, meta: { accountId: r.recipientAccountId as string, region: r.awsRegion as string } }));
}

/** Write ops that store a call's record in every account that receives it, in the caller's transaction. */
export function recordWrites(sink: AuditSink, record: Record<string, unknown>, caller: Principal): WriteOp[] {
  return deliveries(record, caller).flatMap((d) => sink.record(d.record, d.meta));
}

/**
 * Makes a call's record durable now in every account that receives it (the audit log where there
 * is one, else its own transaction): for calls made outside the dispatcher that change nothing.
 */
export async function storeRecordNow(app: AppContext, sink: AuditSink, record: Record<string, unknown>, caller: Principal): Promise<void> {
  if (sink.append) {
    for (const d of deliveries(record, caller)) await sink.append(d.record, d.meta);
    return;
  }
  await app.store.commit(recordWrites(sink, record, caller));
}

/** The record with the given eventID, and sharedEventID just before eventCategory, where AWS's records carry it. */
function withShared(record: Record<string, unknown>, eventID: unknown, sharedEventID: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (k === "eventCategory") out.sharedEventID = sharedEventID;
    out[k] = k === "eventID" ? eventID : v;
  }
  return out;
}

/** The account that receives the event: the owner of the first resource, else the caller's. */
function resourceAccount(resources: CloudTrailResource[] | undefined, fallback: string): string {
  const r = resources?.find((x) => /^\d{12}$/.test(x.accountId));
  if (r) return r.accountId;
  const arnAccount = resources?.[0]?.ARN.split(":")[4];
  if (arnAccount && /^\d{12}$/.test(arnAccount)) return arnAccount;
  return fallback;
}

/** The record of an AwsServiceEvent, in AWS's shape (no requestID, "AWS Internal" caller). */
export function buildServiceEventRecord(ev: ServiceEvent, now: Date): Record<string, unknown> {
  const record: Record<string, unknown> = {
    eventVersion: EVENT_VERSION,
    userIdentity: { accountId: ev.accountId, invokedBy: "AWS Internal" },
    eventTime: isoSeconds(ev.eventTime ?? now),
    eventSource: ev.eventSource,
    eventName: ev.eventName,
    awsRegion: ev.region,
    sourceIPAddress: "AWS Internal",
    userAgent: "AWS Internal",
    requestParameters: ev.requestParameters ?? null,
    responseElements: ev.responseElements ?? null,
  };
  if (ev.additionalEventData) record.additionalEventData = ev.additionalEventData;
  record.eventID = newEventId((ev.eventTime ?? now).getTime());
  record.readOnly = ev.readOnly ?? false;
  if (ev.resources?.length) record.resources = ev.resources;
  record.eventType = "AwsServiceEvent";
  record.managementEvent = true;
  record.recipientAccountId = ev.accountId;
  if (ev.serviceEventDetails) record.serviceEventDetails = ev.serviceEventDetails;
  record.eventCategory = "Management";
  return record;
}
