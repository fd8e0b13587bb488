/**
 * The Fargate data plane: runs the tasks ECS hands it (one TaskRunner each), behind the port in
 * port.ts. It reports every change of a task through TaskReports; what a task should be
 * (desired state, services, expiry, recovery after a restart) is ECS's (src/services/ecs).
 */
import { rmdir } from "node:fs/promises";
import type { Task } from "@aws-sdk/client-ecs";
import type { ServiceClock } from "../clock/clock.ts";
import { releaseStorage } from "./ephemeral-storage.ts";
import type { FargateKms, FargateTask, TaskPlane, TaskReports, TaskRoles, TaskSecrets } from "./port.ts";
import type { StorageDriver } from "./storage/index.ts";
import { TaskRunner, type RunnerDeps } from "./task-runner.ts";
import type { TaskUserPool } from "./task-users.ts";
import type { TaskOutputStore } from "./task-output.ts";
import type { OciRuntime } from "./runtime/select.ts";

export interface DataPlaneDeps<T extends FargateTask> {
  readonly kms: FargateKms;
  readonly reports: TaskReports<T>;
  readonly clock: ServiceClock;
  readonly driver: StorageDriver;
  readonly newVolumeId: (taskArn: string) => string;
  readonly users: TaskUserPool;
  /** ECS_CONTAINER_METADATA_URI_V4 for a container */
  readonly metadataUri: RunnerDeps<T>["metadataUri"];
  /** the task role's credentials variables and AWS_ENDPOINT_URL (task-credentials.ts) */
  readonly roleEnvironment: RunnerDeps<T>["roleEnvironment"];
  /** the task's IAM roles, as the control plane assumes them (the execution role for pulls, logs, secrets) */
  readonly roles: TaskRoles<T>;
  /** each task's container output, encrypted at rest */
  readonly output: TaskOutputStore;
  /** secrets and environment files, resolved at launch as the task's execution role */
  readonly secrets?: TaskSecrets<T>;
  /** crun, images and networking when tasks run their images (docs/ecs-fargate.md, "Container runtime") */
  readonly runtime?: OciRuntime;
  /** crun runtime: the server's listener for the task namespaces' 169.254.170.2 (task-runner.ts) */
  readonly taskEndpoint?: RunnerDeps<T>["taskEndpoint"];
}

/** What the data plane learns once the host is prepared: how tasks run here. */
export type HostRuntime<T extends FargateTask> = Pick<DataPlaneDeps<T>, "runtime" | "taskEndpoint">;

export class FargateDataPlane<T extends FargateTask = FargateTask> implements TaskPlane<T> {
  readonly runners = new Map<string, TaskRunner<T>>();
  private closed = false;
  private host: HostRuntime<T> | undefined;
  /** tasks launched before the host was prepared; they start once it is */
  private readonly waiting = new Set<string>();
  private readonly hostReady: Promise<void>;

  /**
   * `host` resolves once an earlier run's leftovers are removed and the container runtime is
   * chosen (the ECS module prepares both after the server listens, docs/performance.md#start-up);
   * tasks launched before then wait for it. A host that fails to prepare launches nothing.
   */
  constructor(
    private readonly deps: Omit<DataPlaneDeps<T>, keyof HostRuntime<T>>,
    host: Promise<HostRuntime<T>> | HostRuntime<T> = {},
  ) {
    if (!(host instanceof Promise)) this.host = host;
    this.hostReady = Promise.resolve(host).then((h) => {
      this.host = h;
    });
    // a failed preparation is the start's error (the ECS module reports it); here it only means no launches
    this.hostReady.catch(() => undefined);
  }

  private runnerDeps() {
    const { kms, reports, clock, driver, newVolumeId, users, metadataUri, roleEnvironment, roles, output, secrets } = this.deps;
    const { runtime, taskEndpoint } = this.host ?? {};
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
    return {
      kms,
      reports: guarded,
      clock,
      driver,
      newVolumeId,
      users,
      metadataUri,
      roleEnvironment,
      roles,
      output,
      secrets,
      save,
      ...(runtime ? { runtime } : {}),
      ...(taskEndpoint ? { taskEndpoint } : {}),
    };
  }

  launch(t: T): void {
    if (this.closed || this.runners.has(t.arn) || this.waiting.has(t.arn) || t.task.lastStatus === "STOPPED") return;
    if (!this.host) {
      this.waiting.add(t.arn);
      const launchNow = () => {
        this.waiting.delete(t.arn);
        this.launch(t);
      };
      void this.hostReady.then(launchNow, () => this.waiting.delete(t.arn));
      return;
    }
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
    return this.runners.has(arn) || this.waiting.has(arn);
  }

  async release(t: T): Promise<void> {
    await this.hostReady;
    return releaseStorage(this.runnerDeps(), t);
  }

  /** The task's container output, readable while it runs and until its record expires. */
  get output(): TaskOutputStore {
    return this.deps.output;
  }

  forget(arn: string): void {
    if (this.runners.has(arn)) return;
    try {
      this.deps.output.remove(arn);
    } catch (e) {
      console.error(`[localfargate] could not remove the output of task ${arn}:`, e);
    }
  }

  /** Server shutdown: end every task's processes and unmount its volume; records stay as they are. */
  async close(): Promise<void> {
    this.closed = true;
    await this.hostReady.catch(() => undefined);
    const runners = [...this.runners.values()];
    await Promise.all(runners.map((r) => r.kill()));
    this.deps.output.closeAll();
    const runtime = this.host?.runtime;
    await runtime?.network.close().catch((e: Error) => console.error(`[localfargate] task networks not removed: ${e.message}`));
    // Every task's bind mount is gone with its task: the server's directory under /run is empty.
    if (runtime) await rmdir(runtime.bundlesDir).catch(() => undefined);
  }
}
