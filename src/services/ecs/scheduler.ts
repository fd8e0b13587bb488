/**
 * The service scheduler. For each service: keep desiredCount tasks of the PRIMARY deployment,
 * replace tasks that stopped, and roll older deployments away within the deployment
 * configuration: at most floor(desired × maximumPercent / 100) tasks at once (RUNNING + PENDING),
 * and an old task is stopped only while at least ceil(desired × minimumHealthyPercent / 100)
 * tasks stay healthy. A task whose containers have health checks counts as healthy once it is
 * RUNNING and its healthStatus is HEALTHY; a task without health checks as soon as it is RUNNING
 * (AWS waits up to 40 s there; docs/ecs-fargate.md#health-checks). A RUNNING task whose health
 * turns UNHEALTHY is stopped ("Task failed container health checks") and replaced. Each service
 * task uses the key recorded on its deployment.
 */
import type { AppContext } from "../../kernel/context.ts";
import type { TaskPlane } from "../../fargate/port.ts";
import type { DeploymentRecord, EcsState, ServiceRecord, TaskRecord } from "./state.ts";
import { addServiceEvent, liveServiceTasks, markSteady } from "./services.ts";
import { newTask, pickCapacityProvider, tagsForLaunch } from "./tasks.ts";
import { VcpuBudget } from "./quotas.ts";
import { notePlacement } from "./placement-events.ts";
import { hasHealthChecks, requestStop } from "./task-lifecycle.ts";
import { accountIsClosed } from "./closed-accounts.ts";
import { reconcileExternalService } from "./task-set-scheduler.ts";
import { breakerSettled, checkCircuitBreaker, deploymentCompleted, isDeploymentFailure, noteFailure, serviceDeleted } from "./deployments.ts";

/** What the service scheduler works with: ECS's records, the app (clock, store) and the data plane. */
export interface SchedulerDeps {
  readonly app: AppContext;
  readonly state: EcsState;
  readonly plane: TaskPlane<TaskRecord>;
}

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 60_000;
/** The stopped reason of a service task whose essential container failed its health checks. */
export const HEALTH_CHECK_STOP_REASON = "Task failed container health checks";

function shortId(t: TaskRecord): string {
  return t.id;
}

export async function reconcileServices(deps: SchedulerDeps): Promise<void> {
  const { state } = deps;
  for (const s of [...state.services.values()]) {
    // a closed account's services start nothing (closed-accounts.ts)
    if (s.status === "INACTIVE" || accountIsClosed(deps.app, s.accountId)) continue;
    const counted: TaskRecord[] = [];
    const changed = s.deploymentController === "EXTERNAL" ? reconcileExternalService(deps, s, counted) : reconcileService(deps, s, counted);
    // one transaction: a service rolling back or gone INACTIVE, its service deployments, and the
    // stopped tasks it counted (so a restart does not count them again) agree after a crash
    const ops = [...(changed ? [state.putService(s)] : []), ...counted.map((t) => state.putTask(t)), ...state.history.changedWrites()];
    if (ops.length) await state.store.commit(ops);
  }
}

