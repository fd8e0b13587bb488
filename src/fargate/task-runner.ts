/**
 * One task's life: PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING →
 * DEPROVISIONING → STOPPED, each transition persisted with the task's version incremented.
 * Storage is provisioned (KMS + driver) while PROVISIONING; containers are started in dependsOn
 * order while ACTIVATING; stopping sends SIGTERM, then SIGKILL after stopTimeout.
 */
import type { ContainerDefinition, Task } from "@aws-sdk/client-ecs";
import type { ServiceClock } from "../clock/clock.ts";
import type { EcsState, TaskRecord } from "../services/ecs/state.ts";
import { STOPPED_RETENTION_MS } from "../services/ecs/tasks.ts";
import { provisionStorage, releaseStorage, StorageFailure, type StorageDeps } from "./ephemeral-storage.ts";
import type { ContainerExit, ContainerLauncher, RunningContainer } from "./runtime.ts";

export interface RunnerDeps extends StorageDeps {
  state: EcsState;
  clock: ServiceClock;
  launcher: ContainerLauncher;
  /** ECS_CONTAINER_METADATA_URI_V4 for a container */
  metadataUri: (t: TaskRecord, container: string) => string;
}

export const DEFAULT_STOP_TIMEOUT = 30;

type CState = "PENDING" | "RUNNING" | "STOPPED";

export class TaskRunner {
  private wake!: () => void;
  private stopSignal: Promise<void>;
  private readonly procs = new Map<string, RunningContainer>();
  private readonly cstate = new Map<string, CState>();
  private readonly exits = new Map<string, ContainerExit>();
  private readonly starting = new Set<string>();
  private reachedRunning = false;
  private killed = false;
  private mountPath = "";
  readonly done: Promise<void>;

  constructor(private readonly deps: RunnerDeps, readonly t: TaskRecord) {
    this.stopSignal = new Promise((r) => (this.wake = r));
    for (const c of t.containerDefs) this.cstate.set(c.name!, "PENDING");
    this.done = this.run().catch((e) => {
      if (!this.killed) console.error(`[localfargate] task ${t.arn} failed unexpectedly:`, e);
    });
  }

  get stopping(): boolean {
    return this.t.task.desiredStatus === "STOPPED";
  }

  /** Marks the task to stop (desiredStatus STOPPED); the runner persists the transitions. */
  requestStop(stopCode: Task["stopCode"], reason: string): void {
    const task = this.t.task;
    if (task.desiredStatus === "STOPPED") return;
    task.desiredStatus = "STOPPED";
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    task.stoppingAt = this.deps.clock.now();
    this.wake();
  }

  private async transition(status: string, patch?: (task: Task, now: Date) => void): Promise<void> {
    const task = this.t.task;
    const now = this.deps.clock.now();
    task.lastStatus = status;
    patch?.(task, now);
    task.version = (task.version ?? 0) + 1;
    await this.deps.save(this.t);
    this.deps.state.emitTaskChange(this.t);
  }

  private container(name: string) {
    return this.t.task.containers!.find((c) => c.name === name)!;
  }

  private def(name: string): ContainerDefinition {
    return this.t.containerDefs.find((c) => c.name === name)!;
  }

