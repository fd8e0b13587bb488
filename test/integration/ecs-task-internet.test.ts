/**
 * Tasks' reach beyond the host (docs/ecs-fargate.md#internet-access-from-tasks): while a crun
 * task runs, the server's own host nft table masquerades the task subnet and IPv4 forwarding is
 * on; the table goes with the server; with `taskInternet: false` there is none. Nothing here
 * sends traffic: the rules, the sysctl, health and the container's resolv.conf are read.
 * Skipped, with the reason, where crun tasks cannot run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, RunTaskCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { detectCrun } from "../../src/fargate/runtime/crun.ts";
import { networkPrefix } from "../../src/fargate/runtime/select.ts";
import { detectImageTools } from "../../src/fargate/images/tools.ts";
import { probeNetworking } from "../../src/fargate/network/index.ts";
import { taskResolvConf } from "../../src/fargate/network/outbound.ts";
import { runProgram } from "../../src/fargate/storage/system.ts";
import { BUSYBOX, buildBusyboxImage, type BuiltImage } from "../support/images.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

async function whyNot(): Promise<string | undefined> {
  const crun = await detectCrun();
  if (!crun.available) return crun.reason;
  const tools = detectImageTools();
  if (!tools.skopeo || !tools.umoci) return "skopeo and umoci are needed";
  if (!BUSYBOX) return "busybox-static is needed to build the test image";
  const net = await probeNetworking();
  if (!net.available) return net.reason;
  return undefined;
}

const skipReason = await whyNot();
if (skipReason) console.warn(`task internet tests skipped: ${skipReason}`);

const IMAGE = "team/net:v1";
let work: string;
let built: BuiltImage;

beforeAll(async () => {
  if (skipReason) return;
  work = mkdtempSync(join(tmpdir(), "lf-internet-"));
  built = await buildBusyboxImage(work);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

async function serverWithImage(taskInternet: boolean): Promise<{ server: TestServer; ecs: ECSClient }> {
  const server = await startTestServer({ containerRuntime: "crun", taskInternet });
  const res = await fetch(`${server.url}/_localfargate/images`, { method: "POST", body: JSON.stringify({ path: built.ociArchive, names: [IMAGE] }) });
  expect(res.status).toBe(200);
  const ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: "net" }));
  return { server, ecs };
}

async function runResolvTask(ecs: ECSClient): Promise<Task> {
  const td = await registerSleeper(ecs, "net", [{ name: "app", image: IMAGE, stopTimeout: 2, entryPoint: ["sh", "-c"], command: ["cat /etc/resolv.conf; echo END; sleep 300"] }]);
  const t = (await ecs.send(new RunTaskCommand({ cluster: "net", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
  return waitTask(ecs, "net", t.taskArn!, running);
}

function logOf(server: TestServer, taskArn: string): string {
  const store = (server.app.get("fargate") as { output: { read(arn: string, o: { container?: string }): { records: { data: Buffer }[] } } }).output;
  return store
    .read(taskArn, { container: "app" })
    .records.map((r) => r.data.toString("utf8"))
    .join("");
}

async function hostTables(): Promise<string> {
  return (await runProgram("nft", ["list", "tables", "ip"])).output;
}

interface OutboundHealth {
  internet: string;
  nftTable?: string;
  ipForwardBefore?: string;
  dns: { available: boolean };
}

async function outboundHealth(server: TestServer): Promise<OutboundHealth> {
  const h = (await (await fetch(`${server.url}/_localfargate/health`)).json()) as { containerRuntime: { network: { outbound: OutboundHealth } } };
  return h.containerRuntime.network.outbound;
}

describe.skipIf(skipReason !== undefined)("task internet access", () => {
  it("masquerades the task subnet in the server's own table while tasks run, gives the host's nameservers, and removes the table at shutdown", async () => {
    const { server, ecs } = await serverWithImage(true);
    const table = `localfargate_${networkPrefix(server.dataDir)}`;
    try {
      const t = await runResolvTask(ecs);
      const rules = (await runProgram("nft", ["list", "table", "ip", table])).output;
      expect(rules).toMatch(/ip saddr \d+\.\d+\.0\.0\/16 oifname != "lf[0-9a-f]{6}br0" masquerade/);
      expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe("1");
      const health = await outboundHealth(server);
      expect(health).toMatchObject({ internet: "on", nftTable: `ip ${table}` });
      expect(health.ipForwardBefore).toMatch(/^[01]$/);
      const hostResolv = readFileSync("/etc/resolv.conf", "utf8");
      const log = await waitFor("resolv.conf in the log", async () => logOf(server, t.taskArn!).includes("END") && logOf(server, t.taskArn!));
      expect(log).toBe(`${taskResolvConf(hostResolv, true).content}END\n`);
      await ecs.send(new StopTaskCommand({ cluster: "net", task: t.taskArn! }));
      await waitTask(ecs, "net", t.taskArn!, stopped);
    } finally {
      await server.close();
    }
    expect(await hostTables()).not.toContain(table);
  }, 120_000);

  it("two servers started together get their own subnets and share forwarding: each counts itself while it runs", async () => {
    const [a, b] = await Promise.all([serverWithImage(true), serverWithImage(true)]);
    const marker = (s: TestServer) => join("/run/localfargate/network/forwarding", networkPrefix(s.dataDir));
    try {
      const [ta, tb] = await Promise.all([runResolvTask(a.ecs), runResolvTask(b.ecs)]);
      const subnetOf = (t: Task) =>
        t
          .attachments![0]!.details!.find((d) => d.name === "privateIPv4Address")!
          .value!.split(".")
          .slice(0, 2)
          .join(".");
      expect(subnetOf(ta)).not.toBe(subnetOf(tb));
      // Each marker names its server's live process (this one: the servers run in this process).
      for (const s of [a.server, b.server]) expect(readFileSync(marker(s), "utf8")).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
      await a.server.close();
      expect(existsSync(marker(a.server))).toBe(false);
      expect(existsSync(marker(b.server))).toBe(true);
      expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim()).toBe("1");
      expect(await outboundHealth(b.server)).toMatchObject({ internet: "on", ipForwardBefore: expect.stringMatching(/^[01]$/) as unknown });
    } finally {
      await a.server.close();
      await b.server.close();
    }
    expect(existsSync(marker(b.server))).toBe(false);
  }, 120_000);

  it("with task internet access off, a running task has no masquerade rule and no nameserver", async () => {
    const { server, ecs } = await serverWithImage(false);
    const table = `localfargate_${networkPrefix(server.dataDir)}`;
    try {
      expect(await outboundHealth(server)).toMatchObject({ internet: "off", dns: { available: false } });
      const t = await runResolvTask(ecs);
      expect(await hostTables()).not.toContain(table);
      expect((await runProgram("nft", ["list", "ruleset"])).output).not.toContain(`lf${networkPrefix(server.dataDir).slice(2)}br0`);
      const log = await waitFor("resolv.conf in the log", async () => logOf(server, t.taskArn!).includes("END") && logOf(server, t.taskArn!));
      expect(log).not.toMatch(/^nameserver/m);
      expect(log).toContain("DNS is unavailable to tasks");
    } finally {
      await server.close();
    }
  }, 120_000);
});
