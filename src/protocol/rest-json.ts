/**
 * restJson1: the operation is found by HTTP method and URI template (the model's http trait);
 * input members are bound from path labels, query parameters, headers and a JSON body (or a
 * payload member) as their traits say; output likewise; errors are JSON with X-Amzn-Errortype.
 * https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html
 */
import { ServiceError } from "../kernel/errors.ts";
import type { ServiceDef } from "../kernel/service.ts";
import { own, setOwn } from "../util/own-property.ts";
import { encodeJsonError, toWire } from "./aws-json.ts";
import type { Member, OperationShapes, ServiceShapes } from "./shapes/types.ts";
import { decodeAndValidate, serializationError } from "./validate.ts";
import type { WireProtocol, WireRequest } from "./wire.ts";

export const REST_JSON_CONTENT_TYPE = "application/json";

interface CompiledRoute {
  operation: string;
  method: string;
  /** path segments: a literal, or a label (greedy: the rest of the path) */
  segments: ({ literal: string } | { label: string; greedy: boolean })[];
  /** `?name` or `?name=value` the URI template requires */
  requiredQuery: [string, string | undefined][];
}

function compile(operation: string, http: NonNullable<OperationShapes["http"]>): CompiledRoute {
  const [path, query = ""] = http.uri.split("?");
  const segments = path
    .split("/")
    .filter((s) => s !== "")
    .map((s) => {
      const m = /^\{(\w+)(\+?)\}$/.exec(s);
      return m ? { label: m[1], greedy: m[2] === "+" } : { literal: s };
    });
  const requiredQuery = query
    .split("&")
    .filter((q) => q !== "")
    .map((q): [string, string | undefined] => {
      const eq = q.indexOf("=");
      return eq >= 0 ? [q.slice(0, eq), q.slice(eq + 1)] : [q, undefined];
    });
  return { operation, method: http.method.toUpperCase(), segments, requiredQuery };
}

/** The labels of `path` when it matches the route, else undefined. */
function match(route: CompiledRoute, method: string, path: string, query: URLSearchParams): Record<string, string> | undefined {
  if (route.method !== method) return undefined;
  for (const [k, v] of route.requiredQuery) if (!query.has(k) || (v !== undefined && query.get(k) !== v)) return undefined;
  const parts = path.split("/").filter((s) => s !== "");
  const labels: Record<string, string> = {};
  let i = 0;
  for (const seg of route.segments) {
    if ("literal" in seg) {
      if (parts[i] !== seg.literal) return undefined;
      i++;
    } else if (seg.greedy) {
      if (i >= parts.length) return undefined;
      setOwn(labels, seg.label, parts.slice(i).map(decodeURIComponent).join("/"));
      i = parts.length;
    } else {
      if (i >= parts.length) return undefined;
      setOwn(labels, seg.label, decodeURIComponent(parts[i]));
      i++;
    }
  }
  return i === parts.length ? labels : undefined;
}

/** More literal segments and required query parameters win (as a router picks the most specific route). */
const specificity = (r: CompiledRoute) => r.segments.filter((s) => "literal" in s).length * 10 + r.requiredQuery.length;

const routeCache = new WeakMap<ServiceShapes, CompiledRoute[]>();
function routesOf(shapes: ServiceShapes): CompiledRoute[] {
  let routes = routeCache.get(shapes);
  if (!routes) {
    routes = Object.entries(shapes.operations)
      .filter(([, op]) => op.http)
      .map(([name, op]) => compile(name, op.http!))
      .sort((a, b) => specificity(b) - specificity(a));
    routeCache.set(shapes, routes);
  }
  return routes;
}

