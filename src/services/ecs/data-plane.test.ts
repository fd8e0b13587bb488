/**
 * The data plane against a recording stand-in for KMS (the real KMS is exercised by the
 * integration tests): the order, principals and parameters of Fargate's KMS calls, the task
 * lifecycle, failures, and the service scheduler's rolling deployment.
 */
import { afterEach, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Store } from "../../store/store.ts";
import { ServiceClock } from "../../clock/clock.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { rootPrincipal } from "../../auth/principal.ts";
import type { AppContext, InvokeOptions, RequestContext } from "../../kernel/context.ts";
import type { ServiceDef } from "../../kernel/service.ts";
import type { EcsOperation } from "../../protocol/shapes/ecs.gen.ts";
import { FargateDataPlane, type HostRuntime } from "../../fargate/reconciler.ts";
import { metadataUri } from "../../fargate/metadata.ts";
import { PlainDriver, newVolumeId } from "../../fargate/storage/index.ts";
import { TaskUserPool } from "../../fargate/task-users.ts";
import { EcsTaskRoles } from "./task-roles.ts";
import { TaskOutputStore } from "../../fargate/task-output.ts";
import { EcsState, type TaskRecord } from "./state.ts";
import { ecsOperations } from "./index.ts";
import { EcsController } from "./controller.ts";
import { ecsTaskReports, invokeFargateKms } from "./fargate-port.ts";

interface Call {
  op: string;
  input: Record<string, unknown>;
  principal: string;
  invokedBy?: string;
}

