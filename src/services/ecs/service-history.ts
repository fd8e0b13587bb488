/**
 * A service's history: its service revisions (what each deployment runs), kept until the
 * service is deleted, and its service deployments (each change from some revisions to another),
 * kept after the deployment ends and after the service is deleted, as ECS keeps them
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html).
 * deployments.ts moves deployments through their states; service-deployment-operations.ts
 * answers the API.
 */
import { randomBytes } from "node:crypto";
import type {
  CapacityProviderStrategyItem,
  ContainerImage,
  DeploymentConfiguration,
  NetworkConfiguration,
  ServiceDeployment,
  ServiceDeploymentBrief,
  ServiceDeploymentStatus,
  ServiceRevision,
} from "@aws-sdk/client-ecs";
import type { Store, WriteOp } from "../../store/store.ts";
import { IndexedMap } from "../../store/ordered-index.ts";
import { ecsScope, parseEcsArn } from "./state.ts";
import type { ServiceAttachments } from "./service-attachments.ts";

export const KIND_SERVICE_REVISION = "ecs.serviceRevision";
export const KIND_SERVICE_DEPLOYMENT = "ecs.serviceDeployment";

export interface ServiceRevisionRecord {
  arn: string;
  accountId: string;
  region: string;
  serviceArn: string;
  clusterArn: string;
  taskDefinition: string;
  launchType?: string;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  platformVersion: string;
  networkConfiguration?: NetworkConfiguration;
  containerImages: ContainerImage[];
  /** the cluster's Fargate ephemeral storage key when the revision was made (ARN) */
  kmsKeyArn: string | null;
  createdAt: Date;
  /** the service's load balancers, registries, Service Connect and volume configurations then */
  attachments?: ServiceAttachments;
}

/** A revision a deployment moves away from, with its task counts when the deployment began. */
export interface SourceRevision {
  arn: string;
  requestedTaskCount: number;
  runningTaskCount: number;
  pendingTaskCount: number;
}

export interface ServiceDeploymentRecord {
  arn: string;
  accountId: string;
  region: string;
  serviceArn: string;
  clusterArn: string;
  /** the ECS deployment (DescribeServices `deployments[].id`) that runs the target revision */
  ecsDeploymentId: string;
  /** the ECS deployment that runs the rollback revision, once rolling back */
  rollbackDeploymentId?: string;
  status: ServiceDeploymentStatus;
  statusReason?: string;
  createdAt: Date;
  startedAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
  stoppedAt?: Date;
  sourceRevisions: SourceRevision[];
  targetRevisionArn: string;
  /** the target's requested count, and its counts frozen when the deployment ends */
  target: { requestedTaskCount: number; runningTaskCount?: number; pendingTaskCount?: number };
  deploymentConfiguration: DeploymentConfiguration;
  circuitBreaker: { enabled: boolean; rollback: boolean; failureCount: number; threshold: number; status: "TRIGGERED" | "MONITORING" | "MONITORING_COMPLETE" | "DISABLED" };
  rollback?: { reason: string; startedAt: Date; serviceRevisionArn: string };
}

/** Statuses of a deployment still under way (StopServiceDeployment stops only these). */
export const IN_PROGRESS_STATUSES: readonly ServiceDeploymentStatus[] = ["PENDING", "IN_PROGRESS"];

/** The service-revision ARN form: arn:aws:ecs:region:account:service-revision/cluster/service/id */
export function serviceRevisionArn(serviceArn: string, id: string): string {
  return serviceArn.replace(":service/", ":service-revision/") + "/" + id;
}

/** The service-deployment ARN form: arn:aws:ecs:region:account:service-deployment/cluster/service/id */
export function serviceDeploymentArn(serviceArn: string): string {
  const id = randomBytes(15).toString("base64url");
  return serviceArn.replace(":service/", ":service-deployment/") + "/" + id.slice(0, 8) + "-" + id.slice(8);
}

/** Whether an ARN has the form of a service deployment or revision ARN (any account). */
export function historyArnType(arn: string): "service-deployment" | "service-revision" | undefined {
  const p = parseEcsArn(arn);
  if (!p || p.rest.split("/").length !== 3) return undefined;
  return p.type === "service-deployment" || p.type === "service-revision" ? p.type : undefined;
}

/** The circuit breaker's failure threshold: half the desired count, at least 3 and at most 200. */
export function circuitBreakerThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));
}

/** Orders a service's deployments by creation (then ARN), newest last. */
function deploymentKey(d: ServiceDeploymentRecord): string {
  return `${String(d.createdAt.getTime()).padStart(15, "0")}|${d.arn}`;
}

const deploymentIndexes = {
  /** per service, by creation (ListServiceDeployments) */
  byService: { scope: (d: ServiceDeploymentRecord) => d.serviceArn, key: deploymentKey },
};
const revisionIndexes = {
  /** per account and Region, by ARN */
  byAccount: { scope: (r: ServiceRevisionRecord) => ecsScope(r.accountId, r.region), key: (r: ServiceRevisionRecord) => r.arn },
  /** per service, by ARN (deleted with the service) */
  byService: { scope: (r: ServiceRevisionRecord) => r.serviceArn, key: (r: ServiceRevisionRecord) => r.arn },
};

