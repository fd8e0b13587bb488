/**
 * localfargate command line:
 *   localfargate start [--host H] [--port P] [--data-dir D] [--storage-driver gocryptfs|plain] [--container-runtime auto|crun|host] [--task-internet on|off] [--allow-remote[=true|false]] [--allowed-origin O,...] [--allowed-host H,...]
 *                      [--fargate-vcpu-quota N] [--fargate-spot-vcpu-quota N]
 *   localfargate clock [now]            print the service clock
 *   localfargate clock advance 30d      move the service clock forward (s, m, h, d suffixes)
 *   localfargate image load FILE        add a `docker save` or OCI archive to the server's image store
 *   localfargate logs TASK [--container NAME] [--follow]   a task's container output
 */
import { statSync, type Stats } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { clockEndpoint, consoleUrl, parseArgs, parseDuration, UsageError, type FlagKind } from "./cli-args.ts";
import { startLocalfargate } from "./server/app.ts";
import { isHostName, normalizeOrigin } from "./server/browser-guard.ts";
import { parseVcpuQuota } from "./services/ecs/quotas.ts";
import { signedHeaders } from "./auth/sigv4-sign.ts";
import { wallClockMs } from "./clock/clock.ts";
import { TASK_OUTPUT_PATH, MAX_WAIT_SECONDS } from "./server/task-output-control.ts";

const START_FLAGS: Record<string, FlagKind> = {
  host: "string",
  port: "string",
  "data-dir": "string",
  "storage-driver": "string",
  "container-runtime": "string",
  "task-internet": "string",
  "allow-remote": "boolean",
  "allowed-origin": "string",
  "allowed-host": "string",
  "fargate-vcpu-quota": "string",
  "fargate-spot-vcpu-quota": "string",
};
const CLOCK_FLAGS: Record<string, FlagKind> = { endpoint: "string" };
const IMAGE_FLAGS: Record<string, FlagKind> = { endpoint: "string", name: "string" };
const LOGS_FLAGS: Record<string, FlagKind> = { endpoint: "string", container: "string", cluster: "string", region: "string", follow: "boolean" };

const USAGE = `usage:
  localfargate start [--host 127.0.0.1] [--port 4566] [--data-dir ./.localfargate] [--storage-driver gocryptfs|plain] [--container-runtime auto|crun|host] [--task-internet on|off] [--allow-remote[=true|false]] [--allowed-origin http://localhost:3000,...] [--allowed-host name,...]
                     [--fargate-vcpu-quota 6] [--fargate-spot-vcpu-quota 6]
  localfargate clock [now] [--endpoint URL]
  localfargate clock advance <duration, e.g. 30d, 12h, 90s> [--endpoint URL]
  localfargate image load FILE [--name NAME:TAG] [--endpoint URL]   (FILE: a docker save or OCI archive)
  localfargate logs TASK [--container NAME] [--follow] [--cluster NAME] [--region R] [--endpoint URL]   (TASK: a task ARN, or its ID with --cluster)
  localfargate --help

  environment: LOCALFARGATE_HOST, LOCALFARGATE_PORT, LOCALFARGATE_DATA_DIR, LOCALFARGATE_STORAGE_DRIVER,
  LOCALFARGATE_ALLOWED_ORIGINS, LOCALFARGATE_ALLOWED_HOSTS, LOCALFARGATE_FARGATE_VCPU_QUOTA, LOCALFARGATE_FARGATE_SPOT_VCPU_QUOTA;
  clock, image and logs find the server from --endpoint, else LOCALFARGATE_ENDPOINT, else LOCALFARGATE_HOST and LOCALFARGATE_PORT;
  logs signs its request with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (default: test/test).
  Through npm, flags go after "--": npm start -- --port 4612
`;

/** 127.0.0.0/8, localhost and ::1: only this machine can connect. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function splitList(value: unknown): string[] {
  return typeof value === "string"
    ? value
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
    : [];
}

function usageError(message: string): never {
  process.stderr.write(`localfargate: ${message}\n${USAGE}`);
  process.exit(2);
}

/**
 * `npm start --port 4612` (without "--") hands --port to npm, which keeps it as its own config
 * (npm_config_port) and starts us with defaults. Refuse rather than start on the wrong port.
 */
