/**
 * A task's desired state, as the ECS control plane changes it. Its last status moves through
 * PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING →
 * STOPPED ("Task lifecycle", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html);
 * a stop request sets desiredStatus STOPPED with its stop code and reason, once.
 */
import type { Task } from "@aws-sdk/client-ecs";

/** Marks the task to stop; false when it was already asked to (the first stop's reason stays). */
export function requestStop(task: Task, stopCode: Task["stopCode"], reason: string, now: Date): boolean {
  if (task.desiredStatus === "STOPPED") return false;
  task.desiredStatus = "STOPPED";
  task.stopCode = stopCode;
  task.stoppedReason = reason;
  task.stoppingAt = now;
  return true;
}
