/**
 * Generates src/protocol/shapes/<service>.gen.ts from the official Smithy models in
 * ../shared/models with the newer botocore models (../shared/models/botocore) laid over them,
 * for the operations localfargate implements (listed in implemented.ts) only: member names,
 * types, required, lengths, ranges, enums and patterns; no documentation.
 *
 *   node --import tsx scripts/gen-shapes.ts
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { IMPLEMENTED } from "../src/protocol/shapes/implemented.ts";
import type { Shape, ServiceShapes, Member } from "../src/protocol/shapes/types.ts";

const here = dirname(fileURLToPath(import.meta.url));
const modelsDir = process.env.LOCALFARGATE_MODELS ?? join(here, "..", "..", "shared", "models");
const outDir = join(here, "..", "src", "protocol", "shapes");

/** The Smithy traits the generator reads (smithy.io/2.0/spec and the AWS protocol traits); the rest are left alone. */
interface SmithyTraits {
  "aws.api#service"?: { sdkId: string };
  "aws.protocols#restJson1"?: object;
  "aws.protocols#restXml"?: object;
  "aws.protocols#awsQueryError"?: { code?: string; httpResponseCode?: number };
  "smithy.api#xmlNamespace"?: { uri: string };
  "smithy.api#xmlName"?: string;
  "smithy.api#xmlFlattened"?: object;
  "smithy.api#required"?: object;
  "smithy.api#length"?: { min?: number; max?: number };
  "smithy.api#range"?: { min?: number; max?: number };
  "smithy.api#pattern"?: string;
  "smithy.api#sensitive"?: object;
  "smithy.api#enumValue"?: string;
  "smithy.api#enum"?: { value: string }[];
  "smithy.api#timestampFormat"?: string;
  "smithy.api#error"?: "client" | "server";
  "smithy.api#httpError"?: number;
  "smithy.api#http"?: { method: string; uri: string; code?: number };
  "smithy.api#httpLabel"?: object;
  "smithy.api#httpQuery"?: string;
  "smithy.api#httpHeader"?: string;
  "smithy.api#httpPayload"?: object;
}
type SmithyShape = {
  type: string;
  members?: Record<string, { target: string; traits?: SmithyTraits }>;
  member?: { target: string; traits?: SmithyTraits };
  key?: { target: string };
  value?: { target: string };
  traits?: SmithyTraits;
  input?: { target: string };
  output?: { target: string };
  errors?: { target: string }[];
  version?: string;
};

const PRELUDE: Record<string, Shape> = {
  String: { type: "string" },
  Boolean: { type: "boolean" },
  PrimitiveBoolean: { type: "boolean" },
  Integer: { type: "integer" },
  PrimitiveInteger: { type: "integer" },
  Long: { type: "long" },
  PrimitiveLong: { type: "long" },
  Double: { type: "double" },
  PrimitiveDouble: { type: "double" },
  Float: { type: "float" },
  Timestamp: { type: "timestamp" },
  Blob: { type: "blob" },
  Document: { type: "document" },
};

