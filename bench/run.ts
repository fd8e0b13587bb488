/**
 * npm run bench: localfargate side by side with moto_server in the same run, on this machine.
 * Prints a table and writes bench/results/<timestamp>.json. Absolute numbers on a shared
 * 2-core machine are noise; the ratio to moto measured in the same run is the signal.
 *
 *   npm run bench                 everything
 *   npm run bench -- kms sts      only scenarios whose name starts with one of the words
 *                                 (sts with the two HTTP floors, iam, kms, kms-list, audit, org, ecs, containers, logs, secretsmanager, dispatch)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KMSClient, CreateKeyCommand, EncryptCommand } from "@aws-sdk/client-kms";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { ECSClient, CreateClusterCommand, RegisterTaskDefinitionCommand, RunTaskCommand, DescribeTasksCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand } from "@aws-sdk/client-cloudwatch-logs";
import { SecretsManagerClient, CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { hasWrk, runWrk, signRequest, type LoadResult } from "./wrk.ts";
import { dispatchScenarios } from "./dispatch.ts";
import { organizationFixture } from "./organizations.ts";
import { containerScenarios } from "./containers.ts";
import { localfargateStart, motoStart, type StartFigures } from "./start.ts";
import { cpuMicros, mainThreadCpuMicros, startBareHttp1, startBareNodeHttp, startLocalfargateProcess, startMoto, type BenchServer } from "./servers.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = [1, 16];
/**
 * `npm run bench -- start`: each server spawned this many times on a fresh data dir, spawn to
 * first healthy answer (p50) and resident memory once idle, localfargate beside moto_server.
 */
const START_RUNS = Number(process.env.START_RUNS ?? 5);
/** What start-up should be: at most half of moto's time, at most this much memory. */
const START_TARGET = { ratioToMoto: 0.5, idleRssMb: 80 };
const only = process.argv.slice(2);

interface Row {
  scenario: string;
  target: string;
  connections?: number;
  requestsPerSec?: number;
  p50ms?: number;
  p99ms?: number;
  cpuMicrosPerRequest?: number;
  mainThreadCpuMicrosPerRequest?: number;
  note?: string;
}
const rows: Row[] = [];
let start: { localfargate: StartFigures; moto?: StartFigures; ratioToMoto?: number; rssRatioToMoto?: number; target: typeof START_TARGET; met?: boolean } | undefined;
const want = (name: string) => only.length === 0 || only.some((w) => name.startsWith(w));
const creds = { accessKeyId: "test", secretAccessKey: "test" };
const clientConfig = (endpoint: string, c = creds) => ({ endpoint, region: "us-east-1", credentials: c });

async function load(scenario: string, server: BenchServer, service: string, target: string | null, body: string, extraHeaders: Record<string, string> = {}, c = creds) {
  const headers: Record<string, string> = target
    ? { "content-type": "application/x-amz-json-1.1", "x-amz-target": target, ...extraHeaders }
    : { "content-type": "application/x-www-form-urlencoded; charset=utf-8", ...extraHeaders };
  for (const n of CONNECTIONS) {
    const req = await signRequest({ endpoint: server.endpoint, service, body, headers, credentials: c });
    const cpu0 = cpuMicros(server.pid);
    const main0 = mainThreadCpuMicros(server.pid);
    const r: LoadResult = runWrk(server.endpoint, req, n, SECONDS);
    const cpu1 = cpuMicros(server.pid);
    const main1 = mainThreadCpuMicros(server.pid);
    const perRequest = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && r.requests > 0 ? Math.round((b - a) / r.requests) : undefined);
    const cpuPerRequest = perRequest(cpu0, cpu1);
    const mainPerRequest = perRequest(main0, main1);
    rows.push({
      scenario,
      target: server.name,
      connections: n,
      requestsPerSec: Math.round(r.requestsPerSec),
      p50ms: r.p50ms,
      p99ms: r.p99ms,
      cpuMicrosPerRequest: cpuPerRequest,
      mainThreadCpuMicrosPerRequest: mainPerRequest,
      note: [cpuPerRequest !== undefined ? `${cpuPerRequest} µs CPU/req (main thread ${mainPerRequest})` : "", r.non2xx ? `${r.non2xx} non-2xx answers` : ""]
        .filter(Boolean)
        .join("; "),
    });
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function kmsFixture(endpoint: string): Promise<{ keyId: string; blob: string }> {
  const kms = new KMSClient(clientConfig(endpoint));
  const key = await kms.send(new CreateKeyCommand({ Description: "bench" }));
  const keyId = key.KeyMetadata!.KeyId!;
  const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.alloc(32, 7), EncryptionContext: { purpose: "bench" } }));
  return { keyId, blob: Buffer.from(enc.CiphertextBlob!).toString("base64") };
}

