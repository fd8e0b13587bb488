import { describe, it, expect } from "vitest";
import { Store } from "../store/store.ts";
import { ServiceClock } from "../clock/clock.ts";
import { ServiceError } from "../kernel/errors.ts";
import type { AppContext, AuditSink } from "../kernel/context.ts";
import { defineOperation } from "../kernel/operation.ts";
import type { ServiceDef } from "../kernel/service.ts";
import { execute, newContext } from "./dispatcher.ts";

const ROOT = { type: "Root" as const, accountId: "111122223333", arn: "arn:aws:iam::111122223333:root", principalId: "111122223333" };

/** A service of one operation whose resolve counts its calls; the app records what the audit sink is given. */
function setup(resolveThrows = false) {
  const calls = { resolve: 0, authorizeSaw: [] as unknown[], handlerSaw: [] as unknown[] };
  const records: Record<string, unknown>[] = [];
  const op = defineOperation<{ Name?: string }, { Out: string }, { arn: string }>({
    resolve(_ctx, input) {
      calls.resolve++;
      if (resolveThrows) throw new ServiceError("NotFoundException", `no thing ${input.Name}`, 400);
      return { arn: `arn:aws:test:::thing/${input.Name}` };
    },
    authorize(_ctx, _input, resolved) {
      calls.authorizeSaw.push(resolved);
      return [{ action: "test:Get", resource: resolved.arn }];
    },
    handler: function getThing(_ctx, _input, resolved) {
      calls.handlerSaw.push(resolved);
      return { Out: resolved.arn };
    },
    audit: { resources: (ctx, _i, resolved) => [{ ARN: resolved.arn, accountId: ctx.principal.accountId, type: "AWS::Test::Thing" }] },
  });
  const svc: ServiceDef = { name: "test", signingName: "test", iamPrefix: "test", protocol: "json", eventSource: "test.amazonaws.com", operations: { GetThing: op } };
  const sink: AuditSink = { record: (r) => (records.push(r), []), serviceEvent: () => [] };
  const app = {
    store: new Store(null),
    clock: new ServiceClock(0),
    services: new Map([["test", svc]]),
    credentialProviders: [],
    dueRunners: [],
    health: {},
    auditSink: sink,
    options: {},
  } as unknown as AppContext;
  const ctx = newContext(app, svc, "GetThing", { region: "us-east-1", principal: ROOT, sourceIp: "127.0.0.1", userAgent: "test", secureTransport: false, internal: false });
  return { calls, records, ctx };
}

describe("the dispatcher runs the operation contract", () => {
  it("resolves once and hands the value to authorize, the handler and the audit record", async () => {
    const { calls, records, ctx } = setup();
    const out = await execute(ctx, () => ({ Name: "a" }));
    expect(out).toEqual({ Out: "arn:aws:test:::thing/a" });
    expect(calls.resolve).toBe(1);
    expect(calls.authorizeSaw).toEqual([{ arn: "arn:aws:test:::thing/a" }]);
    expect(calls.handlerSaw).toEqual([{ arn: "arn:aws:test:::thing/a" }]);
    expect(records).toHaveLength(1);
    expect(records[0].resources).toEqual([{ ARN: "arn:aws:test:::thing/a", accountId: "111122223333", type: "AWS::Test::Thing" }]);
  });

  it("answers a resolve error as the call's error, audited, without authorizing or running the handler", async () => {
    const { calls, records, ctx } = setup(true);
    await expect(execute(ctx, () => ({ Name: "b" }))).rejects.toMatchObject({ code: "NotFoundException", message: "no thing b" });
    expect(calls.authorizeSaw).toEqual([]);
    expect(calls.handlerSaw).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0].errorCode).toBe("NotFoundException");
  });
});

describe("after-commit work", () => {
  /** An operation that writes one row and queues work for after its commit. */
  function committing(failCommit: boolean) {
    const store = new Store(null);
    const ran: { sawRow: boolean }[] = [];
    const op = defineOperation<object, object>({
      authorize: () => null,
      handler: function putThing(ctx) {
        ctx.writes.push(
          failCommit
            ? () => {
                throw new Error("disk I/O error");
              }
            : store.put("thing", "a", { a: 1 }),
        );
        ctx.afterCommit(() => ran.push({ sawRow: store.db.prepare("SELECT 1 FROM entities WHERE kind = 'thing' AND id = 'a'").get() !== undefined }));
        return {};
      },
    });
    const svc: ServiceDef = { name: "test", signingName: "test", iamPrefix: "test", protocol: "json", eventSource: "test.amazonaws.com", operations: { PutThing: op } };
    const app = {
      store,
      clock: new ServiceClock(0),
      services: new Map([["test", svc]]),
      credentialProviders: [],
      dueRunners: [],
      health: {},
      options: {},
    } as unknown as AppContext;
    const ctx = newContext(app, svc, "PutThing", { region: "us-east-1", principal: ROOT, sourceIp: "127.0.0.1", userAgent: "test", secureTransport: false, internal: false });
    return { ran, ctx };
  }

  it("runs once the call's writes are durable", async () => {
    const { ran, ctx } = committing(false);
    await execute(ctx, () => ({}));
    expect(ran).toEqual([{ sawRow: true }]);
  });

  it("never runs when the commit fails, and the call answers the failure", async () => {
    const { ran, ctx } = committing(true);
    await expect(execute(ctx, () => ({}))).rejects.toMatchObject({ code: "InternalFailure" });
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual([]);
  });
});
