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
import type { FargateTask, TaskReports, TaskStatus } from "./port.ts";
import { TaskProcesses, type AllStoppedSummary, type ContainerSpec, type ContainerState, type DependencyCondition } from "./containers.ts";
import { provisionStorage, releaseStorage, StorageFailure, type StorageDeps } from "./ephemeral-storage.ts";
import { endProcesses } from "./host-processes.ts";
import { RunStateFile } from "./run-state.ts";
import type { TaskUser, TaskUserPool } from "./task-users.ts";

export interface RunnerDeps<T extends FargateTask> extends StorageDeps<T> {
  reports: TaskReports<T>;
  clock: ServiceClock;
  /** ECS_CONTAINER_METADATA_URI_V4 for a container */
  metadataUri: (t: T, container: string) => string;
  /** the unprivileged users tasks run as (none when the server is not root) */
  users: TaskUserPool;
}

/** How long a server shutdown waits for a task's processes before leaving them. */
const SHUTDOWN_WAIT_MS = 5000;

export class TaskRunner<T extends FargateTask = FargateTask> {
  private wake!: () => void;
  private stopSignal: Promise<void>;
  private procs: TaskProcesses | undefined;
  private user: TaskUser | undefined;
  private runState: RunStateFile | undefined;
  private reachedRunning = false;
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

  /**
   * Runs `argv` inside one of the task's running containers (health checks): its exit code, or
   * null when it timed out, could not run, or the container is not running.
   */
  exec(container: string, argv: string[], timeoutMs: number): Promise<number | null> {
    return this.procs ? this.procs.exec(container, argv, timeoutMs) : Promise.resolve(null);
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
    if (failure) this.requestStop("TaskFailedToStart", failure);
    if (!this.stopping) {
      await this.transition("PENDING");
    }
    if (!this.stopping) {
      await this.transition("ACTIVATING");
      try {
        this.procs = new TaskProcesses({
          containers: t.containerDefs.map((d) => this.spec(d)),
          volumePath: mountPath,
          baseEnv: {
            HOME: mountPath,
            AWS_EXECUTION_ENV: "AWS_ECS_FARGATE",
            AWS_REGION: t.region,
            AWS_DEFAULT_REGION: t.region,
          },
          events: {
            onContainerChange: (c) => this.onContainerChange(c),
            onAllStopped: (s) => this.onAllStopped(s),
          },
          now: () => this.deps.clock.nowMs(),
          // Container stdout/stderr stay inside the (encrypted) volume, never beside it in plaintext.
          logDir: join(mountPath, ".localfargate", "logs"),
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
    for (const e of d.environment ?? []) env[e.name!] = e.value ?? "";
    return {
      name: d.name!,
      essential: d.essential !== false,
      entryPoint: d.entryPoint,
      command: d.command,
      environment: env,
      workingDirectory: d.workingDirectory,
      stopTimeoutSeconds: d.stopTimeout,
      dependsOn: d.dependsOn?.map((x) => ({ containerName: x.containerName!, condition: x.condition as DependencyCondition })),
    };
  }

  private onContainerChange(s: ContainerState): void {
    this.deps.reports.containerChanged(this.t, { name: s.name, lastStatus: s.lastStatus, exitCode: s.exitCode, reason: s.reason, pid: s.pid });
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
    const v = this.t.storage.volumeId;
    if (ended && v && !this.t.storage.released) await this.deps.driver.destroy(v).catch(() => undefined);
    if (ended) this.deps.users.release(this.user);
    this.wake();
  }
}
