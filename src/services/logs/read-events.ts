/**
 * GetLogEvents and FilterLogEvents. A stream's sealed batches are opened (their data keys
 * decrypted through KMS) the first time they are read; every read first checks that each key
 * the stream's events are sealed under may still be used.
 */
import type { FilteredLogEvent, FilterLogEventsRequest, FilterLogEventsResponse, GetLogEventsRequest, GetLogEventsResponse, OutputLogEvent } from "@aws-sdk/client-cloudwatch-logs";
import { defineOperation } from "../../kernel/operation.ts";
import { positionFromToken, positionToken } from "../../store/ordered-index.ts";
import { dataEvent, groupCheck, identifiedGroup, requireGroup, type GroupTarget, type LogsDeps } from "./deps.ts";
import { open } from "./encryption.ts";
import { invalidParameter, invalidToken, streamNotFound } from "./errors.ts";
import { compileFilter } from "./filter-pattern.ts";
import { addEvents, eventKey, type LogGroup, type LogStream, type StoredEvent } from "./state.ts";

const MAX_EVENTS = 10_000;
const MAX_RESPONSE_BYTES = 1_048_576;
const KEY_DIGITS = 28;
const TOKEN_DIGITS = 56;

/** Checks every key the stream's events are sealed under, then opens what is still sealed. */
export async function readable(deps: LogsDeps, g: LogGroup, s: LogStream): Promise<void> {
  const keys = new Map<string, Buffer>();
  for (const id of s.dataKeyIds) keys.set(id, await deps.keys.dataKey(g.record, id));
  const pending = s.unopened.splice(0);
  for (const b of pending) {
    if (!s.batches.has(b.id) || !b.sealed) continue;
    const events = JSON.parse(open(keys.get(b.sealed.dataKeyId)!, b.id, b.sealed).toString("utf8")) as StoredEvent[];
    addEvents(s, events);
  }
}

function parseGetToken(token: string): { dir: "f" | "b"; key: string } {
  const m = /^([fb])\/(\d{56})$/.exec(token);
  if (!m) throw invalidToken();
  const digits = m[2];
  if (!/^0+$/.test(digits.slice(0, TOKEN_DIGITS - KEY_DIGITS))) throw invalidToken();
  return { dir: m[1] as "f" | "b", key: digits.slice(TOKEN_DIGITS - KEY_DIGITS) };
}

const token = (dir: "f" | "b", key: string) => `${dir}/${key.padStart(TOKEN_DIGITS, "0")}`;
const successor = (key: string) => (BigInt(key) + 1n).toString().padStart(KEY_DIGITS, "0");
const out = (e: StoredEvent): OutputLogEvent => ({ timestamp: e.timestamp, message: e.message, ingestionTime: e.ingestionTime });

export function getLogEventsOperation(deps: LogsDeps) {
  return defineOperation<GetLogEventsRequest, GetLogEventsResponse, GroupTarget>({
    readOnly: true,
    resolve: (ctx, i) => dataEvent(ctx, identifiedGroup(ctx, deps, i.logGroupName, i.logGroupIdentifier)),
    authorize: (_ctx, i, t) => groupCheck("GetLogEvents", t, {}, i.logStreamName),
    handler: async function getLogEvents(_ctx, i, t) {
      const g = requireGroup(t);
      const s = g.streams.get(i.logStreamName!);
      if (!s) throw streamNotFound();
      const position = i.nextToken === undefined ? undefined : parseGetToken(i.nextToken);
      await readable(deps, g, s);
      const lower = eventKey(Math.max(0, i.startTime ?? 0), 0);
      const upper = i.endTime === undefined ? undefined : eventKey(Math.max(0, i.endTime), 0);
      const limit = i.limit ?? MAX_EVENTS;
      const forward = position ? position.dir === "f" : i.startFromHead === true;
      let events: StoredEvent[];
      let boundary: string;
      if (forward) {
        boundary = position?.key ?? lower;
        const from = boundary > lower ? boundary : lower;
        events = s.events.page({ from, before: upper, limit }).items;
      } else {
        boundary = position?.key ?? upper ?? "9".repeat(KEY_DIGITS);
        const below = upper !== undefined && upper < boundary ? upper : boundary;
        events = s.events
          .page({ after: below, descending: true, limit })
          .items.filter((e) => e.key >= lower)
          .reverse();
      }
      events = withinResponseSize(events, forward);
      const first = events[0]?.key ?? boundary;
      const nextForward = events.length ? successor(events[events.length - 1].key) : boundary;
      return { events: events.map(out), nextForwardToken: token("f", nextForward), nextBackwardToken: token("b", first) };
    },
  });
}