async function kmsScenarios(targets: BenchServer[], prefix = "") {
  for (const t of targets) {
    try {
      const { keyId, blob } = await kmsFixture(t.endpoint);
      const plaintext = Buffer.alloc(32, 1).toString("base64");
      if (want(`${prefix}kms-encrypt`) || want("kms"))
        await load(`${prefix}kms Encrypt`, t, "kms", "TrentService.Encrypt", JSON.stringify({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { purpose: "bench" } }));
      if (!prefix) {
        await load("kms Decrypt", t, "kms", "TrentService.Decrypt", JSON.stringify({ CiphertextBlob: blob, EncryptionContext: { purpose: "bench" } }));
        await load(
          "kms GenerateDataKeyWithoutPlaintext",
          t,
          "kms",
          "TrentService.GenerateDataKeyWithoutPlaintext",
          JSON.stringify({ KeyId: keyId, KeySpec: "AES_256", EncryptionContext: { purpose: "bench" } }),
        );
      }
    } catch (e) {
      rows.push({ scenario: `${prefix}kms`, target: t.name, note: `failed: ${(e as Error).message}` });
    }
  }
}

/** GetSecretValue of a secret under a customer managed key: authorization, the KMS Decrypt through Secrets Manager, two CloudTrail records. */
async function secretsScenarios(targets: BenchServer[]) {
  for (const t of targets) {
    try {
      const kms = new KMSClient(clientConfig(t.endpoint));
      const key = await kms.send(new CreateKeyCommand({ Description: "bench secrets" }));
      await new SecretsManagerClient(clientConfig(t.endpoint)).send(new CreateSecretCommand({ Name: "bench", SecretString: "bench-value", KmsKeyId: key.KeyMetadata!.Arn }));
      await load("secretsmanager GetSecretValue (customer managed key)", t, "secretsmanager", "secretsmanager.GetSecretValue", JSON.stringify({ SecretId: "bench" }));
    } catch (e) {
      rows.push({ scenario: "secretsmanager", target: t.name, note: `failed: ${(e as Error).message}` });
    }
  }
}

const LIST_KEYS = 8_100;

