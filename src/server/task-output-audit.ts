/**
 * The CloudTrail record of a task output read (`GET /_localfargate/logs`, what `localfargate logs`
 * calls; docs/cloudtrail.md#task-output-reads). AWS has no API for a Fargate task's raw output,
 * so the read is recorded the way ECS records its own reads: eventSource `ecs.amazonaws.com`,
 * eventName `GetTaskOutput`, readOnly, a management event (so LookupEvents shows it), the
 * caller's identity, the task as the resource, and AWS's errorCode/errorMessage when the read
 * was refused. Every signed request is one record, each page of a `--follow` included.
 */
import type { AppContext } from "../kernel/context.ts";
import type { Principal } from "../kernel/principal.ts";
import { ServiceError } from "../kernel/errors.ts";
import type { ServiceDef } from "../kernel/service.ts";
import { buildRecord, storeRecordNow } from "../audit/record.ts";
import { newContext } from "./dispatcher.ts";

export const TASK_OUTPUT_EVENT_NAME = "GetTaskOutput";

export interface TaskOutputRead {
  requestId: string;
  region: string;
  principal: Principal;
  sourceIp: string;
  userAgent: string;
  /** what the request asked for: task, cluster, container, cursor, wait */
  requestParameters: Record<string, string>;
  /** the task's ARN once it was found */
  taskArn?: string;
  /** the refusal the caller got, if any */
  error?: { code: string; message: string; status: number };
}

/**
 * Records one read. Like any other call's, the record is durable before the answer goes out:
 * false when it could not be written (the caller then gets no output).
 */
export async function recordTaskOutputRead(app: AppContext, ecs: ServiceDef, read: TaskOutputRead): Promise<boolean> {
  const sink = app.auditSink;
  if (!sink) return true;
  const ctx = newContext(app, ecs, TASK_OUTPUT_EVENT_NAME, {
    requestId: read.requestId,
    region: read.region,
    principal: read.principal,
    sourceIp: read.sourceIp,
    userAgent: read.userAgent,
    secureTransport: false,
    internal: false,
  });
  ctx.audit.requestParameters = read.requestParameters;
  if (read.taskArn) ctx.audit.resources = [{ ARN: read.taskArn, accountId: read.taskArn.split(":")[4], type: "AWS::ECS::Task" }];
  const error = read.error ? new ServiceError(read.error.code, read.error.message, read.error.status) : undefined;
  const record = buildRecord(ctx, ecs, error ? { error } : {});
  record.readOnly = true;
  try {
    await storeRecordNow(app, sink, record, read.principal);
    return true;
  } catch (e) {
    app.store.disk.noteFailure(e);
    console.error(`[localfargate] could not record ${TASK_OUTPUT_EVENT_NAME} (request ${read.requestId}):`, e);
    return false;
  }
}
