/**
 * The CloudTrail event store, in the app's SQLite database.
 *
 * Every record is kept as its JSON text in `audit_events` with the columns LookupEvents answers
 * from. The record of a call that changes state is written in that call's own transaction; the
 * record of a call that changes nothing is made durable by the audit log (log.ts) and moved into
 * `audit_events` by the index thread shortly after; `indexed()` waits until everything recorded
 * so far is stored (and indexed), for readers that need every event (`lookup` waits by itself;
 * callers of `after` and `maxSeq` wait first). Either way a record is durable before the
 * response. `scope` is a small integer per (account, region) from `audit_scopes`. `seq` only
 * grows (events are never deleted): trail delivery reads "everything after the last delivered
 * seq".
 *
 * LookupEvents reads the lookup index (indexer.ts), built from the event rows after the fact:
 * with a data dir by a thread of its own into `audit-index.db` (attached here as `idx`), and for
 * an in-memory database on this connection when a lookup needs it. A lookup first waits until
 * every event committed before it is indexed.
 */
import { dirname, join } from "node:path";
import { StartupError } from "../store/startup-error.ts";
import { damagedDatabase, type DB, type WriteOp } from "../store/store.ts";
import type Database from "better-sqlite3";
import { ATTR_ID, createIndexTables, LookupIndexer } from "./indexer.ts";
import { eventIdTimeMs } from "./event-id.ts";
import { IndexWorker } from "./index-worker.ts";
import { AuditLog, createIngestTable, LOG_DIR, type StoreLine } from "./log.ts";

export const LOOKUP_ATTRIBUTES = ["EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"] as const;
export type LookupAttributeKey = (typeof LOOKUP_ATTRIBUTES)[number];

/** The lookup index's file, beside the database's own. */
export const INDEX_FILE = "audit-index.db";

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

/**
 * Username as event history shows it: "root", the IAM user name, the role session name, the
 * federated user's name, or a web identity's / SAML user's subject.
 */
export function usernameOf(userIdentity: Record<string, unknown> | undefined): string | null {
  if (!userIdentity) return null;
  switch (userIdentity.type) {
    case "Root":
      return "root";
    case "IAMUser":
    case "WebIdentityUser":
    case "SAMLUser":
      return typeof userIdentity.userName === "string" ? userIdentity.userName : null;
    case "AssumedRole":
    case "FederatedUser": {
      const arn = typeof userIdentity.arn === "string" ? userIdentity.arn : "";
      const slash = arn.lastIndexOf("/");
      return slash >= 0 ? arn.slice(slash + 1) : null;
    }
    default:
      return null;
  }
}

/**
 * A record's eventTime is whole seconds; its event ID carries the call's millisecond, which orders
 * events of the same second by when they happened rather than by when they were stored (a call
 * recorded through the audit log is stored after a later call's transaction). Used when the two
 * agree on the second; lookups widen their bounds to whole seconds (lookup.ts).
 */
