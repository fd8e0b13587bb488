/**
 * The lint rules that carry the project's conventions (eslint.config.js) catch what they are
 * there to catch, and let through what docs/ARCHITECTURE.md allows. Each case lints a snippet as
 * if it were a file at the given path.
 */
import { describe, it, expect } from "vitest";
import { ESLint } from "eslint";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const eslint = new ESLint({ cwd: root });

/** The rule ids reported for `code` as the file `path` (relative to the repository). */
async function problems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath: `${root}${path}` });
  return result.messages.map((m) => m.ruleId ?? m.message);
}
const BOUNDARY = "@typescript-eslint/no-restricted-imports";
const use = (name: string) => `\nexport const used = ${name};`;
const useType = (name: string) => `\nexport type Used = ${name};`;

describe("import boundaries (docs/ARCHITECTURE.md)", () => {
  const cases: [path: string, code: string, allowed: boolean][] = [
    ["src/kernel/x.ts", `import { iam } from "../services/iam/index.ts";${use("iam")}`, false],
    ["src/kernel/x.ts", `import type { IamService } from "../services/iam/index.ts";${useType("IamService")}`, false],
    ["src/kernel/x.ts", `import { authorizeChecks } from "../authz/authorize.ts";${use("authorizeChecks")}`, false],
    ["src/kernel/x.ts", `import type { Clock } from "../clock/clock.ts";${useType("Clock")}`, true],
    ["src/kernel/x.ts", `import { ServiceClock } from "../clock/clock.ts";${use("ServiceClock")}`, false],
    ["src/kernel/x.ts", `import type { Store } from "../store/store.ts";${useType("Store")}`, true],
    ["src/kernel/x.ts", `import type { OrderedIndex } from "../store/ordered-index.ts";${useType("OrderedIndex")}`, false],
    ["src/kernel/x.ts", `import type { Shape } from "../protocol/shapes/types.ts";${useType("Shape")}`, true],
    ["src/kernel/x.ts", `import type { WireProtocol } from "../protocol/wire.ts";${useType("WireProtocol")}`, false],
    ["src/kernel/x.ts", `import { own } from "../util/own-property.ts";${use("own")}`, true],
    ["src/policy/x.ts", `import { ServiceError } from "../kernel/errors.ts";${use("ServiceError")}`, false],
    ["src/policy/x.ts", `import { evaluate } from "./evaluate.ts";${use("evaluate")}`, true],
    ["src/authz/x.ts", `import { principalArn } from "../auth/principal.ts";${use("principalArn")}`, true],
    ["src/authz/x.ts", `import { authenticate } from "../auth/credentials.ts";${use("authenticate")}`, false],
    ["src/auth/x.ts", `import { evaluate } from "../policy/index.ts";${use("evaluate")}`, false],
    ["src/protocol/x.ts", `import { kmsModule } from "../services/kms/index.ts";${use("kmsModule")}`, false],
    ["src/protocol/x.ts", `import { ServiceError } from "../kernel/errors.ts";${use("ServiceError")}`, true],
    ["src/audit/x.ts", `import { s3 } from "../services/s3/index.ts";${use("s3")}`, false],
    ["src/audit/x.ts", `import type { Shape } from "../protocol/shapes/types.ts";${useType("Shape")}`, true],
    ["src/audit/x.ts", `import { kmsShapes } from "../protocol/shapes/kms.gen.ts";${use("kmsShapes")}`, false],
    ["src/audit/x.ts", `import { authorizeChecks } from "../authz/authorize.ts";${use("authorizeChecks")}`, false],
    ["src/services/kms/x.ts", `import { route } from "../../server/http.ts";${use("route")}`, false],
    ["src/services/kms/crypto/x.ts", `import type { App } from "../../../server/app.ts";${useType("App")}`, false],
    ["src/services/kms/x.ts", `import { awsJson } from "../../protocol/aws-json.ts";${use("awsJson")}`, false],
    ["src/services/kms/x.ts", `import { kmsShapes } from "../../protocol/shapes/kms.gen.ts";${use("kmsShapes")}`, true],
    ["src/services/kms/x.ts", `import { authorizeChecks } from "../../authz/authorize.ts";${use("authorizeChecks")}`, false],
    ["src/services/kms/key-policy.ts", `import { authorizeChecks } from "../../authz/authorize.ts";${use("authorizeChecks")}`, false],
    ["src/services/kms/x.ts", `import { auditSink } from "../../audit/sink.ts";${use("auditSink")}`, false],
    ["src/services/kms/core.ts", `import { auditSink } from "../../audit/sink.ts";${use("auditSink")}`, false],
    ["src/services/kms/x.ts", `import { buildRecord } from "../../audit/record.ts";${use("buildRecord")}`, true],
    ["src/services/kms/x.ts", `import { AuditStore } from "../../audit/event-store.ts";${use("AuditStore")}`, false],
    ["src/services/cloudtrail/x.ts", `import { AuditStore } from "../../audit/event-store.ts";${use("AuditStore")}`, true],
    ["src/services/kms/x.ts", `import type { Clock } from "../../clock/clock.ts";${useType("Clock")}`, true],
    ["src/services/kms/x.ts", `import { ServiceClock } from "../../clock/clock.ts";${use("ServiceClock")}`, false],
    ["src/services/kms/x.ts", `import { principalArn } from "../../auth/principal.ts";${use("principalArn")}`, true],
    ["src/services/kms/x.ts", `import { authenticate } from "../../auth/credentials.ts";${use("authenticate")}`, false],
    ["src/services/sts/x.ts", `import { verifyMfa } from "../iam/mfa.ts";${use("verifyMfa")}`, true],
    ["src/services/kms/x.ts", `import { launch } from "../../fargate/task-runner.ts";${use("launch")}`, false],
    ["src/services/ecs/x.ts", `import { launch } from "../../fargate/task-runner.ts";${use("launch")}`, true],
    ["src/services/ecs/x.ts", `import { authorizeChecks } from "../../authz/authorize.ts";${use("authorizeChecks")}`, false],
    ["src/fargate/x.ts", `import type { EcsState } from "../services/ecs/state.ts";${useType("EcsState")}`, false],
    ["src/fargate/storage/x.ts", `import { startTask } from "../../services/ecs/tasks.ts";${use("startTask")}`, false],
    ["src/fargate/reconciler.ts", `import { startTask } from "../services/ecs/tasks.ts";${use("startTask")}`, false],
    ["src/fargate/reconciler.ts", `import { kmsModule } from "../services/kms/index.ts";${use("kmsModule")}`, false],
    ["src/fargate/x.ts", `import { ServiceError } from "../kernel/errors.ts";${use("ServiceError")}`, true],
    ["src/fargate/x.ts", `import { authenticate } from "../auth/credentials.ts";${use("authenticate")}`, false],
    ["src/store/x.ts", `import type { Clock } from "../clock/clock.ts";${useType("Clock")}`, false],
    ["src/clock/x.ts", `import { own } from "../util/own-property.ts";${use("own")}`, true],
    ["src/util/x.ts", `import type { Clock } from "../clock/clock.ts";${useType("Clock")}`, false],
    ["src/server/x.ts", `import { kmsModule } from "../services/kms/index.ts";${use("kmsModule")}`, true],
    ["src/cli.ts", `import { createApp } from "./server/app.ts";${use("createApp")}`, true],
    ["src/kernel/x.test.ts", `import { iam } from "../services/iam/index.ts";${use("iam")}`, true],
    ["console/pages/x.ts", `import { ServiceError } from "../../src/kernel/errors.ts";${use("ServiceError")}`, false],
    ["console/x.ts", `import { build } from "../scripts/build.mjs";${use("build")}`, false],
    ["console/pages/x.ts", `import { json } from "../aws.ts";${use("json")}`, true],
  ];
  it.each(cases)("%s: %s → allowed %s", async (path, code, allowed) => {
    expect((await problems(path, code)).filter((r) => r === BOUNDARY)).toEqual(allowed ? [] : [BOUNDARY]);
  });
});

