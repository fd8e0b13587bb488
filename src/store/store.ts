/**
 * Persistence: SQLite (better-sqlite3) in WAL mode under the data dir.
 *
 * Services keep their state in memory and describe changes as write operations; a request's
 * writes (its audit record included) are committed in one transaction before the response is
 * sent. Concurrent requests are group-committed: every write set queued in the same turn of
 * the event loop goes into one transaction, and each request is answered once it is durable.
 */
import Database from "better-sqlite3";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { DiskGuard } from "./disk-guard.ts";
import { StartupError } from "./startup-error.ts";

export const DB_FILE = "localfargate.db";

export type DB = Database.Database;
export type WriteOp = (db: DB) => void;

export class Store {
  readonly db: DB;
  private pending: { ops: WriteOp[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;
  private readonly putStmt: Database.Statement;
  private readonly delStmt: Database.Statement;
  private readonly getStmt: Database.Statement;
  private readonly allStmt: Database.Statement;
  private readonly runOps: (ops: WriteOp[][]) => void;
  /** room left on the data dir's file system; calls check it before they start */
  readonly disk: DiskGuard;

  /** `lock`: the data dir lock (./lock.ts), released when the store closes, after the last write */
  constructor(
    dataDir: string | null,
    private readonly lock?: { release(): void },
  ) {
    this.disk = new DiskGuard(dataDir);
    const file = dataDir ? join(dataDir, DB_FILE) : ":memory:";
    if (dataDir) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      // created private before SQLite opens it: the WAL and shared-memory files take its mode
      closeSync(openSync(file, "a", 0o600));
    }
    let db: DB | undefined;
    try {
      db = new Database(file);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("busy_timeout = 5000");
      db.exec(`
        CREATE TABLE IF NOT EXISTS entities (
          kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
          PRIMARY KEY (kind, id)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
      `);
    } catch (e) {
      db?.close();
      throw damagedDatabase(file, e);
    }
    this.db = db;
    this.putStmt = this.db.prepare("INSERT INTO entities (kind, id, data) VALUES (?, ?, ?) ON CONFLICT(kind, id) DO UPDATE SET data = excluded.data");
    this.delStmt = this.db.prepare("DELETE FROM entities WHERE kind = ? AND id = ?");
    this.getStmt = this.db.prepare("SELECT data FROM entities WHERE kind = ? AND id = ?");
    this.allStmt = this.db.prepare("SELECT id, data FROM entities WHERE kind = ?");
    // One transaction function, made once: better-sqlite3 wraps BEGIN/COMMIT around it.
    this.runOps = this.db.transaction((sets: WriteOp[][]) => {
      for (const ops of sets) for (const op of ops) op(this.db);
    });
  }

  /** A write op that stores an entity (JSON; Buffers are stored as {"$b64": ...}). */
  put(kind: string, id: string, value: unknown): WriteOp {
    const data = JSON.stringify(value, bufferReplacer);
    return () => void this.putStmt.run(kind, id, data);
  }

  del(kind: string, id: string): WriteOp {
    return () => void this.delStmt.run(kind, id);
  }

  get<T>(kind: string, id: string): T | undefined {
    const row = this.getStmt.get(kind, id) as { data: string } | undefined;
    return row ? this.parse<T>(kind, id, row.data) : undefined;
  }

  all<T>(kind: string): T[] {
    return (this.allStmt.all(kind) as { id: string; data: string }[]).map((r) => this.parse<T>(kind, r.id, r.data));
  }

  private parse<T>(kind: string, id: string, data: string): T {
    try {
      return JSON.parse(data, bufferReviver) as T;
    } catch {
      throw new StartupError(
        `${this.db.name}: the stored ${kind} ${id} is damaged (not JSON): restore the database from a backup of this data dir, or start with a new, empty --data-dir`,
      );
    }
  }

  getMeta(k: string): string | undefined {
    return (this.db.prepare("SELECT v FROM meta WHERE k = ?").get(k) as { v: string } | undefined)?.v;
  }

  setMeta(k: string, v: string): WriteOp {
    return (db) => void db.prepare("INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v").run(k, v);
  }

  /** Runs the ops in one transaction now. */
  commitNow(ops: WriteOp[]): void {
    if (ops.length === 0) return;
    try {
      this.runOps([ops]);
    } catch (e) {
      this.disk.noteFailure(e);
      throw e;
    }
  }

  /** Queues the ops for the next group commit; resolves once they are durable. */
  commit(ops: WriteOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.pending.push({ ops, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      this.runOps(batch.map((b) => b.ops));
      for (const b of batch) b.resolve();
    } catch {
      // One bad write set must not sink the others: retry each alone.
      for (const b of batch) {
        try {
          this.commitNow(b.ops);
          b.resolve();
        } catch (e) {
          this.disk.noteFailure(e);
          b.reject(e);
        }
      }
    }
  }

  close(): void {
    try {
      this.flush();
      this.db.close();
    } finally {
      this.lock?.release();
    }
  }
}

/** A SQLite file that cannot be read is a start-up error that names it, never a stack trace. */
export function damagedDatabase(file: string, e: unknown): Error {
  const code = (e as { code?: string }).code ?? "";
  if (!/^SQLITE_(NOTADB|CORRUPT|CANTOPEN|IOERR|READONLY|PERM|AUTH|FORMAT|RANGE)/.test(code)) return e as Error;
  return new StartupError(`${file} cannot be used as a database (${(e as Error).message}): restore it from a backup of this data dir, or start with a new, empty --data-dir`);
}

function bufferReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return { $b64: Buffer.from(raw).toString("base64") };
  if (raw instanceof Date) return { $date: raw.getTime() };
  return value;
}

function bufferReviver(_key: string, value: unknown): unknown {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (typeof v.$b64 === "string" && Object.keys(v).length === 1) return Buffer.from(v.$b64, "base64");
    if (typeof v.$date === "number" && Object.keys(v).length === 1) return new Date(v.$date);
  }
  return value;
}
