/** iam:PassRole: handing a task role or task execution role to ECS needs permission to pass it. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  CreateServiceCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, deny, doc, userWithKey } from "./iam-helpers.ts";
import { NETWORK } from "./ecs-helpers.ts";

const TASK_ROLE = `arn:aws:iam::${ACCOUNT}:role/app-task`;
const EXEC_ROLE = `arn:aws:iam::${ACCOUNT}:role/app-exec`;
const ECS_TASKS_TRUST = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);
const base: RegisterTaskDefinitionCommandInput = {
  family: "pass",
  requiresCompatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  containerDefinitions: [{ name: "app", image: "busybox", command: ["true"] }],
};
const denied = (user: string, role: string) =>
  `User: arn:aws:iam::${ACCOUNT}:user/${user} is not authorized to perform: iam:PassRole on resource: ${role} because no identity-based policy allows the iam:PassRole action`;

let server: TestServer;
let root: ECSClient;

async function ecsAs(name: string, statements: unknown[]): Promise<ECSClient> {
  return new ECSClient(server.configFor(await userWithKey(new IAMClient(server.config), name, doc(statements))));
}

async function expectDenied(p: Promise<unknown>, message: string): Promise<void> {
  const e = (await p.then(
    () => undefined,
    (x: unknown) => x,
  )) as (Error & { $metadata?: { httpStatusCode?: number } }) | undefined;
  expect(e, "expected AccessDeniedException").toBeDefined();
  expect(e!.name).toBe("AccessDeniedException");
  expect(e!.message).toBe(message);
}

beforeAll(async () => {
  server = await startTestServer();
  const iam = new IAMClient(server.config);
  await iam.send(new CreateRoleCommand({ RoleName: "app-task", AssumeRolePolicyDocument: ECS_TASKS_TRUST }));
  await iam.send(new CreateRoleCommand({ RoleName: "app-exec", AssumeRolePolicyDocument: ECS_TASKS_TRUST }));
  root = new ECSClient(server.config);
  await root.send(new CreateClusterCommand({ clusterName: "pass" }));
});
afterAll(async () => server?.close());

describe("iam:PassRole on RegisterTaskDefinition", () => {
  it("a user allowed ecs:* but not iam:PassRole cannot register a task definition with roles", async () => {
    const ecs = await ecsAs("ecs-only", [allow("ecs:*")]);
    await expectDenied(ecs.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: TASK_ROLE })), denied("ecs-only", TASK_ROLE));
    await expectDenied(ecs.send(new RegisterTaskDefinitionCommand({ ...base, executionRoleArn: EXEC_ROLE })), denied("ecs-only", EXEC_ROLE));
    // A role given by name is the caller's account's role of that name.
    await expectDenied(ecs.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: "app-task" })), denied("ecs-only", TASK_ROLE));
    // Without roles nothing is passed.
    expect((await ecs.send(new RegisterTaskDefinitionCommand(base))).taskDefinition!.family).toBe("pass");
  });

  it("iam:PassRole for the role (to ecs-tasks.amazonaws.com) allows it", async () => {
    const ecs = await ecsAs("passer", [
      allow("ecs:*"),
      allow("iam:PassRole", [TASK_ROLE, EXEC_ROLE], { Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } }),
    ]);
    const r = await ecs.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: TASK_ROLE, executionRoleArn: EXEC_ROLE }));
    expect(r.taskDefinition!.taskRoleArn).toBe(TASK_ROLE);
    expect(r.taskDefinition!.executionRoleArn).toBe(EXEC_ROLE);
  });

  it("PassRole limited to another service, to another role, or denied outright does not allow it", async () => {
    const other = await ecsAs("passer-lambda", [allow("ecs:*"), allow("iam:PassRole", "*", { Condition: { StringEquals: { "iam:PassedToService": "lambda.amazonaws.com" } } })]);
    await expectDenied(other.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: TASK_ROLE })), denied("passer-lambda", TASK_ROLE));
    const oneRole = await ecsAs("passer-one", [allow("ecs:*"), allow("iam:PassRole", TASK_ROLE)]);
    await oneRole.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: TASK_ROLE }));
    await expectDenied(oneRole.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: TASK_ROLE, executionRoleArn: EXEC_ROLE })), denied("passer-one", EXEC_ROLE));
    const denyAll = await ecsAs("passer-denied", [allow("*"), deny("iam:PassRole", EXEC_ROLE)]);
    await expectDenied(
      denyAll.send(new RegisterTaskDefinitionCommand({ ...base, executionRoleArn: EXEC_ROLE })),
      `User: arn:aws:iam::${ACCOUNT}:user/passer-denied is not authorized to perform: iam:PassRole on resource: ${EXEC_ROLE} with an explicit deny in an identity-based policy`,
    );
  });

  it("the root user passes its own account's roles, not another account's", async () => {
    await root.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: TASK_ROLE, executionRoleArn: EXEC_ROLE }));
    const foreign = "arn:aws:iam::111122223333:role/theirs";
    const e = (await root.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: foreign })).then(
      () => undefined,
      (x: unknown) => x,
    )) as Error | undefined;
    expect(e?.name).toBe("AccessDeniedException");
    expect(e?.message).toBe(
      `User: arn:aws:iam::${ACCOUNT}:root is not authorized to perform: iam:PassRole on resource: ${foreign} because no resource-based policy allows the iam:PassRole action`,
    );
    const anyRole = await ecsAs("passer-any", [allow("ecs:*"), allow("iam:PassRole")]);
    await expectDenied(
      anyRole.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: foreign })),
      `User: arn:aws:iam::${ACCOUNT}:user/passer-any is not authorized to perform: iam:PassRole on resource: ${foreign} because no resource-based policy allows the iam:PassRole action`,
    );
    await anyRole.send(new RegisterTaskDefinitionCommand({ ...base, taskRoleArn: TASK_ROLE }));
  });
});

describe("iam:PassRole on RunTask overrides", () => {
  it("roles in overrides must be passable", async () => {
    const td = (await root.send(new RegisterTaskDefinitionCommand(base))).taskDefinition!.taskDefinitionArn!;
    const ecs = await ecsAs("runner", [allow("ecs:*")]);
    await expectDenied(
      ecs.send(new RunTaskCommand({ cluster: "pass", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK, overrides: { taskRoleArn: TASK_ROLE } })),
      denied("runner", TASK_ROLE),
    );
    await expectDenied(
      ecs.send(new RunTaskCommand({ cluster: "pass", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK, overrides: { executionRoleArn: EXEC_ROLE } })),
      denied("runner", EXEC_ROLE),
    );
  });
});

describe("iam:PassRole on CreateService", () => {
  it("a service's role is passed to ecs.amazonaws.com", async () => {
    const td = (await root.send(new RegisterTaskDefinitionCommand(base))).taskDefinition!.taskDefinitionArn!;
    const lbRole = `arn:aws:iam::${ACCOUNT}:role/app-lb`;
    const input = { cluster: "pass", serviceName: "svc", taskDefinition: td, desiredCount: 0, launchType: "FARGATE" as const, networkConfiguration: NETWORK, role: lbRole };
    const tasksOnly = await ecsAs("svc-tasks-only", [
      allow("ecs:*"),
      allow("iam:PassRole", "*", { Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } }),
    ]);
    await expectDenied(tasksOnly.send(new CreateServiceCommand(input)), denied("svc-tasks-only", lbRole));
  });
});

describe("iam:PassRole for a managed EBS volume's infrastructure role", () => {
  it("the role is passed to ecs.amazonaws.com on CreateService, UpdateService and RunTask", async () => {
    const td = (await root.send(new RegisterTaskDefinitionCommand({ ...base, family: "pass-ebs", volumes: [{ name: "data", configuredAtLaunch: true }] }))).taskDefinition!
      .taskDefinitionArn!;
    const ebsRole = `arn:aws:iam::${ACCOUNT}:role/ecs-infra`;
    const volumeConfigurations = [{ name: "data", managedEBSVolume: { roleArn: ebsRole, sizeInGiB: 10 } }];
    const tasksOnly = await ecsAs("ebs-tasks-only", [
      allow("ecs:*"),
      allow("iam:PassRole", "*", { Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } } }),
    ]);
    const svc = { cluster: "pass", serviceName: "ebs", taskDefinition: td, desiredCount: 0, launchType: "FARGATE" as const, networkConfiguration: NETWORK };
    await expectDenied(tasksOnly.send(new CreateServiceCommand({ ...svc, volumeConfigurations })), denied("ebs-tasks-only", ebsRole));
    await expectDenied(
      tasksOnly.send(new RunTaskCommand({ cluster: "pass", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK, volumeConfigurations })),
      denied("ebs-tasks-only", ebsRole),
    );
    await tasksOnly.send(new CreateServiceCommand(svc));
    await expectDenied(tasksOnly.send(new UpdateServiceCommand({ cluster: "pass", service: "ebs", volumeConfigurations })), denied("ebs-tasks-only", ebsRole));
  });
});