/** ListKeys with many keys present: a page must cost the page, not the table. */
async function listKeysScenario(targets: BenchServer[]) {
  for (const t of targets) {
    try {
      const kms = new KMSClient(clientConfig(t.endpoint));
      let made = 0;
      const worker = async () => {
        while (made < LIST_KEYS) {
          made++;
          await kms.send(new CreateKeyCommand({}));
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      await load(`kms ListKeys (first page of 100, ${LIST_KEYS.toLocaleString("en")} keys in the account)`, t, "kms", "TrentService.ListKeys", JSON.stringify({ Limit: 100 }));
    } catch (e) {
      rows.push({ scenario: "kms ListKeys", target: t.name, note: `failed: ${(e as Error).message}` });
    }
  }
}

async function ecsScenarios(lf: BenchServer, moto?: BenchServer, encrypted?: BenchServer) {
  for (const t of [lf, moto, encrypted].filter(Boolean) as BenchServer[]) {
    let step = "setup";
    try {
      const ecs = new ECSClient(clientConfig(t.endpoint));
      let configuration;
      if (t !== moto) {
        const kms = new KMSClient(clientConfig(t.endpoint));
        const key = await kms.send(
          new CreateKeyCommand({
            Policy: JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                { Sid: "root", Effect: "Allow", Principal: { AWS: "arn:aws:iam::000000000000:root" }, Action: "kms:*", Resource: "*" },
                {
                  Sid: "fargate",
                  Effect: "Allow",
                  Principal: { Service: "fargate.amazonaws.com" },
                  Action: ["kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"],
                  Resource: "*",
                },
              ],
            }),
          }),
        );
        configuration = { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.KeyMetadata!.Arn } };
      }
      await ecs.send(new CreateClusterCommand({ clusterName: "bench", configuration }));
      await ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "bench",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [{ name: "idle", image: "busybox", essential: true }],
        }),
      );
      const net = { awsvpcConfiguration: { subnets: ["subnet-12345678"] } };
      // RunTask → RUNNING latency
      step = "RunTask→RUNNING";
      const lat: number[] = [];
      for (let i = 0; i < 40; i++) {
        const t0 = performance.now();
        const run = await ecs.send(new RunTaskCommand({ cluster: "bench", taskDefinition: "bench", launchType: "FARGATE", networkConfiguration: net }));
        const arn = run.tasks?.[0]?.taskArn;
        if (!arn) throw new Error(`RunTask failed: ${JSON.stringify(run.failures)}`);
        let status = run.tasks?.[0]?.lastStatus;
        while (status !== "RUNNING") {
          if (status === "STOPPED") throw new Error("task stopped before RUNNING");
          if (performance.now() - t0 > 30_000) throw new Error("task not RUNNING after 30 s");
          const d = await ecs.send(new DescribeTasksCommand({ cluster: "bench", tasks: [arn] }));
          status = d.tasks?.[0]?.lastStatus;
        }
        lat.push(performance.now() - t0);
        await ecs.send(new StopTaskCommand({ cluster: "bench", task: arn }));
      }
      rows.push({
        scenario: `ecs RunTask→RUNNING (key-encrypted, ${t === encrypted ? "gocryptfs driver, 20 GiB volume" : "plain driver"})`,
        target: t.name,
        p50ms: +pct(lat, 50).toFixed(2),
        p99ms: +pct(lat, 99).toFixed(2),
        note: `${lat.length} tasks, sequential`,
      });
      if (t === encrypted) continue;
      // DescribeTasks with 1,000 tasks in the cluster
      step = "starting 1,000 tasks";
      const arns: string[] = [];
      while (arns.length < 1000) {
        const run = await ecs.send(new RunTaskCommand({ cluster: "bench", taskDefinition: "bench", launchType: "FARGATE", count: 10, networkConfiguration: net }));
        for (const task of run.tasks ?? []) arns.push(task.taskArn!);
        if (!run.tasks?.length) throw new Error(`RunTask failed: ${JSON.stringify(run.failures)}`);
      }
      // Measure once every task is RUNNING: starting 1,000 processes is work of its own.
      step = "waiting for 1,000 tasks to run";
      for (let i = 0; i < arns.length; i += 100) {
        for (;;) {
          const d = await ecs.send(new DescribeTasksCommand({ cluster: "bench", tasks: arns.slice(i, i + 100) }));
          if (d.tasks?.every((x) => x.lastStatus === "RUNNING")) break;
          if (d.tasks?.some((x) => x.lastStatus === "STOPPED")) throw new Error("a task stopped before RUNNING");
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      step = "DescribeTasks";
      await load(
        "ecs DescribeTasks (100 of 1,000 tasks)",
        t,
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DescribeTasks",
        JSON.stringify({ cluster: "bench", tasks: arns.slice(0, 100) }),
      );
      for (const arn of arns) await ecs.send(new StopTaskCommand({ cluster: "bench", task: arn })).catch(() => undefined);
    } catch (e) {
      rows.push({ scenario: "ecs", target: t.name, note: `failed at ${step}: ${(e as Error).message.split("\n")[0]}` });
    }
  }
}

/** The KMS key policy CloudWatch Logs needs (docs/logs.md): the account, and logs.us-east-1.amazonaws.com. */
const LOGS_KEY_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Principal: { AWS: "arn:aws:iam::000000000000:root" }, Action: "kms:*", Resource: "*" },
    { Effect: "Allow", Principal: { Service: "logs.us-east-1.amazonaws.com" }, Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"], Resource: "*" },
  ],
});

/**
 * PutLogEvents of 10 events (~100 bytes each) replayed into one stream (sequence tokens are
 * ignored, as AWS does), localfargate beside moto; and localfargate into a group under a
 * customer managed key, where each batch is sealed with the group's data key.
 */
