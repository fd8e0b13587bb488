import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TaskProcesses, type ContainerSpec, type ContainerState, type OutputStream } from "./containers.ts";
import { HealthMonitor, healthCheckSpec, probeArgv, type HealthStatus } from "./health-check.ts";
import type { ContainerLauncher } from "./container-launcher.ts";
import { HostLauncher } from "./host-launcher.ts";

const DEADLINE_MS = 60_000; // a process starts in seconds on a loaded host

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const end = performance.now() + DEADLINE_MS;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const fast = (command: string[], over: Partial<ReturnType<typeof healthCheckSpec>> = {}) => ({
  ...healthCheckSpec({ command }),
  intervalSeconds: 0.05,
  timeoutSeconds: 2,
  ...over,
});

describe("probeArgv", () => {
  it("runs CMD as given and CMD-SHELL through /bin/sh -c; anything else is no command", () => {
    expect(probeArgv(["CMD", "curl", "-f", "http://localhost/"])).toEqual(["curl", "-f", "http://localhost/"]);
    expect(probeArgv(["CMD-SHELL", "test -f ready || exit 1"])).toEqual(["/bin/sh", "-c", "test -f ready || exit 1"]);
    expect(probeArgv(["NONE"])).toBeUndefined();
    expect(probeArgv(["CMD"])).toBeUndefined();
    expect(probeArgv(["curl", "x"])).toBeUndefined();
  });

  it("applies ECS's defaults: interval 30 s, timeout 5 s, 3 retries, no start period", () => {
    expect(healthCheckSpec({ command: ["CMD", "true"] })).toEqual({ command: ["CMD", "true"], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 0 });
  });
});