function owned<T extends { accountId: string; region: string }>(r: T | undefined, region: string, account: string): T | undefined {
  return r && r.accountId === account && r.region === region ? r : undefined;
}

export class ServiceHistory {
  readonly revisions = new IndexedMap<string, ServiceRevisionRecord, keyof typeof revisionIndexes>(revisionIndexes);
  readonly deployments = new IndexedMap<string, ServiceDeploymentRecord, keyof typeof deploymentIndexes>(deploymentIndexes);
  /** deployments changed by the scheduler since the last save */
  private readonly dirty = new Set<string>();
  /** revisions the scheduler deleted since the last save */
  private readonly deleted = new Set<string>();
  /** ECS deployment ID → the service deployment whose target or rollback it runs */
  private readonly byEcsId = new Map<string, ServiceDeploymentRecord>();

  constructor(readonly store: Store) {
    for (const r of store.all<ServiceRevisionRecord>(KIND_SERVICE_REVISION)) this.revisions.set(r.arn, r);
    for (const d of store.all<ServiceDeploymentRecord>(KIND_SERVICE_DEPLOYMENT)) this.remember(d);
  }

  private remember(d: ServiceDeploymentRecord): void {
    this.deployments.set(d.arn, d);
    this.byEcsId.set(d.ecsDeploymentId, d);
    if (d.rollbackDeploymentId) this.byEcsId.set(d.rollbackDeploymentId, d);
  }

  putRevision(r: ServiceRevisionRecord): WriteOp {
    this.revisions.set(r.arn, r);
    return this.store.put(KIND_SERVICE_REVISION, r.arn, r);
  }

  putDeployment(d: ServiceDeploymentRecord): WriteOp {
    this.remember(d);
    this.dirty.delete(d.arn);
    return this.store.put(KIND_SERVICE_DEPLOYMENT, d.arn, d);
  }

  /**
   * Deletes a deleted service's revisions, as ECS does
   * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-revision.html);
   * `changedWrites` gives its writes.
   */
  dropRevisionsOf(serviceArn: string): void {
    for (const r of this.revisions.index("byService").all(serviceArn)) {
      this.revisions.delete(r.arn);
      this.deleted.add(r.arn);
    }
  }

  /**
   * Forgets a service's ended deployments created before `cutoff` (ECS shows 90 days of them,
   * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/view-service-deployment.html),
   * except `keep`, and then the revisions none of the rest, nor `inUse`, names. Returns the writes.
   */
  prune(serviceArn: string, cutoff: Date, keep: ServiceDeploymentRecord | undefined, inUse: Set<string>, isEnded: (d: ServiceDeploymentRecord) => boolean): WriteOp[] {
    const ops: WriteOp[] = [];
    const named = new Set(inUse);
    for (const d of this.deploymentsOf(serviceArn)) {
      if (d !== keep && isEnded(d) && d.createdAt.getTime() < cutoff.getTime()) {
        this.deployments.delete(d.arn);
        this.dirty.delete(d.arn);
        for (const id of [d.ecsDeploymentId, d.rollbackDeploymentId]) if (id && this.byEcsId.get(id) === d) this.byEcsId.delete(id);
        ops.push(this.store.del(KIND_SERVICE_DEPLOYMENT, d.arn));
        continue;
      }
      named.add(d.targetRevisionArn);
      for (const src of d.sourceRevisions) named.add(src.arn);
      if (d.rollback) named.add(d.rollback.serviceRevisionArn);
    }
    for (const r of this.revisions.index("byService").all(serviceArn))
      if (!named.has(r.arn)) {
        this.revisions.delete(r.arn);
        ops.push(this.store.del(KIND_SERVICE_REVISION, r.arn));
      }
    return ops;
  }

  /** Marks a deployment the scheduler changed; `changedWrites` gives its writes. */
  touched(d: ServiceDeploymentRecord): void {
    this.remember(d);
    this.dirty.add(d.arn);
  }

