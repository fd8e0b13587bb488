/**
 * Runs everything that has fallen due on the service clock: key deletions, rotations, material
 * expiry, CloudTrail deliveries. Called on a real-time tick and after every clock advance; runs
 * of one app never overlap.
 */
import type { AppContext } from "../kernel/context.ts";

const running = new WeakMap<AppContext, Promise<void>>();

export async function runDue(app: AppContext): Promise<void> {
  // A run already under way may have started before the caller's clock change: wait for it,
  // then run again so everything due at the new time is done before we answer.
  while (running.has(app)) await running.get(app);
  const run = (async () => {
    // due work changes state it must save: with no room it waits for space (docs/security.md)
    if (app.store.disk.problem()) return;
    for (const r of app.dueRunners) {
      try {
        await r.runDue(app.clock.nowMs());
      } catch (e) {
        console.error(`[localfargate] ${r.name} failed while running due work:`, e);
      }
    }
  })();
  running.set(app, run);
  try {
    await run;
  } finally {
    running.delete(app);
  }
}

export function startTicker(app: AppContext, everyMs = 1000): () => void {
  const t = setInterval(() => void runDue(app), everyMs);
  t.unref();
  return () => clearInterval(t);
}
