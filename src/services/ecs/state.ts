/**
 * ECS state: clusters, task definitions, tasks and services, kept in memory and persisted in
 * the store (one entity per resource). The data plane (src/fargate) reads and changes the same
 * records through this object (`app.get("ecs")`).
 */
import type { FargateTask } from "../../fargate/port.ts";
import { randomBytes } from "node:crypto";
import type {
  Attachment,
  CapacityProviderStrategyItem,
  ClusterConfiguration,
  ClusterSetting,
  Container,
  DeploymentConfiguration,
  LoadBalancer,
  NetworkConfiguration,
  ServiceConnectConfiguration,
  ServiceRegistry,
  ServiceVolumeConfiguration,
  Tag,
  TaskDefinition,
  TaskOverride,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import { checkTags, mergeTags as mergeSharedTags, tagRecord, type TagRules } from "../../kernel/tags.ts";
import type { WriteOp, Store } from "../../store/store.ts";
import { IndexedMap } from "../../store/ordered-index.ts";
import { DEFAULT_FARGATE_VCPU_QUOTA, type FargateQuotas } from "./quotas.ts";
import { ServiceHistory } from "./service-history.ts";

export const KIND_CLUSTER = "ecs.cluster";
export const KIND_TASKDEF = "ecs.taskdef";
export const KIND_TASK = "ecs.task";
export const KIND_SERVICE = "ecs.service";

export interface ClusterRecord {
  arn: string;
  name: string;
  accountId: string;
  region: string;
  status: "ACTIVE" | "INACTIVE";
  /** stored with fargateEphemeralStorageKmsKeyId / kmsKeyId as key ARNs */
  configuration?: ClusterConfiguration;
  settings: ClusterSetting[];
  capacityProviders: string[];
  defaultCapacityProviderStrategy: CapacityProviderStrategyItem[];
  tags: Tag[];
  serviceConnectDefaults?: { namespace?: string };
  createdAt: Date;
}

export interface TaskDefRecord {
  arn: string;
  family: string;
  revision: number;
  accountId: string;
  region: string;
  /** the TaskDefinition as DescribeTaskDefinition returns it (without tags) */
  def: TaskDefinition;
  tags: Tag[];
  /** DeleteTaskDefinitions: DELETE_IN_PROGRESS, then gone */
  deleted?: boolean;
}

export type { TaskStorageRecord } from "../../fargate/port.ts";

/** ECS's task record: what the data plane runs (FargateTask) and what only the control plane keeps. */
export interface TaskRecord extends FargateTask {
  tags: Tag[];
  networkConfiguration?: NetworkConfiguration;
  serviceArn?: string;
  deploymentId?: string;
  /** the service scheduler has accounted for this task's stop */
  countedByService?: boolean;
}

export interface DeploymentRecord {
  id: string;
  status: "PRIMARY" | "ACTIVE" | "INACTIVE";
  taskDefinition: string;
  desiredCount: number;
  failedTasks: number;
  createdAt: Date;
  updatedAt: Date;
  launchType?: string;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  platformVersion: string;
  networkConfiguration?: NetworkConfiguration;
  rolloutState: "COMPLETED" | "FAILED" | "IN_PROGRESS";
  rolloutStateReason: string;
  /** cluster key at deployment creation (ARN), null = Fargate-owned key */
  kmsKeyArn: string | null;
  /** the service revision this deployment runs (service-history.ts) */
  serviceRevisionArn?: string;
  /** as the service had them when the deployment was made (service-attachments.ts) */
  serviceConnectConfiguration?: ServiceConnectConfiguration;
  volumeConfigurations?: ServiceVolumeConfiguration[];
}

export interface ServiceEventRecord {
  id: string;
  createdAt: Date;
  message: string;
}

export interface ServiceRecord {
  arn: string;
  name: string;
  accountId: string;
  region: string;
  clusterArn: string;
  clusterName: string;
  status: "ACTIVE" | "DRAINING" | "INACTIVE";
  desiredCount: number;
  taskDefinition: string;
  launchType?: string;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  platformVersion: string;
  networkConfiguration?: NetworkConfiguration;
  deploymentConfiguration: DeploymentConfiguration;
  deployments: DeploymentRecord[];
  events: ServiceEventRecord[];
  tags: Tag[];
  propagateTags?: string;
  enableECSManagedTags: boolean;
  enableExecuteCommand: boolean;
  createdAt: Date;
  createdBy: string;
  /** true once the steady-state event has been written for the current rollout */
  steady: boolean;
  /** real-time ms before which the scheduler does not launch again (back-off after failures) */
  launchBackoffUntil?: number;
  consecutiveFailures?: number;
  /** the scheduler could not place a task for the vCPU quota and has said so in an event */
  quotaBlocked?: boolean;
  /** when that event was last written (service clock): it is repeated every six hours (placement-events.ts) */
  quotaEventAt?: Date;
  deletedAt?: Date;
  /** when the service became INACTIVE (service clock): it is forgotten INACTIVE_SERVICE_RETENTION_MS later */
  inactiveAt?: Date;
  /** ECS (the default, rolled by deployments) or EXTERNAL (rolled by task sets, task-sets.ts) */
  deploymentController?: "ECS" | "EXTERNAL";
  /** an EXTERNAL service's task sets, newest first (a DRAINING one until its tasks have stopped) */
  taskSets?: TaskSetRecord[];
  /** kept and shown back; nothing is balanced, registered or made here (service-attachments.ts) */
  loadBalancers?: LoadBalancer[];
  serviceRegistries?: ServiceRegistry[];
  serviceConnectConfiguration?: ServiceConnectConfiguration;
  volumeConfigurations?: ServiceVolumeConfiguration[];
}

/** A task set of an EXTERNAL service: its tasks carry its id as deploymentId and startedBy. */
export interface TaskSetRecord {
  id: string;
  arn: string;
  status: "PRIMARY" | "ACTIVE" | "DRAINING";
  externalId?: string;
  taskDefinition: string;
  launchType?: string;
  capacityProviderStrategy?: CapacityProviderStrategyItem[];
  platformVersion: string;
  networkConfiguration?: NetworkConfiguration;
  /** percent of the service's desiredCount */
  scale: number;
  stabilityStatus: "STEADY_STATE" | "STABILIZING";
  stabilityStatusAt: Date;
  createdAt: Date;
  updatedAt: Date;
  tags: Tag[];
  clientToken?: string;
  /** cluster key at creation (ARN), null = Fargate-owned key */
  kmsKeyArn: string | null;
}

export function hex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

export function clusterArn(region: string, account: string, name: string): string {
  return `arn:aws:ecs:${region}:${account}:cluster/${name}`;
}

export function taskDefArn(region: string, account: string, family: string, revision: number): string {
  return `arn:aws:ecs:${region}:${account}:task-definition/${family}:${revision}`;
}

export function taskArn(region: string, account: string, cluster: string, id: string): string {
  return `arn:aws:ecs:${region}:${account}:task/${cluster}/${id}`;
}

export function serviceArn(region: string, account: string, cluster: string, name: string): string {
  return `arn:aws:ecs:${region}:${account}:service/${cluster}/${name}`;
}

/** Parses arn:aws:ecs:region:account:type/rest */
export function parseEcsArn(arn: string): { region: string; account: string; type: string; rest: string } | undefined {
  const m = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{12}):([a-z-]+)\/(.+)$/.exec(arn);
  if (!m) return undefined;
  return { region: m[1], account: m[2], type: m[3], rest: m[4] };
}

