/**
 * Tasks that run their images with crun (docs/ecs-fargate.md, "Container runtime"): a busybox
 * image built in the test and loaded with the image endpoint, run through the ECS API on the
 * encrypted, sized volume in the task's own network namespace. Skipped, with the reason, on a
 * machine where crun, skopeo, umoci, root, network namespaces or gocryptfs are missing.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { SecretsManagerClient, CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { CreateClusterCommand, ECSClient, ListTasksCommand, RunTaskCommand, StopTaskCommand, type ContainerDefinition, type Task } from "@aws-sdk/client-ecs";
import { detectCrun } from "../../src/fargate/runtime/crun.ts";
import { networkPrefix } from "../../src/fargate/runtime/select.ts";
import { detectImageTools } from "../../src/fargate/images/tools.ts";
import { probeNetworking } from "../../src/fargate/network/index.ts";
import { probeGocryptfs } from "../../src/fargate/storage/index.ts";
import { BUSYBOX, buildBusyboxImage, type BuiltImage } from "../support/images.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { sparseFileIncludes } from "../support/sparse-file.ts";
import { NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

async function whyNot(): Promise<string | undefined> {
  const crun = await detectCrun();
  if (!crun.available) return crun.reason;
  const tools = detectImageTools();
  if (!tools.skopeo || !tools.umoci) return "skopeo and umoci are needed";
  if (!BUSYBOX) return "busybox-static is needed to build the test image";
  const net = await probeNetworking();
  if (!net.available) return net.reason;
  const dir = mkdtempSync(join(tmpdir(), "lf-probe-"));
  const probe = await probeGocryptfs(dir);
  rmSync(dir, { recursive: true, force: true });
  if (!probe.available || !probe.ext4) return `sized gocryptfs volumes are needed: ${probe.available ? "no loop devices or mkfs.ext4" : probe.reason}`;
  return undefined;
}

const skipReason = await whyNot();
if (skipReason) console.warn(`container runtime tests skipped: ${skipReason}`);

const CLUSTER = "images";
const IMAGE = "team/app:v1";
let server: TestServer;
let ecs: ECSClient;
let work: string;
let built: BuiltImage;

beforeAll(async () => {
  if (skipReason) return;
  work = mkdtempSync(join(tmpdir(), "lf-containers-"));
  built = await buildBusyboxImage(work);
  server = await startTestServer({ storageDriver: "gocryptfs", containerRuntime: "crun" });
  const res = await fetch(`${server.url}/_localfargate/images`, { method: "POST", body: JSON.stringify({ path: built.ociArchive, names: [IMAGE] }) });
  expect(res.status).toBe(200);
  ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
});

/** Tasks a failed test left running, stopped so that the next test sees only its own. */
afterEach(async () => {
  if (!server) return;
  const left = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: "RUNNING" }))).taskArns ?? [];
  for (const arn of left) await stopTask(arn);
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface TaskRecordView {
  storage: { mountPath?: string; volumeId?: string };
}

function record(taskArn: string): TaskRecordView {
  return (server.app.get("ecs") as { tasks: Map<string, TaskRecordView> }).tasks.get(taskArn)!;
}

/** What the container wrote to stdout and stderr, from the task's encrypted output store. */
function logOf(taskArn: string, container: string): string {
  const store = (server.app.get("fargate") as { output: { read(arn: string, o: { container?: string; cursor?: string }): { records: { data: Buffer }[]; cursor: string } } })
    .output;
  let text = "";
  let cursor: string | undefined;
  for (;;) {
    const page = store.read(taskArn, { container, ...(cursor ? { cursor } : {}) });
    for (const r of page.records) text += r.data.toString("utf8");
    if (page.records.length === 0 || page.cursor === cursor) return text;
    cursor = page.cursor;
  }
}

async function runTask(family: string, containers: ContainerDefinition[], extra: Record<string, unknown> = {}): Promise<Task> {
  const td = await registerSleeper(
    ecs,
    family,
    containers.map((c) => ({ image: IMAGE, stopTimeout: 2, ...c })),
    extra,
  );
  return (await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
}

async function logContains(taskArn: string, container: string, text: string): Promise<string> {
  return waitFor(`${container} to log ${text}`, async () => {
    const log = logOf(taskArn, container);
    return log.includes(text) ? log : undefined;
  });
}

async function stopTask(taskArn: string): Promise<Task> {
  await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: taskArn }));
  return waitTask(ecs, CLUSTER, taskArn, stopped);
}

