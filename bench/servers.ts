/** Starts localfargate and moto_server as child processes on free ports for the bench. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BenchServer {
  name: string;
  endpoint: string;
  /** the server process, for its CPU time */
  pid?: number;
  /** the server's data dir, for a localfargate started here */
  dataDir?: string;
  stop(): Promise<void>;
}

/**
 * CPU time (user + system, all threads) a process has used, in µs; undefined where /proc is
 * missing. Per request, this is steadier than requests/s on a shared machine.
 */
export function cpuMicros(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statMicros(`/proc/${pid}/stat`);
}

/** The same for the process's main thread alone (where node runs JavaScript and answers requests). */
export function mainThreadCpuMicros(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : statMicros(`/proc/${pid}/task/${pid}/stat`);
}

function statMicros(file: string): number | undefined {
  try {
    const fields = readFileSync(file, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
/** USER_HZ: 100 on Linux. */
const CLOCK_TICKS = 100;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

async function waitFor(url: string, child: ChildProcess, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

function stopper(child: ChildProcess, cleanup?: () => void) {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve(cleanup?.());
      child.once("exit", () => resolve(cleanup?.()));
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    });
}

export async function startLocalfargateProcess(
  name: string,
  env: Record<string, string> = {},
  storageDriver: "plain" | "gocryptfs" = "plain",
  containerRuntime: "host" | "crun" = "host",
): Promise<BenchServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "lf-bench-"));
  // the compiled server, as `npm start` runs it (bin/localfargate.js builds dist/ when it is stale)
  const child = spawn(
    process.execPath,
    ["bin/localfargate.js", "start", "--port", String(port), "--data-dir", dataDir, "--storage-driver", storageDriver, "--container-runtime", containerRuntime],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, ...env },
    },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(`${endpoint}/_localfargate/health`, child);
  return { name, endpoint, pid: child.pid, dataDir, stop: stopper(child, () => rmSync(dataDir, { recursive: true, force: true })) };
}

export async function startMoto(): Promise<BenchServer | undefined> {
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${endpoint}/moto-api/`, child, 30_000);
  } catch {
    child.kill("SIGKILL");
    return undefined;
  }
  return { name: "moto", endpoint, pid: child.pid, stop: stopper(child) };
}

/**
 * The floor: a bare node:http server that answers every request with a fixed body, doing no
 * work at all. No server written on node:http can answer faster on this machine.
 */
export async function startBareNodeHttp(): Promise<BenchServer> {
  const port = await freePort();
  const script = `require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => { const b = Buffer.from("<ok/>"); r.writeHead(200, ["content-length", String(b.length), "content-type", "text/xml"]); r.end(b); }); }).listen(${port}, "127.0.0.1");`;
  const child = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(endpoint, child, 10_000);
  return { name: "bare node:http", endpoint, pid: child.pid, stop: stopper(child) };
}

/**
 * The floor of localfargate's own front door: the HTTP/1.1 loop it answers on
 * (src/server/http1.ts), answering a fixed body and doing no work.
 */
export async function startBareHttp1(): Promise<BenchServer> {
  const port = await freePort();
  const script = `const { listenHttp1 } = await import(${JSON.stringify(new URL("../src/server/http1.ts", import.meta.url).href)});
const b = Buffer.from("<ok/>");
const reply = { status: 200, headers: ["content-length", String(b.length), "content-type", "text/xml"], body: b };
await listenHttp1("127.0.0.1", ${port}, async () => reply, { bodyLimit: () => 1 << 20, onError: () => reply });`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: "ignore" });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(endpoint, child, 20_000);
  return { name: "bare http1 loop", endpoint, pid: child.pid, stop: stopper(child) };
}
