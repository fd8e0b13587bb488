/**
 * The Fargate data plane: runs the tasks ECS creates (one TaskRunner each), keeps services at
 * their desired count and rolls their deployments (service-scheduler.ts), forgets stopped tasks
 * an hour after they stop, and after a restart reports the tasks that were running as STOPPED.
 * Works in real time (the scheduler's tick, task events) and on every clock advance (runDue).
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { AppContext, DueRunner } from "../kernel/context.ts";
import type { EcsState, TaskRecord } from "../services/ecs/state.ts";
import { STOPPED_RETENTION_MS, type TaskPlane } from "../services/ecs/tasks.ts";
import type { ServicePlane } from "../services/ecs/services.ts";
import { releaseStorage } from "./ephemeral-storage.ts";
import type { StorageDriver } from "./storage/index.ts";
import { reconcileServices } from "./service-scheduler.ts";
import { TaskRunner } from "./task-runner.ts";
import type { TaskUserPool } from "./task-users.ts";
import { metadataUri } from "./metadata.ts";

export const RESTART_REASON = "Task stopped because localfargate restarted";
export const RESTART_STOP_CODE: NonNullable<Task["stopCode"]> = "InfrastructureHealth";

export class FargateDataPlane implements TaskPlane, ServicePlane, DueRunner {
  readonly name = "fargate";
  readonly runners = new Map<string, TaskRunner>();
  private recovered = false;
  private closed = false;
  private pokeScheduled = false;
  private reconciling: Promise<void> | undefined;
  private again = false;

  constructor(
    readonly app: AppContext,
    readonly state: EcsState,
    readonly driver: StorageDriver,
    readonly newVolumeId: () => string,
    readonly users: TaskUserPool,
  ) {}

  private deps() {
    return {
      app: this.app,
      driver: this.driver,
      newVolumeId: this.newVolumeId,
      state: this.state,
      clock: this.app.clock,
      metadataUri: (t: TaskRecord, c: string) => metadataUri(this.app, t, c),
      users: this.users,
      save: async (t: TaskRecord) => {
        if (this.closed) throw new Error("localfargate is shutting down");
        await this.state.saveTask(t);
      },
    };
  }

  launch(t: TaskRecord): void {
    if (this.closed || this.runners.has(t.arn) || t.task.lastStatus === "STOPPED") return;
    const runner = new TaskRunner(this.deps(), t);
    this.runners.set(t.arn, runner);
    void runner.done.then(() => {
      this.runners.delete(t.arn);
      this.poke();
    });
  }

  stop(t: TaskRecord, stopCode: Task["stopCode"], reason: string): void {
    const r = this.runners.get(t.arn);
    if (r) return r.requestStop(stopCode, reason);
    if (t.task.desiredStatus === "STOPPED") return;
    // Not launched yet (RunTask's setImmediate): the runner will see desiredStatus STOPPED.
    t.task.desiredStatus = "STOPPED";
    t.task.stopCode = stopCode;
    t.task.stoppedReason = reason;
    t.task.stoppingAt = this.app.clock.now();
  }

  /** Schedules a service reconcile soon (coalesced). */
  poke(): void {
    if (this.closed || this.pokeScheduled) return;
    this.pokeScheduled = true;
    setImmediate(() => {
      this.pokeScheduled = false;
      void this.reconcile();
    });
  }

  async reconcile(): Promise<void> {
    if (this.closed) return;
    if (this.reconciling) {
      this.again = true;
      return this.reconciling;
    }
    this.reconciling = (async () => {
      do {
        this.again = false;
        try {
          await reconcileServices(this);
        } catch (e) {
          console.error("[localfargate] service scheduler failed:", e);
        }
      } while (this.again && !this.closed);
    })();
    try {
      await this.reconciling;
    } finally {
      this.reconciling = undefined;
    }
  }

  async runDue(nowMs: number): Promise<void> {
    if (this.closed) return;
    if (!this.recovered) {
      this.recovered = true;
      await this.recover();
    }
    const expired = [...this.state.tasks.values()].filter((t) => t.task.lastStatus === "STOPPED" && (t.expiresAtMs ?? (t.task.stoppedAt?.getTime() ?? 0) + STOPPED_RETENTION_MS) <= nowMs);
    if (expired.length) await this.app.store.commit(expired.map((t) => this.state.delTask(t.arn)));
    await this.reconcile();
  }

  /**
   * After a restart: grants of the last run's volumes retired, their tasks STOPPED. Their
   * processes, mounts and volume directories were already removed when the ECS service was created
   * (driver.cleanupAll, before this plane existed); cleaning again here would hit the volume and
   * processes of a task RunTask launched since.
   */
  private async recover(): Promise<void> {
    const deps = this.deps();
    for (const t of [...this.state.tasks.values()]) {
      if (t.task.lastStatus === "STOPPED" || this.runners.has(t.arn)) continue;
      await releaseStorage(deps, t).catch(() => undefined);
      const now = this.app.clock.now();
      const task = t.task;
      task.desiredStatus = "STOPPED";
      task.lastStatus = "STOPPED";
      task.stopCode = RESTART_STOP_CODE;
      task.stoppedReason = RESTART_REASON;
      task.stoppingAt ??= now;
      task.executionStoppedAt ??= now;
      task.stoppedAt = now;
      for (const c of task.containers ?? []) c.lastStatus = "STOPPED";
      const eni = task.attachments?.[0];
      if (eni) eni.status = "DELETED";
      task.version = (task.version ?? 0) + 1;
      t.expiresAtMs = now.getTime() + STOPPED_RETENTION_MS;
      await this.state.saveTask(t);
    }
  }

  /** Server shutdown: end every task's processes and unmount its volume; records stay as they are. */
  async close(): Promise<void> {
    this.closed = true;
    const runners = [...this.runners.values()];
    await Promise.all(runners.map((r) => r.kill()));
  }
}
