/**
 * Conformance: every implemented operation's input shape (members, types, required, lengths,
 * ranges, enums, patterns) matches the official Smithy model in ../shared/models; and every
 * operation we claim has a handler. Skips the model half when the models are absent.
 */
import { describe, it, expect } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IMPLEMENTED } from "../../src/protocol/shapes/implemented.ts";
import type { ServiceShapes, Shape } from "../../src/protocol/shapes/types.ts";
import { kmsShapes } from "../../src/protocol/shapes/kms.gen.ts";
import { iamShapes } from "../../src/protocol/shapes/iam.gen.ts";
import { stsShapes } from "../../src/protocol/shapes/sts.gen.ts";
import { ecsShapes } from "../../src/protocol/shapes/ecs.gen.ts";
import { cloudtrailShapes } from "../../src/protocol/shapes/cloudtrail.gen.ts";
import { cloudwatchlogsShapes } from "../../src/protocol/shapes/cloudwatchlogs.gen.ts";
import { secretsmanagerShapes } from "../../src/protocol/shapes/secretsmanager.gen.ts";
import { ssmShapes } from "../../src/protocol/shapes/ssm.gen.ts";
import type { LooseJson } from "../support/json.ts";

const MODELS = join(process.cwd(), "..", "shared", "models");
const FILES: Record<string, [string, ServiceShapes]> = {
  kms: ["kms-2014-11-01.json", kmsShapes],
  iam: ["iam-2010-05-08.json", iamShapes],
  sts: ["sts-2011-06-15.json", stsShapes],
  ecs: ["ecs-2014-11-13.json", ecsShapes],
  cloudtrail: ["cloudtrail-2013-11-01.json", cloudtrailShapes],
  cloudwatchlogs: ["cloudwatch-logs-2014-03-28.json", cloudwatchlogsShapes],
  secretsmanager: ["secrets-manager-2017-10-17.json", secretsmanagerShapes],
  ssm: ["ssm-2014-11-06.json", ssmShapes],
};

type Smithy = { shapes: LooseJson };
/**
 * botocore's model of each service, laid over the Smithy model (scripts/gen-shapes.ts BOTOCORE_NEWER):
 * where botocore has a shape, its required-ness, lengths, ranges and patterns are botocore's
 * (checked by botocore.test.ts), and its members and enum values are the Smithy model's plus botocore's.
 */
type Botocore = { shapes: Record<string, { members?: Record<string, { shape: string }>; enum?: string[] }> } | undefined;
const BOTOCORE: Record<string, string> = {
  kms: "botocore/kms-service-2.json",
  iam: "botocore/iam-service-2.json",
  sts: "botocore/sts-service-2.json",
  ecs: "botocore/ecs-service-2.json",
  cloudtrail: "botocore/cloudtrail-service-2.json",
  cloudwatchlogs: "botocore/logs-service-2.json",
  secretsmanager: "botocore/secretsmanager-service-2.json",
  ssm: "botocore/ssm-service-2.json",
};
/** botocore's model of a service whose newest operations only it has (scripts/gen-shapes.ts BOTOCORE_OPERATIONS). */
const BOTOCORE_OPERATIONS: Record<string, string> = { ecs: "botocore/ecs-service-2.json" };
type BotocoreFull = {
  operations: Record<string, { input?: { shape: string } }>;
  shapes: Record<
    string,
    { type: string; members?: Record<string, { shape: string }>; required?: string[]; member?: { shape: string }; enum?: string[]; min?: number; max?: number }
  >;
};

/** Compares our shape with botocore's (an operation the Smithy model lacks), recursively. */
function compareBotocore(model: BotocoreFull, ours: ServiceShapes, name: string, path: string, seen: Set<string>, diffs: string[]): void {
  if (seen.has(name)) return;
  seen.add(name);
  const b = model.shapes[name];
  const mine = ours.shapes[name] as { type: string; members?: Record<string, { target: string }>; required?: string[]; member?: string; enum?: string[] } | undefined;
  if (!mine) return void diffs.push(`${path}: shape ${name} missing`);
  if (b.type === "structure") {
    if (JSON.stringify(Object.keys(b.members ?? {})) !== JSON.stringify(Object.keys(mine.members ?? {}))) diffs.push(`${path}: members differ`);
    if (JSON.stringify(b.required ?? []) !== JSON.stringify(mine.required ?? [])) diffs.push(`${path}: required differs`);
    for (const [m, def] of Object.entries(b.members ?? {})) compareBotocore(model, ours, def.shape, `${path}.${m}`, seen, diffs);
  } else if (b.type === "list") compareBotocore(model, ours, b.member!.shape, `${path}[]`, seen, diffs);
  else if (b.enum && JSON.stringify(b.enum) !== JSON.stringify(mine.enum)) diffs.push(`${path}: enum values differ`);
}
const local = (id: string) => (id.startsWith("smithy.api#") ? id.slice(11) : id.split("#")[1]);

const SIMPLE: Record<string, Shape["type"]> = {
  string: "string",
  enum: "string",
  blob: "blob",
  boolean: "boolean",
  timestamp: "timestamp",
  document: "document",
  integer: "integer",
  short: "integer",
  byte: "integer",
  intEnum: "integer",
  long: "long",
  double: "double",
  float: "double",
};

