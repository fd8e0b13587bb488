/**
 * One task's life: PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING →
 * DEPROVISIONING → STOPPED, each transition persisted with the task's version incremented.
 * Storage is provisioned (KMS + driver) while PROVISIONING; containers are started in dependsOn
 * order while ACTIVATING; stopping sends SIGTERM, then SIGKILL after stopTimeout.
 */
import { chmodSync, chownSync } from "node:fs";
import { join } from "node:path";
import type { ContainerDefinition, Task } from "@aws-sdk/client-ecs";
import type { ServiceClock } from "../clock/clock.ts";
import type { FargateTask, LaunchEnvironment, TaskReports, TaskRoles, TaskSecrets, TaskStatus } from "./port.ts";
import { TaskProcesses, type AllStoppedSummary, type ContainerSpec, type ContainerState, type DependencyCondition } from "./containers.ts";
import { provisionStorage, releaseStorage, StorageFailure, type StorageDeps } from "./ephemeral-storage.ts";
import { endProcesses } from "./host-processes.ts";
import { healthCheckSpec } from "./health-check.ts";
import type { TaskOutputStore, TaskOutputWriter } from "./task-output.ts";
import { RunStateFile } from "./run-state.ts";
import type { TaskUser, TaskUserPool } from "./task-users.ts";

export interface RunnerDeps<T extends FargateTask> extends StorageDeps<T> {
  reports: TaskReports<T>;
  clock: ServiceClock;
  /** ECS_CONTAINER_METADATA_URI_V4 for a container */
  metadataUri: (t: T, container: string) => string;
  /**
   * Starts serving the task role's credentials and answers the variables that point the task's
   * SDKs at them and at localfargate, for code on the host or in the task's own namespace.
   */
  roleEnvironment: (t: T, reach: "host" | "namespace") => Promise<Record<string, string>>;
  /** the task's IAM roles (the execution role's credentials for the data plane's own calls) */
  roles: TaskRoles<T>;
  /** the unprivileged users tasks run as (none when the server is not root) */
  users: TaskUserPool;
  /** where each task's container output is kept (encrypted) */
  output: TaskOutputStore;
  /** resolves secrets and environment files at launch (none: the task has nothing to resolve) */
  secrets?: TaskSecrets<T>;
}

/** How long a server shutdown waits for a task's processes before leaving them. */
const SHUTDOWN_WAIT_MS = 5000;

export class TaskRunner<T extends FargateTask = FargateTask> {
  private wake!: () => void;
  private stopSignal: Promise<void>;
  private procs: TaskProcesses | undefined;
  private output: TaskOutputWriter | undefined;
  private user: TaskUser | undefined;
  private runState: RunStateFile | undefined;
  private reachedRunning = false;
  /** secrets and environment files per container: in memory only, never recorded */
  private launchEnv = new Map<string, LaunchEnvironment>();
  private killed = false;
  private saving = false;
  private saveAgain = false;
  readonly done: Promise<void>;

  constructor(
    private readonly deps: RunnerDeps<T>,
    readonly t: T,
  ) {
    this.stopSignal = new Promise((r) => (this.wake = r));
    this.done = this.run().catch((e) => {
      if (!this.killed) console.error(`[localfargate] task ${t.arn} failed unexpectedly:`, e);
    });
  }

  get stopping(): boolean {
    return this.t.task.desiredStatus === "STOPPED";
  }

  /** Asks for the task to stop (its record says desiredStatus STOPPED); the runner then stops it. */
  requestStop(stopCode: Task["stopCode"], reason: string): void {
    this.deps.reports.stopRequested(this.t, stopCode, reason);
    this.wake();
  }

  private async transition(status: TaskStatus): Promise<void> {
    await this.deps.reports.transition(this.t, status);
  }

  /** Persists a container change (coalesced: one write in flight, one queued). */
  private persistSoon(): void {
    if (this.saving) {
      this.saveAgain = true;
      return;
    }
    this.saving = true;
    void (async () => {
      try {
        do {
          this.saveAgain = false;
          this.t.task.version = (this.t.task.version ?? 0) + 1;
          await this.deps.save(this.t);
        } while (this.saveAgain);
      } catch {
        // shutting down
      } finally {
        this.saving = false;
      }
    })();
  }

