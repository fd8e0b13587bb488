/** The data plane starts or stops a task only once the call that asked for it is committed. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, ListTasksCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, waitTask } from "./ecs-helpers.ts";

let server: TestServer;
let ecs: ECSClient;
const CLUSTER = "commit-order";

beforeAll(async () => {
  server = await startTestServer();
  // one attempt: a failed commit answers a retryable 500 the SDK would otherwise send again
  ecs = new ECSClient({ ...server.config, maxAttempts: 1 });
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
});
afterAll(async () => {
  await server?.close();
});

/** Makes the store's next commit fail as a full or broken disk would. */
function failNextCommit(): void {
  const store = server.app.store;
  const commit = store.commit.bind(store);
  store.commit = () => {
    store.commit = commit;
    return Promise.reject(new Error("disk I/O error"));
  };
}

function runnersOf(cluster: string): string[] {
  return [...server.app.get("fargate").runners.keys()].filter((arn) => arn.includes(`:task/${cluster}/`));
}

describe("after-commit", () => {
  it("a RunTask whose commit fails answers the failure and starts no task", async () => {
    const td = await registerSleeper(ecs, "commit-fails");
    failNextCommit();
    await expect(ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).rejects.toMatchObject({
      name: "InternalFailure",
      $metadata: { httpStatusCode: 500 },
    });
    await new Promise((r) => setImmediate(r));
    expect(runnersOf(CLUSTER)).toEqual([]);
  });

  it("a committed RunTask starts its task, and a StopTask whose commit fails leaves it running", async () => {
    const td = await registerSleeper(ecs, "commit-ok");
    const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
    const arn = out.tasks![0].taskArn!;
    expect(runnersOf(CLUSTER)).toEqual([arn]);
    await waitTask(ecs, CLUSTER, arn, running);
    failNextCommit();
    await expect(ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }))).rejects.toMatchObject({ name: "InternalFailure" });
    const live = server.app.get("fargate").runners.get(arn)?.t.task;
    expect([live?.lastStatus, live?.desiredStatus]).toEqual(["RUNNING", "RUNNING"]);
    await ecs.send(new StopTaskCommand({ cluster: CLUSTER, task: arn }));
    const listed = await ecs.send(new ListTasksCommand({ cluster: CLUSTER, desiredStatus: "STOPPED" }));
    expect(listed.taskArns).toEqual([arn]);
  });
});
