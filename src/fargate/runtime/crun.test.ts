/**
 * Containers run by the real crun from a busybox rootfs built here. Needs root, crun and a static
 * busybox (scripts/setup.sh installs crun and busybox-static); skipped with the reason otherwise.
 */
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listHostProcesses } from "../host-processes.ts";
import { which } from "../storage/system.ts";
import { cgroupModeOf, Crun, detectCrun, enforceable, parseHardLimits, type CrunHost, type RunningContainer } from "./crun.ts";
import { buildSpec, type BindMount, type ContainerSettings, type ImageConfig } from "./spec.ts";

const detection = await detectCrun();
const busybox = (await which("busybox")) ?? "/bin/busybox";
const busyboxIsStatic = await readFile(busybox).then(isStaticElf64, () => false);
const skipReason = !detection.available ? detection.reason : !busyboxIsStatic ? "no static busybox (apt-get install busybox-static)" : undefined;
if (skipReason) console.warn(`crun runtime tests skipped: ${skipReason}`);

/** Host ids the container's ids map to in these tests (clear of the per-task users 200000–265535). */
const HOST_ID_BASE = 400000;
const ID_RANGE = 65536;
const APPLETS = ["sh", "echo", "id", "ps", "cat", "touch", "sleep", "pwd", "env", "grep", "wc", "tail", "ls"];

const IMAGE: ImageConfig = {
  Entrypoint: ["/bin/sh", "-c"],
  Cmd: ["echo from-image-cmd"],
  Env: ["PATH=/bin", "FROM_IMAGE=image", "SHARED=image"],
  WorkingDir: "/home/app",
  User: "app",
};

/** A 64-bit little-endian ELF executable without a PT_INTERP program header (no dynamic loader). */
function isStaticElf64(b: Buffer): boolean {
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return false;
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > b.length) return false;
    if (b.readUInt32LE(at) === 3) return false;
  }
  return true;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Polls for up to a minute of wall-clock time: a container starts in seconds on a loaded host. */
