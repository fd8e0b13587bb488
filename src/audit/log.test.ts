import { afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog, createIngestTable, LogIngester, segments, type StoreLine } from "./log.ts";

const ingestLog = (db: Database.Database, schema: string, dir: string, store: StoreLine) => new LogIngester(db, schema, dir, store).run();

/** Test lines: account, region and event id, tab-separated. */
const logLine = (r: { eventID: string }, account: string, region: string) => `${account}\t${region}\t${JSON.stringify(r)}`;

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lf-log-"));
  dirs.push(d);
  return d;
}
const seg = (dir: string, n: number) => join(dir, `${String(n).padStart(10, "0")}.log`);

function sink() {
  const db = new Database(":memory:");
  createIngestTable(db, "main");
  const stored: { account: string; region: string; id: string }[] = [];
  const store = (line: string) => {
    const [account, region, text] = line.split("\t");
    stored.push({ account, region, id: (JSON.parse(text) as { eventID: string }).eventID });
  };
  return { db, stored, store };
}

describe("AuditLog", () => {
  it("writes the lines of one turn in one write and resolves each caller once they are on disk", async () => {
    const dir = tempDir();
    const log = new AuditLog(dir);
    await Promise.all([log.append(logLine({ eventID: "a" }, "111122223333", "us-east-1")), log.append(logLine({ eventID: "b" }, "111122223333", "eu-west-1"))]);
    expect(readFileSync(seg(dir, 1), "utf8")).toBe('111122223333\tus-east-1\t{"eventID":"a"}\n111122223333\teu-west-1\t{"eventID":"b"}\n');
    log.close();
  });

  it("starts a new segment on every start, so a torn line from a crash is never appended to", async () => {
    const dir = tempDir();
    new AuditLog(dir).close();
    appendFileSync(seg(dir, 1), '111122223333\tus-east-1\t{"eventID":"torn'); // a write cut short by a crash
    const log = new AuditLog(dir);
    await log.append(logLine({ eventID: "next" }, "111122223333", "us-east-1"));
    log.close();
    expect(segments(dir)).toEqual([1, 2]);
    const { db, stored, store } = sink();
    expect(ingestLog(db, "main", dir, store)).toBe(1);
    expect(stored.map((s) => s.id)).toEqual(["next"]);
    // the finished segment is deleted once ingested; the newest stays for the writer
    expect(existsSync(seg(dir, 1))).toBe(false);
    expect(existsSync(seg(dir, 2))).toBe(true);
  });
});

describe("LogIngester", () => {
  it("moves every complete line exactly once, across calls and segments", async () => {
    const dir = tempDir();
    const log = new AuditLog(dir);
    const { db, stored, store } = sink();
    for (let i = 0; i < 1200; i++) void log.append(logLine({ eventID: `e${i}` }, "111122223333", i % 2 ? "us-east-1" : "eu-west-1"));
    log.flush();
    const ingester = new LogIngester(db, "main", dir, store); // one per thread, run on every poll
    expect(ingester.run()).toBe(1200); // more than one transaction's worth
    expect(ingester.run()).toBe(0);
    // a line being written (no newline yet) waits for the rest of it
    appendFileSync(seg(dir, 1), '111122223333\tus-east-1\t{"eventID":"half');
    expect(ingester.run()).toBe(0);
    appendFileSync(seg(dir, 1), '"}\n');
    expect(ingester.run()).toBe(1);
    log.close();
    expect(stored.length).toBe(1201);
    expect(new Set(stored.map((s) => s.id)).size).toBe(1201);
    expect(stored[0]).toEqual({ account: "111122223333", region: "eu-west-1", id: "e0" });
    expect(stored.at(-1)!.id).toBe("half");
  });

  it("keeps its position with the rows: a batch that fails is moved again, not lost", async () => {
    const dir = tempDir();
    const log = new AuditLog(dir);
    await log.append(logLine({ eventID: "x" }, "111122223333", "us-east-1"));
    const { db, stored, store } = sink();
    expect(() =>
      ingestLog(db, "main", dir, () => {
        throw new Error("disk full");
      }),
    ).toThrow("disk full");
    expect(ingestLog(db, "main", dir, store)).toBe(1);
    expect(stored.map((s) => s.id)).toEqual(["x"]);
    log.close();
  });

  it("takes no lock when nothing new was logged (the index thread polls every 25 ms)", async () => {
    const dir = tempDir();
    const log = new AuditLog(join(dir, "log"));
    await log.append(logLine({ eventID: "x" }, "111122223333", "us-east-1"));
    const db = new Database(join(dir, "events.db"));
    db.pragma("journal_mode = WAL");
    createIngestTable(db, "main");
    const { stored, store } = sink();
    expect(ingestLog(db, "main", log.dir, store)).toBe(1);
    // another connection holds the write lock: a poll with nothing to do must not need it
    const other = new Database(join(dir, "events.db"));
    other.exec("BEGIN IMMEDIATE");
    expect(ingestLog(db, "main", log.dir, store)).toBe(0);
    await log.append(logLine({ eventID: "y" }, "111122223333", "us-east-1"));
    expect(() => ingestLog(db, "main", log.dir, store)).toThrow(/locked|busy/i);
    other.exec("ROLLBACK");
    expect(ingestLog(db, "main", log.dir, store)).toBe(1);
    expect(stored.map((s) => s.id)).toEqual(["x", "y"]);
    other.close();
    db.close();
    log.close();
  });
});
