/**
 * Container health checks on Fargate tasks (host processes): healthStatus on containers and the
 * task, dependsOn HEALTHY, and services that wait for HEALTHY and replace UNHEALTHY tasks.
 * Health-check intervals are at least 5 s (ECS's minimum), so these tests take seconds each.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Service,
} from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, waitFor, waitTask } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: "hc" }));
});
afterAll(async () => {
  await server?.close();
});

async function runOne(td: string): Promise<string> {
  const out = await ecs.send(new RunTaskCommand({ cluster: "hc", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
  expect(out.failures).toEqual([]);
  return out.tasks![0].taskArn!;
}

async function describeService(name: string): Promise<Service> {
  return (await ecs.send(new DescribeServicesCommand({ cluster: "hc", services: [name] }))).services![0];
}

describe("container health checks", () => {
  it("fills ECS's defaults in the task definition and refuses values outside ECS's ranges", async () => {
    const td = await registerSleeper(ecs, "hc-defaults", [{ name: "app", image: "busybox", command: ["sleep", "300"], healthCheck: { command: ["CMD", "true"] } }]);
    const d = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: td }));
    expect(d.taskDefinition!.containerDefinitions![0].healthCheck).toEqual({ command: ["CMD", "true"], interval: 30, timeout: 5, retries: 3 });
    for (const healthCheck of [
      { command: ["CMD", "true"], interval: 4 },
      { command: ["CMD", "true"], retries: 11 },
      { command: ["CMD", "true"], timeout: 1 },
      { command: ["true"] },
      { command: ["CMD-SHELL"] },
    ]) {
      await expect(registerSleeper(ecs, "hc-bad", [{ name: "app", image: "busybox", command: ["sleep", "300"], healthCheck }])).rejects.toMatchObject({
        name: "ClientException",
        $metadata: { httpStatusCode: 400 },
      });
    }
  });

  it("reports HEALTHY on the container and the task once the check passes; dependsOn HEALTHY waits for it", async () => {
    const td = await registerSleeper(ecs, "hc-pass", [
      {
        name: "db",
        image: "busybox",
        // ready only once the test has seen it RUNNING and not yet healthy: a check 5 s after the
        // start could pass before a poll on a loaded host sees that state
        command: ["sh", "-c", "while [ ! -f go ]; do sleep 0.1; done; touch db.ready; exec sleep 300"],
        healthCheck: { command: ["CMD-SHELL", "test -f db.ready"], interval: 5, retries: 3 },
        stopTimeout: 2,
      },
      { name: "app", image: "busybox", command: ["sleep", "300"], dependsOn: [{ containerName: "db", condition: "HEALTHY" }], stopTimeout: 2 },
    ]);
    const arn = await runOne(td);
    const early = await waitTask(ecs, "hc", arn, (t) => t.containers!.find((c) => c.name === "db")!.lastStatus === "RUNNING");
    expect(early.healthStatus).toBe("UNKNOWN");
    expect(early.containers!.find((c) => c.name === "db")!.healthStatus).toBe("UNKNOWN");
    expect(early.containers!.find((c) => c.name === "app")!.lastStatus).toBe("PENDING");
    const volumes = server.app.get("ecs") as { tasks: Map<string, { storage: { mountPath?: string } }> };
    writeFileSync(join(volumes.tasks.get(arn)!.storage.mountPath!, "go"), "");
    const healthy = await waitTask(ecs, "hc", arn, (t) => t.healthStatus === "HEALTHY");
    expect(healthy.containers!.find((c) => c.name === "db")!.healthStatus).toBe("HEALTHY");
    const started = await waitTask(ecs, "hc", arn, (t) => t.containers!.every((c) => c.lastStatus === "RUNNING"));
    // a container without a health check stays UNKNOWN; it does not decide the task's health
    expect(started.containers!.find((c) => c.name === "app")!.healthStatus).toBe("UNKNOWN");
    await ecs.send(new StopTaskCommand({ cluster: "hc", task: arn }));
  });

  it("reports UNHEALTHY after `retries` failures and leaves a standalone task running", async () => {
    const td = await registerSleeper(ecs, "hc-fail", [
      { name: "app", image: "busybox", command: ["sleep", "300"], healthCheck: { command: ["CMD", "sh", "-c", "exit 3"], interval: 5, retries: 1 }, stopTimeout: 2 },
    ]);
    const arn = await runOne(td);
    const t = await waitTask(ecs, "hc", arn, (x) => x.healthStatus === "UNHEALTHY");
    expect(t.lastStatus).toBe("RUNNING");
    expect(t.desiredStatus).toBe("RUNNING");
    expect(t.containers![0]).toMatchObject({ lastStatus: "RUNNING", healthStatus: "UNHEALTHY" });
    await ecs.send(new StopTaskCommand({ cluster: "hc", task: arn }));
  });

  it("a service counts a task only once it is HEALTHY: the deployment completes after the check passes", async () => {
    const td = await registerSleeper(ecs, "hc-svc-ok", [
      { name: "app", image: "busybox", command: ["sleep", "300"], healthCheck: { command: ["CMD", "true"], interval: 5 }, stopTimeout: 2 },
    ]);
    await ecs.send(new CreateServiceCommand({ cluster: "hc", serviceName: "ok", taskDefinition: td, desiredCount: 1, launchType: "FARGATE", networkConfiguration: NETWORK }));
    const arn = await waitFor("the service's task", async () => (await ecs.send(new ListTasksCommand({ cluster: "hc", serviceName: "ok" }))).taskArns?.[0]);
    const t = await waitTask(ecs, "hc", arn, running);
    if (t.healthStatus === "UNKNOWN") expect((await describeService("ok")).deployments![0].rolloutState).toBe("IN_PROGRESS");
    const done = await waitFor("the deployment to complete", async () => {
      const s = await describeService("ok");
      return s.deployments![0].rolloutState === "COMPLETED" ? s : undefined;
    });
    expect(done.events!.some((e) => e.message === "(service ok) has reached a steady state.")).toBe(true);
    const now = (await ecs.send(new DescribeTasksCommand({ cluster: "hc", tasks: [arn] }))).tasks![0];
    expect(now.healthStatus).toBe("HEALTHY");
  });

  it("a service stops a task whose essential container fails its health checks, and its deployment does not complete", async () => {
    const td = await registerSleeper(ecs, "hc-svc-bad", [
      { name: "app", image: "busybox", command: ["sleep", "300"], healthCheck: { command: ["CMD-SHELL", "exit 1"], interval: 5, retries: 1 }, stopTimeout: 2 },
    ]);
    await ecs.send(new CreateServiceCommand({ cluster: "hc", serviceName: "bad", taskDefinition: td, desiredCount: 1, launchType: "FARGATE", networkConfiguration: NETWORK }));
    const first = await waitFor("the service's task", async () => (await ecs.send(new ListTasksCommand({ cluster: "hc", serviceName: "bad" }))).taskArns?.[0]);
    const stoppedTask = await waitTask(ecs, "hc", first, (t) => t.lastStatus === "STOPPED");
    expect(stoppedTask).toMatchObject({ stopCode: "ServiceSchedulerInitiated", stoppedReason: "Task failed container health checks", healthStatus: "UNHEALTHY" });
    const s = await waitFor("a replacement", async () => {
      const svc = await describeService("bad");
      const tasks = (await ecs.send(new ListTasksCommand({ cluster: "hc", serviceName: "bad" }))).taskArns ?? [];
      return tasks.some((a) => a !== first) ? svc : undefined;
    });
    expect(s.deployments![0].rolloutState).toBe("IN_PROGRESS");
    expect(s.events!.some((e) => e.message === `(service bad) (task ${first.split("/").pop()}) failed container health checks.`)).toBe(true);
    expect(s.events!.some((e) => e.message === "(service bad) has reached a steady state.")).toBe(false);
  });
});
