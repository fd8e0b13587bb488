import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { EventStreamSink } from "../../kernel/event-stream.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { LogsDeps } from "./deps.ts";
import { compileFilter } from "./filter-pattern.ts";
import { LiveTails, LiveTailSession, MAX_UNREAD_BYTES, UPDATE_INTERVAL_MS } from "./live-tail.ts";
import { newGroup, type LogStream, type StoredEvent } from "./state.ts";

const group = newGroup({
  arn: "arn:aws:logs:us-east-1:000000000000:log-group:/g",
  name: "/g",
  accountId: "000000000000",
  region: "us-east-1",
  creationTime: 0,
  logGroupClass: "STANDARD",
  dataKeys: [],
  tags: {},
  nextStreamOrdinal: 0,
});
const stream = { record: { name: "s" } } as LogStream;
const deps = { app: { clock: { nowMs: () => 0 } } } as unknown as LogsDeps;
const ctx = { requestId: "r" } as RequestContext;

function fakeSink() {
  const sent: { type: string; body: Record<string, unknown> }[] = [];
  let unread = 0;
  const closers: (() => void)[] = [];
  const sink: EventStreamSink = {
    event: (type, body) => (sent.push({ type, body: body as Record<string, unknown> }), true),
    fail: () => undefined,
    end: () => closers.forEach((f) => f()),
    onClose: (fn) => void closers.push(fn),
    buffered: () => unread,
  };
  return { sink, sent, setUnread: (n: number) => (unread = n) };
}

const events = (n: number, message = "ERROR x"): StoredEvent[] => Array.from({ length: n }, (_, i) => ({ timestamp: i, message, ingestionTime: i, key: String(i) }));

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("a Live Tail session", () => {
  it("sends at most 500 events an update, marked sampled when more matched, and counts only matches", () => {
    const tails = new LiveTails();
    const { sink, sent } = fakeSink();
    new LiveTailSession(ctx, deps, { logGroupIdentifiers: [group.record.arn] }, [group], compileFilter("ERROR")).run(sink, tails, "scope");
    tails.ingested(group, stream, [...events(600), ...events(50, "INFO y")]);
    vi.advanceTimersByTime(UPDATE_INTERVAL_MS);
    tails.ingested(group, stream, [...events(3), ...events(5, "INFO y")]);
    vi.advanceTimersByTime(UPDATE_INTERVAL_MS);
    const updates = sent.filter((e) => e.type === "sessionUpdate").map((e) => e.body);
    expect(updates.map((u) => [(u.sessionResults as unknown[]).length, u.sessionMetadata])).toEqual([
      [500, { sampled: true }],
      [3, { sampled: false }],
    ]);
    sink.end();
    expect(tails.count("scope")).toBe(0);
  });

  it("drops updates while the client has not read what was sent", () => {
    const tails = new LiveTails();
    const { sink, sent, setUnread } = fakeSink();
    new LiveTailSession(ctx, deps, { logGroupIdentifiers: [group.record.arn] }, [group], compileFilter(undefined)).run(sink, tails, "scope");
    setUnread(MAX_UNREAD_BYTES + 1);
    tails.ingested(group, stream, events(2));
    vi.advanceTimersByTime(UPDATE_INTERVAL_MS);
    expect(sent.filter((e) => e.type === "sessionUpdate")).toHaveLength(0);
    setUnread(0);
    vi.advanceTimersByTime(UPDATE_INTERVAL_MS);
    const updates = sent.filter((e) => e.type === "sessionUpdate");
    expect(updates.map((u) => (u.body.sessionResults as unknown[]).length)).toEqual([0]);
    sink.end();
  });
});
