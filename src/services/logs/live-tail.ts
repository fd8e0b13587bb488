/**
 * StartLiveTail (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_StartLiveTail.html):
 * a `sessionStart` event, then every second a `sessionUpdate` with the matching events ingested
 * since the last one (an empty one when there were none, at most 500 with `sampled` set when more
 * matched). The session ends when the client closes it, the server stops, a group's KMS key can
 * no longer be used (SessionStreamingException), or three hours have passed on the service clock
 * (SessionTimeoutException). docs/logs.md#live-tail.
 */
import { randomUUID } from "node:crypto";
import type { LiveTailSessionLogEvent, StartLiveTailRequest } from "@aws-sdk/client-cloudwatch-logs";
import type { RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { EventStreamOutput, type EventStreamSink } from "../../kernel/event-stream.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { groupCheck, groupResource, identifiedGroup, requireGroup, type GroupTarget, type LogsDeps } from "./deps.ts";
import { invalidParameter } from "./errors.ts";
import { compileFilter } from "./filter-pattern.ts";
import type { LogGroup, LogStream, StoredEvent } from "./state.ts";

export const UPDATE_INTERVAL_MS = 1_000;
export const MAX_SESSION_MS = 3 * 3_600_000;
const MAX_EVENTS_PER_UPDATE = 500;
/**
 * A client that reads slower than updates come: AWS keeps up to 10 updates or 5,000 events for
 * it and then drops the oldest. Here an update is dropped while this much is still unread.
 */
export const MAX_UNREAD_BYTES = 10 * 1_048_576;
/** Concurrent sessions per account and Region (CloudWatch Logs quotas). */
export const MAX_SESSIONS = 15;

/** Receives every batch PutLogEvents stores, once its call has committed. */
export type IngestListener = (g: LogGroup, s: LogStream, events: StoredEvent[]) => void;

/** The running sessions, per account and Region, and the ingest listeners they hold. */
export class LiveTails {
  private readonly listeners = new Set<IngestListener>();
  private readonly perScope = new Map<string, number>();

  ingested(g: LogGroup, s: LogStream, events: StoredEvent[]): void {
    for (const l of this.listeners) l(g, s, events);
  }

  /** Registers a session; false when its account and Region already have MAX_SESSIONS. */
  open(scope: string, l: IngestListener): boolean {
    const n = this.perScope.get(scope) ?? 0;
    if (n >= MAX_SESSIONS) return false;
    this.perScope.set(scope, n + 1);
    this.listeners.add(l);
    return true;
  }

  close(scope: string, l: IngestListener): void {
    if (!this.listeners.delete(l)) return;
    const n = (this.perScope.get(scope) ?? 1) - 1;
    if (n > 0) this.perScope.set(scope, n);
    else this.perScope.delete(scope);
  }

  count(scope: string): number {
    return this.perScope.get(scope) ?? 0;
  }
}

function checkInput(i: StartLiveTailRequest): void {
  if (i.logStreamNames !== undefined && i.logStreamNamePrefixes !== undefined)
    throw invalidParameter("logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.");
  if ((i.logStreamNames !== undefined || i.logStreamNamePrefixes !== undefined) && i.logGroupIdentifiers!.length > 1)
    throw invalidParameter("Only one log group can be specified when logStreamNames or logStreamNamePrefixes is specified.");
}

export function startLiveTailOperation(deps: LogsDeps, tails: LiveTails) {
  return defineOperation<StartLiveTailRequest, EventStreamOutput, GroupTarget[]>({
    readOnly: true,
    resolve: (ctx, i) => {
      checkInput(i);
      const targets = i.logGroupIdentifiers!.map((id) => identifiedGroup(ctx, deps, undefined, id));
      ctx.audit.resources = targets.map((t) => (t.group ? groupResource(ctx, t.arn) : { ARN: t.arn, accountId: t.arn.split(":")[4], type: "AWS::Logs::LogGroup" }));
      return targets;
    },
    authorize: (_ctx, _i, targets) => targets.flatMap((t) => groupCheck("StartLiveTail", t)),
    handler: async function startLiveTail(ctx, i, targets) {
      const groups = targets.map(requireGroup);
      const matches = compileFilter(i.logEventFilterPattern);
      // a group under a key the service may not use refuses the session, as reads do
      for (const g of groups) {
        const id = g.record.currentDataKeyId;
        if (id !== undefined) await deps.keys.dataKey(g.record, id);
      }
      const scope = `${ctx.principal.accountId}|${ctx.region}`;
      if (tails.count(scope) >= MAX_SESSIONS)
        throw new ServiceError("LimitExceededException", `You have reached the maximum number of concurrent Live Tail sessions (${MAX_SESSIONS}).`, 400);
      const session = new LiveTailSession(ctx, deps, i, groups, matches);
      return new EventStreamOutput((sink) => session.run(sink, tails, scope));
    },
  });
}

export class LiveTailSession {
  private readonly arns: Map<string, string>;
  private readonly names?: Set<string>;
  private pending: LiveTailSessionLogEvent[] = [];
  private matched = 0;
  private readonly startedMs: number;

  constructor(
    private readonly ctx: RequestContext,
    private readonly deps: LogsDeps,
    private readonly input: StartLiveTailRequest,
    private readonly groups: LogGroup[],
    private readonly matches: (message: string) => boolean,
  ) {
    this.arns = new Map(groups.map((g) => [g.record.arn, `${g.record.accountId}:${g.record.name}`]));
    this.names = input.logStreamNames ? new Set(input.logStreamNames) : undefined;
    this.startedMs = deps.app.clock.nowMs();
  }

  private wants(g: LogGroup, s: LogStream): boolean {
    if (!this.arns.has(g.record.arn)) return false;
    const name = s.record.name;
    if (this.names) return this.names.has(name);
    const prefixes = this.input.logStreamNamePrefixes;
    return prefixes === undefined || prefixes.some((p) => name.startsWith(p));
  }

  run(sink: EventStreamSink, tails: LiveTails, scope: string): void {
    const listener: IngestListener = (g, s, events) => {
      if (!this.wants(g, s)) return;
      for (const e of events) {
        if (!this.matches(e.message)) continue;
        this.matched++;
        if (this.pending.length < MAX_EVENTS_PER_UPDATE)
          this.pending.push({
            logStreamName: s.record.name,
            logGroupIdentifier: this.arns.get(g.record.arn),
            message: e.message,
            timestamp: e.timestamp,
            ingestionTime: e.ingestionTime,
          });
      }
    };
    if (!tails.open(scope, listener)) {
      sink.fail("SessionStreamingException", `You have reached the maximum number of concurrent Live Tail sessions (${MAX_SESSIONS}).`);
      return;
    }
    const timer = setInterval(() => this.tick(sink), UPDATE_INTERVAL_MS);
    sink.onClose(() => {
      clearInterval(timer);
      tails.close(scope, listener);
    });
    sink.event("sessionStart", {
      requestId: this.ctx.requestId,
      sessionId: randomUUID(),
      logGroupIdentifiers: this.input.logGroupIdentifiers,
      logStreamNames: this.input.logStreamNames,
      logStreamNamePrefixes: this.input.logStreamNamePrefixes,
      logEventFilterPattern: this.input.logEventFilterPattern ?? "",
    });
  }

  private tick(sink: EventStreamSink): void {
    if (this.deps.app.clock.nowMs() - this.startedMs >= MAX_SESSION_MS) {
      sink.fail("SessionTimeoutException", "Session timed out after 3 hours.");
      return;
    }
    for (const g of this.groups) {
      const id = g.record.currentDataKeyId;
      const key = id === undefined ? undefined : g.record.dataKeys.find((d) => d.id === id)?.keyArn;
      if (key === undefined) continue;
      try {
        this.deps.keys.checkUsable(g.record, key);
      } catch (e) {
        sink.fail("SessionStreamingException", e instanceof ServiceError ? e.message : "The Live Tail session failed.");
        return;
      }
    }
    const results = this.pending;
    const sampled = this.matched > results.length;
    this.pending = [];
    this.matched = 0;
    if (sink.buffered() > MAX_UNREAD_BYTES) return;
    sink.event("sessionUpdate", { sessionMetadata: { sampled }, sessionResults: results });
  }
}