function preciseEventTime(record: Record<string, unknown>): number {
  const seconds = Date.parse(String(record.eventTime));
  const idMs = eventIdTimeMs(String(record.eventID));
  return idMs !== undefined && idMs - (idMs % 1000) === seconds ? idMs : seconds;
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
    eventTimeMs: preciseEventTime(record),
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

/** The latest event of one entity, per service (event source), event name and Region. */
export interface PrincipalActivity {
  /** the IAM user's or role's ARN */
  entity: string;
  eventSource: string;
  eventName: string;
  region: string;
  /** the newest such event's time */
  lastMs: number;
}

export class AuditStore {
  private readonly scopes = new Map<string, number>();
  private readonly scopeNames = new Map<number, { account: string; region: string }>();
  private readonly insertEvent: Database.Statement;
  private readonly insertScope: Database.Statement;
  private readonly byAttr: Database.Statement;
  private readonly byAttrAfter: Database.Statement;
  private readonly since: Database.Statement;
  private readonly maxSeqStmt: Database.Statement;
  private readonly activityStmt: Database.Statement;
  private readonly keyUseStmt: Database.Statement;
  /** indexes on this connection (in-memory databases) */
  private readonly indexer: LookupIndexer | undefined;
  /** indexes on its own thread (databases in a data dir) */
  private readonly worker: IndexWorker | undefined;
  /** records of calls that change nothing (databases in a data dir) */
  private readonly log: AuditLog | undefined;

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
      -- by-time lookups use the lookup index's attribute 0 now: no second b-tree per event here
      DROP INDEX IF EXISTS audit_events_by_time;
    `);
    let ix = "main";
    if (db.memory) {
      this.indexer = new LookupIndexer(db, "main", "main");
    } else {
      ix = "idx";
      const indexFile = join(dirname(db.name), INDEX_FILE);
      // Data dirs of earlier versions kept the index in this database: it is rebuilt in its own.
      db.exec("DROP TABLE IF EXISTS main.audit_lookup; DROP TABLE IF EXISTS main.audit_indexed;");
      try {
        const attached = (db.pragma("database_list") as { name: string }[]).some((d) => d.name === "idx");
        if (!attached) db.prepare("ATTACH DATABASE ? AS idx").run(indexFile);
        db.pragma("idx.journal_mode = WAL");
        createIndexTables(db, "idx");
      } catch (e) {
        throw damagedIndex(indexFile, e);
      }
      createIngestTable(db, "main");
      this.log = new AuditLog(join(dirname(db.name), LOG_DIR));
      this.worker = new IndexWorker({ eventsFile: db.name, indexFile, logDir: this.log.dir });
    }
    for (const r of db.prepare("SELECT id, account, region FROM audit_scopes").all() as { id: number; account: string; region: string }[]) {
      this.scopes.set(`${r.account}\n${r.region}`, r.id);
      this.scopeNames.set(r.id, { account: r.account, region: r.region });
    }
    ({ insertScope: this.insertScope, insertEvent: this.insertEvent } = eventStatements(db, "main"));
    const cols = "e.seq, e.scope, e.event_time, e.management, e.read_only, e.event_id, e.event_name, e.event_source, e.username, e.access_key_id, e.resources, e.record";
    const byAttr = `SELECT ${cols} FROM ${ix}.audit_lookup l JOIN audit_events e ON e.seq = l.seq
      WHERE l.scope = @scope AND l.attr = @attr AND l.value = @value AND l.event_time >= @start AND l.event_time <= @end`;
    const newestFirst = "ORDER BY l.event_time DESC, l.seq DESC LIMIT @limit";
    this.byAttr = db.prepare(`${byAttr} ${newestFirst}`);
    this.byAttrAfter = db.prepare(`${byAttr} AND (l.event_time, l.seq) < (@t, @s) ${newestFirst}`);
    this.since = db.prepare(`SELECT ${cols} FROM audit_events e WHERE e.seq > ? ORDER BY e.seq LIMIT ?`);
    this.maxSeqStmt = db.prepare("SELECT COALESCE(MAX(seq), 0) AS m FROM audit_events");
    this.activityStmt = db.prepare(`SELECT l.value AS entity, e.event_source AS source, e.event_name AS name, l.scope AS scope, MAX(l.event_time) AS last
      FROM ${ix}.audit_lookup l JOIN audit_events e ON e.seq = l.seq
      WHERE l.scope IN (SELECT id FROM audit_scopes) AND l.attr = ${ATTR_ID.Principal} AND l.value = @entity AND l.event_time >= @since
      GROUP BY e.event_source, e.event_name, l.scope`);
    // the newest management event signed with the key, in any account and Region
    this.keyUseStmt = db.prepare(`SELECT e.event_source AS source, l.scope AS scope, MAX(l.event_time) AS last
      FROM ${ix}.audit_lookup l JOIN audit_events e ON e.seq = l.seq
      WHERE l.scope IN (SELECT id FROM audit_scopes) AND l.attr = ${ATTR_ID.AccessKeyId} AND l.value = ?`);
  }

  /** Per access key id: the service (event source), Region and time of its newest management event. */
  async lastKeyUse(accessKeyIds: readonly string[]): Promise<Map<string, { eventSource: string; region: string; lastMs: number }>> {
    await this.indexed();
    const out = new Map<string, { eventSource: string; region: string; lastMs: number }>();
    for (const id of new Set(accessKeyIds)) {
      const r = this.keyUseStmt.get(id) as { source: string | null; scope: number | null; last: number | null };
      if (r.last !== null && r.source !== null && r.scope !== null) out.set(id, { eventSource: r.source, region: this.scopeName(r.scope).region, lastMs: r.last });
    }
    return out;
  }

  /**
   * What each IAM user or role (by ARN) did since `sinceMs`, in every account and Region the
   * events were recorded in: the latest event per service, event name and Region.
   */
  async principalActivity(entities: readonly string[], sinceMs: number): Promise<PrincipalActivity[]> {
    await this.indexed();
    const out: PrincipalActivity[] = [];
    for (const entity of new Set(entities)) {
      for (const r of this.activityStmt.all({ entity, since: sinceMs }) as { entity: string; source: string; name: string; scope: number; last: number }[]) {
        out.push({ entity: r.entity, eventSource: r.source, eventName: r.name, region: this.scopeName(r.scope).region, lastMs: r.last });
      }
    }
    return out;
  }

  /** Resolves once every event recorded so far is stored and in the lookup index. */
  async indexed(): Promise<void> {
    if (this.worker) await this.worker.sync();
    else this.indexer!.catchUp();
  }

  /** True when records of calls that change nothing can go to the audit log. */
  get logs(): boolean {
    return this.log !== undefined;
  }

  /** Makes the record durable in the audit log; resolves once it is written. */
  append(record: Record<string, unknown>, account: string, region: string): Promise<void> {
    return this.log!.append(logLine(record, account, region));
  }

  /** For tests: the index thread, if there is one. */
  get indexThread(): IndexWorker | undefined {
    return this.worker;
  }

  /** Writes what is logged, then stops the index thread (after it stored and indexed everything). */
  async close(): Promise<void> {
    this.log?.close();
    await this.worker?.close();
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

  /** A write op that stores the record (its lookup rows follow, see indexer.ts). */
  insert(record: Record<string, unknown>, account: string, region: string): WriteOp {
    const columns = eventColumns(record);
    const text = JSON.stringify(record);
    const scope = this.scopeId(account, region);
    return () => void this.insertEvent.run(scope, ...columns, text);
  }

  /** Management events of one account and region, newest first. */
  async lookup(q: LookupQuery): Promise<StoredEvent[]> {
    await this.indexed();
    const scope = this.existingScope(q.account, q.region);
    if (scope === undefined) return [];
    const params = {
      scope,
      attr: q.attribute ? ATTR_ID[q.attribute.key] : ATTR_ID.All,
      value: q.attribute ? q.attribute.value : "",
      start: q.startMs,
      end: q.endMs,
      limit: q.limit,
      ...(q.before ? { t: q.before.t, s: q.before.s } : {}),
    };
    // by time alone: attribute 0, which every management event has
    const stmt = q.before ? this.byAttrAfter : this.byAttr;
    return (stmt.all(params) as EventRow[]).map((r) => this.toEvent(r));
  }

  /** Events (all accounts, regions and categories) stored after `seq`, oldest first. */
  after(seq: number, limit: number): StoredEvent[] {
    return (this.since.all(seq, limit) as EventRow[]).map((r) => this.toEvent(r));
  }

  maxSeq(): number {
    return (this.maxSeqStmt.get() as { m: number }).m;
  }

  private scopeName(scope: number): { account: string; region: string } {
    const names = this.scopeNames.get(scope);
    if (names) return names;
    const row = this.db.prepare("SELECT account, region FROM audit_scopes WHERE id = ?").get(scope) as { account: string; region: string } | undefined;
    if (row) this.scopeNames.set(scope, row);
    return row ?? { account: "", region: "" };
  }

  private toEvent(r: EventRow): StoredEvent {
    const names = this.scopeName(r.scope);
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

/**
 * An audit log line: the event row's columns as a JSON array, a tab, the record's JSON text.
 * The columns are computed here so that storing the line needs no parse of the record; JSON
 * text never holds a raw tab or newline, so the first tab ends the columns.
 */
export function logLine(record: Record<string, unknown>, account: string, region: string): string {
  return `${JSON.stringify([account, region, ...eventColumns(record)])}\t${JSON.stringify(record)}`;
}

/** `audit_events` columns from event_time to resources, in table order. */
type EventColumns = [number, number, number, string, string, string, string | null, string | null, string | null];
type LineColumns = [string, string, ...EventColumns];

function eventColumns(record: Record<string, unknown>): EventColumns {
  const s = summarize(record);
  const t = Number.isFinite(s.eventTimeMs) ? s.eventTimeMs : 0;
  const resources = s.resources.length ? JSON.stringify(s.resources) : null;
  return [t, s.management ? 1 : 0, s.readOnly ? 1 : 0, s.eventId, s.eventName, s.eventSource, s.username, s.accessKeyId, resources];
}

/**
 * The two writes of an event, for the request's transaction (AuditStore.insert) and for the
 * audit log's lines (eventRowWriter): the scope's id (the upsert returns an existing row's) and
 * the event row, columns in `EventColumns` order with the record last.
 */
function eventStatements(db: DB, schema: string): { insertScope: Database.Statement; insertEvent: Database.Statement } {
  return {
    insertScope: db.prepare(
      `INSERT INTO ${schema}.audit_scopes (account, region) VALUES (?, ?) ON CONFLICT (account, region) DO UPDATE SET account = excluded.account RETURNING id`,
    ),
    insertEvent: db.prepare(`INSERT INTO ${schema}.audit_events
      (scope, event_time, management, read_only, event_id, event_name, event_source, username, access_key_id, resources, record)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  };
}