async function waitFor(cond: () => Promise<boolean>, what: string): Promise<void> {
  const end = performance.now() + 60_000;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(skipReason !== undefined)("crun runtime", () => {
  let base: string;
  let rootfs: string;
  let host: CrunHost;
  let crun: Crun;
  let n = 0;
  const started: string[] = [];

  beforeAll(async () => {
    if (!detection.available) return;
    host = detection.host;
    base = await mkdtemp(join(tmpdir(), "lf-crun-"));
    await chmod(base, 0o755); // the container's root (a host id of the map) must walk to its rootfs
    rootfs = join(base, "rootfs");
    for (const d of ["bin", "etc", "proc", "dev", "sys", "tmp", "home/app"]) await mkdir(join(rootfs, d), { recursive: true });
    await copyFile(busybox, join(rootfs, "bin/busybox"));
    await chmod(join(rootfs, "bin/busybox"), 0o755);
    for (const a of APPLETS) await symlink("busybox", join(rootfs, "bin", a));
    await writeFile(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
    await writeFile(join(rootfs, "etc/group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
    await chmod(join(rootfs, "tmp"), 0o1777);
    // Owned by the container's root, as an image unpacked with the id map is (the busybox binary stays the host's).
    for (const d of ["", "bin", "etc", "etc/passwd", "etc/group", "proc", "dev", "sys", "tmp", "home"]) await chown(join(rootfs, d), HOST_ID_BASE, HOST_ID_BASE);
    await chown(join(rootfs, "home/app"), HOST_ID_BASE + 1000, HOST_ID_BASE + 1000);
    crun = new Crun(host, join(base, "state"));
  });

  afterEach(async () => {
    mounts = [];
    for (const id of started.splice(0)) await crun.delete(id).catch((e: Error) => console.error(e.message));
  });

  afterAll(async () => {
    try {
      if (crun) expect(await crun.removeCgroup("/localfargate-test")).toEqual([]);
    } finally {
      if (base) await rm(base, { recursive: true, force: true });
    }
  });

  let mounts: BindMount[] = [];

  function spec(container: ContainerSettings, task: { cpu?: number; memory?: number } = {}, id?: string, pidsLimit?: number) {
    return buildSpec({
      image: IMAGE,
      container,
      task,
      rootfs,
      idMap: { hostId: HOST_ID_BASE, size: ID_RANGE },
      passwd: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
      group: "root:x:0:\napp:x:1000:\nextra:x:2000:app\n",
      hostname: "task-host",
      hostHardLimits: host.hardLimits,
      enforce: enforceable(host),
      ...(host.initBinary ? { initBinary: host.initBinary } : {}),
      ...(id ? { cgroupsPath: `/localfargate-test/${id}` } : {}),
      ...(pidsLimit ? { pidsLimit } : {}),
      mounts,
    });
  }

  async function start(container: ContainerSettings, task: { cpu?: number; memory?: number } = {}, pidsLimit?: number) {
    const id = `lf-test-${process.pid}-${++n}`;
    const s = spec(container, task, id, pidsLimit);
    started.push(id);
    const c = await crun.run(id, join(base, "bundles", id), s.config);
    const out = readAll(c.stdout);
    const err = readAll(c.stderr);
    return { id, c, s, out, err };
  }

  async function runToEnd(container: ContainerSettings, task?: { cpu?: number; memory?: number }) {
    const { id, c, out, err } = await start(container, task);
    const exit = await c.exited;
    return { id, exit, stdout: await out, stderr: await err };
  }

  /** Nothing of the container is left: no crun state, no cgroup, no process. */
  async function expectGone(id: string, c: RunningContainer) {
    await crun.delete(id);
    expect(await crun.list()).not.toContain(id);
    expect(await exists(join(crun.stateDir, id))).toBe(false);
    for (const ctl of ["memory", "cpu", "pids", "unified", ""]) expect(await exists(join("/sys/fs/cgroup", ctl, "localfargate-test", id))).toBe(false);
    const procs = await listHostProcesses();
    expect(procs.some((p) => p.pid === c.pid)).toBe(false);
    expect(procs.some((p) => p.uids.some((u) => u >= HOST_ID_BASE && u < HOST_ID_BASE + ID_RANGE))).toBe(false);
  }

  it("honours the image's entrypoint, the definition's command, the merged environment, the working directory and the user", async () => {
    const r = await runToEnd({
      command: ['echo "$FROM_IMAGE $SHARED $FROM_DEF $HOME $HOSTNAME"; pwd; id -u; id -g; id -G; echo err >&2; exit 7'],
      environment: [
        { name: "SHARED", value: "definition" },
        { name: "FROM_DEF", value: "def" },
      ],
    });
    expect(r.exit).toEqual({ exitCode: 7 });
    expect(r.stdout).toBe("image definition def /home/app task-host\n/home/app\n1000\n1000\n1000 2000\n");
    expect(r.stderr).toBe("err\n");
    await expectGone(r.id, { pid: undefined } as RunningContainer);
  });

  it("runs the image's ENTRYPOINT and CMD when the definition sets neither, and entryPoint drops the image's CMD", async () => {
    const plain = await runToEnd({});
    expect(plain.stdout).toBe("from-image-cmd\n");
    expect(plain.exit.exitCode).toBe(0);
    const entry = await runToEnd({ entryPoint: ["/bin/echo", "only-entrypoint"], workingDirectory: "/tmp", user: "0:0" });
    expect(entry.stdout).toBe("only-entrypoint\n");
  });

  it("bind mounts the task's volume read-write and a file read-only", async () => {
    const vol = join(base, "volume");
    await mkdir(vol, { recursive: true });
    await chown(vol, HOST_ID_BASE + 1000, HOST_ID_BASE + 1000);
    await writeFile(join(base, "hosts"), "127.0.0.1 localhost\n");
    mounts = [
      { source: vol, destination: "/data" },
      { source: join(base, "hosts"), destination: "/etc/hosts", readonly: true },
    ];
    const r = await runToEnd({ readonlyRootFilesystem: true, command: ["echo written > /data/out.txt; cat /etc/hosts; echo x >> /etc/hosts; echo rc=$?"] });
    expect(r.exit).toEqual({ exitCode: 0 });
    expect(r.stdout).toBe("127.0.0.1 localhost\nrc=1\n");
    expect(await readFile(join(vol, "out.txt"), "utf8")).toBe("written\n");
    expect((await stat(join(vol, "out.txt"))).uid).toBe(HOST_ID_BASE + 1000); // uid 1000 inside is an unprivileged host uid
    expect(await readFile(join(base, "hosts"), "utf8")).toBe("127.0.0.1 localhost\n");
  });

  it("a read-only root file system refuses writes", async () => {
    const r = await runToEnd({ readonlyRootFilesystem: true, command: ["touch /home/app/x; echo rc=$?"] });
    expect(r.stdout).toBe("rc=1\n");
    expect(r.stderr).toMatch(/Read-only file system/);
    const rw = await runToEnd({ command: ["touch /home/app/x; echo rc=$?"] });
    expect(rw.stdout).toBe("rc=0\n");
  });

  it("the container sees only its own processes", async () => {
    const r = await runToEnd({ command: ["ps -o pid,comm | grep -v PID"] });
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    expect(lines.map((l) => l[0])).toContain("1");
    expect(lines.length).toBeLessThanOrEqual(3); // sh, ps (and grep)
  });

  it.skipIf(!detection.available || !detection.host.initBinary)("initProcessEnabled runs an init as PID 1", async () => {
    const r = await runToEnd({ linuxParameters: { initProcessEnabled: true }, command: ["cat /proc/1/comm; echo $$"] });
    expect(r.stdout).toBe("init\n2\n"); // /dev/init is PID 1, the command PID 2
  });

  it("sets nofile to Fargate's 65535, lowered to the host's hard limit", async () => {
    const r = await runToEnd({ command: ["ulimit -n; ulimit -Hn"] });
    const expected = Math.min(65535, host.hardLimits.nofile ?? 65535);
    expect(r.stdout).toBe(`${expected}\n${expected}\n`);
  });

  it("applies the memory limit, the task's CPU quota and a pids limit where the host enforces them", async () => {
    if (!host.limits.memory.enforced) return; // the reason is in host.limits.memory.reason
    const { id, c, out } = await start({ memory: 64, command: ["echo up; sleep 30"] }, { cpu: 512, memory: 512 }, 77);
    const v2 = host.cgroupMode === "v2";
    const memFile = v2 ? join("/sys/fs/cgroup/localfargate-test", id, "memory.max") : join("/sys/fs/cgroup/memory/localfargate-test", id, "memory.limit_in_bytes");
    await waitFor(() => exists(memFile), memFile);
    expect((await readFile(memFile, "utf8")).trim()).toBe(String(64 * 1024 * 1024));
    if (host.limits.cpu.enforced) {
      const cpu = v2
        ? (await readFile(join("/sys/fs/cgroup/localfargate-test", id, "cpu.max"), "utf8")).trim()
        : (await readFile(join("/sys/fs/cgroup/cpu/localfargate-test", id, "cpu.cfs_quota_us"), "utf8")).trim();
      expect(cpu.split(" ")[0]).toBe("50000");
    }
    if (host.limits.pids.enforced) {
      const pids = v2 ? join("/sys/fs/cgroup/localfargate-test", id, "pids.max") : join("/sys/fs/cgroup/pids/localfargate-test", id, "pids.max");
      expect((await readFile(pids, "utf8")).trim()).toBe("77");
    }
    await crun.kill(id, "SIGKILL");
    expect((await c.exited).exitCode).toBe(137);
    expect(await out).toBe("up\n");
    await expectGone(id, c);
  });

  it("a container that outgrows its memory limit is killed by the kernel", async () => {
    const swaps = (await readFile("/proc/swaps", "utf8")).trim().split("\n").length;
    if (!host.limits.memory.enforced || swaps > 1) return; // not enforced here, or the excess would go to swap
    // busybox tail buffers /dev/zero (no newline) until the OOM killer ends it
    const r = await runToEnd({ memory: 32, command: ["tail /dev/zero; echo rc=$?"] });
    expect(r.stdout).toBe("rc=137\n");
  });

  it("the container sees its own root file system, not the host's", async () => {
    const r = await runToEnd({ command: ["ls /"] });
    expect(r.stdout.trim().split(/\s+/).sort()).toEqual((await readdir(rootfs)).sort());
    expect(r.stdout).not.toMatch(/\b(usr|var|work|root)\b/);
  });

  it("exec runs as the container's user; kill delivers SIGTERM and the exit code is reported; nothing is left", async () => {
    const { id, c, out } = await start({ command: ["trap 'echo got-term; exit 143' TERM; echo up; while true; do sleep 1; done"] });
    await waitFor(async () => (await crun.list()).includes(id), "the container to be listed");
    let ex = await crun.exec(id, ["id"], { user: { uid: 1000, gid: 1000 }, timeoutMs: 20_000 });
    for (let i = 0; i < 40 && ex.exitCode !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      ex = await crun.exec(id, ["id"], { user: { uid: 1000, gid: 1000 }, timeoutMs: 20_000 });
    }
    expect(ex.exitCode).toBe(0);
    expect(ex.output).toMatch(/^uid=1000\(app\) gid=1000\(app\)/);
    const failing = await crun.exec(id, ["sh", "-c", "exit 3"], { user: { uid: 1000, gid: 1000 }, timeoutMs: 20_000 });
    expect(failing.exitCode).toBe(3);
    const hung = await crun.exec(id, ["sh", "-c", "echo started; exec sleep 300"], { user: { uid: 1000, gid: 1000 }, timeoutMs: 1000 });
    expect(hung).toEqual({ exitCode: null, output: "started\n", timedOut: true });
    const left = await crun.exec(id, ["ps", "-o", "args"], { user: { uid: 1000, gid: 1000 }, timeoutMs: 20_000 });
    expect(left.output).toMatch(/while true/); // ps -o args lists the command lines
    expect(left.output).not.toMatch(/sleep 300/);
    expect(await crun.kill(id, "SIGTERM")).toBe(true);
    const exit = await c.exited;
    expect(exit.exitCode).toBe(143);
    expect(await out).toBe("up\ngot-term\n");
    expect(await crun.kill(id, "SIGTERM")).toBe(false);
    await expectGone(id, c);
    expect(await readdir(crun.stateDir)).toEqual([]);
  });

  it("exec with a process spec file gives the command the container's environment without putting it on crun's command line", async () => {
    const secret = "exec-secret-" + "5be1f0";
    const { id, c, s: built } = await start({ command: ["echo up; while true; do sleep 1; done"], environment: [{ name: "SECRET", value: secret }] });
    await waitFor(async () => (await crun.list()).includes(id), "the container to be listed");
    const file = join(base, "bundles", id, "exec-process.json");
    const cmdlines: string[] = [];
    const exec = crun.exec(id, ["sh", "-c", 'sleep 0.5; test "$SECRET" = ' + secret + ' && test "$(id -u)" = 1000 && exit 7'], {
      user: { uid: 1000, gid: 1000 },
      timeoutMs: 20_000,
      process: { spec: built.config.process, file },
    });
    await new Promise((r) => setTimeout(r, 200));
    for (const pid of await readdir("/proc")) {
      if (!/^\d+$/.test(pid)) continue;
      const line = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (line.includes(id)) cmdlines.push(line);
    }
    expect((await exec).exitCode).toBe(7);
    expect(cmdlines.some((l) => l.includes("--process="))).toBe(true);
    expect(cmdlines.some((l) => l.includes(secret))).toBe(false);
    expect(await stat(file).catch(() => undefined)).toBeUndefined();
    await crun.kill(id, "SIGKILL");
    await c.exited;
  });

  it("reports crun's error when the container cannot start, apart from the container's output", async () => {
    const r = await runToEnd({ entryPoint: ["/bin/no-such-program"] });
    expect(r.exit.exitCode).not.toBe(0);
    expect(r.exit.startError).toMatch(/no-such-program/);
  });
});

describe("host detection helpers", () => {
  const m = (mountPoint: string, fsType: string) => ({ mountPoint, fsType, source: fsType });
  it("tells v2, v1, hybrid and no cgroups apart", () => {
    expect(cgroupModeOf([m("/sys/fs/cgroup", "cgroup2")])).toBe("v2");
    expect(cgroupModeOf([m("/sys/fs/cgroup", "tmpfs"), m("/sys/fs/cgroup/memory", "cgroup"), m("/sys/fs/cgroup/cpu,cpuacct", "cgroup")])).toBe("v1");
    expect(cgroupModeOf([m("/sys/fs/cgroup", "tmpfs"), m("/sys/fs/cgroup/memory", "cgroup"), m("/sys/fs/cgroup/unified", "cgroup2")])).toBe("hybrid");
    expect(cgroupModeOf([m("/", "ext4")])).toBe("none");
  });
  it("reads hard limits from /proc/<pid>/limits, leaving out unlimited ones", () => {
    const text = [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max cpu time              unlimited            unlimited            seconds   ",
      "Max processes             96367                96367                processes ",
      "Max open files            1024                 20000                files     ",
      "Max realtime timeout      unlimited            unlimited            us        ",
    ].join("\n");
    expect(parseHardLimits(text)).toEqual({ nproc: 96367, nofile: 20000 });
  });
});

describe("Crun refuses what it must not pass to crun", () => {
  const fakeHost: CrunHost = {
    crun: "/nonexistent/crun",
    cgroupMode: "v2",
    hybridWorkaround: false,
    hardLimits: {},
    limits: { memory: { enforced: true, reason: "" }, cpu: { enforced: true, reason: "" }, pids: { enforced: true, reason: "" }, nofile: { enforced: true, reason: "" } },
  };
  const c = new Crun(fakeHost, "/nonexistent/state");
  it("container ids that are not a plain name", async () => {
    for (const bad of ["", "../x", "-rf", "a/b", "x".repeat(200), "a b"]) {
      await expect(c.run(bad, "/nonexistent/bundle", {} as never)).rejects.toThrow(/invalid container id/);
      await expect(c.kill(bad, "SIGTERM")).rejects.toThrow(/invalid container id/);
      await expect(c.delete(bad)).rejects.toThrow(/invalid container id/);
    }
  });
  it("an exec without a command and cgroup paths that leave the hierarchy", async () => {
    await expect(c.exec("ok", [], { user: { uid: 0, gid: 0 }, timeoutMs: 1000 })).rejects.toThrow(/needs a command/);
    for (const bad of ["/../etc", "relative", "/a/./b", "/a//b", "/"]) await expect(c.removeCgroup(bad)).rejects.toThrow(/invalid cgroup path/);
  });
});
