/**
 * Input decoding and validation against a service's shapes, as AWS's front ends do it:
 * type errors are SerializationException (JSON) and constraint failures are collected into one
 * Coral-style "N validation errors detected: ..." message. Decoded blobs become Buffers and
 * timestamps Dates, so handlers get the types the SDK declares.
 */
import { ServiceError, validationMessage } from "../kernel/errors.ts";
import type { Shape, ServiceShapes } from "./shapes/types.ts";
import { setOwn } from "../util/own-property.ts";

const regexCache = new Map<string, RegExp | null>();
function compilePattern(p: string): RegExp | null {
  let r = regexCache.get(p);
  if (r !== undefined) return r;
  try {
    r = new RegExp(p, "u");
  } catch {
    try {
      r = new RegExp(p);
    } catch {
      r = null;
    }
  }
  regexCache.set(p, r);
  return r;
}

/** Sensitive blob members whose value AWS leaves out of validation messages. */
const describeValue = (v: unknown): string => {
  if (Buffer.isBuffer(v)) return "";
  if (Array.isArray(v)) return ` '[${v.map((x) => (typeof x === "object" ? JSON.stringify(x) : String(x))).join(", ")}]'`;
  if (v !== null && typeof v === "object") return ` '${JSON.stringify(v)}'`;
  return ` '${String(v)}'`;
};

const lowerFirst = (s: string) => (s ? s[0].toLowerCase() + s.slice(1) : s);

export function serializationError(message: string): ServiceError {
  return new ServiceError("SerializationException", message, 400);
}

function tokenName(v: unknown): string {
  if (typeof v === "string") return "STRING_VALUE";
  if (typeof v === "number") return "NUMBER_VALUE";
  if (typeof v === "boolean") return v ? "VALUE_TRUE" : "VALUE_FALSE";
  return "VALUE";
}

export interface DecodeOptions {
  /** "json": wire values are JSON types (timestamps epoch numbers, blobs base64 strings).
   *  "query": every scalar arrives as a string. */
  wire: "json" | "query";
  /** the error code used for constraint failures: "ValidationException" (JSON) or "ValidationError" (Query) */
  validationCode: string;
  /** Query services (IAM, STS) print a failed pattern without its `^` and `$` anchors, as AWS's
   *  messages do; JSON services (KMS) print it as the model writes it. */
  unanchoredPatterns?: boolean;
}

/** The pattern without a leading `^` and a trailing unescaped `$`. */
export function unanchored(pattern: string): string {
  let p = pattern.startsWith("^") ? pattern.slice(1) : pattern;
  if (p.endsWith("$") && !/(^|[^\\])(\\\\)*\\\$$/.test(p)) p = p.slice(0, -1);
  return p;
}

/**
 * Converts a wire value into handler types and collects constraint failures.
 * Returns the converted value; throws SerializationException on type mismatches.
 */
export function decodeAndValidate(shapes: ServiceShapes, shapeName: string, value: unknown, opts: DecodeOptions): unknown {
  const failures: string[] = [];
  const out = convert(shapes, shapeName, value, "", failures, opts);
  if (failures.length) throw new ServiceError(opts.validationCode, validationMessage(failures), 400);
  return out;
}

interface Member {
  name: string;
  target: string;
  /** the name as validation messages write it (first letter lower-cased) */
  pathName: string;
}
const memberLists = new WeakMap<Shape, Member[]>();
/** A structure's members as a list, made once per shape (decoding runs on every request). */
function membersOf(shape: Extract<Shape, { type: "structure" }>): Member[] {
  let list = memberLists.get(shape);
  if (!list) {
    list = Object.entries(shape.members).map(([name, def]) => ({ name, target: def.target, pathName: lowerFirst(name) }));
    memberLists.set(shape, list);
  }
  return list;
}

