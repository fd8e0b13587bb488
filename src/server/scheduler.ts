/**
 * Runs everything that has fallen due on the service clock: key deletions, rotations, material
 * expiry, CloudTrail deliveries. Called on a real-time tick and after every clock advance; runs
 * of one app never overlap. One DueScheduler belongs to each app (src/server/app.ts).
 */
import type { AppContext } from "../kernel/context.ts";

export class DueScheduler {
  private running: Promise<void> | undefined;

  constructor(private readonly app: AppContext) {}

  async runDue(): Promise<void> {
    // A run already under way may have started before the caller's clock change: wait for it,
    // then run again so everything due at the new time is done before we answer.
    while (this.running) await this.running;
    const run = this.runOnce();
    this.running = run;
    try {
      await run;
    } finally {
      this.running = undefined;
    }
  }

  /** Runs due work every `everyMs` of real time; returns the function that stops it. */
  startTicker(everyMs = 1000): () => void {
    const t = setInterval(() => void this.runDue(), everyMs);
    t.unref();
    return () => clearInterval(t);
  }

  private async runOnce(): Promise<void> {
    const app = this.app;
    // due work changes state it must save: with no room it waits for space (docs/security.md)
    if (app.store.disk.problem()) return;
    for (const r of app.dueRunners) {
      try {
        await r.runDue(app.clock.nowMs());
      } catch (e) {
        console.error(`[localfargate] ${r.name} failed while running due work:`, e);
      }
    }
  }
}
