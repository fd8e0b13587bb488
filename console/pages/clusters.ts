/** ECS: clusters with their storage key, one cluster's services and tasks. */
import { badge, h, lastPart, link, table, time } from "../dom.ts";
import type { Page } from "../page.ts";
import { describeCluster, listClusters, listServices, listTasks, storageKey, taskId, type Cluster, type Service, type Task } from "./ecs-data.ts";

const keyLink = (arn: string | undefined) => (arn ? link(`/keys/${lastPart(arn)}`, lastPart(arn)) : "AWS owned key");

export const clustersPage: Page = {
  title: "ECS clusters",
  load: (ctx) => listClusters(ctx.target),
  view(data) {
    return table(
      ["Cluster", "Status", "Storage key", "Services", "Running", "Pending", "Map"],
      (data as Cluster[]).map((c) => [
        link(`/clusters/${encodeURIComponent(c.clusterName)}`, c.clusterName),
        badge(c.status),
        keyLink(storageKey(c)),
        c.activeServicesCount ?? 0,
        c.runningTasksCount ?? 0,
        c.pendingTasksCount ?? 0,
        link(`/map/${encodeURIComponent(c.clusterName)}`, "story map"),
      ]),
      "Clusters",
    );
  },
};

export function tasksTable(cluster: string, tasks: Task[]): Node {
  return table(
    ["Task", "Status", "Desired", "Started by", "Created", "Stop reason"],
    tasks.map((t) => [
      link(`/clusters/${encodeURIComponent(cluster)}/tasks/${taskId(t)}`, taskId(t)),
      badge(t.lastStatus),
      t.desiredStatus ?? "—",
      t.startedBy ?? "—",
      time(t.createdAt),
      t.stoppedReason ? h("span", { class: "stop-reason" }, t.stoppedReason) : "—",
    ]),
    "Tasks",
  );
}

interface ClusterData {
  cluster?: Cluster;
  services: Service[];
  tasks: Task[];
}

export const clusterPage: Page = {
  title: (ctx) => `Cluster ${ctx.params[0]}`,
  async load(ctx) {
    const name = ctx.params[0];
    const [cluster, services, tasks] = await Promise.all([describeCluster(ctx.target, name), listServices(ctx.target, name), listTasks(ctx.target, name)]);
    return { cluster, services, tasks } satisfies ClusterData;
  },
  view(data, ctx) {
    const d = data as ClusterData;
    const name = ctx.params[0];
    if (!d.cluster) return h("p", { class: "error" }, `No cluster ${name} in this account and Region.`);
    return h(
      "div",
      {},
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "ARN"),
        h("dd", {}, h("code", {}, d.cluster.clusterArn)),
        h("dt", {}, "Status"),
        h("dd", {}, badge(d.cluster.status)),
        h("dt", {}, "Storage key"),
        h("dd", { id: "cluster-key" }, keyLink(storageKey(d.cluster))),
        h("dt", {}, "Story"),
        h("dd", {}, link(`/map/${encodeURIComponent(name)}`, "map of this cluster")),
      ),
      h("h2", {}, "Services"),
      table(
        ["Service", "Status", "Desired", "Running", "Pending", "Deployments"],
        d.services.map((s) => [
          link(`/clusters/${encodeURIComponent(name)}/services/${encodeURIComponent(s.serviceName)}`, s.serviceName),
          badge(s.status),
          s.desiredCount ?? 0,
          s.runningCount ?? 0,
          s.pendingCount ?? 0,
          (s.deployments ?? []).map((dep) => `${dep.status} ${dep.rolloutState ?? ""}`.trim()).join(", "),
        ]),
        "Services",
      ),
      h("h2", {}, "Tasks"),
      tasksTable(name, d.tasks),
    );
  },
};