/** A role tasks may assume, allowed `actions` (none: a role that only identifies the task). */
async function taskRole(name: string, actions: string[] = []): Promise<string> {
  const iam = new IAMClient(server.config);
  const trust = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }] });
  const arn = (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }))).Role!.Arn!;
  if (actions.length) {
    const policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: actions, Resource: "*" }] });
    await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "task", PolicyDocument: policy }));
  }
  return arn;
}

/** The real CLI (bin/localfargate.js) against the test server, signing with test/test. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/localfargate.js", ...args],
      { env: { ...process.env, LOCALFARGATE_ENDPOINT: server.url, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_SESSION_TOKEN: "" } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Regular files under `dir` on its own file system (mount points below it, such as a volume's plaintext view, are left out). */
function plainFiles(dir: string): string[] {
  const dev = statSync(dir).dev;
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st || st.dev !== dev) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

describe.skipIf(skipReason !== undefined)("tasks run their images with crun", () => {
  it("reports the runtime in health", () => {
    expect(server.app.health.containerRuntime).toMatchObject({ runtime: "crun", reason: "chosen with --container-runtime crun" });
  });

  it("honours the image's entrypoint, user and working directory with the definition's command and environment; df shows the task's size", async () => {
    const t0 = await runTask(
      "honour",
      [
        {
          name: "app",
          command: ["echo hello from $GREETING_NAME; id; pwd; df -k / | grep ephemeral; echo DONE; sleep 300"],
          environment: [{ name: "GREETING_NAME", value: "task" }],
        },
      ],
      { ephemeralStorage: { sizeInGiB: 30 } },
    );
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    const log = await logContains(t0.taskArn!, "app", "DONE");
    expect(log).toContain("hello from task\n");
    expect(log).toContain("uid=1000(app) gid=1000(app)");
    expect(log).toContain("/home/app\n");
    const df = log.split("\n").find((l) => l.startsWith("ephemeral"))!;
    expect(df, log).toBeDefined();
    const totalKiB = Number(df.split(/\s+/)[1]);
    expect(totalKiB * 1024).toBeGreaterThan(30 * 1024 ** 3 * 0.95);
    expect(totalKiB * 1024).toBeLessThanOrEqual(30 * 1024 ** 3);
    const done = await stopTask(t0.taskArn!);
    expect(done.containers![0]).toMatchObject({ lastStatus: "STOPPED", exitCode: 137 });
  });

  it("an entryPoint in the definition replaces the image's and drops its Cmd; user and workingDirectory override the image's", async () => {
    const t0 = await runTask("override", [{ name: "app", entryPoint: ["/bin/sh", "-c", 'id -u; pwd; echo "args:$0"; sleep 300'], user: "0", workingDirectory: "/tmp" }]);
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    const log = await logContains(t0.taskArn!, "app", "args:");
    expect(log).toMatch(/^0\n\/tmp\nargs:/);
    expect(log).not.toContain("hello");
    await stopTask(t0.taskArn!);
  });

  it("applies readonlyRootFilesystem, initProcessEnabled and ulimits (nofile at most the host's hard limit)", async () => {
    const health = server.app.health.containerRuntime as { limits: { nofile: { max?: number } } };
    const script = [
      "touch /home/app/x 2>/dev/null && echo ROOT-WRITABLE",
      'echo "init=$(cat /proc/1/cmdline | grep -c dev/init)"',
      'echo "nofile=$(ulimit -n)"',
      "echo CHECKED",
    ].join("; ");
    const t0 = await runTask("settings", [
      {
        name: "app",
        readonlyRootFilesystem: true,
        linuxParameters: { initProcessEnabled: true },
        ulimits: [{ name: "nofile", softLimit: 1234, hardLimit: 4096 }],
        command: [`${script}; sleep 300`],
      },
    ]);
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    const log = await logContains(t0.taskArn!, "app", "CHECKED");
    expect(log).not.toContain("ROOT-WRITABLE");
    expect(log).toContain("init=1\n");
    expect(log).toContain(`nofile=${Math.min(1234, health.limits.nofile.max ?? 1234)}\n`);
    // With an init in front, SIGTERM reaches the command: the task stops before stopTimeout's SIGKILL.
    const done = await stopTask(t0.taskArn!);
    expect(done.containers![0]!.exitCode).toBe(143);
  });

  it("keeps what a container writes encrypted on disk", async () => {
    const marker = "LOCALFARGATE-OCI-MARKER-" + "3f9a21c4";
    const t0 = await runTask("crypt", [{ name: "writer", command: [`for i in 1 2 3 4 5 6 7 8; do echo ${marker} >> /home/app/m.txt; done; sync; echo WROTE; sleep 300`] }]);
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    await logContains(t0.taskArn!, "writer", "WROTE");
    const rec = record(t0.taskArn!);
    const inside = join(rec.storage.mountPath!, ".localfargate", "containers", "c0", "rootfs", "home", "app", "m.txt");
    expect(readFileSync(inside, "utf8")).toContain(marker);
    execFileSync("sync");
    const image = join(server.dataDir, "volumes", rec.storage.volumeId!, "volume.img");
    expect(sparseFileIncludes(image, Buffer.from("gocryptfs.diriv"))).toBe(true);
    expect(sparseFileIncludes(image, Buffer.from(marker))).toBe(false);
    // The image's own files are unpacked onto the encrypted volume too.
    expect(sparseFileIncludes(image, Buffer.from("app:x:1000:1000:app:/home/app"))).toBe(false);
    await stopTask(t0.taskArn!);
  });

  it("gives the task one address: its containers talk over localhost and a port mapping is reachable from the host at the task's address", async () => {
    const t0 = await runTask("net", [
      { name: "web", portMappings: [{ containerPort: 8080 }], command: ["echo served-by-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"] },
      {
        name: "client",
        essential: false,
        dependsOn: [{ containerName: "web", condition: "START" }],
        // START only means web's process exists: on a loaded host httpd may bind seconds later.
        command: ["i=0; while [ $i -lt 300 ]; do wget -q -O - http://127.0.0.1:8080/index.html && break; i=$((i+1)); sleep 0.2; done; sleep 300"],
      },
    ]);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    const ip = t.attachments![0]!.details!.find((d) => d.name === "privateIPv4Address")!.value!;
    expect(ip).not.toBe(t0.attachments![0]!.details!.find((d) => d.name === "privateIPv4Address")!.value);
    expect(t.containers!.every((c) => c.networkInterfaces![0]!.privateIpv4Address === ip)).toBe(true);
    await logContains(t0.taskArn!, "client", "served-by-web");
    const body = await waitFor("the task's port from the host", async () => {
      try {
        // an attempt that hangs (a loaded host) is given up and tried again, not waited on forever
        const res = await fetch(`http://${ip}:8080/index.html`, { signal: AbortSignal.timeout(10_000) });
        return res.ok ? await res.text() : undefined;
      } catch {
        return undefined;
      }
    });
    expect(body).toBe("served-by-web\n");
    await stopTask(t0.taskArn!);
    await expect(fetch(`http://${ip}:8080/index.html`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
  });

  it("runs a command inside a running container as its user, in its working directory (health checks use this)", async () => {
    const t0 = await runTask("exec", [{ name: "app", command: ["echo STARTED; sleep 300"], environment: [{ name: "MARK", value: "m1" }] }]);
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    await logContains(t0.taskArn!, "app", "STARTED");
    const runner = (server.app.get("fargate") as { runners: Map<string, { exec(c: string, argv: string[], ms: number): Promise<number | null> }> }).runners.get(t0.taskArn!)!;
    expect(await runner.exec("app", ["sh", "-c", '[ "$(id -u)" = 1000 ] && [ "$PWD" = /home/app ] && [ "$MARK" = m1 ]'], 10_000)).toBe(0);
    expect(await runner.exec("app", ["sh", "-c", "exit 3"], 10_000)).toBe(3);
    expect(await runner.exec("app", ["sleep", "30"], 300)).toBeNull();
    expect(await runner.exec("app", ["/no/such/program"], 10_000)).not.toBe(0);
    expect(await runner.exec("nope", ["true"], 10_000)).toBeNull();
    await stopTask(t0.taskArn!);
  });

  it("applies the container's memory limit where the host enforces it", async () => {
    const health = server.app.health.containerRuntime as { limits: { memory: { enforced: boolean } } };
    if (!health.limits.memory.enforced) return;
    const t0 = await runTask("limits", [{ name: "app", memory: 96, command: ["echo STARTED; sleep 300"] }]);
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    await logContains(t0.taskArn!, "app", "STARTED");
    const id = t0.taskArn!.split("/").pop()!;
    const files = [`/sys/fs/cgroup/memory/localfargate/${id}/c0/memory.limit_in_bytes`, `/sys/fs/cgroup/localfargate/${id}/c0/memory.max`].filter((f) => existsSync(f));
    expect(files.length).toBe(1);
    expect(readFileSync(files[0]!, "utf8").trim()).toBe(String(96 * 1024 * 1024));
    await stopTask(t0.taskArn!);
    expect(existsSync(files[0]!)).toBe(false);
  });

  it("serves the task role's credentials and the task metadata at 169.254.170.2 inside the container, never the control endpoints", async () => {
    const roleArn = await taskRole("crun-task-role");
    const t0 = await runTask(
      "roles",
      [
        {
          name: "app",
          command: [
            'wget -q -O- "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"; echo; echo "ENDPOINT=$AWS_ENDPOINT_URL"; echo "META=$ECS_CONTAINER_METADATA_URI_V4"; wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4/task"; echo; wget -q -O- http://169.254.170.2/_localfargate/health || echo CONTROL-REFUSED; echo DONE; sleep 300',
          ],
        },
      ],
      { taskRoleArn: roleArn },
    );
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    const log = await logContains(t0.taskArn!, "app", "DONE");
    const credentials = JSON.parse(log.split("\n").find((l) => l.includes('"RoleArn"'))!) as Record<string, string>;
    expect(credentials.RoleArn).toBe(roleArn);
    expect(credentials.AccessKeyId).toMatch(/^ASIA/);
    expect(log).toContain("ENDPOINT=http://169.254.170.2\n");
    expect(log).toMatch(/META=http:\/\/169\.254\.170\.2\/v4\/[^/]+\/app\n/);
    const metadata = JSON.parse(log.split("\n").find((l) => l.includes('"TaskARN"'))!) as { TaskARN: string };
    expect(metadata.TaskARN).toBe(t0.taskArn);
    expect(log).toContain("CONTROL-REFUSED");
    expect(log).not.toContain('"containerRuntime"');
    // The credentials are the role's own: STS knows them as the task's session.
    const sts = new STSClient({
      ...server.config,
      credentials: { accessKeyId: credentials.AccessKeyId!, secretAccessKey: credentials.SecretAccessKey!, sessionToken: credentials.Token! },
    });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(`arn:aws:sts::000000000000:assumed-role/crun-task-role/${t0.taskArn!.split("/").pop()}`);
    await stopTask(t0.taskArn!);
  });

  it("runs health checks inside the container: a failing one marks it UNHEALTHY, a passing one HEALTHY", async () => {
    const check = (command: string[]) => ({ command, interval: 5, timeout: 3, retries: 1 });
    const t0 = await runTask("health", [
      // /home/app/ready exists only in this container's root file system, and only its user is uid 1000 there
      { name: "good", command: ["touch /home/app/ready; sleep 300"], healthCheck: check(["CMD-SHELL", 'test -f /home/app/ready && test "$(id -u)" = 1000']) },
      { name: "bad", command: ["sleep 300"], healthCheck: check(["CMD-SHELL", "exit 3"]) },
    ]);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, (x) => x.containers!.every((c) => c.healthStatus !== "UNKNOWN"));
    const health = Object.fromEntries(t.containers!.map((c) => [c.name, c.healthStatus]));
    expect(health).toEqual({ good: "HEALTHY", bad: "UNHEALTHY" });
    expect(t.healthStatus).toBe("UNHEALTHY");
    expect(t.lastStatus).toBe("RUNNING");
    await stopTask(t0.taskArn!);
  });

  it("keeps a crun task's output readable with `localfargate logs`, stdout and stderr apart, while it runs and after it stops", async () => {
    const t0 = await runTask("output", [{ name: "app", command: ["echo out-of-crun; echo err-of-crun >&2; sleep 300"] }]);
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    await logContains(t0.taskArn!, "app", "err-of-crun");
    expect(await cli(["logs", t0.taskArn!])).toEqual({ code: 0, stdout: "out-of-crun\n", stderr: "err-of-crun\n" });
    await stopTask(t0.taskArn!);
    expect(await cli(["logs", t0.taskArn!, "--container", "app"])).toEqual({ code: 0, stdout: "out-of-crun\n", stderr: "err-of-crun\n" });
  });

  it("gives a secret to the container's environment and its health checks, and writes it nowhere in plaintext", async () => {
    const value = "crun-secret-" + "c0ffee42d00d";
    const sm = new SecretsManagerClient(server.config);
    const secretArn = (await sm.send(new CreateSecretCommand({ Name: "crun-db", SecretString: value }))).ARN!;
    const execRole = await taskRole("crun-exec-role", ["secretsmanager:GetSecretValue"]);
    const digest = createHash("sha256").update(value).digest("hex");
    const hashOk = `test "$(printf %s "$DB_PW" | sha256sum | cut -d' ' -f1)" = ${digest}`;
    const t0 = await runTask(
      "secret",
      [
        {
          name: "app",
          secrets: [{ name: "DB_PW", valueFrom: secretArn }],
          command: [`${hashOk} && echo SECRET-ARRIVED; sleep 300`],
          healthCheck: { command: ["CMD-SHELL", hashOk], interval: 5, timeout: 3, retries: 1 },
        },
      ],
      { executionRoleArn: execRole },
    );
    await logContains(t0.taskArn!, "app", "SECRET-ARRIVED");
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, (x) => x.containers![0]!.healthStatus !== "UNKNOWN");
    expect(t.containers![0]!.healthStatus).toBe("HEALTHY");
    // Every file of the data dir and of the server's directory under /run, mounts (the volume's
    // plaintext view) left out: the OCI config with the environment lives on the encrypted volume.
    execFileSync("sync");
    const rec = record(t0.taskArn!);
    const volumeImage = join(server.dataDir, "volumes", rec.storage.volumeId!, "volume.img");
    const runDir = join("/run", "localfargate", networkPrefix(server.dataDir));
    const files = [...plainFiles(server.dataDir), ...(existsSync(runDir) ? plainFiles(runDir) : [])];
    // crun's copy of the config (with the environment) is in the task's crun state on the volume
    const taskId = t0.taskArn!.split("/").pop()!;
    const copy = join(rec.storage.mountPath!, ".localfargate", "containers", "crun", `lf-${taskId}-c0`, "config.json");
    expect(readFileSync(copy).includes(value)).toBe(true);
    expect(files).toContain(volumeImage);
    for (const f of files) {
      // Volume images are sparse files of the task's full ephemeral size: read only their data.
      const found = basename(f) === "volume.img" ? sparseFileIncludes(f, Buffer.from(value)) : readFileSync(f).includes(value);
      expect(found, f).toBe(false);
    }
    await stopTask(t0.taskArn!);
  });

  it("stops a container whose program is not in the image with CannotStartContainerError", async () => {
    const t0 = await runTask("noexec", [{ name: "app", entryPoint: ["/no/such/program"] }]);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, stopped);
    expect(t.containers![0]!.reason).toMatch(/^CannotStartContainerError: .*\/no\/such\/program/);
    expect(t.containers![0]!.exitCode).toBeUndefined();
    // It never ran: neither the task nor the container was RUNNING.
    expect(t.startedAt).toBeUndefined();
  });

  it("stops a task whose user the image does not know with CannotStartContainerError", async () => {
    const t0 = await runTask("nouser", [{ name: "app", user: "nobody-here" }]);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, stopped);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toBe("CannotStartContainerError: unable to find user nobody-here: no matching entries in passwd file");
  });

  it("stops a task whose image no source has with CannotPullContainerError", async () => {
    const t0 = await runTask("missing", [{ name: "app", image: "team/nothing-here:v9" }]);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, stopped);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toBe(
      "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/team/nothing-here:v9: docker.io/team/nothing-here:v9: not found",
    );
  });

  it("keeps the data dir, the host's processes and root out of reach of the task", async () => {
    const dataDir = server.dataDir;
    const script = [
      `[ -e ${dataDir} ] && echo SEES-DATA-DIR`,
      `ls ${dataDir}/volumes 2>/dev/null && echo LISTS-VOLUMES`,
      // only the container's own processes: sh (PID 1) and what it runs
      `[ "$(ls /proc | grep -c '^[0-9]')" -le 4 ] || echo SEES-HOST-PROCESSES`,
      "echo CHECKED",
    ].join("; ");
    const t0 = await runTask("isolated", [{ name: "app", user: "0", command: [`${script}; sleep 300`] }]);
    await waitTask(ecs, CLUSTER, t0.taskArn!, running);
    const log = await logContains(t0.taskArn!, "app", "CHECKED");
    expect(log).toBe("CHECKED\n");
    // Root inside is an unprivileged id outside.
    const rec = record(t0.taskArn!);
    const owner = Number(execFileSync("stat", ["-c", "%u", join(rec.storage.mountPath!, ".localfargate", "containers", "c0", "rootfs", "bin")], { encoding: "utf8" }).trim());
    expect(owner).toBeGreaterThanOrEqual(2 ** 31);
    await stopTask(t0.taskArn!);
  });
});

