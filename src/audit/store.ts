/**
 * The CloudTrail event store, in the app's SQLite database.
 *
 * Every record is kept as its JSON text in `audit_events` with the columns LookupEvents answers
 * from. Each lookup attribute of a management event also gets one row in `audit_lookup`, a
 * WITHOUT ROWID table whose primary key (scope, attr, value, event_time, seq) is the index:
 * a filtered page is one backward range scan of that key from the paging cursor, so its cost
 * depends on the page size, not on how many events are stored. `scope` is a small integer per
 * (account, region) from `audit_scopes`. Resources contribute one ResourceType and one
 * ResourceName row each. `seq` only grows (events are never deleted): trail delivery reads "everything
 * after the last delivered seq".
 *
 * Only the event row is written in the request's own transaction (so the record is durable
 * before the response). Its lookup rows are queued and written in large batches shortly after
 * (or at once, before any attribute lookup reads them), with a watermark in `audit_indexed`
 * that lets a restart index whatever a crash left unindexed. This keeps a request's commit to
 * one row instead of seven or more, which is most of what auditing costs per call.
 */
import type { DB, WriteOp } from "../store/store.ts";
import type Database from "better-sqlite3";

export const LOOKUP_ATTRIBUTES = ["EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"] as const;
export type LookupAttributeKey = (typeof LOOKUP_ATTRIBUTES)[number];
const ATTR_ID: Record<LookupAttributeKey, number> = {
  EventId: 1, EventName: 2, ReadOnly: 3, Username: 4, ResourceType: 5, ResourceName: 6, EventSource: 7, AccessKeyId: 8,
};

export interface StoredEvent {
  seq: number;
  account: string;
  region: string;
  eventTimeMs: number;
  management: boolean;
  readOnly: boolean;
  eventId: string;
  eventName: string;
  eventSource: string;
  username: string | null;
  accessKeyId: string | null;
  resources: { ResourceType: string; ResourceName: string }[];
  /** the record as stored (JSON text) */
  record: string;
}

interface EventRow {
  seq: number;
  scope: number;
  event_time: number;
  management: number;
  read_only: number;
  event_id: string;
  event_name: string;
  event_source: string;
  username: string | null;
  access_key_id: string | null;
  resources: string | null;
  record: string;
}

/** Values LookupEvents filters on, derived from a record the way CloudTrail does. */
export interface LookupSummary {
  eventId: string;
  eventName: string;
  eventSource: string;
  readOnly: boolean;
  management: boolean;
  eventTimeMs: number;
  username: string | null;
  accessKeyId: string | null;
  resources: { ResourceType: string; ResourceName: string }[];
}

/** Username as event history shows it: "root", the IAM user name, or the role session name. */
export function usernameOf(userIdentity: Record<string, unknown> | undefined): string | null {
  if (!userIdentity) return null;
  switch (userIdentity.type) {
    case "Root":
      return "root";
    case "IAMUser":
      return typeof userIdentity.userName === "string" ? userIdentity.userName : null;
    case "AssumedRole": {
      const arn = typeof userIdentity.arn === "string" ? userIdentity.arn : "";
      const slash = arn.lastIndexOf("/");
      return slash >= 0 ? arn.slice(slash + 1) : null;
    }
    default:
      return null;
  }
}

export function summarize(record: Record<string, unknown>): LookupSummary {
  const ui = record.userIdentity as Record<string, unknown> | undefined;
  const resources = Array.isArray(record.resources)
    ? (record.resources as { ARN?: string; type?: string }[])
        .filter((r) => r && typeof r.type === "string" && typeof r.ARN === "string")
        .map((r) => ({ ResourceType: r.type as string, ResourceName: r.ARN as string }))
    : [];
  const ak = ui && typeof ui.accessKeyId === "string" && ui.accessKeyId !== "" ? ui.accessKeyId : null;
  return {
    eventId: String(record.eventID),
    eventName: String(record.eventName),
    eventSource: String(record.eventSource),
    readOnly: record.readOnly === true,
    management: record.managementEvent !== false,
    eventTimeMs: Date.parse(String(record.eventTime)),
    username: usernameOf(ui),
    accessKeyId: ak,
    resources,
  };
}