/** `later`: implemented operations the Smithy model may lack (BOTOCORE_OPERATIONS adds them). */
export function generate(file: string, later: readonly string[] = []): ServiceShapes {
  const model = JSON.parse(readFileSync(join(modelsDir, file), "utf8")) as { shapes: Record<string, SmithyShape> };
  const all = model.shapes;
  const [serviceId, service] = Object.entries(all).find(([, s]) => s.type === "service")!;
  const ns = serviceId.split("#")[0];
  const sdkId = service.traits?.["aws.api#service"]?.sdkId;
  if (!sdkId) throw new Error(`${file}: the service shape has no aws.api#service trait`);
  const wanted = IMPLEMENTED[sdkServiceId(sdkId)];
  if (!wanted) throw new Error(`no implemented list for ${sdkId}`);
  const out: ServiceShapes = {
    service: sdkServiceId(sdkId),
    version: service.version!,
    xmlNamespace: service.traits!["smithy.api#xmlNamespace"]?.uri,
    operations: {},
    shapes: {},
    errors: {},
  };
  // REST protocols bind members to the path, query and headers: keep those traits for them only
  const rest = Boolean(service.traits?.["aws.protocols#restJson1"] || service.traits?.["aws.protocols#restXml"]);
  const local = (id: string) => (id.startsWith("smithy.api#") ? id.slice(11) : id.split("#")[1]);
  const visit = (id: string) => {
    const name = local(id);
    if (out.shapes[name]) return name;
    if (id.startsWith("smithy.api#")) {
      out.shapes[name] = PRELUDE[name] ?? { type: "string" };
      return name;
    }
    const s = all[id];
    if (!s) throw new Error(`missing shape ${id}`);
    const t = s.traits ?? {};
    const len = t["smithy.api#length"];
    const range = t["smithy.api#range"];
    switch (s.type) {
      // a union (an event stream's events) is kept as a structure of its members
      case "union":
      case "structure": {
        const shape: Shape = { type: "structure", members: {} };
        out.shapes[name] = shape;
        const req: string[] = [];
        for (const [m, def] of Object.entries(s.members ?? {})) {
          const member: Member = { target: visit(def.target) };
          if (def.traits?.["smithy.api#xmlName"]) member.xmlName = def.traits["smithy.api#xmlName"];
          if (def.traits?.["smithy.api#xmlFlattened"]) member.flattened = true;
          if (rest) bindLocation(member, def.traits ?? {});
          shape.members[m] = member;
          if (def.traits?.["smithy.api#required"]) req.push(m);
        }
        if (req.length) shape.required = req;
        break;
      }
      case "list":
      case "set": {
        const shape: Shape = { type: "list", member: "" };
        out.shapes[name] = shape;
        shape.member = visit(s.member!.target);
        if (s.member!.traits?.["smithy.api#xmlName"]) shape.memberXmlName = s.member!.traits["smithy.api#xmlName"];
        if (t["smithy.api#xmlFlattened"]) shape.flattened = true;
        if (len?.min !== undefined) shape.min = len.min;
        if (len?.max !== undefined) shape.max = len.max;
        break;
      }
      case "map": {
        const shape: Shape = { type: "map", key: "", value: "" };
        out.shapes[name] = shape;
        shape.key = visit(s.key!.target);
        shape.value = visit(s.value!.target);
        if (len?.min !== undefined) shape.min = len.min;
        if (len?.max !== undefined) shape.max = len.max;
        break;
      }
      case "string":
      case "enum": {
        const shape: Shape = { type: "string" };
        if (len?.min !== undefined) shape.min = len.min;
        if (len?.max !== undefined) shape.max = len.max;
        if (t["smithy.api#pattern"]) shape.pattern = t["smithy.api#pattern"];
        if (t["smithy.api#sensitive"] !== undefined) shape.sensitive = true;
        if (s.type === "enum") shape.enum = Object.entries(s.members ?? {}).map(([k, v]) => v.traits?.["smithy.api#enumValue"] ?? k);
        else if (t["smithy.api#enum"]) shape.enum = (t["smithy.api#enum"] as { value: string }[]).map((e) => e.value);
        out.shapes[name] = shape;
        break;
      }
      case "blob": {
        const shape: Shape = { type: "blob" };
        if (len?.min !== undefined) shape.min = len.min;
        if (len?.max !== undefined) shape.max = len.max;
        out.shapes[name] = shape;
        break;
      }
      case "integer":
      case "long":
      case "double":
      case "float":
      case "short":
      case "byte":
      case "intEnum": {
        const shape: Shape = { type: s.type === "double" || s.type === "float" ? (s.type as "double") : s.type === "long" ? "long" : "integer" };
        if (range?.min !== undefined) (shape as { min?: number }).min = Number(range.min);
        if (range?.max !== undefined) (shape as { max?: number }).max = Number(range.max);
        out.shapes[name] = shape;
        break;
      }
      case "boolean":
        out.shapes[name] = { type: "boolean" };
        break;
      case "timestamp":
        out.shapes[name] = t["smithy.api#timestampFormat"] ? { type: "timestamp", format: t["smithy.api#timestampFormat"] } : { type: "timestamp" };
        break;
      case "document":
        out.shapes[name] = { type: "document" };
        break;
      default:
        throw new Error(`unhandled shape type ${s.type} (${id})`);
    }
    return name;
  };
  const addError = (id: string) => {
    const name = local(id);
    if (out.errors[name]) return name;
    const t = all[id].traits ?? {};
    const q = t["aws.protocols#awsQueryError"];
    const sender = t["smithy.api#error"] !== "server";
    out.errors[name] = { status: t["smithy.api#httpError"] ?? q?.httpResponseCode ?? (sender ? 400 : 500), sender };
    if (q?.code && q.code !== name) out.errors[name].queryCode = q.code;
    return name;
  };
  for (const e of service.errors ?? []) addError(e.target);
  for (const op of wanted) {
    const id = `${ns}#${op}`;
    const s = all[id];
    if (!s && later.includes(op)) continue;
    if (!s || s.type !== "operation") throw new Error(`${sdkId} has no operation ${op}`);
    out.operations[op] = {
      ...(s.input && s.input.target !== "smithy.api#Unit" ? { input: visit(s.input.target) } : {}),
      ...(s.output && s.output.target !== "smithy.api#Unit" ? { output: visit(s.output.target) } : {}),
      errors: (s.errors ?? []).map((e) => addError(e.target)),
      ...(rest && s.traits?.["smithy.api#http"] ? { http: httpTrait(s.traits["smithy.api#http"]) } : {}),
    };
  }
  return out;
}

