/**
 * A task's container output through `localfargate logs` (the real CLI, bin/localfargate.js):
 * readable while the task runs and after it stops, followed with --follow, encrypted at rest,
 * gone with the task's record, and refused to callers that may not describe the task.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";
import { allow, deny, doc, userWithKey, type Creds } from "./iam-helpers.ts";
import { otherAccountCallers } from "./cross-account-helpers.ts";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
let iam: IAMClient;

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  iam = new IAMClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: "out" }));
});
afterAll(async () => {
  await server?.close();
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function credsEnv(creds?: Creds): NodeJS.ProcessEnv {
  return creds
    ? { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_SESSION_TOKEN: creds.sessionToken ?? "" }
    : { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_SESSION_TOKEN: "" };
}

function cli(args: string[], creds?: Creds): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/localfargate.js", ...args], { env: { ...process.env, LOCALFARGATE_ENDPOINT: server.url, ...credsEnv(creds) } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function runTask(family: string, script: string): Promise<string> {
  const td = await registerSleeper(ecs, family, [{ name: "app", image: "busybox", command: ["sh", "-c", script], stopTimeout: 2 }]);
  const out = await ecs.send(new RunTaskCommand({ cluster: "out", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
  return out.tasks![0].taskArn!;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("localfargate logs", () => {
  it("reads a container's stdout and stderr while the task runs and after it stops; the output is encrypted at rest", async () => {
    // The marker is computed by the shell, so it appears nowhere in the task definition's own record.
    const arn = await runTask("out-basic", 'echo "out-$((6*7))-marker"; echo "err-$((6*7))-marker" >&2; exec sleep 300');
    await waitTask(ecs, "out", arn, running);
    const whileRunning = await waitFor("the output", async () => {
      const r = await cli(["logs", arn]);
      return r.stdout.includes("out-42-marker") && r.stderr.includes("err-42-marker") ? r : undefined;
    });
    expect(whileRunning).toEqual({ code: 0, stdout: "out-42-marker\n", stderr: "err-42-marker\n" });
    for (const f of filesUnder(server.dataDir)) expect(readFileSync(f).includes("-42-marker"), f).toBe(false);

    await ecs.send(new StopTaskCommand({ cluster: "out", task: arn }));
    await waitTask(ecs, "out", arn, stopped);
    expect(await cli(["logs", arn])).toEqual({ code: 0, stdout: "out-42-marker\n", stderr: "err-42-marker\n" });
    // by ID with --cluster, only one container
    expect(await cli(["logs", arn.split("/").pop()!, "--cluster", "out", "--container", "app"])).toMatchObject({ code: 0, stdout: "out-42-marker\n" });
    for (const f of filesUnder(server.dataDir)) expect(readFileSync(f).includes("-42-marker"), f).toBe(false);

    // the output expires with the stopped task's record (an hour after it stopped)
    await server.advanceClock(2 * 3600);
    const gone = await waitFor("the record to go", async () => {
      const r = await cli(["logs", arn]);
      return r.code !== 0 ? r : undefined;
    });
    expect(gone.stderr).toMatch(/was not found/);
    const taskDir = createHash("sha256").update(arn).digest("hex");
    await waitFor("its output to be removed", async () => !readdirSync(join(server.dataDir, "task-output")).includes(taskDir));
  });

  it("--follow prints output as it is written and ends when the task stops", async () => {
    const arn = await runTask("out-follow", "echo first; while [ ! -f go ]; do sleep 0.05; done; echo second; exit 0");
    await waitTask(ecs, "out", arn, running);
    const child = spawn(process.execPath, ["bin/localfargate.js", "logs", arn, "--follow"], { env: { ...process.env, LOCALFARGATE_ENDPOINT: server.url, ...credsEnv() } });
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? -1)));
    await waitFor("first", async () => stdout.includes("first\n"));
    expect(stdout).toBe("first\n");
    // Let the container go on: the volume is the task's working directory (plain driver in tests).
    writeFileSync(join(findMount(join(server.dataDir, "volumes")), "go"), "");
    expect(await exited).toBe(0);
    expect(stdout).toBe("first\nsecond\n");
  });

  it("prefixes each line with its container when the task has several", async () => {
    const td = await registerSleeper(ecs, "out-two", [
      { name: "web", image: "busybox", command: ["sh", "-c", "echo hello from web; exec sleep 300"], stopTimeout: 2 },
      { name: "side", image: "busybox", essential: false, command: ["sh", "-c", "printf 'partial'; exit 0"], stopTimeout: 2 },
    ]);
    const arn = (await ecs.send(new RunTaskCommand({ cluster: "out", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0].taskArn!;
    const r = await waitFor("both containers' output", async () => {
      const x = await cli(["logs", arn]);
      return x.stdout.includes("web | hello from web\n") && x.stdout.includes("side | partial\n") ? x : undefined;
    });
    expect(r.code).toBe(0);
    expect(await cli(["logs", arn, "--container", "nope"])).toMatchObject({ code: 1, stderr: expect.stringContaining("no container named nope") });
    await ecs.send(new StopTaskCommand({ cluster: "out", task: arn }));
  });

  it("keeps a task's output across a restart of the server (the task is then reported stopped)", async () => {
    const own = await startTestServer();
    try {
      const ownEcs = new ECSClient(own.config);
      await ownEcs.send(new CreateClusterCommand({ clusterName: "out" }));
      const td = await registerSleeper(ownEcs, "out-restart", [{ name: "app", image: "busybox", command: ["sh", "-c", 'echo "kept-$((6*7))"; exec sleep 300'], stopTimeout: 2 }]);
      const arn = (await ownEcs.send(new RunTaskCommand({ cluster: "out", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0].taskArn!;
      const read = (creds?: Creds) =>
        new Promise<CliResult>((resolve) => {
          execFile(
            process.execPath,
            ["bin/localfargate.js", "logs", arn],
            { env: { ...process.env, LOCALFARGATE_ENDPOINT: current.url, ...credsEnv(creds) } },
            (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
          );
        });
      let current: TestServer = own;
      await waitFor("the output", async () => (await read()).stdout === "kept-42\n");
      await own.stop();
      current = await startTestServer({ dataDir: own.dataDir });
      try {
        await waitTask(new ECSClient(current.config), "out", arn, stopped);
        expect(await read()).toEqual({ code: 0, stdout: "kept-42\n", stderr: "" });
      } finally {
        await current.stop();
      }
    } finally {
      await own.close();
    }
  });

  it("refuses callers that may not describe the task, other accounts and unsigned requests", async () => {
    const arn = await runTask("out-secret", 'echo "secret-$((6*7))"; exec sleep 300');
    await waitTask(ecs, "out", arn, running);
    await waitFor("the output", async () => (await cli(["logs", arn])).stdout.includes("secret-42"));

    const nobody = await userWithKey(iam, "nobody");
    const denied = await cli(["logs", arn], nobody);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/not authorized to perform: ecs:DescribeTasks/);
    expect(denied.stdout).toBe("");

    const otherCluster = await userWithKey(
      iam,
      "other-cluster",
      doc([allow("ecs:DescribeTasks", "*", { Condition: { ArnEquals: { "ecs:cluster": "arn:aws:ecs:us-east-1:000000000000:cluster/elsewhere" } } })]),
    );
    expect((await cli(["logs", arn], otherCluster)).stderr).toMatch(/not authorized/);
    const reader = await userWithKey(iam, "reader", doc([allow("ecs:DescribeTasks")]));
    expect(await cli(["logs", arn], reader)).toMatchObject({ code: 0, stdout: "secret-42\n" });
    const denyReader = await userWithKey(iam, "deny-reader", doc([allow("ecs:*"), deny("ecs:DescribeTasks")]));
    expect((await cli(["logs", arn], denyReader)).code).toBe(1);

    for (const caller of await otherAccountCallers(server)) {
      const r = await cli(["logs", arn], caller.creds);
      expect(r.code, caller.label).toBe(1);
      expect(r.stdout, caller.label).toBe("");
    }
    const wrongSecret = await cli(["logs", arn], { accessKeyId: "test", secretAccessKey: "not-the-secret" });
    expect(wrongSecret).toMatchObject({ code: 1, stdout: "" });
    expect(wrongSecret.stderr).toMatch(/signature/i);

    const q = `task=${encodeURIComponent(arn)}`;
    const unsigned = await fetch(`${server.url}/_localfargate/logs?${q}`);
    expect(unsigned.status).toBe(400);
    const unsignedBody = (await unsigned.json()) as { __type: string };
    expect(unsignedBody.__type).toMatch(/MissingAuthenticationToken/);
    expect(JSON.stringify(unsignedBody)).not.toContain("secret-42");
    const fromPage = await fetch(`${server.url}/_localfargate/logs?${q}`, { headers: { origin: "http://evil.example" } });
    expect(fromPage.status).toBe(403);
    await ecs.send(new StopTaskCommand({ cluster: "out", task: arn }));
  });
});

describe("task output reads in CloudTrail", () => {
  it("records each read as ecs GetTaskOutput with the caller's identity, refusals with AWS's error", async () => {
    const arn = await runTask("out-audit", 'echo "audited-$((6*7))"; exec sleep 300');
    await waitTask(ecs, "out", arn, running);
    const reader = await userWithKey(iam, "audited-reader", doc([allow("ecs:DescribeTasks")]));
    await waitFor("the output", async () => (await cli(["logs", arn, "--container", "app"], reader)).stdout.includes("audited-42"));
    const nobody = await userWithKey(iam, "audited-nobody");
    expect((await cli(["logs", arn], nobody)).code).toBe(1);

    const ct = new CloudTrailClient(server.config);
    const events = await lookupAll(ct, "EventName", "GetTaskOutput");
    const records = events.map(recordOf);
    const read = records.find((r) => r.userIdentity.userName === "audited-reader" && !r.errorCode)!;
    expect(read).toBeDefined();
    expect(read.eventSource).toBe("ecs.amazonaws.com");
    expect(read.eventName).toBe("GetTaskOutput");
    expect(read.readOnly).toBe(true);
    expect(read.managementEvent).toBe(true);
    expect(read.awsRegion).toBe("us-east-1");
    expect(read.recipientAccountId).toBe("000000000000");
    expect(read.userIdentity).toMatchObject({ type: "IAMUser", arn: "arn:aws:iam::000000000000:user/audited-reader", accessKeyId: reader.accessKeyId });
    expect(read.requestParameters).toMatchObject({ task: arn, container: "app" });
    expect(read.resources).toEqual([{ ARN: arn, accountId: "000000000000", type: "AWS::ECS::Task" }]);
    expect(JSON.stringify(read)).not.toContain("audited-42");
    // LookupEvents lists it by its resource and by the caller too
    expect(events.find((e) => JSON.parse(e.CloudTrailEvent!).eventID === read.eventID)).toMatchObject({ Username: "audited-reader", ReadOnly: "true" });
    const refused = records.find((r) => r.userIdentity.userName === "audited-nobody")!;
    expect(refused.errorCode).toBe("AccessDeniedException");
    expect(refused.errorMessage).toMatch(/not authorized to perform: ecs:DescribeTasks/);
    expect(refused.resources).toBeUndefined();
    await ecs.send(new StopTaskCommand({ cluster: "out", task: arn }));
  });
});

function findMount(volumes: string): string {
  for (const e of readdirSync(volumes, { withFileTypes: true, recursive: true })) {
    if (e.isDirectory() && e.name === "mnt") return join(e.parentPath, e.name);
  }
  throw new Error("no task volume found");
}
