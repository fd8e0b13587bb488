/**
 * The scheduler of an EXTERNAL service (task-sets.ts): each task set keeps
 * computedDesiredCount = ceil(desiredCount × scale%) tasks of its own task definition and launch
 * configuration, started with the task set's id as startedBy; a DRAINING task set, or every task
 * set of a service being deleted, has its tasks stopped and is gone once they have stopped. Task
 * sets are moved by their controller (scale, primary), not by deployment percentages, so no
 * health floor applies; a task whose health checks fail is stopped and replaced as in ECS services
 * (docs/ecs-fargate.md#task-sets).
 */
import type { SchedulerDeps } from "./scheduler.ts";
import { HEALTH_CHECK_STOP_REASON } from "./scheduler.ts";
import { addServiceEvent, liveServiceTasks, markSteady } from "./services.ts";
import { computedDesiredCount } from "./task-sets.ts";
import { newTask, pickCapacityProvider, tagsForLaunch } from "./tasks.ts";
import { VcpuBudget } from "./quotas.ts";
import { notePlacement } from "./placement-events.ts";
import { hasHealthChecks, requestStop } from "./task-lifecycle.ts";
import type { ServiceRecord, TaskRecord, TaskSetRecord } from "./state.ts";

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;

/** Returns true when the service record changed; `counted` gets the stopped tasks it accounted for. */
export function reconcileExternalService(deps: SchedulerDeps, s: ServiceRecord, counted: TaskRecord[] = []): boolean {
  const { state, app, plane } = deps;
  const now = app.clock.now();
  const cluster = state.clusters.get(s.clusterArn);
  if (!cluster) return false;
  let changed = false;
  const sets = s.taskSets ?? [];
  const live = liveServiceTasks(state, s);
  const isRunning = (t: TaskRecord) => t.task.lastStatus === "RUNNING";
  const isHealthy = (t: TaskRecord) => isRunning(t) && (!hasHealthChecks(t.containerDefs) || t.task.healthStatus === "HEALTHY");

  for (const t of state.tasksOfService(s.arn)) {
    if (t.task.lastStatus !== "STOPPED" || t.countedByService) continue;
    t.countedByService = true;
    counted.push(t);
    if (t.task.stopCode === "TaskFailedToStart") {
      s.consecutiveFailures = (s.consecutiveFailures ?? 0) + 1;
      s.launchBackoffUntil = app.clock.realNowMs() + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(6, s.consecutiveFailures - 1));
      addServiceEvent(s, now, `(service ${s.name}) (task ${t.id}) failed to start: ${t.task.stoppedReason ?? "unknown reason"}`);
      changed = true;
    } else if (t.task.stopCode === "EssentialContainerExited") {
      addServiceEvent(s, now, `(service ${s.name}) (task ${t.id}) stopped: ${t.task.stoppedReason ?? ""}`);
      changed = true;
    }
  }

  if (s.status === "DRAINING")
    for (const ts of sets)
      if (ts.status !== "DRAINING") {
        ts.status = "DRAINING";
        ts.updatedAt = now;
        changed = true;
      }

  const reasons = new Map<TaskRecord, string>();
  for (const t of live)
    if (isRunning(t) && t.task.healthStatus === "UNHEALTHY") {
      reasons.set(t, HEALTH_CHECK_STOP_REASON);
      addServiceEvent(s, now, `(service ${s.name}) (task ${t.id}) failed container health checks.`);
    }
  // Tasks of no task set (one deleted while the server was down) go too.
  for (const t of live) if (!sets.some((ts) => ts.id === t.deploymentId) && !reasons.has(t)) reasons.set(t, "Task set deleted");

  const backoff = s.launchBackoffUntil !== undefined && app.clock.realNowMs() < s.launchBackoffUntil;
  const budget = new VcpuBudget(state, state.fargateQuotas);
  const started: TaskRecord[] = [];
  let blocked = false;
  for (const ts of sets) {
    const mine = live.filter((t) => t.deploymentId === ts.id && !reasons.has(t));
    const want = computedDesiredCount(s, ts);
    if (mine.length > want) {
      const why = s.status === "DRAINING" ? "Service is being deleted" : ts.status === "DRAINING" ? "Task set deleted" : `Scaling activity initiated by (deployment ${ts.id})`;
      for (const t of [...mine].sort((a, b) => Number(isHealthy(a)) - Number(isHealthy(b))).slice(0, mine.length - want)) reasons.set(t, why);
    } else if (mine.length < want && s.status === "ACTIVE" && !backoff) {
      if (startTasks(deps, s, ts, want - mine.length, mine.length, budget, started)) blocked = true;
    }
  }
  // one verdict per pass over all task sets, so sets short at once do not repeat the event
  if (s.status === "ACTIVE" && !backoff && notePlacement(s, blocked, now)) changed = true;

  if (started.length) {
    app.store.commit(started.map((t) => state.putTask(t))).then(
      () => {
        for (const t of started) plane.launch(t);
      },
      (e) => console.error("[localfargate] could not record task set tasks:", e),
    );
    addServiceEvent(s, now, `(service ${s.name}) has started ${started.length} tasks: ${started.map((t) => `(task ${t.id})`).join(" ")}.`);
    changed = true;
  }
  if (reasons.size) {
    for (const [t, reason] of reasons) requestStop(t.task, "ServiceSchedulerInitiated", reason, now);
    const stopping = [...reasons.keys()];
    app.store.commit(stopping.map((t) => state.putTask(t))).then(
      () => {
        for (const [t, reason] of reasons) plane.stop(t, "ServiceSchedulerInitiated", reason);
      },
      (e) => console.error("[localfargate] could not record stopping tasks:", e),
    );
    addServiceEvent(s, now, `(service ${s.name}) has stopped ${stopping.length} running tasks: ${stopping.map((t) => `(task ${t.id})`).join(" ")}.`);
    changed = true;
  }

  // Stability, and DRAINING task sets whose tasks have all stopped.
  const stillLive = liveServiceTasks(state, s);
  let allSteady = true;
  for (const ts of sets) {
    const mine = stillLive.filter((t) => t.deploymentId === ts.id);
    const steady = mine.length === computedDesiredCount(s, ts) && mine.every(isHealthy);
    const status = steady ? "STEADY_STATE" : "STABILIZING";
    if (!steady) allSteady = false;
    if (ts.stabilityStatus !== status) {
      ts.stabilityStatus = status;
      ts.stabilityStatusAt = now;
      changed = true;
    }
  }
  const remaining = sets.filter((ts) => ts.status !== "DRAINING" || state.tasksOfService(s.arn).some((t) => t.deploymentId === ts.id && t.task.lastStatus !== "STOPPED"));
  if (remaining.length !== sets.length) {
    s.taskSets = remaining;
    changed = true;
  }
  // only an ACTIVE service's task sets become steady
  if ((!allSteady || s.status === "ACTIVE") && markSteady(s, allSteady, now)) changed = true;
  if (s.status === "DRAINING" && !state.tasksOfService(s.arn).some((t) => t.task.lastStatus !== "STOPPED")) {
    s.status = "INACTIVE";
    s.inactiveAt = now;
    s.taskSets = [];
    changed = true;
  }
  return changed;
}

