/** A restart with the same data dir keeps clusters, task definitions and services; running tasks are reported STOPPED and replaced. */
import { afterAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
} from "@aws-sdk/client-ecs";
import { KMSClient, ListGrantsCommand } from "@aws-sdk/client-kms";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createFargateKey, NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

let server: TestServer | undefined;
afterAll(async () => {
  await server?.close();
});

describe("restart", () => {
  it("keeps the control plane, stops what ran, retires grants, cleans volumes, and services start replacements", async () => {
    server = await startTestServer();
    const dataDir = server.dataDir;
    let ecs = new ECSClient(server.config);
    let kms = new KMSClient(server.config);
    const key = await createFargateKey(kms, "persist");
    await ecs.send(new CreateClusterCommand({ clusterName: "persist", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.keyId } } }));
    const td = await registerSleeper(ecs, "persist-app");
    const standalone = (await ecs.send(new RunTaskCommand({ cluster: "persist", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0];
    await waitTask(ecs, "persist", standalone.taskArn!, running);
    await ecs.send(new CreateServiceCommand({ cluster: "persist", serviceName: "svc", taskDefinition: td, desiredCount: 1, launchType: "FARGATE", networkConfiguration: NETWORK }));
    const before = await waitFor("service task", async () => {
      const arns = (await ecs.send(new ListTasksCommand({ cluster: "persist", serviceName: "svc" }))).taskArns!;
      const s = (await ecs.send(new DescribeServicesCommand({ cluster: "persist", services: ["svc"] }))).services![0];
      return arns.length === 1 && s.runningCount === 1 ? arns[0] : undefined;
    });
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.arn }))).Grants).toHaveLength(2);
    expect(readdirSync(join(dataDir, "volumes")).filter((n) => n.startsWith("vol-"))).toHaveLength(2);

    await server.stop();
    server = await startTestServer({ dataDir });
    ecs = new ECSClient(server.config);
    kms = new KMSClient(server.config);

    const c = (await ecs.send(new DescribeClustersCommand({ clusters: ["persist"], include: ["CONFIGURATIONS"] }))).clusters![0];
    expect(c.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(key.arn);
    expect((await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: "persist-app" }))).taskDefinition!.revision).toBe(1);
    const old = await waitTask(ecs, "persist", standalone.taskArn!, stopped);
    expect(old.stopCode).toBe("InfrastructureHealth");
    expect(old.stoppedReason).toBe("Task stopped because localfargate restarted");
    const replacement = await waitFor("replacement", async () => {
      const arns = (await ecs.send(new ListTasksCommand({ cluster: "persist", serviceName: "svc" }))).taskArns!;
      return arns.length === 1 && arns[0] !== before ? arns[0] : undefined;
    });
    await waitTask(ecs, "persist", replacement, running);
    // the two old grants are retired; the replacement has its own
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.arn }))).Grants).toHaveLength(1);
    const vols = readdirSync(join(dataDir, "volumes")).filter((n) => n.startsWith("vol-"));
    expect(vols).toHaveLength(1);
    expect(existsSync(join(dataDir, "localfargate.db"))).toBe(true);
  });
});
