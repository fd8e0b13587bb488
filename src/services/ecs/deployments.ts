/**
 * Service deployments through their states
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html): each
 * CreateService, and each UpdateService that changes what the tasks run, makes a service revision
 * and a service deployment; the scheduler reports task failures, completion and deletion here.
 * The deployment circuit breaker
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html)
 * fails a deployment once as many of its tasks failed as the threshold, and with rollback (or on
 * StopServiceDeployment) starts an ECS deployment of the last completed revision.
 */
import type { DeploymentRecord, EcsState, ServiceRecord, TaskDefRecord, TaskRecord } from "./state.ts";
import type { WriteOp } from "../../store/store.ts";
import { addServiceEvent, liveServiceTasks, newDeploymentId } from "./services.ts";
import {
  circuitBreakerThreshold,
  serviceDeploymentArn,
  serviceRevisionArn,
  type ServiceDeploymentRecord,
  type ServiceHistory,
  type ServiceRevisionRecord,
  type SourceRevision,
} from "./service-history.ts";

export const CIRCUIT_BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start.";
export const BREAKER_ROLLBACK_REASON = "Service deployment rolled back because the circuit breaker threshold was exceeded.";
export const BREAKER_STOP_REASON = "Service deployment failed because the circuit breaker threshold was exceeded.";
export const STOP_ROLLBACK_REASON = "Service deployment rolled back because of a stop request.";
export const SUPERSEDED_REASON = "Service deployment stopped because a new service deployment started.";
export const SERVICE_DELETED_REASON = "Service deployment stopped because the service was deleted.";

/**
 * How long (real time) a task without health checks must stay RUNNING before a deployment the
 * circuit breaker watches counts it towards completion: a container that exits at once would
 * otherwise complete the deployment before it failed. localfargate's choice, documented in
 * docs/ecs-fargate.md#service-deployments.
 */
export const BREAKER_SETTLE_MS = 2000;
/** How long ECS shows a service's ended deployments (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/view-service-deployment.html). */
export const HISTORY_DAYS = 90;
/** When the scheduler first saw each task RUNNING (real-time ms). */
const firstSeenRunning = new WeakMap<TaskRecord, number>();

/**
 * Whether a deployment's tasks have settled: always, unless the circuit breaker watches it; then
 * each has been RUNNING for BREAKER_SETTLE_MS.
 */
export function breakerSettled(history: ServiceHistory, s: ServiceRecord, d: DeploymentRecord, tasks: TaskRecord[], realNowMs: number): boolean {
  const sd = history.byEcsDeployment(s.arn, d.id);
  const watched = sd && UNDER_WAY.has(sd.status) && sd.circuitBreaker.enabled;
  let settled = true;
  for (const t of tasks) {
    if (t.task.lastStatus !== "RUNNING") continue;
    const seen = firstSeenRunning.get(t) ?? realNowMs;
    firstSeenRunning.set(t, seen);
    if (realNowMs - seen < BREAKER_SETTLE_MS) settled = false;
  }
  return !watched || settled;
}

/** Statuses in which a service deployment still changes. */
const UNDER_WAY = new Set(["PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"]);

function taskCounts(state: EcsState, s: ServiceRecord, deploymentId: string | undefined): { running: number; pending: number } {
  let running = 0;
  let pending = 0;
  for (const t of liveServiceTasks(state, s)) {
    if (t.deploymentId !== deploymentId) continue;
    if (t.task.lastStatus === "RUNNING") running++;
    else pending++;
  }
  return { running, pending };
}

/** The live counts of the ECS deployment a service deployment is running now. */
export function currentTargetCounts(state: EcsState): (d: ServiceDeploymentRecord) => { running: number; pending: number } {
  return (d) => {
    const s = state.services.get(d.serviceArn);
    return s ? taskCounts(state, s, d.rollbackDeploymentId ?? d.ecsDeploymentId) : { running: 0, pending: 0 };
  };
}

