/**
 * ECS shows a service's deployments of the last 90 days
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/view-service-deployment.html):
 * older ended ones go when the service deploys again, except the last completed one (the
 * circuit breaker's rollback target), so a long-lived service's history stays bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  UpdateServiceCommand,
  type ServiceDeployment,
} from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, waitFor } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let td: string;
const CLUSTER = "keep";

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  td = await registerSleeper(ecs, "keep-app");
});
afterAll(async () => {
  await server?.close();
});

async function deployments(): Promise<ServiceDeployment[]> {
  const list = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "web" }))).serviceDeployments!;
  if (!list.length) return [];
  return (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: list.map((d) => d.serviceDeploymentArn!) }))).serviceDeployments!;
}

async function deploy(): Promise<ServiceDeployment> {
  const known = new Set((await deployments()).map((d) => d.serviceDeploymentArn));
  await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "web", forceNewDeployment: true }));
  return waitFor("the new deployment done", async () => (await deployments()).find((d) => !known.has(d.serviceDeploymentArn) && d.status === "SUCCESSFUL"));
}

describe("service deployment history", () => {
  it("keeps 90 days of deployments and the last completed one; older deployments and the revisions only they name go", async () => {
    await ecs.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName: "web", taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }));
    const first = await waitFor("first deployment done", async () => (await deployments()).find((d) => d.status === "SUCCESSFUL"));
    const second = await deploy();
    await server.advanceClock(91 * 86400);
    const third = await deploy();

    const left = await deployments();
    // the 91-day-old first is gone; the second is kept too as it was the last completed when the third began
    expect(left.map((d) => d.serviceDeploymentArn).sort()).toEqual([second.serviceDeploymentArn, third.serviceDeploymentArn].sort());
    const gone = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [first.serviceDeploymentArn!] }));
    expect(gone.failures).toEqual([{ arn: first.serviceDeploymentArn, reason: "MISSING" }]);
    // the first's revision stays while the second, kept, names it as its source
    const revisions = [first, second, third].map((d) => d.targetServiceRevision!.arn!);
    expect((await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: revisions }))).failures).toEqual([]);

    // one more deployment: now the second is both old and no longer the last completed
    const fourth = await deploy();
    expect((await deployments()).map((d) => d.serviceDeploymentArn).sort()).toEqual([third.serviceDeploymentArn, fourth.serviceDeploymentArn].sort());
    // and the revision no kept deployment names is deleted
    const revs = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: revisions }));
    expect(revs.failures).toEqual([{ arn: revisions[0], reason: "MISSING" }]);
  });
});
