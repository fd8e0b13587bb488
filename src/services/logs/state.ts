/**
 * CloudWatch Logs' state: log groups (per account and Region), their streams, and each stream's
 * events in timestamp order. Events are persisted one record per PutLogEvents batch; a batch of
 * a group with a KMS key is sealed with a data key under that key (encryption.ts) and opened on
 * first read after a restart.
 */
import { ScopedIndex, SortedRun } from "../../store/ordered-index.ts";
import { EventIndex } from "./event-index.ts";

export const GROUP_KIND = "logs.group";
export const STREAM_KIND = "logs.stream";
export const BATCH_KIND = "logs.batch";

export type LogGroupClass = "STANDARD" | "INFREQUENT_ACCESS";

/** A data key CloudWatch Logs generated under a customer managed key for one log group. */
export interface DataKeyRecord {
  id: string;
  keyArn: string;
  /** the KMS ciphertext of the data key (base64) */
  encrypted: string;
}

export interface GroupRecord {
  arn: string;
  name: string;
  accountId: string;
  region: string;
  creationTime: number;
  logGroupClass: LogGroupClass;
  retentionInDays?: number;
  /** the key new events are encrypted under */
  kmsKeyId?: string;
  /** the data key new events are sealed with (under kmsKeyId) */
  currentDataKeyId?: string;
  /** every data key this group's stored events may be sealed with */
  dataKeys: DataKeyRecord[];
  tags: Record<string, string>;
  /** numbers the group's streams, for event ids */
  nextStreamOrdinal: number;
}

export interface StreamRecord {
  groupArn: string;
  name: string;
  ordinal: number;
  creationTime: number;
  firstEventTimestamp?: number;
  lastEventTimestamp?: number;
  lastIngestionTime?: number;
  storedBytes: number;
  /** numbers the stream's events (in ingestion order) and batches */
  nextSeq: number;
}

export interface StoredEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
  /** position in the stream: timestamp then ingestion order (fixed-width digits) */
  key: string;
}

/** One PutLogEvents batch as stored: plain events, or sealed ones with their data key. */
export interface BatchRecord {
  id: string;
  groupArn: string;
  streamName: string;
  /** newest event timestamp, for retention without opening the batch */
  maxTimestamp: number;
  events?: StoredEvent[];
  sealed?: { dataKeyId: string; iv: string; tag: string; data: string };
}

export interface LogStream {
  record: StreamRecord;
  events: EventIndex<StoredEvent>;
  /** batch ids stored for this stream */
  batches: Map<string, BatchRecord>;
  /** sealed batches loaded from disk and not opened yet */
  unopened: BatchRecord[];
  /** data keys the stream's stored events are sealed with */
  dataKeyIds: Set<string>;
  /** the smallest newest-event timestamp of the stored batches: when retention next has work */
  nextExpiry: number;
}

export interface LogGroup {
  record: GroupRecord;
  streams: Map<string, LogStream>;
  /** DescribeLogStreams' two orders, kept current as streams are made, written and deleted */
  byName: SortedRun<LogStream>;
  byLastEvent: SortedRun<LogStream>;
  storedBytes: number;
}

export function newGroup(record: GroupRecord): LogGroup {
  return { record, streams: new Map(), byName: new SortedRun(), byLastEvent: new SortedRun(), storedBytes: 0 };
}

/** The LastEventTime order: the newest event's timestamp, then the name. */
export function lastEventKey(s: LogStream): string {
  return String(s.record.lastEventTimestamp ?? 0).padStart(16, "0") + "|" + s.record.name;
}

export function addStream(g: LogGroup, s: LogStream): void {
  g.streams.set(s.record.name, s);
  g.byName.set(s.record.name, s);
  g.byLastEvent.set(lastEventKey(s), s);
}

export function removeStream(g: LogGroup, s: LogStream): void {
  g.streams.delete(s.record.name);
  g.byName.delete(s.record.name);
  g.byLastEvent.delete(lastEventKey(s));
}

/** Moves the stream in the LastEventTime order when its newest event changes. */
export function setLastEvent(g: LogGroup, s: LogStream, timestamp: number): void {
  if (s.record.lastEventTimestamp === timestamp) return;
  g.byLastEvent.delete(lastEventKey(s));
  s.record.lastEventTimestamp = timestamp;
  g.byLastEvent.set(lastEventKey(s), s);
}

const TS_DIGITS = 16;
const SEQ_DIGITS = 12;

export function eventKey(timestamp: number, seq: number): string {
  return String(timestamp).padStart(TS_DIGITS, "0") + String(seq).padStart(SEQ_DIGITS, "0");
}

export function groupArn(accountId: string, region: string, name: string): string {
  return `arn:aws:logs:${region}:${accountId}:log-group:${name}`;
}

export function streamArn(group: GroupRecord, name: string): string {
  return `${group.arn}:log-stream:${name}`;
}

export function scopeOf(accountId: string, region: string): string {
  return `${accountId}|${region}`;
}

export function newStream(record: StreamRecord): LogStream {
  return { record, events: new EventIndex<StoredEvent>(), batches: new Map(), unopened: [], dataKeyIds: new Set(), nextExpiry: Infinity };
}

/** Files a stored batch under its stream. */
export function addBatch(stream: LogStream, b: BatchRecord): void {
  stream.batches.set(b.id, b);
  stream.nextExpiry = Math.min(stream.nextExpiry, b.maxTimestamp);
}

export class LogsState {
  readonly groups = new Map<string, LogGroup>();
  /** groups by name, per account and Region */
  readonly byName = new ScopedIndex<LogGroup>();

  group(accountId: string, region: string, name: string): LogGroup | undefined {
    return this.groups.get(groupArn(accountId, region, name));
  }

  addGroup(g: LogGroup): void {
    this.groups.set(g.record.arn, g);
    this.byName.set(scopeOf(g.record.accountId, g.record.region), g.record.name, g);
  }

  removeGroup(g: LogGroup): void {
    this.groups.delete(g.record.arn);
    this.byName.delete(scopeOf(g.record.accountId, g.record.region), g.record.name);
  }
}

/** Adds a batch's plain events to its stream's in-memory order. */
export function addEvents(stream: LogStream, events: StoredEvent[]): void {
  for (const e of events) stream.events.set(e.key, e);
}

/** Loads every group, stream and batch from the store; sealed batches stay unopened. */
export function loadState(state: LogsState, all: <T>(kind: string) => T[]): void {
  for (const r of all<GroupRecord>(GROUP_KIND)) state.addGroup(newGroup(r));
  for (const r of all<StreamRecord>(STREAM_KIND)) {
    const g = state.groups.get(r.groupArn);
    if (g) addStream(g, newStream(r));
  }
  for (const b of all<BatchRecord>(BATCH_KIND)) {
    const s = state.groups.get(b.groupArn)?.streams.get(b.streamName);
    if (!s) continue;
    addBatch(s, b);
    if (b.events) addEvents(s, b.events);
    if (b.sealed) {
      s.unopened.push(b);
      s.dataKeyIds.add(b.sealed.dataKeyId);
    }
  }
  for (const g of state.groups.values()) g.storedBytes = [...g.streams.values()].reduce((n, s) => n + s.record.storedBytes, 0);
}
