/**
 * `GET /_localfargate/logs`: a Fargate task's container output (docs/ecs-fargate.md#task-output),
 * what `localfargate logs TASK` reads. The port is reachable by every local process and web page,
 * so the request must be SigV4-signed for the `ecs` service, and it is answered exactly as
 * DescribeTasks would be for the same caller: the task is looked up in the caller's account and
 * the signed Region, and the caller must be allowed `ecs:DescribeTasks` on its cluster. A task
 * that is not there, or not the caller's, is not found.
 *
 * Query: `task` (ARN, or ID with `cluster`), `cluster`, `container`, `cursor` (from the previous
 * answer) and `wait` (seconds, at most 20: answer as soon as there is output or the task has
 * stopped). Answer: `{ taskArn, containers, records: [{container, stream, timestamp, data (base64)}],
 * cursor, done }`;
 * `done` once the task has stopped and everything it wrote has been read.
 */
import { randomUUID } from "node:crypto";
import type { DescribeTasksRequest, DescribeTasksResponse } from "@aws-sdk/client-ecs";
import { authenticate } from "../auth/credentials.ts";
import { authorizeChecks } from "../authz/authorize.ts";
import type { AppContext } from "../kernel/context.ts";
import type { ServiceDef } from "../kernel/service.ts";
import { ServiceError } from "../kernel/errors.ts";
import type { FargateDataPlane } from "../fargate/reconciler.ts";
import { InvalidCursor } from "../fargate/task-output.ts";
import { SealError } from "../store/sealing.ts";
import { newContext } from "./dispatcher.ts";
import { recordTaskOutputRead, type TaskOutputRead } from "./task-output-audit.ts";

export const TASK_OUTPUT_PATH = "/_localfargate/logs";
/** The longest a request waits for output (well inside every client's idle timeout). */
export const MAX_WAIT_SECONDS = 20;
/** Requests that may wait at once; further ones are answered at once (the client asks again). */
const MAX_WAITERS = 64;
let waiting = 0;

export interface TaskOutputRequest {
  method: string;
  path: string;
  rawQuery: string;
  headers: Record<string, string>;
  body: Buffer;
  sourceIp: string;
}

export interface TaskOutputReply {
  status: number;
  body: unknown;
  /** the request's id, as its CloudTrail record names it */
  requestId?: string;
}

const TASK_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/([A-Za-z0-9_-]{1,255})\/([a-f0-9]{32})$/;

function failure(e: ServiceError): TaskOutputReply {
  return { status: e.status, body: { __type: e.code, message: e.message } };
}

const invalid = (message: string) => failure(new ServiceError("InvalidParameterException", message, 400));

export async function handleTaskOutput(app: AppContext, req: TaskOutputRequest): Promise<TaskOutputReply> {
  if (req.method !== "GET") return { status: 405, body: { __type: "MethodNotAllowed", message: "Use GET." } };
  const ecs = app.services.get("ecs");
  const plane = app.find("fargate") as FargateDataPlane | undefined;
  if (!ecs || !plane) return { status: 404, body: { __type: "NotFound", message: "This server runs no ECS." } };
  let who;
  try {
    who = authenticate(app, { method: req.method, path: req.path, query: req.rawQuery, headers: req.headers, body: req.body }, "json", "ecs");
  } catch (e) {
    if (e instanceof ServiceError) return failure(e);
    throw e;
  }
  const q = new URLSearchParams(req.rawQuery);
  const requestId = randomUUID();
  const requestParameters: Record<string, string> = {};
  for (const name of ["task", "cluster", "container", "cursor", "wait"]) {
    const v = q.get(name);
    if (v !== null) requestParameters[name] = v;
  }
  const read = { requestId, region: who.region, principal: who.principal, sourceIp: req.sourceIp, userAgent: req.headers["user-agent"] ?? "", requestParameters };
  const answer = await readTaskOutput(app, req, q, read, ecs, plane);
  const body = answer.body as { __type?: string; message?: string; taskArn?: string };
  const error = answer.status >= 400 ? { code: body.__type ?? "InternalFailure", message: body.message ?? "", status: answer.status } : undefined;
  const recorded = await recordTaskOutputRead(app, ecs, { ...read, ...(body.taskArn ? { taskArn: body.taskArn } : {}), ...(error ? { error } : {}) });
  if (!recorded) return { status: 503, requestId, body: { __type: "ServiceUnavailable", message: "The request has failed due to a temporary failure of the server." } };
  return { ...answer, requestId };
}

