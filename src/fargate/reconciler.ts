/**
 * The Fargate data plane: runs the tasks ECS hands it (one TaskRunner each), behind the port in
 * port.ts. It reports every change of a task through TaskReports; what a task should be
 * (desired state, services, expiry, recovery after a restart) is ECS's (src/services/ecs).
 */
import { rmdir } from "node:fs/promises";
import type { Task } from "@aws-sdk/client-ecs";
import type { ServiceClock } from "../clock/clock.ts";
import { releaseStorage } from "./ephemeral-storage.ts";
import type { FargateKms, FargateTask, TaskPlane, TaskReports } from "./port.ts";
import type { StorageDriver } from "./storage/index.ts";
import { TaskRunner } from "./task-runner.ts";
import type { TaskUserPool } from "./task-users.ts";
import type { OciRuntime } from "./runtime/select.ts";

export interface DataPlaneDeps<T extends FargateTask> {
  readonly kms: FargateKms;
  readonly reports: TaskReports<T>;
  readonly clock: ServiceClock;
  readonly driver: StorageDriver;
  readonly newVolumeId: () => string;
  readonly users: TaskUserPool;
  /** ECS_CONTAINER_METADATA_URI_V4 for a container */
  readonly metadataUri: (t: T, container: string) => string;
  /** crun, images and networking when tasks run their images (docs/ecs-fargate.md, "Container runtime") */
  readonly runtime?: OciRuntime;
}

export class FargateDataPlane<T extends FargateTask = FargateTask> implements TaskPlane<T> {
  readonly runners = new Map<string, TaskRunner<T>>();
  private closed = false;

  constructor(private readonly deps: DataPlaneDeps<T>) {}

  private runnerDeps() {
    const { kms, reports, clock, driver, newVolumeId, users, metadataUri, runtime } = this.deps;
    // Once the server is shutting down, a task's progress is no longer recorded (the next start settles it).
    const open = () => {
      if (this.closed) throw new Error("localfargate is shutting down");
    };
    const save = async (t: T) => {
      open();
      await reports.save(t);
    };
    const guarded: TaskReports<T> = {
      ...reports,
      save,
      async transition(t, status) {
        open();
        await reports.transition(t, status);
      },
    };
    return { kms, reports: guarded, clock, driver, newVolumeId, users, metadataUri, save, ...(runtime ? { runtime } : {}) };
  }

  launch(t: T): void {
    if (this.closed || this.runners.has(t.arn) || t.task.lastStatus === "STOPPED") return;
    const runner = new TaskRunner(this.runnerDeps(), t);
    this.runners.set(t.arn, runner);
    // its STOPPED transition was reported already
    void runner.done.then(() => this.runners.delete(t.arn));
  }

  stop(t: T, stopCode: Task["stopCode"], reason: string): void {
    const r = this.runners.get(t.arn);
    if (r) return r.requestStop(stopCode, reason);
    // Not launched yet (its launch waits for a commit): the runner will see desiredStatus STOPPED.
    this.deps.reports.stopRequested(t, stopCode, reason);
  }

  isRunning(arn: string): boolean {
    return this.runners.has(arn);
  }

  release(t: T): Promise<void> {
    return releaseStorage(this.runnerDeps(), t);
  }

  /** Server shutdown: end every task's processes and unmount its volume; records stay as they are. */
  async close(): Promise<void> {
    this.closed = true;
    const runners = [...this.runners.values()];
    await Promise.all(runners.map((r) => r.kill()));
    await this.deps.runtime?.network.close().catch((e: Error) => console.error(`[localfargate] task networks not removed: ${e.message}`));
    // Every task's bind mount is gone with its task: the server's directory under /run is empty.
    if (this.deps.runtime) await rmdir(this.deps.runtime.bundlesDir).catch(() => undefined);
  }
}
