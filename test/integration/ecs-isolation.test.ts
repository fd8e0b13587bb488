/**
 * ECS keeps accounts and Regions apart: another account's ARNs (its root or an administrator)
 * and an ARN of another Region are answered with AWS's errors, and nothing of the owner's changes.
 * docs/ecs-fargate.md, "Account and Region isolation".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTagsForResourceCommand,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateClusterCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { KMSClient } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createFargateKey, NETWORK, registerSleeper } from "./ecs-helpers.ts";
import { expectAwsError } from "./iam-helpers.ts";
import { otherAccountCallers, type Caller } from "./cross-account-helpers.ts";

let server: TestServer;
let owner: ECSClient;
let callers: Caller[];
let clusterArn: string;
let keyArn: string;
let taskDefArn: string;
let taskArn: string;
let serviceArn: string;

beforeAll(async () => {
  server = await startTestServer();
  owner = new ECSClient(server.config);
  const key = await createFargateKey(new KMSClient(server.config), "prod");
  keyArn = key.arn;
  clusterArn = (
    await owner.send(
      new CreateClusterCommand({
        clusterName: "prod",
        tags: [{ key: "team", value: "a" }],
        configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: keyArn } },
      }),
    )
  ).cluster!.clusterArn!;
  taskDefArn = await registerSleeper(owner, "secret-app", [
    { name: "app", image: "busybox", command: ["sleep", "300"], essential: true, stopTimeout: 1, environment: [{ name: "DB_PASSWORD", value: "hunter2" }] },
  ]);
  const run = await owner.send(new RunTaskCommand({ cluster: "prod", taskDefinition: taskDefArn, launchType: "FARGATE", networkConfiguration: NETWORK }));
  taskArn = run.tasks![0].taskArn!;
  serviceArn = (
    await owner.send(
      new CreateServiceCommand({ cluster: "prod", serviceName: "web", taskDefinition: taskDefArn, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }),
    )
  ).service!.serviceArn!;
  callers = await otherAccountCallers(server);
});
afterAll(async () => {
  await server?.close();
});

/** What the owner sees of its resources (compared before and after the other account's calls). */
async function ownerView(): Promise<unknown> {
  const c = (await owner.send(new DescribeClustersCommand({ clusters: ["prod"], include: ["TAGS", "CONFIGURATIONS", "SETTINGS"] }))).clusters![0];
  const d = await owner.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefArn, include: ["TAGS"] }));
  const t = (await owner.send(new DescribeTasksCommand({ cluster: "prod", tasks: [taskArn], include: ["TAGS"] }))).tasks![0];
  const s = (await owner.send(new DescribeServicesCommand({ cluster: "prod", services: ["web"], include: ["TAGS"] }))).services![0];
  return {
    cluster: { status: c.status, tags: c.tags, configuration: c.configuration, settings: c.settings },
    taskDef: { status: d.taskDefinition!.status, tags: d.tags },
    task: { desiredStatus: t.desiredStatus, tags: t.tags },
    service: { status: s.status, desiredCount: s.desiredCount, taskDefinition: s.taskDefinition, tags: s.tags },
  };
}

const denied = (op: string, resource: string) =>
  new RegExp(`is not authorized to perform: ecs:${op} on resource: ${resource.replace(/[/.]/g, "\\$&")} because no resource-based policy allows the ecs:${op} action$`);