export const CLUSTER_NAME = /^[a-zA-Z0-9_-]{1,255}$/;

function owned<T extends { accountId: string; region: string }>(r: T | undefined, region: string, account: string): T | undefined {
  return r && r.accountId === account && r.region === region ? r : undefined;
}

/** The scope account-wide ECS lists are confined to: the caller's account in the request's region. */
export function ecsScope(accountId: string, region: string): string {
  return `${accountId}|${region}`;
}

/** Orders task definitions by family, then revision (numerically); "\0" sorts a family before any longer one. */
export function taskDefKey(family: string, revision: number): string {
  return `${family}\u0000${String(revision).padStart(10, "0")}`;
}

/** Which Fargate vCPU quota a task counts against. */
export function fargateCapacity(t: TaskRecord): "FARGATE" | "FARGATE_SPOT" {
  return t.task.capacityProviderName === "FARGATE_SPOT" ? "FARGATE_SPOT" : "FARGATE";
}

/** Orders tasks by creation, then ARN. */
export function taskKey(t: TaskRecord): string {
  return `${String(t.task.createdAt?.getTime() ?? 0).padStart(15, "0")}|${t.arn}`;
}

/**
 * The ordered indexes the List operations page through. A record's scope may only change by
 * replacing it through `set` (the put* methods); fields that change in place (a task's
 * desiredStatus, a service's status) are filtered while paging instead.
 */