describe.skipIf(skipReason !== undefined)("after a crash with containers running", () => {
  const children: ChildProcess[] = [];
  let dataDir: string;
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  function startChild(): Promise<{ child: ChildProcess; url: string }> {
    const child = spawn(process.execPath, ["bin/localfargate.js", "start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "gocryptfs", "--container-runtime", "crun"], {
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

  /** Processes holding an id of the range that starts at `base`. */
  function processesOf(base: number): number[] {
    const pids: number[] = [];
    for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
      try {
        const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, "utf8"))![1]);
        if (uid >= base && uid < base + 65536) pids.push(Number(name));
      } catch {
        // gone meanwhile
      }
    }
    return pids;
  }

  it("the next start ends the containers, removes their bind mounts and network namespaces, and reports the task STOPPED", { timeout: 120_000 }, async () => {
    dataDir = mkdtempSync(join(tmpdir(), "lf-crash-"));
    const first = await startChild();
    expect((await fetch(`${first.url}/_localfargate/images`, { method: "POST", body: JSON.stringify({ path: built.ociArchive, names: [IMAGE] }) })).status).toBe(200);
    const ecs1 = new ECSClient({ endpoint: first.url, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    await ecs1.send(new CreateClusterCommand({ clusterName: "crash" }));
    const td = await registerSleeper(ecs1, "crash-app", [{ name: "app", image: IMAGE, entryPoint: ["sleep"], command: ["600"], stopTimeout: 2 }]);
    const t0 = (await ecs1.send(new RunTaskCommand({ cluster: "crash", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
    await waitTask(ecs1, "crash", t0.taskArn!, running);
    const volume = readdirSync(join(dataDir, "volumes")).find((n) => n.startsWith("vol-"))!;
    const base = statSync(join(dataDir, "volumes", volume, "mnt")).uid;
    expect(base).toBeGreaterThanOrEqual(2 ** 31);
    await waitFor("the container's process", async () => processesOf(base).length > 0);
    const prefix = networkPrefix(dataDir);
    const netns = () =>
      execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.startsWith(`${prefix}-`));
    const bindMounts = () =>
      readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter((l) => l.includes(`/run/localfargate/${prefix}/`));
    expect(netns()).toHaveLength(1);
    expect(bindMounts()).toHaveLength(1);

    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));
    const second = await startChild();
    const ecs2 = new ECSClient({ endpoint: second.url, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    await waitTask(ecs2, "crash", t0.taskArn!, stopped);
    expect(processesOf(base)).toEqual([]);
    expect(netns()).toEqual([]);
    expect(bindMounts()).toEqual([]);
    second.child.kill("SIGTERM");
    await new Promise((r) => second.child.once("exit", r));
    expect(execFileSync("ip", ["-br", "link"], { encoding: "utf8" })).not.toContain(`${prefix}br0`);
    expect(existsSync(`/run/localfargate/${prefix}`)).toBe(false);
  });
});
