/**
 * A deleted service: DRAINING while its tasks stop (its name cannot be reused then), INACTIVE
 * and still described for an hour of the service clock, then forgotten; that hour survives a
 * restart, and the name can be reused as soon as the service is INACTIVE
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html;
 * docs/ecs-fargate.md#deleting-a-service).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeleteServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  UpdateServiceCommand,
  type DescribeServicesResponse,
} from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, NETWORK, registerSleeper, waitFor } from "./ecs-helpers.ts";
import { expectAwsError } from "./iam-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let td: string;
let stubborn: string;
const CLUSTER = "gone";
const arnOf = (name: string) => `arn:aws:ecs:us-east-1:${ACCOUNT}:service/${CLUSTER}/${name}`;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  td = await registerSleeper(ecs, "gone-app");
  // a container that ignores SIGTERM keeps its task, and so its deleted service, DRAINING for its stopTimeout
  stubborn = await registerSleeper(ecs, "gone-stubborn", [
    { name: "app", image: "busybox", command: ["sh", "-c", "trap '' TERM; sleep 300 & wait; sleep 300"], essential: true, stopTimeout: 5 },
  ]);
});
afterAll(async () => {
  await server?.close();
});

function describe1(name: string): Promise<DescribeServicesResponse> {
  return ecs.send(new DescribeServicesCommand({ cluster: CLUSTER, services: [name] }));
}

async function createAndDelete(name: string): Promise<void> {
  await ecs.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName: name, taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }));
  expect((await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: name }))).service!.status).toBe("DRAINING");
  await waitFor("INACTIVE", async () => (await describe1(name)).services?.[0]?.status === "INACTIVE");
}

describe("deleted services", () => {
  it("refuses a service's name while it drains and takes it again once the service is INACTIVE", async () => {
    await ecs.send(
      new CreateServiceCommand({ cluster: CLUSTER, serviceName: "reuse", taskDefinition: stubborn, desiredCount: 1, launchType: "FARGATE", networkConfiguration: NETWORK }),
    );
    await waitFor("running", async () => (await describe1("reuse")).services![0].runningCount === 1);
    await ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "reuse", force: true }));
    expect((await describe1("reuse")).services![0].status).toBe("DRAINING");
    await expectAwsError(
      ecs.send(new CreateServiceCommand({ cluster: CLUSTER, serviceName: "reuse", taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK })),
      "InvalidParameterException",
      400,
      "Creation of service was not idempotent.",
    );
    await waitFor("INACTIVE", async () => (await describe1("reuse")).services?.[0]?.status === "INACTIVE");
    const again = (
      await ecs.send(
        new CreateServiceCommand({ cluster: CLUSTER, serviceName: "reuse", taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK }),
      )
    ).service!;
    expect(again).toMatchObject({ serviceArn: arnOf("reuse"), status: "ACTIVE", desiredCount: 0, events: [] });
    expect((await describe1("reuse")).services![0].status).toBe("ACTIVE");
  });

  it("describes an INACTIVE service for an hour of the service clock, then forgets it", async () => {
    await createAndDelete("hour");
    await server.advanceClock(3590);
    expect((await describe1("hour")).services![0]).toMatchObject({ serviceArn: arnOf("hour"), status: "INACTIVE" });
    await server.advanceClock(20);
    expect(await describe1("hour")).toMatchObject({ services: [], failures: [{ arn: arnOf("hour"), reason: "MISSING" }] });
    await expectAwsError(ecs.send(new UpdateServiceCommand({ cluster: CLUSTER, service: "hour", desiredCount: 1 })), "ServiceNotFoundException", 400, "Service not found.");
    await expectAwsError(ecs.send(new DeleteServiceCommand({ cluster: CLUSTER, service: "hour" })), "ServiceNotFoundException", 400, "Service not found.");
  });

  it("keeps the hour across a restart and forgets the service for good", async () => {
    await createAndDelete("kept");
    await server.stop();
    server = await startTestServer({ dataDir: server.dataDir });
    ecs = new ECSClient(server.config);
    expect((await describe1("kept")).services![0]).toMatchObject({ status: "INACTIVE" });
    await server.advanceClock(3610);
    expect((await describe1("kept")).failures).toEqual([{ arn: arnOf("kept"), reason: "MISSING" }]);
    await server.stop();
    server = await startTestServer({ dataDir: server.dataDir });
    ecs = new ECSClient(server.config);
    expect((await describe1("kept")).failures).toEqual([{ arn: arnOf("kept"), reason: "MISSING" }]);
  });
});
