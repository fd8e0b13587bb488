// ESLint flat config: the project's stated conventions, checked by `npm run lint` (and so by `npm test`).
// - no `any` and no dead code (unused variables, imports, parameters);
// - the clock rule: only src/clock/ reads the host's time (docs/ARCHITECTURE.md, below the layer table);
// - import boundaries: each folder of src/ imports only what the table in docs/ARCHITECTURE.md
//   ("The layers and what each may import") allows.
// Formatting belongs to Prettier (.prettierrc); eslint-config-prettier turns off the rules it owns.
import { readdirSync } from "node:fs";
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";

/** Top-level folders of src/. Folder names are unique in the tree, so `../…/<name>/` always means src/<name>/. */
const LAYERS = ["audit", "auth", "authz", "clock", "fargate", "kernel", "policy", "protocol", "server", "services", "store", "util"];
/** One folder per AWS service under src/services/; a new service gets the same rules. */
const SERVICES = readdirSync(new URL("./src/services/", import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/** Matches a relative import that climbs into one of `folders` (src/<folder>/ from anywhere below src/). */
const into = (folders) => `^(\\.\\./)+(${folders.join("|")})(/|$)`;

/**
 * The no-restricted-imports rule for one folder of src/: `allowed` layers may be imported freely,
 * `typesOnly` layers with `import type` only, every other layer not at all. `extra` adds patterns
 * for what the table restricts inside a layer (one file, one sub-folder).
 */
function boundaries(folder, { allowed = [], typesOnly = [], extra = [] }) {
  const self = folder.split("/")[0];
  const forbidden = LAYERS.filter((l) => l !== self && !allowed.includes(l) && !typesOnly.includes(l));
  const why = `docs/ARCHITECTURE.md: src/${folder}/ may import ${[...allowed, ...typesOnly.map((t) => `${t} (types)`)].join(", ") || "nothing outside itself"}`;
  const patterns = [...extra.map((p) => ({ ...p, message: `${p.message} (${why})` }))];
  if (forbidden.length) patterns.push({ regex: into(forbidden), message: why });
  if (typesOnly.length) patterns.push({ regex: into(typesOnly), allowTypeImports: true, message: `${why}: use \`import type\`` });
  return {
    name: `localfargate/boundaries/${folder}`,
    files: [`src/${folder}/**/*.ts`],
    ignores: ["**/*.test.ts"],
    rules: { "@typescript-eslint/no-restricted-imports": ["error", { patterns }] },
  };
}

const NODE_GLOBALS = ["console", "process", "Buffer", "URL", "setTimeout", "clearTimeout", "setImmediate", "performance"];

/** util/ is a leaf of small helpers with no imports; every layer may use it. */
const LEAF = ["util"];

/** A service imports another service's in-process API by type only (it gets the value with app.get at run time). */
const otherServices = (name) => ({
  regex: `^(\\.\\./)+(${SERVICES.filter((s) => s !== name).join("|")})/`,
  allowTypeImports: true,
  message: `another service is imported by type only; get it with app.get(...) at run time`,
});
/** Of protocol/, services and audit use only the generated shapes. */
const protocolOnlyShapes = { regex: "^(\\.\\./)+protocol/(?!shapes/)", message: "only protocol/shapes/ may be imported" };

export default defineConfig(
  { ignores: ["dist/**", "node_modules/**", "bench/results/**", "src/protocol/shapes/*.gen.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    name: "localfargate/all",
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
    },
  },
  {
    // Plain JavaScript (bin/, scripts/build.mjs, the index thread's boot file) runs on Node.
    name: "localfargate/node-globals",
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: Object.fromEntries(NODE_GLOBALS.map((g) => [g, "readonly"])) },
  },
  {
    // The clock rule: the service clock (src/clock/) is the only reader of the host's time, so
    // POST /_localfargate/clock moves every timestamp the service produces (README.md, "The server").
    // Use ctx.now / clock.nowMs(), or clock.realNowMs() for a wall-clock timeout.
    name: "localfargate/clock",
    files: ["src/**/*.ts", "src/**/*.mjs"],
    ignores: ["src/clock/**", "**/*.test.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        { object: "Date", property: "now", message: "Only src/clock/ reads the time: use the app's ServiceClock (clock.nowMs(), or clock.realNowMs() for wall-clock timeouts)." },
        { object: "performance", property: "now", message: "Only src/clock/ reads the time: use the app's ServiceClock (clock.realNowMs() for wall-clock timeouts)." },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "Only src/clock/ reads the time: use ctx.now or the app's ServiceClock (clock.now())." },
        { selector: "CallExpression[callee.name='Date']", message: "Only src/clock/ reads the time: Date() is the current time as a string; use the app's ServiceClock." },
      ],
    },
  },
  // Import boundaries, one block per folder of src/ (the table in docs/ARCHITECTURE.md). server/ and
  // the entry points at src/ (cli.ts) may import everything. Tests may import what they test.
  boundaries("kernel", {
    allowed: LEAF,
    typesOnly: ["policy", "store", "clock"],
    // protocol/ stays forbidden but for the types of shapes/types.ts. (A type import that matches any
    // pattern with allowTypeImports passes every pattern, so such patterns must not overlap others.)
    extra: [{ regex: "^(\\.\\./)+protocol/shapes/types\\.ts$", allowTypeImports: true, message: "of protocol/, only the types of shapes/types.ts may be imported" }],
  }),
  boundaries("policy", {}),
  boundaries("authz", {
    allowed: ["kernel", "policy", "auth", ...LEAF],
    extra: [{ regex: "^(\\.\\./)+auth/(?!principal\\.ts$)", message: "of auth/, only auth/principal.ts may be imported" }],
  }),
  boundaries("auth", { allowed: ["kernel", ...LEAF] }),
  boundaries("protocol", { allowed: ["kernel", ...LEAF] }),
  ...SERVICES.map((name) =>
    boundaries(`services/${name}`, {
      allowed: ["kernel", "authz", "protocol", "audit", "store", "policy", "auth", "clock", ...LEAF],
      typesOnly: ["fargate"],
      extra: [protocolOnlyShapes, otherServices(name)],
    }),
  ),
  boundaries("fargate", { allowed: ["kernel", "store", "clock", "auth", ...LEAF] }),
  boundaries("audit", { allowed: ["kernel", "store", "protocol", ...LEAF], extra: [protocolOnlyShapes] }),
  boundaries("store", { allowed: LEAF }),
  boundaries("clock", {}),
  boundaries("util", {}),
  prettier,
);
