/**
 * The containers of one Fargate task (docs/ecs-fargate.md#containers): the ECS semantics, whatever
 * runs them. How a container's main process is started, signalled and entered is a
 * ContainerLauncher's (container-launcher.ts): host processes (host-launcher.ts, the default) or
 * OCI containers (runtime/oci-launcher.ts).
 *
 * ECS semantics kept here:
 *   - dependsOn: START waits until the dependency has started, COMPLETE until it has exited with
 *     any code, SUCCESS until it has exited 0, HEALTHY until its health check has passed (a
 *     dependency without a health check counts as healthy once started; an UNHEALTHY one keeps
 *     the dependent waiting, as on ECS). A dependency that can never be met (SUCCESS dependency
 *     exited non-zero, dependency never started, HEALTHY dependency exited before it was
 *     healthy) stops the dependent without starting it, and stops the task;
 *   - healthCheck: run inside the container on its schedule while it runs (health-check.ts),
 *     through the launcher's exec (a host process in the container's cwd and environment as the
 *     task's user, or `crun exec`); each change of healthStatus is reported like any container change;
 *   - when an essential container exits (or cannot start), every other container is stopped:
 *     "Essential container in task exited";
 *   - stopping: SIGTERM to the container, SIGKILL after its stopTimeout (default 30 s, at most
 *     120 s); containers are stopped in reverse dependency order (a container is signalled only
 *     once every container that depends on it has stopped), as the ECS agent does;
 *   - exit codes as Docker reports them: the process's code, or 128 + signal number (143 for
 *     SIGTERM, 137 for SIGKILL); a container that cannot be started has no exit code and a
 *     "CannotStartContainerError: …" reason, and counts as exited.
 * stdout and stderr of each container go to `output` when one is given (the task's encrypted
 * output store, task-output.ts), else to `<logDir>/<container>.log` (default
 * `<volumePath>/../logs`, beside the volume's mount, not inside it); every log file is opened
 * before the first container starts, so a container cannot redirect a later one's log.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ContainerLauncher, ContainerOutput, LaunchedContainer } from "./container-launcher.ts";
import { HealthMonitor, type HealthCheckSpec, type HealthStatus } from "./health-check.ts";
import { HostLauncher } from "./host-launcher.ts";
import { wallClockMs } from "../clock/clock.ts";

export { makeWorkingDirectory, resolveWorkingDirectory } from "./host-launcher.ts";

export type DependencyCondition = "START" | "COMPLETE" | "SUCCESS" | "HEALTHY";

export interface ContainerSpec {
  name: string;
  essential: boolean;
  entryPoint?: string[];
  command?: string[];
  environment: Record<string, string>;
  /** Relative to the volume root, unless it is an absolute path already inside the volume. */
  workingDirectory?: string;
  /** Seconds between SIGTERM and SIGKILL; default 30 (ECS default), at most 120. */
  stopTimeoutSeconds?: number;
  dependsOn?: { containerName: string; condition: DependencyCondition }[];
  healthCheck?: HealthCheckSpec;
}

export interface ContainerState {
  name: string;
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
  pid?: number;
  startedAt?: number;
  stoppedAt?: number;
  /** only for a container with a health check: UNKNOWN until its first verdict */
  healthStatus?: HealthStatus;
}

export type OutputStream = "stdout" | "stderr";

/** Where a container's output goes, chunk by chunk, as the process writes it. */
export interface ContainerOutputSink {
  append(container: string, stream: OutputStream, chunk: Buffer): void;
}

export interface AllStoppedSummary {
  /** Name of the essential container whose exit stopped the task. */
  essentialExited?: string;
  /** Name of the container whose dependencies could never be met, which stopped the task. */
  dependencyFailed?: string;
  /** Why the task was stopped: "Essential container in task exited", the dependency error, or stop(reason). */
  reason?: string;
}

export interface TaskProcessesEvents {
  onContainerChange(c: ContainerState): void;
  onAllStopped(summary: AllStoppedSummary): void;
}

export interface TaskProcessesOptions {
  containers: ContainerSpec[];
  volumePath: string;
  /** e.g. ECS_CONTAINER_METADATA_URI_V4; the container's environment overrides it. */
  baseEnv: Record<string, string>;
  events: TaskProcessesEvents;
  /** Timestamps (ms) for startedAt / stoppedAt: the service clock. */
  now: () => number;
  /** Where `<container>.log` files go; default `<volumePath>/../logs`. */
  logDir?: string;
  /** The unprivileged user the processes run as; default: the server's own user. */
  user?: { uid: number; gid: number };
  /** Called with the pid of each container's main process once it runs (the crash record). */
  onSpawn?: (pid: number) => void;
  /** Receives each container's stdout and stderr; without it they go to files in logDir. */
  output?: ContainerOutputSink;
  /** Wall-clock ms for health-check start periods (default: the real wall clock). */
  realNowMs?: () => number;
  /** What starts the containers (and runs health checks inside them); default: host processes (HostLauncher with volumePath, baseEnv and user). */
  launcher?: ContainerLauncher;
}

