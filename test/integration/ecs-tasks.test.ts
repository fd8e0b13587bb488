/** Fargate tasks as processes: containers, essential exit, dependsOn, metadata endpoint, listing, expiry. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
  ListTagsForResourceCommand,
} from "@aws-sdk/client-ecs";
import { readFile } from "node:fs/promises";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
const CLUSTER = "tasks";

beforeAll(async () => {
  server = await startTestServer();
  ecs = new ECSClient(server.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
});
afterAll(async () => {
  await server?.close();
});

async function run(taskDefinition: string, extra: Record<string, unknown> = {}) {
  const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition, launchType: "FARGATE", networkConfiguration: NETWORK, ...extra }));
  return out.tasks!;
}

describe("RunTask validation", () => {
  it("requires a network configuration for awsvpc", async () => {
    const td = await registerSleeper(ecs, "val");
    await expect(ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE" }))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    });
  });
  it("refuses unknown platform versions, bad counts, unknown clusters and task definitions, bad overrides", async () => {
    const td = await registerSleeper(ecs, "val2");
    await expect(run(td, { platformVersion: "9.9.9" })).rejects.toMatchObject({ name: "PlatformUnknownException" });
    await expect(run(td, { count: 11 })).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(ecs.send(new RunTaskCommand({ cluster: "nope", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).rejects.toMatchObject({
      name: "ClusterNotFoundException",
    });
    await expect(run("does-not-exist")).rejects.toMatchObject({ name: "ClientException" });
    await expect(run(td, { overrides: { ephemeralStorage: { sizeInGiB: 201 } } })).rejects.toMatchObject({ name: "ClientException" });
    await expect(run(td, { overrides: { containerOverrides: [{ name: "ghost" }] } })).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(run(td, { launchType: "EC2" })).rejects.toMatchObject({ name: "InvalidParameterException", message: "No Container Instances were found in your cluster." });
    await expect(run(td, { launchType: undefined, capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }] })).rejects.toMatchObject({
      name: "InvalidParameterException",
    });
  });
  it("runs with LATEST, count and a capacity provider strategy", async () => {
    const { PutClusterCapacityProvidersCommand } = await import("@aws-sdk/client-ecs");
    await ecs.send(new CreateClusterCommand({ clusterName: "cps" }));
    await ecs.send(new PutClusterCapacityProvidersCommand({ cluster: "cps", capacityProviders: ["FARGATE", "FARGATE_SPOT"], defaultCapacityProviderStrategy: [] }));
    const td = await registerSleeper(ecs, "cps");
    const out = await ecs.send(
      new RunTaskCommand({
        cluster: "cps",
        taskDefinition: td,
        count: 2,
        platformVersion: "LATEST",
        capacityProviderStrategy: [{ capacityProvider: "FARGATE_SPOT", weight: 1 }],
        networkConfiguration: NETWORK,
      }),
    );
    expect(out.tasks).toHaveLength(2);
    for (const t of out.tasks!) {
      expect(t.capacityProviderName).toBe("FARGATE_SPOT");
      expect(t.launchType).toBeUndefined();
      expect(t.platformVersion).toBe("1.4.0");
      const r = await waitTask(ecs, "cps", t.taskArn!, running);
      await ecs.send(new StopTaskCommand({ cluster: "cps", task: r.taskArn! }));
    }
  });
});

describe("containers", () => {
  it("an essential container's exit stops the task with its exit code", async () => {
    const td = await registerSleeper(ecs, "exit3", [{ name: "main", image: "busybox", command: ["sh", "-c", "exit 3"] }]);
    const [t0] = await run(td);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, stopped);
    expect(t.stopCode).toBe("EssentialContainerExited");
    expect(t.stoppedReason).toBe("Essential container in task exited");
    expect(t.containers![0].exitCode).toBe(3);
    expect(t.containers![0].lastStatus).toBe("STOPPED");
  });

  it("a non-essential container's exit does not stop the task; overrides reach the process", async () => {
    const td = await registerSleeper(ecs, "sidecar", [
      { name: "main", image: "busybox", command: ["sleep", "300"], stopTimeout: 2 },
      { name: "side", image: "busybox", essential: false, command: ["sh", "-c", "exit 0"] },
    ]);
    const [t0] = await run(td, { overrides: { containerOverrides: [{ name: "side", command: ["sh", "-c", 'exit "$CODE"'], environment: [{ name: "CODE", value: "7" }] }] } });
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, (x) => x.containers!.find((c) => c.name === "side")!.exitCode !== undefined);
    expect(t.containers!.find((c) => c.name === "side")!.exitCode).toBe(7);
    expect(t.lastStatus).toBe("RUNNING");
    await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: t.taskArn! }));
    const s = await waitTask(ecs, CLUSTER, t.taskArn!, stopped);
    expect(s.stopCode).toBe("UserInitiated");
    expect(s.stoppedReason).toBe("Task stopped by user");
  });

  it("dependsOn: SUCCESS waits for the init container; START waits for the start", async () => {
    const td = await registerSleeper(ecs, "deps", [
      { name: "init", image: "busybox", essential: false, command: ["sh", "-c", "echo init > order.txt"] },
      {
        name: "app",
        image: "busybox",
        command: ["sh", "-c", "cat order.txt > seen.txt; echo app >> order.txt; sleep 300"],
        dependsOn: [{ containerName: "init", condition: "SUCCESS" }],
        stopTimeout: 2,
      },
      {
        name: "after",
        image: "busybox",
        essential: false,
        // START means app's process exists, not that its shell has run a line yet: on a loaded
        // host that may take seconds. What after sees at its own start shows it did not start before init succeeded.
        command: ["sh", "-c", "cp order.txt after-saw.txt; i=0; while ! grep -qx app order.txt && [ $i -lt 600 ]; do i=$((i+1)); sleep 0.1; done; echo after >> order.txt"],
        dependsOn: [{ containerName: "app", condition: "START" }],
      },
    ]);
    const [t0] = await run(td);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, (x) => x.containers!.find((c) => c.name === "after")!.exitCode !== undefined);
    expect(t.lastStatus).toBe("RUNNING");
    expect(t.containers!.find((c) => c.name === "init")!.exitCode).toBe(0);
    expect(t.containers!.find((c) => c.name === "app")!.lastStatus).toBe("RUNNING");
    const plane = server.app.get("ecs") as { tasks: Map<string, { storage: { mountPath?: string } }> };
    const mount = plane.tasks.get(t.taskArn!)!.storage.mountPath!;
    expect(await readFile(`${mount}/seen.txt`, "utf8")).toBe("init\n");
    expect((await readFile(`${mount}/after-saw.txt`, "utf8")).split("\n")[0]).toBe("init");
    expect((await readFile(`${mount}/order.txt`, "utf8")).split("\n").filter(Boolean)).toEqual(["init", "app", "after"]);
    await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: t.taskArn! }));
    await waitTask(ecs, CLUSTER, t.taskArn!, stopped);
  });

  it("dependsOn SUCCESS with a failing init container never starts the app and stops the task", async () => {
    const td = await registerSleeper(ecs, "deps-fail", [
      { name: "init", image: "busybox", essential: false, command: ["sh", "-c", "exit 1"] },
      { name: "app", image: "busybox", command: ["sleep", "300"], dependsOn: [{ containerName: "init", condition: "SUCCESS" }] },
    ]);
    const [t0] = await run(td);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, stopped);
    const app = t.containers!.find((c) => c.name === "app")!;
    expect(app.exitCode).toBeUndefined();
    expect(app.reason).toMatch(/dependency graph: failed to resolve container ordering dependency \[init\] for target \[app\]/);
  });

  it("the process sees ECS_CONTAINER_METADATA_URI_V4 and can fetch container and task metadata", async () => {
    const script = [
      "node -e '",
      "const u=process.env.ECS_CONTAINER_METADATA_URI_V4;",
      'Promise.all([fetch(u).then(r=>r.json()),fetch(u+"/task").then(r=>r.json())]).then(([c,t])=>{',
      'require("fs").writeFileSync("meta.json",JSON.stringify({u,c,t}));process.exit(0)}).catch(e=>{console.error(e);process.exit(2)})\'',
    ].join("");
    const td = await registerSleeper(ecs, "meta", [
      { name: "probe", image: "node", essential: false, command: ["sh", "-c", script] },
      { name: "main", image: "busybox", command: ["sleep", "300"], stopTimeout: 2 },
    ]);
    const [t0] = await run(td);
    const t = await waitTask(ecs, CLUSTER, t0.taskArn!, (x) => x.containers!.find((c) => c.name === "probe")!.exitCode !== undefined);
    expect(t.containers!.find((c) => c.name === "probe")!.exitCode).toBe(0);
    const rec = (server.app.get("ecs") as { tasks: Map<string, { storage: { mountPath?: string } }> }).tasks.get(t.taskArn!)!;
    const meta = JSON.parse(await readFile(`${rec.storage.mountPath}/meta.json`, "utf8"));
    expect(meta.u.startsWith(`${server.url}/_localfargate/metadata/v4/`)).toBe(true);
    expect(meta.c.Name).toBe("probe");
    expect(meta.c.Labels["com.amazonaws.ecs.task-arn"]).toBe(t.taskArn);
    expect(meta.t.TaskARN).toBe(t.taskArn);
    expect(meta.t.Cluster).toBe(t.clusterArn);
    expect(meta.t.Family).toBe("meta");
    expect(meta.t.LaunchType).toBe("FARGATE");
    expect(meta.t.Containers.map((c: { Name: string }) => c.Name).sort()).toEqual(["main", "probe"]);
    const bad = await fetch(`${server.url}/_localfargate/metadata/v4/not-a-token/probe`);
    expect(bad.status).toBe(404);
    await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: t.taskArn! }));
  });
});

describe("listing, tags and expiry", () => {
  it("ListTasks filters and pages; DescribeTasks reports MISSING and tags only when asked; stopped tasks expire after an hour", async () => {
    await ecs.send(new CreateClusterCommand({ clusterName: "listing" }));
    const td = await registerSleeper(ecs, "lister");
    const out = await ecs.send(
      new RunTaskCommand({
        cluster: "listing",
        taskDefinition: td,
        count: 3,
        launchType: "FARGATE",
        networkConfiguration: NETWORK,
        startedBy: "me",
        tags: [{ key: "team", value: "a" }],
      }),
    );
    const arns = out.tasks!.map((t) => t.taskArn!);
    for (const a of arns) await waitTask(ecs, "listing", a, running);
    const p1 = await ecs.send(new ListTasksCommand({ cluster: "listing", maxResults: 2 }));
    expect(p1.taskArns).toHaveLength(2);
    const p2 = await ecs.send(new ListTasksCommand({ cluster: "listing", maxResults: 2, nextToken: p1.nextToken }));
    expect([...p1.taskArns!, ...p2.taskArns!].sort()).toEqual([...arns].sort());
    expect((await ecs.send(new ListTasksCommand({ cluster: "listing", startedBy: "other" }))).taskArns).toEqual([]);
    expect((await ecs.send(new ListTasksCommand({ cluster: "listing", family: "lister" }))).taskArns).toHaveLength(3);
    const d = await ecs.send(new DescribeTasksCommand({ cluster: "listing", tasks: [arns[0], "0123456789abcdef0123456789abcdef"] }));
    expect(d.tasks![0].tags).toBeUndefined();
    expect(d.failures).toEqual([{ arn: "arn:aws:ecs:us-east-1:000000000000:task/listing/0123456789abcdef0123456789abcdef", reason: "MISSING" }]);
    const withTags = await ecs.send(new DescribeTasksCommand({ cluster: "listing", tasks: [arns[0]], include: ["TAGS"] }));
    expect(withTags.tasks![0].tags).toEqual([{ key: "team", value: "a" }]);
    await ecs.send(new TagResourceCommand({ resourceArn: arns[0], tags: [{ key: "env", value: "dev" }] }));
    expect((await ecs.send(new ListTagsForResourceCommand({ resourceArn: arns[0] }))).tags).toHaveLength(2);

    await ecs.send(new StopTaskCommand({ cluster: "listing", task: arns[0] }));
    await waitTask(ecs, "listing", arns[0], stopped);
    expect((await ecs.send(new ListTasksCommand({ cluster: "listing", desiredStatus: "STOPPED" }))).taskArns).toEqual([arns[0]]);
    await server.advanceClock(30 * 60);
    expect((await ecs.send(new DescribeTasksCommand({ cluster: "listing", tasks: [arns[0]] }))).tasks).toHaveLength(1);
    await server.advanceClock(31 * 60);
    const gone = await ecs.send(new DescribeTasksCommand({ cluster: "listing", tasks: [arns[0]] }));
    expect(gone.tasks).toEqual([]);
    expect(gone.failures![0].reason).toBe("MISSING");
    for (const a of arns.slice(1)) await ecs.send(new StopTaskCommand({ cluster: "listing", task: a }));
    await waitFor("tasks stopped", async () => ((await ecs.send(new ListTasksCommand({ cluster: "listing" }))).taskArns!.length === 0 ? true : undefined));
  });
});
