/** One task: its state timeline, containers, the volume with its key and grant, stop reason, output. */
import { all, json, taskOutput, type OutputPage } from "../aws.ts";
import { badge, h, lastPart, link, table, time } from "../dom.ts";
import type { Page } from "../page.ts";
import type { Task } from "./ecs-data.ts";
import { grantsTable } from "./keys.ts";
import { grantsOfTask, volumeOf, volumeOfTask, type Grant } from "./task-grants.ts";

/** ECS's task lifecycle and the timestamp that marks each step (docs: task lifecycle). */
const STEPS: [string, keyof Task][] = [
  ["PROVISIONING", "createdAt"],
  ["PENDING", "pullStartedAt"],
  ["ACTIVATING", "pullStoppedAt"],
  ["RUNNING", "startedAt"],
  ["DEACTIVATING", "stoppingAt"],
  ["DEPROVISIONING", "executionStoppedAt"],
  ["STOPPED", "stoppedAt"],
];

interface TaskData {
  task?: Task;
  /** the id Fargate gives the task's volume */
  volumeId?: string;
  grants: Grant[];
  output?: { text: string; done: boolean };
}

const utf8 = new TextDecoder();

/** Output read so far per task (the endpoint hands a cursor; the page keeps reading from it). */
const outputs = new Map<string, { cursor?: string; text: string; done: boolean; absent: boolean }>();

async function readOutput(ctx: Parameters<Page["load"]>[0], arn: string): Promise<TaskData["output"]> {
  const o = outputs.get(arn) ?? { text: "", done: false, absent: false };
  outputs.set(arn, o);
  if (o.absent) return undefined;
  if (o.done) return { text: o.text, done: true };
  let page: OutputPage | undefined;
  try {
    page = await taskOutput(ctx.target, arn, o.cursor);
  } catch {
    return o.text ? { text: o.text, done: o.done } : undefined;
  }
  if (!page) {
    o.absent = true;
    return undefined;
  }
  for (const r of page.records) o.text += `[${r.container} ${r.stream}] ${utf8.decode(Uint8Array.from(atob(r.data), (c) => c.charCodeAt(0)))}`;
  o.cursor = page.cursor ?? o.cursor;
  o.done = page.done;
  return { text: o.text, done: o.done };
}

export const taskPage: Page = {
  title: (ctx) => `Task ${ctx.params[1]}`,
  async load(ctx) {
    const [cluster, id] = ctx.params;
    const r = await json(ctx.target, "ecs", "DescribeTasks", { cluster, tasks: [id] });
    const task = (r.tasks as Task[] | undefined)?.[0];
    const data: TaskData = { task, grants: [] };
    if (!task) return data;
    const key = task.fargateEphemeralStorage?.kmsKeyId;
    data.volumeId = await volumeOfTask(task.taskArn);
    if (key) {
      try {
        data.grants = grantsOfTask(task, data.volumeId, await all<Grant>(ctx.target, "kms", "ListGrants", { KeyId: key }, "Grants", "Marker", "NextMarker"));
      } catch {
        data.grants = []; // the caller may not read the key's grants
      }
    }
    data.output = await readOutput(ctx, task.taskArn);
    return data;
  },
  view(data, ctx) {
    const d = data as TaskData;
    const t = d.task;
    if (!t) return h("p", { class: "error" }, `No task ${ctx.params[1]} in cluster ${ctx.params[0]}.`);
    const key = t.fargateEphemeralStorage?.kmsKeyId;
    return h(
      "div",
      {},
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Status"),
        h("dd", { id: "task-status" }, badge(t.lastStatus), ` desired ${t.desiredStatus ?? "—"}`),
        h("dt", {}, "Task definition"),
        h("dd", {}, h("code", {}, (t.taskDefinitionArn ?? "").split("/").pop() ?? "")),
        h("dt", {}, "Started by"),
        h("dd", {}, t.startedBy ?? "—"),
        t.stoppedReason ? [h("dt", {}, "Stop reason"), h("dd", { class: "stop-reason", id: "stop-reason" }, `${t.stopCode ? t.stopCode + ": " : ""}${t.stoppedReason}`)] : null,
        h("dt", {}, "CloudTrail"),
        h("dd", {}, link(`/trail?attr=ResourceName&value=${encodeURIComponent(t.taskArn)}`, "events for this task")),
      ),
      h("h2", {}, "Timeline"),
      h(
        "ol",
        { class: "timeline" },
        STEPS.map(([name, field]) => {
          const at = t[field] as number | undefined;
          const current = t.lastStatus === name;
          return h("li", { class: at || current ? (current ? "step current" : "step done") : "step" }, h("span", { class: "step-name" }, name), h("time", {}, time(at)));
        }),
      ),
      h("h2", {}, "Containers"),
      table(
        ["Name", "Image", "Status", "Health", "Exit code", "Reason"],
        (t.containers ?? []).map((c) => [c.name, h("code", {}, c.image ?? "—"), badge(c.lastStatus ?? "—"), c.healthStatus ?? "—", c.exitCode ?? "—", c.reason ?? "—"]),
        "Containers",
      ),
      h("h2", {}, "Ephemeral storage"),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Size"),
        h("dd", {}, `${t.fargateEphemeralStorage?.sizeInGiB ?? 20} GiB`),
        h("dt", {}, "Volume"),
        h("dd", { id: "task-volume" }, volumes(d).join(", ") || (!key ? "keyed by the Fargate-owned key" : t.lastStatus === "STOPPED" ? "destroyed with the task" : "—")),
        key
          ? [
              h("dt", {}, "Grant records"),
              h("dd", {}, link(`/trail?attr=EventName&value=CreateGrant&q=${encodeURIComponent(d.volumeId ?? lastPart(t.taskArn))}`, "CreateGrant for this task's volume")),
            ]
          : null,
        h("dt", {}, "Key"),
        h("dd", {}, key ? link(`/keys/${lastPart(key)}`, key) : "AWS owned key (no KMS calls in this account)"),
      ),
      key ? grantsTable(d.grants) : null,
      d.output ? [h("h2", {}, "Output", d.output.done ? "" : " (live)"), h("pre", { class: "output", id: "task-output" }, d.output.text || "(nothing yet)")] : null,
    );
  },
};

/** The volume ids (aws:ebs:id) the task's grants name. */
function volumes(d: TaskData): string[] {
  return d.grants.map(volumeOf).filter((v): v is string => typeof v === "string");
}
