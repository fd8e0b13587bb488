/**
 * The index thread: moves logged records (log.ts) into `audit_events` in `localfargate.db` and
 * keeps `audit-index.db` caught up with those events, so recording costs the request thread a
 * line in a file or one row, and the LookupEvents index nothing. It polls for new events, and
 * answers a `sync` once everything recorded before it is stored and indexed.
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { LookupIndexer } from "./indexer.ts";
import { LogIngester } from "./log.ts";
import { eventRowWriter } from "./event-store.ts";
import type { IndexThreadMessage, IndexThreadReply } from "./index-worker.ts";

const { eventsFile, indexFile, logDir, pollMs } = workerData as { eventsFile: string; indexFile: string; logDir: string; pollMs: number };
const port = parentPort!;
const db = new Database(indexFile);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
db.prepare("ATTACH DATABASE ? AS ev").run(eventsFile);
const indexer = new LookupIndexer(db, "ev", "main");
const ingester = new LogIngester(db, "ev", logDir, eventRowWriter(db, "ev"));

function catchUp(): string | undefined {
  try {
    ingester.run();
    indexer.catchUp();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const timer = setInterval(catchUp, pollMs);
port.on("message", (m: IndexThreadMessage) => {
  if (m.type === "close") {
    clearInterval(timer);
    const error = catchUp();
    db.close();
    port.postMessage({ id: m.id, error } satisfies IndexThreadReply);
    return;
  }
  const error = catchUp();
  port.postMessage({ id: m.id, error } satisfies IndexThreadReply);
});
