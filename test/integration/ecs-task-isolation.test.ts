/**
 * Task processes run as users of their own that cannot read the data dir or another task's
 * volume; a server killed with SIGKILL leaves task processes and gocryptfs daemons behind, and
 * the next start on the same data dir ends them and unmounts their volumes before it reports
 * the tasks STOPPED.
 */
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateClusterCommand, ECSClient, RunTaskCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { listHostProcesses, isGocryptfsUnder, isSameProcess, processStartTime } from "../../src/fargate/host-processes.ts";
import { probeGocryptfs } from "../../src/fargate/storage/index.ts";
import { removeVolumeLeftovers } from "../../src/fargate/storage/cleanup.ts";
import { loopDevicesBackedUnder } from "../../src/fargate/storage/ext4-volume.ts";
import { TASK_UID_BASE, TASK_UID_COUNT } from "../../src/fargate/task-users.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

const probeDir = mkdtempSync(join(tmpdir(), "lf-probe-"));
const probe = await probeGocryptfs(probeDir);
rmSync(probeDir, { recursive: true, force: true });
const isRoot = process.getuid?.() === 0;
/** gocryptfs volumes sit on a loop-mounted ext4 here (two mounts and a loop device per volume). */
const sized = probe.available && probe.ext4 !== undefined;

const dirs: string[] = [];
const children: ChildProcess[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const s of servers) await s.close();
  for (const d of dirs) {
    // A failed test may leave mounts and loop devices behind: undo them before deleting.
    await removeVolumeLeftovers(join(d, "volumes")).catch(() => undefined);
    rmSync(d, { recursive: true, force: true });
  }
});

/** `localfargate start` as a child process on a free port; resolves with its URL once listening. */
function startChild(dataDir: string, driver: "plain" | "gocryptfs"): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["bin/localfargate.js", "start", "--port", "0", "--data-dir", dataDir, "--storage-driver", driver, "--container-runtime", "host"], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

function ecsAt(url: string): ECSClient {
  return new ECSClient({ endpoint: url, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
}

/** The pid of a container's main process, from its runtimeId (`<task id>-<container>-<pid>`). */
function pidOf(t: Task, container: string): number {
  const id = t.containers!.find((c) => c.name === container)!.runtimeId!;
  return Number(id.slice(id.lastIndexOf("-") + 1));
}

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((mp) => mp.startsWith(dir + "/"));
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith("Uid:"))!;
  return Number(line.slice(4).trim().split(/\s+/)[0]);
}

const drivers: { driver: "plain" | "gocryptfs"; skip: string | undefined }[] = [
  { driver: "plain", skip: existsSync("/proc/self/stat") ? undefined : "no /proc on this host" },
  { driver: "gocryptfs", skip: probe.available ? undefined : `gocryptfs unavailable: ${probe.reason}` },
];