/** Returns true when the service record changed; `counted` gets the stopped tasks it accounted for. */
export function reconcileService(deps: SchedulerDeps, s: ServiceRecord, counted: TaskRecord[] = []): boolean {
  const { state, app, plane } = deps;
  const now = app.clock.now();
  let changed = false;
  const cluster = state.clusters.get(s.clusterArn);
  if (!cluster || !s.deployments.some((d) => d.status === "PRIMARY")) return false;
  const live = liveServiceTasks(state, s);
  const byDeployment = (d: DeploymentRecord) => live.filter((t) => t.deploymentId === d.id);
  const isRunning = (t: TaskRecord) => t.task.lastStatus === "RUNNING";
  const isHealthy = (t: TaskRecord) => isRunning(t) && (!hasHealthChecks(t.containerDefs) || t.task.healthStatus === "HEALTHY");

  // Count failures: tasks of this service that stopped before reaching RUNNING since last look.
  for (const t of state.tasksOfService(s.arn)) {
    if (t.task.lastStatus !== "STOPPED" || t.countedByService) continue;
    t.countedByService = true;
    counted.push(t);
    const d = s.deployments.find((x) => x.id === t.deploymentId);
    // A failure of the deployment being rolled out counts towards its circuit breaker.
    if (d && d.status === "PRIMARY" && d.rolloutState === "IN_PROGRESS" && isDeploymentFailure(t, HEALTH_CHECK_STOP_REASON)) {
      d.failedTasks++;
      noteFailure(state.history, s, d, now);
      changed = true;
    }
    if (t.task.stopCode === "TaskFailedToStart") {
      s.consecutiveFailures = (s.consecutiveFailures ?? 0) + 1;
      s.launchBackoffUntil = app.clock.realNowMs() + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(6, s.consecutiveFailures - 1));
      addServiceEvent(s, now, `(service ${s.name}) (task ${shortId(t)}) failed to start: ${t.task.stoppedReason ?? "unknown reason"}`);
      changed = true;
    } else if (t.task.stopCode === "EssentialContainerExited") {
      addServiceEvent(s, now, `(service ${s.name}) (task ${shortId(t)}) stopped: ${t.task.stoppedReason ?? ""}`);
      changed = true;
    }
  }

  if (checkCircuitBreaker(state, state.history, s, now)) changed = true;
  // a rollback makes a new PRIMARY deployment
  const primary = s.deployments.find((d) => d.status === "PRIMARY")!;
  const desired = s.desiredCount;
  const cfg = s.deploymentConfiguration;
  const maxTotal = Math.floor((desired * (cfg.maximumPercent ?? 200)) / 100);
  const minHealthy = Math.ceil((desired * (cfg.minimumHealthyPercent ?? 100)) / 100);
  const primaryTasks = byDeployment(primary);
  const oldTasks = live.filter((t) => t.deploymentId !== primary.id);

  // 0. Tasks that failed their container health checks are stopped (and replaced below, once gone).
  const toStop: TaskRecord[] = [];
  const reasons = new Map<TaskRecord, string>();
  for (const t of live) {
    if (t.task.desiredStatus === "RUNNING" && isRunning(t) && t.task.healthStatus === "UNHEALTHY") {
      toStop.push(t);
      reasons.set(t, HEALTH_CHECK_STOP_REASON);
      addServiceEvent(s, now, `(service ${s.name}) (task ${shortId(t)}) failed container health checks.`);
    }
  }

  // 1. Scale the primary deployment down when it has more than desired (no health floor: the user asked).
  if (primaryTasks.length > desired) {
    const excess = [...primaryTasks]
      .filter((t) => !toStop.includes(t))
      .sort((a, b) => Number(isHealthy(a)) - Number(isHealthy(b)))
      .slice(0, Math.max(0, primaryTasks.length - desired - toStop.filter((t) => t.deploymentId === primary.id).length));
    toStop.push(...excess);
  }

  // 2. Start primary tasks up to desired, within maximumPercent (counting old tasks still alive).
  const startable = Math.max(0, Math.min(desired - primaryTasks.length, Math.max(maxTotal, desired) - live.length));
  const backoff = s.launchBackoffUntil !== undefined && app.clock.realNowMs() < s.launchBackoffUntil;
  const started: TaskRecord[] = [];
  let blocked = false;
  // a deployment the circuit breaker failed (without rollback) launches no more tasks
  if (s.status === "ACTIVE" && !backoff && primary.rolloutState !== "FAILED") {
    const def = state.taskDefs.get(primary.taskDefinition);
    if (def && startable > 0) {
      const serviceTags = s.tags;
      const tags = tagsForLaunch(def, cluster, s.propagateTags, s.enableECSManagedTags, [], serviceTags, s.name);
      const budget = new VcpuBudget(state, state.fargateQuotas);
      for (let i = 0; i < startable; i++) {
        const t = newTask(state, {
          cluster,
          def,
          launchType: primary.launchType,
          capacityProvider: primary.capacityProviderStrategy?.length ? pickCapacityProvider(primary.capacityProviderStrategy, primaryTasks.length + i) : undefined,
          networkConfiguration: primary.networkConfiguration,
          platformVersion: primary.platformVersion,
          startedBy: primary.id,
          group: `service:${s.name}`,
          tags,
          now,
          kmsKeyArn: primary.kmsKeyArn,
          serviceArn: s.arn,
          deploymentId: primary.id,
          enableExecuteCommand: s.enableExecuteCommand,
        });
        if (!budget.tryCharge(t)) {
          // Over the account's Fargate vCPU quota: try again when a task stops (which pokes the scheduler).
          blocked = true;
          break;
        }
        started.push(t);
      }
    }
    // the quota's episode ends once the deployment has every task it wants, not when something else held a start back
    if ((blocked || primaryTasks.length + started.length >= desired) && notePlacement(s, blocked, now)) changed = true;
  }

  // 3. Stop old-deployment tasks: those not healthy cost no health; healthy ones only above the floor.
  const healthyNow = live.filter(isHealthy).length - toStop.filter(isHealthy).length;
  let spare = healthyNow - minHealthy;
  const oldSorted = [...oldTasks].filter((t) => !toStop.includes(t)).sort((a, b) => Number(isHealthy(a)) - Number(isHealthy(b)));
  for (const t of oldSorted) {
    if (!isHealthy(t)) toStop.push(t);
    else if (spare > 0 || s.status === "DRAINING") {
      toStop.push(t);
      spare--;
    }
  }
  if (s.status === "DRAINING") for (const t of primaryTasks) if (!toStop.includes(t)) toStop.push(t);

  if (started.length) {
    app.store.commit(started.map((t) => state.putTask(t))).then(
      () => {
        for (const t of started) plane.launch(t);
      },
      (e) => console.error("[localfargate] could not record service tasks:", e),
    );
    for (const t of started) state.tasks.set(t.arn, t);
    addServiceEvent(s, now, `(service ${s.name}) has started ${started.length} tasks: ${started.map((t) => `(task ${shortId(t)})`).join(" ")}.`);
    changed = true;
  }
  if (toStop.length) {
    // The stop is recorded first; the data plane acts on it once the record is committed.
    for (const t of toStop) {
      if (!reasons.has(t))
        reasons.set(t, s.status === "DRAINING" ? "Service is being deleted" : "Scaling activity initiated by (deployment " + (t.deploymentId ?? primary.id) + ")");
    }
    for (const [t, reason] of reasons) requestStop(t.task, "ServiceSchedulerInitiated", reason, now);
    app.store.commit(toStop.map((t) => state.putTask(t))).then(
      () => {
        for (const [t, reason] of reasons) plane.stop(t, "ServiceSchedulerInitiated", reason);
      },
      (e) => console.error("[localfargate] could not record stopping tasks:", e),
    );
    addServiceEvent(s, now, `(service ${s.name}) has stopped ${toStop.length} running tasks: ${toStop.map((t) => `(task ${shortId(t)})`).join(" ")}.`);
    changed = true;
  }

  // 4. Deployment bookkeeping.
  const stillLive = liveServiceTasks(state, s);
  for (const d of s.deployments) {
    if (d.status === "ACTIVE" && !stillLive.some((t) => t.deploymentId === d.id)) {
      d.status = "INACTIVE";
      d.updatedAt = now;
      changed = true;
    }
  }
  const before = s.deployments.length;
  s.deployments = s.deployments.filter((d) => d.status !== "INACTIVE");
  if (s.deployments.length !== before) changed = true;
  if (primary.desiredCount !== desired) {
    primary.desiredCount = desired;
    changed = true;
  }
  const primaryHealthy = stillLive.filter((t) => t.deploymentId === primary.id && isHealthy(t)).length;
  const primaryLive = stillLive.filter((t) => t.deploymentId === primary.id).length;
  const settled = breakerSettled(
    state.history,
    s,
    primary,
    stillLive.filter((t) => t.deploymentId === primary.id),
    app.clock.realNowMs(),
  );
  const complete = s.deployments.length === 1 && primaryHealthy === desired && primaryLive === desired && settled;
  if (complete && primary.rolloutState === "IN_PROGRESS") {
    primary.rolloutState = "COMPLETED";
    primary.rolloutStateReason = "ECS deployment " + primary.id + " completed.";
    primary.updatedAt = now;
    s.consecutiveFailures = 0;
    addServiceEvent(s, now, `(service ${s.name}) (deployment ${primary.id}) deployment completed.`);
    deploymentCompleted(state, state.history, s, primary, now);
    changed = true;
  }
  if (markSteady(s, complete, now)) changed = true;
  // A deleted service becomes INACTIVE once every one of its tasks has fully stopped.
  if (s.status === "DRAINING" && !state.tasksOfService(s.arn).some((t) => t.task.lastStatus !== "STOPPED")) {
    s.status = "INACTIVE";
    s.inactiveAt = now;
    serviceDeleted(state, state.history, s, now);
    for (const d of s.deployments) {
      d.status = "INACTIVE";
      d.updatedAt = now;
    }
    changed = true;
  }
  return changed;
}