describe("the clock rule: only src/clock/ reads the time", () => {
  const cases: [path: string, code: string, allowed: boolean][] = [
    ["src/audit/x.ts", "export const t = Date.now();", false],
    ["src/audit/x.ts", "const now = Date.now;\nexport const t = now();", false],
    ["src/server/x.ts", "export const d = new Date();", false],
    ["src/server/x.ts", "export const s = Date();", false],
    ["src/fargate/x.ts", "export const t = performance.now();", false],
    ["src/server/x.ts", "export const d = new Date(0);", true],
    ["src/server/x.ts", 'export const t = Date.parse("2026-01-01T00:00:00Z");', true],
    ["src/clock/x.ts", "export const t = Date.now();", true],
    ["src/audit/x.test.ts", "export const t = Date.now();", true],
    ["bench/x.ts", "export const t = performance.now() + Date.now();", true],
  ];
  it.each(cases)("%s: %s → allowed %s", async (path, code, allowed) => {
    const found = (await problems(path, code)).filter((r) => r === "no-restricted-properties" || r === "no-restricted-syntax");
    expect(found.length === 0).toBe(allowed);
  });
});

describe("no any, no dead code", () => {
  it("refuses an explicit any, in src/ and in tests", async () => {
    expect(await problems("src/kernel/x.ts", "export function f(x: any): number { return x; }")).toEqual(["@typescript-eslint/no-explicit-any"]);
    expect(await problems("test/integration/x.test.ts", "export const x = 1 as any;")).toEqual(["@typescript-eslint/no-explicit-any"]);
  });
  it("refuses unused imports, variables and parameters, except a parameter named _x", async () => {
    expect(await problems("src/server/x.ts", 'import { join } from "node:path";\nexport const x = 1;')).toEqual(["@typescript-eslint/no-unused-vars"]);
    expect(await problems("src/server/x.ts", "const unused = 1;\nexport const x = 1;")).toEqual(["@typescript-eslint/no-unused-vars"]);
    expect(await problems("src/server/x.ts", "export function f(a: number, b: number): number { return a; }")).toEqual(["@typescript-eslint/no-unused-vars"]);
    expect(await problems("src/server/x.ts", "export function f(a: number, _b: number): number { return a; }")).toEqual([]);
  });
});
