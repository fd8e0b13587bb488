/**
 * ECS service deployments and revisions: each CreateService / UpdateService that changes what the
 * tasks run makes a revision and a deployment, kept after it ends; the deployment circuit breaker
 * fails a deployment whose tasks keep failing and rolls back to the last completed revision;
 * StopServiceDeployment rolls an in-progress deployment back. docs/ecs-fargate.md#service-deployments
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServiceDeploymentsCommand,
  ListTasksCommand,
  StopServiceDeploymentCommand,
  UpdateServiceCommand,
  type Service,
  type ServiceDeployment,
} from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, waitFor } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let good: string;
let crashing: string;
let neverHealthy: string;
const CLUSTER = "deploy";
const SD_ARN = /^arn:aws:ecs:us-east-1:000000000000:service-deployment\/deploy\/([a-z0-9-]+)\/[A-Za-z0-9_-]{8}-[A-Za-z0-9_-]{12}$/;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  good = await registerSleeper(ecs, "dep-good");
  // exits at once: every task of a deployment of it fails
  crashing = await registerSleeper(ecs, "dep-crash", [{ name: "app", image: "busybox", command: ["false"], essential: true }]);
  // runs, but its health check reports nothing for minutes: a deployment of it stays IN_PROGRESS
  neverHealthy = await registerSleeper(ecs, "dep-slow", [
    {
      name: "app",
      image: "busybox",
      command: ["sleep", "300"],
      essential: true,
      stopTimeout: 2,
      healthCheck: { command: ["CMD", "false"], interval: 300, startPeriod: 300, retries: 1 },
    },
  ]);
});
afterAll(async () => {
  await server?.close();
});

async function describeService(name: string): Promise<Service> {
  return (await ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }))).services![0];
}

async function deployments(name: string): Promise<ServiceDeployment[]> {
  const list = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: name }))).serviceDeployments!;
  if (!list.length) return [];
  return (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: list.map((d) => d.serviceDeploymentArn!) }))).serviceDeployments!;
}

async function waitStatus(name: string, arn: string, status: string): Promise<ServiceDeployment> {
  return waitFor(`${arn} ${status}`, async () => (await deployments(name)).find((d) => d.serviceDeploymentArn === arn && d.status === status));
}

async function createService(name: string, rollback: boolean, td = good): Promise<ServiceDeployment> {
  await ecs.send(
    new CreateServiceCommand({
      cluster: CLUSTER,
      serviceName: name,
      taskDefinition: td,
      desiredCount: 1,
      launchType: "FARGATE",
      networkConfiguration: NETWORK,
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback }, minimumHealthyPercent: 100, maximumPercent: 200 },
    }),
  );
  const [first] = await deployments(name);
  return waitStatus(name, first.serviceDeploymentArn!, "SUCCESSFUL");
}

describe("service deployments", () => {
  it("records a revision and a deployment for CreateService and keeps it after it succeeds", async () => {
    const first = await createService("history", false);
    expect(first.serviceDeploymentArn).toMatch(SD_ARN);
    expect(first.serviceArn).toBe("arn:aws:ecs:us-east-1:000000000000:service/deploy/history");
    expect(first.clusterArn).toBe("arn:aws:ecs:us-east-1:000000000000:cluster/deploy");
    expect(first.sourceServiceRevisions).toEqual([]);
    expect(first.targetServiceRevision).toMatchObject({ requestedTaskCount: 1, runningTaskCount: 1, pendingTaskCount: 0 });
    expect(first.deploymentCircuitBreaker).toEqual({ status: "MONITORING_COMPLETE", failureCount: 0, threshold: 3 });
    expect(first.alarms).toEqual({ status: "DISABLED" });
    expect(first.finishedAt).toBeInstanceOf(Date);
    const service = await describeService("history");
    const id = service.deployments![0].id!.slice("ecs-svc/".length);
    expect(first.targetServiceRevision!.arn).toBe(`arn:aws:ecs:us-east-1:000000000000:service-revision/deploy/history/${id}`);
    const rev = (await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [first.targetServiceRevision!.arn!] }))).serviceRevisions![0];
    expect(rev).toMatchObject({
      serviceArn: first.serviceArn,
      clusterArn: first.clusterArn,
      taskDefinition: good,
      launchType: "FARGATE",
      platformVersion: "1.4.0",
      platformFamily: "Linux",
      networkConfiguration: NETWORK,
      containerImages: [{ containerName: "app", image: "busybox" }],
    });

    // a scale-out makes no new deployment; a new task definition does, from the first revision
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "history", desiredCount: 2 }));
    expect(await deployments("history")).toHaveLength(1);
    await waitFor("two running", async () => ((await describeService("history")).runningCount === 2 ? true : undefined));
    const good2 = await registerSleeper(ecs, "dep-good");
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "history", taskDefinition: good2 }));
    const list = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history" }))).serviceDeployments!;
    expect(list).toHaveLength(2);
    expect(list[1].serviceDeploymentArn).toBe(first.serviceDeploymentArn);
    const second = await waitStatus("history", list[0].serviceDeploymentArn!, "SUCCESSFUL");
    expect(second.sourceServiceRevisions).toEqual([{ arn: first.targetServiceRevision!.arn, requestedTaskCount: 2, runningTaskCount: 2, pendingTaskCount: 0 }]);
    expect(second.targetServiceRevision!.requestedTaskCount).toBe(2);

    // filters and paging
    const successful = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", status: ["SUCCESSFUL"], maxResults: 1 }));
    expect(successful.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([second.serviceDeploymentArn]);
    const next = await ecs.send(
      new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", status: ["SUCCESSFUL"], maxResults: 1, nextToken: successful.nextToken }),
    );
    expect(next.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([first.serviceDeploymentArn]);
    expect(next.nextToken).toBeUndefined();
    const none = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", status: ["ROLLBACK_SUCCESSFUL", "STOPPED"] }));
    expect(none.serviceDeployments).toEqual([]);
    const after = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", createdAt: { after: second.createdAt } }));
    expect(after.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([second.serviceDeploymentArn]);
    const before = await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", createdAt: { before: first.createdAt } }));
    expect(before.serviceDeployments!.map((d) => d.serviceDeploymentArn)).toEqual([first.serviceDeploymentArn]);
  });

  it("the circuit breaker fails a deployment whose tasks fail and rolls back to the last completed revision", async () => {
    const first = await createService("breaker", true);
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "breaker", taskDefinition: crashing }));
    const failedArn = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "breaker" }))).serviceDeployments![0].serviceDeploymentArn!;
    const rolled = await waitStatus("breaker", failedArn, "ROLLBACK_SUCCESSFUL");
    expect(rolled.statusReason).toBe("Service deployment rolled back successfully.");
    expect(rolled.rollback).toMatchObject({
      reason: "Service deployment rolled back because the circuit breaker threshold was exceeded.",
      serviceRevisionArn: first.targetServiceRevision!.arn,
    });
    expect(rolled.rollback!.startedAt).toBeInstanceOf(Date);
    expect(rolled.deploymentCircuitBreaker).toEqual({ status: "TRIGGERED", failureCount: 3, threshold: 3 });
    expect(rolled.sourceServiceRevisions!.map((r) => r.arn)).toEqual([first.targetServiceRevision!.arn]);
    const service = await waitFor("steady again", async () => {
      const s = await describeService("breaker");
      return s.deployments!.length === 1 && s.runningCount === 1 ? s : undefined;
    });
    expect(service.taskDefinition).toBe(good);
    expect(service.deployments![0]).toMatchObject({ taskDefinition: good, rolloutState: "COMPLETED" });
    const failedDeployment = rolled.targetServiceRevision!.arn!.split("/").pop();
    expect(service.events!.map((e) => e.message)).toContain(`(service breaker) (deployment ecs-svc/${failedDeployment}) deployment failed: tasks failed to start.`);
    const goodDeployment = `ecs-svc/${first.targetServiceRevision!.arn!.split("/").pop()}`;
    expect(service.events!.map((e) => e.message)).toContain(`(service breaker) rolling back to deployment ${goodDeployment}.`);
    const rev = (await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [rolled.targetServiceRevision!.arn!] }))).serviceRevisions![0];
    expect(rev.taskDefinition).toBe(crashing);
  });

  it("without rollback the failed deployment stops and launches no more tasks", async () => {
    await createService("no-rollback", false);
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "no-rollback", taskDefinition: crashing }));
    const arn = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "no-rollback" }))).serviceDeployments![0].serviceDeploymentArn!;
    const stopped = await waitStatus("no-rollback", arn, "STOPPED");
    expect(stopped.statusReason).toBe("Service deployment failed because the circuit breaker threshold was exceeded.");
    expect(stopped.stoppedAt).toBeInstanceOf(Date);
    expect(stopped.rollback).toBeUndefined();
    const s = await describeService("no-rollback");
    const primary = s.deployments!.find((d) => d.status === "PRIMARY")!;
    expect(primary).toMatchObject({
      taskDefinition: crashing,
      rolloutState: "FAILED",
      rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
      failedTasks: 3,
    });
    // a task started before the breaker tripped may still be exiting; none replaces it
    await waitFor("no task left", async () => {
      const d = (await describeService("no-rollback")).deployments!.find((x) => x.status === "PRIMARY")!;
      return d.pendingCount! + d.runningCount! === 0 ? true : undefined;
    });
    const tasks = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: "no-rollback" }));
    expect(tasks.taskArns).toEqual([]);
  });

  it("a first deployment that fails has no revision to roll back to: it stops", async () => {
    await ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: "born-broken",
        taskDefinition: crashing,
        desiredCount: 1,
        launchType: "FARGATE",
        networkConfiguration: NETWORK,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      }),
    );
    const [d] = await deployments("born-broken");
    const stopped = await waitStatus("born-broken", d.serviceDeploymentArn!, "STOPPED");
    expect(stopped).toMatchObject({
      statusReason: "Service deployment failed because the circuit breaker threshold was exceeded.",
      deploymentCircuitBreaker: { status: "TRIGGERED" },
    });
    expect((await describeService("born-broken")).deployments![0].rolloutState).toBe("FAILED");
  });

  it("StopServiceDeployment rolls an in-progress deployment back; stopping it again conflicts", async () => {
    const first = await createService("stop", false);
    await expect(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: first.serviceDeploymentArn }))).rejects.toMatchObject({
      name: "ConflictException",
      message: "The service deployment is SUCCESSFUL and can't be stopped.",
    });
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "stop", taskDefinition: neverHealthy }));
    const arn = (await ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "stop", status: ["IN_PROGRESS"] }))).serviceDeployments![0].serviceDeploymentArn!;
    await expect(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ABORT" }))).rejects.toMatchObject({ name: "InvalidParameterException" });
    const out = await ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn, stopType: "ROLLBACK" }));
    expect(out.serviceDeploymentArn).toBe(arn);
    const [d] = (await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }))).serviceDeployments!;
    expect(d.status).toMatch(/^ROLLBACK_(IN_PROGRESS|SUCCESSFUL)$/);
    expect(d.rollback).toMatchObject({ reason: "Service deployment rolled back because of a stop request.", serviceRevisionArn: first.targetServiceRevision!.arn });
    await expect(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: arn }))).rejects.toMatchObject({ name: "ConflictException" });
    await waitStatus("stop", arn, "ROLLBACK_SUCCESSFUL");
    const s = await waitFor("only the first revision runs", async () => {
      const svc = await describeService("stop");
      return svc.deployments!.length === 1 && svc.runningCount === 1 ? svc : undefined;
    });
    expect(s.taskDefinition).toBe(good);
  });

  it("answers bad and unknown identifiers as ECS does", async () => {
    const unknownSd = "arn:aws:ecs:us-east-1:000000000000:service-deployment/deploy/history/AAAAAAAA-BBBBBBBBBBBB";
    const unknownRev = "arn:aws:ecs:us-east-1:000000000000:service-revision/deploy/history/1234567890123456789";
    const d = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [unknownSd] }));
    expect(d).toMatchObject({ serviceDeployments: [], failures: [{ arn: unknownSd, reason: "MISSING" }] });
    const r = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [unknownRev] }));
    expect(r).toMatchObject({ serviceRevisions: [], failures: [{ arn: unknownRev, reason: "MISSING" }] });
    // the same ARNs in another Region name nothing
    const west = new ECSClient(server.configFor(server.config.credentials, "us-west-2"));
    const [real] = await deployments("history");
    const other = await west.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [real.serviceDeploymentArn!] }));
    expect(other.failures).toEqual([{ arn: real.serviceDeploymentArn, reason: "MISSING" }]);
    await expect(west.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: real.serviceDeploymentArn }))).rejects.toMatchObject({
      name: "ServiceDeploymentNotFoundException",
    });

    for (const arns of [[], Array.from({ length: 21 }, () => unknownSd), ["not-an-arn"], [unknownRev]])
      await expect(ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: arns }))).rejects.toMatchObject({ name: "InvalidParameterException" });
    for (const arns of [[], [unknownSd], ["arn:aws:ecs:us-east-1:000000000000:service/deploy/history"]])
      await expect(ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: arns }))).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: unknownSd }))).rejects.toMatchObject({
      name: "ServiceDeploymentNotFoundException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(ecs.send(new StopServiceDeploymentCommand({ serviceDeploymentArn: unknownRev }))).rejects.toMatchObject({ name: "InvalidParameterException" });

    await expect(ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "nope" }))).rejects.toMatchObject({ name: "ServiceNotFoundException" });
    await expect(ecs.send(new ListServiceDeploymentsCommand({ cluster: "nope", service: "history" }))).rejects.toMatchObject({ name: "ClusterNotFoundException" });
    for (const maxResults of [0, 101])
      await expect(ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", maxResults }))).rejects.toMatchObject({
        name: "InvalidParameterException",
      });
    await expect(ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", nextToken: "forged" }))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "Invalid token",
    });
    await expect(
      ecs.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history", createdAt: { after: new Date(2_000_000_000_000), before: new Date(1_000_000_000_000) } })),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
  });

  it("a service created again under a deleted one's name starts a history of its own", async () => {
    const create = () =>
      ecs.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName: "again", taskDefinition: good, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }));
    await create();
    const [old] = await deployments("again");
    await waitStatus("again", old.serviceDeploymentArn!, "SUCCESSFUL");
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "again" }));
    await waitFor("inactive", async () => ((await describeService("again")).status === "INACTIVE" ? true : undefined));
    await create();
    const now = await deployments("again");
    expect(now).toHaveLength(1);
    expect(now[0].serviceDeploymentArn).not.toBe(old.serviceDeploymentArn);
    // the old one is still described by its ARN
    const kept = await ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [old.serviceDeploymentArn!] }));
    expect(kept.serviceDeployments![0].status).toBe("SUCCESSFUL");
  });

  it("deletes a service's revisions once the service is deleted, as ECS does", async () => {
    await ecs.send(
      new CreateServiceCommand({ cluster: CLUSTER, serviceName: "gone", taskDefinition: good, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }),
    );
    const [first] = await deployments("gone");
    await waitStatus("gone", first.serviceDeploymentArn!, "SUCCESSFUL");
    const revision = first.targetServiceRevision!.arn!;
    expect((await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [revision] }))).serviceRevisions).toHaveLength(1);
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "gone" }));
    await waitFor("inactive", async () => ((await describeService("gone")).status === "INACTIVE" ? true : undefined));
    const after = await waitFor("revision deleted", async () => {
      const r = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [revision] }));
      return r.failures?.length ? r : undefined;
    });
    expect(after.serviceRevisions).toEqual([]);
    expect(after.failures).toEqual([{ arn: revision, reason: "MISSING" }]);
    // and it stays deleted across a restart
    await server.stop();
    const again = await startTestServer({ dataDir: server.dataDir });
    try {
      const r = await new ECSClient(again.config).send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [revision] }));
      expect(r.failures).toEqual([{ arn: revision, reason: "MISSING" }]);
    } finally {
      await again.stop();
    }
    server = await startTestServer({ dataDir: server.dataDir });
    ecs = new ECSClient(server.config);
  });

  it("a restart does not count a stopped service task again (no second event, failure or launch backoff)", async () => {
    await ecs.send(
      new CreateServiceCommand({
        cluster: CLUSTER,
        serviceName: "recount",
        taskDefinition: crashing,
        desiredCount: 1,
        launchType: "FARGATE",
        networkConfiguration: NETWORK,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false }, minimumHealthyPercent: 0, maximumPercent: 200 },
      }),
    );
    const stoppedEvents = (s: Service) => (s.events ?? []).filter((e) => / stopped: /.test(e.message ?? "")).map((e) => e.message);
    await waitFor("a failed task", async () => (stoppedEvents(await describeService("recount")).length ? true : undefined));
    // no more tasks: the failures so far stay as they are
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "recount", desiredCount: 0 }));
    await waitFor("every task stopped", async () => {
      if ((await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: "recount" }))).taskArns!.length) return undefined;
      const arns = (await ecs.send(new ListTasksCommand({ cluster: CLUSTER, serviceName: "recount", desiredStatus: "STOPPED" }))).taskArns!;
      const tasks = arns.length ? (await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }))).tasks! : [];
      return tasks.every((t) => t.lastStatus === "STOPPED") ? true : undefined;
    });
    // a scheduler pass after the last stop, which ends with a steady-state event
    const settled = (await describeService("recount")).events!.length;
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "recount", desiredCount: 0, enableExecuteCommand: false }));
    const before = await waitFor("steady", async () => {
      const s = await describeService("recount");
      return s.events!.length > settled && s.events?.[0]?.message?.includes("steady state") ? s : undefined;
    });
    await server.stop();
    server = await startTestServer({ dataDir: server.dataDir });
    ecs = new ECSClient(server.config);
    // a change that pokes the scheduler; its pass ends with a new steady-state event
    await ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "recount", desiredCount: 0, enableExecuteCommand: true }));
    const after = await waitFor("a pass after the restart", async () => {
      const s = await describeService("recount");
      return s.events!.length > before.events!.length && s.events?.[0]?.message?.includes("steady state") ? s : undefined;
    });
    expect(stoppedEvents(after)).toEqual(stoppedEvents(before));
    expect(after.deployments![0].failedTasks).toBe(before.deployments![0].failedTasks);
  });

  it("keeps the history across a restart", async () => {
    const before = await deployments("history");
    await server.stop();
    const again = await startTestServer({ dataDir: server.dataDir });
    try {
      const client = new ECSClient(again.config);
      const list = (await client.send(new ListServiceDeploymentsCommand({ cluster: CLUSTER, service: "history" }))).serviceDeployments!;
      expect(list.map((d) => [d.serviceDeploymentArn, d.status])).toEqual(before.map((d) => [d.serviceDeploymentArn, d.status]));
      const revs = await client.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: before.map((d) => d.targetServiceRevision!.arn!) }));
      expect(revs.failures).toEqual([]);
    } finally {
      await again.close();
    }
  });
});
