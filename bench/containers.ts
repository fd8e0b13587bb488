/**
 * `npm run bench -- containers`: RunTask→RUNNING with a real image run by crun (docs/ecs-fargate.md,
 * "Container runtime"), the image already in the store (cached) and loaded from a local archive
 * just before each task (first load), next to the same task as a host process. Every server
 * uses the gocryptfs driver, so the three differ only in the runtime. Skipped, with the
 * reason, where crun cannot run here. Each task is stopped, and STOPPED, before the next starts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { detectCrun } from "../src/fargate/runtime/crun.ts";
import { buildBusyboxImage } from "../test/support/images.ts";
import { startLocalfargateProcess } from "./servers.ts";

export interface ContainerRow {
  scenario: string;
  target: string;
  p50ms?: number;
  p99ms?: number;
  note?: string;
}

const RUNS = Number(process.env.CONTAINER_RUNS ?? 20);
const NET = { awsvpcConfiguration: { subnets: ["subnet-12345678"] } };
const creds = { accessKeyId: "test", secretAccessKey: "test" };

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function runToRunning(ecs: ECSClient, family: string): Promise<{ ms: number; arn: string }> {
  const t0 = performance.now();
  const run = await ecs.send(new RunTaskCommand({ cluster: "bench", taskDefinition: family, launchType: "FARGATE", networkConfiguration: NET }));
  const arn = run.tasks?.[0]?.taskArn;
  if (!arn) throw new Error(`RunTask failed: ${JSON.stringify(run.failures)}`);
  for (;;) {
    const d = (await ecs.send(new DescribeTasksCommand({ cluster: "bench", tasks: [arn] }))).tasks?.[0];
    if (d?.lastStatus === "RUNNING") return { ms: performance.now() - t0, arn };
    if (d?.lastStatus === "STOPPED") throw new Error(`task stopped before RUNNING: ${d.stoppedReason}`);
    if (performance.now() - t0 > 30_000) throw new Error("task not RUNNING after 30 s");
  }
}

/** Stops the task and waits until it is STOPPED, so the next measurement does not share the machine with its teardown. */
async function stopAndWait(ecs: ECSClient, arn: string): Promise<void> {
  await ecs.send(new StopTaskCommand({ cluster: "bench", task: arn }));
  const t0 = performance.now();
  while ((await ecs.send(new DescribeTasksCommand({ cluster: "bench", tasks: [arn] }))).tasks?.[0]?.lastStatus !== "STOPPED") {
    if (performance.now() - t0 > 30_000) throw new Error("task not STOPPED after 30 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function register(ecs: ECSClient, family: string, image: string): Promise<void> {
  await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [{ name: "idle", image, essential: true, entryPoint: ["sleep"], command: ["3600"], stopTimeout: 1 }],
    }),
  );
}

async function loadImage(endpoint: string, path: string, name: string): Promise<void> {
  const res = await fetch(`${endpoint}/_localfargate/images`, { method: "POST", body: JSON.stringify({ path, names: [name] }) });
  if (res.status !== 200) throw new Error(`image load: ${res.status} ${await res.text()}`);
}

export async function containerScenarios(): Promise<ContainerRow[]> {
  const rows: ContainerRow[] = [];
  const scenario = (what: string) => `containers RunTask→RUNNING (${what}, gocryptfs driver, 20 GiB volume)`;
  const crun = await detectCrun();
  if (!crun.available) return [{ scenario: scenario("crun"), target: "localfargate", note: `skipped: ${crun.reason}` }];
  const work = mkdtempSync(join(tmpdir(), "lf-bench-images-"));
  try {
    const images = [];
    for (let i = 0; i <= RUNS; i++) {
      const dir = mkdtempSync(join(work, "img-"));
      images.push(await buildBusyboxImage(dir, { marker: `bench image ${i}` }));
    }
    for (const runtime of ["crun", "host"] as const) {
      const server = await startLocalfargateProcess(`localfargate (${runtime})`, {}, "gocryptfs", runtime);
      const ecs = new ECSClient({ endpoint: server.endpoint, region: "us-east-1", credentials: creds });
      try {
        await ecs.send(new CreateClusterCommand({ clusterName: "bench" }));
        await loadImage(server.endpoint, images[0]!.ociArchive, "bench/cached:1");
        await register(ecs, "cached", "bench/cached:1");
        const cached: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const r = await runToRunning(ecs, "cached");
          cached.push(r.ms);
          await stopAndWait(ecs, r.arn);
        }
        rows.push({
          scenario: scenario(runtime === "crun" ? "crun, cached 1 MB image" : "host process, image ignored"),
          target: server.name,
          p50ms: +pct(cached, 50).toFixed(1),
          p99ms: +pct(cached, 99).toFixed(1),
          note: `${RUNS} tasks, sequential`,
        });
        if (runtime !== "crun") continue;
        const first: number[] = [];
        for (let i = 1; i <= RUNS; i++) {
          const t0 = performance.now();
          await loadImage(server.endpoint, images[i]!.ociArchive, `bench/first:${i}`);
          await register(ecs, `first-${i}`, `bench/first:${i}`);
          const r = await runToRunning(ecs, `first-${i}`);
          first.push(performance.now() - t0);
          await stopAndWait(ecs, r.arn);
        }
        rows.push({
          scenario: scenario("crun, first load of a 1 MB OCI archive + register + run"),
          target: server.name,
          p50ms: +pct(first, 50).toFixed(1),
          p99ms: +pct(first, 99).toFixed(1),
          note: `${RUNS} images, sequential`,
        });
      } catch (e) {
        rows.push({ scenario: scenario(runtime), target: server.name, note: `failed: ${(e as Error).message.split("\n")[0]}` });
      } finally {
        // Idle keep-alive connections would hold up the server's shutdown (and its network cleanup).
        ecs.destroy();
        await server.stop();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