export interface LookupQuery {
  account: string;
  region: string;
  attribute?: { key: LookupAttributeKey; value: string };
  startMs: number;
  endMs: number;
  /** exclusive cursor: events strictly older than (eventTimeMs, seq) */
  before?: { t: number; s: number };
  limit: number;
}

export class AuditStore {
  private readonly scopes = new Map<string, number>();
  private readonly scopeNames = new Map<number, { account: string; region: string }>();
  private readonly insertEvent: Database.Statement;
  private readonly insertLookup: Database.Statement;
  private readonly insertScope: Database.Statement;
  private readonly byTime: Database.Statement;
  private readonly byTimeAfter: Database.Statement;
  private readonly byAttr: Database.Statement;
  private readonly byAttrAfter: Database.Statement;
  private readonly since: Database.Statement;
  private readonly maxSeqStmt: Database.Statement;
  private readonly setIndexed: Database.Statement;
  private readonly writeIndexTx: (rows: [number, number, string, number, number][], maxSeq: number) => void;
  /** lookup rows of committed events, not yet written */
  private pending: [number, number, string, number, number][] = [];
  private pendingMaxSeq = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: DB) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS audit_scopes (
        id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, UNIQUE (account, region));
      CREATE TABLE IF NOT EXISTS audit_events (
        seq INTEGER PRIMARY KEY, -- events are never deleted, so rowids only grow (no AUTOINCREMENT bookkeeping per insert)
        scope INTEGER NOT NULL,
        event_time INTEGER NOT NULL,
        management INTEGER NOT NULL,
        read_only INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_source TEXT NOT NULL,
        username TEXT,
        access_key_id TEXT,
        resources TEXT,
        record TEXT NOT NULL);
      CREATE INDEX IF NOT EXISTS audit_events_by_time ON audit_events (scope, management, event_time, seq);
      CREATE TABLE IF NOT EXISTS audit_lookup (
        scope INTEGER NOT NULL, attr INTEGER NOT NULL, value TEXT NOT NULL,
        event_time INTEGER NOT NULL, seq INTEGER NOT NULL,
        PRIMARY KEY (scope, attr, value, event_time, seq)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS audit_indexed (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
      INSERT OR IGNORE INTO audit_indexed (id, seq) VALUES (1, 0);
    `);
    for (const r of db.prepare("SELECT id, account, region FROM audit_scopes").all() as { id: number; account: string; region: string }[]) {
      this.scopes.set(`${r.account}\n${r.region}`, r.id);
      this.scopeNames.set(r.id, { account: r.account, region: r.region });
    }
    this.insertScope = db.prepare("INSERT INTO audit_scopes (account, region) VALUES (?, ?) ON CONFLICT (account, region) DO UPDATE SET account = excluded.account RETURNING id");
    this.insertEvent = db.prepare(`INSERT INTO audit_events
      (scope, event_time, management, read_only, event_id, event_name, event_source, username, access_key_id, resources, record)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.insertLookup = db.prepare("INSERT OR IGNORE INTO audit_lookup (scope, attr, value, event_time, seq) VALUES (?, ?, ?, ?, ?)");
    const cols = "e.seq, e.scope, e.event_time, e.management, e.read_only, e.event_id, e.event_name, e.event_source, e.username, e.access_key_id, e.resources, e.record";
    this.byTime = db.prepare(`SELECT ${cols} FROM audit_events e
      WHERE e.scope = ? AND e.management = 1 AND e.event_time >= ? AND e.event_time <= ?
      ORDER BY e.event_time DESC, e.seq DESC LIMIT ?`);
    this.byTimeAfter = db.prepare(`SELECT ${cols} FROM audit_events e
      WHERE e.scope = ? AND e.management = 1 AND e.event_time >= ? AND e.event_time <= ? AND (e.event_time, e.seq) < (?, ?)
      ORDER BY e.event_time DESC, e.seq DESC LIMIT ?`);
    this.byAttr = db.prepare(`SELECT ${cols} FROM audit_lookup l JOIN audit_events e ON e.seq = l.seq
      WHERE l.scope = ? AND l.attr = ? AND l.value = ? AND l.event_time >= ? AND l.event_time <= ?
      ORDER BY l.event_time DESC, l.seq DESC LIMIT ?`);
    this.byAttrAfter = db.prepare(`SELECT ${cols} FROM audit_lookup l JOIN audit_events e ON e.seq = l.seq
      WHERE l.scope = ? AND l.attr = ? AND l.value = ? AND l.event_time >= ? AND l.event_time <= ? AND (l.event_time, l.seq) < (?, ?)
      ORDER BY l.event_time DESC, l.seq DESC LIMIT ?`);
    this.since = db.prepare(`SELECT ${cols} FROM audit_events e WHERE e.seq > ? ORDER BY e.seq LIMIT ?`);
    this.maxSeqStmt = db.prepare("SELECT COALESCE(MAX(seq), 0) AS m FROM audit_events");
    this.setIndexed = db.prepare("UPDATE audit_indexed SET seq = MAX(seq, ?) WHERE id = 1");
    this.writeIndexTx = db.transaction((rows: [number, number, string, number, number][], maxSeq: number) => this.writeIndex(rows, maxSeq));
    this.catchUp();
  }

  /** Indexes events a crash left unindexed (everything after the watermark). */
  private catchUp(): void {
    const from = (this.db.prepare("SELECT seq FROM audit_indexed WHERE id = 1").get() as { seq: number }).seq;
    const rows = this.db.prepare("SELECT seq, scope, event_time, record FROM audit_events WHERE seq > ? AND management = 1 ORDER BY seq").iterate(from) as Iterable<{ seq: number; scope: number; event_time: number; record: string }>;
    for (const r of rows) this.queueLookupRows(r.scope, r.event_time, r.seq, summarize(JSON.parse(r.record) as Record<string, unknown>));
    this.flushIndex();
  }

  private queueLookupRows(scope: number, t: number, seq: number, s: LookupSummary): void {
    const add = (key: LookupAttributeKey, value: string | null) => {
      if (value !== null && value !== "") this.pending.push([scope, ATTR_ID[key], value, t, seq]);
    };
    add("EventId", s.eventId);
    add("EventName", s.eventName);
    add("ReadOnly", s.readOnly ? "true" : "false");
    add("Username", s.username);
    add("EventSource", s.eventSource);
    add("AccessKeyId", s.accessKeyId);
    for (const r of s.resources) {
      add("ResourceType", r.ResourceType);
      add("ResourceName", r.ResourceName);
    }
    if (seq > this.pendingMaxSeq) this.pendingMaxSeq = seq;
  }

  /** Writes every queued lookup row in one transaction and moves the watermark. */
  flushIndex(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    // After shutdown the rows stay unindexed; the next start indexes them from the watermark.
    if (!this.db.open || (this.pending.length === 0 && this.pendingMaxSeq === 0)) return;
    const rows = this.pending;
    const maxSeq = this.pendingMaxSeq;
    this.pending = [];
    this.pendingMaxSeq = 0;
    // Inside a caller's transaction (a lookup during a request) the rows join it.
    if (this.db.inTransaction) this.writeIndex(rows, maxSeq);
    else this.writeIndexTx(rows, maxSeq);
  }

  private writeIndex(rows: [number, number, string, number, number][], maxSeq: number): void {
    for (const r of rows) this.insertLookup.run(r[0], r[1], r[2], r[3], r[4]);
    this.setIndexed.run(maxSeq);
  }

  private scheduleIndex(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flushIndex(), 25);
    this.timer.unref();
  }

  /**
   * The scope id of (account, region). A new scope row is written at once, outside the
   * request's transaction: an unused scope is harmless, and the id is then stable.
   */
  private scopeId(account: string, region: string): number {
    const k = `${account}\n${region}`;
    let id = this.scopes.get(k);
    if (id === undefined) {
      id = (this.insertScope.get(account, region) as { id: number }).id;
      // Inside someone's transaction the row may yet be rolled back: cache only committed rows.
      if (!this.db.inTransaction) {
        this.scopes.set(k, id);
        this.scopeNames.set(id, { account, region });
      }
    }
    return id;
  }

  private existingScope(account: string, region: string): number | undefined {
    const k = `${account}\n${region}`;
    const cached = this.scopes.get(k);
    if (cached !== undefined) return cached;
    const row = this.db.prepare("SELECT id FROM audit_scopes WHERE account = ? AND region = ?").get(account, region) as { id: number } | undefined;
    if (row) {
      this.scopes.set(k, row.id);
      this.scopeNames.set(row.id, { account, region });
    }
    return row?.id;
  }

  /** A write op that stores the record and its lookup rows. */
  insert(record: Record<string, unknown>, account: string, region: string): WriteOp {
    const s = summarize(record);
    const text = JSON.stringify(record);
    const resources = s.resources.length ? JSON.stringify(s.resources) : null;
    const t = Number.isFinite(s.eventTimeMs) ? s.eventTimeMs : 0;
    const scope = this.scopeId(account, region);
    return () => {
      const info = this.insertEvent.run(scope, t, s.management ? 1 : 0, s.readOnly ? 1 : 0, s.eventId, s.eventName, s.eventSource, s.username, s.accessKeyId, resources, text);
      if (!s.management) return;
      // A transaction that rolls back leaves a queued row pointing at no event: lookups join
      // on audit_events, so such a row is never returned.
      this.queueLookupRows(scope, t, Number(info.lastInsertRowid), s);
      this.scheduleIndex();
    };
  }

  /** Management events of one account and region, newest first. */
  lookup(q: LookupQuery): StoredEvent[] {
    const scope = this.existingScope(q.account, q.region);
    if (scope === undefined) return [];
    let rows: EventRow[];
    if (q.attribute) {
      this.flushIndex();
      const a = ATTR_ID[q.attribute.key];
      rows = (q.before
        ? this.byAttrAfter.all(scope, a, q.attribute.value, q.startMs, q.endMs, q.before.t, q.before.s, q.limit)
        : this.byAttr.all(scope, a, q.attribute.value, q.startMs, q.endMs, q.limit)) as EventRow[];
    } else {
      rows = (q.before
        ? this.byTimeAfter.all(scope, q.startMs, q.endMs, q.before.t, q.before.s, q.limit)
        : this.byTime.all(scope, q.startMs, q.endMs, q.limit)) as EventRow[];
    }
    return rows.map((r) => this.toEvent(r));
  }

  /** Events (all accounts, regions and categories) stored after `seq`, oldest first. */
  after(seq: number, limit: number): StoredEvent[] {
    return (this.since.all(seq, limit) as EventRow[]).map((r) => this.toEvent(r));
  }

  maxSeq(): number {
    return (this.maxSeqStmt.get() as { m: number }).m;
  }

  private toEvent(r: EventRow): StoredEvent {
    let names = this.scopeNames.get(r.scope);
    if (!names) {
      const row = this.db.prepare("SELECT account, region FROM audit_scopes WHERE id = ?").get(r.scope) as { account: string; region: string } | undefined;
      names = row ?? { account: "", region: "" };
      if (row) this.scopeNames.set(r.scope, row);
    }
    return {
      seq: r.seq,
      account: names.account,
      region: names.region,
      eventTimeMs: r.event_time,
      management: r.management === 1,
      readOnly: r.read_only === 1,
      eventId: r.event_id,
      eventName: r.event_name,
      eventSource: r.event_source,
      username: r.username,
      accessKeyId: r.access_key_id,
      resources: r.resources ? (JSON.parse(r.resources) as StoredEvent["resources"]) : [],
      record: r.record,
    };
  }
}
