/** Tasks: RunTask, StopTask, DescribeTasks, ListTasks. The data plane (src/fargate) runs them. */
import { randomBytes } from "node:crypto";
import type {
  CapacityProviderStrategyItem,
  Container,
  ContainerDefinition,
  DescribeTasksRequest,
  DescribeTasksResponse,
  Failure,
  ListTasksRequest,
  ListTasksResponse,
  NetworkConfiguration,
  RunTaskRequest,
  RunTaskResponse,
  StopTaskRequest,
  StopTaskResponse,
  Tag,
  Task,
  TaskOverride,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { found, lookupCluster, type ClusterLookup } from "./lookup.ts";
import { ECS_SERVICE, passRoleChecks } from "./pass-role.ts";
import { checkVolumeConfigurations } from "./service-attachments.ts";
import { indexPage } from "./paging.ts";
import { VCPU_LIMIT_REASON, VcpuBudget } from "./quotas.ts";
import { requestStop } from "./task-lifecycle.ts";
import type { TaskPlane } from "../../fargate/port.ts";
import { checkEphemeralSize, fargateMemoryOptions, parseCpu, parseMemory } from "./task-definitions.ts";
import { type ClusterRecord, type EcsState, hex, type TaskDefRecord, type TaskRecord, taskArn, validateTags } from "./state.ts";

export const DEFAULT_PLATFORM_VERSION = "1.4.0";
export const STOPPED_RETENTION_MS = 60 * 60 * 1000;

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

export function resolvePlatformVersion(v: string | undefined): string {
  if (v === undefined || v === "LATEST" || v === DEFAULT_PLATFORM_VERSION) return DEFAULT_PLATFORM_VERSION;
  throw new ServiceError("PlatformUnknownException", `The specified platform version (${v}) doesn't exist.`, 400);
}

/** Checks a launch configuration shared by RunTask and CreateService. */
export function checkLaunch(
  cluster: ClusterRecord,
  def: TaskDefRecord,
  launchType: string | undefined,
  strategy: CapacityProviderStrategyItem[] | undefined,
  network: NetworkConfiguration | undefined,
): { launchType?: string; strategy?: CapacityProviderStrategyItem[] } {
  if (launchType && strategy?.length) throw invalid("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
  let lt = launchType;
  let cps = strategy?.length ? strategy : undefined;
  if (!lt && !cps) {
    if (cluster.defaultCapacityProviderStrategy.length) cps = cluster.defaultCapacityProviderStrategy;
    else lt = "EC2";
  }
  if (lt && lt !== "FARGATE") {
    if (lt === "EC2" || lt === "EXTERNAL" || lt === "MANAGED_INSTANCES") throw invalid("No Container Instances were found in your cluster.");
    throw invalid(`Invalid launch type '${lt}'.`);
  }
  if (cps) {
    for (const s of cps) {
      if (s.capacityProvider !== "FARGATE" && s.capacityProvider !== "FARGATE_SPOT")
        throw invalid(`The specified capacity provider '${s.capacityProvider}' is not supported: use FARGATE or FARGATE_SPOT.`);
      if (!cluster.capacityProviders.includes(s.capacityProvider)) {
        throw invalid(
          "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.",
        );
      }
    }
    if (!cps.some((s) => (s.weight ?? 0) > 0 || (s.base ?? 0) > 0))
      throw invalid("At least one capacity provider in a capacity provider strategy must have a weight greater than zero.");
  }
  const compat = def.def.compatibilities ?? [];
  if (!compat.includes("FARGATE")) throw new ServiceError("ClientException", "Task definition does not support launch_type FARGATE.", 400);
  const os = def.def.runtimePlatform?.operatingSystemFamily;
  if (os && os !== "LINUX")
    throw new ServiceError("PlatformTaskDefinitionIncompatibilityException", `localfargate runs Linux tasks only; the task definition asks for ${os}.`, 400);
  if (def.def.networkMode === "awsvpc") {
    const a = network?.awsvpcConfiguration;
    if (!a) throw invalid("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    if (!a.subnets?.length) throw invalid("subnets can not be empty.");
    if (a.subnets.length > 16) throw invalid("At most 16 subnets can be specified.");
    if ((a.securityGroups?.length ?? 0) > 5) throw invalid("At most 5 security groups can be specified.");
    if (a.assignPublicIp && !["ENABLED", "DISABLED"].includes(a.assignPublicIp)) throw invalid(`Invalid assignPublicIp value '${a.assignPublicIp}'.`);
  }
  return { launchType: lt, strategy: cps };
}

/** Picks a capacity provider for the n-th task of a launch: bases first, then by weight. */
export function pickCapacityProvider(strategy: CapacityProviderStrategyItem[], n: number): string {
  let remaining = n;
  for (const s of strategy) {
    const base = s.base ?? 0;
    if (remaining < base) return s.capacityProvider!;
    remaining -= base;
  }
  const weighted = strategy.filter((s) => (s.weight ?? 0) > 0);
  const total = weighted.reduce((a, s) => a + (s.weight ?? 0), 0);
  let slot = remaining % total;
  for (const s of weighted) {
    if (slot < (s.weight ?? 0)) return s.capacityProvider!;
    slot -= s.weight ?? 0;
  }
  return weighted[0].capacityProvider!;
}

export interface NewTaskParams {
  cluster: ClusterRecord;
  def: TaskDefRecord;
  launchType?: string;
  capacityProvider?: string;
  networkConfiguration?: NetworkConfiguration;
  overrides?: TaskOverride;
  platformVersion: string;
  startedBy?: string;
  group?: string;
  tags: Tag[];
  now: Date;
  kmsKeyArn: string | null;
  serviceArn?: string;
  deploymentId?: string;
  enableExecuteCommand?: boolean;
}

function randomIp(): string {
  const b = randomBytes(3);
  return `127.${1 + (b[0] % 254)}.${b[1]}.${1 + (b[2] % 254)}`;
}

function checkOverrides(def: TaskDefRecord, o: TaskOverride | undefined): void {
  if (!o) return;
  const names = new Set((def.def.containerDefinitions ?? []).map((c) => c.name));
  for (const c of o.containerOverrides ?? []) {
    if (!names.has(c.name)) throw invalid(`Override for container named ${c.name} is not a container in the TaskDefinition.`);
    if (c.environment) for (const e of c.environment) if (!e.name) throw invalid("Environment variable names in container overrides must not be empty.");
  }
  checkEphemeralSize(o.ephemeralStorage?.sizeInGiB, "overrides.ephemeralStorage");
  if (o.cpu !== undefined || o.memory !== undefined) {
    const cpu = parseCpu(o.cpu ?? def.def.cpu ?? "");
    const mem = parseMemory(o.memory ?? def.def.memory ?? "");
    if (cpu === undefined || mem === undefined || !fargateMemoryOptions(cpu).includes(mem)) {
      throw new ServiceError("ClientException", `No Fargate configuration exists for given values: ${o.cpu ?? def.def.cpu} CPU, ${o.memory ?? def.def.memory} memory.`, 400);
    }
  }
}

/** Container definitions with the task's overrides applied, as the runner starts them. */
export function effectiveContainers(def: TaskDefRecord, o: TaskOverride | undefined): ContainerDefinition[] {
  return (def.def.containerDefinitions ?? []).map((c) => {
    const ov = o?.containerOverrides?.find((x) => x.name === c.name);
    if (!ov) return c;
    const env = new Map((c.environment ?? []).map((e) => [e.name!, e.value ?? ""]));
    for (const e of ov.environment ?? []) env.set(e.name!, e.value ?? "");
    return { ...c, command: ov.command ?? c.command, environment: [...env].map(([name, value]) => ({ name, value })), cpu: ov.cpu ?? c.cpu, memory: ov.memory ?? c.memory };
  });
}

/** The task's roles as ARNs (a role named without an ARN is the task's account's). */
function launchRoles(accountId: string, taskRole: string | undefined, executionRole: string | undefined): Pick<TaskRecord, "taskRoleArn" | "executionRoleArn"> {
  const arn = (r: string) => (r.startsWith("arn:") ? r : `arn:aws:iam::${accountId}:role/${r}`);
  return { ...(taskRole ? { taskRoleArn: arn(taskRole) } : {}), ...(executionRole ? { executionRoleArn: arn(executionRole) } : {}) };
}

/** A new task record in PROVISIONING (RunTask and the service scheduler). */
export function newTask(state: EcsState, p: NewTaskParams): TaskRecord {
  const id = hex(16);
  const arn = taskArn(p.cluster.region, p.cluster.accountId, p.cluster.name, id);
  const size = p.overrides?.ephemeralStorage?.sizeInGiB ?? p.def.def.ephemeralStorage?.sizeInGiB ?? 20;
  const ip = randomIp();
  const eniId = `eni-${hex(9).slice(0, 17)}`;
  const attachmentId = crypto.randomUUID();
  const subnet = p.networkConfiguration?.awsvpcConfiguration?.subnets?.[0] ?? "subnet-localfargate";
  const mac = Array.from(randomBytes(6), (b, i) => (i === 0 ? (b & 0xfe) | 0x02 : b).toString(16).padStart(2, "0")).join(":");
  const containerDefs = effectiveContainers(p.def, p.overrides);
  const containers: Container[] = containerDefs.map((c) => ({
    containerArn: `arn:aws:ecs:${p.cluster.region}:${p.cluster.accountId}:container/${p.cluster.name}/${id}/${crypto.randomUUID()}`,
    taskArn: arn,
    name: c.name,
    image: c.image,
    lastStatus: "PENDING",
    networkInterfaces: [{ attachmentId, privateIpv4Address: ip }],
    healthStatus: "UNKNOWN",
    cpu: String(c.cpu ?? 0),
    memory: c.memory !== undefined ? String(c.memory) : undefined,
    memoryReservation: c.memoryReservation !== undefined ? String(c.memoryReservation) : undefined,
  }));
  const task: Task = {
    attachments: [
      {
        id: attachmentId,
        type: "ElasticNetworkInterface",
        status: "PRECREATED",
        details: [
          { name: "subnetId", value: subnet },
          { name: "networkInterfaceId", value: eniId },
          { name: "macAddress", value: mac },
          { name: "privateDnsName", value: `ip-${ip.replace(/\./g, "-")}.ec2.internal` },
          { name: "privateIPv4Address", value: ip },
        ],
      },
    ],
    attributes: [{ name: "ecs.cpu-architecture", value: process.arch === "arm64" ? "arm64" : "x86_64" }],
    availabilityZone: `${p.cluster.region}a`,
    capacityProviderName: p.capacityProvider,
    clusterArn: p.cluster.arn,
    connectivity: undefined,
    containers,
    cpu: p.overrides?.cpu ? String(parseCpu(p.overrides.cpu)) : p.def.def.cpu,
    createdAt: p.now,
    desiredStatus: "RUNNING",
    enableExecuteCommand: p.enableExecuteCommand ?? false,
    group: p.group ?? `family:${p.def.family}`,
    healthStatus: "UNKNOWN",
    lastStatus: "PROVISIONING",
    launchType: p.launchType as Task["launchType"],
    memory: p.overrides?.memory ? String(parseMemory(p.overrides.memory)) : p.def.def.memory,
    overrides: {
      ...p.overrides,
      containerOverrides: containerDefs.map((c) => p.overrides?.containerOverrides?.find((x) => x.name === c.name) ?? { name: c.name }),
      inferenceAcceleratorOverrides: p.overrides?.inferenceAcceleratorOverrides ?? [],
    },
    platformVersion: p.platformVersion,
    platformFamily: "Linux",
    startedBy: p.startedBy,
    taskArn: arn,
    taskDefinitionArn: p.def.arn,
    version: 1,
    ephemeralStorage: { sizeInGiB: size },
    fargateEphemeralStorage: p.kmsKeyArn ? { sizeInGiB: size, kmsKeyId: p.kmsKeyArn } : { sizeInGiB: size },
  };
  return {
    arn,
    id,
    accountId: p.cluster.accountId,
    region: p.cluster.region,
    clusterArn: p.cluster.arn,
    clusterName: p.cluster.name,
    task,
    tags: p.tags,
    containerDefs,
    networkConfiguration: p.networkConfiguration,
    serviceArn: p.serviceArn,
    deploymentId: p.deploymentId,
    kmsKeyArn: p.kmsKeyArn,
    metadataToken: randomBytes(16).toString("hex"),
    ...launchRoles(p.cluster.accountId, p.overrides?.taskRoleArn ?? p.def.def.taskRoleArn, p.overrides?.executionRoleArn ?? p.def.def.executionRoleArn),
    storage: {},
    privateIp: ip,
    eniId,
    macAddress: mac,
    subnetId: subnet,
  };
}

export function clusterKeyArn(c: ClusterRecord): string | null {
  return c.configuration?.managedStorageConfiguration?.fargateEphemeralStorageKmsKeyId ?? null;
}

export function taskOutput(t: TaskRecord, withTags: boolean): Task {
  const out: Task = structuredClone(t.task);
  if (withTags) out.tags = t.tags;
  return out;
}

function tagsForLaunch(
  def: TaskDefRecord,
  cluster: ClusterRecord,
  propagate: string | undefined,
  managed: boolean | undefined,
  own: Tag[] | undefined,
  serviceTags?: Tag[],
  serviceName?: string,
): Tag[] {
  const m = new Map<string, string>();
  if (propagate === "TASK_DEFINITION") for (const t of def.tags) m.set(t.key!, t.value ?? "");
  if (propagate === "SERVICE") for (const t of serviceTags ?? []) m.set(t.key!, t.value ?? "");
  for (const t of own ?? []) m.set(t.key!, t.value ?? "");
  if (managed) {
    m.set("aws:ecs:clusterName", cluster.name);
    if (serviceName) m.set("aws:ecs:serviceName", serviceName);
  }
  return [...m].map(([key, value]) => ({ key, value }));
}

export { tagsForLaunch };

interface ResolvedRunTask extends ClusterLookup {
  def: TaskDefRecord | undefined;
}

function runTaskOperation(state: EcsState, plane: TaskPlane<TaskRecord>) {
  return defineOperation<RunTaskRequest, RunTaskResponse, ResolvedRunTask>({
    resolve: function resolveRunTask(ctx, input) {
      return { ...lookupCluster(state, ctx, input.cluster), def: state.taskDefFor(input.taskDefinition!, ctx.region, ctx.principal.accountId) };
    },
    authorize: function authorizeRunTask(ctx, input, { arn, def }): AuthCheck[] {
      const run: AuthCheck = {
        action: "ecs:RunTask",
        resource:
          def?.arn ??
          (input.taskDefinition!.startsWith("arn:") ? input.taskDefinition! : `arn:aws:ecs:${ctx.region}:${ctx.principal.accountId}:task-definition/${input.taskDefinition}`),
        context: {
          "ecs:cluster": arn,
          "ecs:capacity-provider": input.capacityProviderStrategy?.length ? input.capacityProviderStrategy.map((s) => s.capacityProvider ?? "") : undefined,
          "aws:TagKeys": input.tags?.length ? input.tags.map((t) => t.key ?? "") : undefined,
        },
      };
      // Roles named in overrides replace the task definition's, so they are passed anew.
      return [
        run,
        ...passRoleChecks(ctx, [input.overrides?.taskRoleArn, input.overrides?.executionRoleArn]),
        // a managed EBS volume's infrastructure role is passed to ECS itself
        ...passRoleChecks(
          ctx,
          (input.volumeConfigurations ?? []).map((v) => v.managedEBSVolume?.roleArn),
          ECS_SERVICE,
        ),
      ];
    },
    handler: function runTask(ctx, input, resolved): RunTaskResponse {
      const cluster = found(resolved.cluster);
      const def = resolved.def;
      if (!def) throw new ServiceError("ClientException", "TaskDefinition not found.", 400);
      if (def.def.status !== "ACTIVE") throw new ServiceError("ClientException", "TaskDefinition is inactive", 400);
      const count = input.count ?? 1;
      if (!Number.isInteger(count) || count < 1 || count > 10) throw invalid("count must be between 1 and 10.");
      const launch = checkLaunch(cluster, def, input.launchType, input.capacityProviderStrategy, input.networkConfiguration);
      const platformVersion = resolvePlatformVersion(input.platformVersion);
      checkOverrides(def, input.overrides);
      checkVolumeConfigurations(input.volumeConfigurations, def.def);
      validateTags(input.tags);
      if (input.startedBy !== undefined && input.startedBy.length > 128) throw invalid("startedBy can be at most 128 characters.");
      if (input.group !== undefined && input.group.length > 255) throw invalid("group can be at most 255 characters.");
      if (input.propagateTags && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(input.propagateTags)) throw invalid(`Invalid propagateTags value '${input.propagateTags}'.`);
      if (input.propagateTags === "SERVICE") throw invalid("propagateTags SERVICE is only valid for tasks started by a service.");
      const tags = tagsForLaunch(def, cluster, input.propagateTags, input.enableECSManagedTags, input.tags);
      const kmsKeyArn = clusterKeyArn(cluster);
      const created: TaskRecord[] = [];
      const failures: Failure[] = [];
      const budget = new VcpuBudget(state, state.fargateQuotas);
      for (let i = 0; i < count; i++) {
        const t = newTask(state, {
          cluster,
          def,
          launchType: launch.launchType,
          capacityProvider: launch.strategy ? pickCapacityProvider(launch.strategy, i) : undefined,
          networkConfiguration: input.networkConfiguration,
          overrides: input.overrides,
          platformVersion,
          startedBy: input.startedBy,
          group: input.group,
          tags,
          now: ctx.now,
          kmsKeyArn,
          enableExecuteCommand: input.enableExecuteCommand,
        });
        // Over the account's Fargate vCPU quota: AWS answers 200 with the task in `failures`.
        if (!budget.tryCharge(t)) {
          failures.push({ reason: VCPU_LIMIT_REASON });
          continue;
        }
        ctx.writes.push(state.putTask(t));
        created.push(t);
      }
      const out: RunTaskResponse = { tasks: created.map((t) => taskOutput(t, true)), failures };
      // The data plane takes a task only once its record is committed: a call that fails starts nothing.
      ctx.afterCommit(() => {
        for (const t of created) plane.launch(t);
      });
      return out;
    },
  });
}

interface ResolvedStopTask extends ClusterLookup {
  /** the task, in the caller's ACTIVE cluster */
  task: TaskRecord | undefined;
  /** what authorization names: the task's ARN where it is known */
  resource: string;
}

function stopTaskOperation(state: EcsState, plane: TaskPlane<TaskRecord>) {
  return defineOperation<StopTaskRequest, StopTaskResponse, ResolvedStopTask>({
    resolve: function resolveStopTask(ctx, input) {
      const c = lookupCluster(state, ctx, input.cluster);
      const task = c.cluster.ok ? state.taskFor(input.task!, c.cluster.value) : undefined;
      let resource = task?.arn ?? "*";
      if (!task && c.arn) {
        // a cluster that is no longer ACTIVE still names its tasks for authorization
        const anyStatus = state.cluster(c.arn, ctx.region, ctx.principal.accountId);
        if (anyStatus) resource = state.taskFor(input.task!, anyStatus)?.arn ?? resource;
        else if (input.task!.startsWith("arn:")) resource = input.task!;
      }
      return { ...c, task, resource };
    },
    authorize: function authorizeStopTask(_ctx, _input, { arn, resource }): AuthCheck[] {
      return [{ action: "ecs:StopTask", resource, context: { "ecs:cluster": arn } }];
    },
    handler: function stopTask(ctx, input, resolved): StopTaskResponse {
      found(resolved.cluster);
      const t = resolved.task;
      if (!t) throw invalid("The referenced task was not found.");
      if (input.reason !== undefined && input.reason.length > 255) throw invalid("reason can be at most 255 characters.");
      const reason = input.reason ?? "Task stopped by user";
      // The stop is written from a copy; the live record (its runner's) changes only once committed.
      const stopping = structuredClone(t);
      if (!requestStop(stopping.task, "UserInitiated", reason, ctx.now)) return { task: taskOutput(t, true) };
      ctx.writes.push(state.taskWrite(stopping));
      ctx.afterCommit(() => plane.stop(t, "UserInitiated", reason));
      return { task: taskOutput(stopping, true) };
    },
  });
}

function describeTasksOperation(state: EcsState) {
  return defineOperation<DescribeTasksRequest, DescribeTasksResponse, ClusterLookup>({
    readOnly: true,
    resolve: function resolveDescribeTasks(ctx, input) {
      return lookupCluster(state, ctx, input.cluster);
    },
    authorize: function authorizeDescribeTasks(_ctx, _input, { arn }): AuthCheck[] {
      return [{ action: "ecs:DescribeTasks", resource: "*", context: { "ecs:cluster": arn } }];
    },
    handler: function describeTasks(_ctx, input, resolved): DescribeTasksResponse {
      const refs = input.tasks ?? [];
      if (refs.length === 0) throw invalid("Tasks cannot be empty.");
      if (refs.length > 100) throw invalid("The number of tasks must be 100 or fewer.");
      const cluster = found(resolved.cluster);
      const withTags = input.include?.includes("TAGS") ?? false;
      const out: DescribeTasksResponse = { tasks: [], failures: [] };
      for (const r of refs) {
        const t = state.taskFor(r, cluster);
        if (t) out.tasks!.push(taskOutput(t, withTags));
        else out.failures!.push({ arn: r.startsWith("arn:") ? r : taskArn(cluster.region, cluster.accountId, cluster.name, r), reason: "MISSING" });
      }
      return out;
    },
  });
}

function listTasksOperation(state: EcsState) {
  return defineOperation<ListTasksRequest, ListTasksResponse, ClusterLookup>({
    readOnly: true,
    resolve: function resolveListTasks(ctx, input) {
      return lookupCluster(state, ctx, input.cluster);
    },
    authorize: function authorizeListTasks(_ctx, _input, { arn }): AuthCheck[] {
      return [{ action: "ecs:ListTasks", resource: "*", context: { "ecs:cluster": arn } }];
    },
    handler: function listTasks(_ctx, input, resolved): ListTasksResponse {
      const cluster = found(resolved.cluster);
      if (input.family && input.serviceName) throw invalid("The family and serviceName parameters cannot be used together.");
      // daemons run on Amazon ECS Managed Instances only: no Fargate task belongs to one
      if ((input as { daemonName?: string }).daemonName !== undefined) return { taskArns: [] };
      const desired = input.desiredStatus ?? "RUNNING";
      if (!["RUNNING", "PENDING", "STOPPED"].includes(desired)) throw invalid(`Invalid desiredStatus '${desired}'.`);
      let svcArn: string | undefined;
      if (input.serviceName) {
        const s = state.serviceFor(input.serviceName, cluster);
        if (!s) throw new ServiceError("ServiceNotFoundException", "Service not found.", 400);
        svcArn = s.arn;
      }
      const p = indexPage(state.tasks.index("byCluster"), cluster.arn, input, (t) => t.arn, {
        filter: (t) =>
          t.task.desiredStatus === desired &&
          (!input.family || state.taskDefs.get(t.task.taskDefinitionArn!)?.family === input.family) &&
          (!svcArn || t.serviceArn === svcArn) &&
          (input.startedBy === undefined || t.task.startedBy === input.startedBy) &&
          (!input.launchType || (t.task.launchType ?? "FARGATE") === input.launchType),
      });
      return { taskArns: p.items, nextToken: p.nextToken };
    },
  });
}

export function taskOperations(state: EcsState, plane: TaskPlane<TaskRecord>) {
  return {
    RunTask: runTaskOperation(state, plane),
    StopTask: stopTaskOperation(state, plane),
    DescribeTasks: describeTasksOperation(state),
    ListTasks: listTasksOperation(state),
  };
}