/** botocore's JSON model format (the `botocore/` folder beside the Smithy models). */
interface BotocoreShape {
  type: string;
  members?: Record<string, { shape: string }>;
  required?: string[];
  member?: { shape: string };
  key?: { shape: string };
  value?: { shape: string };
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  sensitive?: boolean;
  exception?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
}
interface BotocoreModel {
  operations: Record<string, { input?: { shape: string }; output?: { shape: string }; errors?: { shape: string }[] }>;
  shapes: Record<string, BotocoreShape>;
}

/**
 * Every service's botocore model (the `botocore/` folder): newer than the Smithy models, so what
 * today's SDKs and the CLI send. The tables are the Smithy model's with botocore's definition laid
 * over them wherever the two differ (overlayBotocore): new members, enum values, required-ness,
 * lengths, ranges and patterns.
 */
export const BOTOCORE_NEWER: Record<string, string> = {
  kms: "botocore/kms-service-2.json",
  iam: "botocore/iam-service-2.json",
  sts: "botocore/sts-service-2.json",
  ecs: "botocore/ecs-service-2.json",
  cloudtrail: "botocore/cloudtrail-service-2.json",
  organizations: "botocore/organizations-service-2.json",
  cloudwatchlogs: "botocore/logs-service-2.json",
  secretsmanager: "botocore/secretsmanager-service-2.json",
  ssm: "botocore/ssm-service-2.json",
};

/** A pattern without the ^…$ anchors the Smithy conversion adds: botocore's and Smithy's compare equal when these do. */
export const unanchored = (p: string | undefined): string | undefined => (p === undefined ? undefined : p.replace(/^\^/, "").replace(/\$$/, ""));
/** A length/range bound, where Smithy's explicit 0 minimum and botocore's absent one mean the same. */
export const lowerBound = (n: number | undefined): number | undefined => (n ? n : undefined);

/**
 * Services with implemented operations that only the botocore model has so far (ECS's
 * StopServiceDeployment): those operations' shapes are botocore's, required members included.
 */
export const BOTOCORE_OPERATIONS: Record<string, string> = { ecs: "botocore/ecs-service-2.json", organizations: "botocore/organizations-service-2.json" };

function botocoreShape(out: ServiceShapes, model: BotocoreModel, name: string, withRequired = false): string {
  if (out.shapes[name]) return name;
  const b = model.shapes[name];
  if (!b) throw new Error(`botocore: missing shape ${name}`);
  const range = (s: { min?: number; max?: number }) => ({ ...(b.min !== undefined ? { min: b.min } : {}), ...(b.max !== undefined ? { max: b.max } : {}), ...s });
  switch (b.type) {
    case "structure": {
      const shape: Shape = { type: "structure", members: {} };
      out.shapes[name] = shape;
      for (const [m, def] of Object.entries(b.members ?? {})) shape.members[m] = { target: botocoreShape(out, model, def.shape, withRequired) };
      if (withRequired && b.required?.length) shape.required = [...b.required];
      break;
    }
    case "list": {
      const shape: Shape = { type: "list", member: "", ...range({}) };
      out.shapes[name] = shape;
      shape.member = botocoreShape(out, model, b.member!.shape, withRequired);
      break;
    }
    case "map": {
      const shape: Shape = { type: "map", key: "", value: "", ...range({}) };
      out.shapes[name] = shape;
      shape.key = botocoreShape(out, model, b.key!.shape, withRequired);
      shape.value = botocoreShape(out, model, b.value!.shape, withRequired);
      break;
    }
    case "string":
      out.shapes[name] = {
        type: "string",
        ...range({}),
        ...(b.pattern ? { pattern: b.pattern } : {}),
        ...(b.enum ? { enum: [...b.enum] } : {}),
        ...(b.sensitive ? { sensitive: true } : {}),
      };
      break;
    case "blob":
      out.shapes[name] = { type: "blob", ...range({}) };
      break;
    case "integer":
    case "long":
      out.shapes[name] = { type: b.type, ...range({}) };
      break;
    case "double":
    case "float":
      out.shapes[name] = { type: "double", ...range({}) };
      break;
    case "boolean":
    case "timestamp":
      out.shapes[name] = { type: b.type };
      break;
    default:
      throw new Error(`botocore: unhandled shape type ${b.type} (${name})`);
  }
  return name;
}

