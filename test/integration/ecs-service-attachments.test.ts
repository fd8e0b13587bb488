/** A service's loadBalancers, serviceRegistries, serviceConnectConfiguration and volumeConfigurations: checked as ECS checks them, kept and shown back. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  ECSClient,
  RunTaskCommand,
  UpdateServiceCommand,
  type CreateServiceCommandInput,
} from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, NETWORK, registerSleeper } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let region: string;
let td: string;
let tg: string;
const REGISTRY = () => `arn:aws:servicediscovery:${region}:${ACCOUNT}:service/srv-abcdefghij012345`;
const EBS_ROLE = `arn:aws:iam::${ACCOUNT}:role/ecsInfrastructureRole`;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  const cluster = (await ecs.send(new CreateClusterCommand({ clusterName: "att" }))).cluster!;
  region = cluster.clusterArn!.split(":")[3];
  tg = `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:targetgroup/web-tg/0123456789abcdef`;
  td = await registerSleeper(
    ecs,
    "att-app",
    [{ name: "web", image: "busybox", command: ["sleep", "300"], essential: true, portMappings: [{ containerPort: 8080, name: "http" }] }],
    { volumes: [{ name: "data", configuredAtLaunch: true }, { name: "scratch" }] },
  );
});
afterAll(async () => {
  await server?.close();
});

let n = 0;
function base(extra: Partial<CreateServiceCommandInput> = {}): CreateServiceCommandInput {
  return { cluster: "att", serviceName: `s${++n}`, taskDefinition: td, desiredCount: 0, launchType: "FARGATE", networkConfiguration: NETWORK, ...extra };
}

async function rejects(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  expect(err, "the call should fail").toBeDefined();
  expect(err!.name).toBe("InvalidParameterException");
  expect(err!.$metadata?.httpStatusCode).toBe(400);
  if (typeof message === "string") expect(err!.message).toBe(message);
  else expect(err!.message).toMatch(message);
}

describe("loadBalancers", () => {
  it("round-trips through CreateService, DescribeServices and the service revision", async () => {
    const lb = { targetGroupArn: tg, containerName: "web", containerPort: 8080 };
    const created = (await ecs.send(new CreateServiceCommand(base({ serviceName: "lb-ok", loadBalancers: [lb] })))).service!;
    expect(created.loadBalancers).toEqual([lb]);
    const described = (await ecs.send(new DescribeServicesCommand({ cluster: "att", services: ["lb-ok"] }))).services![0];
    expect(described.loadBalancers).toEqual([lb]);
    const rev = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [described.currentServiceRevisions![0].arn!] }));
    expect(rev.serviceRevisions![0].loadBalancers).toEqual([lb]);
  });

  it("UpdateService replaces them with a new deployment, and an empty list clears them", async () => {
    await ecs.send(new CreateServiceCommand(base({ serviceName: "lb-upd" })));
    const lb = { targetGroupArn: tg, containerName: "web", containerPort: 8080 };
    const updated = (await ecs.send(new UpdateServiceCommand({ cluster: "att", service: "lb-upd", loadBalancers: [lb] }))).service!;
    expect(updated.loadBalancers).toEqual([lb]);
    expect(updated.deployments).toHaveLength(2);
    const cleared = (await ecs.send(new UpdateServiceCommand({ cluster: "att", service: "lb-upd", loadBalancers: [] }))).service!;
    expect(cleared.loadBalancers).toEqual([]);
  });

  it("refuses what ECS refuses", async () => {
    const ok = { targetGroupArn: tg, containerName: "web", containerPort: 8080 };
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: [{ ...ok, containerName: undefined }] }))), "Container Name can not be blank.");
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: [{ ...ok, containerName: "nope" }] }))), "The container nope does not exist in the task definition.");
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: [{ ...ok, containerPort: 81 }] }))), "The container web did not have a container port 81 defined.");
    await rejects(
      ecs.send(new CreateServiceCommand(base({ loadBalancers: [ok], role: "ecsServiceRole" }))),
      "You cannot specify an IAM role for services that require a service linked role.",
    );
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: [{ ...ok, targetGroupArn: "arn:aws:s3:::bucket" }] }))), /^Invalid targetGroupArn/);
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: [{ ...ok, targetGroupArn: tg.replace(ACCOUNT, "111122223333") }] }))), /must be in account/);
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: [{ ...ok, targetGroupArn: tg.replace(region, "eu-north-9") }] }))), /must be in Region/);
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: [{ loadBalancerName: "classic", containerName: "web", containerPort: 8080 }] }))), /loadBalancerName/);
    const six = [0, 1, 2, 3, 4, 5].map((i) => ({ ...ok, targetGroupArn: tg.replace("web-tg", `tg${i}`) }));
    await rejects(ecs.send(new CreateServiceCommand(base({ loadBalancers: six }))), "loadBalancers can have at most 5 entries.");
    await rejects(
      ecs.send(new UpdateServiceCommand({ cluster: "att", service: "lb-ok", loadBalancers: [{ ...ok, containerPort: 9 }] })),
      "The container web did not have a container port 9 defined.",
    );
    const after = (await ecs.send(new DescribeServicesCommand({ cluster: "att", services: ["lb-ok"] }))).services![0];
    expect(after.loadBalancers).toEqual([ok]);
  });
});

describe("serviceRegistries", () => {
  it("round-trip and are checked", async () => {
    const reg = { registryArn: REGISTRY(), containerName: "web", containerPort: 8080 };
    const created = (await ecs.send(new CreateServiceCommand(base({ serviceName: "reg-ok", serviceRegistries: [reg] })))).service!;
    expect(created.serviceRegistries).toEqual([reg]);
    const described = (await ecs.send(new DescribeServicesCommand({ cluster: "att", services: ["reg-ok"] }))).services![0];
    expect(described.serviceRegistries).toEqual([reg]);
    await rejects(ecs.send(new CreateServiceCommand(base({ serviceRegistries: [{ registryArn: "srv-abc" }] }))), "Invalid registryArn: srv-abc.");
    await rejects(ecs.send(new CreateServiceCommand(base({ serviceRegistries: [{ ...reg, port: 53 }] }))), /not both/);
    await rejects(ecs.send(new CreateServiceCommand(base({ serviceRegistries: [{ registryArn: REGISTRY(), port: 70000 }] }))), "port must be between 0 and 65535.");
    await rejects(ecs.send(new CreateServiceCommand(base({ serviceRegistries: [{ ...reg, containerPort: 1 }] }))), "The container web did not have a container port 1 defined.");
    await rejects(ecs.send(new CreateServiceCommand(base({ serviceRegistries: [reg, reg] }))), "Only one service registry is supported per service.");
  });
});

describe("serviceConnectConfiguration", () => {
  it("is shown on the deployment and the service revision, and checked", async () => {
    const sc = { enabled: true, namespace: "internal", services: [{ portName: "http", clientAliases: [{ port: 80, dnsName: "web" }] }] };
    const created = (await ecs.send(new CreateServiceCommand(base({ serviceName: "sc-ok", serviceConnectConfiguration: sc })))).service!;
    expect(created.deployments![0].serviceConnectConfiguration).toEqual(sc);
    const rev = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [created.currentServiceRevisions![0].arn!] }));
    expect(rev.serviceRevisions![0].serviceConnectConfiguration).toEqual(sc);
    await rejects(
      ecs.send(new CreateServiceCommand(base({ serviceConnectConfiguration: { ...sc, services: [{ portName: "grpc" }] } }))),
      "The port name grpc does not exist in any portMappings of the task definition.",
    );
    await rejects(ecs.send(new CreateServiceCommand(base({ serviceConnectConfiguration: { enabled: true } }))), "A namespace must be specified when Service Connect is enabled.");
    await rejects(
      ecs.send(new CreateServiceCommand(base({ serviceConnectConfiguration: { ...sc, services: [{ portName: "http", clientAliases: [{ port: 0 }] }] } }))),
      "clientAliases port must be between 1 and 65535.",
    );
  });
});

describe("volumeConfigurations", () => {
  const vol = { name: "data", managedEBSVolume: { roleArn: EBS_ROLE, volumeType: "gp3", sizeInGiB: 20, iops: 3000, throughput: 125 } };

  it("are shown on the deployment and the service revision", async () => {
    const created = (await ecs.send(new CreateServiceCommand(base({ serviceName: "vol-ok", volumeConfigurations: [vol] })))).service!;
    expect(created.deployments![0].volumeConfigurations).toEqual([vol]);
    const rev = await ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [created.currentServiceRevisions![0].arn!] }));
    expect(rev.serviceRevisions![0].volumeConfigurations).toEqual([vol]);
  });

  it("are checked on CreateService and RunTask", async () => {
    const withEbs = (e: Record<string, unknown>, name = "data") => base({ volumeConfigurations: [{ name, managedEBSVolume: { ...vol.managedEBSVolume, ...e } }] });
    await rejects(ecs.send(new CreateServiceCommand(withEbs({}, "nope"))), "The volume nope does not exist in the task definition.");
    await rejects(ecs.send(new CreateServiceCommand(withEbs({}, "scratch"))), "The volume scratch must be marked configuredAtLaunch in the task definition.");
    await rejects(ecs.send(new CreateServiceCommand(withEbs({ sizeInGiB: 0 }))), "sizeInGiB for volume type gp3 must be between 1 and 16384.");
    await rejects(ecs.send(new CreateServiceCommand(withEbs({ volumeType: "gp2", iops: undefined, throughput: 200 }))), "throughput is only supported for volume type gp3.");
    await rejects(ecs.send(new CreateServiceCommand(withEbs({ volumeType: "io2", iops: undefined }))), "iops must be specified for volume type io2.");
    await rejects(ecs.send(new CreateServiceCommand(withEbs({ volumeType: "floppy" }))), /^Invalid volumeType floppy/);
    await rejects(ecs.send(new CreateServiceCommand(withEbs({ roleArn: "ecsInfrastructureRole" }))), "Invalid roleArn: ecsInfrastructureRole.");
    await rejects(
      ecs.send(
        new RunTaskCommand({
          cluster: "att",
          taskDefinition: td,
          launchType: "FARGATE",
          networkConfiguration: NETWORK,
          volumeConfigurations: [{ name: "data", managedEBSVolume: { roleArn: EBS_ROLE, sizeInGiB: 70000 } }],
        }),
      ),
      "sizeInGiB for volume type gp2 must be between 1 and 16384.",
    );
  });
});

describe("EXTERNAL services", () => {
  it("refuse Service Connect and EBS volume configurations rather than drop them", async () => {
    const ext = { cluster: "att", desiredCount: 0, deploymentController: { type: "EXTERNAL" as const } };
    await rejects(
      ecs.send(new CreateServiceCommand({ ...ext, serviceName: "ext1", serviceConnectConfiguration: { enabled: true, namespace: "internal" } })),
      "Service Connect is not supported for services with an EXTERNAL deployment controller.",
    );
    await ecs.send(new CreateServiceCommand({ ...ext, serviceName: "ext2" }));
    await rejects(
      ecs.send(new UpdateServiceCommand({ cluster: "att", service: "ext2", volumeConfigurations: [{ name: "data", managedEBSVolume: { roleArn: EBS_ROLE, sizeInGiB: 1 } }] })),
      "Amazon EBS volumes are not supported for services with an EXTERNAL deployment controller.",
    );
  });
});

describe("restart", () => {
  it("keeps what a service was given", async () => {
    const lb = { targetGroupArn: tg, containerName: "web", containerPort: 8080 };
    const reg = { registryArn: REGISTRY(), port: 8080 };
    const vol = { name: "data", managedEBSVolume: { roleArn: EBS_ROLE, sizeInGiB: 5 } };
    await ecs.send(new CreateServiceCommand(base({ serviceName: "kept", loadBalancers: [lb], serviceRegistries: [reg], volumeConfigurations: [vol] })));
    const dataDir = server.dataDir;
    await server.stop();
    server = await startTestServer({ dataDir });
    ecs = new ECSClient(server.config);
    const s = (await ecs.send(new DescribeServicesCommand({ cluster: "att", services: ["kept"] }))).services![0];
    expect(s.loadBalancers).toEqual([lb]);
    expect(s.serviceRegistries).toEqual([reg]);
    expect(s.deployments![0].volumeConfigurations).toEqual([vol]);
  });
});