describe("HostLauncher.exec (health checks of host processes)", () => {
  const idle = { name: "main", essential: true, environment: { ONLY: "this" }, command: ["sleep", "60"] };

  async function running(dir: string): Promise<HostLauncher> {
    const launcher = new HostLauncher({ volumePath: dir, baseEnv: {} });
    const r = await launcher.start(idle, { stdout: 1, stderr: 2 });
    expect(r.ok).toBe(true);
    return launcher;
  }

  it("runs in the container's directory and environment only, and answers the exit code", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lf-exec-"));
    const launcher = await running(dir);
    try {
      expect(await launcher.exec("main", ["sh", "-c", `test "$(pwd)" = '${dir}' && test "$ONLY" = this && test -z "$HOME" && exit 7`], 5000)).toBe(7);
    } finally {
      launcher.signal("main", "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("kills a command that outlives its timeout, with what it started, and answers null", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lf-exec-"));
    const launcher = await running(dir);
    try {
      expect(await launcher.exec("main", ["sh", "-c", "sleep 30 & echo $! > child; wait"], 300)).toBeNull();
      const { readFileSync } = await import("node:fs");
      const child = Number(readFileSync(join(dir, "child"), "utf8"));
      // gone, or a zombie where nothing reaps orphans
      const gone = () => {
        try {
          const stat = readFileSync(`/proc/${child}/stat`, "utf8");
          return /^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2));
        } catch {
          return true;
        }
      };
      await waitFor(gone, "the background child to be killed");
    } finally {
      launcher.signal("main", "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("answers null for a program that does not exist", async () => {
    const dir = await mkdtemp(join(tmpdir(), "lf-exec-"));
    const launcher = await running(dir);
    try {
      expect(await launcher.exec("main", ["no-such-program-here"], 1000)).toBeNull();
    } finally {
      launcher.signal("main", "SIGKILL");
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("HealthMonitor", () => {
  function monitor(results: number[], over: Partial<ReturnType<typeof healthCheckSpec>> = {}, now = () => 0) {
    const seen: HealthStatus[] = [];
    let calls = 0;
    const m = new HealthMonitor({
      spec: fast(["CMD", "probe"], over),
      exec: async () => results[Math.min(calls++, results.length - 1)]!,
      realNowMs: now,
      onChange: (s) => seen.push(s),
    });
    return { m, seen, calls: () => calls };
  }

  it("turns UNHEALTHY only after `retries` consecutive failures, and HEALTHY again after a success", async () => {
    const r = monitor([1, 1, 0, 1, 1, 1], { retries: 3 });
    r.m.start();
    await waitFor(() => r.seen.includes("UNHEALTHY"), "UNHEALTHY");
    r.m.stop();
    // two failures were not enough; the success reset the count; three more made it UNHEALTHY
    expect(r.seen).toEqual(["HEALTHY", "UNHEALTHY"]);
    expect(r.calls()).toBe(6);
  });

  it("does not count failures during the start period, until a probe has succeeded", async () => {
    let now = 0;
    const r = monitor([1, 1, 1, 1, 1], { retries: 1, startPeriodSeconds: 100 }, () => now);
    r.m.start();
    await waitFor(() => r.calls() >= 3, "three probes");
    expect(r.m.status).toBe("UNKNOWN");
    now = 100_001;
    await waitFor(() => r.m.status === "UNHEALTHY", "UNHEALTHY once the start period is over");
    r.m.stop();
  });

  it("counts failures inside the start period once a probe has succeeded", async () => {
    const r = monitor([0, 1], { retries: 1, startPeriodSeconds: 100 });
    r.m.start();
    await waitFor(() => r.seen.length === 2, "HEALTHY then UNHEALTHY");
    r.m.stop();
    expect(r.seen).toEqual(["HEALTHY", "UNHEALTHY"]);
  });

  it("counts a probe that cannot run or times out as a failure", async () => {
    const seen: HealthStatus[] = [];
    const m = new HealthMonitor({ spec: fast(["CMD", "x"], { retries: 1 }), exec: () => Promise.reject(new Error("timeout")), realNowMs: () => 0, onChange: (s) => seen.push(s) });
    m.start();
    await waitFor(() => seen.length > 0, "a verdict");
    m.stop();
    expect(seen).toEqual(["UNHEALTHY"]);
  });
});

describe("TaskProcesses with health checks", () => {
  let vol: string;
  let root: string;
  let tasks: TaskProcesses[];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-health-"));
    vol = join(root, "mnt");
    await mkdir(vol, { recursive: true });
    tasks = [];
  });
  afterEach(async () => {
    await Promise.all(tasks.map((t) => t.stop("test cleanup")));
    await rm(root, { recursive: true, force: true });
  });

  /** exec: a launcher that starts host processes but runs health checks through this function. */
  function run(containers: ContainerSpec[], exec?: ContainerLauncher["exec"]) {
    const host = new HostLauncher({ volumePath: vol, baseEnv: {} });
    const launcher: ContainerLauncher | undefined = exec && { runtime: "host", start: (s, o) => host.start(s, o), signal: (n, sig) => host.signal(n, sig), exec };
    const changes: ContainerState[] = [];
    const output: { container: string; stream: OutputStream; text: string }[] = [];
    let t = 1000;
    const task = new TaskProcesses({
      containers,
      volumePath: vol,
      baseEnv: {},
      now: () => (t += 1),
      events: { onContainerChange: (s) => changes.push(s), onAllStopped: () => undefined },
      output: { append: (container, stream, chunk) => output.push({ container, stream, text: chunk.toString() }) },
      ...(launcher ? { launcher } : {}),
    });
    tasks.push(task);
    return { task, changes, output, state: (n: string) => task.states().find((s) => s.name === n)! };
  }

  const c = (name: string, over: Partial<ContainerSpec> = {}): ContainerSpec => ({ name, essential: true, environment: {}, ...over });

  it("runs the check in the container's working directory and environment, and reports HEALTHY", async () => {
    const r = run([
      c("web", {
        workingDirectory: "app",
        environment: { READY_FILE: "ready" },
        command: ["sh", "-c", "sleep 0.2; touch ready; exec sleep 60"],
        healthCheck: fast(["CMD-SHELL", 'test -f "$READY_FILE"'], { retries: 10, startPeriodSeconds: 60 }),
      }),
    ]);
    await r.task.start();
    expect(r.state("web").healthStatus).toBe("UNKNOWN");
    await waitFor(() => r.state("web").healthStatus === "HEALTHY", "HEALTHY");
    expect(r.changes.map((x) => `${x.lastStatus}/${x.healthStatus}`)).toEqual(["RUNNING/UNKNOWN", "RUNNING/HEALTHY"]);
  });

  it("runs the check through the launcher's exec (a container runtime's) with the container's name and argv", async () => {
    const calls: string[] = [];
    const r = run([c("web", { healthCheck: fast(["CMD-SHELL", "curl -f localhost"], { timeoutSeconds: 3 }) })], async (name, argv, timeoutMs) => {
      calls.push(`${name} ${argv.join(" ")} ${timeoutMs}`);
      return 0;
    });
    await r.task.start();
    await waitFor(() => r.state("web").healthStatus === "HEALTHY", "HEALTHY");
    expect(calls[0]).toBe("web /bin/sh -c curl -f localhost 3000");
  });

  it("reports UNHEALTHY for a failing check and keeps the container running", async () => {
    const r = run([c("web", { healthCheck: fast(["CMD", "false"], { retries: 2 }) })]);
    await r.task.start();
    await waitFor(() => r.state("web").healthStatus === "UNHEALTHY", "UNHEALTHY");
    expect(r.state("web").lastStatus).toBe("RUNNING");
  });

  it("dependsOn HEALTHY starts the dependent only once the dependency is HEALTHY", async () => {
    const r = run([
      c("app", { dependsOn: [{ containerName: "db", condition: "HEALTHY" }], command: ["sh", "-c", "test -f db.ready && echo saw-ready > app.out; exec sleep 60"] }),
      c("db", { command: ["sh", "-c", "sleep 0.3; touch db.ready; exec sleep 60"], healthCheck: fast(["CMD-SHELL", "test -f db.ready"], { retries: 10, startPeriodSeconds: 60 }) }),
    ]);
    await r.task.start();
    expect(r.state("app").lastStatus).toBe("PENDING");
    await waitFor(() => r.state("app").lastStatus === "RUNNING", "app to start");
    const order = r.changes.map((x) => `${x.name}:${x.lastStatus}/${x.healthStatus ?? "-"}`);
    expect(order.indexOf("db:RUNNING/HEALTHY")).toBeLessThan(order.indexOf("app:RUNNING/-"));
  });

  it("dependsOn HEALTHY on a dependency that exits before it is healthy never starts the dependent", async () => {
    const r = run([
      c("app", { dependsOn: [{ containerName: "db", condition: "HEALTHY" }] }),
      c("db", { essential: false, command: ["sh", "-c", "sleep 0.2; exit 2"], healthCheck: fast(["CMD", "false"], { intervalSeconds: 30 }) }),
    ]);
    await r.task.start();
    await waitFor(() => r.state("app").lastStatus === "STOPPED", "app to be given up");
    expect(r.state("app").startedAt).toBeUndefined();
    expect(r.state("app").reason).toContain("did not become healthy");
  });

  it("sends stdout and stderr to the output sink, each on its stream", async () => {
    const r = run([c("main", { command: ["sh", "-c", "echo to-out; echo to-err >&2"] })]);
    await r.task.start();
    await waitFor(() => r.state("main").lastStatus === "STOPPED" && r.output.length >= 2, "the output");
    expect(
      r.output
        .filter((o) => o.stream === "stdout")
        .map((o) => o.text)
        .join(""),
    ).toBe("to-out\n");
    expect(
      r.output
        .filter((o) => o.stream === "stderr")
        .map((o) => o.text)
        .join(""),
    ).toBe("to-err\n");
  });
});