/** Stores audit log lines (log.ts's StoreLine) as rows of `<schema>.audit_events`. */
export function eventRowWriter(db: DB, schema: string): StoreLine {
  const { insertScope, insertEvent } = eventStatements(db, schema);
  // scope ids by account and region; forgotten when a batch rolls back (a new scope row with it)
  const scopes = new Map<string, number>();
  const store: StoreLine = (line) => {
    // anything that is not a line this server wrote is skipped
    const tab = line.indexOf("\t");
    if (tab < 0) return;
    let c: LineColumns;
    try {
      c = JSON.parse(line.slice(0, tab)) as LineColumns;
    } catch {
      return;
    }
    if (!Array.isArray(c) || c.length !== 11) return;
    const key = `${c[0]}\n${c[1]}`;
    let scope = scopes.get(key);
    if (scope === undefined) {
      scope = (insertScope.get(c[0], c[1]) as { id: number }).id;
      scopes.set(key, scope);
    }
    insertEvent.run(scope, c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], line.slice(tab + 1));
  };
  store.forget = () => scopes.clear();
  return store;
}

/** The lookup index is rebuilt from the events in localfargate.db, so a damaged one can go. */
function damagedIndex(file: string, e: unknown): Error {
  const named = damagedDatabase(file, e);
  if (!(named instanceof StartupError)) return named;
  return new StartupError(
    `${file} cannot be used as a database (${(e as Error).message}): it only indexes the events in localfargate.db; delete it (with its -wal and -shm files) and it is rebuilt at the next start`,
  );
}