/**
 * Lays the botocore model over tables generated from the Smithy model: members of known
 * structures, enum values, required-ness, lengths, ranges and patterns as botocore has them; an
 * operation's output or errors the Smithy model lacks; and the shapes those need (with their
 * required members: a member only botocore has brings botocore's whole definition).
 */
export function overlayBotocore(out: ServiceShapes, file: string): ServiceShapes {
  const model = JSON.parse(readFileSync(join(modelsDir, file), "utf8")) as BotocoreModel;
  const addError = (name: string) => {
    if (!out.errors[name]) {
      const e = model.shapes[name]?.error ?? {};
      const sender = e.senderFault !== false;
      out.errors[name] = { status: e.httpStatusCode ?? (sender ? 400 : 500), sender, ...(e.code && e.code !== name ? { queryCode: e.code } : {}) };
    }
    return name;
  };
  for (const [op, shapes] of Object.entries(out.operations)) {
    const b = model.operations[op];
    if (!b) continue;
    if (!shapes.output && b.output) shapes.output = botocoreShape(out, model, b.output.shape, true);
    for (const e of b.errors ?? []) if (!shapes.errors.includes(e.shape)) shapes.errors.push(addError(e.shape));
  }
  // until nothing changes: a member added to one structure brings shapes that may be overlaid too
  for (let changed = true; changed;) {
    changed = false;
    for (const [name, shape] of Object.entries(out.shapes)) {
      const b = model.shapes[name];
      if (!b) continue;
      if (shape.type === "structure" && b.type === "structure") {
        for (const [m, def] of Object.entries(b.members ?? {})) {
          if (shape.members[m]) continue;
          shape.members[m] = { target: botocoreShape(out, model, def.shape, true) };
          changed = true;
        }
        // botocore's required-ness (a member AWS has made optional, such as ECS CreateCapacityProvider's autoScalingGroupProvider)
        const required = (b.required ?? []).filter((m) => shape.members[m]);
        if (required.length) shape.required = required;
        else delete shape.required;
        continue;
      }
      if (shape.type === "string" && b.enum) {
        shape.enum ??= [];
        for (const v of b.enum) if (!shape.enum.includes(v)) shape.enum.push(v);
      }
      if (shape.type === "string" && unanchored(b.pattern) !== unanchored(shape.pattern)) {
        if (b.pattern === undefined) delete shape.pattern;
        else shape.pattern = b.pattern;
      }
      if ("min" in b || "max" in b || "min" in shape || "max" in shape) {
        const bounded = shape as { min?: number; max?: number };
        if (lowerBound(b.min) !== lowerBound(bounded.min)) bounded.min = b.min;
        if (b.max !== bounded.max) bounded.max = b.max;
        if (bounded.min === undefined) delete bounded.min;
        if (bounded.max === undefined) delete bounded.max;
      }
    }
  }
  return out;
}

/** Adds the implemented operations the Smithy tables lack, whole, from the botocore model. */
export function addBotocoreOperations(out: ServiceShapes, file: string): ServiceShapes {
  const model = JSON.parse(readFileSync(join(modelsDir, file), "utf8")) as BotocoreModel;
  for (const op of IMPLEMENTED[out.service] ?? []) {
    if (out.operations[op]) continue;
    const b = model.operations[op];
    if (!b) throw new Error(`${out.service} has no operation ${op} in ${file} either`);
    out.operations[op] = {
      ...(b.input ? { input: botocoreShape(out, model, b.input.shape, true) } : {}),
      ...(b.output ? { output: botocoreShape(out, model, b.output.shape, true) } : {}),
      errors: (b.errors ?? []).map((e) => {
        if (!out.errors[e.shape]) {
          const err = model.shapes[e.shape]?.error ?? {};
          const sender = err.senderFault !== false;
          out.errors[e.shape] = { status: err.httpStatusCode ?? (sender ? 400 : 500), sender };
        }
        return e.shape;
      }),
    };
  }
  return out;
}

