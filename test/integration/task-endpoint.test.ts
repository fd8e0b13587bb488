/**
 * The task endpoint (docs/security.md#task-endpoint): the listener crun tasks reach at
 * 169.254.170.2. Here it is bound on loopback with loopback as its "task subnet", so real clients
 * can call it: credentials, metadata at /v4/…, signed AWS calls; control endpoints, web pages and
 * sources outside the subnet refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, waitTask } from "./ecs-helpers.ts";

let server: TestServer;
let endpoint: string;

beforeAll(async () => {
  server = await startTestServer({ containerRuntime: "host" });
  const port = await server.app.get("taskEndpoint")("127.0.0.1", 8);
  endpoint = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await server?.close();
});

describe("task endpoint", () => {
  it("answers AWS calls signed with issued keys, as the main port does, and refuses the public root keys", async () => {
    const iam = new IAMClient(server.config);
    await iam.send(new CreateUserCommand({ UserName: "in-task" }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "in-task" }))).AccessKey!;
    const asUser = new STSClient({ ...server.config, endpoint, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } });
    expect((await asUser.send(new GetCallerIdentityCommand({}))).Arn).toBe("arn:aws:iam::000000000000:user/in-task");
    for (const accessKeyId of ["test", "111111111111"]) {
      const asRoot = new STSClient({ ...server.config, endpoint, credentials: { accessKeyId, secretAccessKey: "test" }, maxAttempts: 1 });
      const e = (await asRoot.send(new GetCallerIdentityCommand({})).catch((x: unknown) => x)) as { $metadata?: { httpStatusCode?: number } };
      expect(e.$metadata?.httpStatusCode).toBe(403);
    }
    // the main port still takes them
    expect((await new STSClient(server.config).send(new GetCallerIdentityCommand({}))).Account).toBe("000000000000");
  });

  it("answers the credentials path as the container agent does", async () => {
    const r = await fetch(`${endpoint}/v2/credentials/not-an-id`);
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ code: "InvalidIdInRequest" });
  });

  it("answers a task's metadata at /v4/<token>/<container>, and not to web pages", async () => {
    const ecs = new ECSClient(server.config);
    await ecs.send(new CreateClusterCommand({ clusterName: "te" }));
    const td = await registerSleeper(ecs, "te");
    const arn = (await ecs.send(new RunTaskCommand({ cluster: "te", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!.taskArn!;
    await waitTask(ecs, "te", arn, running);
    const token = (server.app.get("ecs") as { tasks: Map<string, { metadataToken: string }> }).tasks.get(arn)!.metadataToken;
    const task = await fetch(`${endpoint}/v4/${token}/app/task`);
    expect(task.status).toBe(200);
    expect(((await task.json()) as { TaskARN: string }).TaskARN).toBe(arn);
    expect((await fetch(`${endpoint}/v4/not-a-token/app`)).status).toBe(404);
    expect((await fetch(`${endpoint}/v4/${token}/app/task`, { headers: { origin: "http://evil.example" } })).status).toBe(403);
  });

  it("refuses the control endpoints", async () => {
    for (const path of ["/_localfargate/health", "/_localfargate/clock", "/_localfargate/images", `/_localfargate/metadata/v4/x/y`]) {
      const r = await fetch(`${endpoint}${path}`);
      expect(r.status, path).toBe(403);
      expect(await r.json()).toMatchObject({ __type: "AccessDenied" });
    }
  });

  it("refuses connections from outside the task subnet", async () => {
    const port = await server.app.get("taskEndpoint")("127.0.0.2", 32);
    const r = await fetch(`http://127.0.0.2:${port}/v2/credentials/x`);
    expect(r.status).toBe(403);
    expect(await r.json()).toMatchObject({ message: "The task endpoint serves the task network only." });
  });
});
