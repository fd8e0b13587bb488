/**
 * Tasks of a closed account (Organizations CloseAccount) stop: a closed account can no longer use
 * AWS services (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-closing.html),
 * and the service scheduler starts no task for it. Its clusters, services and task definitions
 * stay as they were (docs/organizations.md#closing-an-account).
 */
import type { Task } from "@aws-sdk/client-ecs";
import type { AppContext } from "../../kernel/context.ts";
import type { TaskPlane } from "../../fargate/port.ts";
import { requestStop } from "./task-lifecycle.ts";
import type { EcsState, TaskRecord } from "./state.ts";

export const CLOSED_ACCOUNT_STOP_REASON = "Task stopped because its AWS account was closed";
/** AWS ends the task, not its owner or a service: the stop code of tasks AWS retires */
export const CLOSED_ACCOUNT_STOP_CODE: NonNullable<Task["stopCode"]> = "TerminationNotice";

export function accountIsClosed(app: AppContext, accountId: string): boolean {
  return app.find("organizations")?.isClosed(accountId) ?? false;
}

/** Asks every task of a closed account that is not stopping yet to stop; the stop is saved first. */
export async function stopClosedAccountTasks(app: AppContext, state: EcsState, plane: TaskPlane<TaskRecord>): Promise<void> {
  const closing = [...state.tasks.values()].filter((t) => t.task.desiredStatus !== "STOPPED" && accountIsClosed(app, t.accountId));
  if (closing.length === 0) return;
  const now = app.clock.now();
  const stopping = closing.map((t) => {
    const copy = structuredClone(t);
    requestStop(copy.task, CLOSED_ACCOUNT_STOP_CODE, CLOSED_ACCOUNT_STOP_REASON, now);
    return copy;
  });
  await state.store.commit(stopping.map((t) => state.taskWrite(t)));
  for (const t of closing) plane.stop(t, CLOSED_ACCOUNT_STOP_CODE, CLOSED_ACCOUNT_STOP_REASON);
}
