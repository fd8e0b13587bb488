/**
 * The LookupEvents index: for every management event, one row per lookup attribute value in
 * `audit_lookup`, a WITHOUT ROWID table whose primary key (scope, attr, value, event_time, seq)
 * is the index, so a filtered page is one backward range scan from the paging cursor. Attribute
 * 0 (value "") holds every management event, for lookups by time alone.
 *
 * The rows are derived from the columns of `audit_events` by SQL, for every event after the
 * watermark in `audit_indexed`: the request path writes only the event row, and indexing can run
 * anywhere that can read the events, on another thread in the server (index-thread.ts). Because
 * the index is always rebuilt from committed events past the watermark, a crash loses nothing and
 * a rolled-back event is never indexed.
 *
 * Attribute 9 (Principal) is not a LookupEvents attribute: it holds, for every event (management
 * or data) made by an IAM user or a role session, the ARN of that user or role, so IAM's service
 * last accessed details (src/services/iam/last-accessed.ts) find an entity's activity in every
 * Region without reading the events.
 */
import type Database from "better-sqlite3";

/** Attribute ids in `audit_lookup.attr`. */
export const ATTR_ID = {
  All: 0,
  EventId: 1,
  EventName: 2,
  ReadOnly: 3,
  Username: 4,
  ResourceType: 5,
  ResourceName: 6,
  EventSource: 7,
  AccessKeyId: 8,
  Principal: 9,
} as const;

/**
 * The index's layout version: an index written by an earlier version is re-derived from the
 * first event (rows already there are kept; INSERT OR IGNORE skips them).
 */
const INDEX_VERSION = 2;

/** Events indexed per transaction: bounds how long one batch holds the index's write lock. */
const BATCH = 5_000;

/** Creates the index tables in `schema` (idempotent). */
export function createIndexTables(db: Database.Database, schema: string): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${schema}.audit_lookup (
      scope INTEGER NOT NULL, attr INTEGER NOT NULL, value TEXT NOT NULL,
      event_time INTEGER NOT NULL, seq INTEGER NOT NULL,
      PRIMARY KEY (scope, attr, value, event_time, seq)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ${schema}.audit_indexed (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
    INSERT OR IGNORE INTO ${schema}.audit_indexed (id, seq) VALUES (1, 0);
  `);
  db.exec(`CREATE TABLE IF NOT EXISTS ${schema}.audit_index_layout (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`);
  const row = db.prepare(`SELECT version FROM ${schema}.audit_index_layout WHERE id = 1`).get() as { version: number } | undefined;
  if ((row?.version ?? 1) < INDEX_VERSION) {
    db.transaction(() => {
      db.prepare(`UPDATE ${schema}.audit_indexed SET seq = 0 WHERE id = 1`).run();
      db.prepare(`INSERT OR REPLACE INTO ${schema}.audit_index_layout (id, version) VALUES (1, ?)`).run(INDEX_VERSION);
    })();
  }
}

/**
 * Attribute 9's rows: the IAM user's ARN, or the role's (the session's issuer) for a role
 * session, of every event in the range. A text search skips the records no IAM user or role
 * session made (the root user's, AWS's own) before any is parsed, once.
 */
function principalColumn(events: string): string {
  const who = `json_extract(e.record, '$.userIdentity.type', '$.userIdentity.arn', '$.userIdentity.sessionContext.sessionIssuer.arn')`;
  return `SELECT scope, ${ATTR_ID.Principal}, principal, event_time, seq FROM (
      SELECT e.scope, e.event_time, e.seq, CASE w ->> '$[0]' WHEN 'IAMUser' THEN w ->> '$[1]' WHEN 'AssumedRole' THEN w ->> '$[2]' END AS principal
      FROM (SELECT e.scope, e.event_time, e.seq, ${who} AS w FROM ${events}.audit_events e WHERE e.seq > @from AND e.seq <= @to
        AND (instr(e.record, '"type":"IAMUser"') > 0 OR instr(e.record, '"type":"AssumedRole"') > 0)) e)
    WHERE principal IS NOT NULL AND principal <> ''`;
}

/** Indexes the events of `events.audit_events` into `index.audit_lookup` (schemas of one connection). */
export class LookupIndexer {
  private readonly maxSeqStmt: Database.Statement;
  private readonly watermarkStmt: Database.Statement;
  private readonly indexRange: (from: number, to: number) => void;

  constructor(db: Database.Database, events: string, index: string) {
    createIndexTables(db, index);
    const where = "e.seq > @from AND e.seq <= @to AND e.management = 1";
    const column = (attr: number, value: string, extra = "") => `SELECT e.scope, ${attr}, ${value}, e.event_time, e.seq FROM ${events}.audit_events e WHERE ${where}${extra}`;
    const resourceColumn = (attr: number, field: string) =>
      `SELECT e.scope, ${attr}, json_extract(r.value, '$.${field}'), e.event_time, e.seq
        FROM ${events}.audit_events e, json_each(e.resources) r WHERE ${where} AND e.resources IS NOT NULL`;
    const insert = db.prepare(`INSERT OR IGNORE INTO ${index}.audit_lookup (scope, attr, value, event_time, seq)
      ${column(ATTR_ID.All, "''")}
      UNION ALL ${column(ATTR_ID.EventId, "e.event_id", " AND e.event_id <> ''")}
      UNION ALL ${column(ATTR_ID.EventName, "e.event_name", " AND e.event_name <> ''")}
      UNION ALL ${column(ATTR_ID.ReadOnly, "CASE e.read_only WHEN 1 THEN 'true' ELSE 'false' END")}
      UNION ALL ${column(ATTR_ID.Username, "e.username", " AND e.username <> ''")}
      UNION ALL ${column(ATTR_ID.EventSource, "e.event_source", " AND e.event_source <> ''")}
      UNION ALL ${column(ATTR_ID.AccessKeyId, "e.access_key_id", " AND e.access_key_id <> ''")}
      UNION ALL ${resourceColumn(ATTR_ID.ResourceType, "ResourceType")}
      UNION ALL ${resourceColumn(ATTR_ID.ResourceName, "ResourceName")}
      UNION ALL ${principalColumn(events)}`);
    const setWatermark = db.prepare(`UPDATE ${index}.audit_indexed SET seq = ? WHERE id = 1`);
    this.indexRange = db.transaction((from: number, to: number) => {
      insert.run({ from, to });
      setWatermark.run(to);
    });
    this.maxSeqStmt = db.prepare(`SELECT COALESCE(MAX(seq), 0) AS m FROM ${events}.audit_events`);
    this.watermarkStmt = db.prepare(`SELECT seq FROM ${index}.audit_indexed WHERE id = 1`);
  }

  /** The last event indexed. */
  watermark(): number {
    return (this.watermarkStmt.get() as { seq: number }).seq;
  }

  /** Indexes every event committed so far; returns how many sequence numbers it covered. */
  catchUp(): number {
    const target = (this.maxSeqStmt.get() as { m: number }).m;
    const start = this.watermark();
    for (let from = start; from < target; from = Math.min(from + BATCH, target)) {
      this.indexRange(from, Math.min(from + BATCH, target));
    }
    return Math.max(0, target - start);
  }
}
