/**
 * The request thread's side of the index thread (index-thread.ts): starts it, asks it to catch
 * up (store what is logged, index what is stored) before a lookup reads the index, and stops it.
 * A thread that dies (it should not) is started again: the calls waiting on it fail, the next
 * ones are answered by the new thread, which resumes from the positions kept in the databases.
 */
import { Worker } from "node:worker_threads";

export type IndexThreadMessage = { type: "sync" | "close"; id: number };
export interface IndexThreadReply {
  id: number;
  error?: string;
}

/** How often the thread looks for new events (lookups do not wait for it: they sync). */
const POLL_MS = 25;
/** A thread that keeps dying is started again at most this often. */
const RESTART_MS = 1000;

export class IndexWorker {
  private worker!: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closing = false;
  /** why the thread is down until it is started again */
  private down: Error | undefined;
  /** settles RESTART_MS after the thread was last started: a restart waits for it */
  private restartAllowed: Promise<void> = Promise.resolve();
  private exited!: Promise<void>;
  /** times the thread was started (for tests) */
  starts = 0;

  constructor(private readonly workerData: { eventsFile: string; indexFile: string; logDir: string }) {
    this.start();
  }

  private start(): void {
    this.starts += 1;
    this.restartAllowed = new Promise((resolve) => setTimeout(resolve, RESTART_MS).unref());
    this.down = undefined;
    const worker = new Worker(new URL("./index-thread.boot.mjs", import.meta.url), { workerData: { ...this.workerData, pollMs: POLL_MS } });
    this.worker = worker;
    worker.unref();
    worker.on("message", (r: IndexThreadReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (r.error) w?.reject(new Error(`indexing CloudTrail events failed: ${r.error}`));
      else w?.resolve();
    });
    worker.on("error", (e) => console.error("[localfargate] the CloudTrail index thread failed:", e));
    this.exited = new Promise((resolve) =>
      worker.once("exit", (code) => {
        resolve();
        if (this.closing) return;
        const e = new Error(`the CloudTrail index thread stopped (exit code ${code}); starting it again`);
        this.down = e;
        for (const w of this.waiting.values()) w.reject(e);
        this.waiting.clear();
        void this.restartAllowed.then(() => this.closing || this.start());
      }),
    );
  }

  /** Resolves once every event recorded before the call is stored and indexed. */
  sync(): Promise<void> {
    if (this.down) return Promise.reject(this.down);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: "sync", id } satisfies IndexThreadMessage);
    });
  }

  /** For tests: stops the thread the way a crash would. */
  async crashForTest(): Promise<void> {
    await this.worker.terminate();
  }

  /** Stores and indexes what is left, closes the index database, then stops the thread. */
  async close(): Promise<void> {
    this.closing = true;
    // held by the thread until it answers (the thread is unref'd so it never keeps a process alive)
    this.worker.ref();
    const id = this.nextId++;
    await Promise.race([
      new Promise<void>((resolve) => {
        this.waiting.set(id, { resolve, reject: () => resolve() });
        this.worker.postMessage({ type: "close", id } satisfies IndexThreadMessage);
      }),
      this.exited,
    ]);
    await this.worker.terminate();
    await this.exited;
  }
}