/** A label, query or header string as the JSON value its target shape expects. */
function fromString(shapes: ServiceShapes, target: string, v: string): unknown {
  const shape = own(shapes.shapes, target);
  switch (shape?.type) {
    case "integer":
    case "long":
    case "double":
    case "float":
      return v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v;
    case "boolean":
      return v === "true" ? true : v === "false" ? false : v;
    case "timestamp": {
      const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v);
      return Number.isNaN(ms) ? v : ms / 1000;
    }
    default:
      return v;
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  const text = body.toString("utf8");
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw serializationError("Start of structure or map found where not expected.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw serializationError("Start of structure or map found where not expected.");
  return parsed as Record<string, unknown>;
}

/** Binds the request to the operation's input members and validates them. */
export function decodeRestJsonInput(shapes: ServiceShapes, operation: string, req: WireRequest, labels: Record<string, string>): Record<string, unknown> {
  const inputName = own(shapes.operations, operation)?.input;
  if (!inputName) return {};
  const input = own(shapes.shapes, inputName);
  if (input?.type !== "structure") return {};
  const members = Object.entries(input.members);
  const payload = members.find(([, m]) => m.location === "payload");
  const wire: Record<string, unknown> = payload ? {} : parseBody(req.body);
  if (payload) {
    const target = own(shapes.shapes, payload[1].target);
    if (req.body.length > 0)
      setOwn(wire, payload[0], target?.type === "structure" ? parseBody(req.body) : target?.type === "blob" ? req.body.toString("base64") : req.body.toString("utf8"));
  }
  for (const [name, m] of members) {
    const bind = (v: string | undefined) => v !== undefined && setOwn(wire, name, fromString(shapes, m.target, v));
    if (m.location === "label") bind(own(labels, name));
    else if (m.location === "header") bind(req.headers[(m.locationName ?? name).toLowerCase()]);
    else if (m.location === "query") {
      const key = m.locationName ?? name;
      const target = own(shapes.shapes, m.target);
      if (target?.type === "list") {
        const all = req.query.getAll(key);
        if (all.length)
          setOwn(
            wire,
            name,
            all.map((v) => fromString(shapes, target.member, v)),
          );
      } else bind(req.query.get(key) ?? undefined);
    }
  }
  return decodeAndValidate(shapes, inputName, wire, { wire: "json", validationCode: "ValidationException" }) as Record<string, unknown>;
}

/** Output members bound to headers go there, a payload member is the body, the rest is JSON. */
export function encodeRestJsonOutput(shapes: ServiceShapes, operation: string, output: unknown): { status: number; headers: Record<string, string>; body: Buffer } {
  const op = own(shapes.operations, operation);
  const status = op?.http?.code ?? 200;
  const out = (output ?? {}) as Record<string, unknown>;
  const shape = op?.output ? own(shapes.shapes, op.output) : undefined;
  const members: [string, Member][] = shape?.type === "structure" ? Object.entries(shape.members) : [];
  const headers: Record<string, string> = { "content-type": REST_JSON_CONTENT_TYPE };
  const bodyMembers: Record<string, unknown> = {};
  let payload: Buffer | undefined;
  for (const k of Object.keys(out)) {
    const m = members.find(([n]) => n === k)?.[1];
    const v = out[k];
    if (v === undefined) continue;
    if (m?.location === "header") headers[(m.locationName ?? k).toLowerCase()] = v instanceof Date ? v.toUTCString() : String(v);
    else if (m?.location === "payload")
      payload = Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v) : typeof v === "string" ? Buffer.from(v) : Buffer.from(JSON.stringify(toWire(v)));
    else setOwn(bodyMembers, k, v);
  }
  return { status, headers, body: payload ?? Buffer.from(JSON.stringify(toWire(bodyMembers))) };
}

function findRoute(svc: ServiceDef, req: WireRequest): { operation: string; labels: Record<string, string> } | undefined {
  for (const route of routesOf(svc.shapes!)) {
    const labels = match(route, req.method, req.path, req.query);
    if (labels) return { operation: route.operation, labels };
  }
  return undefined;
}

export const restJsonProtocol: WireProtocol = {
  name: "restJson1",
  decode(req, svc) {
    const found = findRoute(svc, req);
    if (!found) throw new ServiceError("UnknownOperationException", "", 404);
    return { operation: found.operation, input: () => decodeRestJsonInput(svc.shapes!, found.operation, req, found.labels) };
  },
  encodeOutput: (svc, operation, output) => encodeRestJsonOutput(svc.shapes!, operation, output),
  encodeError: (_svc, err) => ({ status: err.status, headers: { "content-type": REST_JSON_CONTENT_TYPE, "x-amzn-errortype": err.code }, body: encodeJsonError(err) }),
};
