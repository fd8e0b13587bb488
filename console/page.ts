/** What every page of the console is: static controls, data loaded on each poll, a view of it. */
import type { CallTarget } from "./aws.ts";
import type { Session } from "./session.ts";

export interface Ctx {
  target: CallTarget;
  session: Session;
  /** route parameters, e.g. ["my-cluster"] for #/clusters/my-cluster */
  params: string[];
  query: URLSearchParams;
  /** load and redraw now (after an action) */
  refresh(): void;
  /** a message in the live region; kind "error" is shown in red */
  notify(message: string, kind?: "ok" | "error"): void;
  /** moves to another route */
  go(route: string): void;
  /** the identity signed in (or assumed), re-read after a switch */
  reloadIdentity(): void;
}

export interface Page {
  title: string | ((ctx: Ctx) => string);
  /** rendered once per visit, above the data (forms keep what is typed while data refreshes) */
  controls?(ctx: Ctx): Node;
  load(ctx: Ctx): Promise<unknown>;
  view(data: unknown, ctx: Ctx): Node;
  /** how often to poll (ms); 0 for never. Default 2000. */
  pollMs?: number;
}

/** Runs an action, reports its outcome and refreshes the page. */
export async function act(ctx: Ctx, done: string, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
    ctx.notify(done, "ok");
  } catch (e) {
    const err = e as { code?: string; message?: string };
    ctx.notify(`${err.code ? err.code + ": " : ""}${err.message ?? String(e)}`, "error");
  }
  ctx.refresh();
}