const clusterIndexes = {
  /** ACTIVE clusters per account and region, by ARN (ListClusters) */
  active: { scope: (c: ClusterRecord) => (c.status === "ACTIVE" ? ecsScope(c.accountId, c.region) : undefined), key: (c: ClusterRecord) => c.arn },
};
const taskDefIndexes = {
  /** per account, region and status (ACTIVE / INACTIVE), by family and revision (ListTaskDefinitions) */
  byStatus: {
    scope: (d: TaskDefRecord) => (d.deleted ? undefined : `${ecsScope(d.accountId, d.region)}|${d.def.status}`),
    key: (d: TaskDefRecord) => taskDefKey(d.family, d.revision),
  },
  /** every revision not deleted, per account and region (ListTaskDefinitionFamilies, latest ACTIVE revision) */
  all: { scope: (d: TaskDefRecord) => (d.deleted ? undefined : ecsScope(d.accountId, d.region)), key: (d: TaskDefRecord) => taskDefKey(d.family, d.revision) },
  /** every revision still recorded, deleted ones included (the next revision number) */
  revisions: { scope: (d: TaskDefRecord) => ecsScope(d.accountId, d.region), key: (d: TaskDefRecord) => taskDefKey(d.family, d.revision) },
};
const taskIndexes = {
  /** per cluster, by creation (ListTasks, the cluster's counts) */
  byCluster: { scope: (t: TaskRecord) => t.clusterArn, key: taskKey },
  /** per service (the service scheduler's look at its tasks) */
  byService: { scope: (t: TaskRecord) => t.serviceArn, key: taskKey },
  /**
   * tasks not yet STOPPED per account, region and Fargate capacity (the vCPU quotas); a task's
   * stop is persisted through putTask, which re-files it
   */
  live: { scope: (t: TaskRecord) => (t.task.lastStatus === "STOPPED" ? undefined : `${ecsScope(t.accountId, t.region)}|${fargateCapacity(t)}`), key: taskKey },
};
const serviceIndexes = {
  /** per cluster, by ARN (ListServices) */
  byCluster: { scope: (s: ServiceRecord) => s.clusterArn, key: (s: ServiceRecord) => s.arn },
};

export class EcsState {
  readonly clusters = new IndexedMap<string, ClusterRecord, keyof typeof clusterIndexes>(clusterIndexes);
  readonly taskDefs = new IndexedMap<string, TaskDefRecord, keyof typeof taskDefIndexes>(taskDefIndexes);
  readonly tasks = new IndexedMap<string, TaskRecord, keyof typeof taskIndexes>(taskIndexes);
  readonly services = new IndexedMap<string, ServiceRecord, keyof typeof serviceIndexes>(serviceIndexes);
  /** vCPU quotas per account and Region (set from the start options) */
  fargateQuotas: FargateQuotas = { FARGATE: DEFAULT_FARGATE_VCPU_QUOTA, FARGATE_SPOT: DEFAULT_FARGATE_VCPU_QUOTA };
  /** metadata token → task ARN */
  readonly byToken = new Map<string, string>();
  /** called after a task changes state (the data plane's scheduler listens) */
  onTaskChange: ((t: TaskRecord) => void)[] = [];
  /** service revisions and service deployments */
  readonly history: ServiceHistory;

  constructor(readonly store: Store) {
    this.history = new ServiceHistory(store);
    for (const c of store.all<ClusterRecord>(KIND_CLUSTER)) this.clusters.set(c.arn, c);
    for (const d of store.all<TaskDefRecord>(KIND_TASKDEF)) this.taskDefs.set(d.arn, d);
    for (const t of store.all<TaskRecord>(KIND_TASK)) {
      this.tasks.set(t.arn, t);
      this.byToken.set(t.metadataToken, t.arn);
    }
    for (const s of store.all<ServiceRecord>(KIND_SERVICE)) this.services.set(s.arn, s);
  }

  putCluster(c: ClusterRecord): WriteOp {
    this.clusters.set(c.arn, c);
    return this.store.put(KIND_CLUSTER, c.arn, c);
  }