function end(state: EcsState, history: ServiceHistory, d: ServiceDeploymentRecord, status: ServiceDeploymentRecord["status"], reason: string | undefined, now: Date): void {
  const counts = currentTargetCounts(state)(d);
  d.target.runningTaskCount = counts.running;
  d.target.pendingTaskCount = counts.pending;
  d.status = status;
  if (reason) d.statusReason = reason;
  d.updatedAt = now;
  if (status === "STOPPED") d.stoppedAt = now;
  else d.finishedAt = now;
  if (d.circuitBreaker.status === "MONITORING") d.circuitBreaker.status = "MONITORING_COMPLETE";
  history.touched(d);
}

/**
 * Records the revision an ECS deployment runs and its service deployment, from the deployments
 * live before it (`previous`); service deployments still under way stop. Returns the writes.
 */
export function recordServiceDeployment(
  state: EcsState,
  history: ServiceHistory,
  s: ServiceRecord,
  def: TaskDefRecord,
  deployment: DeploymentRecord,
  previous: DeploymentRecord[],
  now: Date,
): WriteOp[] {
  const revision: ServiceRevisionRecord = {
    arn: serviceRevisionArn(s.arn, deployment.id.slice("ecs-svc/".length)),
    accountId: s.accountId,
    region: s.region,
    serviceArn: s.arn,
    clusterArn: s.clusterArn,
    taskDefinition: deployment.taskDefinition,
    launchType: deployment.launchType,
    capacityProviderStrategy: deployment.capacityProviderStrategy,
    platformVersion: deployment.platformVersion,
    networkConfiguration: deployment.networkConfiguration,
    containerImages: (def.def.containerDefinitions ?? []).map((c) => ({ containerName: c.name, image: c.image })),
    kmsKeyArn: deployment.kmsKeyArn,
    createdAt: now,
  };
  if (s.loadBalancers?.length || s.serviceRegistries?.length || s.serviceConnectConfiguration || s.volumeConfigurations?.length)
    revision.attachments = {
      loadBalancers: s.loadBalancers,
      serviceRegistries: s.serviceRegistries,
      serviceConnectConfiguration: s.serviceConnectConfiguration,
      volumeConfigurations: s.volumeConfigurations,
    };
  deployment.serviceRevisionArn = revision.arn;
  const sources: SourceRevision[] = [];
  for (const p of previous) {
    if (!p.serviceRevisionArn) continue;
    const c = taskCounts(state, s, p.id);
    const known = sources.find((x) => x.arn === p.serviceRevisionArn);
    if (known) {
      known.requestedTaskCount += p.desiredCount;
      known.runningTaskCount += c.running;
      known.pendingTaskCount += c.pending;
    } else sources.push({ arn: p.serviceRevisionArn, requestedTaskCount: p.desiredCount, runningTaskCount: c.running, pendingTaskCount: c.pending });
  }
  const writes: WriteOp[] = [];
  for (const old of history.deploymentsOf(s.arn)) {
    if (!UNDER_WAY.has(old.status)) continue;
    end(state, history, old, "STOPPED", SUPERSEDED_REASON, now);
    writes.push(history.putDeployment(old));
  }
  const inUse = new Set(s.deployments.map((d) => d.serviceRevisionArn).filter((a): a is string => a !== undefined));
  const cutoff = new Date(now.getTime() - HISTORY_DAYS * 86_400_000);
  writes.push(...history.prune(s.arn, cutoff, history.lastCompleted(s.arn, s.createdAt), inUse, (d) => !UNDER_WAY.has(d.status)));
  const breaker = s.deploymentConfiguration.deploymentCircuitBreaker;
  const sd: ServiceDeploymentRecord = {
    arn: serviceDeploymentArn(s.arn),
    accountId: s.accountId,
    region: s.region,
    serviceArn: s.arn,
    clusterArn: s.clusterArn,
    ecsDeploymentId: deployment.id,
    status: "IN_PROGRESS",
    createdAt: now,
    startedAt: now,
    updatedAt: now,
    sourceRevisions: sources,
    targetRevisionArn: revision.arn,
    target: { requestedTaskCount: deployment.desiredCount },
    deploymentConfiguration: structuredClone(s.deploymentConfiguration),
    circuitBreaker: {
      enabled: breaker?.enable === true,
      rollback: breaker?.enable === true && breaker.rollback === true,
      failureCount: 0,
      threshold: circuitBreakerThreshold(deployment.desiredCount),
      status: breaker?.enable ? "MONITORING" : "DISABLED",
    },
  };
  writes.push(history.putRevision(revision), history.putDeployment(sd));
  return writes;
}

