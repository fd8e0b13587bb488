/**
 * The story of one cluster as a picture: key → cluster → deployments → tasks → volumes → grants.
 * Every node links to the CloudTrail page filtered to its events.
 */
import { all } from "../aws.ts";
import { h, lastPart, link, svg } from "../dom.ts";
import type { Page } from "../page.ts";
import { describeCluster, listClusters, listServices, listTasks, deploymentOf, storageKey, taskId, type Cluster, type Service, type Task } from "./ecs-data.ts";
import { grantsOfTask, volumeOf, volumesOfTasks, type Grant } from "./task-grants.ts";

interface MapData {
  cluster?: Cluster;
  clusters: string[];
  services: Service[];
  tasks: Task[];
  grants: Grant[];
  /** each task's volume id, by task ARN */
  volumes: Record<string, string>;
}

interface MapNode {
  col: number;
  row: number;
  label: string;
  sub: string;
  /** the CloudTrail route of its events */
  trail: string;
  kind: string;
  /** the task ID a task, volume or grant node belongs to */
  task?: string;
}

const trailFor = (attr: string, value: string, contains?: string) =>
  `#/trail?attr=${attr}&value=${encodeURIComponent(value)}${contains ? `&q=${encodeURIComponent(contains)}` : ""}`;

export function layout(d: MapData): { nodes: MapNode[]; edges: [number, number][] } {
  const nodes: MapNode[] = [];
  const edges: [number, number][] = [];
  const key = storageKey(d.cluster);
  const add = (n: MapNode) => nodes.push(n) - 1;
  let row = 0;
  const groups = new Map<string, { label: string; sub: string; trail: string; tasks: Task[] }>();
  for (const s of d.services) {
    for (const dep of s.deployments ?? [])
      groups.set(dep.id, { label: `${s.serviceName}`, sub: `${dep.status} ${dep.id}`, trail: trailFor("ResourceName", s.serviceArn), tasks: [] });
  }
  const standalone: Task[] = [];
  for (const t of d.tasks) {
    const g = groups.get(deploymentOf(t) ?? "");
    if (g) g.tasks.push(t);
    else standalone.push(t);
  }
  if (standalone.length) groups.set("standalone", { label: "RunTask", sub: "tasks outside services", trail: trailFor("EventName", "RunTask"), tasks: standalone });
  const depIdx: number[] = [];
  for (const g of groups.values()) {
    const first = row;
    const taskIdx: number[] = [];
    for (const t of g.tasks) {
      const ti = add({ col: 3, row, label: taskId(t).slice(0, 12) + "…", sub: t.lastStatus, trail: trailFor("ResourceName", t.taskArn), kind: "task", task: taskId(t) });
      taskIdx.push(ti);
      const taskGrants = grantsOfTask(t, d.volumes[t.taskArn], d.grants);
      for (const gr of taskGrants) {
        const vol = volumeOf(gr) ?? "volume";
        const vi = add({ col: 4, row, label: vol, sub: "ephemeral storage", trail: key ? trailFor("ResourceName", key, vol) : "#/trail", kind: "volume", task: taskId(t) });
        const gi = add({
          col: 5,
          row,
          label: gr.GrantId.slice(0, 12) + "…",
          sub: "Decrypt grant",
          trail: key ? trailFor("ResourceName", key, gr.GrantId) : "#/trail",
          kind: "grant",
          task: taskId(t),
        });
        edges.push([ti, vi], [vi, gi]);
        row++;
      }
      if (!taskGrants.length) row++;
    }
    if (!g.tasks.length) row++;
    const di = add({ col: 2, row: (first + Math.max(first, row - 1)) / 2, label: g.label, sub: g.sub, trail: g.trail, kind: "deployment" });
    depIdx.push(di);
    for (const ti of taskIdx) edges.push([di, ti]);
  }
  const mid = Math.max(0, row - 1) / 2;
  const ci = add({ col: 1, row: mid, label: d.cluster?.clusterName ?? "", sub: "cluster", trail: trailFor("ResourceName", d.cluster?.clusterArn ?? ""), kind: "cluster" });
  for (const di of depIdx) edges.push([ci, di]);
  const ki = add({
    col: 0,
    row: mid,
    label: key ? lastPart(key).slice(0, 13) + "…" : "AWS owned key",
    sub: "storage key",
    trail: key ? trailFor("ResourceName", key) : "#/trail",
    kind: "key",
  });
  edges.push([ki, ci]);
  return { nodes, edges };
}

