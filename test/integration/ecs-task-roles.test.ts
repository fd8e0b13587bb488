/**
 * Task IAM roles: the code in a task calls AWS as assumed-role/<task role>/<task id> through the
 * SDK's default credential chain (the container credentials endpoint), the role's trust policy
 * must allow ecs-tasks.amazonaws.com, credentials rotate on the service clock and stop being
 * served when the task stops, and CloudTrail records the AssumeRole as AWS does for ECS.
 */
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, RunTaskCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, NETWORK, registerSleeper, stopped, waitFor, waitTask } from "./ecs-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";
import type { TaskRecord } from "../../src/services/ecs/state.ts";

const require = createRequire(import.meta.url);
const STS_MODULE = require.resolve("@aws-sdk/client-sts");
const KMS_MODULE = require.resolve("@aws-sdk/client-kms");

let server: TestServer;
let ecs: ECSClient;
let iam: IAMClient;
let kms: KMSClient;
let ct: CloudTrailClient;
const CLUSTER = "roles";
const REGION = "us-east-1";
const TASK_ROLE = "app-task-role";
const UNTRUSTED_ROLE = "ec2-only-role";
let allowKey: string;
let denyKey: string;

/** The trust policy of the ECS documentation's task role, with its confused-deputy conditions. */
const ECS_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Service: "ecs-tasks.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: { ArnLike: { "aws:SourceArn": `arn:aws:ecs:${REGION}:${ACCOUNT}:*` }, StringEquals: { "aws:SourceAccount": ACCOUNT } },
    },
  ],
});
const EC2_TRUST = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  iam = new IAMClient(server.config);
  kms = new KMSClient(server.config);
  ct = new CloudTrailClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  for (const [name, trust] of [
    [TASK_ROLE, ECS_TRUST],
    [UNTRUSTED_ROLE, EC2_TRUST],
  ]) {
    await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }));
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: name,
        PolicyName: "use-keys",
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:Encrypt", Resource: "*" }] }),
      }),
    );
  }
  const rootStatement = { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" };
  allowKey = (await kms.send(new CreateKeyCommand({ Policy: JSON.stringify({ Version: "2012-10-17", Statement: [rootStatement] }) }))).KeyMetadata!.Arn!;
  const denyRole = { Effect: "Deny", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/${TASK_ROLE}` }, Action: "kms:Encrypt", Resource: "*" };
  denyKey = (await kms.send(new CreateKeyCommand({ Policy: JSON.stringify({ Version: "2012-10-17", Statement: [rootStatement, denyRole] }) }))).KeyMetadata!.Arn!;
});
afterAll(async () => {
  await server?.close();
});

/**
 * A container that runs node with the SDK's default credential chain (no keys in its
 * environment) and writes what it saw to result.json in the task's volume.
 */
function probeScript(): string {
  const js = `
const fs = require("fs");
const { STSClient, GetCallerIdentityCommand } = require(${JSON.stringify(STS_MODULE)});
const { KMSClient, EncryptCommand } = require(${JSON.stringify(KMS_MODULE)});
const out = { env: { full: process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI, relative: process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, endpoint: process.env.AWS_ENDPOINT_URL, key: process.env.AWS_ACCESS_KEY_ID } };
const attempt = async (name, f) => { try { out[name] = await f(); } catch (e) { out[name] = { error: e.name }; } };
(async () => {
  if (out.env.full) { const r = await fetch(out.env.full); out.endpoint = { status: r.status, body: await r.json() }; }
  await attempt("identity", () => new STSClient({}).send(new GetCallerIdentityCommand({})).then((r) => ({ arn: r.Arn })));
  // without credentials each call would spend seconds in the SDK's retries of the endpoint
  if (out.identity.error) return fs.writeFileSync("result.json", JSON.stringify(out));
  const kms = new KMSClient({});
  await attempt("allowed", () => kms.send(new EncryptCommand({ KeyId: process.env.ALLOW_KEY, Plaintext: Buffer.from("x") })).then((r) => ({ keyId: r.KeyId })));
  await attempt("denied", () => kms.send(new EncryptCommand({ KeyId: process.env.DENY_KEY, Plaintext: Buffer.from("x") })).then((r) => ({ keyId: r.KeyId })));
  fs.writeFileSync("result.json", JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(2); });
`;
  return js;
}

interface ProbeResult {
  env: { full?: string; relative?: string; endpoint?: string; key?: string };
  endpoint?: { status: number; body: Record<string, string> };
  identity: { arn?: string; error?: string };
  allowed?: { keyId?: string; error?: string };
  denied?: { keyId?: string; error?: string };
}

async function runProbe(family: string, taskRole: string | undefined): Promise<{ task: Task; result: ProbeResult; record: TaskRecord }> {
  const td = await registerSleeper(
    ecs,
    family,
    [
      {
        name: "probe",
        image: "node",
        essential: false,
        command: ["node", "-e", probeScript()],
        environment: [
          { name: "ALLOW_KEY", value: allowKey },
          { name: "DENY_KEY", value: denyKey },
          // tests reach loopback only: the SDK's chain must not try the EC2 instance metadata address
          { name: "AWS_EC2_METADATA_DISABLED", value: "true" },
        ],
      },
      { name: "main", image: "busybox", command: ["sleep", "300"], stopTimeout: 2 },
    ],
    taskRole ? { taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/${taskRole}` } : {},
  );
  const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
  const task = await waitTask(ecs, CLUSTER, out.tasks![0].taskArn!, (x) => x.containers!.find((c) => c.name === "probe")!.exitCode !== undefined);
  expect(task.containers!.find((c) => c.name === "probe")!.exitCode).toBe(0);
  const record = (server.app.get("ecs") as { tasks: Map<string, TaskRecord> }).tasks.get(task.taskArn!)!;
  const result = JSON.parse(await readFile(`${record.storage.mountPath}/result.json`, "utf8")) as ProbeResult;
  return { task, result, record };
}