/** A desired-count change without a new deployment: the deployment under way asks for the new count. */
export function desiredCountChanged(history: ServiceHistory, s: ServiceRecord, primary: DeploymentRecord | undefined, now: Date): WriteOp[] {
  const sd = primary && history.byEcsDeployment(s.arn, primary.id);
  if (!sd || !UNDER_WAY.has(sd.status)) return [];
  sd.target.requestedTaskCount = s.desiredCount;
  sd.circuitBreaker.threshold = circuitBreakerThreshold(s.desiredCount);
  sd.updatedAt = now;
  return [history.putDeployment(sd)];
}

/** Whether a stopped task counts as a failure of its deployment (it never ran, its essential container exited, or it failed its health checks). */
export function isDeploymentFailure(t: TaskRecord, healthCheckReason: string): boolean {
  return t.task.stopCode === "TaskFailedToStart" || t.task.stopCode === "EssentialContainerExited" || t.task.stoppedReason === healthCheckReason;
}

/** Counts a failed task of the deployment being rolled out (DescribeServices `failedTasks` and the breaker's count). */
export function noteFailure(history: ServiceHistory, s: ServiceRecord, d: DeploymentRecord, now: Date): void {
  const sd = history.byEcsDeployment(s.arn, d.id);
  // a rollback's own failures are not the deployment's: its count stays what tripped the breaker
  if (!sd || !UNDER_WAY.has(sd.status) || sd.ecsDeploymentId !== d.id) return;
  sd.circuitBreaker.failureCount = d.failedTasks;
  sd.updatedAt = now;
  history.touched(sd);
}

/**
 * Starts an ECS deployment of a revision, making it the service's PRIMARY one; the deployments
 * before it become ACTIVE and the scheduler scales them in.
 */
function deployRevision(s: ServiceRecord, revision: ServiceRevisionRecord, desiredCount: number, now: Date): DeploymentRecord {
  for (const d of s.deployments)
    if (d.status === "PRIMARY") {
      d.status = "ACTIVE";
      d.updatedAt = now;
    }
  const d: DeploymentRecord = {
    id: newDeploymentId(),
    status: "PRIMARY",
    taskDefinition: revision.taskDefinition,
    desiredCount,
    failedTasks: 0,
    createdAt: now,
    updatedAt: now,
    launchType: revision.launchType,
    capacityProviderStrategy: revision.capacityProviderStrategy,
    platformVersion: revision.platformVersion,
    networkConfiguration: revision.networkConfiguration,
    rolloutState: "IN_PROGRESS",
    rolloutStateReason: "ECS deployment in progress.",
    kmsKeyArn: revision.kmsKeyArn,
    serviceRevisionArn: revision.arn,
  };
  s.deployments.unshift(d);
  s.taskDefinition = revision.taskDefinition;
  s.launchType = revision.launchType;
  s.capacityProviderStrategy = revision.capacityProviderStrategy;
  s.platformVersion = revision.platformVersion;
  s.networkConfiguration = revision.networkConfiguration;
  s.steady = false;
  s.consecutiveFailures = 0;
  s.launchBackoffUntil = undefined;
  return d;
}

/** Rolls a service deployment back to a revision: ROLLBACK_IN_PROGRESS and an ECS deployment of the revision. */
export function rollBack(history: ServiceHistory, s: ServiceRecord, sd: ServiceDeploymentRecord, revisionArn: string, reason: string, now: Date): DeploymentRecord | undefined {
  const revision = history.revisions.get(revisionArn);
  if (!revision) return undefined;
  const d = deployRevision(s, revision, s.desiredCount, now);
  sd.status = "ROLLBACK_IN_PROGRESS";
  sd.statusReason = reason;
  sd.rollback = { reason, startedAt: now, serviceRevisionArn: revision.arn };
  sd.rollbackDeploymentId = d.id;
  sd.updatedAt = now;
  history.touched(sd);
  addServiceEvent(s, now, `(service ${s.name}) rolling back to deployment ${revisionDeploymentId(revision.arn)}.`);
  return d;
}

