/**
 * One server per data dir: an exclusive lock taken before anything reads, cleans or migrates the
 * data dir, and held for the server's whole life.
 *
 * The lock is SQLite's own exclusive lock on a dedicated, always empty database
 * (`localfargate.lock`): `BEGIN EXCLUSIVE` is held open until the server closes. SQLite takes it
 * with fcntl(2) record locks, which the kernel releases when the process ends in any way
 * (exit, crash, SIGKILL), so a dead server never leaves a stale lock to time out or take over,
 * and a reused pid cannot fool it (as it could a pid file checked for liveness). The rollback
 * journal is kept in memory, so holding or trying the lock writes no file; a second start that
 * finds the lock taken changes nothing in the data dir.
 *
 * POSIX record locks belong to the process and are dropped when the process closes ANY
 * descriptor of the file, so nothing in the server may open `localfargate.lock` itself; the
 * owner's pid and address therefore live in a separate record, `server.json`, written once the
 * lock is held (pid) and again once the server listens (address). It is only informational:
 * the lock, never the record, decides who owns the data dir.
 */
import Database from "better-sqlite3";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StartupError } from "./startup-error.ts";

export const LOCK_FILE = "localfargate.lock";
export const OWNER_FILE = "server.json";

export interface LockOwner {
  pid: number;
  /** host:port, once the server listens */
  address?: string;
}

export class DataDirLock {
  private db: Database.Database | null;

  private constructor(
    private readonly dataDir: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  /**
   * Takes the lock on an existing data dir, or throws a StartupError naming the server that
   * holds it. Never waits: a second server is refused at once.
   */
  static acquire(dataDir: string): DataDirLock {
    const file = join(dataDir, LOCK_FILE);
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { timeout: 0 });
      db.pragma("journal_mode = MEMORY");
      db.exec("BEGIN EXCLUSIVE");
    } catch (e) {
      db?.close();
      const code = (e as { code?: string }).code;
      if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") throw new StartupError(inUseMessage(dataDir, readOwner(dataDir)));
      if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
        throw new StartupError(`${file} is not the lock file localfargate makes (${(e as Error).message}): if no localfargate is using ${dataDir}, delete ${file} and start again`);
      }
      throw new StartupError(`cannot lock the data dir: ${file}: ${(e as Error).message}`);
    }
    const lock = new DataDirLock(dataDir, db);
    try {
      lock.writeOwner({ pid: process.pid });
    } catch (e) {
      lock.release();
      throw new StartupError(`cannot write ${join(dataDir, OWNER_FILE)}: ${(e as Error).message}`);
    }
    return lock;
  }

  /** Records the address the server listens on, for the message a second start prints. */
  setAddress(address: string): void {
    this.writeOwner({ pid: process.pid, address });
  }

  /** Releases the lock (the kernel does the same if the process dies first). */
  release(): void {
    if (!this.db) return;
    rmSync(join(this.dataDir, OWNER_FILE), { force: true });
    this.db.close();
    this.db = null;
  }

  private writeOwner(owner: LockOwner): void {
    const file = join(this.dataDir, OWNER_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(owner) + "\n", { mode: 0o600 });
    renameSync(tmp, file);
  }
}

/** The owner record a running server wrote, if it is there and readable. */
export function readOwner(dataDir: string): LockOwner | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dataDir, OWNER_FILE), "utf8")) as Partial<LockOwner>;
    if (typeof v.pid !== "number") return undefined;
    return { pid: v.pid, address: typeof v.address === "string" ? v.address : undefined };
  } catch {
    return undefined;
  }
}

function inUseMessage(dataDir: string, owner: LockOwner | undefined): string {
  const who = owner ? `localfargate server (pid ${owner.pid}, ${owner.address ? `listening on ${owner.address}` : "still starting"})` : "localfargate server";
  return `data dir ${dataDir} is in use by another ${who}; stop that server first, or start this one with another --data-dir (and --port)`;
}
