/**
 * The request thread's side of the index thread (index-thread.ts): starts it, asks it to catch
 * up (store what is logged, index what is stored) before a lookup reads the index, and stops it.
 */
import { Worker } from "node:worker_threads";

export type IndexThreadMessage = { type: "sync" | "close"; id: number };
export interface IndexThreadReply {
  id: number;
  error?: string;
}

/** How often the thread looks for new events (lookups do not wait for it: they sync). */
const POLL_MS = 25;

export class IndexWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  constructor(eventsFile: string, indexFile: string, logDir: string) {
    this.worker = new Worker(new URL("./index-thread.boot.mjs", import.meta.url), { workerData: { eventsFile, indexFile, logDir, pollMs: POLL_MS } });
    this.worker.unref();
    this.worker.on("message", (r: IndexThreadReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (r.error) w?.reject(new Error(`indexing CloudTrail events failed: ${r.error}`));
      else w?.resolve();
    });
    this.worker.on("error", (e) => this.fail(e));
    this.exited = new Promise((resolve) =>
      this.worker.once("exit", (code) => {
        this.fail(new Error(`the CloudTrail index thread stopped (exit code ${code})`));
        resolve();
      }),
    );
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  /** Resolves once every event committed before the call is indexed. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: "sync", id } satisfies IndexThreadMessage);
    });
  }

  /** Indexes what is left, closes the index database, then stops the thread. */
  async close(): Promise<void> {
    if (!this.failure) {
      // held by the thread until it answers (the thread is unref'd so it never keeps a process alive)
      this.worker.ref();
      const id = this.nextId++;
      await new Promise<void>((resolve) => {
        this.waiting.set(id, { resolve, reject: () => resolve() });
        this.worker.postMessage({ type: "close", id } satisfies IndexThreadMessage);
      });
    }
    await this.worker.terminate();
    await this.exited;
  }
}
