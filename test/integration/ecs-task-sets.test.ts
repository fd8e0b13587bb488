/** ECS services with the EXTERNAL deployment controller: task sets that run real tasks, their errors and their authorization. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  CreateTaskSetCommand,
  DeleteServiceCommand,
  DeleteTaskSetCommand,
  DescribeServicesCommand,
  DescribeTaskSetsCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTagsForResourceCommand,
  ListTasksCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateServiceCommand,
  UpdateServicePrimaryTaskSetCommand,
  UpdateTaskSetCommand,
  type Service,
  type TaskSet,
} from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, NETWORK, registerSleeper, waitFor } from "./ecs-helpers.ts";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let app: string;
let app2: string;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: "ts" }));
  app = await registerSleeper(ecs, "ts-app");
  app2 = await registerSleeper(ecs, "ts-app");
});
afterAll(async () => {
  await server?.close();
});

const external = { type: "EXTERNAL" as const };
const NOT_EXTERNAL = "Amazon ECS only supports task set management on services configured to use external deployment controllers.";

async function describeService(name: string): Promise<Service> {
  return (await ecs.send(new DescribeServicesCommand({ cluster: "ts", services: [name] }))).services![0];
}

async function taskSet(service: string, id: string): Promise<TaskSet | undefined> {
  return (await ecs.send(new DescribeTaskSetsCommand({ cluster: "ts", service, taskSets: [id] }))).taskSets![0];
}

async function liveTasks(service: string): Promise<{ taskArn?: string; startedBy?: string; group?: string; lastStatus?: string; stoppedReason?: string }[]> {
  const arns = (await ecs.send(new ListTasksCommand({ cluster: "ts", serviceName: service }))).taskArns!;
  if (!arns.length) return [];
  return (await ecs.send(new DescribeTasksCommand({ cluster: "ts", tasks: arns }))).tasks!;
}

describe("task sets", () => {
  it("an EXTERNAL service runs each task set's ceil(desiredCount × scale%) tasks and follows its primary task set", async () => {
    const created = (await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "ext", desiredCount: 2, deploymentController: external }))).service!;
    expect(created.deploymentController).toEqual({ type: "EXTERNAL" });
    expect(created.taskSets).toEqual([]);
    expect(created.deployments).toBeUndefined();
    expect(created.taskDefinition).toBeUndefined();

    const blue = (
      await ecs.send(
        new CreateTaskSetCommand({
          cluster: "ts",
          service: "ext",
          taskDefinition: app,
          launchType: "FARGATE",
          networkConfiguration: NETWORK,
          scale: { value: 50, unit: "PERCENT" },
          externalId: "blue",
          tags: [{ key: "colour", value: "blue" }],
        }),
      )
    ).taskSet!;
    expect(blue.id).toMatch(/^ecs-svc\/\d{19}$/);
    expect(blue.taskSetArn).toBe(`arn:aws:ecs:us-east-1:${ACCOUNT}:task-set/ts/ext/${blue.id}`);
    expect(blue).toMatchObject({
      serviceArn: created.serviceArn,
      clusterArn: created.clusterArn,
      status: "ACTIVE",
      externalId: "blue",
      taskDefinition: app,
      computedDesiredCount: 1,
      launchType: "FARGATE",
      platformVersion: "1.4.0",
      scale: { value: 50, unit: "PERCENT" },
      stabilityStatus: "STABILIZING",
      tags: [{ key: "colour", value: "blue" }],
    });

    const steady = await waitFor("blue steady", async () => {
      const ts = await taskSet("ext", blue.id!);
      return ts?.runningCount === 1 && ts.stabilityStatus === "STEADY_STATE" ? ts : undefined;
    });
    expect(steady.pendingCount).toBe(0);
    expect(steady.tags).toBeUndefined();
    const tasks = await liveTasks("ext");
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ startedBy: blue.id, group: "service:ext" });

    // scale is a percent of the service's desired count, rounded up
    const scaled = (await ecs.send(new UpdateTaskSetCommand({ cluster: "ts", service: "ext", taskSet: blue.taskSetArn, scale: { value: 100, unit: "PERCENT" } }))).taskSet!;
    expect(scaled.computedDesiredCount).toBe(2);
    await waitFor("blue at 2", async () => ((await taskSet("ext", blue.id!))?.runningCount === 2 ? true : undefined));
    await ecs.send(new UpdateServiceCommand({ cluster: "ts", service: "ext", desiredCount: 3 }));
    expect((await taskSet("ext", blue.id!))!.computedDesiredCount).toBe(3);
    await waitFor("blue at 3", async () => ((await taskSet("ext", blue.id!))?.runningCount === 3 ? true : undefined));

    const green = (
      await ecs.send(
        new CreateTaskSetCommand({
          cluster: "ts",
          service: "ext",
          taskDefinition: app2,
          launchType: "FARGATE",
          networkConfiguration: NETWORK,
          scale: { value: 0, unit: "PERCENT" },
        }),
      )
    ).taskSet!;
    expect(green.computedDesiredCount).toBe(0);
    const primary = (await ecs.send(new UpdateServicePrimaryTaskSetCommand({ cluster: "ts", service: "ext", primaryTaskSet: green.id }))).taskSet!;
    expect(primary.status).toBe("PRIMARY");
    const svc = await describeService("ext");
    expect(svc.taskDefinition).toBe(app2);
    expect(svc.launchType).toBe("FARGATE");
    expect(svc.deployments).toBeUndefined();
    expect(Object.fromEntries(svc.taskSets!.map((t) => [t.id, t.status]))).toEqual({ [blue.id!]: "ACTIVE", [green.id!]: "PRIMARY" });
    expect(svc.runningCount).toBe(3);

    // a task set still scaled above 0, or the primary one, is deleted only with force
    await expectAwsError(ecs.send(new DeleteTaskSetCommand({ cluster: "ts", service: "ext", taskSet: blue.id })), "InvalidParameterException", 400, /scaled down to zero/);
    await expectAwsError(ecs.send(new DeleteTaskSetCommand({ cluster: "ts", service: "ext", taskSet: green.id })), "InvalidParameterException", 400, /primary task set/);
    await ecs.send(new UpdateTaskSetCommand({ cluster: "ts", service: "ext", taskSet: green.id, scale: { value: 34, unit: "PERCENT" } }));
    await waitFor("green at 2", async () => ((await taskSet("ext", green.id!))?.runningCount === 2 ? true : undefined));
    const draining = (await ecs.send(new DeleteTaskSetCommand({ cluster: "ts", service: "ext", taskSet: blue.id, force: true }))).taskSet!;
    expect(draining.status).toBe("DRAINING");
    expect(draining.computedDesiredCount).toBe(0);
    await waitFor("blue gone", async () => {
      const out = await ecs.send(new DescribeTaskSetsCommand({ cluster: "ts", service: "ext", taskSets: [blue.id!] }));
      return out.failures!.length === 1 ? out : undefined;
    }).then((out) => expect(out.failures).toEqual([{ arn: blue.taskSetArn, reason: "MISSING" }]));
    const left = await liveTasks("ext");
    expect(left.filter((t) => t.lastStatus !== "STOPPED").map((t) => t.startedBy)).toEqual([green.id, green.id]);
    const stoppedBlue = (await ecs.send(new ListTasksCommand({ cluster: "ts", serviceName: "ext", desiredStatus: "STOPPED" }))).taskArns!;
    expect(stoppedBlue.length).toBeGreaterThanOrEqual(3);
    const reasons = (await ecs.send(new DescribeTasksCommand({ cluster: "ts", tasks: stoppedBlue }))).tasks!.filter((t) => t.startedBy === blue.id).map((t) => t.stoppedReason);
    expect(reasons).toEqual(["Task set deleted", "Task set deleted", "Task set deleted"]);

    // deleting the service stops every task set's tasks
    await ecs.send(new DeleteServiceCommand({ cluster: "ts", service: "ext", force: true }));
    await waitFor("inactive", async () => ((await describeService("ext")).status === "INACTIVE" ? true : undefined));
    expect((await ecs.send(new ListTasksCommand({ cluster: "ts", serviceName: "ext" }))).taskArns).toEqual([]);
  });

  it("DescribeTaskSets lists every task set, with tags when asked; clientToken makes CreateTaskSet idempotent", async () => {
    await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "idem", deploymentController: external }));
    const input = {
      cluster: "ts",
      service: "idem",
      taskDefinition: app,
      launchType: "FARGATE" as const,
      networkConfiguration: NETWORK,
      clientToken: "token-1",
      tags: [{ key: "k", value: "v" }],
    };
    const first = (await ecs.send(new CreateTaskSetCommand(input))).taskSet!;
    const again = (await ecs.send(new CreateTaskSetCommand(input))).taskSet!;
    expect(again.id).toBe(first.id);
    // the default scale is 100% of a desired count of 0
    expect(first.scale).toEqual({ value: 100, unit: "PERCENT" });
    expect(first.computedDesiredCount).toBe(0);
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...input, taskDefinition: app2 })), "InvalidParameterException", 400, /client token/);
    const all = await ecs.send(new DescribeTaskSetsCommand({ cluster: "ts", service: "idem", include: ["TAGS"] }));
    expect(all.taskSets!.map((t) => [t.id, t.tags])).toEqual([[first.id, [{ key: "k", value: "v" }]]]);
    const missing = await ecs.send(new DescribeTaskSetsCommand({ cluster: "ts", service: "idem", taskSets: ["ecs-svc/1234567890123456789"] }));
    expect(missing).toMatchObject({ taskSets: [], failures: [{ arn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-set/ts/idem/ecs-svc/1234567890123456789`, reason: "MISSING" }] });
    for (let i = 0; i < 4; i++) await ecs.send(new CreateTaskSetCommand({ ...input, clientToken: undefined, tags: undefined }));
    await expectAwsError(
      ecs.send(new CreateTaskSetCommand({ ...input, clientToken: undefined })),
      "InvalidParameterException",
      400,
      "5 deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit.",
    );
  });

  it("tags a task set through TagResource, UntagResource and ListTagsForResource", async () => {
    await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "tagged", deploymentController: external }));
    const made = (
      await ecs.send(
        new CreateTaskSetCommand({
          cluster: "ts",
          service: "tagged",
          taskDefinition: app,
          launchType: "FARGATE",
          networkConfiguration: NETWORK,
          scale: { value: 0, unit: "PERCENT" },
          tags: [{ key: "a", value: "1" }],
        }),
      )
    ).taskSet!;
    await ecs.send(new TagResourceCommand({ resourceArn: made.taskSetArn, tags: [{ key: "b", value: "2" }] }));
    await ecs.send(new UntagResourceCommand({ resourceArn: made.taskSetArn, tagKeys: ["a"] }));
    expect((await ecs.send(new ListTagsForResourceCommand({ resourceArn: made.taskSetArn }))).tags).toEqual([{ key: "b", value: "2" }]);
    expect((await ecs.send(new DescribeTaskSetsCommand({ cluster: "ts", service: "tagged", include: ["TAGS"] }))).taskSets![0].tags).toEqual([{ key: "b", value: "2" }]);
    const unknown = made.taskSetArn!.replace(/\d{19}$/, "1234567890123456789");
    await expectAwsError(ecs.send(new ListTagsForResourceCommand({ resourceArn: unknown })), "InvalidParameterException", 400, "The specified task set does not exist.");
    await expectAwsError(ecs.send(new TagResourceCommand({ resourceArn: made.taskSetArn, tags: [{ key: "aws:x", value: "y" }] })), "InvalidParameterException", 400);
  });

  it("refuses what an EXTERNAL service may not have, and task sets on services that are not EXTERNAL", async () => {
    const base = { cluster: "ts", serviceName: "bad", deploymentController: external };
    await expectAwsError(ecs.send(new CreateServiceCommand({ ...base, taskDefinition: app })), "InvalidParameterException", 400, "TaskDefinition must be blank.");
    await expectAwsError(ecs.send(new CreateServiceCommand({ ...base, taskDefinition: "" })), "InvalidParameterException", 400, "Family should not be null or empty.");
    await expectAwsError(ecs.send(new CreateServiceCommand({ ...base, launchType: "FARGATE" })), "InvalidParameterException", 400, "LaunchType must be blank.");
    await expectAwsError(ecs.send(new CreateServiceCommand({ ...base, networkConfiguration: NETWORK })), "InvalidParameterException", 400, "NetworkConfiguration must be blank.");
    await expectAwsError(ecs.send(new CreateServiceCommand({ ...base, desiredCount: -1 })), "InvalidParameterException", 400);
    await expectAwsError(
      ecs.send(new CreateServiceCommand({ ...base, deploymentController: { type: "CODE_DEPLOY" } })),
      "InvalidParameterException",
      400,
      /CODE_DEPLOY is not supported/,
    );
    expect((await describeService("bad")) ?? "missing").toBe("missing");
    // blank members are accepted
    const blank = (await ecs.send(new CreateServiceCommand({ ...base, serviceName: "blank", platformVersion: "", capacityProviderStrategy: [] }))).service!;
    expect(blank.deploymentController).toEqual({ type: "EXTERNAL" });

    await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "plain", taskDefinition: app, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }));
    const ts = { cluster: "ts", taskDefinition: app, launchType: "FARGATE" as const, networkConfiguration: NETWORK };
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...ts, service: "plain" })), "InvalidParameterException", 400, NOT_EXTERNAL);
    await expectAwsError(ecs.send(new DescribeTaskSetsCommand({ cluster: "ts", service: "plain" })), "InvalidParameterException", 400, NOT_EXTERNAL);
    await expectAwsError(
      ecs.send(new UpdateServicePrimaryTaskSetCommand({ cluster: "ts", service: "plain", primaryTaskSet: "ecs-svc/1" })),
      "InvalidParameterException",
      400,
      NOT_EXTERNAL,
    );
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...ts, service: "nope" })), "ServiceNotFoundException", 400);
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...ts, cluster: "nope", service: "plain" })), "ClusterNotFoundException", 400);

    await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "ext2", desiredCount: 1, deploymentController: external }));
    const on = { ...ts, service: "ext2" };
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...on, scale: { value: 101, unit: "PERCENT" } })), "InvalidParameterException", 400, /between 0 and 100/);
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...on, scale: { value: -1, unit: "PERCENT" } })), "InvalidParameterException", 400, /between 0 and 100/);
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...on, scale: { unit: "PERCENT" } })), "InvalidParameterException", 400, /between 0 and 100/);
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...on, taskDefinition: "no-such-family" })), "ClientException", 400, "TaskDefinition not found.");
    await expectAwsError(
      ecs.send(new CreateTaskSetCommand({ ...on, networkConfiguration: undefined })),
      "InvalidParameterException",
      400,
      /Network Configuration must be provided/,
    );
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...on, platformVersion: "9.9.9" })), "PlatformUnknownException", 400);
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...on, clientToken: "x".repeat(37) })), "InvalidParameterException", 400);
    await expectAwsError(ecs.send(new CreateTaskSetCommand({ ...on, tags: [{ key: "aws:x", value: "y" }] })), "InvalidParameterException", 400);
    expect((await ecs.send(new DescribeTaskSetsCommand({ cluster: "ts", service: "ext2" }))).taskSets).toEqual([]);

    const unknown = { cluster: "ts", service: "ext2", taskSet: "ecs-svc/1234567890123456789" };
    await expectAwsError(ecs.send(new UpdateTaskSetCommand({ ...unknown, scale: { value: 10, unit: "PERCENT" } })), "TaskSetNotFoundException", 400);
    await expectAwsError(ecs.send(new DeleteTaskSetCommand(unknown)), "TaskSetNotFoundException", 400);
    await expectAwsError(ecs.send(new UpdateServicePrimaryTaskSetCommand({ ...unknown, primaryTaskSet: unknown.taskSet })), "TaskSetNotFoundException", 400);
    // a task set ARN of another service names nothing here
    const other = (await ecs.send(new CreateTaskSetCommand({ ...on, scale: { value: 0, unit: "PERCENT" } }))).taskSet!;
    await expectAwsError(ecs.send(new DeleteTaskSetCommand({ cluster: "ts", service: "idem", taskSet: other.taskSetArn })), "TaskSetNotFoundException", 400);

    await expectAwsError(
      ecs.send(new UpdateServiceCommand({ cluster: "ts", service: "ext2", taskDefinition: app })),
      "InvalidParameterException",
      400,
      /EXTERNAL deployment controller/,
    );
    await expectAwsError(
      ecs.send(new UpdateServiceCommand({ cluster: "ts", service: "ext2", networkConfiguration: NETWORK })),
      "InvalidParameterException",
      400,
      /network parameters/,
    );
    await expectAwsError(ecs.send(new UpdateServiceCommand({ cluster: "ts", service: "ext2", forceNewDeployment: true })), "InvalidParameterException", 400);
    expect((await describeService("ext2")).taskDefinition).toBeUndefined();
  });

  it("UpdateService on an EXTERNAL service changes only what AWS lets it: desired count, placement, grace period and the tag options", async () => {
    await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "ext-upd", desiredCount: 0, deploymentController: external }));
    const update = (extra: Record<string, unknown>) => ecs.send(new UpdateServiceCommand({ cluster: "ts", service: "ext-upd", ...extra }));
    const before = await describeService("ext-upd");
    for (const [extra, what] of [
      [{ deploymentConfiguration: { minimumHealthyPercent: 50, maximumPercent: 150 } }, "deployment configuration"],
      [{ enableExecuteCommand: true }, "enable execute command"],
      [{ availabilityZoneRebalancing: "ENABLED" }, "availability zone rebalancing"],
      [{ platformVersion: "1.4.0" }, "platform version"],
    ] as const) {
      await expectAwsError(
        update({ ...extra, desiredCount: 3 }),
        "InvalidParameterException",
        400,
        new RegExp(`^Unable to update ${what} on services with a EXTERNAL deployment controller\\.`),
      );
    }
    // nothing of a refused call was applied
    const unchanged = await describeService("ext-upd");
    expect(unchanged.desiredCount).toBe(0);
    expect(unchanged.deploymentConfiguration).toEqual(before.deploymentConfiguration);
    expect(unchanged.enableExecuteCommand).toBe(false);

    const out = (
      await update({
        desiredCount: 2,
        healthCheckGracePeriodSeconds: 30,
        placementConstraints: [],
        placementStrategy: [],
        propagateTags: "SERVICE",
        enableECSManagedTags: true,
      })
    ).service!;
    expect(out).toMatchObject({ desiredCount: 2, propagateTags: "SERVICE", enableECSManagedTags: true, enableExecuteCommand: false });
    expect(out.deploymentConfiguration).toEqual(before.deploymentConfiguration);
  });

  it("authorizes each call on the task set or service ARN, and tags on create with ecs:TagResource", async () => {
    await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "authz", deploymentController: external }));
    const svcArn = `arn:aws:ecs:us-east-1:${ACCOUNT}:service/ts/authz`;
    const iam = new IAMClient(server.config);
    const creator = new ECSClient(
      server.configFor(await userWithKey(iam, "ts-creator", doc([allow("ecs:CreateTaskSet", `arn:aws:ecs:us-east-1:${ACCOUNT}:task-set/ts/authz/*`)]))),
    );
    const input = {
      cluster: "ts",
      service: "authz",
      taskDefinition: app,
      launchType: "FARGATE" as const,
      networkConfiguration: NETWORK,
      scale: { value: 0, unit: "PERCENT" as const },
    };
    const made = (await creator.send(new CreateTaskSetCommand(input))).taskSet!;
    // tagging on create also needs ecs:TagResource
    await expectAwsError(creator.send(new CreateTaskSetCommand({ ...input, tags: [{ key: "a", value: "b" }] })), "AccessDeniedException", 400, /ecs:TagResource/);
    // a task set of another service is not covered by the policy
    await ecs.send(new CreateServiceCommand({ cluster: "ts", serviceName: "authz-other", deploymentController: external }));
    await expectAwsError(creator.send(new CreateTaskSetCommand({ ...input, service: "authz-other" })), "AccessDeniedException", 400, /ecs:CreateTaskSet/);
    await expectAwsError(
      creator.send(new DescribeTaskSetsCommand({ cluster: "ts", service: "authz" })),
      "AccessDeniedException",
      400,
      new RegExp(`ecs:DescribeTaskSets on resource: ${svcArn}`),
    );
    await expectAwsError(
      creator.send(new DeleteTaskSetCommand({ cluster: "ts", service: "authz", taskSet: made.id })),
      "AccessDeniedException",
      400,
      new RegExp(`ecs:DeleteTaskSet on resource: ${made.taskSetArn}`),
    );
    await expectAwsError(
      creator.send(new UpdateServicePrimaryTaskSetCommand({ cluster: "ts", service: "authz", primaryTaskSet: made.id })),
      "AccessDeniedException",
      400,
      new RegExp(`ecs:UpdateServicePrimaryTaskSet on resource: ${svcArn}`),
    );
    await expectAwsError(
      creator.send(new UpdateTaskSetCommand({ cluster: "ts", service: "authz", taskSet: made.id, scale: { value: 1, unit: "PERCENT" } })),
      "AccessDeniedException",
      400,
      new RegExp(`ecs:UpdateTaskSet on resource: ${made.taskSetArn}`),
    );
    expect((await taskSet("authz", made.id!))!.scale!.value).toBe(0);
  });
});

describe("task sets across a restart", () => {
  it("keeps the task sets and starts replacements for their tasks", async () => {
    let own = await startTestServer();
    try {
      const dataDir = own.dataDir;
      let c = new ECSClient(own.config);
      await c.send(new CreateClusterCommand({ clusterName: "keep" }));
      const td = await registerSleeper(c, "keep-app");
      await c.send(new CreateServiceCommand({ cluster: "keep", serviceName: "ext", desiredCount: 1, deploymentController: external }));
      const made = (
        await c.send(new CreateTaskSetCommand({ cluster: "keep", service: "ext", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK, externalId: "v1" }))
      ).taskSet!;
      await c.send(new UpdateServicePrimaryTaskSetCommand({ cluster: "keep", service: "ext", primaryTaskSet: made.id }));
      const first = await waitFor("first task", async () => {
        const arns = (await c.send(new ListTasksCommand({ cluster: "keep", serviceName: "ext" }))).taskArns!;
        const ts = (await c.send(new DescribeTaskSetsCommand({ cluster: "keep", service: "ext" }))).taskSets![0];
        return arns.length === 1 && ts.runningCount === 1 ? arns[0] : undefined;
      });

      await own.stop();
      own = await startTestServer({ dataDir });
      c = new ECSClient(own.config);
      const ts = (await c.send(new DescribeTaskSetsCommand({ cluster: "keep", service: "ext" }))).taskSets!;
      expect(ts.map((t) => [t.id, t.status, t.externalId, t.taskDefinition, t.createdAt instanceof Date])).toEqual([[made.id, "PRIMARY", "v1", td, true]]);
      const replacement = await waitFor("replacement", async () => {
        const arns = (await c.send(new ListTasksCommand({ cluster: "keep", serviceName: "ext" }))).taskArns!;
        return arns.length === 1 && arns[0] !== first ? arns[0] : undefined;
      });
      const t = (await c.send(new DescribeTasksCommand({ cluster: "keep", tasks: [replacement] }))).tasks![0];
      expect(t.startedBy).toBe(made.id);
      expect((await c.send(new DescribeServicesCommand({ cluster: "keep", services: ["ext"] }))).services![0].taskDefinition).toBe(td);
    } finally {
      await own.close();
    }
  });
});