function convert(shapes: ServiceShapes, name: string, v: unknown, path: string, failures: string[], opts: DecodeOptions): unknown {
  const shape: Shape | undefined = shapes.shapes[name];
  if (!shape) return v;
  if (v === null || v === undefined) return undefined;
  switch (shape.type) {
    case "structure": {
      if (typeof v !== "object" || Array.isArray(v)) {
        throw serializationError(Array.isArray(v) ? "Start of list found where not expected" : `${tokenName(v)} can not be converted to a structure`);
      }
      const src = v as Record<string, unknown>;
      const res: Record<string, unknown> = {};
      for (const m of membersOf(shape)) {
        const raw = src[m.name];
        if (raw === undefined || raw === null) continue;
        const conv = convert(shapes, m.target, raw, path ? `${path}.${m.pathName}` : m.pathName, failures, opts);
        if (conv !== undefined) res[m.name] = conv;
      }
      for (const r of shape.required ?? []) {
        if (res[r] === undefined) failures.push(`Value null at '${path ? `${path}.${lowerFirst(r)}` : lowerFirst(r)}' failed to satisfy constraint: Member must not be null`);
      }
      return res;
    }
    case "list": {
      if (!Array.isArray(v))
        throw serializationError(typeof v === "object" ? "Start of structure or map found where not expected." : `${tokenName(v)} can not be converted to a list`);
      const res = v.map((item, i) => convert(shapes, shape.member, item, `${path}.${i + 1}.member`, failures, opts));
      sizeCheck(v, v.length, shape.min, shape.max, path, failures);
      return res;
    }
    case "map": {
      if (typeof v !== "object" || Array.isArray(v))
        throw serializationError(Array.isArray(v) ? "Start of list found where not expected" : `${tokenName(v)} can not be converted to a map`);
      const res: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
        convert(shapes, shape.key, k, `${path}.key`, failures, opts);
        setOwn(res, k, convert(shapes, shape.value, val, `${path}.${k}.value`, failures, opts));
      }
      sizeCheck(v, Object.keys(res).length, shape.min, shape.max, path, failures);
      return res;
    }
    case "string": {
      if (typeof v !== "string") throw serializationError(`${tokenName(v)} can not be converted to a String`);
      // A secret's value stays out of the message (and so out of CloudTrail's errorMessage), as a sensitive blob's does.
      const shown = shape.sensitive ? "" : ` '${v}'`;
      if (shape.enum && !shape.enum.includes(v)) {
        failures.push(`Value${shown} at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${shape.enum.join(", ")}]`);
      }
      if (shape.min !== undefined || shape.max !== undefined) lengthCheck(v, codePoints(v), shape.min, shape.max, path, failures, shape.sensitive);
      if (shape.pattern) {
        const re = compilePattern(shape.pattern);
        if (re && !re.test(v))
          failures.push(
            `Value${shown} at '${path}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${opts.unanchoredPatterns ? unanchored(shape.pattern) : shape.pattern}`,
          );
      }
      return v;
    }
    case "blob": {
      if (typeof v !== "string") throw serializationError(`${tokenName(v)} can not be converted to a Blob`);
      if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(v) || v.length % 4 === 1) throw serializationError(`Invalid base64: "${v.length > 32 ? v.slice(0, 32) + "..." : v}"`);
      const buf = Buffer.from(v, "base64");
      lengthCheck(buf, buf.length, shape.min, shape.max, path, failures);
      return buf;
    }
    case "integer":
    case "long":
    case "double":
    case "float": {
      let n: number;
      if (typeof v === "number") n = v;
      else if (opts.wire === "query" && typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) n = Number(v);
      else throw serializationError(`${tokenName(v)} can not be converted to an ${shape.type === "integer" ? "Integer" : shape.type === "long" ? "Long" : "Double"}`);
      if ((shape.type === "integer" || shape.type === "long") && !Number.isInteger(n)) {
        throw serializationError(`NUMBER_VALUE can not be converted to an ${shape.type === "integer" ? "Integer" : "Long"}`);
      }
      if (shape.type === "integer" && (n > 2147483647 || n < -2147483648)) throw serializationError("NUMBER_VALUE can not be converted to an Integer");
      if (shape.min !== undefined && n < shape.min)
        failures.push(`Value '${n}' at '${path}' failed to satisfy constraint: Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && n > shape.max)
        failures.push(`Value '${n}' at '${path}' failed to satisfy constraint: Member must have value less than or equal to ${shape.max}`);
      return n;
    }
    case "boolean": {
      if (typeof v === "boolean") return v;
      if (opts.wire === "query" && (v === "true" || v === "false")) return v === "true";
      throw serializationError(`${tokenName(v)} can not be converted to a Boolean`);
    }
    case "timestamp": {
      if (typeof v === "number" && Number.isFinite(v)) return new Date(Math.round(v * 1000));
      if (typeof v === "string") {
        const d = /^\d+(\.\d+)?$/.test(v) ? new Date(Math.round(Number(v) * 1000)) : new Date(v);
        if (!Number.isNaN(d.getTime())) return d;
      }
      throw serializationError(`${tokenName(v)} can not be converted to a Timestamp`);
    }
    case "document":
      return v;
  }
}

/** Length in code points, as the services count it (a surrogate pair is one character). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function lengthCheck(v: unknown, len: number, min: number | undefined, max: number | undefined, path: string, failures: string[], hidden = false) {
  const shown = hidden ? "" : describeValue(v);
  if (min !== undefined && len < min) failures.push(`Value${shown} at '${path}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`);
  if (max !== undefined && len > max) failures.push(`Value${shown} at '${path}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
}

function sizeCheck(v: unknown, len: number, min: number | undefined, max: number | undefined, path: string, failures: string[]) {
  lengthCheck(v, len, min, max, path, failures);
}
