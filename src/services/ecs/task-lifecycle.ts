/**
 * A task's life, as ECS records it: the one module that changes a task record's status. Its last
 * status moves forward through PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING →
 * STOPPING → DEPROVISIONING → STOPPED ("Task lifecycle",
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html),
 * skipping what a task never reached (a task whose storage failed goes from PROVISIONING to
 * DEPROVISIONING); each step increments `version`. A stop request sets desiredStatus STOPPED
 * with its stop code and reason, once.
 */
import type { ContainerDefinition, Task } from "@aws-sdk/client-ecs";
import type { ContainerReport, TaskStatus } from "../../fargate/port.ts";

const ORDER: readonly string[] = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"];

/** Marks the task to stop; false when it was already asked to (the first stop's reason stays). */
export function requestStop(task: Task, stopCode: Task["stopCode"], reason: string, now: Date): boolean {
  if (task.desiredStatus === "STOPPED") return false;
  task.desiredStatus = "STOPPED";
  task.stopCode = stopCode;
  task.stoppedReason = reason;
  task.stoppingAt = now;
  return true;
}

/**
 * Moves the task to `status` with what AWS records at that step; false (and nothing changed)
 * when the task is already there or further on.
 */
export function advance(task: Task, status: TaskStatus, now: Date): boolean {
  if (ORDER.indexOf(status) <= ORDER.indexOf(task.lastStatus ?? "PROVISIONING")) return false;
  task.lastStatus = status;
  const eni = task.attachments?.[0];
  switch (status) {
    case "PENDING":
      task.connectivity = "CONNECTED";
      task.connectivityAt = now;
      if (eni) eni.status = "ATTACHED";
      break;
    case "ACTIVATING":
      task.pullStartedAt = now;
      task.pullStoppedAt = now;
      break;
    case "RUNNING":
      task.startedAt = now;
      break;
    case "DEPROVISIONING":
      task.executionStoppedAt = now;
      for (const c of task.containers ?? []) if (c.lastStatus !== "STOPPED") c.lastStatus = "STOPPED";
      break;
    case "STOPPED":
      task.stoppedAt = now;
      if (eni) eni.status = "DELETED";
      break;
  }
  task.version = (task.version ?? 0) + 1;
  return true;
}

/** After a restart: a task the last run left unfinished is STOPPED at once. */
export function stopAfterRestart(task: Task, stopCode: NonNullable<Task["stopCode"]>, reason: string, now: Date): void {
  task.desiredStatus = "STOPPED";
  task.lastStatus = "STOPPED";
  task.stopCode = stopCode;
  task.stoppedReason = reason;
  task.stoppingAt ??= now;
  task.executionStoppedAt ??= now;
  task.stoppedAt = now;
  for (const c of task.containers ?? []) c.lastStatus = "STOPPED";
  const eni = task.attachments?.[0];
  if (eni) eni.status = "DELETED";
  task.version = (task.version ?? 0) + 1;
}

/** A container's reported state, recorded on the task; false when the task has no such container. */
export function recordContainer(task: Task, taskId: string, r: ContainerReport): boolean {
  const c = task.containers?.find((x) => x.name === r.name);
  if (!c) return false;
  c.lastStatus = r.lastStatus;
  if (r.pid !== undefined) c.runtimeId = `${taskId}-${r.name}-${r.pid}`;
  if (r.exitCode !== undefined) c.exitCode = r.exitCode;
  if (r.reason !== undefined) c.reason = r.reason;
  if (r.healthStatus !== undefined) c.healthStatus = r.healthStatus;
  return true;
}

type Health = NonNullable<Task["healthStatus"]>;

/**
 * The task's healthStatus from its containers' (HealthCheck, "healthStatus values for a task",
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html): the essential
 * containers with a health check decide (non-essential ones only when no essential container has
 * one); UNHEALTHY if any of them is, else UNKNOWN if any of them is, else HEALTHY. A task with no
 * health check at all is UNKNOWN.
 */
export function taskHealth(task: Task, defs: ContainerDefinition[]): Health {
  const checked = defs.filter((d) => d.healthCheck);
  const essential = checked.filter((d) => d.essential !== false);
  const deciding = essential.length > 0 ? essential : checked;
  if (deciding.length === 0) return "UNKNOWN";
  const statuses = deciding.map((d) => task.containers?.find((c) => c.name === d.name)?.healthStatus ?? "UNKNOWN");
  if (statuses.includes("UNHEALTHY")) return "UNHEALTHY";
  if (statuses.includes("UNKNOWN")) return "UNKNOWN";
  return "HEALTHY";
}

/** Whether any container of the task has a health check (a service then waits for HEALTHY). */
export function hasHealthChecks(defs: ContainerDefinition[]): boolean {
  return defs.some((d) => d.healthCheck);
}