  private async run(): Promise<void> {
    const t = this.t;
    // PROVISIONING: the ENI (simulated) and the encrypted ephemeral volume.
    let failure: string | undefined;
    let mountPath = "";
    if (!this.stopping) {
      try {
        mountPath = await provisionStorage(this.deps, t);
        this.isolate(mountPath);
      } catch (e) {
        failure = e instanceof StorageFailure ? e.stoppedReason : `ResourceInitializationError: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    if (!failure && !this.stopping && this.deps.secrets) {
      try {
        this.launchEnv = await this.deps.secrets.resolve(t);
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
      }
    }
    if (failure) this.requestStop("TaskFailedToStart", failure);
    if (!this.stopping) {
      await this.transition("PENDING");
    }
    if (!this.stopping) {
      await this.transition("ACTIVATING");
      try {
        const roleEnv = await this.deps.roleEnvironment(t, "host");
        this.output = this.deps.output.open(t.arn);
        this.procs = new TaskProcesses({
          containers: t.containerDefs.map((d) => this.spec(d)),
          volumePath: mountPath,
          baseEnv: {
            HOME: mountPath,
            AWS_EXECUTION_ENV: "AWS_ECS_FARGATE",
            AWS_REGION: t.region,
            AWS_DEFAULT_REGION: t.region,
            ...roleEnv,
          },
          events: {
            onContainerChange: (c) => this.onContainerChange(c),
            onAllStopped: (s) => this.onAllStopped(s),
          },
          now: () => this.deps.clock.nowMs(),
          realNowMs: () => this.deps.clock.realNowMs(),
          // Container stdout/stderr go to the task's encrypted output store, never in plaintext to disk.
          output: this.output,
          ...(this.user ? { user: this.user } : {}),
          onSpawn: (pid) => this.recordProcess(pid),
        });
        await this.procs.start();
      } catch (e) {
        this.requestStop("TaskFailedToStart", `CannotStartContainerError: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!this.stopping) {
      this.reachedRunning = true;
      await this.transition("RUNNING");
    }
    // StopTask may have marked the task before the runner started: then there is nothing to wait for.
    if (!this.stopping) await this.stopSignal;
    if (this.killed) return;
    // Stopping.
    if (this.reachedRunning) await this.transition("DEACTIVATING");
    if (this.procs) {
      await this.transition("STOPPING");
      await this.procs.stop(t.task.stoppedReason);
    }
    // Like the end of a container's PID namespace: whatever the task's user still runs (a
    // process that left its container's process group) ends with the task.
    const uid = this.user?.uid;
    const survivors = uid === undefined ? [] : await endProcesses((p) => p.uids.includes(uid));
    if (survivors.length) console.error(`[localfargate] processes of task ${t.arn} could not be ended (pids ${survivors.join(", ")}); uid ${uid} stays reserved`);
    this.output?.close();
    await this.transition("DEPROVISIONING");
    await releaseStorage(this.deps, t);
    if (!survivors.length) this.deps.users.release(this.user);
    await this.transition("STOPPED");
  }

  /**
   * Gives the task a user of its own (when the server can switch users) that alone owns the
   * volume, and starts the crash record beside the volume (run-state.ts).
   */
  private isolate(mountPath: string): void {
    this.user = this.deps.users.allocate();
    if (this.user) {
      chownSync(mountPath, this.user.uid, this.user.gid);
      chmodSync(mountPath, 0o700);
    }
    this.runState = new RunStateFile(join(this.deps.driver.baseDir, this.t.storage.volumeId!), this.user?.uid);
  }

  private recordProcess(pid: number): void {
    try {
      this.runState?.addProcess(pid);
    } catch (e) {
      console.error(`[localfargate] could not record process ${pid} of task ${this.t.arn}:`, e);
    }
  }

  private spec(d: ContainerDefinition): ContainerSpec {
    const env: Record<string, string> = {};
    const uri = this.deps.metadataUri(this.t, d.name!);
    env.ECS_CONTAINER_METADATA_URI_V4 = uri;
    env.ECS_CONTAINER_METADATA_URI = uri;
    const launch = this.launchEnv.get(d.name!);
    Object.assign(env, launch?.files);
    for (const e of d.environment ?? []) env[e.name!] = e.value ?? "";
    Object.assign(env, launch?.secrets);
    return {
      name: d.name!,
      essential: d.essential !== false,
      entryPoint: d.entryPoint,
      command: d.command,
      environment: env,
      workingDirectory: d.workingDirectory,
      stopTimeoutSeconds: d.stopTimeout,
      dependsOn: d.dependsOn?.map((x) => ({ containerName: x.containerName!, condition: x.condition as DependencyCondition })),
      ...(d.healthCheck ? { healthCheck: healthCheckSpec(d.healthCheck) } : {}),
    };
  }

  private onContainerChange(s: ContainerState): void {
    this.deps.reports.containerChanged(this.t, { name: s.name, lastStatus: s.lastStatus, exitCode: s.exitCode, reason: s.reason, pid: s.pid, healthStatus: s.healthStatus });
    // Transitions persist the task anyway; a change while RUNNING (an exit) is written now.
    if (this.reachedRunning) this.persistSoon();
  }

  private onAllStopped(s: AllStoppedSummary): void {
    if (this.stopping) return;
    if (s.dependencyFailed && !this.reachedRunning) {
      this.requestStop("TaskFailedToStart", `CannotStartContainerError: ${s.reason ?? "a container dependency can never be met"}`);
    } else {
      this.requestStop(
        "EssentialContainerExited",
        s.essentialExited || s.dependencyFailed ? "Essential container in task exited" : (s.reason ?? "Essential container in task exited"),
      );
    }
  }

  /**
   * Server shutdown: ends the processes (SIGKILL for what outlives the grace period) and destroys
   * the volume, recording nothing (the next start settles the record). A process that cannot be
   * ended keeps the volume and its crash record, for the next start to end it.
   */
  async kill(): Promise<void> {
    this.killed = true;
    const procs = this.procs;
    let ended = true;
    if (procs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([procs.stop("localfargate is shutting down"), new Promise((r) => (timer = setTimeout(r, SHUTDOWN_WAIT_MS)))]);
      clearTimeout(timer);
      // Groups of containers still running: their leaders are not reaped yet, so no other
      // process can have been given their pid.
      const groups = new Set(procs.states().flatMap((s) => (s.lastStatus === "RUNNING" && s.pid !== undefined ? [s.pid] : [])));
      procs.killNow();
      const uid = this.user?.uid;
      const survivors = await endProcesses((p) => groups.has(p.pgid) || (uid !== undefined && p.uids.includes(uid)), { graceful: false });
      ended = survivors.length === 0;
    }
    this.output?.close();
    const v = this.t.storage.volumeId;
    if (ended && v && !this.t.storage.released) await this.deps.driver.destroy(v).catch(() => undefined);
    if (ended) this.deps.users.release(this.user);
    this.wake();
  }
}
