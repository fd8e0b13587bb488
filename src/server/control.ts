/** localfargate's own endpoints: readiness, the service clock, the local image store. */
import { randomUUID } from "node:crypto";
import type { AppContext } from "../kernel/context.ts";
import type { DueScheduler } from "./scheduler.ts";
import { advanceProblem } from "../clock/clock.ts";
import { handleMetadataRequest } from "../fargate/metadata.ts";
import { handleImages } from "./images-control.ts";

export interface ReadyState {
  ready: boolean;
  /** the app's due work, run after a clock advance */
  readonly due: DueScheduler;
}

/** A JSON answer; the front door adds the headers. */
export interface ControlReply {
  status: number;
  requestId: string;
  body: Buffer;
}

function json(status: number, body: unknown): ControlReply {
  return { status, requestId: randomUUID(), body: Buffer.from(JSON.stringify(body)) };
}

export async function handleControl(app: AppContext, state: ReadyState, method: string, path: string, body: Buffer): Promise<ControlReply> {
  if (path === "/_localfargate/health" && (method === "GET" || method === "HEAD")) {
    const noRoom = state.ready ? app.store.disk.problem() : undefined;
    const status = !state.ready ? "starting" : noRoom ? "degraded" : "ready";
    return json(status === "ready" ? 200 : 503, {
      status,
      ...(noRoom ? { reason: noRoom } : {}),
      services: Object.fromEntries([...app.services.keys()].map((s) => [s, status])),
      ...app.health,
      now: app.clock.now().toISOString(),
    });
  }
  if (path === "/_localfargate/clock") {
    if (method === "GET") return json(200, { now: app.clock.now().toISOString() });
    if (method === "POST") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8") || "{}");
      } catch {
        return json(400, { __type: "SerializationException", message: "The request body is not valid JSON." });
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        return json(400, { __type: "SerializationException", message: 'The request body must be a JSON object: {"advanceSeconds": N}.' });
      }
      const n = (parsed as { advanceSeconds?: unknown }).advanceSeconds;
      const problem = advanceProblem(n, app.clock.nowMs());
      if (problem) return json(400, { __type: "ValidationException", message: problem });
      const noRoom = app.store.disk.problem();
      if (noRoom) return json(503, { __type: "ServiceUnavailable", message: `The clock was not moved: ${noRoom}.` });
      // saved first: a refused write leaves the clock where it was
      try {
        app.store.commitNow([app.store.setMeta("clock.offsetMs", String(app.clock.offsetAfter(n as number)))]);
      } catch (e) {
        if (!app.store.disk.noteFailure(e)) throw e;
        return json(503, { __type: "ServiceUnavailable", message: `The clock was not moved: ${app.store.disk.problem() ?? "the data directory is full"}.` });
      }
      app.clock.advance(n as number);
      await state.due.runDue();
      return json(200, { now: app.clock.now().toISOString() });
    }
    return json(405, { __type: "MethodNotAllowed", message: "Use GET or POST." });
  }
  if (path === "/_localfargate/images") {
    const r = await handleImages(app, method, body);
    return json(r.status, r.body);
  }
  const metadata = handleMetadataRequest(app, method, path);
  if (metadata) return json(metadata.status, metadata.body);
  return json(404, { __type: "NotFound", message: `No localfargate endpoint at ${path}` });
}