  /** The writes of every deployment changed since the last save (for a request's commit). */
  changedWrites(): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const arn of [...this.deleted]) {
      ops.push(this.store.del(KIND_SERVICE_REVISION, arn));
      this.deleted.delete(arn);
    }
    for (const arn of [...this.dirty]) {
      const d = this.deployments.get(arn);
      if (d) ops.push(this.putDeployment(d));
      this.dirty.delete(arn);
    }
    return ops;
  }

  /** Request-path lookups: found only from the record's own account and Region. */
  revision(arn: string, region: string, account: string): ServiceRevisionRecord | undefined {
    return owned(this.revisions.get(arn), region, account);
  }

  deployment(arn: string, region: string, account: string): ServiceDeploymentRecord | undefined {
    return owned(this.deployments.get(arn), region, account);
  }

  /**
   * A service's deployments, oldest first; `since` (the service's createdAt) leaves out those of
   * an earlier service of the same name that was deleted.
   */
  deploymentsOf(serviceArn: string, since?: Date): ServiceDeploymentRecord[] {
    const all = this.deployments.index("byService").all(serviceArn);
    return since ? all.filter((d) => d.createdAt.getTime() >= since.getTime()) : all;
  }

  /** The service deployment whose target (or rollback) an ECS deployment runs. */
  byEcsDeployment(serviceArn: string, ecsDeploymentId: string): ServiceDeploymentRecord | undefined {
    const d = this.byEcsId.get(ecsDeploymentId);
    return d && d.serviceArn === serviceArn ? d : undefined;
  }

  /** The deployment a service last completed (SUCCESSFUL or ROLLBACK_SUCCESSFUL). */
  lastCompleted(serviceArn: string, since: Date): ServiceDeploymentRecord | undefined {
    const done = this.deploymentsOf(serviceArn, since).filter((d) => d.status === "SUCCESSFUL" || d.status === "ROLLBACK_SUCCESSFUL");
    return done.sort((a, b) => (a.finishedAt?.getTime() ?? 0) - (b.finishedAt?.getTime() ?? 0)).pop();
  }

  /** The revision a service last completed a deployment to (the circuit breaker rolls back to it). */
  lastCompletedRevision(serviceArn: string, since: Date): string | undefined {
    const last = this.lastCompleted(serviceArn, since);
    if (!last) return undefined;
    return last.status === "ROLLBACK_SUCCESSFUL" ? last.rollback?.serviceRevisionArn : last.targetRevisionArn;
  }
}

export function serviceRevisionOutput(r: ServiceRevisionRecord): ServiceRevision {
  return {
    serviceRevisionArn: r.arn,
    serviceArn: r.serviceArn,
    clusterArn: r.clusterArn,
    taskDefinition: r.taskDefinition,
    capacityProviderStrategy: r.capacityProviderStrategy,
    launchType: r.launchType as ServiceRevision["launchType"],
    platformVersion: r.platformVersion,
    platformFamily: "Linux",
    loadBalancers: r.attachments?.loadBalancers ?? [],
    serviceRegistries: r.attachments?.serviceRegistries ?? [],
    ...(r.attachments?.serviceConnectConfiguration ? { serviceConnectConfiguration: r.attachments.serviceConnectConfiguration } : {}),
    ...(r.attachments?.volumeConfigurations?.length ? { volumeConfigurations: r.attachments.volumeConfigurations } : {}),
    networkConfiguration: r.networkConfiguration,
    containerImages: r.containerImages,
    guardDutyEnabled: false,
    ...(r.kmsKeyArn ? { fargateEphemeralStorage: { kmsKeyId: r.kmsKeyArn } } : {}),
    createdAt: r.createdAt,
  };
}

/** Live task counts of the target while the deployment runs; frozen once it ended. */
export type TargetCounts = (d: ServiceDeploymentRecord) => { running: number; pending: number };

export function serviceDeploymentOutput(d: ServiceDeploymentRecord, counts: TargetCounts): ServiceDeployment {
  const live = d.target.runningTaskCount === undefined ? counts(d) : { running: d.target.runningTaskCount, pending: d.target.pendingTaskCount ?? 0 };
  return {
    serviceDeploymentArn: d.arn,
    serviceArn: d.serviceArn,
    clusterArn: d.clusterArn,
    createdAt: d.createdAt,
    startedAt: d.startedAt,
    finishedAt: d.finishedAt,
    stoppedAt: d.stoppedAt,
    updatedAt: d.updatedAt,
    sourceServiceRevisions: d.sourceRevisions.map((s) => ({ ...s })),
    targetServiceRevision: { arn: d.targetRevisionArn, requestedTaskCount: d.target.requestedTaskCount, runningTaskCount: live.running, pendingTaskCount: live.pending },
    status: d.status,
    statusReason: d.statusReason,
    deploymentConfiguration: d.deploymentConfiguration,
    rollback: d.rollback,
    deploymentCircuitBreaker: { status: d.circuitBreaker.status, failureCount: d.circuitBreaker.failureCount, threshold: d.circuitBreaker.threshold },
    alarms: d.deploymentConfiguration.alarms?.enable
      ? { status: d.finishedAt || d.stoppedAt ? "MONITORING_COMPLETE" : "MONITORING", alarmNames: d.deploymentConfiguration.alarms.alarmNames ?? [], triggeredAlarmNames: [] }
      : { status: "DISABLED" },
  };
}

export function serviceDeploymentBrief(d: ServiceDeploymentRecord): ServiceDeploymentBrief {
  return {
    serviceDeploymentArn: d.arn,
    serviceArn: d.serviceArn,
    clusterArn: d.clusterArn,
    startedAt: d.startedAt,
    createdAt: d.createdAt,
    finishedAt: d.finishedAt ?? d.stoppedAt,
    targetServiceRevisionArn: d.targetRevisionArn,
    status: d.status,
    statusReason: d.statusReason,
  };
}
