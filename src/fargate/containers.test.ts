import { chmodSync, chownSync, existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ESSENTIAL_CONTAINER_EXITED,
  resolveWorkingDirectory,
  TaskProcesses,
  type AllStoppedSummary,
  type ContainerSpec,
  type ContainerState,
  type TaskProcessesOptions,
} from "./containers.ts";
import type { ContainerLauncher } from "./container-launcher.ts";

const DEADLINE_MS = 60_000; // a process starts in seconds on a loaded host

async function waitFor(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = performance.now() + DEADLINE_MS;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Alive and not a zombie (an orphan's zombie may linger where PID 1 does not reap). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    if (existsSync("/proc/self/stat")) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

function c(name: string, over: Partial<ContainerSpec> = {}): ContainerSpec {
  return { name, essential: true, environment: {}, ...over };
}

const sh = (script: string): Partial<ContainerSpec> => ({ command: ["sh", "-c", script] });

describe("TaskProcesses", () => {
  let root: string;
  let vol: string;
  let tasks: TaskProcesses[];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-containers-"));
    vol = join(root, "vol-0123456789abcdef0", "mnt");
    await mkdir(vol, { recursive: true });
    tasks = [];
  });
  afterEach(async () => {
    await Promise.all(tasks.map((t) => t.stop("test cleanup")));
    await rm(root, { recursive: true, force: true });
  });

  function run(containers: ContainerSpec[], baseEnv: Record<string, string> = {}, extra: Partial<TaskProcessesOptions> = {}) {
    const changes: ContainerState[] = [];
    let summary: AllStoppedSummary | undefined;
    let allStoppedCalls = 0;
    let t = 1_000;
    const task = new TaskProcesses({
      containers,
      volumePath: vol,
      baseEnv,
      now: () => (t += 1),
      events: {
        onContainerChange: (s) => changes.push(s),
        onAllStopped: (s) => {
          allStoppedCalls++;
          summary = s;
        },
      },
      ...extra,
    });
    tasks.push(task);
    const state = (name: string) => task.states().find((s) => s.name === name)!;
    return {
      task,
      changes,
      state,
      summary: () => summary,
      allStoppedCalls: () => allStoppedCalls,
      waitStopped: (name: string) => waitFor(() => state(name).lastStatus === "STOPPED", `${name} to stop`),
      waitAllStopped: () => waitFor(() => summary !== undefined, "onAllStopped"),
    };
  }

  it("stops every other container when an essential container exits", async () => {
    const r = run([
      c("side", { essential: false, ...sh("sleep 60 & echo $! > pid.tmp; mv pid.tmp side-child.pid; wait") }),
      c("other", { essential: false }), // idle
      c("main", sh("while [ ! -f side-child.pid ]; do sleep 0.02; done; exit 3")),
    ]);
    await r.task.start();
    await r.waitAllStopped();
    expect(r.summary()).toEqual({ essentialExited: "main", reason: ESSENTIAL_CONTAINER_EXITED });
    expect(r.allStoppedCalls()).toBe(1);
    expect(r.state("main")).toMatchObject({ lastStatus: "STOPPED", exitCode: 3 });
    expect(r.state("side")).toMatchObject({ lastStatus: "STOPPED", exitCode: 143 });
    expect(r.state("other")).toMatchObject({ lastStatus: "STOPPED", exitCode: 143 });
    // The whole process group went: sh's background child too.
    const grandchild = Number(await readFile(join(vol, "side-child.pid"), "utf8"));
    expect(grandchild).toBeGreaterThan(1);
    await waitFor(() => !isAlive(grandchild), "the sh -c child to die");
    for (const s of r.task.states()) {
      expect(s.startedAt).toBeTypeOf("number");
      expect(s.stoppedAt!).toBeGreaterThan(s.startedAt!);
    }
  });

  it("exec runs a command in the container's environment and working directory, with its exit code", async () => {
    const r = run([c("main", { workingDirectory: "work", environment: { MARK: "m1" } })]);
    await r.task.start();
    expect(await r.task.exec("main", ["sh", "-c", 'test "$MARK" = m1 && pwd > where.txt && exit 4'], 10_000)).toBe(4);
    expect(await readFile(join(vol, "work", "where.txt"), "utf8")).toBe(join(vol, "work") + "\n");
    // A command past its timeout is killed and has no exit code.
    expect(await r.task.exec("main", ["sh", "-c", "sleep 30"], 200)).toBeNull();
    // A program that does not exist, an unknown container: no exit code either.
    expect(await r.task.exec("main", ["/nonexistent/program"], 10_000)).toBeNull();
    expect(await r.task.exec("nope", ["true"], 10_000)).toBeNull();
    await r.task.stop("done");
    expect(await r.task.exec("main", ["true"], 10_000)).toBeNull();
  });

  it("asks its launcher to start and signal the containers", async () => {
    const calls: string[] = [];
    let finish!: (code: number) => void;
    const launcher: ContainerLauncher = {
      runtime: "crun",
      start: async (spec) => {
        calls.push(`start ${spec.name}`);
        if (spec.name === "broken") return { ok: false, reason: "CannotStartContainerError: no such image" };
        return { ok: true, container: { pid: 42, exited: new Promise((res) => (finish = (exitCode) => res({ exitCode }))) } };
      },
      signal: (name, sig) => {
        calls.push(`${sig} ${name}`);
        if (sig === "SIGTERM") finish(143);
      },
      exec: async (name, argv) => (calls.push(`exec ${name} ${argv.join(" ")}`), 0),
    };
    const r = run([c("main"), c("broken", { essential: false })], {}, { launcher });
    await r.task.start();
    expect(r.state("main")).toMatchObject({ lastStatus: "RUNNING", pid: 42 });
    expect(r.state("broken")).toMatchObject({ lastStatus: "STOPPED", reason: "CannotStartContainerError: no such image" });
    expect(r.state("broken").exitCode).toBeUndefined();
    expect(await r.task.exec("main", ["true"], 1000)).toBe(0);
    await r.task.stop("bye");
    expect(r.state("main")).toMatchObject({ lastStatus: "STOPPED", exitCode: 143 });
    expect(calls).toEqual(["start main", "start broken", "exec main true", "SIGTERM main"]);
  });

  it("keeps the task running when a non-essential container exits", async () => {
    const r = run([c("main"), c("job", { essential: false, ...sh("echo done > job.out; exit 0") })]);
    await r.task.start();
    await r.waitStopped("job");
    expect(r.state("job").exitCode).toBe(0);
    expect(await readFile(join(vol, "job.out"), "utf8")).toBe("done\n");
    expect(r.state("main").lastStatus).toBe("RUNNING");
    expect(isAlive(r.state("main").pid!)).toBe(true);
    expect(r.summary()).toBeUndefined();

    await r.task.stop("Task stopped by user");
    expect(r.summary()).toEqual({ reason: "Task stopped by user" });
    expect(r.state("main")).toMatchObject({ lastStatus: "STOPPED", exitCode: 143 });
  });

  it("runs an idle container (no entryPoint, no command) as a real process until stopped", async () => {
    const r = run([c("idle")]);
    await r.task.start();
    const s = r.state("idle");
    expect(s.lastStatus).toBe("RUNNING");
    expect(s.pid).toBeTypeOf("number");
    expect(isAlive(s.pid!)).toBe(true);
    await r.task.stop();
    expect(r.state("idle")).toMatchObject({ lastStatus: "STOPPED", exitCode: 143 });
    expect(isAlive(s.pid!)).toBe(false);
    expect(r.changes.map((x) => `${x.name}:${x.lastStatus}`)).toEqual(["idle:RUNNING", "idle:STOPPED"]);
  });

  it("dependsOn START: the dependent is spawned after its dependency, both by the time start() resolves", async () => {
    const r = run([c("app", { dependsOn: [{ containerName: "db", condition: "START" }] }), c("db"), c("cache", { dependsOn: [{ containerName: "db", condition: "HEALTHY" }] })]);
    await r.task.start();
    expect(r.task.states().map((s) => s.lastStatus)).toEqual(["RUNNING", "RUNNING", "RUNNING"]);
    const order = r.changes.filter((x) => x.lastStatus === "RUNNING").map((x) => x.name);
    expect(order.indexOf("db")).toBeLessThan(order.indexOf("app"));
    expect(order.indexOf("db")).toBeLessThan(order.indexOf("cache"));
  });

  it("dependsOn COMPLETE waits for the dependency to exit with any code", async () => {
    const r = run([
      c("main"),
      c("migrate", { essential: false, ...sh("sleep 0.3; echo migrated > migrate.done; exit 5") }),
      c("app", {
        essential: false,
        dependsOn: [{ containerName: "migrate", condition: "COMPLETE" }],
        ...sh("if [ -f migrate.done ]; then echo ok > app.result; else echo early > app.result; fi"),
      }),
    ]);
    await r.task.start();
    expect(r.state("app").lastStatus).toBe("PENDING"); // start() does not wait for it
    await r.waitStopped("app");
    expect(r.state("migrate").exitCode).toBe(5);
    expect(await readFile(join(vol, "app.result"), "utf8")).toBe("ok\n");
    expect(r.state("app").startedAt!).toBeGreaterThanOrEqual(r.state("migrate").stoppedAt!);
    expect(r.state("main").lastStatus).toBe("RUNNING");
  });

  it("dependsOn SUCCESS starts the dependent after exit 0", async () => {
    const r = run([
      c("main"),
      c("init", { essential: false, ...sh("sleep 0.2; echo ready > init.done") }),
      c("app", {
        essential: false,
        dependsOn: [{ containerName: "init", condition: "SUCCESS" }],
        ...sh("if [ -f init.done ]; then echo ok > app.result; else echo early > app.result; fi"),
      }),
    ]);
    await r.task.start();
    await r.waitStopped("app");
    expect(r.state("init").exitCode).toBe(0);
    expect(r.state("app").exitCode).toBe(0);
    expect(await readFile(join(vol, "app.result"), "utf8")).toBe("ok\n");
  });

  it("dependsOn SUCCESS: a non-zero exit means the dependent never starts and the task stops", async () => {
    const r = run([
      c("sidecar", { essential: false }),
      c("init", { essential: false, ...sh("exit 1") }),
      c("app", { dependsOn: [{ containerName: "init", condition: "SUCCESS" }], ...sh("echo ran > app.ran") }),
    ]);
    await r.task.start();
    await r.waitAllStopped();
    expect(r.state("init").exitCode).toBe(1);
    const app = r.state("app");
    expect(app.lastStatus).toBe("STOPPED");
    expect(app.startedAt).toBeUndefined();
    expect(app.exitCode).toBeUndefined();
    expect(app.reason).toMatch(/dependency \[init\] for target \[app\] as dependency did not exit successfully/);
    expect(existsSync(join(vol, "app.ran"))).toBe(false);
    expect(r.state("sidecar")).toMatchObject({ lastStatus: "STOPPED", exitCode: 143 });
    expect(r.summary()).toMatchObject({ dependencyFailed: "app" });
    expect(r.summary()!.reason).toMatch(/did not exit successfully/);
  });

  it("stops dependents before their dependencies", async () => {
    const r = run([
      c(
        "sidecar",
        sh("trap 'if [ -f app.stopped ]; then echo after > order.txt; else echo before > order.txt; fi; exit 0' TERM; " + "echo > sidecar.ready; while :; do sleep 0.05; done"),
      ),
      c("app", {
        dependsOn: [{ containerName: "sidecar", condition: "START" }],
        ...sh("trap 'echo > app.stopped; exit 0' TERM; echo > app.ready; while :; do sleep 0.05; done"),
      }),
    ]);
    await r.task.start();
    await waitFor(() => existsSync(join(vol, "sidecar.ready")) && existsSync(join(vol, "app.ready")), "traps to be set");
    await r.task.stop("done");
    expect(await readFile(join(vol, "order.txt"), "utf8")).toBe("after\n");
    expect(r.state("app").exitCode).toBe(0);
    expect(r.state("sidecar").exitCode).toBe(0);
  });

  it("SIGKILLs a container that ignores SIGTERM after its stopTimeout", async () => {
    const r = run([
      c("stubborn", {
        stopTimeoutSeconds: 1,
        ...sh("trap '' TERM; echo > trap.ready; while :; do sleep 0.05; done"),
      }),
    ]);
    await r.task.start();
    await waitFor(() => existsSync(join(vol, "trap.ready")), "the trap to be set");
    await r.task.stop();
    expect(r.state("stubborn")).toMatchObject({ lastStatus: "STOPPED", exitCode: 137 });
  });

  it("gives the process the task environment and working directory, and captures its output", async () => {
    const r = run(
      [
        // Both non-essential: neither one's exit may cut the other short.
        c("app", {
          essential: false,
          workingDirectory: "work/dir",
          environment: { FOO: "bar", OVER: "from-container" },
          ...sh('pwd > out.txt; echo "$FOO|$META|$OVER" >> out.txt; echo to-stdout; echo to-stderr >&2'),
        }),
        c("abs", { essential: false, workingDirectory: "/app", ...sh("pwd > out.txt") }),
      ],
      { META: "http://169.254.170.2/v4/x", OVER: "from-base" },
    );
    await r.task.start();
    await r.waitAllStopped();
    expect(r.state("app").exitCode).toBe(0);
    const out = (await readFile(join(vol, "work", "dir", "out.txt"), "utf8")).split("\n");
    expect(out[0]).toBe(join(vol, "work", "dir"));
    expect(out[1]).toBe("bar|http://169.254.170.2/v4/x|from-container");
    expect((await readFile(join(vol, "app", "out.txt"), "utf8")).trim()).toBe(join(vol, "app"));
    const log = await readFile(join(vol, "..", "logs", "app.log"), "utf8");
    expect(log).toContain("to-stdout");
    expect(log).toContain("to-stderr");
  });

  it("reports a program that cannot be started like ECS and stops the task", async () => {
    const r = run([c("side", { essential: false }), c("main", { entryPoint: ["/nonexistent/bin/prog"], command: ["--x"] })]);
    await r.task.start();
    await r.waitAllStopped();
    const main = r.state("main");
    expect(main.lastStatus).toBe("STOPPED");
    expect(main.exitCode).toBeUndefined();
    expect(main.pid).toBeUndefined();
    expect(main.reason).toMatch(/^CannotStartContainerError: .*"\/nonexistent\/bin\/prog": executable file not found/);
    expect(r.summary()).toEqual({ essentialExited: "main", reason: ESSENTIAL_CONTAINER_EXITED });
    expect(r.state("side")).toMatchObject({ lastStatus: "STOPPED", exitCode: 143 });
  });

  it("a dependent of a container that never started never starts", async () => {
    const r = run([c("main"), c("broken", { essential: false, command: ["no-such-program-lf"] }), c("app", { dependsOn: [{ containerName: "broken", condition: "COMPLETE" }] })]);
    await r.task.start();
    await r.waitAllStopped();
    expect(r.state("broken").reason).toMatch(/^CannotStartContainerError/);
    expect(r.state("app").reason).toMatch(/dependency will never start/);
    expect(r.state("app").startedAt).toBeUndefined();
    expect(r.state("main").exitCode).toBe(143);
  });

  it("refuses a working directory outside the volume", async () => {
    const r = run([c("main", { workingDirectory: "../../etc" })]);
    await r.task.start();
    await r.waitAllStopped();
    expect(r.state("main").reason).toMatch(/^CannotStartContainerError: .*outside the task volume/);
    expect(resolveWorkingDirectory(vol, join(vol, "x"))).toBe(join(vol, "x"));
    expect(resolveWorkingDirectory(vol, "/srv")).toBe(join(vol, "srv"));
    expect(() => resolveWorkingDirectory(vol, "a/../../..")).toThrow(/outside/);
  });

  it("stop() before start() stops everything without running anything", async () => {
    const r = run([c("a", sh("echo > ran")), c("b")]);
    await r.task.stop("never mind");
    await r.task.start();
    expect(r.task.states().every((s) => s.lastStatus === "STOPPED" && s.startedAt === undefined)).toBe(true);
    expect(r.summary()).toEqual({ reason: "never mind" });
    expect(existsSync(join(vol, "ran"))).toBe(false);
  });

  it("rejects unknown dependencies, cycles and duplicate names", () => {
    const events = { onContainerChange: () => {}, onAllStopped: () => {} };
    const mk = (containers: ContainerSpec[]) => new TaskProcesses({ containers, volumePath: vol, baseEnv: {}, events, now: () => 0 });
    expect(() => mk([c("a", { dependsOn: [{ containerName: "zz", condition: "START" }] })])).toThrow(/unknown container 'zz'/);
    expect(() => mk([c("a", { dependsOn: [{ containerName: "b", condition: "START" }] }), c("b", { dependsOn: [{ containerName: "a", condition: "START" }] })])).toThrow(/cycle/);
    expect(() => mk([c("a"), c("a")])).toThrow(/Duplicate/);
    expect(() => mk([c("../x")])).toThrow(/Invalid container name/);
  });

  it("sees files already on the volume (cwd is the volume root)", async () => {
    await writeFile(join(vol, "input.txt"), "42");
    const r = run([c("reader", sh("cat input.txt > copy.txt"))]);
    await r.task.start();
    await r.waitAllStopped();
    expect(await readFile(join(vol, "copy.txt"), "utf8")).toBe("42");
  });

  it("refuses a working directory reached through a symbolic link an earlier container planted", async () => {
    const outside = join(root, "outside");
    await mkdir(outside);
    const r = run([
      c("plant", { essential: false, ...sh(`ln -s ${outside} link`) }),
      c("main", { workingDirectory: "link/sub", dependsOn: [{ containerName: "plant", condition: "SUCCESS" }], ...sh("echo ran > ran.txt") }),
    ]);
    await r.task.start();
    await r.waitAllStopped();
    expect(r.state("plant").exitCode).toBe(0);
    expect(r.state("main").reason).toMatch(/^CannotStartContainerError: workingDirectory 'link' is a symbolic link/);
    expect(existsSync(join(outside, "sub"))).toBe(false);
  });

  it("opens every log before the first container runs, so a container cannot redirect a later one's log", async () => {
    const outside = join(root, "outside");
    await mkdir(outside);
    const logDir = join(vol, ".lf", "logs");
    const r = run(
      [
        c("evil", { essential: false, ...sh(`rm -rf .lf && ln -s ${outside} .lf`) }),
        c("victim", { dependsOn: [{ containerName: "evil", condition: "SUCCESS" }], ...sh("echo victim output") }),
      ],
      {},
      { logDir },
    );
    await r.task.start();
    await r.waitAllStopped();
    expect(r.state("evil").exitCode).toBe(0);
    expect(r.state("victim").exitCode).toBe(0);
    expect(existsSync(join(outside, "logs"))).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)("runs as the task's user, with no other groups, in directories it owns, and reports the pid", async () => {
    const user = { uid: 200_000 + 64_999, gid: 200_000 + 64_999 };
    chownSync(vol, user.uid, user.gid);
    chmodSync(vol, 0o700);
    const spawned: number[] = [];
    process.env.LF_SERVER_ONLY_VARIABLE = "server secret";
    try {
      const r = run(
        [c("main", { workingDirectory: "w/x", ...sh("id -u > uid; id -G > groups; env > env; touch mine") })],
        { TASK_VAR: "1" },
        { user, onSpawn: (pid) => spawned.push(pid) },
      );
      await r.task.start();
      await r.waitAllStopped();
      expect(r.state("main").exitCode).toBe(0);
      expect(spawned).toEqual([r.state("main").pid]);
    } finally {
      delete process.env.LF_SERVER_ONLY_VARIABLE;
    }
    const dir = join(vol, "w", "x");
    expect((await readFile(join(dir, "uid"), "utf8")).trim()).toBe(String(user.uid));
    expect((await readFile(join(dir, "groups"), "utf8")).trim()).toBe(String(user.gid));
    const env = await readFile(join(dir, "env"), "utf8");
    expect(env).toContain("TASK_VAR=1");
    expect(env).not.toContain("LF_SERVER_ONLY_VARIABLE");
    for (const d of [join(vol, "w"), dir]) expect(statSync(d).uid).toBe(user.uid);
    expect(statSync(join(dir, "mine")).uid).toBe(user.uid);
  });
});