async function logsScenarios(targets: BenchServer[]) {
  const now = Date.now();
  const body = (group: string) =>
    JSON.stringify({
      logGroupName: group,
      logStreamName: "bench",
      logEvents: Array.from({ length: 10 }, (_, i) => ({ timestamp: now + i, message: `bench event ${i} `.padEnd(100, "x") })),
    });
  for (const t of targets) {
    try {
      const logs = new CloudWatchLogsClient(clientConfig(t.endpoint));
      await logs.send(new CreateLogGroupCommand({ logGroupName: "bench" }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: "bench", logStreamName: "bench" }));
      await load("logs PutLogEvents (10 events of 100 bytes)", t, "logs", "Logs_20140328.PutLogEvents", body("bench"));
      if (t.name !== "localfargate") continue;
      const key = await new KMSClient(clientConfig(t.endpoint)).send(new CreateKeyCommand({ Policy: LOGS_KEY_POLICY }));
      await logs.send(new CreateLogGroupCommand({ logGroupName: "bench-cmk", kmsKeyId: key.KeyMetadata!.Arn }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: "bench-cmk", logStreamName: "bench" }));
      await load("logs PutLogEvents (10 events of 100 bytes) into a group under a customer managed key", t, "logs", "Logs_20140328.PutLogEvents", body("bench-cmk"));
    } catch (e) {
      rows.push({ scenario: "logs", target: t.name, note: `failed: ${(e as Error).message}` });
    }
  }
}

async function main() {
  // first, while nothing else of ours runs
  if (want("start")) await startScenario();
  if (!hasWrk()) {
    console.error("npm run bench needs wrk (Debian package wrk): apt-get install -y wrk");
    process.exit(2);
  }
  // the ECS scenario runs 1,000 quarter-vCPU tasks: far above AWS's default Fargate vCPU quota
  const lf = await startLocalfargateProcess("localfargate", { LOCALFARGATE_FARGATE_VCPU_QUOTA: "4000" });
  const moto = await startMoto();
  if (!moto) console.error("moto_server is not available: ratios will be missing");
  const both = [lf, moto].filter(Boolean) as BenchServer[];
  try {
    if (want("sts")) {
      for (const t of both) await load("sts GetCallerIdentity", t, "sts", null, "Action=GetCallerIdentity&Version=2011-06-15");
      for (const [name, start] of [
        ["floor: bare node:http answering a fixed body (no work)", startBareNodeHttp],
        ["floor: localfargate's HTTP/1.1 loop (src/server/http1.ts) answering a fixed body (no work)", startBareHttp1],
      ] as const) {
        const bare = await start();
        try {
          await load(name, bare, "sts", null, "Action=GetCallerIdentity&Version=2011-06-15");
        } finally {
          await bare.stop();
        }
      }
    }
    if (want("iam")) {
      try {
        const iam = new IAMClient(clientConfig(lf.endpoint));
        await iam.send(new CreateUserCommand({ UserName: "bench" }));
        await iam.send(
          new PutUserPolicyCommand({
            UserName: "bench",
            PolicyName: "self",
            PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "iam:GetUser", Resource: "arn:aws:iam::*:user/${aws:username}" }] }),
          }),
        );
        const key = await iam.send(new CreateAccessKeyCommand({ UserName: "bench" }));
        const userCreds = { accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! };
        await load("iam GetUser as an IAM user (policy-enforced no-op)", lf, "iam", null, "Action=GetUser&Version=2010-05-08&UserName=bench", {}, userCreds);
      } catch (e) {
        rows.push({ scenario: "iam", target: "localfargate", note: `failed: ${(e as Error).message}` });
      }
    }
    if (want("kms")) await kmsScenarios(both);
    if (want("kms-list")) await listKeysScenario(both);
    if (want("secretsmanager")) await secretsScenarios(both);
    if (want("org")) {
      try {
        const { member, keyId } = await organizationFixture(lf.endpoint, creds);
        const body = JSON.stringify({ KeyId: keyId, Plaintext: Buffer.alloc(32, 1).toString("base64"), EncryptionContext: { purpose: "bench" } });
        await load("org: kms Encrypt by a member account (SCPs and RCPs at root, OU and account)", lf, "kms", "TrentService.Encrypt", body, {}, member);
      } catch (e) {
        rows.push({ scenario: "org", target: "localfargate", note: `failed: ${(e as Error).message}` });
      }
    }
    if (want("audit")) {
      const quiet = await startLocalfargateProcess("localfargate (auditing off)", { LOCALFARGATE_AUDIT: "off" });
      try {
        await kmsScenarios([lf, quiet], "audit: ");
      } finally {
        await quiet.stop();
      }
    }
    if (want("ecs")) {
      // The volume layout only matters with the gocryptfs driver (root, FUSE, loop devices).
      const encrypted = await startLocalfargateProcess("localfargate (gocryptfs)", {}, "gocryptfs").catch(() => undefined);
      try {
        await ecsScenarios(lf, moto, encrypted);
      } finally {
        await encrypted?.stop();
      }
    }
    if (want("logs")) await logsScenarios(both);
    if (want("containers")) rows.push(...(await containerScenarios()));
    if (want("dispatch")) {
      for (const d of await dispatchScenarios(SECONDS)) {
        rows.push({
          scenario: `dispatch: ${d.scenario}`,
          target: d.audit ? "in-process" : "in-process (auditing off)",
          connections: 16,
          requestsPerSec: Math.round(1e6 / d.microsPerCall),
          note: `${d.microsPerCall.toFixed(1)} µs per call`,
        });
      }
    }
  } finally {
    await lf.stop();
    await moto?.stop();
  }
  report();
}