class FakeKms {
  calls: Call[] = [];
  state: Record<string, "Enabled" | "Disabled" | "PendingDeletion"> = {};
  denyFargate = new Set<string>();
  grants = new Map<string, { key: string; retired: boolean }>();
  keyArn(id: string) {
    return id.startsWith("arn:") ? id : `arn:aws:kms:us-east-1:000000000000:key/${id}`;
  }
  async invoke(op: string, input: Record<string, unknown>, opts: InvokeOptions): Promise<unknown> {
    this.calls.push({ op, input, principal: opts.principal.arn, invokedBy: opts.principal.invokedBy });
    const arn = this.keyArn(String(input.KeyId));
    const st = this.state[arn];
    if (!st) throw new ServiceError("NotFoundException", `Key '${arn}' does not exist`);
    if (op === "DescribeKey")
      return { KeyMetadata: { Arn: arn, KeyId: arn.split("/")[1], KeyState: st, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", MultiRegion: false } };
    if (op === "RetireGrant") {
      this.grants.get(String(input.GrantId))!.retired = true;
      return {};
    }
    if (st === "Disabled") throw new ServiceError("DisabledException", `${arn} is disabled.`);
    if (st === "PendingDeletion") throw new ServiceError("KMSInvalidStateException", `${arn} is pending deletion.`);
    if (opts.principal.arn === "fargate.amazonaws.com" && this.denyFargate.has(arn))
      throw new ServiceError("AccessDeniedException", `fargate.amazonaws.com is not authorized to perform: kms:${op}`);
    if (input.DryRun) throw new ServiceError("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.");
    if (op === "GenerateDataKeyWithoutPlaintext") return { CiphertextBlob: randomBytes(100), KeyId: arn };
    if (op === "CreateGrant") {
      const id = randomBytes(32).toString("hex");
      this.grants.set(id, { key: arn, retired: false });
      return { GrantId: id, GrantToken: "token-" + id };
    }
    if (op === "Decrypt") return { Plaintext: randomBytes(64), KeyId: arn };
    throw new Error(`unexpected ${op}`);
  }
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(host?: Promise<HostRuntime<TaskRecord>>) {
  const dir = mkdtempSync(join(tmpdir(), "lf-dp-"));
  const store = new Store(null);
  const kms = new FakeKms();
  const provided = new Map<string, unknown>();
  const app = {
    store,
    clock: new ServiceClock(0),
    dataDir: null,
    defaultAccountId: "000000000000",
    services: new Map(),
    credentialProviders: [],
    dueRunners: [],
    health: {},
    get: (name: string) => provided.get(name),
    find: (name: string) => provided.get(name),
    options: {},
    invoke: (_svc: string, op: string, input: Record<string, unknown>, opts: InvokeOptions) => kms.invoke(op, input, opts),
  } as unknown as AppContext;
  const state = new EcsState(store);
  provided.set("ecs", state);
  const plane = new FargateDataPlane<TaskRecord>(
    {
      kms: invokeFargateKms(app),
      reports: ecsTaskReports(state, app.clock),
      clock: app.clock,
      driver: new PlainDriver(dir),
      newVolumeId,
      users: new TaskUserPool(),
      metadataUri: (t, c) => metadataUri(app, t, c),
      roleEnvironment: async () => ({}),
      roles: new EcsTaskRoles(app),
      output: new TaskOutputStore(join(dir, "task-output"), randomBytes(32), () => app.clock.nowMs()),
    },
    host,
  );
  const controller = new EcsController(app, state, plane);
  state.onTaskChange.push(() => controller.poke());
  const ops = ecsOperations(state, plane, controller);
  const svc = { name: "ecs", operations: ops } as unknown as ServiceDef;
  const call = async <O>(op: EcsOperation, input: Record<string, unknown>): Promise<O> => {
    const afterCommit: (() => void)[] = [];
    const ctx = {
      requestId: "r",
      service: svc,
      operation: op,
      region: "us-east-1",
      principal: rootPrincipal("000000000000"),
      sourceIp: "127.0.0.1",
      userAgent: "t",
      secureTransport: false,
      now: app.clock.now(),
      app,
      writes: [],
      audit: {},
      internal: false,
      afterCommit: (fn: () => void) => afterCommit.push(fn),
    } as unknown as RequestContext;
    const out = await ops[op].handler(ctx, input, ops[op].resolve?.(ctx, input));
    await store.commit(ctx.writes);
    for (const fn of afterCommit) fn();
    return out as O;
  };
  cleanup.push(async () => {
    controller.close();
    await plane.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { app, kms, state, plane, controller, call };
}

const NET = { awsvpcConfiguration: { subnets: ["subnet-1"] } };
const TD = {
  family: "app",
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "c", image: "x", command: ["sleep", "60"], stopTimeout: 1 }],
};

/** Polls for up to a minute of wall-clock time, however slow a loaded host makes each step. */
async function until<T>(f: () => T | undefined | false, what: string): Promise<T> {
  const end = performance.now() + 60_000;
  for (;;) {
    const v = f();
    if (v) return v;
    if (performance.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("Fargate data plane", () => {
  it("launches a task RunTask accepted while the host was still being prepared once it is, and not before", async () => {
    let prepared!: (h: HostRuntime<TaskRecord>) => void;
    const { state, plane, call } = await setup(new Promise((r) => (prepared = r)));
    await call("CreateCluster", { clusterName: "c1" });
    await call("RegisterTaskDefinition", TD);
    const run = await call<{ tasks: { taskArn: string; lastStatus: string }[] }>("RunTask", {
      cluster: "c1",
      taskDefinition: "app",
      launchType: "FARGATE",
      networkConfiguration: NET,
    });
    const arn = run.tasks[0].taskArn;
    expect(run.tasks[0].lastStatus).toBe("PROVISIONING");
    await new Promise((r) => setTimeout(r, 100));
    // accepted and counted as this run's, but nothing of it started: no volume, no runner
    expect(plane.isRunning(arn)).toBe(true);
    expect(plane.runners.has(arn)).toBe(false);
    expect(state.tasks.get(arn)!.task.lastStatus).toBe("PROVISIONING");
    expect(state.tasks.get(arn)!.storage.volumeId).toBeUndefined();
    prepared({});
    await until(() => state.tasks.get(arn)!.task.lastStatus === "RUNNING", "RUNNING");
    expect(state.tasks.get(arn)!.storage.volumeId).toMatch(/^vol-/);
  });

  it("launches nothing when the host could not be prepared", async () => {
    let failed!: (e: Error) => void;
    const { state, plane, call } = await setup(new Promise((_, reject) => (failed = reject)));
    await call("CreateCluster", { clusterName: "c1" });
    await call("RegisterTaskDefinition", TD);
    const run = await call<{ tasks: { taskArn: string }[] }>("RunTask", { cluster: "c1", taskDefinition: "app", launchType: "FARGATE", networkConfiguration: NET });
    const arn = run.tasks[0].taskArn;
    failed(new Error("crun is not available"));
    await new Promise((r) => setTimeout(r, 100));
    expect(plane.runners.has(arn)).toBe(false);
    expect(state.tasks.get(arn)!.storage.volumeId).toBeUndefined();
  });

  it("makes AWS's KMS calls in order, as the right principals, and retires the grant at stop", async () => {
    const { kms, state, call } = await setup();
    const key = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555";
    kms.state[key] = "Enabled";
    await call("CreateCluster", { clusterName: "c1", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: "11111111-2222-3333-4444-555555555555" } } });
    expect(kms.calls.map((c) => `${c.op}${c.input.DryRun ? "(DryRun)" : ""}:${c.principal}`)).toEqual([
      "DescribeKey:arn:aws:iam::000000000000:root",
      "GenerateDataKeyWithoutPlaintext(DryRun):fargate.amazonaws.com",
      "CreateGrant(DryRun):fargate.amazonaws.com",
    ]);
    kms.calls = [];
    await call("RegisterTaskDefinition", TD);
    const run = await call<{ tasks: { taskArn: string }[] }>("RunTask", { cluster: "c1", taskDefinition: "app", launchType: "FARGATE", networkConfiguration: NET });
    const t = state.tasks.get(run.tasks[0].taskArn)!;
    const seen: string[] = [];
    state.onTaskChange.push((x) => x.arn === t.arn && seen.push(x.task.lastStatus!));
    await until(() => seen.includes("RUNNING"), "RUNNING");
    expect(seen).toEqual(["PENDING", "ACTIVATING", "RUNNING"]);
    const vol = t.storage.volumeId!;
    expect(vol).toMatch(/^vol-[0-9a-f]{17}$/);
    const ctx2 = { "aws:ecs:clusterAccount": "000000000000", "aws:ecs:clusterName": "c1" };
    const ctx3 = { ...ctx2, "aws:ebs:id": vol };
    expect(kms.calls.map((c) => [c.op, c.principal, c.invokedBy])).toEqual([
      ["GenerateDataKeyWithoutPlaintext", "fargate.amazonaws.com", "fargate.amazonaws.com"],
      ["CreateGrant", "fargate.amazonaws.com", "fargate.amazonaws.com"],
      ["GenerateDataKeyWithoutPlaintext", "fargate.amazonaws.com", "ec2-frontend-api.amazonaws.com"],
      ["CreateGrant", "fargate.amazonaws.com", "ec2-frontend-api.amazonaws.com"],
      ["Decrypt", "fargate.us-east-1.amazonaws.com", "fargate.amazonaws.com"],
    ]);
    expect(kms.calls[0].input).toEqual({ KeyId: key, EncryptionContext: ctx2, NumberOfBytes: 64, DryRun: true });
    expect(kms.calls[2].input).toEqual({ KeyId: key, EncryptionContext: ctx3, NumberOfBytes: 64 });
    expect(kms.calls[3].input).toEqual({
      KeyId: key,
      GranteePrincipal: "fargate.us-east-1.amazonaws.com",
      Operations: ["Decrypt"],
      Constraints: { EncryptionContextSubset: ctx3 },
      RetiringPrincipal: "ec2.us-east-1.amazonaws.com",
    });
    expect(kms.calls[4].input.GrantTokens).toHaveLength(1);
    expect(t.task.fargateEphemeralStorage).toEqual({ sizeInGiB: 20, kmsKeyId: key });
    kms.calls = [];
    await call("StopTask", { cluster: "c1", task: t.arn });
    await until(() => seen.includes("STOPPED"), "STOPPED");
    expect(seen.slice(3)).toEqual(["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"]);
    expect(kms.calls.map((c) => [c.op, c.principal, c.invokedBy])).toEqual([["RetireGrant", "ec2.us-east-1.amazonaws.com", "AWS Internal"]]);
    expect([...kms.grants.values()].every((g) => g.retired)).toBe(true);
    expect(t.task.stopCode).toBe("UserInitiated");
  });

  it("without a cluster key makes no KMS call", async () => {
    const { kms, state, call } = await setup();
    await call("CreateCluster", { clusterName: "plain" });
    await call("RegisterTaskDefinition", TD);
    const run = await call<{ tasks: { taskArn: string }[] }>("RunTask", { cluster: "plain", taskDefinition: "app", launchType: "FARGATE", networkConfiguration: NET });
    const t = state.tasks.get(run.tasks[0].taskArn)!;
    await until(() => t.task.lastStatus === "RUNNING", "RUNNING");
    expect(kms.calls).toEqual([]);
    expect(t.task.fargateEphemeralStorage).toEqual({ sizeInGiB: 20 });
  });

  it("the first due run after start leaves a task launched before it alone (leftovers were cleaned at start)", async () => {
    const { state, controller, call, app } = await setup();
    await call("CreateCluster", { clusterName: "early" });
    await call("RegisterTaskDefinition", TD);
    const run = await call<{ tasks: { taskArn: string }[] }>("RunTask", { cluster: "early", taskDefinition: "app", launchType: "FARGATE", networkConfiguration: NET });
    const t = state.tasks.get(run.tasks[0].taskArn)!;
    await until(() => t.task.lastStatus === "RUNNING", "RUNNING");
    const mountPath = t.storage.mountPath!;
    await controller.runDue(app.clock.nowMs());
    expect(t.task.lastStatus).toBe("RUNNING");
    expect(existsSync(mountPath)).toBe(true);
  });

  it("a task stopped before the data plane picked it up still reaches STOPPED", async () => {
    const { state, call } = await setup();
    await call("CreateCluster", { clusterName: "quick" });
    await call("RegisterTaskDefinition", TD);
    const run = await call<{ tasks: { taskArn: string }[] }>("RunTask", { cluster: "quick", taskDefinition: "app", launchType: "FARGATE", networkConfiguration: NET });
    await call("StopTask", { cluster: "quick", task: run.tasks[0].taskArn, reason: "changed my mind" });
    const t = state.tasks.get(run.tasks[0].taskArn)!;
    await until(() => t.task.lastStatus === "STOPPED", "STOPPED");
    expect(t.task.stopCode).toBe("UserInitiated");
    expect(t.task.stoppedReason).toBe("changed my mind");
    expect(t.task.startedAt).toBeUndefined();
  });

  it("a disabled key stops the new task with TaskFailedToStart", async () => {
    const { kms, state, call } = await setup();
    const key = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555556";
    kms.state[key] = "Enabled";
    await call("CreateCluster", { clusterName: "c2", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key } } });
    await call("RegisterTaskDefinition", TD);
    kms.state[key] = "Disabled";
    const run = await call<{ tasks: { taskArn: string }[] }>("RunTask", { cluster: "c2", taskDefinition: "app", launchType: "FARGATE", networkConfiguration: NET });
    const t = state.tasks.get(run.tasks[0].taskArn)!;
    await until(() => t.task.lastStatus === "STOPPED", "STOPPED");
    expect(t.task.stopCode).toBe("TaskFailedToStart");
    expect(t.task.stoppedReason).toBe(`ResourceInitializationError: failed to create ephemeral storage: KMS key ${key} is disabled. (DisabledException)`);
    expect(t.task.startedAt).toBeUndefined();
  });

  it("rolls a service onto the cluster's new key without going below minimumHealthyPercent", async () => {
    const { kms, state, call } = await setup();
    const a = "arn:aws:kms:us-east-1:000000000000:key/aaaaaaaa-2222-3333-4444-555555555555";
    const b = "arn:aws:kms:us-east-1:000000000000:key/bbbbbbbb-2222-3333-4444-555555555555";
    kms.state[a] = "Enabled";
    kms.state[b] = "Enabled";
    await call("CreateCluster", { clusterName: "r", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: a } } });
    await call("RegisterTaskDefinition", TD);
    await call("CreateService", { cluster: "r", serviceName: "s", taskDefinition: "app", desiredCount: 4, launchType: "FARGATE", networkConfiguration: NET });
    const svcArn = "arn:aws:ecs:us-east-1:000000000000:service/r/s";
    const svcTasks = () => [...state.tasks.values()].filter((t) => t.serviceArn === svcArn);
    const runningOf = () => svcTasks().filter((t) => t.task.lastStatus === "RUNNING");
    await until(() => runningOf().length === 4 && state.services.get(svcArn)!.steady, "steady");
    let minRunning = Infinity;
    let maxLive = 0;
    state.onTaskChange.push(() => {
      minRunning = Math.min(minRunning, runningOf().length);
      maxLive = Math.max(maxLive, svcTasks().filter((t) => t.task.desiredStatus === "RUNNING" && t.task.lastStatus !== "STOPPED").length);
    });
    await call("UpdateCluster", { cluster: "r", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: b } } });
    await call("UpdateService", { cluster: "r", service: "s", forceNewDeployment: true });
    await until(() => {
      const s = state.services.get(svcArn)!;
      return s.deployments.length === 1 && s.deployments[0].rolloutState === "COMPLETED" && runningOf().length === 4 && runningOf().every((t) => t.kmsKeyArn === b);
    }, "rolled");
    expect(minRunning).toBeGreaterThanOrEqual(4);
    expect(maxLive).toBeLessThanOrEqual(8);
    const events = state.services.get(svcArn)!.events.map((e) => e.message);
    expect(events[0]).toBe("(service s) has reached a steady state.");
  });
});
