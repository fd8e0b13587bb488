// ESLint flat config: the project's stated conventions, checked by `npm run lint` (and so by `npm test`).
// - no `any` and no dead code (unused variables, imports, parameters);
// - the clock rule: only src/clock/ reads the host's time (docs/ARCHITECTURE.md, the row of src/clock/);
// - import boundaries: each folder of src/ imports only what the table in docs/ARCHITECTURE.md
//   ("Each folder: what it owns and what it may import") allows, with the exceptions it names.
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
const NODE_GLOBALS = ["console", "process", "Buffer", "URL", "setTimeout", "clearTimeout", "setImmediate", "performance"];

/** A relative import into src/<folder>/ (from anywhere below src/), optionally of `path` inside it (a regex). */
const target = (folder, path) => `^(\\.\\./)+${folder}${path === undefined ? "(/|$)" : `/${path}`}`;

/**
 * The import rule of one folder of src/, as its row of the table in docs/ARCHITECTURE.md
 * ("Each folder: what it owns and what it may import") says:
 * - `may`: folders it imports freely (util/ always);
 * - `only`: folders of which it may import only some files, as a regex (`{ auth: "principal\\.ts$" }`);
 * - `types`: folders (or files, as a regex; "" for the whole folder) of which it may import types only;
 * - every other folder: not at all.
 * A type import matching any pattern with allowTypeImports passes every pattern, so the `types`
 * patterns never overlap the others: the rest of such a folder gets its own pattern.
 */
function importRule(folder, { may = [], only = {}, types = {} }) {
  const self = folder.split("/")[0];
  const row = `docs/ARCHITECTURE.md, the row of src/${folder}/`;
  const patterns = [];
  for (const layer of LAYERS) {
    if (layer === self || layer === "util" || may.includes(layer)) continue;
    if (layer in only) {
      patterns.push({ regex: target(layer, `(?!${only[layer]})`), message: `src/${folder}/ may import only some of src/${layer}/ (${row})` });
    } else if (layer in types) {
      const file = types[layer];
      patterns.push({
        regex: file ? target(layer, file) : target(layer),
        allowTypeImports: true,
        message: `src/${folder}/ may import only types from src/${layer}/ (${row}): use \`import type\``,
      });
      if (file) patterns.push({ regex: target(layer, `(?!${file})`), message: `src/${folder}/ may import only the types of one file of src/${layer}/ (${row})` });
    } else {
      patterns.push({ regex: target(layer), message: `src/${folder}/ must not import src/${layer}/ (${row})` });
    }
  }
  return { "@typescript-eslint/no-restricted-imports": ["error", { patterns }] };
}

/** The config block of one folder; `exceptions` name files the table lists as not following it yet, with what they still import. */
function boundaries(folder, row, exceptions = []) {
  const files = [`src/${folder}/**/*.ts`];
  return [
    { name: `localfargate/boundaries/${folder}`, files, ignores: ["**/*.test.ts"], rules: importRule(folder, row) },
    ...exceptions.map((e) => ({
      name: `localfargate/boundaries/${folder}/exception`,
      files: e.files,
      rules: importRule(folder, { may: [...(row.may ?? []), ...(e.may ?? [])], only: { ...row.only, ...e.only }, types: row.types }),
    })),
  ];
}

/** What every service may import (the row of src/services/<name>/). Another service's module is `../<name>/`, not a folder of src/. */
const SERVICE_ROW = {
  may: ["kernel", "policy", "store"],
  only: { auth: "principal\\.ts$", protocol: "shapes/", audit: "record\\.ts$" },
  types: { clock: "" },
};
const serviceRow = (name) => {
  if (name === "ecs") return { ...SERVICE_ROW, may: [...SERVICE_ROW.may, "fargate"] }; // the control plane drives the data plane through its port
  if (name === "cloudtrail") return { ...SERVICE_ROW, only: { ...SERVICE_ROW.only, audit: "(record|event-store)\\.ts$" } }; // LookupEvents reads the event store
  return SERVICE_ROW;
};

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
  // Import boundaries, one block per folder of src/ (docs/ARCHITECTURE.md, "Each folder: what it owns
  // and what it may import"). server/ and src/cli.ts may import everything; tests import what they test.
  ...boundaries("util", {}),
  ...boundaries("clock", {}),
  ...boundaries("store", {}),
  ...boundaries("policy", {}),
  ...boundaries("kernel", { types: { clock: "", store: "store\\.ts$", policy: "", protocol: "shapes/types\\.ts$" } }),
  ...boundaries("auth", { may: ["kernel"] }),
  ...boundaries("authz", { may: ["kernel", "policy"], only: { auth: "principal\\.ts$" } }),
  ...boundaries("protocol", { may: ["kernel"] }),
  ...boundaries("audit", { may: ["kernel", "store"], types: { protocol: "shapes/types\\.ts$" } }),
  ...SERVICES.flatMap((name) => boundaries(`services/${name}`, serviceRow(name))),
  ...boundaries("fargate", { may: ["kernel", "clock", "store"], only: { auth: "principal\\.ts$" } }),
  {
    // The web console runs in the browser and talks to the server only over HTTP (docs/ARCHITECTURE.md).
    name: "localfargate/boundaries/console",
    files: ["console/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^(\\.\\./)+(src|test|scripts)(/|$)", message: "console/ runs in the browser: it imports nothing from src/, test/ or scripts/ (docs/ARCHITECTURE.md)" },
          ],
        },
      ],
    },
  },
  prettier,
);