async function startScenario() {
  const lf = await localfargateStart(START_RUNS);
  const moto = await motoStart(START_RUNS);
  const ratioToMoto = moto ? +(lf.p50ms / moto.p50ms).toFixed(2) : undefined;
  const rssRatioToMoto = moto ? +(lf.idleRssMb / moto.idleRssMb).toFixed(2) : undefined;
  const met = ratioToMoto === undefined ? undefined : ratioToMoto <= START_TARGET.ratioToMoto && lf.idleRssMb <= START_TARGET.idleRssMb;
  start = { localfargate: lf, moto, ratioToMoto, rssRatioToMoto, target: START_TARGET, met };
  const note = (f: StartFigures) => `${f.idleRssMb} MB idle RSS; runs ${f.ms.join(", ")} ms`;
  rows.push({ scenario: "start: spawn to healthy (fresh data dir)", target: "localfargate", p50ms: lf.p50ms, note: note(lf) });
  if (moto) rows.push({ scenario: "start: spawn to healthy (fresh data dir)", target: "moto", p50ms: moto.p50ms, note: note(moto) });
  else rows.push({ scenario: "start: spawn to healthy (fresh data dir)", target: "moto", note: "moto_server is not available" });
}

function report() {
  const ratio = (r: Row) => {
    if (r.target === "localfargate" && r.scenario.startsWith("start:") && start?.ratioToMoto !== undefined) {
      return `${start.ratioToMoto}x moto's time, ${start.rssRatioToMoto}x its memory (target ≤ ${START_TARGET.ratioToMoto}x, ≤ ${START_TARGET.idleRssMb} MB)`;
    }
    if (r.target !== "localfargate" || r.requestsPerSec === undefined) return "";
    const m = rows.find((x) => x.scenario === r.scenario && x.target === "moto" && x.connections === r.connections);
    return m?.requestsPerSec ? `${(r.requestsPerSec / m.requestsPerSec).toFixed(1)}x moto` : "";
  };
  const table = rows.map((r) => ({
    scenario: r.scenario,
    target: r.target,
    conns: r.connections ?? "",
    "req/s": r.requestsPerSec ?? "",
    "p50 ms": r.p50ms?.toFixed(2) ?? "",
    "p99 ms": r.p99ms?.toFixed(2) ?? "",
    ratio: ratio(r),
    note: r.note ?? "",
  }));
  console.table(table);
  const dir = join("bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeFileSync(file, JSON.stringify({ seconds: SECONDS, start, rows: rows.map((r) => ({ ...r, ratio: ratio(r) || undefined })) }, null, 2));
  console.log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
