/**
 * ECS's control loop over the data plane: keeps services at their desired count and rolls their
 * deployments (scheduler.ts), stops the tasks of closed accounts (closed-accounts.ts), forgets stopped tasks an hour after they stop and INACTIVE services
 * an hour after they became INACTIVE, and after a restart
 * reports the tasks that were running as STOPPED. Works in real time (task changes poke it) and
 * on every clock advance (runDue).
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { AppContext, DueRunner } from "../../kernel/context.ts";
import type { TaskPlane } from "../../fargate/port.ts";
import { reconcileServices } from "./scheduler.ts";
import { stopClosedAccountTasks } from "./closed-accounts.ts";
import { inactiveServiceExpiresAtMs, type ServicePlane } from "./services.ts";
import type { EcsState, TaskRecord } from "./state.ts";
import { STOPPED_RETENTION_MS } from "./tasks.ts";
import { stopAfterRestart } from "./task-lifecycle.ts";

export const RESTART_REASON = "Task stopped because localfargate restarted";
export const RESTART_STOP_CODE: NonNullable<Task["stopCode"]> = "InfrastructureHealth";

export class EcsController implements ServicePlane, DueRunner {
  readonly name = "ecs";
  private recovered = false;
  private closed = false;
  private pokeScheduled = false;
  private reconciling: Promise<void> | undefined;
  private again = false;

  constructor(
    readonly app: AppContext,
    readonly state: EcsState,
    readonly plane: TaskPlane<TaskRecord>,
  ) {}

  /** Schedules a service reconcile soon (coalesced: many task changes, one pass). */
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
          await stopClosedAccountTasks(this.app, this.state, this.plane);
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
    const expired = [...this.state.tasks.values()].filter(
      (t) => t.task.lastStatus === "STOPPED" && (t.expiresAtMs ?? (t.task.stoppedAt?.getTime() ?? 0) + STOPPED_RETENTION_MS) <= nowMs,
    );
    if (expired.length) {
      await this.app.store.commit(expired.map((t) => this.state.delTask(t.arn)));
      for (const t of expired) this.plane.forget(t.arn);
    }
    const gone = [...this.state.services.values()].filter((s) => s.status === "INACTIVE" && inactiveServiceExpiresAtMs(s) <= nowMs);
    if (gone.length) await this.app.store.commit(gone.map((s) => this.state.delService(s.arn)));
    await this.reconcile();
  }

  /**
   * After a restart: grants of the last run's volumes retired, their tasks STOPPED. Their
   * processes, mounts and volume directories were already removed when the ECS module was created
   * (driver.cleanupAll, before the data plane existed); cleaning again here would hit the volume
   * and processes of a task RunTask launched since.
   */
  private async recover(): Promise<void> {
    for (const t of [...this.state.tasks.values()]) {
      if (t.task.lastStatus === "STOPPED" || this.plane.isRunning(t.arn)) continue;
      await this.plane.release(t).catch(() => undefined);
      const now = this.app.clock.now();
      stopAfterRestart(t.task, RESTART_STOP_CODE, RESTART_REASON, now);
      t.expiresAtMs = now.getTime() + STOPPED_RETENTION_MS;
      await this.state.saveTask(t);
    }
  }

  close(): void {
    this.closed = true;
  }
}
