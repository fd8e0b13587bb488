/**
 * localfargate command line:
 *   localfargate start [--host H] [--port P] [--data-dir D] [--storage-driver gocryptfs|plain] [--allow-remote]
 *                      [--fargate-vcpu-quota N] [--fargate-spot-vcpu-quota N]
 *   localfargate clock [now]            print the service clock
 *   localfargate clock advance 30d      move the service clock forward (s, m, h, d suffixes)
 */
import { startLocalfargate } from "./server/app.ts";
import { parseVcpuQuota } from "./services/ecs/quotas.ts";

function parseFlags(args: string[]): { flags: Record<string, string | boolean>; rest: string[] } {
  const flags: Record<string, string | boolean> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (i + 1 < args.length && !args[i + 1].startsWith("--")) flags[a.slice(2)] = args[++i];
      else flags[a.slice(2)] = true;
    } else rest.push(a);
  }
  return { flags, rest };
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(s.trim());
  if (!m) throw new Error(`cannot read duration "${s}": use a number with s, m, h or d (e.g. 30d)`);
  const n = Number(m[1]);
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

function usage(): never {
  console.error(`usage:
  localfargate start [--host 127.0.0.1] [--port 4566] [--data-dir ./.localfargate] [--storage-driver gocryptfs|plain] [--allow-remote]
                     [--fargate-vcpu-quota 6] [--fargate-spot-vcpu-quota 6]
  localfargate clock [now] [--endpoint URL]
  localfargate clock advance <duration, e.g. 30d, 12h, 90s> [--endpoint URL]`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...args] = argv;
  const { flags, rest } = parseFlags(args);
  if (cmd === "start") {
    const host = String(flags.host ?? process.env.LOCALFARGATE_HOST ?? "127.0.0.1");
    const port = Number(flags.port ?? process.env.LOCALFARGATE_PORT ?? 4566);
    const dataDir = String(flags["data-dir"] ?? process.env.LOCALFARGATE_DATA_DIR ?? "./.localfargate");
    const driver = flags["storage-driver"] ?? process.env.LOCALFARGATE_STORAGE_DRIVER;
    if (driver !== undefined && driver !== "gocryptfs" && driver !== "plain") {
      console.error(`--storage-driver must be gocryptfs or plain, not ${String(driver)}`);
      process.exit(2);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      console.error(`--port must be a port number, not ${String(flags.port ?? process.env.LOCALFARGATE_PORT)}`);
      process.exit(2);
    }
    if (!LOOPBACK.has(host) && !flags["allow-remote"]) {
      console.error(`refusing to listen on ${host}: RunTask executes commands on this machine. Pass --allow-remote to bind a non-loopback address.`);
      process.exit(2);
    }
    let fargateVcpuQuota: number;
    let fargateSpotVcpuQuota: number;
    try {
      fargateVcpuQuota = parseVcpuQuota(flags["fargate-vcpu-quota"] ?? process.env.LOCALFARGATE_FARGATE_VCPU_QUOTA, "--fargate-vcpu-quota");
      fargateSpotVcpuQuota = parseVcpuQuota(flags["fargate-spot-vcpu-quota"] ?? process.env.LOCALFARGATE_FARGATE_SPOT_VCPU_QUOTA, "--fargate-spot-vcpu-quota");
    } catch (e) {
      console.error((e as Error).message);
      process.exit(2);
    }
    // LOCALFARGATE_AUDIT=off exists only so the bench can show what auditing costs.
    const audit = (flags.audit ?? process.env.LOCALFARGATE_AUDIT) !== "off";
    const running = await startLocalfargate({ host, port, dataDir, storageDriver: driver as "gocryptfs" | "plain" | undefined, allowRemote: Boolean(flags["allow-remote"]), audit, fargateVcpuQuota, fargateSpotVcpuQuota });
    const storage = running.app.health.storage as { driver?: string; encryptedAtRest?: boolean; warning?: string } | undefined;
    console.log(`localfargate listening on ${running.url} (data dir ${dataDir})`);
    if (storage?.warning) console.log(`WARNING: ${storage.warning}`);
    const stop = async () => {
      await running.close();
      process.exit(0);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    return;
  }
  if (cmd === "clock") {
    const endpoint = String(flags.endpoint ?? process.env.LOCALFARGATE_ENDPOINT ?? `http://127.0.0.1:${process.env.LOCALFARGATE_PORT ?? 4566}`);
    const sub = rest[0] ?? "now";
    let res: Response;
    if (sub === "now") res = await fetch(`${endpoint}/_localfargate/clock`);
    else if (sub === "advance" && rest[1]) {
      let seconds: number;
      try {
        seconds = parseDuration(rest[1]);
      } catch (e) {
        console.error((e as Error).message);
        process.exit(2);
      }
      res = await fetch(`${endpoint}/_localfargate/clock`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ advanceSeconds: seconds }) });
    } else usage();
    const body = (await res.json()) as { now?: string; message?: string };
    if (!res.ok) {
      console.error(body.message ?? `HTTP ${res.status}`);
      process.exit(1);
    }
    console.log(body.now);
    return;
  }
  usage();
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