export const ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited";
export const DEFAULT_STOP_TIMEOUT_SECONDS = 30;
export const MAX_STOP_TIMEOUT_SECONDS = 120;
/** ECS container names: up to 255 letters, numbers, hyphens and underscores. */
const CONTAINER_NAME = /^[A-Za-z0-9_-]{1,255}$/;
const MAX_REASON_LENGTH = 1024;
interface Slot {
  spec: ContainerSpec;
  state: ContainerState;
  launched?: LaunchedContainer;
  spawning: boolean;
  termSent: boolean;
  killTimer?: NodeJS.Timeout;
  health?: HealthMonitor;
}

type DependencyVerdict = { kind: "met" } | { kind: "wait" } | { kind: "never"; reason: string };

function truncateReason(reason: string): string {
  return reason.length > MAX_REASON_LENGTH ? reason.slice(0, MAX_REASON_LENGTH - 3) + "..." : reason;
}

function validate(containers: ContainerSpec[]): void {
  if (containers.length === 0) throw new Error("A task needs at least one container");
  const names = new Set<string>();
  for (const c of containers) {
    if (!CONTAINER_NAME.test(c.name)) throw new Error(`Invalid container name '${c.name}'`);
    if (names.has(c.name)) throw new Error(`Duplicate container name '${c.name}'`);
    names.add(c.name);
  }
  const deps = new Map(containers.map((c) => [c.name, (c.dependsOn ?? []).map((d) => d.containerName)]));
  for (const c of containers) {
    for (const d of c.dependsOn ?? []) {
      if (!names.has(d.containerName)) {
        throw new Error(`Container '${c.name}' depends on unknown container '${d.containerName}'`);
      }
      if (!["START", "COMPLETE", "SUCCESS", "HEALTHY"].includes(d.condition)) {
        throw new Error(`Container '${c.name}': invalid dependency condition '${String(d.condition)}'`);
      }
    }
  }
  // Cycles would leave containers pending forever.
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    if (done.has(name)) return;
    if (visiting.has(name)) throw new Error(`Container dependency cycle: ${[...path, name].join(" -> ")}`);
    visiting.add(name);
    for (const d of deps.get(name) ?? []) visit(d, [...path, name]);
    visiting.delete(name);
    done.add(name);
  };
  for (const c of containers) visit(c.name, []);
}

export class TaskProcesses {
  private readonly slots: Slot[];
  private readonly byName: Map<string, Slot>;
  private readonly logDir: string;
  private readonly launcher: ContainerLauncher;
  private readonly logFds = new Map<string, number>();
  private logError: Error | undefined;
  private started = false;
  private stopping = false;
  private summary: AllStoppedSummary = {};
  private scheduling: Promise<void> = Promise.resolve();
  private allStoppedFired = false;
  private readonly allStopped: Promise<void>;
  private resolveAllStopped!: () => void;

  constructor(private readonly opts: TaskProcessesOptions) {
    validate(opts.containers);
    this.slots = opts.containers.map((spec) => ({
      spec,
      state: { name: spec.name, lastStatus: "PENDING" },
      spawning: false,
      termSent: false,
    }));
    this.byName = new Map(this.slots.map((s) => [s.spec.name, s]));
    this.logDir = opts.logDir ?? resolve(opts.volumePath, "..", "logs");
    this.launcher = opts.launcher ?? new HostLauncher({ volumePath: opts.volumePath, baseEnv: opts.baseEnv, ...(opts.user ? { user: opts.user } : {}) });
    this.allStopped = new Promise((r) => (this.resolveAllStopped = r));
  }