const FILES: Record<string, string> = {
  kms: "kms-2014-11-01.json",
  iam: "iam-2010-05-08.json",
  sts: "sts-2011-06-15.json",
  ecs: "ecs-2014-11-13.json",
  cloudtrail: "cloudtrail-2013-11-01.json",
  organizations: "organizations-2016-11-28.json",
  cloudwatchlogs: "cloudwatch-logs-2014-03-28.json",
  secretsmanager: "secrets-manager-2017-10-17.json",
  ssm: "ssm-2014-11-06.json",
};

/** Where a REST member travels (httpLabel, httpQuery, httpHeader, httpPayload). */
function bindLocation(member: Member, traits: SmithyTraits): void {
  if (traits["smithy.api#httpLabel"]) member.location = "label";
  else if (traits["smithy.api#httpQuery"] !== undefined) Object.assign(member, { location: "query", locationName: traits["smithy.api#httpQuery"] });
  else if (traits["smithy.api#httpHeader"] !== undefined) Object.assign(member, { location: "header", locationName: traits["smithy.api#httpHeader"] });
  else if (traits["smithy.api#httpPayload"]) member.location = "payload";
}

function httpTrait(t: { method: string; uri: string; code?: number }): { method: string; uri: string; code?: number } {
  return { method: t.method, uri: t.uri, ...(t.code !== undefined && t.code !== 200 ? { code: t.code } : {}) };
}

/** "sts" → "Sts", "cloudtrail" → "CloudTrail": the prefix of the generated operation-name union. */
function typeName(svc: string): string {
  const special: Record<string, string> = { cloudtrail: "CloudTrail", cloudwatchlogs: "CloudWatchLogs", secretsmanager: "SecretsManager" };
  return special[svc] ?? svc[0].toUpperCase() + svc.slice(1);
}

/** "KMS" → "kms", "CloudWatch Logs" → "cloudwatchlogs": the key in IMPLEMENTED and the file's name. */
function sdkServiceId(sdkId: string): string {
  return sdkId.toLowerCase().replace(/\s+/g, "");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const only = process.argv.slice(2);
  for (const [svc, file] of Object.entries(FILES)) {
    if (only.length && !only.includes(svc)) continue;
    if (!IMPLEMENTED[svc]?.length) continue;
    const later = BOTOCORE_OPERATIONS[svc] ? IMPLEMENTED[svc] : [];
    const smithy = BOTOCORE_NEWER[svc] ? overlayBotocore(generate(file, later), BOTOCORE_NEWER[svc]) : generate(file, later);
    const shapes = BOTOCORE_OPERATIONS[svc] ? addBotocoreOperations(smithy, BOTOCORE_OPERATIONS[svc]) : smithy;
    const body =
      `// Generated by scripts/gen-shapes.ts from the official Smithy model (${file}, aws/api-models-aws)${BOTOCORE_NEWER[svc] ? ` with the newer botocore model (${BOTOCORE_NEWER[svc]}) laid over it` : ""}${BOTOCORE_OPERATIONS[svc] ? ` and the operations only the botocore model (${BOTOCORE_OPERATIONS[svc]}) has` : ""}.\n` +
      `// Only the operations listed in implemented.ts. Do not edit by hand; run the script.\n` +
      `import { lazyShapes, type ServiceShapes } from "./types.ts";\n\n` +
      `/** The operations implemented: a service's operation table is keyed by exactly these. */\n` +
      `export type ${typeName(svc)}Operation = ${Object.keys(shapes.operations)
        .map((o) => JSON.stringify(o))
        .join(" | ")};\n\n` +
      // built on first use, not at start (docs/performance.md#start-up)
      `export const ${svc}Shapes: ServiceShapes = lazyShapes(() => (${JSON.stringify(shapes)}));\n`;
    writeFileSync(join(outDir, `${svc}.gen.ts`), body);
    console.log(`${svc}: ${Object.keys(shapes.operations).length} operations, ${Object.keys(shapes.shapes).length} shapes`);
  }
}
