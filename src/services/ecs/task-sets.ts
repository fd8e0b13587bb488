/**
 * Services with the EXTERNAL deployment controller and their task sets
 * (docs/ecs-fargate.md#task-sets;
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-external.html).
 * The service holds only its name, desired count and deployment configuration; each task set
 * brings a task definition, launch and network configuration and a scale, a percent of the
 * service's desired count. task-set-scheduler.ts runs their tasks.
 */
import type {
  CreateServiceRequest,
  CreateServiceResponse,
  CreateTaskSetRequest,
  CreateTaskSetResponse,
  DeleteTaskSetRequest,
  DeleteTaskSetResponse,
  DescribeTaskSetsRequest,
  DescribeTaskSetsResponse,
  Scale,
  Service,
  TaskSet,
  UpdateServicePrimaryTaskSetRequest,
  UpdateServicePrimaryTaskSetResponse,
  UpdateServiceRequest,
  UpdateServiceResponse,
  UpdateTaskSetRequest,
  UpdateTaskSetResponse,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { found } from "./lookup.ts";
import {
  checkDeploymentConfiguration,
  checkDesiredCount,
  lookupService,
  newDeploymentId,
  serviceCheck,
  serviceOutput,
  taskCountsOf,
  type ServiceLookup,
  type ServicePlane,
} from "./services.ts";
import { checkLaunch, clusterKeyArn, resolvePlatformVersion } from "./tasks.ts";
import { type ClusterRecord, type EcsState, serviceArn, type ServiceRecord, type TaskSetRecord, validateTags } from "./state.ts";

/** Task sets a service may have at once, DRAINING ones included (AWS's limit). */
export const MAX_TASK_SETS_PER_SERVICE = 5;
const MAX_EXTERNAL_ID = 255;
const MAX_CLIENT_TOKEN = 36;

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

function taskSetNotFound(): ServiceError {
  return new ServiceError("TaskSetNotFoundException", "The specified task set does not exist.", 400);
}

export function taskSetArn(service: string, id: string): string {
  return service.replace(/:service\//, ":task-set/") + "/" + id;
}

/** The caller's task set (and its service) with this ARN; another account's or Region's names nothing. */
export function taskSetByArn(state: EcsState, arn: string, region: string, account: string): { s: ServiceRecord; ts: TaskSetRecord } | undefined {
  const m = /^(arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:)task-set\/([^/]+\/[^/]+)\/(.+)$/.exec(arn);
  if (!m) return undefined;
  const s = state.service(`${m[1]}service/${m[2]}`, region, account);
  const ts = s && s.status !== "INACTIVE" ? s.taskSets?.find((x) => x.id === m[3]) : undefined;
  return s && ts ? { s, ts } : undefined;
}

/** ceil(desiredCount × scale%), 0 for a task set that is draining or a service being deleted. */
export function computedDesiredCount(s: ServiceRecord, ts: TaskSetRecord): number {
  if (ts.status === "DRAINING" || s.status !== "ACTIVE") return 0;
  return Math.max(0, Math.ceil((s.desiredCount * ts.scale) / 100 - 1e-9));
}

export function taskSetOutput(state: EcsState, s: ServiceRecord, ts: TaskSetRecord, withTags: boolean): TaskSet {
  const { running, pending } = taskCountsOf(state, s, ts.id);
  return {
    id: ts.id,
    taskSetArn: ts.arn,
    serviceArn: s.arn,
    clusterArn: s.clusterArn,
    ...(ts.externalId !== undefined ? { externalId: ts.externalId } : {}),
    status: ts.status,
    taskDefinition: ts.taskDefinition,
    computedDesiredCount: computedDesiredCount(s, ts),
    pendingCount: pending,
    runningCount: running,
    createdAt: ts.createdAt,
    updatedAt: ts.updatedAt,
    launchType: ts.launchType as TaskSet["launchType"],
    capacityProviderStrategy: ts.capacityProviderStrategy,
    platformVersion: ts.platformVersion,
    platformFamily: "Linux",
    networkConfiguration: ts.networkConfiguration,
    loadBalancers: [],
    serviceRegistries: [],
    scale: { value: ts.scale, unit: "PERCENT" },
    stabilityStatus: ts.stabilityStatus,
    stabilityStatusAt: ts.stabilityStatusAt,
    ...(ts.kmsKeyArn ? { fargateEphemeralStorage: { kmsKeyId: ts.kmsKeyArn } } : {}),
    ...(withTags ? { tags: ts.tags } : {}),
  };
}

/**
 * What DescribeServices shows of an EXTERNAL service beyond the common fields: its task sets
 * instead of deployments, and the launch fields of its PRIMARY task set (none without one).
 */
export function externalServiceFields(state: EcsState, s: ServiceRecord): Partial<Service> {
  const primary = s.taskSets?.find((ts) => ts.status === "PRIMARY");
  return {
    deploymentController: { type: "EXTERNAL" },
    deployments: undefined,
    taskSets: (s.taskSets ?? []).map((ts) => taskSetOutput(state, s, ts, false)),
    taskDefinition: primary?.taskDefinition,
    launchType: primary?.launchType as Service["launchType"],
    capacityProviderStrategy: primary?.capacityProviderStrategy,
    platformVersion: primary?.platformVersion,
    networkConfiguration: primary?.networkConfiguration,
  };
}

/** The members an EXTERNAL service may not have: each task set brings its own. */
const TASK_SET_MEMBERS: [keyof CreateServiceRequest, string][] = [
  ["taskDefinition", "TaskDefinition"],
  ["launchType", "LaunchType"],
  ["capacityProviderStrategy", "CapacityProviderStrategy"],
  ["platformVersion", "PlatformVersion"],
  ["networkConfiguration", "NetworkConfiguration"],
  ["loadBalancers", "LoadBalancers"],
  ["serviceRegistries", "ServiceRegistries"],
];

/**
 * Service Connect and managed EBS volumes need the ECS deployment controller
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ebs-volumes.html).
 */
function refuseEcsOnlyMembers(input: Pick<CreateServiceRequest, "serviceConnectConfiguration" | "volumeConfigurations">): void {
  if (input.serviceConnectConfiguration) throw invalid("Service Connect is not supported for services with an EXTERNAL deployment controller.");
  if (isGiven(input.volumeConfigurations)) throw invalid("Amazon EBS volumes are not supported for services with an EXTERNAL deployment controller.");
}

/** A member given a value: an empty string or list counts as blank (as CloudFormation sends them). */
function isGiven(v: unknown): boolean {
  return v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0);
}

/** CreateService with deploymentController EXTERNAL: only the service itself, no tasks until a task set exists. */
export function createExternalService(state: EcsState, plane: ServicePlane, ctx: RequestContext, input: CreateServiceRequest, c: ClusterRecord): CreateServiceResponse {
  if (input.taskDefinition === "") throw invalid("Family should not be null or empty.");
  for (const [member, name] of TASK_SET_MEMBERS) if (isGiven(input[member])) throw invalid(`${name} must be blank.`);
  refuseEcsOnlyMembers(input);
  const desiredCount = input.desiredCount ?? 0;
  checkDesiredCount(desiredCount);
  const deploymentConfiguration = checkDeploymentConfiguration(input.deploymentConfiguration);
  validateTags(input.tags);
  if (input.propagateTags && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(input.propagateTags)) throw invalid(`Invalid propagateTags value '${input.propagateTags}'.`);
  const name = input.serviceName!;
  const arn = serviceArn(c.region, c.accountId, c.name, name);
  const existing = state.services.get(arn);
  if (existing && existing.status !== "INACTIVE") throw invalid("Creation of service was not idempotent.");
  const s: ServiceRecord = {
    arn,
    name,
    accountId: c.accountId,
    region: c.region,
    clusterArn: c.arn,
    clusterName: c.name,
    status: "ACTIVE",
    desiredCount,
    taskDefinition: "",
    platformVersion: "",
    deploymentConfiguration,
    deployments: [],
    events: [],
    tags: input.tags ?? [],
    propagateTags: input.propagateTags,
    enableECSManagedTags: input.enableECSManagedTags ?? false,
    enableExecuteCommand: input.enableExecuteCommand ?? false,
    createdAt: ctx.now,
    createdBy: ctx.principal.type === "AssumedRole" && ctx.principal.session?.roleArn ? ctx.principal.session.roleArn : ctx.principal.arn,
    steady: false,
    deploymentController: "EXTERNAL",
    taskSets: [],
  };
  ctx.writes.push(state.putService(s));
  ctx.afterCommit(() => plane.poke());
  return { service: serviceOutput(state, s, true) };
}

/**
 * The UpdateService members an EXTERNAL service does not take: AWS lets UpdateService change only
 * the desired count, placement constraints and strategies, health check grace period and the tag
 * options there (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html).
 * Those a task set brings take a new task set instead.
 */
const EXTERNAL_FIXED_MEMBERS: [keyof UpdateServiceRequest, string, boolean][] = [
  ["taskDefinition", "task definition", true],
  ["capacityProviderStrategy", "capacity provider strategy", true],
  ["platformVersion", "platform version", true],
  ["networkConfiguration", "network parameters", true],
  ["loadBalancers", "load balancers", true],
  ["serviceRegistries", "service registries", true],
  ["deploymentConfiguration", "deployment configuration", false],
  ["enableExecuteCommand", "enable execute command", false],
  ["availabilityZoneRebalancing", "availability zone rebalancing", false],
  ["vpcLatticeConfigurations", "VPC Lattice configurations", false],
];

/** UpdateService on an EXTERNAL service: desired count and the tag options (placement and grace period have nothing to act on here). */
export function updateExternalService(state: EcsState, plane: ServicePlane, ctx: RequestContext, input: UpdateServiceRequest, s: ServiceRecord): UpdateServiceResponse {
  refuseEcsOnlyMembers(input);
  for (const [member, what, taskSetMember] of EXTERNAL_FIXED_MEMBERS)
    if (isGiven(input[member]))
      throw invalid(`Unable to update ${what} on services with a EXTERNAL deployment controller.${taskSetMember ? " Create a new task set instead." : ""}`);
  if (input.forceNewDeployment) throw invalid("Unable to force a new deployment on services with a EXTERNAL deployment controller. Create a new task set instead.");
  if (input.desiredCount !== undefined) checkDesiredCount(input.desiredCount);
  if (input.propagateTags && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(input.propagateTags)) throw invalid(`Invalid propagateTags value '${input.propagateTags}'.`);
  if (input.desiredCount !== undefined) s.desiredCount = input.desiredCount;
  if (input.propagateTags) s.propagateTags = input.propagateTags;
  if (input.enableECSManagedTags !== undefined) s.enableECSManagedTags = input.enableECSManagedTags;
  s.steady = false;
  ctx.writes.push(state.putService(s));
  ctx.afterCommit(() => plane.poke());
  return { service: serviceOutput(state, s, false) };
}

/** A task set call's service and task set: the ARNs authorization sees and the caller's records. */
interface TaskSetLookup extends ServiceLookup {
  /** the task set's ARN under the service ARN ("<service>/*" on create or when the reference names none) */
  taskSetResource: string;
  taskSet: TaskSetRecord | undefined;
}

/** The id a task set reference (id or ARN) gives within a service ARN, or undefined when it names another service's. */
function taskSetId(ref: string, service: string): string | undefined {
  if (!ref.startsWith("arn:")) return ref;
  const prefix = taskSetArn(service, "");
  return ref.startsWith(prefix) ? ref.slice(prefix.length) : undefined;
}

function lookupTaskSet(state: EcsState, ctx: RequestContext, cluster: string | undefined, service: string | undefined, ref: string | undefined): TaskSetLookup {
  const r = lookupService(state, ctx, cluster, service);
  const id = ref && r.resource !== "*" ? taskSetId(ref, r.resource) : undefined;
  const taskSet = id !== undefined && r.service ? r.service.taskSets?.find((ts) => ts.id === id) : undefined;
  let taskSetResource = "*";
  if (r.resource !== "*") taskSetResource = ref?.startsWith("arn:") ? ref : taskSetArn(r.resource, id ?? "*");
  return { ...r, taskSetResource, taskSet };
}

function taskSetCheck(action: string, r: TaskSetLookup, extra: Record<string, string | string[] | undefined> = {}): AuthCheck {
  const tags = r.taskSet?.tags;
  return {
    action,
    resource: r.taskSetResource,
    context: { "ecs:cluster": r.arn, "ecs:service": r.resource === "*" ? undefined : r.resource, ...extra },
    resourceTags: tags?.length ? Object.fromEntries(tags.map((t) => [t.key!, t.value ?? ""])) : undefined,
  };
}

/** The EXTERNAL service a task set call works on: found, ACTIVE, and EXTERNAL, in AWS's order. */
function externalService(r: ServiceLookup): { c: ClusterRecord; s: ServiceRecord } {
  const c = found(r.cluster);
  const s = r.service;
  if (!s || s.status === "INACTIVE") throw new ServiceError("ServiceNotFoundException", "Service not found.", 400);
  if (s.status !== "ACTIVE") throw new ServiceError("ServiceNotActiveException", "Service was not ACTIVE.", 400);
  if (s.deploymentController !== "EXTERNAL") throw invalid("Amazon ECS only supports task set management on services configured to use external deployment controllers.");
  return { c, s };
}

function existingTaskSet(r: TaskSetLookup): { c: ClusterRecord; s: ServiceRecord; ts: TaskSetRecord } {
  const { c, s } = externalService(r);
  if (!r.taskSet) throw taskSetNotFound();
  return { c, s, ts: r.taskSet };
}

function checkScale(scale: Scale | undefined): number {
  if (!scale) return 100;
  if (scale.unit !== undefined && scale.unit !== "PERCENT") throw invalid(`Invalid scale unit '${scale.unit}': the only unit is PERCENT.`);
  const v = scale.value;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 100) throw invalid("The scale value must be between 0 and 100 (a percent of the service's desired count).");
  return v;
}