function flagsNpmSwallowed(): string[] {
  if (!process.env.npm_lifecycle_event) return [];
  return Object.keys(START_FLAGS).filter((f) => process.env[`npm_config_${f.replace(/-/g, "_")}`] !== undefined);
}

async function start(args: string[]): Promise<void> {
  const { flags } = parseArgs(args, START_FLAGS, 0);
  const swallowed = flagsNpmSwallowed();
  if (swallowed.length > 0) {
    usageError(`npm kept ${swallowed.map((f) => `--${f}`).join(", ")} for itself; put localfargate's flags after "--": npm start -- --${swallowed[0]} ...`);
  }
  const host = String(flags.host ?? process.env.LOCALFARGATE_HOST ?? "127.0.0.1");
  const portText = String(flags.port ?? process.env.LOCALFARGATE_PORT ?? "4566");
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  const dataDir = String(flags["data-dir"] ?? process.env.LOCALFARGATE_DATA_DIR ?? "./.localfargate");
  const driver = flags["storage-driver"] ?? process.env.LOCALFARGATE_STORAGE_DRIVER;
  if (driver !== undefined && driver !== "gocryptfs" && driver !== "plain") usageError(`--storage-driver must be gocryptfs or plain, not ${String(driver)}`);
  const runtime = String(flags["container-runtime"] ?? process.env.LOCALFARGATE_CONTAINER_RUNTIME ?? "auto");
  if (runtime !== "auto" && runtime !== "crun" && runtime !== "host") usageError(`--container-runtime must be auto, crun or host, not ${runtime}`);
  const taskInternet = String(flags["task-internet"] ?? process.env.LOCALFARGATE_TASK_INTERNET ?? "on");
  if (taskInternet !== "on" && taskInternet !== "off") usageError(`--task-internet must be on or off, not ${taskInternet}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usageError(`--port must be a port number (0-65535), not ${portText}`);
  if (dataDir === "") usageError("--data-dir must not be empty");
  const allowRemote = flags["allow-remote"] === true;
  if (!isLoopback(host) && !allowRemote) {
    console.error(`refusing to listen on ${host}: RunTask executes commands on this machine. Pass --allow-remote to bind a non-loopback address.`);
    process.exit(2);
  }
  const allowedOrigins: string[] = [];
  for (const o of splitList(flags["allowed-origin"] ?? process.env.LOCALFARGATE_ALLOWED_ORIGINS)) {
    const origin = normalizeOrigin(o);
    if (!origin) usageError(`--allowed-origin must be origins like http://localhost:3000 (scheme://host[:port], comma-separated), not ${JSON.stringify(o)}`);
    allowedOrigins.push(origin);
  }
  const allowedHosts = splitList(flags["allowed-host"] ?? process.env.LOCALFARGATE_ALLOWED_HOSTS);
  const badHost = allowedHosts.find((h) => !isHostName(h));
  if (badHost !== undefined) usageError(`--allowed-host must be host names without a port (comma-separated), not ${JSON.stringify(badHost)}`);
  let fargateVcpuQuota = 0;
  let fargateSpotVcpuQuota = 0;
  try {
    fargateVcpuQuota = parseVcpuQuota(flags["fargate-vcpu-quota"] ?? process.env.LOCALFARGATE_FARGATE_VCPU_QUOTA, "--fargate-vcpu-quota");
    fargateSpotVcpuQuota = parseVcpuQuota(flags["fargate-spot-vcpu-quota"] ?? process.env.LOCALFARGATE_FARGATE_SPOT_VCPU_QUOTA, "--fargate-spot-vcpu-quota");
  } catch (e) {
    usageError((e as Error).message);
  }
  // LOCALFARGATE_AUDIT=off exists only so the bench can show what auditing costs.
  const audit = process.env.LOCALFARGATE_AUDIT !== "off";
  const running = await startLocalfargate({
    host,
    port,
    dataDir,
    storageDriver: driver as "gocryptfs" | "plain" | undefined,
    containerRuntime: runtime,
    taskInternet: taskInternet === "on",
    allowRemote,
    allowedOrigins,
    allowedHosts,
    audit,
    fargateVcpuQuota,
    fargateSpotVcpuQuota,
  });
  const storage = running.app.health.storage as { driver?: string; encryptedAtRest?: boolean; warning?: string } | undefined;
  console.log(`localfargate listening on ${running.url} (data dir ${dataDir})`);
  console.log(`web console: ${consoleUrl(running.url)} (docs/console.md)`);
  if (storage?.warning) console.log(`WARNING: ${storage.warning}`);
  const rt = running.app.health.containerRuntime as { runtime?: string; reason?: string } | undefined;
  if (rt?.runtime) console.log(`container runtime: ${rt.runtime} (${rt.reason ?? ""})`);
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

/** Calls a running server's control endpoint; an unreachable server is a clear message and exit 1. */
async function callServer(endpoint: string, path: string, init?: RequestInit): Promise<{ res: Response; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(`${endpoint}${path}`, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    console.error(
      `cannot reach localfargate at ${endpoint} (${cause?.code ?? cause?.message ?? (e as Error).message}): is it running? Name it with --endpoint URL, LOCALFARGATE_ENDPOINT, or LOCALFARGATE_HOST and LOCALFARGATE_PORT`,
    );
    process.exit(1);
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    console.error(`localfargate: ${typeof body.message === "string" ? body.message : `HTTP ${res.status}`}`);
    process.exit(1);
  }
  return { res, body };
}

/** `image load FILE`: the server reads the archive by its absolute path (same machine). */
async function image(args: string[]): Promise<void> {
  const { flags, positionals } = parseArgs(args, IMAGE_FLAGS, 2);
  const [sub, file] = positionals;
  if (sub !== "load") usageError(sub === undefined ? "image needs a command: image load FILE" : `unknown image command ${sub}`);
  if (file === undefined || file === "") usageError("image load needs the archive: image load FILE");
  const path = resolvePath(file);
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (e) {
    console.error(`localfargate: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    process.exit(1);
  }
  if (!stats.isFile()) {
    console.error(`localfargate: ${path} is not a regular file (a docker save or OCI archive)`);
    process.exit(1);
  }
  const names = typeof flags.name === "string" ? [flags.name] : [];
  const endpoint = clockEndpoint(flags.endpoint as string | undefined, process.env);
  const { body } = await callServer(endpoint, "/_localfargate/images", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ path, names }) });
  for (const img of (body.images ?? []) as { names: string[]; imageId: string }[]) {
    console.log(`Loaded image: ${img.names.join(", ")} (${img.imageId})`);
  }
}

interface OutputAnswer {
  containers?: string[];
  records?: { container: string; stream: "stdout" | "stderr"; data: string }[];
  cursor?: string;
  done?: boolean;
}

/**
 * `logs TASK`: the task's container output, stdout to stdout and stderr to stderr. One
 * container's output is written as it is; several containers' lines get a "name | " prefix.
 * With --follow it keeps reading until the task has stopped.
 */
async function logs(args: string[]): Promise<void> {
  const { flags, positionals } = parseArgs(args, LOGS_FLAGS, 1);
  const [task] = positionals;
  if (task === undefined || task === "") usageError("logs needs a task: logs TASK_ARN");
  const endpoint = clockEndpoint(flags.endpoint as string | undefined, process.env);
  const region =
    /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):/.exec(task)?.[1] ?? (flags.region as string | undefined) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const creds = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID || "test",
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || "test",
    ...(process.env.AWS_SESSION_TOKEN ? { sessionToken: process.env.AWS_SESSION_TOKEN } : {}),
  };
  const follow = flags.follow === true;
  const partial = new Map<string, string>();
  let prefixed: boolean | undefined;
  const write = (stream: "stdout" | "stderr", text: string) => (stream === "stdout" ? process.stdout : process.stderr).write(text);
  let cursor: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ task });
    if (typeof flags.cluster === "string") q.set("cluster", flags.cluster);
    if (typeof flags.container === "string") q.set("container", flags.container);
    if (cursor) q.set("cursor", cursor);
    if (follow) q.set("wait", String(MAX_WAIT_SECONDS));
    const url = new URL(`${endpoint}${TASK_OUTPUT_PATH}?${q.toString()}`);
    const headers = signedHeaders({ method: "GET", url }, creds, { region, service: "ecs" }, wallClockMs());
    const { body } = (await callServer(endpoint, `${url.pathname}${url.search}`, { headers })) as unknown as { body: OutputAnswer };
    prefixed ??= typeof flags.container !== "string" && (body.containers?.length ?? 0) > 1;
    for (const r of body.records ?? []) {
      const text = Buffer.from(r.data, "base64").toString("utf8");
      if (!prefixed) {
        write(r.stream, text);
        continue;
      }
      const key = `${r.container}\0${r.stream}`;
      const lines = ((partial.get(key) ?? "") + text).split("\n");
      partial.set(key, lines.pop()!);
      for (const line of lines) write(r.stream, `${r.container} | ${line}\n`);
    }
    cursor = body.cursor;
    if (body.done || (!follow && (body.records?.length ?? 0) === 0)) break;
  }
  for (const [key, rest] of partial) {
    const [container, stream] = key.split("\0") as [string, "stdout" | "stderr"];
    if (rest) write(stream, `${container} | ${rest}\n`);
  }
}

async function clock(args: string[]): Promise<void> {
  const { flags, positionals } = parseArgs(args, CLOCK_FLAGS, 2);
  const [sub = "now", amount] = positionals;
  let seconds: number | undefined;
  if (sub === "now") {
    if (amount !== undefined) usageError(`unexpected argument: ${amount}`);
  } else if (sub === "advance") {
    if (amount === undefined) usageError("clock advance needs a duration, e.g. 30d");
    try {
      seconds = parseDuration(amount);
    } catch (e) {
      usageError((e as Error).message);
    }
  } else usageError(`unknown clock command ${sub}`);
  const endpoint = clockEndpoint(flags.endpoint as string | undefined, process.env);
  let res: Response;
  try {
    res =
      seconds === undefined
        ? await fetch(`${endpoint}/_localfargate/clock`)
        : await fetch(`${endpoint}/_localfargate/clock`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ advanceSeconds: seconds }) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    console.error(
      `cannot reach localfargate at ${endpoint} (${cause?.code ?? cause?.message ?? (e as Error).message}): is it running? Name it with --endpoint URL, LOCALFARGATE_ENDPOINT, or LOCALFARGATE_HOST and LOCALFARGATE_PORT`,
    );
    process.exit(1);
  }
  const body = (await res.json().catch(() => ({}))) as { now?: string; message?: string };
  if (!res.ok) {
    console.error(body.message ?? `HTTP ${res.status}`);
    process.exit(1);
  }
  console.log(body.now);
}

async function main(argv: string[]): Promise<void> {
  const beforeDashes = argv.indexOf("--") < 0 ? argv : argv.slice(0, argv.indexOf("--"));
  if (beforeDashes.includes("--help") || beforeDashes.includes("-h")) {
    process.stdout.write(USAGE);
    return;
  }
  const [cmd, ...args] = argv;
  try {
    if (cmd === "start") return await start(args);
    if (cmd === "clock") return await clock(args);
    if (cmd === "image") return await image(args);
    if (cmd === "logs") return await logs(args);
  } catch (e) {
    if (e instanceof UsageError) usageError(e.message);
    throw e;
  }
  usageError(cmd === undefined ? "a command is needed" : `unknown command ${cmd}`);
}

main(process.argv.slice(2)).catch((e) => {
  // start-up errors (StartupError) and everything else: the message, never a stack trace
  console.error(`localfargate: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
