/**
 * Fargate tasks whose containers log with the awslogs driver (docs/ecs-fargate.md#container-logs-awslogs):
 * RegisterTaskDefinition checks the options as ECS does, a running task's output reaches
 * CloudWatch Logs through its execution role under `prefix/container/task-id` and survives the
 * task, a group under a customer managed key keeps it sealed, and a role that may not create the
 * stream stops the task before its containers start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  CreateClusterCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
  type ContainerDefinition,
  type LogConfiguration,
} from "@aws-sdk/client-ecs";
import { CloudWatchLogsClient, CreateLogGroupCommand, DescribeLogStreamsCommand, FilterLogEventsCommand, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";
import { allow, doc, expectAwsError } from "./iam-helpers.ts";
import { createKey, rootStatement, trailRecords } from "./kms-helpers.ts";

const CLUSTER = "logging";
const REGION = "us-east-1";

let s: TestServer;
let ecs: ECSClient;
let logs: CloudWatchLogsClient;
let iam: IAMClient;
let execRole: string;

const trustEcsTasks = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);

async function role(name: string, actions: string[]): Promise<string> {
  const r = (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustEcsTasks }))).Role!;
  if (actions.length) await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "exec", PolicyDocument: doc([allow(actions, "*")]) }));
  return r.Arn!;
}

const awslogs = (group: string, extra: Record<string, string> = {}): LogConfiguration => ({
  logDriver: "awslogs",
  options: { "awslogs-group": group, "awslogs-region": REGION, "awslogs-stream-prefix": "ecs", ...extra },
});

const shell = (name: string, script: string, logConfiguration: LogConfiguration, essential = true): ContainerDefinition => ({
  name,
  image: "busybox",
  command: ["sh", "-c", script],
  essential,
  stopTimeout: 2,
  logConfiguration,
});

async function run(family: string, containers: ContainerDefinition[], executionRoleArn = execRole): Promise<string> {
  const td = await registerSleeper(ecs, family, containers, { executionRoleArn });
  const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
  return out.tasks![0].taskArn!;
}

async function messages(group: string, stream: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (;;) {
    const page = await logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true, nextToken: token }));
    out.push(...page.events!.map((e) => e.message!));
    if (!page.events!.length || page.nextForwardToken === token) return out;
    token = page.nextForwardToken;
  }
}

const taskId = (arn: string) => arn.split("/").pop()!;

beforeAll(async () => {
  s = await startTestServer();
  ecs = new ECSClient(s.config);
  logs = new CloudWatchLogsClient(s.config);
  iam = new IAMClient(s.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/app" }));
  execRole = await role("exec", ["logs:CreateLogStream", "logs:PutLogEvents"]);
});
afterAll(async () => {
  await s?.close();
});

describe("RegisterTaskDefinition checks the awslogs options as ECS does", () => {
  const register = (options: Record<string, string>, withRole = true) =>
    ecs.send(
      new RegisterTaskDefinitionCommand({
        family: "bad-logs",
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        ...(withRole ? { executionRoleArn: "arn:aws:iam::000000000000:role/exec" } : {}),
        containerDefinitions: [{ name: "app", image: "busybox", essential: true, logConfiguration: { logDriver: "awslogs", options } }],
      }),
    );

  it("refuses missing, empty and unknown options, a create-group other than true, and Fargate without prefix or execution role", async () => {
    const ok = { "awslogs-group": "/g", "awslogs-region": REGION, "awslogs-stream-prefix": "p" };
    await expectAwsError(register({ "awslogs-stream-prefix": "p" }), "ClientException", 400, "Log driver awslogs requires options: awslogs-region, awslogs-group");
    await expectAwsError(register({ ...ok, "awslogs-group": "" }), "ClientException", 400, "Log driver awslogs option 'awslogs-group' should not be null or empty.");
    await expectAwsError(register({ ...ok, log_key: "log" }), "ClientException", 400, "Log driver awslogs disallows options: log_key");
    await expectAwsError(
      register({ ...ok, "awslogs-create-group": "false" }),
      "ClientException",
      400,
      "Log driver awslogs option 'awslogs-create-group' should only be set to 'true', else omit option.",
    );
    await expectAwsError(
      register({ "awslogs-group": "/g", "awslogs-region": REGION }),
      "ClientException",
      400,
      "Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs.",
    );
    await expectAwsError(register(ok, false), "ClientException", 400, "Fargate requires task definition to have execution role ARN to support log driver awslogs.");
    await expect(register({ ...ok, "awslogs-create-group": "true", mode: "non-blocking", "max-buffer-size": "4m" })).resolves.toBeDefined();
  });
});

describe("a task's output in CloudWatch Logs", () => {
  it("streams a running task's lines to prefix/container/task-id, and they outlive the task", async () => {
    const arn = await run("running-logs", [
      shell("web", "echo listening on 8080; echo warming up >&2; sleep 300", awslogs("/ecs/app")),
      shell("side", "printf 'one\\ntwo\\nno newline'; sleep 300", awslogs("/ecs/app", { "awslogs-stream-prefix": "side" }), false),
    ]);
    await waitTask(ecs, CLUSTER, arn, running);
    const web = `ecs/web/${taskId(arn)}`;
    // while the task runs, its output is there
    const seen = await waitFor("the running task's lines", async () => {
      const m = await messages("/ecs/app", web).catch(() => []);
      return m.length === 2 && m;
    });
    expect([...seen].sort()).toEqual(["listening on 8080", "warming up"]);
    const filtered = await logs.send(new FilterLogEventsCommand({ logGroupName: "/ecs/app", filterPattern: "listening" }));
    expect(filtered.events!.map((e) => [e.logStreamName, e.message])).toEqual([[web, "listening on 8080"]]);
    await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }));
    await waitTask(ecs, CLUSTER, arn, stopped);
    // the partial last line is sent when the container's output ends
    expect(await waitFor("the side container's lines", async () => (await messages("/ecs/app", `side/side/${taskId(arn)}`)).length === 3)).toBe(true);
    expect(await messages("/ecs/app", `side/side/${taskId(arn)}`)).toEqual(["one", "two", "no newline"]);
    expect((await messages("/ecs/app", web)).sort()).toEqual(["listening on 8080", "warming up"]);
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/app", logStreamNamePrefix: "ecs/web/" }));
    expect(streams.logStreams!.map((x) => x.logStreamName)).toContain(web);
  });

  it("stamps each event with the time the container wrote it, in order", async () => {
    const arn = await run("ordered", [shell("app", "seq 1 500", awslogs("/ecs/app"))]);
    const t = await waitTask(ecs, CLUSTER, arn, stopped);
    const stream = `ecs/app/${taskId(arn)}`;
    await waitFor("500 lines", async () => (await messages("/ecs/app", stream)).length === 500);
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/ecs/app", logStreamName: stream, startFromHead: true }));
    expect(got.events!.map((e) => e.message)).toEqual(Array.from({ length: 500 }, (_, i) => String(i + 1)));
    for (const e of got.events!) {
      expect(e.timestamp!).toBeGreaterThanOrEqual(t.startedAt!.getTime() - 1000);
      expect(e.timestamp!).toBeLessThanOrEqual(t.stoppedAt!.getTime());
    }
  });

  it("creates the group with awslogs-create-group when the execution role may", async () => {
    const creator = await role("exec-create", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]);
    const arn = await run("create-group", [shell("app", "echo made", awslogs("/ecs/made", { "awslogs-create-group": "true" }))], creator);
    const t = await waitTask(ecs, CLUSTER, arn, stopped);
    expect(t.stoppedReason).toBe("Essential container in task exited");
    expect(await waitFor("the line", async () => (await messages("/ecs/made", `ecs/app/${taskId(arn)}`)).length === 1)).toBe(true);
  });

  it("keeps a group under a customer managed key sealed at rest", async () => {
    const kms = new KMSClient(s.config);
    const key = await createKey(kms, {
      Policy: doc([
        rootStatement(),
        {
          Effect: "Allow",
          Principal: { Service: `logs.${REGION}.amazonaws.com` },
          Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
          Resource: "*",
        },
      ]),
    });
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/secure", kmsKeyId: key.Arn }));
    const marker = "sealed-marker-4c1d";
    const arn = await run("secure-logs", [shell("app", `echo ${marker}-$((6*7))`, awslogs("/ecs/secure"))]);
    await waitTask(ecs, CLUSTER, arn, stopped);
    const stream = `ecs/app/${taskId(arn)}`;
    expect(await waitFor("the sealed line", async () => (await messages("/ecs/secure", stream)).length === 1)).toBe(true);
    expect(await messages("/ecs/secure", stream)).toEqual([`${marker}-42`]);
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    for (const f of walk(s.dataDir)) expect(readFileSync(f).includes(`${marker}-42`), f).toBe(false);
    // CloudTrail: the execution role's session created the stream; CloudWatch Logs asked KMS for the group's data key
    const created = (await trailRecords(s, "CreateLogStream")).find((r) => r.requestParameters?.logStreamName === stream)!;
    expect(created.userIdentity.arn).toBe(`arn:aws:sts::000000000000:assumed-role/exec/${taskId(arn)}`);
    const gen = (await trailRecords(s, "GenerateDataKey")).find(
      (r) => r.requestParameters?.encryptionContext?.["aws:logs:arn"] === `arn:aws:logs:${REGION}:000000000000:log-group:/ecs/secure`,
    );
    expect(gen?.userIdentity.invokedBy).toBe("logs.amazonaws.com");
    expect(gen?.requestParameters.keyId).toBe(key.Arn);
  });

  it("a role that may not create the stream stops the task before its containers start", async () => {
    const bare = await role("exec-bare", ["logs:PutLogEvents"]);
    const arn = await run("no-stream", [shell("app", "echo never", awslogs("/ecs/app"))], bare);
    const t = await waitTask(ecs, CLUSTER, arn, stopped);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(
      new RegExp(
        `^ResourceInitializationError: failed to validate logger args: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/exec-bare/${taskId(arn)} is not authorized to perform: logs:CreateLogStream`,
      ),
    );
    expect(t.containers![0].exitCode).toBeUndefined();
    expect((await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/app", logStreamNamePrefix: `ecs/app/${taskId(arn)}` }))).logStreams).toEqual([]);
  });

  it("a missing group without awslogs-create-group stops the task with ResourceNotFoundException", async () => {
    const arn = await run("no-group", [shell("app", "echo never", awslogs("/ecs/absent"))]);
    const t = await waitTask(ecs, CLUSTER, arn, stopped);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toBe("ResourceInitializationError: failed to validate logger args: ResourceNotFoundException: The specified log group does not exist.");
  });
});

describe("multi-line events", () => {
  it("joins the lines after a line in awslogs-datetime-format into one event; awslogs-multiline-pattern likewise", async () => {
    const trace = "printf '2024-05-01 10:00:00 boom\\n  at a()\\n  at b()\\n2024-05-01 10:00:01 next\\n'";
    const byDate = await run("by-date", [shell("app", trace, awslogs("/ecs/app", { "awslogs-datetime-format": "%Y-%m-%d %H:%M:%S" }))]);
    const byPattern = await run("by-pattern", [shell("app", "printf 'INFO one\\ncontinued\\nINFO two\\n'", awslogs("/ecs/app", { "awslogs-multiline-pattern": "^INFO" }))]);
    await waitTask(ecs, CLUSTER, byDate, stopped);
    await waitTask(ecs, CLUSTER, byPattern, stopped);
    const dated = await waitFor("two events", async () => {
      const m = await messages("/ecs/app", `ecs/app/${taskId(byDate)}`);
      return m.length === 2 && m;
    });
    expect(dated).toEqual(["2024-05-01 10:00:00 boom\n  at a()\n  at b()\n", "2024-05-01 10:00:01 next\n"]);
    const matched = await waitFor("two events", async () => {
      const m = await messages("/ecs/app", `ecs/app/${taskId(byPattern)}`);
      return m.length === 2 && m;
    });
    expect(matched).toEqual(["INFO one\ncontinued\n", "INFO two\n"]);
  });

  it("a pattern RE2 would refuse stops the task", async () => {
    const arn = await run("bad-pattern", [shell("app", "echo x", awslogs("/ecs/app", { "awslogs-multiline-pattern": "(a)\\1" }))]);
    const t = await waitTask(ecs, CLUSTER, arn, stopped);
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(/^ResourceInitializationError: failed to validate logger args: awslogs could not parse awslogs-multiline-pattern/);
  });
});

describe("mode and max-buffer-size", () => {
  it("blocking mode delivers every line; non-blocking drops what does not fit the buffer", async () => {
    const script = "seq 1 20000";
    const blocking = await run("blocking", [shell("app", script, awslogs("/ecs/app", { mode: "blocking" }))]);
    const dropping = await run("dropping", [shell("app", script, awslogs("/ecs/app", { mode: "non-blocking", "max-buffer-size": "1k" }))]);
    await waitTask(ecs, CLUSTER, blocking, stopped);
    await waitTask(ecs, CLUSTER, dropping, stopped);
    const all = await waitFor("every line", async () => {
      const m = await messages("/ecs/app", `ecs/app/${taskId(blocking)}`);
      return m.length === 20000 && m;
    });
    expect(all[19999]).toBe("20000");
    const kept = await waitFor("the lines that fit", async () => {
      const m = await messages("/ecs/app", `ecs/app/${taskId(dropping)}`);
      return m.length > 0 && m;
    });
    expect(kept.length).toBeLessThan(20000);
  });
});

describe("server shutdown", () => {
  it("sends what a running task wrote last before the server stops, and the events are there after a restart", async () => {
    const own = await startTestServer();
    try {
      const e = new ECSClient(own.config);
      const l = new CloudWatchLogsClient(own.config);
      const i = new IAMClient(own.config);
      await e.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      await l.send(new CreateLogGroupCommand({ logGroupName: "/ecs/app" }));
      const r = (await i.send(new CreateRoleCommand({ RoleName: "exec", AssumeRolePolicyDocument: trustEcsTasks }))).Role!;
      await i.send(new PutRolePolicyCommand({ RoleName: "exec", PolicyName: "exec", PolicyDocument: doc([allow(["logs:CreateLogStream", "logs:PutLogEvents"], "*")]) }));
      const td = await registerSleeper(e, "farewell", [shell("app", "trap 'echo bye; exit 0' TERM; echo started; sleep 300 & wait", awslogs("/ecs/app"))], {
        executionRoleArn: r.Arn,
      });
      const arn = (await e.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0].taskArn!;
      await waitTask(e, CLUSTER, arn, running);
      const stream = `ecs/app/${taskId(arn)}`;
      const read = async (client: CloudWatchLogsClient) =>
        (await client.send(new GetLogEventsCommand({ logGroupName: "/ecs/app", logStreamName: stream, startFromHead: true }))).events!.map((x) => x.message);
      await waitFor("started", async () => (await read(l).catch((): (string | undefined)[] => [])).includes("started"));
      await own.stop();
      const again = await startTestServer({ dataDir: own.dataDir });
      try {
        expect(await read(new CloudWatchLogsClient(again.config))).toEqual(["started", "bye"]);
      } finally {
        await again.stop();
      }
    } finally {
      await own.close();
    }
  });
});
