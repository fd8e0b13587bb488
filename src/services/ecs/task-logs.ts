/**
 * Containers that log with the `awslogs` driver
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html): at launch,
 * after the task's secrets are resolved and before its containers start, one driver per such
 * container is opened as the task's execution role (src/services/logs/awslogs.ts); a driver that
 * cannot start rejects with the task's stop reason (ResourceInitializationError, TaskFailedToStart).
 * Once the data plane has opened the task's output store, its records are followed and each
 * container's lines go through its driver, stamped with the time the output was written; when
 * the task stops the follower ends and every driver flushes what it holds (docs/ecs-fargate.md#container-logs-awslogs).
 */
import type { AppContext } from "../../kernel/context.ts";
import type { LaunchEnvironment, TaskSecrets } from "../../fargate/port.ts";
import type { TaskOutputStore } from "../../fargate/task-output.ts";
import type { ContainerLog } from "../logs/awslogs.ts";
import type { TaskRecord } from "./state.ts";

/** A blocking driver is waited on once it holds this much (one PutLogEvents batch at most). */
const BACKLOG_BYTES = 1024 * 1024;

interface Shipment {
  logs: Map<string, ContainerLog>;
  following?: Promise<void>;
}

export class TaskLogShipper {
  private readonly shipments = new Map<string, Shipment>();

  constructor(
    private readonly app: AppContext,
    private readonly output: TaskOutputStore,
  ) {}

  /** Opens a driver for each container whose logDriver is awslogs; rejects with the task's stop reason. */
  async open(t: TaskRecord): Promise<void> {
    const defs = t.containerDefs.filter((d) => d.logConfiguration?.logDriver === "awslogs");
    if (!defs.length) return;
    const driver = this.app.find("awslogs");
    if (!driver) throw new Error("ResourceInitializationError: failed to validate logger args: CloudWatch Logs is not running on this server");
    const logs = new Map<string, ContainerLog>();
    try {
      for (const d of defs) {
        const log = await driver.open(
          { accountId: t.accountId, region: t.region, taskId: t.id, containerName: d.name!, executionRoleArn: t.executionRoleArn },
          d.logConfiguration!.options ?? {},
        );
        logs.set(d.name!, log);
      }
    } catch (e) {
      await Promise.all([...logs.values()].map((l) => l.close()));
      throw e;
    }
    this.shipments.set(t.arn, { logs });
  }

  /**
   * The task changed: once its output store is open (or the task is ending without one) its
   * output is followed. The output is read from the start, so nothing written before is missed.
   */
  onTaskChange(t: TaskRecord): void {
    const s = this.shipments.get(t.arn);
    if (!s || s.following) return;
    const ending = t.task.lastStatus === "DEPROVISIONING" || t.task.lastStatus === "STOPPED";
    if (!this.output.isOpen(t.arn) && !ending) return;
    s.following = this.ship(t.arn, s);
  }

  private async ship(arn: string, s: Shipment): Promise<void> {
    try {
      for await (const r of this.output.follow(arn)) {
        const log = s.logs.get(r.container);
        if (!log) continue;
        log.writeOutput(r.stream, r.data, r.timeMs);
        if (log.backlogBytes < BACKLOG_BYTES) continue;
        // blocking: nothing is dropped, so the follower waits for the batch to be stored
        if (log.blocking) await log.flush();
        else void log.flush();
      }
    } catch (e) {
      console.error(`[localfargate] the awslogs output of task ${arn} stopped being sent:`, e);
    } finally {
      await Promise.all([...s.logs.entries()].map(([name, l]) => this.closeLog(arn, name, l)));
      this.shipments.delete(arn);
    }
  }

  /** Flushes a container's driver; what it could not deliver goes to the server's log, as Docker's daemon logs it. */
  private async closeLog(arn: string, container: string, log: ContainerLog): Promise<void> {
    await log.close().catch(() => undefined);
    if (log.lastError)
      console.error(`[localfargate] awslogs ${log.groupName} ${log.streamName} (task ${arn}, container ${container}): PutLogEvents was refused: ${log.lastError.message}`);
    if (log.dropped)
      console.error(
        `[localfargate] awslogs ${log.groupName} ${log.streamName} (task ${arn}, container ${container}): ${log.dropped} lines dropped (mode non-blocking, max-buffer-size)`,
      );
  }

  /** Server shutdown (after the data plane closed every task's output): waits for the last batches. */
  async close(): Promise<void> {
    await Promise.all([...this.shipments.entries()].map(([arn, s]) => s.following ?? Promise.all([...s.logs.entries()].map(([name, l]) => this.closeLog(arn, name, l)))));
    this.shipments.clear();
  }
}

/** The task's secrets, then its log drivers: both as the execution role, both before a container starts. */
export function withTaskLogs(secrets: TaskSecrets<TaskRecord>, shipper: TaskLogShipper): TaskSecrets<TaskRecord> {
  return {
    async resolve(t): Promise<Map<string, LaunchEnvironment>> {
      const env = await secrets.resolve(t);
      await shipper.open(t);
      return env;
    },
  };
}
