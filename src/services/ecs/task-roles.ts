/**
 * ECS's side of the task IAM roles (src/fargate/port.ts TaskRoles; docs/ecs-fargate.md#task-iam-roles).
 * As on Fargate, the control plane assumes a task's roles with sts:AssumeRole as the service
 * principal ecs-tasks.amazonaws.com, session name = the task id, so the task's code calls AWS as
 * `arn:aws:sts::<account>:assumed-role/<role>/<task id>`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html). The calls go
 * through app.invoke: the role's trust policy authorizes them and CloudTrail records them as
 * AWS does for ECS (userIdentity AWSService, invokedBy ecs-tasks.amazonaws.com).
 *
 * Credentials last six hours (the ECS task role default) and are renewed when a request finds
 * less than an hour left. They are kept in memory only, never written to disk; serving stops
 * when the task stops, while keys already handed out keep working until they expire, as STS
 * credentials do on AWS.
 */
import { randomUUID } from "node:crypto";
import type { AssumeRoleResponse } from "@aws-sdk/client-sts";
import { servicePrincipal } from "../../auth/principal.ts";
import type { AppContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { RoleCredentials, RoleOutcome, TaskRoles } from "../../fargate/port.ts";
import { ECS_TASKS_SERVICE } from "./pass-role.ts";
import type { TaskRecord } from "./state.ts";

/** The lifetime of task role credentials on ECS. */
export const TASK_CREDENTIALS_SECONDS = 6 * 3600;
/** Credentials with less than this left are renewed on the next request. */
export const RENEW_BEFORE_MS = 3600_000;

/** After a refused AssumeRole, requests are answered from the refusal for this long before it is tried again. */
export const RETRY_REFUSED_MS = 60_000;

interface Vended {
  task: TaskRecord;
  roleArn: string;
  current?: RoleCredentials;
  renewing?: Promise<RoleOutcome>;
  /** the last refusal and when it came (service-clock ms) */
  refused?: { outcome: RoleOutcome; atMs: number };
}

export class EcsTaskRoles implements TaskRoles<TaskRecord> {
  /** endpoint id → the task role it serves */
  private readonly byId = new Map<string, Vended>();
  /** task ARN → its endpoint id */
  private readonly idOfTask = new Map<string, string>();
  /** task ARN → its execution role */
  private readonly execution = new Map<string, Vended>();

  constructor(private readonly app: AppContext) {}

  private nowMs(): number {
    return this.app.clock.nowMs();
  }

  /** AssumeRole as ecs-tasks.amazonaws.com for the task, session name = the task id. */
  private async assume(t: TaskRecord, roleArn: string): Promise<RoleOutcome> {
    const principal = { ...servicePrincipal(ECS_TASKS_SERVICE, t.accountId), sourceArn: t.arn, sourceAccount: t.accountId };
    try {
      const out = await this.app.invoke<AssumeRoleResponse>(
        "sts",
        "AssumeRole",
        { RoleArn: roleArn, RoleSessionName: t.id, DurationSeconds: TASK_CREDENTIALS_SECONDS },
        { principal, region: t.region },
      );
      const c = out.Credentials!;
      return { ok: true, credentials: { roleArn, accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken!, expiration: c.Expiration! } };
    } catch (e) {
      if (e instanceof ServiceError) return { ok: false, code: e.code, message: e.message };
      throw e;
    }
  }

  /** The entry's credentials, renewed (one AssumeRole at a time) when less than RENEW_BEFORE_MS is left. */
  private async fresh(v: Vended): Promise<RoleOutcome> {
    const now = this.nowMs();
    if (v.current && v.current.expiration.getTime() - now > RENEW_BEFORE_MS) return { ok: true, credentials: v.current };
    // A task polling a role it cannot have does not turn each request into an AssumeRole (and a CloudTrail record).
    if (!v.refused || now - v.refused.atMs >= RETRY_REFUSED_MS) {
      v.renewing ??= this.assume(v.task, v.roleArn).finally(() => (v.renewing = undefined));
      const outcome = await v.renewing;
      if (outcome.ok) {
        v.current = outcome.credentials;
        v.refused = undefined;
        return outcome;
      }
      v.refused = { outcome, atMs: this.nowMs() };
    }
    const outcome = v.refused!.outcome;
    // A refused renewal leaves the credentials held so far in use until they expire.
    if (v.current && v.current.expiration.getTime() > this.nowMs()) return { ok: true, credentials: v.current };
    return outcome;
  }

  async startTaskRole(t: TaskRecord): Promise<string | undefined> {
    if (!t.taskRoleArn) return undefined;
    const id = this.idOfTask.get(t.arn) ?? randomUUID();
    const v: Vended = this.byId.get(id) ?? { task: t, roleArn: t.taskRoleArn };
    this.byId.set(id, v);
    this.idOfTask.set(t.arn, id);
    const outcome = await this.fresh(v);
    if (!outcome.ok) console.error(`[localfargate] task ${t.arn}: ECS was unable to assume the task role ${t.taskRoleArn}: ${outcome.code}: ${outcome.message}`);
    return id;
  }

  async credentials(id: string): Promise<RoleCredentials | undefined> {
    const v = this.byId.get(id);
    if (!v) return undefined;
    const outcome = await this.fresh(v);
    // the task may have stopped while the role was being assumed
    return outcome.ok && this.byId.get(id) === v ? outcome.credentials : undefined;
  }

  endTaskRole(t: TaskRecord): void {
    const id = this.idOfTask.get(t.arn);
    if (id !== undefined) this.byId.delete(id);
    this.idOfTask.delete(t.arn);
    this.execution.delete(t.arn);
  }

  async executionRole(t: TaskRecord): Promise<RoleOutcome | undefined> {
    if (!t.executionRoleArn) return undefined;
    let v = this.execution.get(t.arn);
    if (!v || v.roleArn !== t.executionRoleArn) {
      v = { task: t, roleArn: t.executionRoleArn };
      // a stopped task's role is assumed afresh each time, never kept
      if (t.task.lastStatus !== "STOPPED") this.execution.set(t.arn, v);
    }
    return this.fresh(v);
  }
}
