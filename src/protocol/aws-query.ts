/** awsQuery (IAM, STS): form-encoded input by shape, XML output and ErrorResponse. */
import type { ServiceError } from "../kernel/errors.ts";
import { decodeAndValidate } from "./validate.ts";
import type { Shape, ServiceShapes } from "./shapes/types.ts";
import { own, setOwn } from "../util/own-property.ts";
import type { WireProtocol } from "./wire.ts";

export const XML_CONTENT_TYPE = "text/xml";

/** Parses `a.b.member.1.c=x` pairs into a nested object guided by the input shape. */
export function decodeQueryInput(shapes: ServiceShapes, operation: string, params: URLSearchParams): Record<string, unknown> {
  const inputShape = own(shapes.operations, operation)?.input;
  if (!inputShape) return {};
  const flat = new Map<string, string>();
  for (const [k, v] of params) flat.set(k, v);
  const raw = build(shapes, inputShape, "", flat) ?? {};
  return decodeAndValidate(shapes, inputShape, raw, { wire: "query", validationCode: "ValidationError", unanchoredPatterns: true }) as Record<string, unknown>;
}

function hasPrefix(flat: Map<string, string>, prefix: string): boolean {
  for (const k of flat.keys()) if (k === prefix || k.startsWith(prefix + ".")) return true;
  return false;
}

function build(shapes: ServiceShapes, name: string, prefix: string, flat: Map<string, string>): unknown {
  const shape: Shape | undefined = shapes.shapes[name];
  if (!shape) return flat.get(prefix);
  switch (shape.type) {
    case "structure": {
      const out: Record<string, unknown> = {};
      for (const [m, def] of Object.entries(shape.members)) {
        const key = prefix ? `${prefix}.${def.xmlName ?? m}` : (def.xmlName ?? m);
        const targetShape = shapes.shapes[def.target];
        if (targetShape?.type === "list" || targetShape?.type === "map" || targetShape?.type === "structure") {
          if (!hasPrefix(flat, key)) {
            // An empty list is sent as `Name=` with no members.
            if (targetShape.type === "list" && flat.has(key)) out[m] = [];
            continue;
          }
          const v = build(shapes, def.target, key, flat);
          if (v !== undefined) out[m] = v;
        } else if (flat.has(key)) {
          out[m] = flat.get(key);
        }
      }
      return out;
    }
    case "list": {
      const items: unknown[] = [];
      const base = shape.flattened ? prefix : `${prefix}.${shape.memberXmlName ?? "member"}`;
      for (let i = 1; ; i++) {
        const key = `${base}.${i}`;
        if (!hasPrefix(flat, key)) break;
        items.push(build(shapes, shape.member, key, flat));
      }
      return items;
    }
    case "map": {
      const out: Record<string, unknown> = {};
      const base = shape.flattened ? prefix : `${prefix}.entry`;
      for (let i = 1; ; i++) {
        const k = flat.get(`${base}.${i}.key`);
        if (k === undefined) break;
        setOwn(out, k, build(shapes, shape.value, `${base}.${i}.value`, flat));
      }
      return out;
    }
    default:
      return flat.get(prefix);
  }
}

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#xD;" };
export const xmlEscape = (s: string) => s.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c]);

export function isoTimestamp(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function encodeValue(shapes: ServiceShapes, name: string, v: unknown): string {
  const shape = shapes.shapes[name];
  if (v === undefined || v === null) return "";
  if (!shape) return xmlEscape(String(v));
  switch (shape.type) {
    case "structure": {
      let s = "";
      const obj = v as Record<string, unknown>;
      for (const [m, def] of Object.entries(shape.members)) {
        const val = obj[m];
        if (val === undefined || val === null) continue;
        s += encodeMember(shapes, def.xmlName ?? m, def.target, val, def.flattened);
      }
      return s;
    }
    case "timestamp":
      return isoTimestamp(v instanceof Date ? v : new Date(v as string));
    case "blob":
      return Buffer.from(v as Uint8Array).toString("base64");
    case "boolean":
      return v ? "true" : "false";
    default:
      return xmlEscape(String(v));
  }
}

function encodeMember(shapes: ServiceShapes, tag: string, target: string, val: unknown, flattened?: boolean): string {
  const shape = shapes.shapes[target];
  if (shape?.type === "list") {
    const itemTag = shape.memberXmlName ?? "member";
    const items = (val as unknown[])
      .map((item) => `<${flattened || shape.flattened ? tag : itemTag}>${encodeValue(shapes, shape.member, item)}</${flattened || shape.flattened ? tag : itemTag}>`)
      .join("");
    return flattened || shape.flattened ? items : `<${tag}>${items}</${tag}>`;
  }
  if (shape?.type === "map") {
    const entries = Object.entries(val as Record<string, unknown>)
      .map(([k, x]) => `<entry><key>${xmlEscape(k)}</key><value>${encodeValue(shapes, shape.value, x)}</value></entry>`)
      .join("");
    return `<${tag}>${entries}</${tag}>`;
  }
  return `<${tag}>${encodeValue(shapes, target, val)}</${tag}>`;
}

export function encodeQueryOutput(shapes: ServiceShapes, operation: string, output: unknown, requestId: string): Buffer {
  const outShape = own(shapes.operations, operation)?.output;
  const ns = shapes.xmlNamespace ? ` xmlns="${shapes.xmlNamespace}"` : "";
  const result = outShape ? `<${operation}Result>${encodeValue(shapes, outShape, output ?? {})}</${operation}Result>` : "";
  return Buffer.from(`<${operation}Response${ns}>${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>\n`);
}

export function encodeQueryError(shapes: ServiceShapes | undefined, err: ServiceError, requestId: string): Buffer {
  const ns = shapes?.xmlNamespace ? ` xmlns="${shapes.xmlNamespace}"` : "";
  return Buffer.from(
    `<ErrorResponse${ns}><Error><Type>${err.sender ? "Sender" : "Receiver"}</Type><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>\n`,
  );
}

/**
 * An error for a Query request to a service localfargate does not have (EC2, SQS, ...): the
 * `<Response><Errors>` document, which the parsers of both the awsQuery and the EC2 Query
 * protocols read, so a client of any such service fails with the code instead of a parse error.
 */
export function encodeUnknownQueryServiceError(err: ServiceError, requestId: string): Buffer {
  return Buffer.from(
    `<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>\n`,
  );
}

/** The Query parameters of a request: the URL's, then a form-encoded POST body's. */
export function queryParams(req: { method: string; query: URLSearchParams; headers: Record<string, string>; body: Buffer }): URLSearchParams {
  const params = new URLSearchParams(req.query);
  if (req.method === "POST" && (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of new URLSearchParams(req.body.toString("utf8"))) params.append(k, v);
  }
  return params;
}

/** awsQuery: `Action=<Operation>` and form-encoded members in; `<OperationResponse>` XML out. */
export const awsQueryProtocol: WireProtocol = {
  name: "awsQuery",
  decode(req, svc) {
    const params = queryParams(req);
    const operation = params.get("Action") ?? "";
    return { operation, input: () => decodeQueryInput(svc.shapes!, operation, params) };
  },
  encodeOutput: (svc, operation, output, ctx) => ({
    status: 200,
    headers: { "content-type": XML_CONTENT_TYPE },
    body: encodeQueryOutput(svc.shapes!, operation, output, ctx.requestId),
  }),
  encodeError: (svc, err, requestId) => ({ status: err.status, headers: { "content-type": XML_CONTENT_TYPE }, body: encodeQueryError(svc?.shapes, err, requestId) }),
};
