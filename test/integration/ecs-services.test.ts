/** ECS services on Fargate: desired count, replacement, deployments that move tasks to the cluster's current key. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteClusterCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServicesCommand,
  ListTasksCommand,
  StopTaskCommand,
  UpdateClusterCommand,
  UpdateServiceCommand,
  type Service,
} from "@aws-sdk/client-ecs";
import { KMSClient } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createFargateKey, NETWORK, registerSleeper, waitFor } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let kms: KMSClient;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  kms = new KMSClient(server.config);
});
afterAll(async () => {
  await server?.close();
});

async function describeService(cluster: string, name: string): Promise<Service> {
  return (await ecs.send(new DescribeServicesCommand({ cluster, services: [name] }))).services![0];
}

describe("services", () => {
  it("keeps desiredCount tasks, replaces a stopped one, reaches a steady state", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "svc" }));
    const td = await registerSleeper(ecs, "svc-app");
    const created = await ecs.send(
      new CreateServiceCommand({ cluster: "svc", serviceName: "web", taskDefinition: td, desiredCount: 2, launchType: "FARGATE", networkConfiguration: NETWORK }),
    );
    expect(created.service!.deploymentConfiguration).toMatchObject({ minimumHealthyPercent: 100, maximumPercent: 200 });
    expect(created.service!.deployments![0].id).toMatch(/^ecs-svc\/\d{19}$/);
    expect(created.service!.deployments![0].fargateEphemeralStorage).toBeUndefined();
    const steady = await waitFor("steady", async () => {
      const s = await describeService("svc", "web");
      return s.runningCount === 2 && s.events!.some((e) => e.message === "(service web) has reached a steady state.") ? s : undefined;
    });
    expect(steady.deployments).toHaveLength(1);
    expect(steady.deployments![0].rolloutState).toBe("COMPLETED");
    expect(steady.events!.some((e) => /^\(service web\) has started 2 tasks: \(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.$/.test(e.message!))).toBe(true);
    const tasks = (await ecs.send(new ListTasksCommand({ cluster: "svc", serviceName: "web" }))).taskArns!;
    expect(tasks).toHaveLength(2);
    const d = await ecs.send(new DescribeTasksCommand({ cluster: "svc", tasks }));
    for (const t of d.tasks!) {
      expect(t.group).toBe("service:web");
      expect(t.startedBy).toBe(steady.deployments![0].id);
    }
    await ecs.send(new StopTaskCommand({ cluster: "svc", task: tasks[0] }));
    await waitFor("replacement", async () => {
      const now = (await ecs.send(new ListTasksCommand({ cluster: "svc", serviceName: "web" }))).taskArns!;
      const s = await describeService("svc", "web");
      return now.length === 2 && !now.includes(tasks[0]) && s.runningCount === 2 ? true : undefined;
    });
    expect((await ecs.send(new ListServicesCommand({ cluster: "svc" }))).serviceArns).toEqual(["arn:aws:ecs:us-east-1:000000000000:service/svc/web"]);

    await expect(ecs.send(new DeleteClusterCommand({ cluster: "svc" }))).rejects.toMatchObject({ name: "ClusterContainsServicesException" });
    await expect(ecs.send(new DeleteServiceCommand({ cluster: "svc", service: "web" }))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "The service cannot be stopped while it is scaled above 0.",
    });
    const del = await ecs.send(new DeleteServiceCommand({ cluster: "svc", service: "web", force: true }));
    expect(del.service!.status).toBe("DRAINING");
    await waitFor("inactive", async () => ((await describeService("svc", "web")).status === "INACTIVE" ? true : undefined));
    expect((await ecs.send(new ListTasksCommand({ cluster: "svc" }))).taskArns).toEqual([]);
    await ecs.send(new DeleteClusterCommand({ cluster: "svc" }));
  });

  it("force-new-deployment after UpdateCluster moves every task to the new key, never below minimumHealthyPercent", async () => {
    const a = await createFargateKey(kms, "roll");
    const b = await createFargateKey(kms, "roll");
    await ecs.send(new CreateClusterCommand({ clusterName: "roll", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: a.arn } } }));
    const td = await registerSleeper(ecs, "roll-app");
    await ecs.send(
      new CreateServiceCommand({
        cluster: "roll",
        serviceName: "api",
        taskDefinition: td,
        desiredCount: 3,
        launchType: "FARGATE",
        networkConfiguration: NETWORK,
        deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150 },
      }),
    );
    const first = await waitFor("steady", async () => {
      const s = await describeService("roll", "api");
      return s.runningCount === 3 && s.deployments!.length === 1 && s.deployments![0].rolloutState === "COMPLETED" ? s : undefined;
    });
    expect(first.deployments![0].fargateEphemeralStorage).toEqual({ kmsKeyId: a.arn });

    await ecs.send(new UpdateClusterCommand({ cluster: "roll", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: b.arn } } }));
    const state = server.app.get("ecs") as { tasks: Map<string, { serviceArn?: string; task: { lastStatus?: string; desiredStatus?: string }; kmsKeyArn: string | null }> };
    const svcArn = "arn:aws:ecs:us-east-1:000000000000:service/roll/api";
    // Watch every task change: count RUNNING service tasks (minimum 2 = ceil(3 × 50%)) and the total (max 4 = floor(3 × 150%)).
    let minRunning = Infinity;
    let maxLive = 0;
    const sample = () => {
      const live = [...state.tasks.values()].filter((t) => t.serviceArn === svcArn && t.task.desiredStatus === "RUNNING" && t.task.lastStatus !== "STOPPED");
      const runningN = [...state.tasks.values()].filter((t) => t.serviceArn === svcArn && t.task.lastStatus === "RUNNING").length;
      minRunning = Math.min(minRunning, runningN);
      maxLive = Math.max(maxLive, live.length);
    };
    const ecsState = server.app.get("ecs");
    ecsState.onTaskChange.push(sample);
    const upd = await ecs.send(new UpdateServiceCommand({ cluster: "roll", service: "api", forceNewDeployment: true }));
    expect(upd.service!.deployments![0].status).toBe("PRIMARY");
    expect(upd.service!.deployments![0].fargateEphemeralStorage).toEqual({ kmsKeyId: b.arn });
    expect(upd.service!.deployments![1].status).toBe("ACTIVE");
    const done = await waitFor("rolled", async () => {
      const s = await describeService("roll", "api");
      return s.deployments!.length === 1 && s.deployments![0].rolloutState === "COMPLETED" && s.runningCount === 3 ? s : undefined;
    });
    ecsState.onTaskChange.splice(ecsState.onTaskChange.indexOf(sample), 1);
    expect(done.deployments![0].fargateEphemeralStorage).toEqual({ kmsKeyId: b.arn });
    const arns = (await ecs.send(new ListTasksCommand({ cluster: "roll", serviceName: "api" }))).taskArns!;
    const d = await ecs.send(new DescribeTasksCommand({ cluster: "roll", tasks: arns }));
    expect(d.tasks).toHaveLength(3);
    for (const t of d.tasks!) expect(t.fargateEphemeralStorage!.kmsKeyId).toBe(b.arn);
    expect(minRunning).toBeGreaterThanOrEqual(2);
    expect(maxLive).toBeLessThanOrEqual(4);
    await ecs.send(new UpdateServiceCommand({ cluster: "roll", service: "api", desiredCount: 0 }));
    await waitFor("scaled in", async () => ((await describeService("roll", "api")).runningCount === 0 ? true : undefined));
  });

  it("validates CreateService", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "svc-val" }));
    const td = await registerSleeper(ecs, "svc-val-app");
    await expect(ecs.send(new CreateServiceCommand({ cluster: "svc-val", serviceName: "x", taskDefinition: td, desiredCount: 1, launchType: "FARGATE" }))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    });
    await expect(
      ecs.send(
        new CreateServiceCommand({
          cluster: "svc-val",
          serviceName: "x",
          taskDefinition: td,
          desiredCount: 1,
          launchType: "FARGATE",
          networkConfiguration: NETWORK,
          platformVersion: "0.1",
        }),
      ),
    ).rejects.toMatchObject({ name: "PlatformUnknownException" });
    await ecs.send(new CreateServiceCommand({ cluster: "svc-val", serviceName: "x", taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }));
    await expect(
      ecs.send(new CreateServiceCommand({ cluster: "svc-val", serviceName: "x", taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK })),
    ).rejects.toMatchObject({ name: "InvalidParameterException", message: "Creation of service was not idempotent." });
    await expect(ecs.send(new UpdateServiceCommand({ cluster: "svc-val", service: "nope", desiredCount: 1 }))).rejects.toMatchObject({ name: "ServiceNotFoundException" });
    // the default "Tasks per service" quota
    await expect(
      ecs.send(new CreateServiceCommand({ cluster: "svc-val", serviceName: "big", taskDefinition: td, desiredCount: 5001, launchType: "FARGATE", networkConfiguration: NETWORK })),
    ).rejects.toMatchObject({ name: "InvalidParameterException", message: "Desired count exceeds limit." });
    await expect(ecs.send(new UpdateServiceCommand({ cluster: "svc-val", service: "x", desiredCount: 2147483647 }))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "Desired count exceeds limit.",
    });
    await expect(ecs.send(new UpdateServiceCommand({ cluster: "svc-val", service: "x", desiredCount: -1 }))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "desiredCount must be 0 or more.",
    });
    const missing = await ecs.send(new DescribeServicesCommand({ cluster: "svc-val", services: ["ghost"] }));
    expect(missing.failures![0].reason).toBe("MISSING");
  });
});
