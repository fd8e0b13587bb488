/**
 * The index thread: keeps `audit-index.db` caught up with the events in `localfargate.db`, so
 * the request thread writes one row per event and the LookupEvents index costs it nothing.
 * It polls for new events, and answers a `sync` once everything committed before it is indexed.
 */
import Database from "better-sqlite3";
import { parentPort, workerData } from "node:worker_threads";
import { LookupIndexer } from "./indexer.ts";
import type { IndexThreadMessage, IndexThreadReply } from "./index-worker.ts";

const { eventsFile, indexFile, pollMs } = workerData as { eventsFile: string; indexFile: string; pollMs: number };
const port = parentPort!;
const db = new Database(indexFile);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
db.prepare("ATTACH DATABASE ? AS ev").run(eventsFile);
const indexer = new LookupIndexer(db, "ev", "main");

function catchUp(): string | undefined {
  try {
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