/** The read itself, as the authenticated caller: DescribeTasks's lookup and authorization, then the output. */
async function readTaskOutput(
  app: AppContext,
  req: TaskOutputRequest,
  q: URLSearchParams,
  caller: Pick<TaskOutputRead, "requestId" | "region" | "principal">,
  ecs: ServiceDef,
  plane: FargateDataPlane,
): Promise<TaskOutputReply> {
  const taskRef = q.get("task") ?? "";
  const m = TASK_ARN.exec(taskRef);
  const cluster = q.get("cluster") ?? m?.[1] ?? "default";
  if (!m && !/^[a-f0-9]{32}$/.test(taskRef)) return invalid("task must be a task ARN or a task ID.");
  const container = q.get("container") ?? undefined;
  const waitText = q.get("wait") ?? "0";
  if (!/^\d{1,3}$/.test(waitText) || Number(waitText) > MAX_WAIT_SECONDS) return invalid(`wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}.`);
  if (app.store.disk.problem(0)) return { status: 503, body: { __type: "ServiceUnavailable", message: "The request has failed due to a temporary failure of the server." } };

  // DescribeTasks as the caller: the same lookup (account, Region, cluster) and the same authorization.
  const ctx = newContext(app, ecs, "DescribeTasks", {
    requestId: caller.requestId,
    region: caller.region,
    principal: caller.principal,
    sourceIp: req.sourceIp,
    userAgent: req.headers["user-agent"] ?? "",
    secureTransport: false,
    internal: false,
  });
  const op = ecs.operations.DescribeTasks!;
  const input: DescribeTasksRequest = { cluster, tasks: [taskRef] };
  let described: DescribeTasksResponse;
  try {
    const resolved = op.resolve ? await op.resolve(ctx, input) : undefined;
    const checks = op.authorize(ctx, input, resolved);
    if (checks) authorizeChecks(ctx, checks);
    described = (await op.handler(ctx, input, resolved)) as DescribeTasksResponse;
  } catch (e) {
    if (e instanceof ServiceError) return failure(e);
    throw e;
  }
  const task = described.tasks?.[0];
  if (!task?.taskArn) return failure(new ServiceError("InvalidParameterException", `The task ${taskRef} was not found in cluster ${cluster}.`, 400));
  if (container !== undefined && !task.containers?.some((c) => c.name === container)) {
    return invalid(`The task has no container named ${container}.`);
  }
  const arn = task.taskArn;
  const store = plane.output;
  // done: nothing more can be written (the record is STOPPED, or already gone, and no runner holds it)
  const finished = () => !store.isOpen(arn) && !plane.isRunning(arn) && (app.find("ecs")?.tasks.get(arn)?.task.lastStatus ?? "STOPPED") === "STOPPED";
  const read = () => store.read(arn, { cursor: q.get("cursor") ?? undefined, container });
  try {
    let page = read();
    const waitMs = Number(waitText) * 1000;
    if (page.records.length === 0 && page.caughtUp && waitMs > 0 && !finished() && waiting < MAX_WAITERS) {
      waiting++;
      try {
        if (store.isOpen(arn)) await store.wait(arn, waitMs);
        else await new Promise((r) => setTimeout(r, Math.min(waitMs, 500))); // not started yet
      } finally {
        waiting--;
      }
      page = read();
    }
    return {
      status: 200,
      body: {
        taskArn: arn,
        containers: (task.containers ?? []).map((c) => c.name),
        records: page.records.map((r) => ({ container: r.container, stream: r.stream, timestamp: r.timeMs, data: r.data.toString("base64") })),
        cursor: page.cursor,
        done: page.records.length === 0 && page.caughtUp && finished(),
      },
    };
  } catch (e) {
    if (e instanceof InvalidCursor) return invalid(e.message);
    if (e instanceof SealError) {
      console.error(`[localfargate] the stored output of task ${arn} does not open: ${e.message}`);
      return { status: 500, body: { __type: "InternalFailure", message: "The task's stored output is damaged and cannot be read." } };
    }
    throw e;
  }
}