function picture(d: MapData): Node {
  const { nodes, edges } = layout(d);
  const CW = 200;
  const RH = 64;
  const NW = 176;
  const NH = 44;
  const rows = Math.max(1, ...nodes.map((n) => n.row + 1));
  const W = CW * 6;
  const H = rows * RH + 40;
  const pos = (n: MapNode) => ({ x: n.col * CW + 10, y: n.row * RH + 34 });
  const parts: SVGElement[] = ["key", "cluster", "deployments", "tasks", "volumes", "grants"].map((t, i) => svg("text", { x: i * CW + 10, y: 16, class: "col-title" }, t));
  for (const [a, b] of edges) {
    const p = pos(nodes[a]);
    const q = pos(nodes[b]);
    const x1 = p.x + NW;
    const y1 = p.y + NH / 2;
    const x2 = q.x;
    const y2 = q.y + NH / 2;
    parts.push(svg("path", { d: `M${x1},${y1} C${x1 + 20},${y1} ${x2 - 20},${y2} ${x2},${y2}`, class: "edge" }));
  }
  for (const n of nodes) {
    const p = pos(n);
    parts.push(
      svg(
        "a",
        { href: n.trail, class: `node node-${n.kind}`, "aria-label": `${n.kind} ${n.label}: CloudTrail events`, ...(n.task ? { "data-task": n.task } : {}) },
        svg("rect", { x: p.x, y: p.y, width: NW, height: NH, rx: 6 }),
        svg("text", { x: p.x + 8, y: p.y + 18, class: "node-label" }, n.label),
        svg("text", { x: p.x + 8, y: p.y + 34, class: "node-sub" }, n.sub.length > 24 ? n.sub.slice(0, 23) + "…" : n.sub),
      ),
    );
  }
  return svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "story-map", role: "group", "aria-label": "The cluster's story: each node links to its CloudTrail events" }, ...parts);
}

export const mapPage: Page = {
  title: (ctx) => (ctx.params[0] ? `Story of cluster ${ctx.params[0]}` : "Story map"),
  async load(ctx) {
    const name = ctx.params[0];
    if (!name) return { clusters: (await listClusters(ctx.target)).map((c) => c.clusterName), services: [], tasks: [], grants: [], volumes: {} } satisfies MapData;
    const [cluster, services, tasks] = await Promise.all([describeCluster(ctx.target, name), listServices(ctx.target, name), listTasks(ctx.target, name)]);
    const key = storageKey(cluster);
    let grants: Grant[] = [];
    if (key) grants = await all<Grant>(ctx.target, "kms", "ListGrants", { KeyId: key }, "Grants", "Marker", "NextMarker").catch(() => []);
    return { cluster, clusters: [], services, tasks, grants, volumes: await volumesOfTasks(tasks) } satisfies MapData;
  },
  view(data, ctx) {
    const d = data as MapData;
    if (!ctx.params[0]) return h("ul", {}, d.clusters.length ? d.clusters.map((c) => h("li", {}, link(`/map/${encodeURIComponent(c)}`, c))) : h("li", {}, "No clusters yet."));
    if (!d.cluster) return h("p", { class: "error" }, `No cluster ${ctx.params[0]} in this account and Region.`);
    return h("div", { class: "map-wrap" }, picture(d));
  },
};
