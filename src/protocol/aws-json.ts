/** awsJson1_1: request decoding, response and error encoding. */
import { ServiceError } from "../kernel/errors.ts";
import { decodeAndValidate, serializationError } from "./validate.ts";
import type { ServiceShapes } from "./shapes/types.ts";
import { own, setOwn } from "../util/own-property.ts";
import type { WireProtocol } from "./wire.ts";

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";

/**
 * `validationCode`: the service's error for a constraint failure (CloudWatch Logs answers
 * InvalidParameterException); `validationError`: a service that words it its own way (Organizations).
 */
export function decodeJsonInput(
  shapes: ServiceShapes,
  operation: string,
  body: Buffer,
  validationCode = "ValidationException",
  validationError?: (message: string) => ServiceError,
): Record<string, unknown> {
  let parsed: unknown = {};
  if (body.length > 0) {
    const text = body.toString("utf8");
    if (text.trim() !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw serializationError("Start of structure or map found where not expected.");
      }
    }
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw serializationError("Start of structure or map found where not expected.");
  }
  const inputShape = own(shapes.operations, operation)?.input;
  if (!inputShape) return {};
  try {
    return decodeAndValidate(shapes, inputShape, parsed, { wire: "json", validationCode }) as Record<string, unknown>;
  } catch (e) {
    if (validationError && e instanceof ServiceError && e.code === validationCode) throw validationError(e.message);
    throw e;
  }
}

/** Converts handler output to wire JSON: Buffers → base64, Dates → epoch seconds. */
export function toWire(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (v instanceof Date) return v.getTime() / 1000;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
  if (Array.isArray(v)) return v.map(toWire);
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (val !== undefined) setOwn(out, k, toWire(val));
    }
    return out;
  }
  return v;
}

export function encodeJsonOutput(output: unknown): Buffer {
  return Buffer.from(JSON.stringify(toWire(output ?? {})));
}

export function encodeJsonError(err: ServiceError): Buffer {
  const body: Record<string, unknown> = { __type: err.code, ...(err.extra ?? {}) };
  body[err.capitalMessage ? "Message" : "message"] = err.message;
  return Buffer.from(JSON.stringify(toWire(body)));
}

/** awsJson1_0/1_1: `X-Amz-Target: <prefix>.<Operation>`, a JSON body, errors as `__type`. */
export const awsJsonProtocol: WireProtocol = {
  name: "awsJson1_1",
  decode(req, svc) {
    const target = req.headers["x-amz-target"] ?? "";
    const dot = target.lastIndexOf(".");
    const operation = dot >= 0 && svc.targetPrefixes?.includes(target.slice(0, dot)) ? target.slice(dot + 1) : "";
    return { operation, input: () => decodeJsonInput(svc.shapes!, operation, req.body, svc.validationCode, svc.validationError) };
  },
  encodeOutput: (_svc, _operation, output) => ({ status: 200, headers: { "content-type": JSON_CONTENT_TYPE }, body: encodeJsonOutput(output) }),
  encodeError: (_svc, err) => ({ status: err.status, headers: { "content-type": JSON_CONTENT_TYPE, "x-amzn-errortype": err.code }, body: encodeJsonError(err) }),
};