/** The ECS deployment a revision was made for (its ID is the revision's). */
function revisionDeploymentId(revisionArn: string): string {
  return `ecs-svc/${revisionArn.split("/").pop()}`;
}

/** The revision StopServiceDeployment or the breaker rolls a deployment back to. */
export function rollbackTarget(history: ServiceHistory, s: ServiceRecord, sd: ServiceDeploymentRecord): string | undefined {
  const last = history.lastCompletedRevision(sd.serviceArn, s.createdAt);
  if (last && last !== sd.targetRevisionArn) return last;
  return sd.sourceRevisions.find((r) => r.arn !== sd.targetRevisionArn)?.arn;
}

/**
 * The circuit breaker, after the scheduler counted failures: the primary deployment fails once
 * its failures reach the threshold. Returns true when the service changed.
 */
export function checkCircuitBreaker(state: EcsState, history: ServiceHistory, s: ServiceRecord, now: Date): boolean {
  const primary = s.deployments.find((d) => d.status === "PRIMARY");
  if (s.status !== "ACTIVE" || !primary || primary.rolloutState !== "IN_PROGRESS") return false;
  const sd = history.byEcsDeployment(s.arn, primary.id);
  if (!sd || !UNDER_WAY.has(sd.status) || !sd.circuitBreaker.enabled) return false;
  const rollingBack = sd.rollbackDeploymentId === primary.id;
  const threshold = circuitBreakerThreshold(primary.desiredCount);
  if (!rollingBack) {
    sd.circuitBreaker.threshold = threshold;
    sd.circuitBreaker.failureCount = primary.failedTasks;
  }
  if (primary.failedTasks < threshold) return false;
  primary.rolloutState = "FAILED";
  primary.rolloutStateReason = CIRCUIT_BREAKER_REASON;
  primary.updatedAt = now;
  sd.circuitBreaker.status = "TRIGGERED";
  addServiceEvent(s, now, `(service ${s.name}) (deployment ${primary.id}) deployment failed: tasks failed to start.`);
  if (rollingBack) {
    end(state, history, sd, "ROLLBACK_FAILED", "Service deployment rollback failed because the circuit breaker threshold was exceeded.", now);
    return true;
  }
  const target = sd.circuitBreaker.rollback ? rollbackTarget(history, s, sd) : undefined;
  if (target && rollBack(history, s, sd, target, BREAKER_ROLLBACK_REASON, now)) {
    primary.rolloutStateReason = `ECS deployment circuit breaker: rolling back to deploymentId ${revisionDeploymentId(target)}.`;
    return true;
  }
  end(state, history, sd, "STOPPED", BREAKER_STOP_REASON, now);
  return true;
}

/** The scheduler saw the primary deployment complete. */
export function deploymentCompleted(state: EcsState, history: ServiceHistory, s: ServiceRecord, primary: DeploymentRecord, now: Date): void {
  const sd = history.byEcsDeployment(s.arn, primary.id);
  if (!sd || !UNDER_WAY.has(sd.status)) return;
  if (sd.rollbackDeploymentId === primary.id) end(state, history, sd, "ROLLBACK_SUCCESSFUL", "Service deployment rolled back successfully.", now);
  else if (sd.ecsDeploymentId === primary.id) end(state, history, sd, "SUCCESSFUL", undefined, now);
}

/** The service became INACTIVE: deployments still under way stop, and its revisions are deleted. */
export function serviceDeleted(state: EcsState, history: ServiceHistory, s: ServiceRecord, now: Date): void {
  for (const sd of history.deploymentsOf(s.arn)) if (UNDER_WAY.has(sd.status)) end(state, history, sd, "STOPPED", SERVICE_DELETED_REASON, now);
  history.dropRevisionsOf(s.arn);
}