  /**
   * Spawn every container whose dependencies are met (repeatedly: a START dependency is met as soon
   * as its dependency is spawned). Containers waiting for a dependency to exit start later, on
   * their own. Resolves once no further container can start now.
   */
  start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      if (!this.opts.output) this.openLogs();
      this.schedule();
    }
    return this.scheduling;
  }

  /** SIGTERM every running container (dependents first), SIGKILL after its stopTimeout. Resolves when all exited. */
  stop(reason?: string): Promise<void> {
    this.beginStop(reason === undefined ? {} : { reason });
    return this.allStopped;
  }

  /** SIGKILL every container now (a server shutdown that cannot wait longer). */
  killNow(): void {
    for (const slot of this.slots) if (slot.state.lastStatus === "RUNNING") this.signalGroup(slot, "SIGKILL");
  }

  states(): ContainerState[] {
    return this.slots.map((s) => ({ ...s.state }));
  }

  // ---- starting ----

  private openLogs(): void {
    try {
      mkdirSync(this.logDir, { recursive: true });
      for (const slot of this.slots) this.logFds.set(slot.spec.name, openSync(join(this.logDir, `${slot.spec.name}.log`), "a"));
    } catch (e) {
      this.logError = e as Error;
    }
  }

  private closeLog(name: string): void {
    const fd = this.logFds.get(name);
    if (fd === undefined) return;
    this.logFds.delete(name);
    closeSync(fd);
  }

  private schedule(): void {
    this.scheduling = this.scheduling.then(() => this.startReady());
  }

  private async startReady(): Promise<void> {
    let progress = true;
    while (progress && !this.stopping) {
      progress = false;
      for (const slot of this.slots) {
        if (this.stopping) return;
        if (slot.state.lastStatus !== "PENDING" || slot.spawning) continue;
        const verdict = this.evaluateDependencies(slot);
        if (verdict.kind === "wait") continue;
        if (verdict.kind === "never") {
          this.setStopped(slot, { reason: truncateReason(verdict.reason) });
          this.beginStop({ dependencyFailed: slot.spec.name, reason: verdict.reason });
          return;
        }
        await this.spawnContainer(slot);
        progress = true;
      }
    }
  }

  private evaluateDependencies(slot: Slot): DependencyVerdict {
    let waiting = false;
    for (const dep of slot.spec.dependsOn ?? []) {
      const d = this.byName.get(dep.containerName)!.state;
      const stopped = d.lastStatus === "STOPPED";
      const neverStarted = stopped && d.startedAt === undefined;
      const target = slot.spec.name;
      if (neverStarted) {
        return {
          kind: "never",
          reason: `dependency graph: failed to resolve container ordering dependency [${d.name}] for target [${target}] because dependency will never start`,
        };
      }
      let met: boolean;
      switch (dep.condition) {
        case "START":
          met = d.startedAt !== undefined;
          break;
        case "HEALTHY":
          if (!this.byName.get(dep.containerName)!.spec.healthCheck) {
            met = d.startedAt !== undefined; // no health check: healthy once started
            break;
          }
          if (stopped && d.healthStatus !== "HEALTHY") {
            return {
              kind: "never",
              reason: `dependency graph: failed to resolve container ordering dependency [${d.name}] for target [${target}] as dependency did not become healthy.`,
            };
          }
          met = d.healthStatus === "HEALTHY";
          break;
        case "COMPLETE":
          met = stopped;
          break;
        case "SUCCESS":
          if (stopped && d.exitCode !== 0) {
            return {
              kind: "never",
              reason: `dependency graph: failed to resolve container ordering dependency [${d.name}] for target [${target}] as dependency did not exit successfully.`,
            };
          }
          met = stopped;
          break;
      }
      if (!met) waiting = true;
    }
    return waiting ? { kind: "wait" } : { kind: "met" };
  }

  private async spawnContainer(slot: Slot): Promise<void> {
    const spec = slot.spec;
    const fd = this.logFds.get(spec.name);
    const sink = this.opts.output;
    if (fd === undefined && !sink) {
      const why = this.logError?.message ?? `no log file for container '${spec.name}'`;
      this.setStopped(slot, { reason: truncateReason(`CannotStartContainerError: ${why}`) });
      this.afterExit(slot);
      return;
    }
    slot.spawning = true;
    const output: ContainerOutput = sink ? { onData: (stream, chunk) => sink.append(spec.name, stream, chunk) } : { stdout: fd!, stderr: fd! };
    const outcome = await this.launcher.start(spec, output).catch((e: unknown) => ({
      ok: false as const,
      reason: `CannotStartContainerError: ${e instanceof Error ? e.message : String(e)}`,
    }));
    this.closeLog(spec.name);
    slot.spawning = false;
    if (!outcome.ok) {
      this.setStopped(slot, { reason: truncateReason(outcome.reason) });
      this.afterExit(slot);
      return;
    }
    const launched = outcome.container;
    slot.launched = launched;
    void launched.exited.then((end) => this.onExit(slot, end.exitCode, end.reason));
    if (launched.pid !== undefined) this.opts.onSpawn?.(launched.pid);
    slot.state = { ...slot.state, lastStatus: "RUNNING", pid: launched.pid, startedAt: this.opts.now(), ...(spec.healthCheck ? { healthStatus: "UNKNOWN" as const } : {}) };
    this.emit(slot);
    if (spec.healthCheck && !this.stopping) this.startHealthCheck(slot, spec.healthCheck);
    if (this.stopping) this.pumpStop();
  }

  /**
   * Runs `argv` inside the running container `name` (health checks): its exit code, or null when
   * it timed out, could not run, or the container is not running.
   */
  exec(name: string, argv: string[], timeoutMs: number): Promise<number | null> {
    const slot = this.byName.get(name);
    if (!slot || slot.state.lastStatus !== "RUNNING") return Promise.resolve(null);
    return this.launcher.exec(name, argv, timeoutMs).catch(() => null);
  }

  private startHealthCheck(slot: Slot, spec: HealthCheckSpec): void {
    slot.health = new HealthMonitor({
      spec,
      exec: (argv, timeoutMs) => this.exec(slot.spec.name, argv, timeoutMs),
      realNowMs: this.opts.realNowMs ?? wallClockMs,
      onChange: (status) => {
        if (slot.state.lastStatus !== "RUNNING") return;
        slot.state = { ...slot.state, healthStatus: status };
        this.emit(slot);
        if (status === "HEALTHY" && !this.stopping) this.schedule(); // a HEALTHY dependency may now be met
      },
    });
    slot.health.start();
  }

  // ---- exiting and stopping ----

  private onExit(slot: Slot, exitCode: number | undefined, reason: string | undefined): void {
    if (slot.state.lastStatus === "STOPPED") return;
    if (slot.killTimer) clearTimeout(slot.killTimer);
    const extra: { exitCode?: number; reason?: string } = {};
    if (exitCode !== undefined) extra.exitCode = exitCode;
    if (reason !== undefined) extra.reason = truncateReason(reason);
    this.setStopped(slot, extra);
    this.afterExit(slot);
  }

  private setStopped(slot: Slot, extra: { exitCode?: number; reason?: string }): void {
    this.closeLog(slot.spec.name);
    slot.health?.stop();
    slot.state = { ...slot.state, lastStatus: "STOPPED", stoppedAt: this.opts.now(), ...extra };
    this.emit(slot);
  }

  private afterExit(slot: Slot): void {
    if (!this.stopping && slot.spec.essential) {
      this.beginStop({ essentialExited: slot.spec.name, reason: ESSENTIAL_CONTAINER_EXITED });
    } else if (this.stopping) {
      this.pumpStop();
    } else {
      this.schedule(); // a COMPLETE/SUCCESS dependency may now be met
    }
    this.checkAllStopped();
  }

  private beginStop(summary: AllStoppedSummary): void {
    if (this.stopping) return;
    this.stopping = true;
    this.summary = summary;
    for (const slot of this.slots) slot.health?.stop();
    for (const slot of this.slots) {
      if (slot.state.lastStatus === "PENDING" && !slot.spawning) this.setStopped(slot, {});
    }
    this.pumpStop();
    this.checkAllStopped();
  }

  /** Signal every running container none of whose dependents is still alive. */
  private pumpStop(): void {
    for (const slot of this.slots) {
      if (slot.state.lastStatus !== "RUNNING" || slot.termSent) continue;
      const blocked = this.slots.some((other) => other.state.lastStatus !== "STOPPED" && (other.spec.dependsOn ?? []).some((d) => d.containerName === slot.spec.name));
      if (blocked) continue;
      slot.termSent = true;
      this.signalGroup(slot, "SIGTERM");
      const seconds = Math.min(Math.max(slot.spec.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS, 0), MAX_STOP_TIMEOUT_SECONDS);
      slot.killTimer = setTimeout(() => this.signalGroup(slot, "SIGKILL"), seconds * 1000);
    }
  }

  private signalGroup(slot: Slot, signal: "SIGTERM" | "SIGKILL"): void {
    if (slot.launched) this.launcher.signal(slot.spec.name, signal);
  }

  private checkAllStopped(): void {
    if (this.allStoppedFired) return;
    if (!this.slots.every((s) => s.state.lastStatus === "STOPPED")) return;
    this.allStoppedFired = true;
    this.stopping = true;
    this.opts.events.onAllStopped({ ...this.summary });
    this.resolveAllStopped();
  }

  private emit(slot: Slot): void {
    this.opts.events.onContainerChange({ ...slot.state });
  }
}
