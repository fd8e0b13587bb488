import { describe, expect, it } from "vitest";
import type { AppContext, InvokeOptions } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { EcsTaskRoles, RENEW_BEFORE_MS, RETRY_REFUSED_MS, TASK_CREDENTIALS_SECONDS } from "./task-roles.ts";
import type { TaskRecord } from "./state.ts";

const ROLE = "arn:aws:iam::000000000000:role/app";

/** An app whose STS answers AssumeRole from `answer`, on a clock the test moves. */
function fakeApp(answer: (n: number) => "ok" | "deny") {
  let now = Date.parse("2026-12-06T12:00:00Z");
  const calls: { input: Record<string, unknown>; opts: InvokeOptions }[] = [];
  let release: () => void = () => undefined;
  let gate: Promise<void> = Promise.resolve();
  const app = {
    clock: { nowMs: () => now, now: () => new Date(now) },
    async invoke(_svc: string, _op: string, input: Record<string, unknown>, opts: InvokeOptions) {
      calls.push({ input, opts });
      const n = calls.length;
      await gate;
      if (answer(n) === "deny") throw new ServiceError("AccessDenied", "User: ecs-tasks.amazonaws.com is not authorized to perform: sts:AssumeRole", 403);
      return {
        Credentials: { AccessKeyId: `ASIA${n}`, SecretAccessKey: "s", SessionToken: "t", Expiration: new Date(now + (input.DurationSeconds as number) * 1000) },
      };
    },
  } as unknown as AppContext;
  return {
    app,
    calls,
    advance: (ms: number) => (now += ms),
    hold() {
      gate = new Promise((r) => (release = r));
    },
    release: () => release(),
  };
}

function task(extra: Partial<TaskRecord> = {}): TaskRecord {
  return {
    arn: "arn:aws:ecs:us-east-1:000000000000:task/c/abc123",
    id: "abc123",
    accountId: "000000000000",
    region: "us-east-1",
    task: { lastStatus: "RUNNING" },
    taskRoleArn: ROLE,
    ...extra,
  } as TaskRecord;
}

describe("ECS task roles", () => {
  it("assumes the role as ecs-tasks.amazonaws.com for the task, six hours, session name = task id", async () => {
    const f = fakeApp(() => "ok");
    const roles = new EcsTaskRoles(f.app);
    const id = await roles.startTaskRole(task());
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0].input).toEqual({ RoleArn: ROLE, RoleSessionName: "abc123", DurationSeconds: TASK_CREDENTIALS_SECONDS });
    expect(f.calls[0].opts.principal).toMatchObject({
      type: "AWSService",
      arn: "ecs-tasks.amazonaws.com",
      accountId: "000000000000",
      sourceArn: task().arn,
      sourceAccount: "000000000000",
    });
    expect(f.calls[0].opts.region).toBe("us-east-1");
    expect(await roles.startTaskRole(task({ taskRoleArn: undefined, arn: "other" }))).toBeUndefined();
  });

  it("makes one AssumeRole for concurrent requests, renews only when less than an hour is left", async () => {
    const f = fakeApp(() => "ok");
    const roles = new EcsTaskRoles(f.app);
    const id = (await roles.startTaskRole(task()))!;
    f.advance(TASK_CREDENTIALS_SECONDS * 1000 - RENEW_BEFORE_MS - 1000);
    expect((await roles.credentials(id))!.accessKeyId).toBe("ASIA1");
    f.advance(2000);
    f.hold();
    const both = Promise.all([roles.credentials(id), roles.credentials(id)]);
    f.release();
    const [a, b] = await both;
    expect(a!.accessKeyId).toBe("ASIA2");
    expect(b!.accessKeyId).toBe("ASIA2");
    expect(f.calls).toHaveLength(2);
  });

  it("keeps serving unexpired credentials when a renewal is refused, then serves none", async () => {
    const f = fakeApp((n) => (n === 1 ? "ok" : "deny"));
    const roles = new EcsTaskRoles(f.app);
    const id = (await roles.startTaskRole(task()))!;
    f.advance(TASK_CREDENTIALS_SECONDS * 1000 - RENEW_BEFORE_MS / 2);
    expect((await roles.credentials(id))!.accessKeyId).toBe("ASIA1");
    f.advance(RENEW_BEFORE_MS);
    expect(await roles.credentials(id)).toBeUndefined();
  });

  it("retries a refused role at most once per RETRY_REFUSED_MS", async () => {
    const f = fakeApp((n) => (n < 3 ? "deny" : "ok"));
    const roles = new EcsTaskRoles(f.app);
    const id = (await roles.startTaskRole(task()))!;
    for (let i = 0; i < 5; i++) expect(await roles.credentials(id)).toBeUndefined();
    expect(f.calls).toHaveLength(1);
    f.advance(RETRY_REFUSED_MS);
    expect(await roles.credentials(id)).toBeUndefined();
    expect(f.calls).toHaveLength(2);
    f.advance(RETRY_REFUSED_MS);
    expect((await roles.credentials(id))!.accessKeyId).toBe("ASIA3");
  });

  it("stops serving at the end of the task, also a renewal that was under way", async () => {
    const f = fakeApp(() => "ok");
    const roles = new EcsTaskRoles(f.app);
    const t = task();
    const id = (await roles.startTaskRole(t))!;
    f.advance(TASK_CREDENTIALS_SECONDS * 1000);
    f.hold();
    const pending = roles.credentials(id);
    roles.endTaskRole(t);
    f.release();
    expect(await pending).toBeUndefined();
    expect(await roles.credentials(id)).toBeUndefined();
  });

  it("assumes the execution role the same way, and keeps nothing for a stopped task", async () => {
    const f = fakeApp(() => "ok");
    const roles = new EcsTaskRoles(f.app);
    const exec = "arn:aws:iam::000000000000:role/exec";
    expect(await roles.executionRole(task())).toBeUndefined();
    const out = await roles.executionRole(task({ executionRoleArn: exec }));
    expect(out).toMatchObject({ ok: true, credentials: { roleArn: exec, accessKeyId: "ASIA1" } });
    expect(f.calls[0].input).toMatchObject({ RoleArn: exec, RoleSessionName: "abc123" });
    await roles.executionRole(task({ executionRoleArn: exec }));
    expect(f.calls).toHaveLength(1);
    const stopped = task({ executionRoleArn: exec, arn: "arn:aws:ecs:us-east-1:000000000000:task/c/gone", task: { lastStatus: "STOPPED" } });
    await roles.executionRole(stopped);
    await roles.executionRole(stopped);
    expect(f.calls).toHaveLength(3);
  });
});
