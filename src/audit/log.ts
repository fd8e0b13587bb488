/**
 * The audit log: where the records of calls that change nothing (GetCallerIdentity, Encrypt,
 * Decrypt, failures...) become durable before their response, as lines appended to a file, one
 * write per group of calls. A SQLite transaction per group cost those calls most of their
 * recording time; a write to the file costs a few µs. Records of calls that change state are
 * still stored in that call's own transaction (sink.ts), so a state change and its record stay
 * atomic.
 *
 * The lines are moved into `audit_events` shortly after, by a `LogIngester` on the index thread (a
 * reader that needs every event at once, as trail delivery does, asks that thread to catch up
 * first). Exactly once: the position reached is kept in the same transaction as the rows. Files are segments
 * `<n>.log` in `<data dir>/audit-log/`; every start writes a new segment (a crash may leave a
 * torn last line in the old one, never answered, which is dropped), and a segment is deleted once
 * ingested. What a line holds is the writer's business (store.ts); a line never contains a raw
 * newline.
 */
import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";

export const LOG_DIR = "audit-log";
/** A segment is closed and a new one started past this size. */
const SEGMENT_BYTES = 64 * 1024 * 1024;

const segmentName = (n: number) => `${String(n).padStart(10, "0")}.log`;

/** Segment numbers present in the directory, ascending. */
export function segments(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((f) => /^\d{10}\.log$/.test(f))
    .map((f) => Number(f.slice(0, 10)))
    .sort((a, b) => a - b);
}

export class AuditLog {
  private fd: number;
  private segment: number;
  private size = 0;
  private pending: string[] = [];
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const existing = segments(dir);
    this.segment = (existing.at(-1) ?? 0) + 1;
    this.fd = this.open(this.segment);
  }

  private open(n: number): number {
    const fd = openSync(join(this.dir, segmentName(n)), "a", 0o600);
    this.size = fstatSync(fd).size;
    return fd;
  }

  /** Queues the line (no newline in it) for the next group write; resolves once it is written. */
  append(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push(line + "\n");
      this.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = this.pending.join("");
    const waiters = this.waiters;
    this.pending = [];
    this.waiters = [];
    try {
      const buf = Buffer.from(text, "utf8");
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off);
      this.size += buf.length;
    } catch (e) {
      // a write cut short (ENOSPC) must not leave half a line for the next one to run into
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the file keeps a torn tail; the reader drops a line it cannot parse
      }
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const w of waiters) w.resolve();
    if (this.size >= SEGMENT_BYTES) {
      closeSync(this.fd);
      this.segment += 1;
      this.fd = this.open(this.segment);
    }
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Where ingestion stands, kept in the events' database. */
export function createIngestTable(db: Database.Database, schema: string): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${schema}.audit_log_ingested (id INTEGER PRIMARY KEY CHECK (id = 1), segment INTEGER NOT NULL, offset INTEGER NOT NULL);
    INSERT OR IGNORE INTO ${schema}.audit_log_ingested (id, segment, offset) VALUES (1, 0, 0);`);
}

/** Stores what one line describes (the line without its newline); `forget` drops whatever it cached, after a batch rolled back. */
export type StoreLine = ((line: string) => void) & { forget?: () => void };

/** Lines moved per transaction: bounds how long the events database's write lock is held. */
const LINES_PER_TRANSACTION = 250;
/** Bytes read at a time: about as much as one transaction's lines (a larger read is wasted, re-read by the next). */
const READ_BYTES = 256 * 1024;

/**
 * Moves every complete line logged so far into the events table (see the file comment). Made
 * once per thread: the statements and the batch transaction are prepared here, not per poll.
 */
export class LogIngester {
  private readonly getPos: Database.Statement;
  private readonly setPos: Database.Statement;
  private readonly batch: Database.Transaction<() => "more" | "done">;
  private moved = 0;

  constructor(
    db: Database.Database,
    schema: string,
    private readonly dir: string,
    private readonly store: StoreLine,
  ) {
    this.getPos = db.prepare(`SELECT segment, offset FROM ${schema}.audit_log_ingested WHERE id = 1`);
    this.setPos = db.prepare(`UPDATE ${schema}.audit_log_ingested SET segment = ?, offset = ? WHERE id = 1`);
    // Each batch re-reads the position inside its own write transaction, so a batch that fails
    // never moves a line twice.
    this.batch = db.transaction((): "more" | "done" => {
      const pos = this.position();
      const all = segments(dir);
      const current = all.find((n) => n >= pos.segment);
      if (current === undefined) return "done";
      const newest = current === all.at(-1);
      let offset = current === pos.segment ? pos.offset : 0;
      const { lines, consumed, atEnd } = readLines(join(dir, segmentName(current)), offset, LINES_PER_TRANSACTION);
      for (const line of lines) store(line);
      this.moved += lines.length;
      offset += consumed;
      if (atEnd && !newest) {
        // a finished segment (a torn last line, from a crash, was never answered): go on to the next
        this.setPos.run(all[all.indexOf(current) + 1], 0);
        return "more";
      }
      this.setPos.run(current, offset);
      return lines.length === LINES_PER_TRANSACTION ? "more" : "done";
    });
  }

  private position(): { segment: number; offset: number } {
    return this.getPos.get() as { segment: number; offset: number };
  }

  /** Moves what is new; returns how many lines it moved. */
  run(): number {
    // Nothing new (the usual case for a poll): do not take the write lock at all.
    const start = this.position();
    const present = segments(this.dir);
    if (present.length === 0 || (present.length === 1 && present[0] === start.segment && sizeOf(join(this.dir, segmentName(start.segment))) === start.offset)) {
      return 0;
    }
    this.moved = 0;
    try {
      while (this.batch.immediate() === "more");
    } catch (e) {
      this.store.forget?.();
      throw e;
    }
    // segments before the position are moved: delete them
    const pos = this.position();
    for (const n of segments(this.dir)) {
      if (n >= pos.segment) break;
      try {
        unlinkSync(join(this.dir, segmentName(n)));
      } catch {
        /* already gone */
      }
    }
    return this.moved;
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

/** Up to `max` complete lines from `offset`; `atEnd` when nothing but a torn line (or nothing) follows. */
function readLines(file: string, offset: number, max: number): { lines: string[]; consumed: number; atEnd: boolean } {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return { lines: [], consumed: 0, atEnd: true };
  }
  try {
    const lines: string[] = [];
    let consumed = 0;
    let carry = Buffer.alloc(0);
    const chunk = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, offset + consumed + carry.length);
      if (n === 0) return { lines, consumed, atEnd: true };
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (;;) {
        const nl = data.indexOf(10, start);
        if (nl < 0) break;
        lines.push(data.toString("utf8", start, nl));
        consumed += nl + 1 - start;
        start = nl + 1;
        if (lines.length === max) return { lines, consumed, atEnd: false };
      }
      carry = Buffer.from(data.subarray(start)); // a copy: the next read reuses `chunk`
    }
  } finally {
    closeSync(fd);
  }
}
