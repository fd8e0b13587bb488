/** One ECS service: its deployments and a picture of a rolling deployment, drawn from polling. */
import { badge, h, svg, table, time } from "../dom.ts";
import type { Page } from "../page.ts";
import { deploymentOf, listServices, listTasks, type Service, type Task } from "./ecs-data.ts";

/** One poll: running tasks per deployment, and the floor minimumHealthyPercent sets. */
export interface Sample {
  atMs: number;
  running: Record<string, number>;
  floor: number;
}

/** Samples per service ARN, kept while the tab is open (the picture grows as the page polls). */
const history = new Map<string, Sample[]>();
const MAX_SAMPLES = 300;

/** Series colours; the legend's swatches are classes (the page's CSP allows no inline style). */
const COLORS = ["var(--c1)", "var(--c2)", "var(--c3)", "var(--c4)", "var(--c5)"];

export function deploymentChart(samples: Sample[], deployments: string[]): Node {
  const W = 640;
  const H = 220;
  const pad = { l: 36, r: 12, t: 12, b: 28 };
  const maxY = Math.max(1, ...samples.flatMap((s) => [s.floor, ...Object.values(s.running), Object.values(s.running).reduce((a, b) => a + b, 0)]));
  const t0 = samples[0]?.atMs ?? 0;
  const t1 = Math.max(t0 + 1, samples[samples.length - 1]?.atMs ?? 1);
  const x = (ms: number) => pad.l + ((ms - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (n: number) => H - pad.b - (n / maxY) * (H - pad.t - pad.b);
  const parts: SVGElement[] = [];
  for (let n = 0; n <= maxY; n += Math.max(1, Math.ceil(maxY / 5))) {
    parts.push(svg("line", { x1: pad.l, x2: W - pad.r, y1: y(n), y2: y(n), class: "grid" }), svg("text", { x: pad.l - 6, y: y(n) + 4, "text-anchor": "end" }, String(n)));
  }
  const path = (vals: number[]) => vals.map((v, i) => `${i ? "L" : "M"}${x(samples[i].atMs).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  deployments.forEach((id, i) => {
    const color = COLORS[i % COLORS.length];
    parts.push(svg("path", { d: path(samples.map((s) => s.running[id] ?? 0)), class: "series", stroke: color, "data-deployment": id }));
    const last = samples[samples.length - 1];
    if (last && id in last.running) parts.push(svg("circle", { cx: x(last.atMs), cy: y(last.running[id]), r: 3.5, fill: color }));
  });
  parts.push(svg("path", { d: path(samples.map((s) => s.floor)), class: "floor" }));
  const span = Math.round(((samples[samples.length - 1]?.atMs ?? 0) - (samples[0]?.atMs ?? 0)) / 1000);
  parts.push(svg("text", { x: pad.l, y: H - 8 }, samples.length ? `${span} s ago` : ""));
  parts.push(svg("text", { x: W - pad.r, y: H - 8, "text-anchor": "end" }, "now"));
  return h(
    "figure",
    { class: "chart" },
    svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Running tasks per deployment over time, with the minimum healthy floor" }, ...parts),
    h(
      "figcaption",
      {},
      deployments.map((id, i) => h("span", { class: "legend" }, h("span", { class: `swatch swatch-${i % COLORS.length}` }), id)),
      h("span", { class: "legend" }, h("span", { class: "swatch floor-swatch" }), "minimumHealthyPercent floor"),
    ),
  );
}

interface ServiceData {
  service?: Service;
  tasks: Task[];
  samples: Sample[];
}

export const servicePage: Page = {
  title: (ctx) => `Service ${ctx.params[1]}`,
  // a finer picture of a rollout
  pollMs: 1000,
  async load(ctx) {
    const [cluster, name] = ctx.params;
    const service = (await listServices(ctx.target, cluster)).find((s) => s.serviceName === name);
    if (!service) return { tasks: [], samples: [] } satisfies ServiceData;
    const tasks = (await listTasks(ctx.target, cluster)).filter((t) => (service.deployments ?? []).some((d) => d.id === deploymentOf(t)));
    const running: Record<string, number> = {};
    for (const d of service.deployments ?? []) running[d.id] = d.runningCount ?? 0;
    const floor = Math.ceil(((service.desiredCount ?? 0) * (service.deploymentConfiguration?.minimumHealthyPercent ?? 100)) / 100);
    const samples = history.get(service.serviceArn) ?? [];
    samples.push({ atMs: Date.now(), running, floor });
    if (samples.length > MAX_SAMPLES) samples.shift();
    history.set(service.serviceArn, samples);
    // the view's data must change only when the service does: the chart redraws with it
    return { service, tasks, samples: [...samples] } satisfies ServiceData;
  },
  view(data, ctx) {
    const d = data as ServiceData;
    const [cluster] = ctx.params;
    if (!d.service) return h("p", { class: "error" }, `No service ${ctx.params[1]} in cluster ${cluster}.`);
    const s = d.service;
    const ids = [...new Set([...d.samples.flatMap((x) => Object.keys(x.running))])];
    return h(
      "div",
      {},
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Status"),
        h("dd", {}, badge(s.status)),
        h("dt", {}, "Desired / running / pending"),
        h("dd", {}, `${s.desiredCount ?? 0} / ${s.runningCount ?? 0} / ${s.pendingCount ?? 0}`),
        h("dt", {}, "Minimum healthy / maximum"),
        h("dd", {}, `${s.deploymentConfiguration?.minimumHealthyPercent ?? 100}% / ${s.deploymentConfiguration?.maximumPercent ?? 200}%`),
        h("dt", {}, "Task definition"),
        h("dd", {}, h("code", {}, s.taskDefinition ?? "—")),
      ),
      h("h2", {}, "Rolling deployment"),
      deploymentChart(d.samples, ids),
      h("h2", {}, "Deployments"),
      table(
        ["Deployment", "Status", "Rollout", "Task definition", "Desired", "Running", "Pending", "Failed", "Created"],
        (s.deployments ?? []).map((dep) => [
          dep.id,
          badge(dep.status),
          dep.rolloutState ? h("span", { title: dep.rolloutStateReason ?? "" }, badge(dep.rolloutState)) : "—",
          h("code", {}, (dep.taskDefinition ?? "").split("/").pop() ?? ""),
          dep.desiredCount ?? 0,
          dep.runningCount ?? 0,
          dep.pendingCount ?? 0,
          dep.failedTasks ?? 0,
          time(dep.createdAt),
        ]),
        "Deployments",
      ),
      h("h2", {}, "Events"),
      h(
        "ul",
        { class: "events" },
        (s.events ?? []).slice(0, 20).map((e) => h("li", {}, h("time", {}, time(e.createdAt)), " ", e.message)),
      ),
    );
  },
};