  putTaskDef(d: TaskDefRecord): WriteOp {
    this.taskDefs.set(d.arn, d);
    return this.store.put(KIND_TASKDEF, d.arn, d);
  }

  delTaskDef(arn: string): WriteOp {
    this.taskDefs.delete(arn);
    return this.store.del(KIND_TASKDEF, arn);
  }

  putTask(t: TaskRecord): WriteOp {
    this.tasks.set(t.arn, t);
    this.byToken.set(t.metadataToken, t.arn);
    return this.store.put(KIND_TASK, t.arn, t);
  }

  /** Writes a task record without touching the live one (a change that applies once committed). */
  taskWrite(t: TaskRecord): WriteOp {
    return this.store.put(KIND_TASK, t.arn, t);
  }

  delTask(arn: string): WriteOp {
    const t = this.tasks.get(arn);
    if (t) this.byToken.delete(t.metadataToken);
    this.tasks.delete(arn);
    return this.store.del(KIND_TASK, arn);
  }

  putService(s: ServiceRecord): WriteOp {
    this.services.set(s.arn, s);
    return this.store.put(KIND_SERVICE, s.arn, s);
  }

  delService(arn: string): WriteOp {
    this.services.delete(arn);
    return this.store.del(KIND_SERVICE, arn);
  }

  /** Persists a task now (background work: the data plane). */
  async saveTask(t: TaskRecord): Promise<void> {
    await this.store.commit([this.putTask(t)]);
  }

  async saveService(s: ServiceRecord): Promise<void> {
    await this.store.commit([this.putService(s)]);
  }

  /**
   * Request-path lookups by ARN: a record is found only from its own account and region, so an
   * ARN of another account or Region names nothing (docs/ecs-fargate.md, "Account and Region
   * isolation"). The maps themselves are for the data plane, which works on records it owns.
   */
  cluster(arn: string, region: string, account: string): ClusterRecord | undefined {
    return owned(this.clusters.get(arn), region, account);
  }

  taskDef(arn: string, region: string, account: string): TaskDefRecord | undefined {
    return owned(this.taskDefs.get(arn), region, account);
  }

  task(arn: string, region: string, account: string): TaskRecord | undefined {
    return owned(this.tasks.get(arn), region, account);
  }

  service(arn: string, region: string, account: string): ServiceRecord | undefined {
    return owned(this.services.get(arn), region, account);
  }

  /** The tags of the caller's resource with this ARN (for aws:ResourceTag conditions). */
  tagsOf(arn: string, region: string, account: string): Record<string, string> | undefined {
    const r = this.cluster(arn, region, account) ?? this.service(arn, region, account) ?? this.task(arn, region, account) ?? this.taskDef(arn, region, account);
    if (!r || !r.tags.length) return undefined;
    return tagMap(r.tags);
  }

  /**
   * Resolves a cluster name or ARN (default "default") to the ARN it names. A name is made into
   * an ARN of the caller's account and region; an ARN is returned as given (authorization sees
   * the account it names; the lookup then finds only the caller's own).
   */
  clusterArnFor(ref: string | undefined, region: string, account: string): string {
    const r = ref ?? "default";
    if (r.startsWith("arn:")) {
      const p = parseEcsArn(r);
      if (!p || p.type !== "cluster")
        throw new ServiceError("InvalidParameterException", `Invalid identifier: Identifier is for ${p?.type ?? "an unknown resource"}. Your identifier is for cluster.`, 400);
      return r;
    }
    if (!CLUSTER_NAME.test(r))
      throw new ServiceError(
        "InvalidParameterException",
        "Clusters can only contain letters, numbers, underscores and hyphens. Up to 255 letters (uppercase and lowercase), numbers, underscores and hyphens are allowed.",
        400,
      );
    return clusterArn(region, account, r);
  }

  /** An ACTIVE cluster of the caller's account and region, or ClusterNotFoundException. */
  activeCluster(ref: string | undefined, region: string, account: string): ClusterRecord {
    const c = this.cluster(this.clusterArnFor(ref, region, account), region, account);
    if (!c || c.status !== "ACTIVE") throw new ServiceError("ClusterNotFoundException", "Cluster not found.", 400);
    return c;
  }