const taskId = (t: Task) => t.taskArn!.split("/").pop()!;
const stsWith = (c: Record<string, string>) => new STSClient(server.configFor({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.Token! }));

async function stopAndWait(t: Task): Promise<void> {
  await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: t.taskArn! }));
  await waitTask(ecs, CLUSTER, t.taskArn!, stopped);
}

describe("task role credentials", () => {
  it("an unmodified SDK in the task calls AWS as assumed-role/<task role>/<task id>, and the key policy decides", async () => {
    const { task, result } = await runProbe("role-probe", TASK_ROLE);
    expect(result.env.key).toBeUndefined();
    expect(result.env.endpoint).toBe(server.url);
    expect(result.env.relative).toBeUndefined();
    expect(result.env.full).toMatch(new RegExp(`^${server.url}/v2/credentials/[0-9a-f-]{36}$`));
    expect(result.endpoint!.status).toBe(200);
    expect(Object.keys(result.endpoint!.body).sort()).toEqual(["AccessKeyId", "Expiration", "RoleArn", "SecretAccessKey", "Token"]);
    expect(result.endpoint!.body.RoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${TASK_ROLE}`);
    expect(result.endpoint!.body.Expiration).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(result.identity).toEqual({ arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${TASK_ROLE}/${taskId(task)}` });
    expect(result.allowed).toEqual({ keyId: allowKey });
    expect(result.denied).toEqual({ error: "AccessDeniedException" });
    await stopAndWait(task);
  });

  it("CloudTrail records the AssumeRole as ECS makes it", async () => {
    const { task } = await runProbe("role-trail", TASK_ROLE);
    const id = taskId(task);
    const rec = await waitFor("the AssumeRole event", async () =>
      (await lookupAll(ct, "EventName", "AssumeRole")).map(recordOf).find((r) => (r.requestParameters as { roleSessionName?: string } | null)?.roleSessionName === id),
    );
    expect(rec.eventSource).toBe("sts.amazonaws.com");
    expect(rec.userIdentity).toEqual({ type: "AWSService", invokedBy: "ecs-tasks.amazonaws.com" });
    expect(rec.sourceIPAddress).toBe("ecs-tasks.amazonaws.com");
    expect(rec.userAgent).toBe("ecs-tasks.amazonaws.com");
    expect(rec.errorCode).toBeUndefined();
    expect((rec.requestParameters as { roleArn: string }).roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${TASK_ROLE}`);
    expect((rec.responseElements as { assumedRoleUser: { arn: string } }).assumedRoleUser.arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${TASK_ROLE}/${id}`);
    expect(rec.recipientAccountId).toBe(ACCOUNT);
    expect(rec.sharedEventID).toBeDefined();
    expect(rec.resources).toEqual([{ ARN: `arn:aws:iam::${ACCOUNT}:role/${TASK_ROLE}`, accountId: ACCOUNT, type: "AWS::IAM::Role" }]);
    await stopAndWait(task);
  });

  it("a role whose trust policy does not allow ecs-tasks.amazonaws.com gives the task no credentials", async () => {
    const { task, result } = await runProbe("role-untrusted", UNTRUSTED_ROLE);
    expect(result.env.full).toMatch(/\/v2\/credentials\/[0-9a-f-]{36}$/);
    expect(result.endpoint).toEqual({ status: 400, body: { code: "InvalidIdInRequest", message: "CredentialsV2Request: ID not found" } });
    expect(result.identity.error).toBeDefined();
    expect(result.identity.arn).toBeUndefined();
    const id = taskId(task);
    const rec = await waitFor("the refused AssumeRole event", async () =>
      (await lookupAll(ct, "EventName", "AssumeRole")).map(recordOf).find((r) => (r.requestParameters as { roleSessionName?: string } | null)?.roleSessionName === id),
    );
    expect(rec.errorCode).toBe("AccessDenied");
    expect(rec.userIdentity).toEqual({ type: "AWSService", invokedBy: "ecs-tasks.amazonaws.com" });
    expect(rec.responseElements).toBeNull();
    // The SDK's retries and further requests are answered from the refusal; a minute later the role is tried again.
    for (let i = 0; i < 3; i++) expect((await fetch(result.env.full!)).status).toBe(400);
    const later = await server.advanceClock(61);
    expect((await fetch(result.env.full!)).status).toBe(400);
    const attempts = await waitFor("the second refused AssumeRole event", async () => {
      const mine = (await lookupAll(ct, "EventName", "AssumeRole"))
        .map(recordOf)
        .filter((r) => (r.requestParameters as { roleSessionName?: string } | null)?.roleSessionName === id);
      return mine.some((r) => Date.parse(r.eventTime as string) >= Date.parse(later) - 1000) && mine;
    });
    expect(attempts.length).toBe(2);
    await stopAndWait(task);
  });

  it("a task without a task role gets AWS_ENDPOINT_URL but no credentials variables", async () => {
    const { task, result } = await runProbe("role-none", undefined);
    expect(result.env).toEqual({ endpoint: server.url });
    expect(result.identity.arn).toBeUndefined();
    await stopAndWait(task);
  });
});