/** A response carries at most 1 MB of messages (API_GetLogEvents): the events nearest the start of the walk. */
function withinResponseSize(events: StoredEvent[], forward: boolean): StoredEvent[] {
  let bytes = 0;
  const order = forward ? events : [...events].reverse();
  let n = 0;
  for (const e of order) {
    bytes += Buffer.byteLength(e.message, "utf8") + 26;
    if (bytes > MAX_RESPONSE_BYTES && n > 0) break;
    n++;
  }
  return forward ? events.slice(0, n) : events.slice(events.length - n);
}

const FILTER_TOKEN_PREFIX = "logs-filter:";

/** Two lists sorted by `pos`, merged, at most `max` long. */
function mergeByPosition<T extends { pos: string }>(a: T[], b: T[], max: number): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (out.length < max && (i < a.length || j < b.length)) out.push(j >= b.length || (i < a.length && a[i].pos < b[j].pos) ? a[i++] : b[j++]);
  return out;
}

export function filterLogEventsOperation(deps: LogsDeps) {
  return defineOperation<FilterLogEventsRequest, FilterLogEventsResponse, GroupTarget>({
    readOnly: true,
    resolve: (ctx, i) => dataEvent(ctx, identifiedGroup(ctx, deps, i.logGroupName, i.logGroupIdentifier)),
    authorize: (_ctx, _i, t) => groupCheck("FilterLogEvents", t),
    handler: async function filterLogEvents(_ctx, i, t) {
      if (i.logStreamNames !== undefined && i.logStreamNamePrefix !== undefined)
        throw invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
      const matches = compileFilter(i.filterPattern);
      const after = i.nextToken === undefined ? undefined : positionFromToken(FILTER_TOKEN_PREFIX, i.nextToken);
      if (i.nextToken !== undefined && (after === undefined || !/^\d{28}\|\d{10}$/.test(after))) throw invalidToken();
      const g = requireGroup(t);
      const names = i.logStreamNames ? new Set(i.logStreamNames) : undefined;
      const streams = [...g.streams.values()].filter((s) =>
        names ? names.has(s.record.name) : i.logStreamNamePrefix === undefined || s.record.name.startsWith(i.logStreamNamePrefix),
      );
      for (const s of streams) await readable(deps, g, s);
      const lower = eventKey(Math.max(0, i.startTime ?? 0), 0);
      const upper = i.endTime === undefined ? undefined : eventKey(Math.max(0, i.endTime) + 1, 0);
      const limit = i.limit ?? MAX_EVENTS;
      // the first limit + 1 matches of all streams, merged in (timestamp, ingestion, stream) order
      type Found = { pos: string; s: LogStream; e: StoredEvent };
      let found: Found[] = [];
      for (const s of streams) {
        const ordinal = String(s.record.ordinal).padStart(10, "0");
        const resume = after?.slice(0, 28);
        const items = s.events
          .page({
            from: resume !== undefined && resume > lower ? resume : lower,
            before: upper,
            limit: limit + 1,
            filter: (e) => (after === undefined || `${e.key}|${ordinal}` > after) && matches(e.message),
          })
          .items.map((e): Found => ({ pos: `${e.key}|${ordinal}`, s, e }));
        found = mergeByPosition(found, items, limit + 1);
      }
      const page = found.slice(0, limit);
      const events: FilteredLogEvent[] = page.map(({ pos, s, e }) => ({
        logStreamName: s.record.name,
        timestamp: e.timestamp,
        message: e.message,
        ingestionTime: e.ingestionTime,
        eventId: pos.replace("|", "").padStart(TOKEN_DIGITS, "0"),
      }));
      return {
        events,
        searchedLogStreams: streams.map((s) => ({ logStreamName: s.record.name, searchedCompletely: true })),
        nextToken: found.length > limit ? positionToken(FILTER_TOKEN_PREFIX, page[page.length - 1].pos) : undefined,
      };
    },
  });
}