describe("another account's identifiers", () => {
  it("are refused to the other account's root and administrator, and change nothing", async () => {
    const before = await ownerView();
    for (const caller of callers) {
      const ecs = new ECSClient(server.configFor(caller.creds));
      // Reads: nothing of the owner's is disclosed (task definitions carry environment values).
      await expectAwsError(ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefArn })), "ClientException", 400, "Unable to describe task definition.");
      await expectAwsError(ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [taskArn] })), "ClusterNotFoundException", 400, "Cluster not found.");
      await expectAwsError(ecs.send(new ListTasksCommand({ cluster: clusterArn })), "ClusterNotFoundException", 400, "Cluster not found.");
      await expectAwsError(ecs.send(new DescribeClustersCommand({ clusters: [clusterArn] })), "AccessDeniedException", 400, denied("DescribeClusters", clusterArn));
      await expectAwsError(
        ecs.send(new DescribeServicesCommand({ cluster: clusterArn, services: [serviceArn] })),
        "AccessDeniedException",
        400,
        denied("DescribeServices", serviceArn),
      );
      await expectAwsError(ecs.send(new ListTagsForResourceCommand({ resourceArn: taskDefArn })), "AccessDeniedException", 400, denied("ListTagsForResource", taskDefArn));
      // Changes.
      await expectAwsError(
        ecs.send(new UpdateClusterCommand({ cluster: clusterArn, configuration: { managedStorageConfiguration: {} } })),
        "AccessDeniedException",
        400,
        denied("UpdateCluster", clusterArn),
      );
      await expectAwsError(
        ecs.send(new RunTaskCommand({ cluster: clusterArn, taskDefinition: taskDefArn, launchType: "FARGATE", networkConfiguration: NETWORK })),
        "AccessDeniedException",
        400,
        denied("RunTask", taskDefArn),
      );
      await expectAwsError(ecs.send(new StopTaskCommand({ cluster: clusterArn, task: taskArn })), "AccessDeniedException", 400, denied("StopTask", taskArn));
      await expectAwsError(ecs.send(new StopTaskCommand({ cluster: clusterArn, task: taskArn.split("/").pop()! })), "ClusterNotFoundException", 400, "Cluster not found.");
      for (const arn of [clusterArn, taskDefArn, taskArn, serviceArn]) {
        await expectAwsError(ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key: "team", value: "b" }] })), "AccessDeniedException", 400, denied("TagResource", arn));
        await expectAwsError(ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["team"] })), "AccessDeniedException", 400, denied("UntagResource", arn));
      }
      await expectAwsError(
        ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: taskDefArn })),
        "AccessDeniedException",
        400,
        denied("DeregisterTaskDefinition", taskDefArn),
      );
      await expectAwsError(
        ecs.send(new UpdateServiceCommand({ cluster: clusterArn, service: "web", desiredCount: 3 })),
        "AccessDeniedException",
        400,
        denied("UpdateService", serviceArn),
      );
      await expectAwsError(
        ecs.send(new DeleteServiceCommand({ cluster: clusterArn, service: "web", force: true })),
        "AccessDeniedException",
        400,
        denied("DeleteService", serviceArn),
      );
      // The other account's own "prod" is a different cluster, which it does not have.
      await expectAwsError(
        ecs.send(new UpdateClusterCommand({ cluster: "prod", settings: [{ name: "containerInsights", value: "enabled" }] })),
        "ClusterNotFoundException",
        400,
        "Cluster not found.",
      );
    }
    expect(await ownerView()).toEqual(before);
  });
});

describe("an ARN of another Region", () => {
  it("names nothing in the request's Region, even for the owner", async () => {
    const before = await ownerView();
    const west = new ECSClient(server.configFor(server.config.credentials, "us-west-2"));
    const described = await west.send(new DescribeClustersCommand({ clusters: [clusterArn] }));
    expect(described.clusters).toEqual([]);
    expect(described.failures).toEqual([{ arn: clusterArn, reason: "MISSING" }]);
    await expectAwsError(
      west.send(new UpdateClusterCommand({ cluster: clusterArn, configuration: { managedStorageConfiguration: {} } })),
      "ClusterNotFoundException",
      400,
      "Cluster not found.",
    );
    await expectAwsError(west.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefArn })), "ClientException", 400, "Unable to describe task definition.");
    await expectAwsError(west.send(new DeregisterTaskDefinitionCommand({ taskDefinition: taskDefArn })), "ClientException", 400, "The specified task definition does not exist.");
    await expectAwsError(west.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [taskArn] })), "ClusterNotFoundException", 400);
    await expectAwsError(west.send(new StopTaskCommand({ cluster: clusterArn, task: taskArn })), "ClusterNotFoundException", 400);
    await expectAwsError(
      west.send(new RunTaskCommand({ cluster: "prod", taskDefinition: taskDefArn, launchType: "FARGATE", networkConfiguration: NETWORK })),
      "ClusterNotFoundException",
      400,
    );
    await expectAwsError(
      west.send(new TagResourceCommand({ resourceArn: clusterArn, tags: [{ key: "team", value: "z" }] })),
      "ClusterNotFoundException",
      400,
      "Cluster not found.",
    );
    await expectAwsError(west.send(new TagResourceCommand({ resourceArn: taskDefArn, tags: [{ key: "team", value: "z" }] })), "ClientException", 400);
    await expectAwsError(west.send(new UntagResourceCommand({ resourceArn: taskArn, tagKeys: ["team"] })), "InvalidParameterException", 400);
    await expectAwsError(west.send(new ListTagsForResourceCommand({ resourceArn: serviceArn })), "ServiceNotFoundException", 400);
    expect(await ownerView()).toEqual(before);
    // The owner still reaches everything from the resources' own Region.
    expect((await owner.send(new ListTagsForResourceCommand({ resourceArn: clusterArn }))).tags).toEqual([{ key: "team", value: "a" }]);
  });
});
