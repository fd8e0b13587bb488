/**
 * Fargate vCPU quotas: the vCPUs of an account's tasks that are not STOPPED, per Region and per
 * capacity (FARGATE / FARGATE_SPOT), may not exceed the quota. RunTask answers 200 with the
 * tasks over the quota in `failures`; a service records an event and starts the rest once
 * capacity frees up.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  CreateTaskSetCommand,
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  PutClusterCapacityProvidersCommand,
  RunTaskCommand,
  StopTaskCommand,
  UpdateServiceCommand,
  type RunTaskCommandInput,
} from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

const REASON = "You've reached the limit on the number of vCPUs you can run concurrently";

describe("Fargate vCPU quotas (configured: 1 vCPU on demand, 0.5 vCPU Spot)", () => {
  let server: TestServer;
  let ecs: ECSClient;
  let other: ECSClient;
  let west: ECSClient;
  let halfVcpu: string;

  beforeAll(async () => {
    server = await startTestServer({ fargateVcpuQuota: 1, fargateSpotVcpuQuota: 0.5 });
    ecs = new ECSClient(server.config);
    other = new ECSClient(server.configFor({ accessKeyId: "111111111111", secretAccessKey: "test" }));
    west = new ECSClient(server.configFor({ accessKeyId: "test", secretAccessKey: "test" }, "us-west-2"));
    for (const c of [ecs, other, west]) await c.send(new CreateClusterCommand({ clusterName: "q" }));
    halfVcpu = await registerSleeper(ecs, "half", undefined, { cpu: "512", memory: "1024" });
    await registerSleeper(other, "half", undefined, { cpu: "512", memory: "1024" });
    await registerSleeper(west, "half", undefined, { cpu: "512", memory: "1024" });
  });
  afterAll(async () => {
    await server?.close();
  });

  const run = (client: ECSClient, extra: Partial<RunTaskCommandInput> = {}) =>
    client.send(new RunTaskCommand({ cluster: "q", taskDefinition: "half", launchType: "FARGATE", networkConfiguration: NETWORK, ...extra }));

  it("RunTask places what fits and answers the rest in failures, with AWS's reason", async () => {
    const out = await run(ecs, { count: 3 });
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.tasks).toHaveLength(2);
    expect(out.failures).toEqual([{ reason: REASON }]);
    const none = await run(ecs);
    expect(none.tasks).toEqual([]);
    expect(none.failures).toEqual([{ reason: REASON }]);
    // a 0.25 vCPU override does not fit either: 1 vCPU is in use
    const small = await run(ecs, { overrides: { cpu: "256", memory: "512" } });
    expect(small.tasks).toEqual([]);
  });

  it("counts per account and per Region", async () => {
    const o = await run(other, { count: 2 });
    expect(o.tasks).toHaveLength(2);
    expect(o.failures).toEqual([]);
    const w = await run(west, { count: 2 });
    expect(w.tasks).toHaveLength(2);
  });

  it("a STOPPED task frees its vCPUs", async () => {
    const arns = (await ecs.send(new ListTasksCommand({ cluster: "q" }))).taskArns!;
    expect(arns).toHaveLength(2);
    await waitTask(ecs, "q", arns[0], running);
    await ecs.send(new StopTaskCommand({ cluster: "q", task: arns[0] }));
    // stopping still holds the vCPUs; STOPPED releases them
    await waitTask(ecs, "q", arns[0], stopped);
    const again = await run(ecs);
    expect(again.tasks).toHaveLength(1);
    expect(again.failures).toEqual([]);
  });

  it("FARGATE_SPOT has its own quota", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "spot" }));
    await ecs.send(new PutClusterCapacityProvidersCommand({ cluster: "spot", capacityProviders: ["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy: [] }));
    const out = await ecs.send(
      new RunTaskCommand({
        cluster: "spot",
        taskDefinition: halfVcpu,
        count: 2,
        capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
        networkConfiguration: NETWORK,
      }),
    );
    expect(out.tasks).toHaveLength(1);
    expect(out.tasks![0].capacityProviderName).toBe("FARGATE_SPOT");
    expect(out.failures).toEqual([{ reason: REASON }]);
  });

  it("a service starts what fits, records AWS's event once, and starts the rest when capacity frees", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "svc" }));
    // other account's tasks do not count; ours: 1 vCPU in use on demand from the tests above
    for (const arn of (await ecs.send(new ListTasksCommand({ cluster: "q" }))).taskArns!) {
      await ecs.send(new StopTaskCommand({ cluster: "q", task: arn }));
      await waitTask(ecs, "q", arn, stopped);
    }
    // a one-off task holds half the quota
    const holder = (await run(ecs, { cluster: "svc" })).tasks![0];
    await ecs.send(
      new CreateServiceCommand({ cluster: "svc", serviceName: "web", taskDefinition: halfVcpu, desiredCount: 2, launchType: "FARGATE", networkConfiguration: NETWORK }),
    );
    const message = `(service web) was unable to place a task. Reason: ${REASON}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`;
    const describe = async () => (await ecs.send(new DescribeServicesCommand({ cluster: "svc", services: ["web"] }))).services![0];
    await waitFor("the quota event", async () => {
      const s = await describe();
      return s.events!.some((e) => e.message === message) && s.runningCount === 1;
    });
    // the holder stops: the service places its second task
    await ecs.send(new StopTaskCommand({ cluster: "svc", task: holder.taskArn! }));
    const svc = await waitFor("the second service task", async () => {
      const s = await describe();
      return s.runningCount === 2 && s;
    });
    // one event for the episode, however many passes the scheduler made meanwhile
    expect(svc.events!.filter((e) => e.message === message)).toHaveLength(1);
    expect((await run(ecs, { cluster: "svc" })).failures).toEqual([{ reason: REASON }]);
  });
});

describe("Fargate vCPU quotas (AWS's default: 6 vCPUs)", () => {
  let server: TestServer;
  let ecs: ECSClient;
  beforeAll(async () => {
    server = await startTestServer();
    ecs = new ECSClient(server.config);
    await ecs.send(new CreateClusterCommand({ clusterName: "d" }));
    await registerSleeper(ecs, "two", undefined, { cpu: "2048", memory: "4096" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("places three 2-vCPU tasks and refuses the fourth", async () => {
    const out = await ecs.send(new RunTaskCommand({ cluster: "d", taskDefinition: "two", count: 4, launchType: "FARGATE", networkConfiguration: NETWORK }));
    expect(out.tasks).toHaveLength(3);
    expect(out.failures).toEqual([{ reason: REASON }]);
  });
});

describe("the unable-to-place event while the quota keeps a service short (1 vCPU, 0.25-vCPU tasks)", () => {
  let server: TestServer;
  let ecs: ECSClient;
  let quarter: string;
  const message = (name: string) =>
    `(service ${name}) was unable to place a task. Reason: ${REASON}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.`;

  beforeAll(async () => {
    server = await startTestServer({ fargateVcpuQuota: 1 });
    ecs = new ECSClient(server.config);
    await ecs.send(new CreateClusterCommand({ clusterName: "short" }));
    quarter = await registerSleeper(ecs, "quarter");
  });
  afterAll(async () => {
    await server?.close();
  });

  const describeService = async (name: string) => (await ecs.send(new DescribeServicesCommand({ cluster: "short", services: [name] }))).services![0];
  const count = async (name: string) => (await describeService(name)).events!.filter((e) => e.message === message(name)).length;
  const liveTasks = async (name: string) => (await ecs.send(new ListTasksCommand({ cluster: "short", serviceName: name }))).taskArns!;

  /** Stops one of the service's tasks and waits for the scheduler to have started its replacement. */
  async function replaceOne(name: string, running: number): Promise<void> {
    const before = await liveTasks(name);
    await ecs.send(new StopTaskCommand({ cluster: "short", task: before[0] }));
    await waitTask(ecs, "short", before[0], stopped);
    await waitFor("the replacement", async () => {
      const now = await liveTasks(name);
      return !now.includes(before[0]) && now.length === before.length && (await describeService(name)).runningCount === running;
    });
  }

  it("is not repeated when a replacement fits but the service stays short; it is after six hours, and after the cause was resolved", async () => {
    await ecs.send(
      new CreateServiceCommand({ cluster: "short", serviceName: "web", taskDefinition: quarter, desiredCount: 6, launchType: "FARGATE", networkConfiguration: NETWORK }),
    );
    await waitFor("four tasks and the event", async () => (await describeService("web")).runningCount === 4 && (await count("web")) === 1);
    await replaceOne("web", 4);
    expect(await count("web")).toBe(1);
    await server.advanceClock(6 * 3600 - 60);
    expect(await count("web")).toBe(1);
    await server.advanceClock(120);
    await waitFor("the event again after six hours", async () => (await count("web")) === 2);
    // resolved (the service wants no more than fits), then short again: a new episode
    await ecs.send(new UpdateServiceCommand({ cluster: "short", service: "web", desiredCount: 4 }));
    await waitFor("steady", async () => (await describeService("web")).events![0].message === "(service web) has reached a steady state.");
    await ecs.send(new UpdateServiceCommand({ cluster: "short", service: "web", desiredCount: 5 }));
    await waitFor("a new episode", async () => (await count("web")) === 3);
    await ecs.send(new UpdateServiceCommand({ cluster: "short", service: "web", desiredCount: 0 }));
    await waitFor("no tasks", async () => (await liveTasks("web")).length === 0 && (await describeService("web")).runningCount === 0);
  });

  it("is written once when several task sets are short at once", async () => {
    await ecs.send(new CreateServiceCommand({ cluster: "short", serviceName: "ext", desiredCount: 4, deploymentController: { type: "EXTERNAL" } }));
    const set = { cluster: "short", service: "ext", taskDefinition: quarter, launchType: "FARGATE" as const, networkConfiguration: NETWORK };
    await ecs.send(new CreateTaskSetCommand({ ...set, scale: { value: 100, unit: "PERCENT" } }));
    await waitFor("the first task set's four tasks", async () => (await describeService("ext")).runningCount === 4);
    // (an event already there is of an earlier episode: the last service's tasks were still stopping)
    const before = await count("ext");
    // the newer task set wants one more task than fits: the scheduler looks at it first
    await ecs.send(new CreateTaskSetCommand({ ...set, scale: { value: 25, unit: "PERCENT" } }));
    await waitFor("the event", async () => (await count("ext")) === before + 1);
    // a task of the first set stops: the newer set takes the freed vCPUs, the first set is short now
    const sets = (await describeService("ext")).taskSets!;
    const older = sets[sets.length - 1].id!;
    const olderTasks = (await ecs.send(new ListTasksCommand({ cluster: "short", startedBy: older }))).taskArns!;
    await ecs.send(new StopTaskCommand({ cluster: "short", task: olderTasks[0] }));
    await waitTask(ecs, "short", olderTasks[0], stopped);
    await waitFor("the newer set's task", async () => {
      const s = await describeService("ext");
      return s.taskSets!.find((ts) => ts.id !== older)!.runningCount === 1 && s.runningCount === 4;
    });
    expect(await count("ext")).toBe(before + 1);
  });
});
