/**
 * The awslogs log driver (src/services/logs/awslogs.ts), driven in-process as ECS drives it: the
 * execution role's session writes a container's lines to `prefix/container/task-id`, and a role
 * without the permissions stops the driver with AWS's ResourceInitializationError (docs/logs.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudWatchLogsClient, CreateLogGroupCommand, DescribeLogGroupsCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { allow, doc } from "./iam-helpers.ts";

const ACCOUNT = "000000000000";
let s: TestServer;
let logs: CloudWatchLogsClient;
let iam: IAMClient;

const trustEcsTasks = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);

async function executionRole(name: string, actions: string[]): Promise<string> {
  const role = (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustEcsTasks }))).Role!;
  if (actions.length) await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "logs", PolicyDocument: doc([allow(actions, "*")]) }));
  return role.Arn!;
}

const task = (executionRoleArn: string | undefined, taskId = "0123456789abcdef0123456789abcdef") => ({
  accountId: ACCOUNT,
  region: "us-east-1",
  taskId,
  containerName: "web",
  executionRoleArn,
});

beforeAll(async () => {
  s = await startTestServer();
  logs = new CloudWatchLogsClient(s.config);
  iam = new IAMClient(s.config);
});
afterAll(() => s?.close());

describe("awslogs driver", () => {
  it("writes a container's lines to prefix/container/task-id through the execution role", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/web" }));
    const role = await executionRole("exec-ok", ["logs:CreateLogStream", "logs:PutLogEvents"]);
    const out = await s.app.get("awslogs").open(task(role), { "awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app" });
    expect(out.streamName).toBe("app/web/0123456789abcdef0123456789abcdef");
    out.write("listening on :8080");
    out.write("");
    out.write("x".repeat(300 * 1024));
    await out.close();
    expect(out.lastError).toBeUndefined();
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/web", logStreamName: out.streamName, startFromHead: true }));
    expect(got.events!.map((e) => e.message!.length)).toEqual(["listening on :8080".length, 256 * 1024 - 26, 300 * 1024 - (256 * 1024 - 26)]);
    expect(got.events![0].message).toBe("listening on :8080");
  });

  it("splits raw output chunks into lines per stream, keeping a partial line until its end", async () => {
    const role = await executionRole("exec-chunks", ["logs:CreateLogStream", "logs:PutLogEvents"]);
    const out = await s.app.get("awslogs").open(task(role, "c0ffeec0ffeec0ffeec0ffeec0ffee00"), { "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "chunks" });
    const euro = Buffer.from("€");
    out.writeOutput("stdout", Buffer.concat([Buffer.from("first\r\nsec"), euro.subarray(0, 1)]));
    out.writeOutput("stderr", Buffer.from("an error\n"));
    out.writeOutput("stdout", Buffer.concat([euro.subarray(1), Buffer.from("ond\nunfinished")]));
    await out.close();
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/web", logStreamName: out.streamName, startFromHead: true }));
    expect(got.events!.map((e) => e.message)).toEqual(["first", "an error", "sec€ond", "unfinished"]);
  });

  it("sends a line that never ends in event-sized pieces instead of holding it", async () => {
    const role = await executionRole("exec-endless", ["logs:CreateLogStream", "logs:PutLogEvents"]);
    const out = await s.app.get("awslogs").open(task(role, "0000000000000000000000000000e0d1"), { "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "endless" });
    for (let i = 0; i < 5; i++) out.writeOutput("stdout", Buffer.alloc(100 * 1024, "z"));
    expect(out.backlogBytes).toBeGreaterThan(0);
    await out.close();
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/web", logStreamName: out.streamName, startFromHead: true }));
    expect(got.events!.map((e) => e.message!.length).reduce((a, b) => a + b, 0)).toBe(500 * 1024);
  });

  it("creates the group with awslogs-create-group when the role may", async () => {
    const role = await executionRole("exec-create", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]);
    const out = await s.app.get("awslogs").open(task(role), { "awslogs-group": "/ecs/made", "awslogs-stream-prefix": "p", "awslogs-create-group": "true" });
    out.write("hello");
    await out.close();
    expect((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ecs/made" }))).logGroups).toHaveLength(1);
  });

  it("a role without the permissions, a missing group or missing options refuse to start, as AWS's agent does", async () => {
    const driver = s.app.get("awslogs");
    const bare = await executionRole("exec-bare", []);
    await expect(driver.open(task(bare), { "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "app" })).rejects.toThrow(
      new RegExp(
        `^ResourceInitializationError: failed to validate logger args: AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/exec-bare/.* is not authorized to perform: logs:CreateLogStream`,
      ),
    );
    const noCreate = await executionRole("exec-nocreate", ["logs:CreateLogStream", "logs:PutLogEvents"]);
    await expect(driver.open(task(noCreate), { "awslogs-group": "/ecs/absent", "awslogs-stream-prefix": "app" })).rejects.toThrow(
      "ResourceInitializationError: failed to validate logger args: ResourceNotFoundException: The specified log group does not exist.",
    );
    await expect(driver.open(task(noCreate), { "awslogs-group": "/ecs/absent", "awslogs-stream-prefix": "app", "awslogs-create-group": "true" })).rejects.toThrow(
      /AccessDeniedException: .*logs:CreateLogGroup/,
    );
    await expect(driver.open(task(noCreate), { "awslogs-group": "/ecs/web" })).rejects.toThrow(/awslogs-stream-prefix is required/);
    await expect(driver.open(task(undefined), { "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "app" })).rejects.toThrow(/needs the task's execution role/);
    await expect(driver.open(task(noCreate), { "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "app", mode: "fast" })).rejects.toThrow(/invalid mode/);
  });

  it("a role that may create the stream but not put events keeps the container running and reports the refusal", async () => {
    const role = await executionRole("exec-noput", ["logs:CreateLogStream"]);
    const out = await s.app.get("awslogs").open(task(role, "feedfacefeedfacefeedfacefeedface"), { "awslogs-group": "/ecs/web", "awslogs-stream-prefix": "app" });
    out.write("lost");
    await out.close();
    expect(out.lastError?.message).toMatch(/not authorized to perform: logs:PutLogEvents/);
  });

  it("non-blocking mode drops lines beyond max-buffer-size instead of holding the container", async () => {
    const role = await executionRole("exec-small", ["logs:CreateLogStream", "logs:PutLogEvents"]);
    const out = await s.app.get("awslogs").open(task(role, "00000000000000000000000000000001"), {
      "awslogs-group": "/ecs/web",
      "awslogs-stream-prefix": "small",
      mode: "non-blocking",
      "max-buffer-size": "120",
    });
    for (let i = 0; i < 5; i++) out.write(`line ${i} ${"y".repeat(20)}`);
    await out.close();
    expect(out.dropped).toBe(3);
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/web", logStreamName: out.streamName, startFromHead: true }));
    expect(got.events).toHaveLength(2);
  });
});
