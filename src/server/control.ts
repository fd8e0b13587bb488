/** localfargate's own endpoints: readiness and the service clock. */
import { randomUUID } from "node:crypto";
import type { AppContext } from "../services/types.ts";
import { runDue } from "./scheduler.ts";
import { handleMetadataRequest } from "../fargate/metadata.ts";

export interface ReadyState {
  ready: boolean;
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
    return json(state.ready ? 200 : 503, {
      status: state.ready ? "ready" : "starting",
      services: Object.fromEntries([...app.services.keys()].map((s) => [s, state.ready ? "ready" : "starting"])),
      ...app.health,
      now: app.clock.now().toISOString(),
    });
  }
  if (path === "/_localfargate/clock") {
    if (method === "GET") return json(200, { now: app.clock.now().toISOString() });
    if (method === "POST") {
      let n: unknown;
      try {
        n = (JSON.parse(body.toString("utf8") || "{}") as { advanceSeconds?: unknown }).advanceSeconds;
      } catch {
        return json(400, { __type: "SerializationException", message: "The request body is not valid JSON." });
      }
      if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
        return json(400, { __type: "ValidationException", message: "advanceSeconds must be a non-negative number of seconds." });
      }
      app.clock.advance(n);
      app.store.commitNow([app.store.setMeta("clock.offsetMs", String(app.clock.offsetMs()))]);
      await runDue(app);
      return json(200, { now: app.clock.now().toISOString() });
    }
    return json(405, { __type: "MethodNotAllowed", message: "Use GET or POST." });
  }
  const metadata = handleMetadataRequest(app, method, path);
  if (metadata) return json(metadata.status, metadata.body);
  return json(404, { __type: "NotFound", message: `No localfargate endpoint at ${path}` });
}