  /** Resolves family, family:revision or an ARN to a task definition of the caller's account and region. */
  taskDefFor(ref: string, region: string, account: string): TaskDefRecord | undefined {
    if (ref.startsWith("arn:")) {
      const d = this.taskDef(ref, region, account);
      return d && !d.deleted ? d : undefined;
    }
    const m = /^([a-zA-Z0-9_-]{1,255})(?::(\d+))?$/.exec(ref);
    if (!m) return undefined;
    if (m[2]) {
      const d = this.taskDefs.get(taskDefArn(region, account, m[1], Number(m[2])));
      return d && !d.deleted ? d : undefined;
    }
    // the family's highest ACTIVE revision: the last entry before the next family
    const latest = this.taskDefs.index("byStatus").page(`${ecsScope(account, region)}|ACTIVE`, { after: `${m[1]}\u0001`, descending: true, limit: 1 }).items[0];
    return latest && latest.family === m[1] ? latest : undefined;
  }

  /** The revision number the next RegisterTaskDefinition of a family gets (numbers are never reused). */
  nextRevision(family: string, region: string, accountId: string): number {
    const last = this.taskDefs.index("revisions").page(ecsScope(accountId, region), { prefix: `${family}\u0000`, descending: true, limit: 1 }).items[0];
    return last ? last.revision + 1 : 1;
  }

  /** Resolves a task ID or ARN within a cluster (already the caller's). */
  taskFor(ref: string, cluster: ClusterRecord): TaskRecord | undefined {
    if (ref.startsWith("arn:")) {
      const t = this.task(ref, cluster.region, cluster.accountId);
      return t && t.clusterArn === cluster.arn ? t : undefined;
    }
    return this.tasks.get(taskArn(cluster.region, cluster.accountId, cluster.name, ref));
  }

  serviceFor(ref: string, cluster: ClusterRecord): ServiceRecord | undefined {
    const arn = ref.startsWith("arn:") ? ref : serviceArn(cluster.region, cluster.accountId, cluster.name, ref);
    const s = this.service(arn, cluster.region, cluster.accountId);
    return s && s.clusterArn === cluster.arn ? s : undefined;
  }

  tasksOfCluster(arn: string): TaskRecord[] {
    return this.tasks.index("byCluster").all(arn);
  }

  servicesOfCluster(arn: string): ServiceRecord[] {
    return this.services.index("byCluster").all(arn);
  }

  /** Tasks of an account in a region on one Fargate capacity that are not STOPPED. */
  liveTasks(accountId: string, region: string, capacity: "FARGATE" | "FARGATE_SPOT"): TaskRecord[] {
    return this.tasks
      .index("live")
      .all(`${ecsScope(accountId, region)}|${capacity}`)
      .filter((t) => t.task.lastStatus !== "STOPPED");
  }

  /** Every task of a service (stopped ones until they are forgotten). */
  tasksOfService(serviceArn: string): TaskRecord[] {
    return this.tasks.index("byService").all(serviceArn);
  }

  emitTaskChange(t: TaskRecord): void {
    for (const f of this.onTaskChange) {
      try {
        f(t);
      } catch (e) {
        console.error("[localfargate] task change listener failed:", e);
      }
    }
  }
}

export type { Attachment, Container, TaskOverride };

const invalidTag = (message: string) => () => new ServiceError("InvalidParameterException", message, 400);

/** ECS's tag dialect on the shared tag rules (src/kernel/tags.ts). */
export const ECS_TAG_RULES: TagRules<Tag> = {
  shape: { key: (t) => t.key ?? "", value: (t) => t.value, make: (key, value) => ({ key, value: value ?? "" }) },
  max: 50,
  requestCount: "first",
  errors: {
    tooMany: invalidTag("Too many tags: a resource can have at most 50 tags."),
    emptyKey: invalidTag("Tag keys must not be empty."),
    keyTooLong: invalidTag("Tag keys can be at most 128 characters."),
    valueTooLong: invalidTag("Tag values can be at most 256 characters."),
    reserved: invalidTag("Tag keys beginning with 'aws:' are reserved."),
  },
};

/** Tag validation shared by every taggable resource. */
export function validateTags(tags: Tag[] | undefined): void {
  checkTags(ECS_TAG_RULES, tags);
}

export function mergeTags(existing: Tag[], add: Tag[]): Tag[] {
  return mergeSharedTags(ECS_TAG_RULES, existing, add);
}

export function tagMap(tags: Tag[]): Record<string, string> {
  return tagRecord(ECS_TAG_RULES, tags);
}
