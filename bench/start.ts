/**
 * Start-up: how long from spawn until a server answers, on a fresh data dir, and how much memory
 * it holds once idle. localfargate runs its compiled JavaScript (bin/localfargate.js, as
 * `npm start` does; dist/ is built first so building is not timed); moto_server is timed until
 * its first 200. Both in the same run, so the ratio is what counts on a shared machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, isStale } from "../scripts/build.mjs";
import { freePort } from "./servers.ts";

export interface StartFigures {
  runs: number;
  /** spawn to first healthy answer, per run, ms */
  ms: number[];
  p50ms: number;
  /** resident memory of the whole process (every thread) once idle, MB, median over the runs */
  idleRssMb: number;
}

/** How long after the first answer the server is left idle before its memory is read. */
const IDLE_MS = 1000;
/** Poll interval: small, so it adds little to what is measured. */
const POLL_MS = 5;

/** VmRSS of a process (all its threads share it), MB; undefined where /proc is missing. */
export function residentMb(pid: number | undefined): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function untilAnswered(url: string, child: ChildProcess, failed: () => Error | undefined, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    const e = failed();
    if (e) throw e;
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`${url} did not answer 200 within ${ms} ms`);
}

async function measure(runs: number, launch: (port: number, dataDir: string) => ChildProcess, path: string): Promise<StartFigures> {
  const ms: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "lf-bench-start-"));
    const t0 = performance.now();
    const child = launch(port, dataDir);
    let spawnError: Error | undefined;
    const exited = new Promise<void>((r) => {
      child.once("exit", () => r());
      child.once("error", (e) => {
        spawnError = e;
        r();
      });
    });
    try {
      await untilAnswered(`http://127.0.0.1:${port}${path}`, child, () => spawnError);
      ms.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, IDLE_MS));
      const mb = residentMb(child.pid);
      if (mb !== undefined) rss.push(mb);
    } finally {
      if (!spawnError) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return { runs, ms: ms.map((x) => +x.toFixed(1)), p50ms: +median(ms).toFixed(1), idleRssMb: +median(rss).toFixed(1) };
}

export async function localfargateStart(runs: number): Promise<StartFigures> {
  if (isStale()) await build();
  return measure(
    runs,
    (port, dataDir) =>
      spawn(process.execPath, ["bin/localfargate.js", "start", "--port", String(port), "--data-dir", dataDir, "--storage-driver", "plain"], {
        stdio: ["ignore", "ignore", "inherit"],
      }),
    "/_localfargate/health",
  );
}

/** undefined when moto_server is not installed. */
export async function motoStart(runs: number): Promise<StartFigures | undefined> {
  try {
    return await measure(runs, (port) => spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" }), "/moto-api/");
  } catch {
    return undefined;
  }
}
