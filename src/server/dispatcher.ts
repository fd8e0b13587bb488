/**
 * One operation call, over HTTP or in-process: authorize, run the handler, record the
 * CloudTrail event and commit the request's writes together, then return the output.
 */
import { randomUUID } from "node:crypto";
import { ServiceError } from "../kernel/errors.ts";
import { buildRecord, deliveries } from "../audit/record.ts";
import type { AppContext, RequestContext } from "../kernel/context.ts";
import type { Principal } from "../kernel/principal.ts";
import type { ServiceDef } from "../kernel/service.ts";
import { authorizeChecks } from "../authz/authorize.ts";
import { own } from "../util/own-property.ts";

export interface CallMeta {
  requestId?: string;
  region: string;
  principal: Principal;
  sourceIp: string;
  userAgent: string;
  secureTransport: boolean;
  internal: boolean;
  viaService?: string;
}

/** A call's context as the dispatcher keeps it: with the work queued for after its commit. */
export interface CallContext extends RequestContext {
  readonly afterCommitQueue: (() => void)[];
}

export function newContext(app: AppContext, svc: ServiceDef, operation: string, meta: CallMeta): CallContext {
  const afterCommitQueue: (() => void)[] = [];
  return {
    requestId: meta.requestId ?? randomUUID(),
    service: svc,
    operation,
    region: meta.region,
    principal: meta.principal,
    sourceIp: meta.sourceIp,
    userAgent: meta.userAgent,
    secureTransport: meta.secureTransport,
    now: app.clock.now(),
    app,
    writes: [],
    audit: {},
    internal: meta.internal,
    viaService: meta.viaService,
    afterCommitQueue,
    afterCommit: (fn) => void afterCommitQueue.push(fn),
  };
}

/** Runs the work a call queued with ctx.afterCommit; one failing step does not skip the rest. */
function runAfterCommit(ctx: CallContext): void {
  for (const fn of ctx.afterCommitQueue.splice(0)) {
    try {
      fn();
    } catch (e) {
      console.error(`[localfargate] after-commit work of ${ctx.service.name}.${ctx.operation} (request ${ctx.requestId}) failed:`, e);
    }
  }
}

export function unknownOperation(svc: ServiceDef, operation: string): ServiceError {
  if (svc.protocol === "query") return new ServiceError("InvalidAction", `Could not find operation ${operation} for version ${svc.shapes?.version ?? ""}`, 400);
  return new ServiceError("UnknownOperationException", "", 400);
}

/** Records the call in CloudTrail (unless the handler asked to skip) and commits its writes. */
async function finish(ctx: RequestContext, svc: ServiceDef, outcome: { input?: unknown; output?: unknown; error?: ServiceError }): Promise<void> {
  const writes = outcome.error ? [] : ctx.writes;
  const sink = ctx.app.auditSink;
  if (sink && !ctx.audit.skip) {
    // one record per account that receives the call (the caller's and the resource owner's)
    const records = deliveries(buildRecord(ctx, svc, outcome), ctx.principal);
    // A call that changes nothing needs no transaction: its record is durable once logged.
    if (writes.length === 0 && sink.append) {
      for (const d of records) await sink.append(d.record, d.meta);
      return;
    }
    for (const d of records) writes.push(...sink.record(d.record, d.meta));
  }
  await ctx.app.store.commit(writes);
}

/**
 * Runs an already decoded call. `decode` produces the validated input (it may throw
 * SerializationException / ValidationException, which are audited like any failure).
 * `storeBytes`: how much the call brings to store (a request body), for the free-space check.
 */
export async function execute(ctx: CallContext, decode: () => Record<string, unknown>, storeBytes = 0): Promise<unknown> {
  const svc = ctx.service;
  const op = own(svc.operations, ctx.operation);
  // refused before anything runs: a call that could not be saved must not change anything
  const noRoom = ctx.app.store.disk.problem(storeBytes);
  if (noRoom) throw serviceUnavailable(ctx, noRoom);
  let input: Record<string, unknown> | undefined;
  try {
    if (!op) throw unknownOperation(svc, ctx.operation);
    input = decode();
    // resolved once: authorization, the handler and the audit record all see the same value
    const resolved = op.resolve ? await op.resolve(ctx, input) : undefined;
    const checks = op.authorize(ctx, input, resolved);
    if (checks) authorizeChecks(ctx, checks);
    const output = await op.handler(ctx, input, resolved);
    if (op.audit?.resources) ctx.audit.resources = op.audit.resources(ctx, input, resolved, output);
    await finish(ctx, svc, { input, output });
    runAfterCommit(ctx);
    return output;
  } catch (e) {
    const err = e instanceof ServiceError ? e : ctx.app.store.disk.noteFailure(e) ? serviceUnavailable(ctx, String(e)) : internalFailure(e, ctx);
    if (op) {
      try {
        await finish(ctx, svc, { input, error: err });
      } catch (auditErr) {
        console.error(`[localfargate] could not record ${ctx.operation} failure:`, auditErr);
      }
    }
    throw err;
  }
}

/**
 * AWS's retryable answer (503 ServiceUnavailable, "Common Errors" in every AWS API reference):
 * the SDKs and the CLI retry it with backoff.
 */
function serviceUnavailable(ctx: RequestContext, reason: string): ServiceError {
  console.error(`[localfargate] ${ctx.service.name}.${ctx.operation} refused (request ${ctx.requestId}): ${reason}`);
  return new ServiceError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503);
}

function internalFailure(e: unknown, ctx: RequestContext): ServiceError {
  console.error(`[localfargate] internal error in ${ctx.service.name}.${ctx.operation} (request ${ctx.requestId}):`, e);
  return ctx.service.protocol === "query"
    ? new ServiceError("ServiceFailure", "We encountered an internal error. Please try again.", 500)
    : new ServiceError("InternalFailure", "We encountered an internal error. Please try again.", 500);
}
