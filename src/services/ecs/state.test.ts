import { describe, expect, it } from "vitest";
import type { Store } from "../../store/store.ts";
import { indexPage } from "./paging.ts";
import { EcsState, taskArn, taskDefArn, type TaskDefRecord, type TaskRecord } from "./state.ts";

const emptyStore = { all: () => [], put: () => ({}), del: () => ({}) } as unknown as Store;

function task(account: string, cluster: string, n: number, desiredStatus = "RUNNING"): TaskRecord {
  const id = n.toString(16).padStart(32, "0");
  return {
    arn: taskArn("us-east-1", account, cluster, id),
    id,
    accountId: account,
    region: "us-east-1",
    clusterArn: `arn:aws:ecs:us-east-1:${account}:cluster/${cluster}`,
    clusterName: cluster,
    task: { createdAt: new Date(1_700_000_000_000 + n), desiredStatus, cpu: "256" },
    tags: [],
    containerDefs: [],
    kmsKeyArn: null,
    metadataToken: `tok-${account}-${cluster}-${n}`,
    storage: {},
    privateIp: "10.0.0.1",
    eniId: "eni-1",
    macAddress: "00:00:00:00:00:00",
    subnetId: "subnet-1",
  };
}

describe("ECS list cost", () => {
  it("a ListTasks page of 10 visits O(10 + log n) tasks with 10,000 tasks in another cluster", () => {
    const st = new EcsState(emptyStore);
    for (let i = 0; i < 10_000; i++) st.tasks.set(task("111111111111", "busy", i).arn, task("111111111111", "busy", i));
    for (let i = 0; i < 25; i++) st.tasks.set(task("111111111111", "quiet", i).arn, task("111111111111", "quiet", i));
    const index = st.tasks.index("byCluster");
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      st.tasks.counter.visited = 0;
      const p = indexPage(index, "arn:aws:ecs:us-east-1:111111111111:cluster/quiet", { maxResults: 10, nextToken }, (t) => t.id);
      expect(st.tasks.counter.visited).toBeLessThanOrEqual(11 + 2 * 14);
      seen.push(...p.items);
      nextToken = p.nextToken;
    } while (nextToken);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i.toString(16).padStart(32, "0")));
    expect(st.liveTasks("111111111111", "us-east-1", "FARGATE").length).toBe(10_025);
    expect(st.tasksOfCluster("arn:aws:ecs:us-east-1:111111111111:cluster/quiet").length).toBe(25);
    st.delTask(task("111111111111", "quiet", 3).arn);
    expect(st.tasksOfCluster("arn:aws:ecs:us-east-1:111111111111:cluster/quiet").length).toBe(24);
  });

  it("resolves a family to its latest ACTIVE revision by binary search, among many families", () => {
    const st = new EcsState(emptyStore);
    const def = (family: string, revision: number, status = "ACTIVE"): TaskDefRecord => ({
      arn: taskDefArn("us-east-1", "111111111111", family, revision),
      family,
      revision,
      accountId: "111111111111",
      region: "us-east-1",
      def: { family, revision, status: status as "ACTIVE" },
      tags: [],
    });
    for (let f = 0; f < 2_000; f++) for (let r = 1; r <= 3; r++) st.taskDefs.set(def(`fam-${f}`, r).arn, def(`fam-${f}`, r));
    st.taskDefs.set(def("fam-7", 3).arn, def("fam-7", 3, "INACTIVE"));
    st.taskDefs.counter.visited = 0;
    expect(st.taskDefFor("fam-7", "us-east-1", "111111111111")?.revision).toBe(2);
    expect(st.taskDefFor("fam-1999", "us-east-1", "111111111111")?.revision).toBe(3);
    expect(st.taskDefFor("fam-20000", "us-east-1", "111111111111")).toBeUndefined();
    expect(st.taskDefs.counter.visited).toBeLessThanOrEqual(3 * (1 + 2 * 13));

    // the next revision: deleted revisions still count, a longer family sharing the prefix does not
    st.taskDefs.set(def("fam-7", 4).arn, { ...def("fam-7", 4, "INACTIVE"), deleted: true });
    st.taskDefs.set(def("fam-70", 9).arn, def("fam-70", 9));
    st.taskDefs.counter.visited = 0;
    expect(st.nextRevision("fam-7", "us-east-1", "111111111111")).toBe(5);
    expect(st.nextRevision("fam-70", "us-east-1", "111111111111")).toBe(10);
    expect(st.nextRevision("fam-new", "us-east-1", "111111111111")).toBe(1);
    expect(st.nextRevision("fam-7", "us-west-2", "111111111111")).toBe(1);
    expect(st.taskDefs.counter.visited).toBeLessThanOrEqual(4 * (2 + 2 * 13));
  });
});
