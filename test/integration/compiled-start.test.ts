/**
 * The server is compiled ahead: `npm start` (bin/localfargate.js) serves from dist/, which
 * scripts/build.mjs makes from src/ (entries: the CLI and every worker thread), and rebuilds
 * when src/ is newer. Stack traces still name src/ through the source maps.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { build, CLI_OUT, DIST, isStale, workerEntries } from "../../scripts/build.mjs";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** `node bin/localfargate.js start` (what `npm start` runs) on a free port and a fresh data dir. */
function startBin(): Promise<{ child: ChildProcess; url: string; out: () => string }> {
  const dataDir = mkdtempSync(join(tmpdir(), "localfargate-compiled-"));
  dirs.push(dataDir);
  const child = spawn(process.execPath, ["bin/localfargate.js", "start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain"], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, out: () => out });
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

const creds = { accessKeyId: "test", secretAccessKey: "test" };

describe("compiled start", () => {
  it("builds the CLI and every worker thread's entry from src/, JavaScript that loads no TypeScript loader, no AWS SDK and no XML package at start", async () => {
    const entries = workerEntries();
    expect([...entries.keys()]).toContain("index-thread.boot.mjs");
    const { entries: built } = await build();
    expect(built).toContain(join("src", "cli.ts"));
    for (const out of ["cli.mjs", ...entries.keys()]) expect(existsSync(join(DIST, out)), out).toBe(true);
    for (const f of ["cli.mjs", "index-thread.boot.bundle.mjs"]) {
      const js = readFileSync(join(DIST, f), "utf8");
      expect(js).not.toMatch(/from\s*["'](tsx|@aws-sdk\/)/);
      expect(js).not.toMatch(/import\(\s*["'](tsx|@aws-sdk\/)/);
      // XML and signature packages serve a few S3 and SAML calls: required on first use, not at start
      expect(js).not.toMatch(/createRequire\d*\(import\.meta\.url\)\(\s*["'](xml-crypto|@xmldom\/xmldom)["']\)/);
      const map = JSON.parse(readFileSync(join(DIST, `${f}.map`), "utf8")) as { sources: string[] };
      expect(map.sources.some((s) => s.endsWith("src/server/app.ts") || s.endsWith("src/audit/index-thread.ts"))).toBe(true);
    }
    expect(isStale()).toBe(false);
  });

  it("finds worker entries by their new Worker(new URL(...)) and refuses a worker it cannot find", () => {
    const src = mkdtempSync(join(tmpdir(), "localfargate-build-src-"));
    dirs.push(src);
    mkdirSync(join(src, "a"));
    writeFileSync(join(src, "a", "pool.ts"), `const w = new Worker(new URL("./pool-thread.mjs", import.meta.url), {});`);
    expect([...workerEntries(src)]).toEqual([["pool-thread.mjs", join(src, "a", "pool-thread.mjs")]]);
    writeFileSync(join(src, "a", "other.ts"), `const url = new URL("./t.mjs", import.meta.url);\nnew Worker(url);`);
    expect(() => workerEntries(src)).toThrow(/a\/other\.ts: start worker threads as new Worker\(new URL/);
    writeFileSync(join(src, "a", "other.ts"), `new Worker(new URL("../../outside.mjs", import.meta.url));`);
    expect(() => workerEntries(src)).toThrow(/must sit beside or below its module/);
    writeFileSync(join(src, "a", "other.ts"), `new Worker(new URL("./t.ts", import.meta.url));`);
    expect(() => workerEntries(src)).toThrow(/name a worker entry x\.mjs/);
    mkdirSync(join(src, "b"));
    writeFileSync(join(src, "a", "other.ts"), "");
    writeFileSync(join(src, "b", "pool.ts"), `new Worker(new URL("./pool-thread.mjs", import.meta.url));`);
    expect(() => workerEntries(src)).toThrow(/two worker entries would both be dist\/pool-thread\.mjs/);
  });

  it("npm start serves from dist/, its index thread included (LookupEvents)", async () => {
    const { child, url } = await startBin();
    try {
      const config = { endpoint: url, region: "us-east-1", credentials: creds };
      const health = await fetch(`${url}/_localfargate/health`);
      expect(health.status).toBe(200);
      const id = (await new STSClient(config).send(new GetCallerIdentityCommand({}))).$metadata.requestId;
      const found = await new CloudTrailClient(config).send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "GetCallerIdentity" }] }));
      expect(found.Events?.map((e) => (JSON.parse(e.CloudTrailEvent!) as { requestID: string }).requestID)).toContain(id);
    } finally {
      await stop(child);
    }
  });

  it("rebuilds dist/ at start when src/ is newer than it", async () => {
    await build();
    const old = new Date(Date.parse("2001-01-01T00:00:00Z"));
    utimesSync(CLI_OUT, old, old);
    expect(isStale()).toBe(true);
    const { child } = await startBin();
    try {
      expect(statSync(CLI_OUT).mtimeMs).toBeGreaterThan(old.getTime());
      expect(isStale()).toBe(false);
    } finally {
      await stop(child);
    }
  });

  it("maps the bundle back to src/ for stack traces", () => {
    const cli = pathToFileURL(CLI_OUT).href;
    // load the bundle with source maps on (as bin/localfargate.js does); with no command it prints its usage
    const script = `process.setSourceMapsEnabled(true);
process.exit = () => {};
const { findSourceMap } = await import("node:module");
await import(${JSON.stringify(cli)});
const map = findSourceMap(${JSON.stringify(cli)});
const js = (await import("node:fs")).readFileSync(new URL(${JSON.stringify(cli)}), "utf8").split("\\n");
const line = js.findIndex((l) => l.includes("function startLocalfargate("));
const entry = map.findEntry(line, js[line].indexOf("function startLocalfargate("));
console.log(JSON.stringify({ source: entry.originalSource, line: entry.originalLine }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), encoding: "utf8" });
    const last = r.stdout.trim().split("\n").pop()!;
    const { source } = JSON.parse(last) as { source: string; line: number };
    expect(source).toMatch(/\/src\/server\/app\.ts$/);
  });

  it("bin/localfargate.js maps the bundle's stack frames back to src/ the first time a stack trace is formatted, not at load", async () => {
    const dir = mkdtempSync(join(tmpdir(), "localfargate-maps-"));
    dirs.push(dir);
    writeFileSync(join(dir, "thrower.ts"), ["// the error is made on line 3", "export function fail(): never {", '  throw new Error("from the source");', "}", ""].join("\n"));
    const { build: esbuild } = await import("esbuild");
    await esbuild({
      entryPoints: [join(dir, "thrower.ts")],
      outfile: join(dir, "out.mjs"),
      bundle: true,
      format: "esm",
      platform: "node",
      sourcemap: "linked",
      minifyWhitespace: true,
      logLevel: "silent",
    });
    // the map appears only after the bundle has loaded: a map read at load could not be used
    renameSync(join(dir, "out.mjs.map"), join(dir, "later.map"));
    const out = pathToFileURL(join(dir, "out.mjs")).href;
    const script = `const { mapStackTracesLazily } = await import(${JSON.stringify(pathToFileURL(join(process.cwd(), "scripts", "lazy-source-maps.mjs")).href)});
mapStackTracesLazily(${JSON.stringify(out)});
const { fail } = await import(${JSON.stringify(out)});
(await import("node:fs")).renameSync(${JSON.stringify(join(dir, "later.map"))}, ${JSON.stringify(join(dir, "out.mjs.map"))});
try { fail(); } catch (e) { console.log(e.stack); }`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(r.stdout).toContain("Error: from the source\n    at fail (");
    expect(r.stdout).toContain(`${join(dir, "thrower.ts")}:3:`);
    expect(r.stdout).not.toContain("out.mjs:");
    // bin/localfargate.js uses it for dist/cli.mjs instead of node's eager source maps
    const bin = readFileSync(join(process.cwd(), "bin", "localfargate.js"), "utf8");
    expect(bin).toContain("mapStackTracesLazily(cli)");
    expect(bin).not.toMatch(/^process\.setSourceMapsEnabled/m);
  });
});
