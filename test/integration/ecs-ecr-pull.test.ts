/**
 * ECR images: before a task's image named `<account>.dkr.ecr.<region>.amazonaws.com/<repo>` is
 * pulled, its execution role must be allowed what an ECR pull calls (GetAuthorizationToken,
 * BatchGetImage, BatchCheckLayerAvailability, GetDownloadUrlForLayer on the repository); the
 * calls are recorded in CloudTrail as the role's session. Host-process tasks: the check runs
 * whatever runs the task.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { ECSClient, CreateClusterCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, stopped, waitTask } from "./ecs-helpers.ts";
import { doc } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";
import type { LooseJson } from "../support/json.ts";

const CLUSTER = "ecr";
const ACCOUNT = "000000000000";
const IMAGE = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/app:v1`;
const REPO_ARN = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/team/app`;
const PULL = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"];

let s: TestServer;
let ecs: ECSClient;
let iam: IAMClient;

const trustEcsTasks = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);

async function role(name: string, statements: Record<string, unknown>[]): Promise<string> {
  const r = (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustEcsTasks }))).Role!;
  await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "exec", PolicyDocument: doc(statements) }));
  return r.Arn!;
}

async function run(family: string, image: string, executionRoleArn?: string) {
  const td = await registerSleeper(ecs, family, [{ name: "app", image, command: ["true"], essential: true }], executionRoleArn ? { executionRoleArn } : {});
  const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
  return waitTask(ecs, CLUSTER, out.tasks![0].taskArn!, stopped);
}

beforeAll(async () => {
  s = await startTestServer();
  ecs = new ECSClient(s.config);
  iam = new IAMClient(s.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
});
afterAll(async () => {
  await s?.close();
});

describe("an ECR image is pulled as the execution role", () => {
  it("runs when the role has the ECR pull permissions, and CloudTrail records the calls as its session", async () => {
    const exec = await role("ecr-exec", [
      { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      { Effect: "Allow", Action: PULL.slice(1), Resource: REPO_ARN },
    ]);
    const t = await run("ecr-ok", IMAGE, exec);
    expect(t.stoppedReason).toBe("Essential container in task exited");
    expect(t.containers![0].exitCode).toBe(0);
    const taskId = t.taskArn!.split("/").pop();
    const events = (await lookupAll(new CloudTrailClient(s.config))).map(recordOf).filter((e) => e.eventSource === "ecr.amazonaws.com");
    expect(events.map((e) => e.eventName).sort()).toEqual(["BatchCheckLayerAvailability", "BatchGetImage", "GetAuthorizationToken", "GetDownloadUrlForLayer"]);
    for (const e of events) {
      expect(e.userIdentity.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ecr-exec/${taskId}`);
      expect(e.sourceIPAddress).toBe("ecs-tasks.amazonaws.com");
      expect(e.errorCode).toBeUndefined();
    }
    const get = events.find((e) => e.eventName === "BatchGetImage")!;
    expect(get.requestParameters).toMatchObject({ registryId: ACCOUNT, repositoryName: "team/app", imageIds: [{ imageTag: "v1" }] });
    expect(get.resources).toEqual([{ ARN: REPO_ARN, accountId: ACCOUNT, type: "AWS::ECR::Repository" }]);
  });

  it("a non-ECR image needs no execution role", async () => {
    const t = await run("not-ecr", "busybox");
    expect(t.stoppedReason).toBe("Essential container in task exited");
  });
});

describe("a refused pull stops the task before any container starts", () => {
  it("no execution role", async () => {
    const t = await run("ecr-no-role", IMAGE);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(
      /^CannotPullContainerError: pull image manifest has been retried 5 time\(s\): failed to resolve ref 000000000000\.dkr\.ecr\.us-east-1\.amazonaws\.com\/team\/app:v1: pulling from host 000000000000\.dkr\.ecr\.us-east-1\.amazonaws\.com failed with status code \[manifests v1\]: 401 Unauthorized/,
    );
    expect(t.containers![0].exitCode).toBeUndefined();
  });

  it("a role without ecr:GetAuthorizationToken: the registry login fails", async () => {
    const exec = await role("ecr-no-login", [{ Effect: "Allow", Action: PULL.slice(1), Resource: "*" }]);
    const t = await run("ecr-no-login", IMAGE, exec);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(
      /^ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 time\(s\): AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role\/ecr-no-login\/[a-f0-9]{32} is not authorized to perform: ecr:GetAuthorizationToken on resource: \* because no identity-based policy allows the ecr:GetAuthorizationToken action status code: 400$/,
    );
  });

  it("a role allowed to pull another repository only", async () => {
    const exec = await role("ecr-other-repo", [
      { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      { Effect: "Allow", Action: PULL.slice(1), Resource: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/team/other` },
    ]);
    const t = await run("ecr-other-repo", IMAGE, exec);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toBe(
      `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${IMAGE}: pulling from host ${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com failed with status code [manifests v1]: 403 Forbidden: AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/ecr-other-repo/${t.taskArn!.split("/").pop()} is not authorized to perform: ecr:BatchGetImage on resource: ${REPO_ARN} because no identity-based policy allows the ecr:BatchGetImage action`,
    );
    const denied = (await lookupAll(new CloudTrailClient(s.config))).map(recordOf).find((e) => e.eventName === "BatchGetImage" && e.userIdentity.arn?.includes("ecr-other-repo"));
    expect(denied?.errorCode).toBe("AccessDeniedException");
  });

  it("another account's repository: no repository policy grants it", async () => {
    const exec = await role("ecr-cross-account", [{ Effect: "Allow", Action: PULL, Resource: "*" }]);
    const t = await run("ecr-cross-account", "111111111111.dkr.ecr.us-east-1.amazonaws.com/team/app:v1", exec);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(
      /^CannotPullContainerError: .* failed with status code \[manifests v1\]: 403 Forbidden: AccessDeniedException: .*ecr:BatchGetImage on resource: arn:aws:ecr:us-east-1:111111111111:repository\/team\/app/,
    );
    // a cross-account call refused by policy is the caller's account's event only (docs/cloudtrail.md#cross-account-calls)
    const refused = (e: LooseJson) => e.eventName === "BatchGetImage" && e.userIdentity.arn?.includes("ecr-cross-account");
    const mine = (await lookupAll(new CloudTrailClient(s.config))).map(recordOf).filter(refused);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ errorCode: "AccessDeniedException", recipientAccountId: ACCOUNT });
    const repoOwner = new CloudTrailClient(s.configFor({ accessKeyId: "111111111111", secretAccessKey: "test" }));
    expect((await lookupAll(repoOwner, "EventName", "BatchGetImage")).length).toBe(0);
  });

  it("an explicit deny of the layer download on the repository", async () => {
    const exec = await role("ecr-deny-layers", [
      { Effect: "Allow", Action: PULL, Resource: "*" },
      { Effect: "Deny", Action: "ecr:GetDownloadUrlForLayer", Resource: REPO_ARN },
    ]);
    const t = await run("ecr-deny-layers", `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/team/app@sha256:${"a".repeat(64)}`, exec);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(
      /^CannotPullContainerError: .* failed with status code \[blobs\]: 403 Forbidden: AccessDeniedException: .*ecr:GetDownloadUrlForLayer .* with an explicit deny/,
    );
  });
});
