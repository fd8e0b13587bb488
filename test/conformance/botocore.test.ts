/**
 * Conformance with the botocore models (../shared/models/botocore), which today's SDKs and the
 * CLI are built from: for every implemented operation, every request and response member botocore
 * has is in our tables with botocore's shape, required-ness, lengths, ranges, patterns and enum
 * values, so nothing a current client sends is dropped or refused as unknown. Skips when the
 * models are absent.
 */
import { describe, it, expect } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IMPLEMENTED } from "../../src/protocol/shapes/implemented.ts";
import type { ServiceShapes } from "../../src/protocol/shapes/types.ts";
import { kmsShapes } from "../../src/protocol/shapes/kms.gen.ts";
import { iamShapes } from "../../src/protocol/shapes/iam.gen.ts";
import { stsShapes } from "../../src/protocol/shapes/sts.gen.ts";
import { ecsShapes } from "../../src/protocol/shapes/ecs.gen.ts";
import { cloudtrailShapes } from "../../src/protocol/shapes/cloudtrail.gen.ts";
import { organizationsShapes } from "../../src/protocol/shapes/organizations.gen.ts";
import { cloudwatchlogsShapes } from "../../src/protocol/shapes/cloudwatchlogs.gen.ts";
import { secretsmanagerShapes } from "../../src/protocol/shapes/secretsmanager.gen.ts";
import { ssmShapes } from "../../src/protocol/shapes/ssm.gen.ts";

const MODELS = join(process.cwd(), "..", "shared", "models", "botocore");
const FILES: Record<string, [string, ServiceShapes]> = {
  kms: ["kms-service-2.json", kmsShapes],
  iam: ["iam-service-2.json", iamShapes],
  sts: ["sts-service-2.json", stsShapes],
  ecs: ["ecs-service-2.json", ecsShapes],
  cloudtrail: ["cloudtrail-service-2.json", cloudtrailShapes],
  organizations: ["organizations-service-2.json", organizationsShapes],
  cloudwatchlogs: ["logs-service-2.json", cloudwatchlogsShapes],
  secretsmanager: ["secretsmanager-service-2.json", secretsmanagerShapes],
  ssm: ["ssm-service-2.json", ssmShapes],
};

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
}
interface Botocore {
  operations: Record<string, { input?: { shape: string }; output?: { shape: string } }>;
  shapes: Record<string, BotocoreShape>;
}
type Ours = {
  type: string;
  members?: Record<string, { target: string }>;
  required?: string[];
  member?: string;
  key?: string;
  value?: string;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
};

const TYPES: Record<string, string> = { float: "double", character: "string" };
const unanchored = (p: string | undefined) => p?.replace(/^\^/, "").replace(/\$$/, "");
const lower = (n: number | undefined) => n || undefined;

/** Every difference between botocore's shape `name` and ours, recursively; empty when ours accepts and returns all botocore has. */
function differences(model: Botocore, ours: ServiceShapes, name: string, path: string, seen: Set<string>, diffs: string[]): void {
  if (seen.has(name)) return;
  seen.add(name);
  const b = model.shapes[name];
  const mine = ours.shapes[name] as Ours | undefined;
  if (!mine) return void diffs.push(`${path}: no shape ${name}`);
  const type = TYPES[b.type] ?? b.type;
  if (mine.type !== type && !(type === "double" && mine.type === "float")) diffs.push(`${path}: type ${mine.type}, botocore ${b.type}`);
  if (lower(b.min) !== lower(mine.min) || b.max !== mine.max) diffs.push(`${path}: bounds ${mine.min}..${mine.max}, botocore ${b.min}..${b.max}`);
  if (unanchored(b.pattern) !== unanchored(mine.pattern)) diffs.push(`${path}: pattern ${mine.pattern}, botocore ${b.pattern}`);
  const missing = (b.enum ?? []).filter((v) => !mine.enum?.includes(v));
  if (missing.length) diffs.push(`${path}: enum lacks ${missing.join(", ")}`);
  if (b.type === "structure") {
    if (JSON.stringify([...(b.required ?? [])].sort()) !== JSON.stringify([...(mine.required ?? [])].sort()))
      diffs.push(`${path}: required [${mine.required ?? []}], botocore [${b.required ?? []}]`);
    for (const [m, def] of Object.entries(b.members ?? {})) {
      if (mine.members?.[m]?.target !== def.shape) diffs.push(`${path}.${m}: member ${mine.members?.[m]?.target ?? "missing"}, botocore ${def.shape}`);
      else differences(model, ours, def.shape, `${path}.${m}`, seen, diffs);
    }
  } else if (b.type === "list") differences(model, ours, b.member!.shape, `${path}[]`, seen, diffs);
  else if (b.type === "map") {
    differences(model, ours, b.key!.shape, `${path}{key}`, seen, diffs);
    differences(model, ours, b.value!.shape, `${path}{value}`, seen, diffs);
  }
}

const PRESENT = existsSync(MODELS);
describe.skipIf(!PRESENT)("request and response shapes take the newer botocore models", () => {
  if (!PRESENT) {
    it("needs ../shared/models/botocore", () => undefined);
    return;
  }
  for (const [svc, [file, ours]] of Object.entries(FILES)) {
    describe(svc, () => {
      const model = JSON.parse(readFileSync(join(MODELS, file), "utf8")) as Botocore;
      for (const op of IMPLEMENTED[svc]) {
        it(op, () => {
          const b = model.operations[op];
          expect(b, `${op} is a botocore operation of ${svc}`).toBeDefined();
          const diffs: string[] = [];
          for (const io of ["input", "output"] as const) {
            const shape = b[io]?.shape;
            if (!shape) continue;
            expect(ours.operations[op][io], `${op} ${io}`).toBe(shape);
            differences(model, ours, shape, `${op}.${io}`, new Set(), diffs);
          }
          expect(diffs).toEqual([]);
        });
      }
    });
  }
});