for (const { driver, skip } of drivers) {
  describe.skipIf(skip !== undefined)(`after a crash (${driver} driver${skip ? `; skipped: ${skip}` : ""})`, () => {
    it("the next start ends the task processes and daemons, unmounts the volume, then reports the task STOPPED", async () => {
      const dataDir = realpathSync(mkdtempSync(join(tmpdir(), "localfargate-crash-")));
      dirs.push(dataDir);
      const volumes = join(dataDir, "volumes");
      const first = await startChild(dataDir, driver);
      let ecs = ecsAt(first.url);
      await ecs.send(new CreateClusterCommand({ clusterName: "crash" }));
      const td = await registerSleeper(ecs, "crash-app", [
        { name: "app", image: "busybox", command: ["sh", "-c", "sleep 1000 & sleep 1000; wait"], essential: true, stopTimeout: 2 },
      ]);
      const t0 = (await ecs.send(new RunTaskCommand({ cluster: "crash", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
      const t = await waitTask(ecs, "crash", t0.taskArn!, running);
      const pid = pidOf(t, "app");
      const start = processStartTime(pid)!;
      expect(start).toBeDefined();
      // The shell and its two sleeps.
      const taskProcs = (await listHostProcesses()).filter((p) => p.pgid === pid);
      expect(taskProcs.length).toBeGreaterThanOrEqual(3);
      const daemons = (await listHostProcesses()).filter((p) => isGocryptfsUnder(p, volumes));
      if (driver === "gocryptfs") {
        expect(daemons).toHaveLength(1);
        expect(mountsUnder(volumes)).toHaveLength(sized ? 2 : 1);
        expect(await loopDevicesBackedUnder(volumes)).toHaveLength(sized ? 1 : 0);
      }

      first.child.kill("SIGKILL");
      await new Promise((r) => first.child.once("exit", r));
      // What a crash leaves: the task's processes and the gocryptfs daemon keep running.
      for (const p of taskProcs) expect(isSameProcess(p.pid, p.startTime), `task process ${p.pid} after the crash`).toBe(true);
      for (const d of daemons) expect(isSameProcess(d.pid, d.startTime), `gocryptfs ${d.pid} after the crash`).toBe(true);

      const second = await startChild(dataDir, driver);
      try {
        ecs = ecsAt(second.url);
        const after = await waitTask(ecs, "crash", t0.taskArn!, stopped);
        expect(after.stoppedReason).toBe("Task stopped because localfargate restarted");
        for (const p of taskProcs) expect(isSameProcess(p.pid, p.startTime), `task process ${p.pid} after the restart`).toBe(false);
        for (const d of daemons) expect(isSameProcess(d.pid, d.startTime), `gocryptfs ${d.pid} after the restart`).toBe(false);
        expect((await listHostProcesses()).filter((p) => isGocryptfsUnder(p, volumes))).toEqual([]);
        expect(mountsUnder(volumes)).toEqual([]);
        expect(await loopDevicesBackedUnder(volumes)).toEqual([]);
        expect(readdirSync(volumes).filter((n) => n.startsWith("vol-"))).toEqual([]);
      } finally {
        second.child.kill("SIGTERM");
        await new Promise((r) => second.child.once("exit", r));
      }
    });
  });
}

describe.skipIf(!existsSync("/proc/self/stat"))("clean shutdown", () => {
  it("ends a task that ignores SIGTERM past the shutdown grace period, and removes its volume", async () => {
    const server = await startTestServer();
    servers.push(server);
    const ecs = new ECSClient(server.config);
    await ecs.send(new CreateClusterCommand({ clusterName: "stubborn" }));
    const td = await registerSleeper(ecs, "stubborn", [{ name: "app", image: "busybox", command: ["sh", "-c", "trap '' TERM; sleep 1000 & wait; sleep 1000"], stopTimeout: 120 }]);
    const t0 = (await ecs.send(new RunTaskCommand({ cluster: "stubborn", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
    const t = await waitTask(ecs, "stubborn", t0.taskArn!, running);
    const pid = pidOf(t, "app");
    // the shell and the sleep it starts in the background: on a loaded host the second may take seconds
    const procs = await waitFor("the task's shell and its background sleep", async () => {
      const group = (await listHostProcesses()).filter((p) => p.pgid === pid);
      return group.length >= 2 && group;
    });
    await server.stop();
    for (const p of procs) expect(isSameProcess(p.pid, p.startTime), `process ${p.pid} after shutdown`).toBe(false);
    expect(readdirSync(join(server.dataDir, "volumes")).filter((n) => n.startsWith("vol-"))).toEqual([]);
  });
});

describe.skipIf(!isRoot)(`task users${isRoot ? "" : " (skipped: the server must run as root to switch users)"}`, () => {
  it("a task runs as a uid of its own and cannot read the data dir's files or another task's volume", async () => {
    const server = await startTestServer({ storageDriver: probe.available ? "gocryptfs" : "plain" });
    servers.push(server);
    const ecs = new ECSClient(server.config);
    const health = (await (await fetch(`${server.url}/_localfargate/health`)).json()) as { taskIsolation: { users: string } };
    expect(health.taskIsolation).toEqual({ users: "per-task", uidRange: [TASK_UID_BASE, TASK_UID_BASE + TASK_UID_COUNT - 1] });
    await ecs.send(new CreateClusterCommand({ clusterName: "iso" }));
    // root.key is made when KMS first seals key material
    await new KMSClient(server.config).send(new CreateKeyCommand({}));

    const victimTd = await registerSleeper(ecs, "victim", [
      { name: "app", image: "busybox", command: ["sh", "-c", "echo victim-secret > secret.txt; exec sleep 1000"], stopTimeout: 2 },
    ]);
    const v0 = (await ecs.send(new RunTaskCommand({ cluster: "iso", taskDefinition: victimTd, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
    const victim = await waitTask(ecs, "iso", v0.taskArn!, running);
    const victimUid = uidOf(pidOf(victim, "app"));
    expect(victimUid).toBeGreaterThanOrEqual(TASK_UID_BASE);
    const registry = server.app.get("ecs") as { tasks: Map<string, { storage: { mountPath?: string } }> };
    const victimVolume = registry.tasks.get(victim.taskArn!)!.storage.mountPath!;
    const victimRoot = join(victimVolume, "..");
    await waitFor("the victim's secret.txt", async () => existsSync(join(victimVolume, "secret.txt")));

    // Even with the files readable and every directory above the volumes open (the modes an
    // older data dir had), the task's own user is what keeps it out.
    const rootKey = join(server.dataDir, "root.key");
    expect(existsSync(rootKey)).toBe(true);
    for (const d of [server.dataDir, join(server.dataDir, "volumes"), victimRoot]) chmodSync(d, 0o755);

    // Each failed check sets one bit of the exit code: 0 means every check held.
    const script = [
      "r=0",
      '[ "$(id -u)" != 0 ] || r=$((r|1))',
      'ls "$VICTIM" >/dev/null 2>e1 && r=$((r|2)); grep -q "Permission denied" e1 || r=$((r|4))',
      'cat "$VICTIM/secret.txt" >/dev/null 2>e2 && r=$((r|8)); grep -q "Permission denied" e2 || r=$((r|16))',
      'echo mine > own.txt && [ "$(cat own.txt)" = mine ] || r=$((r|32))',
      'exit "$r"',
    ].join("; ");
    const probeTd = await registerSleeper(ecs, "prober", [
      { name: "probe", image: "busybox", command: ["sh", "-c", script], environment: [{ name: "VICTIM", value: victimVolume }] },
    ]);
    const p0 = (await ecs.send(new RunTaskCommand({ cluster: "iso", taskDefinition: probeTd, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
    const probed = await waitTask(ecs, "iso", p0.taskArn!, stopped);
    expect(probed.containers![0]!.exitCode).toBe(0);

    // The data dir as the server keeps it (0700) with root.key made world-readable: still out of reach.
    chmodSync(server.dataDir, 0o700);
    chmodSync(rootKey, 0o644);
    // The volume is the cwd although the data dir above it is closed to the task's user.
    const keyScript = 'cat "$KEY" >/dev/null 2>e && exit 1; grep -q "Permission denied" e || exit 2; echo mine > own.txt && [ "$(cat own.txt)" = mine ] || exit 3; exit 0';
    const keyTd = await registerSleeper(ecs, "key-reader", [{ name: "probe", image: "busybox", command: ["sh", "-c", keyScript], environment: [{ name: "KEY", value: rootKey }] }]);
    const k0 = (await ecs.send(new RunTaskCommand({ cluster: "iso", taskDefinition: keyTd, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
    const keyRead = await waitTask(ecs, "iso", k0.taskArn!, stopped);
    expect(keyRead.containers![0]!.exitCode).toBe(0);
    chmodSync(rootKey, 0o600);

    await ecs.send(new StopTaskCommand({ cluster: "iso", task: victim.taskArn! }));
    await waitTask(ecs, "iso", victim.taskArn!, stopped);
  });
});
