/**
 * PutLogEvents with AWS's rules
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html):
 * a batch is at most 1,048,576 bytes counting each event's UTF-8 message plus 26 bytes, at most
 * 10,000 events (the input shape), in chronological order, spanning at most 24 hours. Events more
 * than 2 hours in the future, older than 14 days, or older than the group's retention are not
 * stored and are reported in rejectedLogEventsInfo. Sequence tokens are accepted and ignored, as
 * AWS has done since January 2023.
 */
import type { InputLogEvent, PutLogEventsRequest, PutLogEventsResponse, RejectedLogEventsInfo } from "@aws-sdk/client-cloudwatch-logs";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { dataEvent, groupCheck, groupTarget, requireGroup, saveStream, type GroupTarget, type LogsDeps } from "./deps.ts";
import { seal } from "./encryption.ts";
import { groupNotFound, invalidParameter, streamNotFound } from "./errors.ts";
import { addBatch, addEvents, BATCH_KIND, setLastEvent, eventKey, type BatchRecord, type LogGroup, type LogStream, type StoredEvent } from "./state.ts";
import { sequenceToken } from "./stream-operations.ts";

export const MAX_BATCH_BYTES = 1_048_576;
export const EVENT_OVERHEAD_BYTES = 26;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAX_SPAN_MS = DAY_MS;
const MAX_AGE_MS = 14 * DAY_MS;
const MAX_FUTURE_MS = 2 * HOUR_MS;

/** The batch-wide rules: any broken one refuses the whole call. */
export function checkBatch(events: InputLogEvent[]): void {
  let bytes = 0;
  for (const e of events) bytes += Buffer.byteLength(e.message ?? "", "utf8") + EVENT_OVERHEAD_BYTES;
  if (bytes > MAX_BATCH_BYTES) throw invalidParameter(`Upload too large: ${bytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
  for (let i = 1; i < events.length; i++) {
    if (events[i].timestamp! < events[i - 1].timestamp!) throw invalidParameter("Log events in a single PutLogEvents request must be in chronological order.");
  }
  if (events.length > 1 && events[events.length - 1].timestamp! - events[0].timestamp! > MAX_SPAN_MS)
    throw invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
}

/** Which events are stored: the ones neither too new, too old nor past the group's retention. */
export function classify(events: InputLogEvent[], nowMs: number, retentionDays: number | undefined): { from: number; to: number; rejected?: RejectedLogEventsInfo } {
  const n = events.length;
  let tooOld = 0;
  while (tooOld < n && events[tooOld].timestamp! < nowMs - MAX_AGE_MS) tooOld++;
  let expired = 0;
  if (retentionDays !== undefined) while (expired < n && events[expired].timestamp! < nowMs - retentionDays * DAY_MS) expired++;
  let tooNew = n;
  while (tooNew > 0 && events[tooNew - 1].timestamp! > nowMs + MAX_FUTURE_MS) tooNew--;
  const rejected: RejectedLogEventsInfo = {};
  if (tooOld > 0) rejected.tooOldLogEventEndIndex = tooOld;
  if (expired > 0) rejected.expiredLogEventEndIndex = expired;
  if (tooNew < n) rejected.tooNewLogEventStartIndex = tooNew;
  const from = Math.max(tooOld, expired);
  return { from, to: Math.max(from, tooNew), rejected: Object.keys(rejected).length ? rejected : undefined };
}

function batchId(s: LogStream, seq: number): string {
  return `${s.record.groupArn}|${s.record.name}|${String(seq).padStart(12, "0")}`;
}

export function putLogEventsOperation(deps: LogsDeps) {
  return defineOperation<PutLogEventsRequest, PutLogEventsResponse, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => dataEvent(ctx, groupTarget(ctx, deps, i.logGroupName!)),
    authorize: (_ctx, i, t) => groupCheck("PutLogEvents", t, {}, i.logStreamName),
    handler: async function putLogEvents(ctx, i, t) {
      const g = requireGroup(t);
      const streamName = i.logStreamName!;
      if (!g.streams.has(streamName)) throw streamNotFound();
      const input = i.logEvents!;
      checkBatch(input);
      const now = ctx.now.getTime();
      const { from, to, rejected } = classify(input, now, g.record.retentionInDays);
      const dataKeyId = g.record.currentDataKeyId;
      const dataKey = dataKeyId !== undefined && to > from ? await deps.keys.dataKey(g.record, dataKeyId) : undefined;
      // the group (or the stream) may have been deleted, or made again, while KMS answered
      if (deps.state.groups.get(g.record.arn) !== g) throw groupNotFound();
      const s = g.streams.get(streamName);
      if (!s) throw streamNotFound();
      if (to > from) store(ctx, deps, g, s, input.slice(from, to), now, dataKeyId, dataKey);
      return { nextSequenceToken: sequenceToken(s), rejectedLogEventsInfo: rejected };
    },
  });
}

function store(
  ctx: RequestContext,
  deps: LogsDeps,
  g: LogGroup,
  s: LogStream,
  accepted: InputLogEvent[],
  now: number,
  dataKeyId: string | undefined,
  dataKey: Buffer | undefined,
): void {
  const r = s.record;
  const batchSeq = r.nextSeq;
  const events: StoredEvent[] = accepted.map((e) => ({ timestamp: e.timestamp!, message: e.message!, ingestionTime: now, key: eventKey(e.timestamp!, r.nextSeq++) }));
  const id = batchId(s, batchSeq);
  const maxTimestamp = events[events.length - 1].timestamp;
  const stored: BatchRecord = { id, groupArn: r.groupArn, streamName: r.name, maxTimestamp };
  if (dataKey && dataKeyId) {
    stored.sealed = { dataKeyId, ...seal(dataKey, id, Buffer.from(JSON.stringify(events), "utf8")) };
    s.dataKeyIds.add(dataKeyId);
  } else {
    stored.events = events;
  }
  ctx.writes.push(deps.store.put(BATCH_KIND, id, stored));
  addBatch(s, { id, groupArn: r.groupArn, streamName: r.name, maxTimestamp, sealed: stored.sealed });
  addEvents(s, events);
  const bytes = events.reduce((n, e) => n + Buffer.byteLength(e.message, "utf8"), 0);
  r.storedBytes += bytes;
  g.storedBytes += bytes;
  r.firstEventTimestamp = Math.min(r.firstEventTimestamp ?? events[0].timestamp, events[0].timestamp);
  setLastEvent(g, s, Math.max(r.lastEventTimestamp ?? maxTimestamp, maxTimestamp));
  r.lastIngestionTime = now;
  saveStream(ctx, deps, s);
  ctx.afterCommit(() => deps.tails.ingested(g, s, events));
}