  private async run(): Promise<void> {
    const t = this.t;
    // PROVISIONING: the ENI (simulated) and the encrypted ephemeral volume.
    let failure: string | undefined;
    if (!this.stopping) {
      try {
        this.mountPath = await provisionStorage(this.deps, t);
      } catch (e) {
        failure = e instanceof StorageFailure ? e.stoppedReason : `ResourceInitializationError: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    if (failure) this.requestStop("TaskFailedToStart", failure);
    if (!this.stopping) {
      await this.transition("PENDING", (task, now) => {
        task.connectivity = "CONNECTED";
        task.connectivityAt = now;
        const eni = task.attachments?.[0];
        if (eni) eni.status = "ATTACHED";
      });
    }
    if (!this.stopping) {
      await this.transition("ACTIVATING", (task, now) => {
        task.pullStartedAt = now;
        task.pullStoppedAt = now;
      });
      await this.startContainers();
    }
    if (!this.stopping) {
      this.reachedRunning = true;
      await this.transition("RUNNING", (task, now) => {
        task.startedAt = now;
      });
      // an init container may have exited while the others were starting
      if ([...this.cstate.values()].includes("PENDING")) this.afterChange();
    }
    await this.stopSignal;
    // Stopping.
    if (this.reachedRunning) await this.transition("DEACTIVATING");
    if (this.procs.size > 0 || this.reachedRunning) {
      await this.transition("STOPPING");
      await this.stopContainers();
    }
    await this.transition("DEPROVISIONING", (task, now) => {
      task.executionStoppedAt = now;
      for (const c of task.containers ?? []) if (c.lastStatus !== "STOPPED") c.lastStatus = "STOPPED";
    });
    await releaseStorage(this.deps, t);
    await this.transition("STOPPED", (task, now) => {
      task.stoppedAt = now;
      const eni = task.attachments?.[0];
      if (eni) eni.status = "DELETED";
      t.expiresAtMs = now.getTime() + STOPPED_RETENTION_MS;
    });
  }

  /** Server shutdown: ends the processes (short grace period) and destroys the volume, without recording anything. */
  async kill(): Promise<void> {
    this.killed = true;
    await Promise.all([...this.procs.values()].map((p) => p.stop(Math.min(2, DEFAULT_STOP_TIMEOUT)).catch(() => undefined)));
    const v = this.t.storage.volumeId;
    if (v && !this.t.storage.released) await this.deps.driver.destroy(v).catch(() => undefined);
    this.wake();
  }

  /** Whether a container's dependencies allow it to start: true, false (not yet) or a reason it never can. */
  private depsReady(def: ContainerDefinition): true | false | string {
    for (const d of def.dependsOn ?? []) {
      const st = this.cstate.get(d.containerName!);
      const exit = this.exits.get(d.containerName!);
      switch (d.condition) {
        case "START":
        case "HEALTHY":
          // No health checks run locally: a started container counts as healthy.
          if (st === "PENDING") return false;
          if (st === "STOPPED" && !exit) return `dependency ${d.containerName} never started`;
          break;
        case "COMPLETE":
          if (st !== "STOPPED") return false;
          if (!exit) return `dependency ${d.containerName} never started`;
          break;
        case "SUCCESS":
          if (st !== "STOPPED") return false;
          if (!exit) return `dependency ${d.containerName} never started`;
          if (exit.exitCode !== 0) return `dependency ${d.containerName} exited with code ${exit.exitCode ?? "null"} and the condition is SUCCESS`;
          break;
      }
    }
    return true;
  }

  /** Starts every container whose dependencies are met, until none can start now. */
  private async startContainers(): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      const ready: ContainerDefinition[] = [];
      for (const def of this.t.containerDefs) {
        if (this.cstate.get(def.name!) !== "PENDING" || this.starting.has(def.name!)) continue;
        const r = this.depsReady(def);
        if (r === true) ready.push(def);
        else if (typeof r === "string") this.failContainer(def, `DependencyConditionNotMet: ${r}`);
      }
      if (ready.length === 0) return;
      for (const d of ready) this.starting.add(d.name!);
      await Promise.all(ready.map((d) => this.startContainer(d).finally(() => this.starting.delete(d.name!))));
    }
  }

  private failContainer(def: ContainerDefinition, reason: string): void {
    this.cstate.set(def.name!, "STOPPED");
    const c = this.container(def.name!);
    c.lastStatus = "STOPPED";
    c.reason = reason.slice(0, 1024);
    if (def.essential !== false) this.requestStop(this.reachedRunning ? "EssentialContainerExited" : "TaskFailedToStart", this.reachedRunning ? "Essential container in task exited" : `CannotStartContainerError: ${def.name}: ${reason}`);
    else this.afterChange();
  }

  private env(def: ContainerDefinition): Record<string, string> {
    const t = this.t;
    const uri = this.deps.metadataUri(t, def.name!);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOME: this.mountPath,
      AWS_EXECUTION_ENV: "AWS_ECS_FARGATE",
      AWS_REGION: t.region,
      AWS_DEFAULT_REGION: t.region,
      ECS_CONTAINER_METADATA_URI_V4: uri,
      ECS_CONTAINER_METADATA_URI: uri,
    };
    for (const e of def.environment ?? []) env[e.name!] = e.value ?? "";
    return env;
  }

  private async startContainer(def: ContainerDefinition): Promise<void> {
    const name = def.name!;
    const argv = [...(def.entryPoint ?? []), ...(def.command ?? [])];
    let proc: RunningContainer;
    try {
      proc = await this.deps.launcher.start({ taskId: this.t.id, name, argv, env: this.env(def), cwd: this.mountPath });
    } catch (e) {
      this.failContainer(def, `CannotStartContainerError: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.procs.set(name, proc);
    this.cstate.set(name, "RUNNING");
    const c = this.container(name);
    c.lastStatus = "RUNNING";
    c.runtimeId = proc.runtimeId;
    void proc.exited.then((exit) => this.onExit(def, exit));
  }

  private onExit(def: ContainerDefinition, exit: ContainerExit): void {
    const name = def.name!;
    this.procs.delete(name);
    this.cstate.set(name, "STOPPED");
    this.exits.set(name, exit);
    const c = this.container(name);
    c.lastStatus = "STOPPED";
    if (exit.exitCode !== null) c.exitCode = exit.exitCode;
    if (exit.reason) c.reason = exit.reason.slice(0, 1024);
    if (this.stopping) return;
    if (def.essential !== false) {
      this.requestStop("EssentialContainerExited", "Essential container in task exited");
      return;
    }
    this.afterChange();
  }

  /** A container stopped or failed: start what its exit unblocks, and persist. */
  private afterChange(): void {
    if (this.stopping) return;
    const t = this.t;
    void (async () => {
      await this.startContainers();
      if (this.stopping) return;
      t.task.version = (t.task.version ?? 0) + 1;
      await this.deps.save(t);
      if (![...this.cstate.values()].some((s) => s !== "STOPPED")) this.requestStop("EssentialContainerExited", "Essential container in task exited");
    })();
  }

  /** Stops containers in reverse dependency order: a container stops after those that depend on it. */
  private async stopContainers(): Promise<void> {
    const level = new Map<string, number>();
    const depth = (n: string): number => {
      if (level.has(n)) return level.get(n)!;
      level.set(n, 0);
      const deps = this.def(n).dependsOn ?? [];
      const v = deps.length ? 1 + Math.max(...deps.map((d) => depth(d.containerName!))) : 0;
      level.set(n, v);
      return v;
    };
    for (const c of this.t.containerDefs) depth(c.name!);
    const levels = [...new Set(level.values())].sort((a, b) => b - a);
    for (const l of levels) {
      const names = [...level].filter(([, v]) => v === l).map(([n]) => n);
      await Promise.all(
        names.map(async (n) => {
          const p = this.procs.get(n);
          if (!p) return;
          await p.stop(this.def(n).stopTimeout ?? DEFAULT_STOP_TIMEOUT);
          await p.exited;
        }),
      );
    }
  }
}