/** Starts up to `count` tasks of a task set within the vCPU quota; true when the quota stopped it. */
function startTasks(deps: SchedulerDeps, s: ServiceRecord, ts: TaskSetRecord, count: number, existing: number, budget: VcpuBudget, started: TaskRecord[]): boolean {
  const { state, app } = deps;
  const cluster = state.clusters.get(s.clusterArn)!;
  const def = state.taskDefs.get(ts.taskDefinition);
  if (!def) return false;
  const tags = tagsForLaunch(def, cluster, s.propagateTags, s.enableECSManagedTags, [], s.tags, s.name);
  for (let i = 0; i < count; i++) {
    const t = newTask(state, {
      cluster,
      def,
      launchType: ts.launchType,
      capacityProvider: ts.capacityProviderStrategy?.length ? pickCapacityProvider(ts.capacityProviderStrategy, existing + i) : undefined,
      networkConfiguration: ts.networkConfiguration,
      platformVersion: ts.platformVersion,
      startedBy: ts.id,
      group: `service:${s.name}`,
      tags,
      now: app.clock.now(),
      kmsKeyArn: ts.kmsKeyArn,
      serviceArn: s.arn,
      deploymentId: ts.id,
      enableExecuteCommand: s.enableExecuteCommand,
    });
    if (!budget.tryCharge(t)) return true;
    started.push(t);
  }
  return false;
}
