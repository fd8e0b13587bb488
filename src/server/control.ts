/** localfargate's own endpoints: readiness and the service clock. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { AppContext } from "../services/types.ts";
import { runDue } from "./scheduler.ts";
import { handleMetadataRequest } from "../fargate/metadata.ts";

export interface ReadyState {
  ready: boolean;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "content-type": "application/json", "content-length": b.length, "x-amzn-requestid": randomUUID() });
  res.end(b);
}

export async function handleControl(app: AppContext, state: ReadyState, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): Promise<void> {
  if (path === "/_localfargate/health" && (req.method === "GET" || req.method === "HEAD")) {
    return json(res, state.ready ? 200 : 503, {
      status: state.ready ? "ready" : "starting",
      services: Object.fromEntries([...app.services.keys()].map((s) => [s, state.ready ? "ready" : "starting"])),
      ...app.health,
      now: app.clock.now().toISOString(),
    });
  }
  if (path === "/_localfargate/clock") {
    if (req.method === "GET") return json(res, 200, { now: app.clock.now().toISOString() });
    if (req.method === "POST") {
      let n: unknown;
      try {
        n = (JSON.parse(body.toString("utf8") || "{}") as { advanceSeconds?: unknown }).advanceSeconds;
      } catch {
        return json(res, 400, { __type: "SerializationException", message: "The request body is not valid JSON." });
      }
      if (typeof n !== "number" || !Number.isFinite(n) || n < 0) {
        return json(res, 400, { __type: "ValidationException", message: "advanceSeconds must be a non-negative number of seconds." });
      }
      app.clock.advance(n);
      app.store.commitNow([app.store.setMeta("clock.offsetMs", String(app.clock.offsetMs()))]);
      await runDue(app);
      return json(res, 200, { now: app.clock.now().toISOString() });
    }
    return json(res, 405, { __type: "MethodNotAllowed", message: "Use GET or POST." });
  }
  const metadata = handleMetadataRequest(app, req.method ?? "GET", path);
  if (metadata) return json(res, metadata.status, metadata.body);
  return json(res, 404, { __type: "NotFound", message: `No localfargate endpoint at ${path}` });
}