/** Compares our shape with the model's, recursively, returning the differences. */
function compare(model: Smithy, ours: ServiceShapes, id: string, path: string, seen: Set<string>, diffs: string[], newer?: Botocore): void {
  const name = local(id);
  if (seen.has(name)) return;
  seen.add(name);
  const mine = ours.shapes[name];
  if (!mine) {
    diffs.push(`${path}: shape ${name} missing`);
    return;
  }
  if (id.startsWith("smithy.api#")) return;
  const s = model.shapes[id];
  const t = s.traits ?? {};
  const expectType = s.type === "structure" ? "structure" : s.type === "list" || s.type === "set" ? "list" : s.type === "map" ? "map" : SIMPLE[s.type];
  if (mine.type !== expectType && !(expectType === "double" && mine.type === "float")) diffs.push(`${path}: type ${mine.type} != ${expectType}`);
  const laid = Boolean(newer?.shapes[name]);
  const len = laid ? undefined : t["smithy.api#length"];
  const range = laid ? undefined : t["smithy.api#range"];
  const mm = mine as { min?: number; max?: number; enum?: string[]; pattern?: string };
  if (len && ((len.min ?? undefined) !== mm.min || (len.max ?? undefined) !== mm.max)) diffs.push(`${path}: length ${JSON.stringify(len)} != ${mm.min}..${mm.max}`);
  if (range && ((range.min !== undefined ? Number(range.min) : undefined) !== mm.min || (range.max !== undefined ? Number(range.max) : undefined) !== mm.max))
    diffs.push(`${path}: range ${JSON.stringify(range)} != ${mm.min}..${mm.max}`);
  if (!laid && t["smithy.api#pattern"] && t["smithy.api#pattern"] !== mm.pattern) diffs.push(`${path}: pattern differs`);
  if (s.type === "enum") {
    const values: string[] = Object.entries(s.members as LooseJson).map(([k, v]) => v.traits?.["smithy.api#enumValue"] ?? k);
    for (const v of newer?.shapes[name]?.enum ?? []) if (!values.includes(v)) values.push(v);
    if (JSON.stringify(values) !== JSON.stringify(mm.enum)) diffs.push(`${path}: enum values differ`);
  }
  if (s.type === "structure" && mine.type === "structure") {
    const required = Object.entries(s.members as LooseJson)
      .filter(([, m]) => m.traits?.["smithy.api#required"])
      .map(([k]) => k);
    if (!laid && JSON.stringify(required) !== JSON.stringify(mine.required ?? [])) diffs.push(`${path}: required ${required} != ${mine.required ?? []}`);
    const modelMembers = Object.keys(s.members);
    const later = Object.entries(newer?.shapes[name]?.members ?? {}).filter(([m]) => !modelMembers.includes(m));
    modelMembers.push(...later.map(([m]) => m));
    // a member only botocore has: its shape is botocore's, by name
    for (const [m, def] of later) if (mine.members[m]?.target !== def.shape) diffs.push(`${path}.${m}: target ${mine.members[m]?.target} != ${def.shape}`);
    if (JSON.stringify(modelMembers) !== JSON.stringify(Object.keys(mine.members))) diffs.push(`${path}: members differ`);
    for (const [m, def] of Object.entries(s.members as LooseJson)) {
      if (mine.members[m]?.target !== local(def.target)) diffs.push(`${path}.${m}: target ${mine.members[m]?.target} != ${local(def.target)}`);
      compare(model, ours, def.target, `${path}.${m}`, seen, diffs, newer);
    }
  }
  if ((s.type === "list" || s.type === "set") && mine.type === "list") compare(model, ours, s.member.target, `${path}[]`, seen, diffs, newer);
  if (s.type === "map" && mine.type === "map") {
    compare(model, ours, s.key.target, `${path}{key}`, seen, diffs, newer);
    compare(model, ours, s.value.target, `${path}{value}`, seen, diffs, newer);
  }
}

// skipIf alone is not enough: vitest still runs a skipped describe's body to collect its tests,
// and the body reads the model files.
const MODELS_PRESENT = existsSync(MODELS);
describe.skipIf(!MODELS_PRESENT)("input shapes match the official models", () => {
  if (!MODELS_PRESENT) {
    it("needs ../shared/models", () => undefined);
    return;
  }
  for (const [svc, [file, ours]] of Object.entries(FILES)) {
    describe(svc, () => {
      const model = JSON.parse(readFileSync(join(MODELS, file), "utf8")) as Smithy;
      const newer = BOTOCORE[svc] ? (JSON.parse(readFileSync(join(MODELS, BOTOCORE[svc]), "utf8")) as Botocore) : undefined;
      const ns = Object.keys(model.shapes)[0].split("#")[0];
      const only = BOTOCORE_OPERATIONS[svc] ? (JSON.parse(readFileSync(join(MODELS, BOTOCORE_OPERATIONS[svc]), "utf8")) as BotocoreFull) : undefined;
      for (const op of IMPLEMENTED[svc]) {
        it(op, () => {
          const opShape = model.shapes[`${ns}#${op}`];
          if (!opShape && only?.operations[op]) {
            const diffs: string[] = [];
            const input = only.operations[op].input?.shape;
            expect(ours.operations[op].input).toBe(input);
            if (input) compareBotocore(only, ours, input, op, new Set(), diffs);
            expect(diffs).toEqual([]);
            return;
          }
          expect(opShape?.type, `${op} is an operation of ${svc}`).toBe("operation");
          const diffs: string[] = [];
          if (opShape.input && opShape.input.target !== "smithy.api#Unit") {
            expect(ours.operations[op].input).toBe(local(opShape.input.target));
            compare(model, ours, opShape.input.target, op, new Set(), diffs, newer);
          }
          expect(diffs).toEqual([]);
        });
      }
    });
  }
});

describe("tables cover exactly the implemented operations", () => {
  for (const [svc, [, ours]] of Object.entries(FILES)) {
    it(svc, () => {
      expect(Object.keys(ours.operations).sort()).toEqual([...IMPLEMENTED[svc]].sort());
    });
  }
});