describe("the credentials endpoint", () => {
  it("refuses a missing or wrong id and other methods, as the ECS agent does", async () => {
    const { task, result } = await runProbe("role-refusals", TASK_ROLE);
    const good = result.env.full!;
    expect((await fetch(good)).status).toBe(200);
    const wrong = await fetch(good.replace(/.$/, (c) => (c === "0" ? "1" : "0")));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ code: "InvalidIdInRequest", message: "CredentialsV2Request: ID not found" });
    for (const path of ["/v2/credentials", "/v2/credentials/"]) {
      const r = await fetch(`${server.url}${path}`);
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ code: "NoIdInRequest", message: "CredentialsV2Request: No ID in the request" });
    }
    expect((await fetch(`${good}/extra`)).status).toBe(400);
    expect((await fetch(`${server.url}/v2/credentials/%E0%A4%A`)).status).toBe(400);
    expect((await fetch(good, { method: "POST", body: "{}" })).status).toBe(405);
    // another task's id is not this one's: each task has its own
    const other = await runProbe("role-refusals-2", TASK_ROLE);
    expect(other.result.env.full).not.toBe(good);
    expect(other.result.endpoint!.body.AccessKeyId).not.toBe(result.endpoint!.body.AccessKeyId);
    await stopAndWait(task);
    await stopAndWait(other.task);
  });

  it("rotates credentials on the service clock, stops serving them when the task stops, and the keys expire as AWS's do", async () => {
    const { task, result } = await runProbe("role-rotation", TASK_ROLE);
    const uri = result.env.full!;
    const first = (await (await fetch(uri)).json()) as Record<string, string>;
    const now = Date.parse(((await (await fetch(`${server.url}/_localfargate/clock`)).json()) as { now: string }).now);
    // six hours, as ECS's task role credentials
    expect(Math.abs(Date.parse(first.Expiration) - now - 6 * 3600_000)).toBeLessThan(120_000);
    // served again unchanged while more than an hour is left
    await server.advanceClock(4 * 3600);
    expect(((await (await fetch(uri)).json()) as Record<string, string>).AccessKeyId).toBe(first.AccessKeyId);
    // renewed once less than an hour is left, before the old ones expire
    await server.advanceClock(3600 + 600);
    const second = (await (await fetch(uri)).json()) as Record<string, string>;
    expect(second.AccessKeyId).not.toBe(first.AccessKeyId);
    expect(Date.parse(second.Expiration)).toBeGreaterThan(Date.parse(first.Expiration));
    expect((await stsWith(first).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${TASK_ROLE}/${taskId(task)}`);
    // past the first credentials' expiry: they are refused, the renewed ones work
    await server.advanceClock(3600);
    await expect(stsWith(first).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: "ExpiredToken" });
    expect((await stsWith(second).send(new GetCallerIdentityCommand({}))).Arn).toContain(`assumed-role/${TASK_ROLE}/`);
    // the task stops: the endpoint no longer serves the id; keys handed out work until they expire
    await stopAndWait(task);
    const after = await fetch(uri);
    expect(after.status).toBe(400);
    expect(await after.json()).toEqual({ code: "InvalidIdInRequest", message: "CredentialsV2Request: ID not found" });
    expect((await stsWith(second).send(new GetCallerIdentityCommand({}))).Arn).toContain(`assumed-role/${TASK_ROLE}/`);
    await server.advanceClock(6 * 3600);
    await expect(stsWith(second).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: "ExpiredToken" });
  });
});

describe("the execution role", () => {
  it("is assumed as ecs-tasks.amazonaws.com for the data plane, and refused without the trust", async () => {
    const td = await registerSleeper(ecs, "exec-role", undefined, {
      executionRoleArn: TASK_ROLE,
      taskRoleArn: UNTRUSTED_ROLE,
    });
    const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
    const t = (server.app.get("ecs") as { tasks: Map<string, TaskRecord> }).tasks.get(out.tasks![0].taskArn!)!;
    expect(t.executionRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${TASK_ROLE}`);
    const roles = server.app.get("taskRoles");
    const ok = await roles.executionRole(t);
    expect(ok?.ok).toBe(true);
    if (!ok?.ok) throw new Error("unreachable");
    const sts = stsWith({ AccessKeyId: ok.credentials.accessKeyId, SecretAccessKey: ok.credentials.secretAccessKey, Token: ok.credentials.sessionToken });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${TASK_ROLE}/${t.id}`);
    const refused = await roles.executionRole({ ...t, executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/${UNTRUSTED_ROLE}` });
    expect(refused).toMatchObject({ ok: false, code: "AccessDenied" });
    await stopAndWait(out.tasks![0]);
  });
});