function sameRequest(ts: TaskSetRecord, taskDefinition: string, scale: number, externalId: string | undefined): boolean {
  return ts.taskDefinition === taskDefinition && ts.scale === scale && ts.externalId === externalId;
}

function touch(s: ServiceRecord, ts: TaskSetRecord, now: Date): void {
  ts.updatedAt = now;
  ts.stabilityStatus = "STABILIZING";
  ts.stabilityStatusAt = now;
  s.steady = false;
}

export function taskSetOperations(state: EcsState, plane: ServicePlane) {
  return {
    CreateTaskSet: defineOperation<CreateTaskSetRequest, CreateTaskSetResponse, TaskSetLookup>({
      resolve: (ctx, input) => lookupTaskSet(state, ctx, input.cluster, input.service, undefined),
      authorize: (_ctx, input, r) => [
        taskSetCheck("ecs:CreateTaskSet", r, {
          "ecs:task-definition": input.taskDefinition,
          "ecs:capacity-provider": input.capacityProviderStrategy?.length ? input.capacityProviderStrategy.map((i) => i.capacityProvider ?? "") : undefined,
          "aws:TagKeys": input.tags?.length ? input.tags.map((t) => t.key ?? "") : undefined,
        }),
      ],
      handler: function createTaskSet(ctx, input, r): CreateTaskSetResponse {
        const { c, s } = externalService(r);
        if (!input.taskDefinition) throw invalid("Family should not be null or empty.");
        const def = state.taskDefFor(input.taskDefinition, ctx.region, ctx.principal.accountId);
        if (!def) throw new ServiceError("ClientException", "TaskDefinition not found.", 400);
        if (def.def.status !== "ACTIVE") throw new ServiceError("ClientException", "TaskDefinition is inactive", 400);
        if (input.loadBalancers?.length || input.serviceRegistries?.length) throw invalid("localfargate has no load balancers or service registries: a task set can't name them.");
        const launch = checkLaunch(c, def, input.launchType, input.capacityProviderStrategy, input.networkConfiguration);
        const platformVersion = resolvePlatformVersion(input.platformVersion);
        const scale = checkScale(input.scale);
        if (input.externalId !== undefined && input.externalId.length > MAX_EXTERNAL_ID) throw invalid(`externalId can be at most ${MAX_EXTERNAL_ID} characters.`);
        if (input.clientToken !== undefined && (input.clientToken.length < 1 || input.clientToken.length > MAX_CLIENT_TOKEN))
          throw invalid(`clientToken must be 1 to ${MAX_CLIENT_TOKEN} characters.`);
        validateTags(input.tags);
        const sets = s.taskSets ?? [];
        if (input.clientToken !== undefined) {
          const earlier = sets.find((ts) => ts.clientToken === input.clientToken);
          if (earlier) {
            if (!sameRequest(earlier, def.arn, scale, input.externalId)) throw invalid("The client token was already used for a task set with different parameters.");
            return { taskSet: taskSetOutput(state, s, earlier, true) };
          }
        }
        if (sets.length >= MAX_TASK_SETS_PER_SERVICE)
          throw invalid(`${sets.length} deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit.`);
        const id = newDeploymentId();
        const ts: TaskSetRecord = {
          id,
          arn: taskSetArn(s.arn, id),
          status: "ACTIVE",
          ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
          taskDefinition: def.arn,
          launchType: launch.launchType,
          capacityProviderStrategy: launch.strategy,
          platformVersion,
          networkConfiguration: input.networkConfiguration,
          scale,
          stabilityStatus: "STABILIZING",
          stabilityStatusAt: ctx.now,
          createdAt: ctx.now,
          updatedAt: ctx.now,
          tags: input.tags ?? [],
          ...(input.clientToken !== undefined ? { clientToken: input.clientToken } : {}),
          kmsKeyArn: clusterKeyArn(c),
        };
        s.taskSets = [ts, ...sets];
        s.steady = false;
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { taskSet: taskSetOutput(state, s, ts, true) };
      },
    }),

    DescribeTaskSets: defineOperation<DescribeTaskSetsRequest, DescribeTaskSetsResponse, { service: ServiceLookup; sets: TaskSetLookup[] }>({
      readOnly: true,
      resolve: (ctx, input) => ({
        service: lookupService(state, ctx, input.cluster, input.service),
        sets: (input.taskSets ?? []).map((ref) => lookupTaskSet(state, ctx, input.cluster, input.service, ref)),
      }),
      authorize: (_ctx, _input, r) => [serviceCheck("ecs:DescribeTaskSets", r.service)],
      handler: function describeTaskSets(_ctx, input, r): DescribeTaskSetsResponse {
        const { s } = externalService(r.service);
        const withTags = input.include?.includes("TAGS") ?? false;
        const refs = input.taskSets ?? [];
        if (!refs.length) return { taskSets: (s.taskSets ?? []).map((ts) => taskSetOutput(state, s, ts, withTags)), failures: [] };
        const out: DescribeTaskSetsResponse = { taskSets: [], failures: [] };
        for (const [i, ref] of refs.entries()) {
          const ts = r.sets[i].taskSet;
          if (ts) out.taskSets!.push(taskSetOutput(state, s, ts, withTags));
          else out.failures!.push({ arn: ref.startsWith("arn:") ? ref : taskSetArn(s.arn, ref), reason: "MISSING" });
        }
        return out;
      },
    }),

    UpdateTaskSet: defineOperation<UpdateTaskSetRequest, UpdateTaskSetResponse, TaskSetLookup>({
      resolve: (ctx, input) => lookupTaskSet(state, ctx, input.cluster, input.service, input.taskSet),
      authorize: (_ctx, _input, r) => [taskSetCheck("ecs:UpdateTaskSet", r)],
      handler: function updateTaskSet(ctx, input, r): UpdateTaskSetResponse {
        const { s, ts } = existingTaskSet(r);
        if (!input.scale) throw invalid("Scale must be specified.");
        const scale = checkScale(input.scale);
        if (ts.status === "DRAINING") throw invalid("The task set is being deleted and can't be scaled.");
        ts.scale = scale;
        touch(s, ts, ctx.now);
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { taskSet: taskSetOutput(state, s, ts, false) };
      },
    }),

    DeleteTaskSet: defineOperation<DeleteTaskSetRequest, DeleteTaskSetResponse, TaskSetLookup>({
      resolve: (ctx, input) => lookupTaskSet(state, ctx, input.cluster, input.service, input.taskSet),
      authorize: (_ctx, _input, r) => [taskSetCheck("ecs:DeleteTaskSet", r)],
      handler: function deleteTaskSet(ctx, input, r): DeleteTaskSetResponse {
        const { s, ts } = existingTaskSet(r);
        if (ts.status === "DRAINING") return { taskSet: taskSetOutput(state, s, ts, false) };
        if (!input.force) {
          if (ts.status === "PRIMARY") throw invalid("The primary task set can't be deleted unless force is true.");
          if (ts.scale > 0) throw invalid("The task set has not been scaled down to zero: scale it to 0 first, or delete it with force.");
        }
        ts.status = "DRAINING";
        touch(s, ts, ctx.now);
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { taskSet: taskSetOutput(state, s, ts, false) };
      },
    }),

    UpdateServicePrimaryTaskSet: defineOperation<UpdateServicePrimaryTaskSetRequest, UpdateServicePrimaryTaskSetResponse, TaskSetLookup>({
      resolve: (ctx, input) => lookupTaskSet(state, ctx, input.cluster, input.service, input.primaryTaskSet),
      authorize: (_ctx, _input, r) => [serviceCheck("ecs:UpdateServicePrimaryTaskSet", r)],
      handler: function updateServicePrimaryTaskSet(ctx, _input, r): UpdateServicePrimaryTaskSetResponse {
        const { s, ts } = existingTaskSet(r);
        if (ts.status === "DRAINING") throw invalid("The task set is being deleted and can't be made the primary task set.");
        if (ts.status !== "PRIMARY") {
          for (const other of s.taskSets ?? [])
            if (other.status === "PRIMARY") {
              other.status = "ACTIVE";
              other.updatedAt = ctx.now;
            }
          ts.status = "PRIMARY";
          ts.updatedAt = ctx.now;
          // The service takes on the primary task set's launch fields (what DescribeServices shows).
          s.taskDefinition = ts.taskDefinition;
          s.launchType = ts.launchType;
          s.capacityProviderStrategy = ts.capacityProviderStrategy;
          s.platformVersion = ts.platformVersion;
          s.networkConfiguration = ts.networkConfiguration;
          ctx.writes.push(state.putService(s));
        }
        return { taskSet: taskSetOutput(state, s, ts, false) };
      },
    }),
  };
}
