/** ECS services: create, update (deployments), describe, list, delete. src/fargate/service-scheduler.ts runs them. */
import { randomInt } from "node:crypto";
import type {
  CreateServiceRequest,
  CreateServiceResponse,
  DeleteServiceRequest,
  DeleteServiceResponse,
  Deployment,
  DeploymentConfiguration,
  DescribeServicesRequest,
  DescribeServicesResponse,
  ListServicesRequest,
  ListServicesResponse,
  Service,
  UpdateServiceRequest,
  UpdateServiceResponse,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { AuthCheck, OperationDef, RequestContext } from "../types.ts";
import { ECS_SERVICE, passRoleChecks } from "./pass-role.ts";
import { indexPage } from "./paging.ts";
import { checkLaunch, clusterKeyArn, resolvePlatformVersion } from "./tasks.ts";
import { type ClusterRecord, type DeploymentRecord, type EcsState, parseEcsArn, serviceArn, type ServiceRecord, type TaskRecord, validateTags } from "./state.ts";

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

export function newDeploymentId(): string {
  let digits = String(randomInt(1, 10));
  for (let i = 0; i < 18; i++) digits += String(randomInt(0, 10));
  return `ecs-svc/${digits}`;
}

export function addServiceEvent(s: ServiceRecord, now: Date, message: string): void {
  s.events.unshift({ id: crypto.randomUUID(), createdAt: now, message });
  if (s.events.length > 100) s.events.length = 100;
}

function checkDeploymentConfiguration(c: DeploymentConfiguration | undefined, previous?: DeploymentConfiguration): DeploymentConfiguration {
  const min = c?.minimumHealthyPercent ?? previous?.minimumHealthyPercent ?? 100;
  const max = c?.maximumPercent ?? previous?.maximumPercent ?? 200;
  if (!Number.isInteger(min) || min < 0 || min > 100) throw invalid("minimumHealthyPercent must be between 0 and 100.");
  if (!Number.isInteger(max) || max < 100) throw invalid("maximumPercent must be at least 100.");
  if (max <= min) throw invalid("maximumPercent must be greater than minimumHealthyPercent, or a deployment could never replace a task.");
  return {
    deploymentCircuitBreaker: c?.deploymentCircuitBreaker ?? previous?.deploymentCircuitBreaker ?? { enable: false, rollback: false },
    maximumPercent: max,
    minimumHealthyPercent: min,
    ...(c?.alarms ?? previous?.alarms ? { alarms: c?.alarms ?? previous?.alarms } : {}),
  };
}

/** Tasks of a service that the scheduler still counts (not stopped or stopping). */
export function liveServiceTasks(state: EcsState, s: ServiceRecord): TaskRecord[] {
  return state.tasksOfService(s.arn).filter((t) => t.task.desiredStatus === "RUNNING" && t.task.lastStatus !== "STOPPED");
}

function deploymentOutput(state: EcsState, s: ServiceRecord, d: DeploymentRecord): Deployment {
  let running = 0;
  let pending = 0;
  for (const t of liveServiceTasks(state, s)) {
    if (t.deploymentId !== d.id) continue;
    if (t.task.lastStatus === "RUNNING") running++;
    else pending++;
  }
  return {
    id: d.id,
    status: d.status,
    taskDefinition: d.taskDefinition,
    desiredCount: d.desiredCount,
    pendingCount: pending,
    runningCount: running,
    failedTasks: d.failedTasks,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    launchType: d.launchType as Deployment["launchType"],
    capacityProviderStrategy: d.capacityProviderStrategy,
    platformVersion: d.platformVersion,
    platformFamily: "Linux",
    networkConfiguration: d.networkConfiguration,
    rolloutState: d.rolloutState,
    rolloutStateReason: d.rolloutStateReason,
    ...(d.kmsKeyArn ? { fargateEphemeralStorage: { kmsKeyId: d.kmsKeyArn } } : {}),
  };
}

export function serviceOutput(state: EcsState, s: ServiceRecord, withTags: boolean): Service {
  let running = 0;
  let pending = 0;
  for (const t of liveServiceTasks(state, s)) {
    if (t.task.lastStatus === "RUNNING") running++;
    else pending++;
  }
  const out: Service = {
    serviceArn: s.arn,
    serviceName: s.name,
    clusterArn: s.clusterArn,
    loadBalancers: [],
    serviceRegistries: [],
    status: s.status,
    desiredCount: s.desiredCount,
    runningCount: running,
    pendingCount: pending,
    launchType: s.launchType as Service["launchType"],
    capacityProviderStrategy: s.capacityProviderStrategy,
    platformVersion: s.platformVersion,
    platformFamily: "Linux",
    taskDefinition: s.taskDefinition,
    deploymentConfiguration: s.deploymentConfiguration,
    deployments: s.deployments.filter((d) => d.status !== "INACTIVE").map((d) => deploymentOutput(state, s, d)),
    events: s.events.map((e) => ({ id: e.id, createdAt: e.createdAt, message: e.message })),
    createdAt: s.createdAt,
    placementConstraints: [],
    placementStrategy: [],
    networkConfiguration: s.networkConfiguration,
    schedulingStrategy: "REPLICA",
    deploymentController: { type: "ECS" },
    createdBy: s.createdBy,
    enableECSManagedTags: s.enableECSManagedTags,
    propagateTags: (s.propagateTags ?? "NONE") as Service["propagateTags"],
    enableExecuteCommand: s.enableExecuteCommand,
  };
  if (withTags) out.tags = s.tags;
  return out;
}

/**
 * ECS's default "Tasks per service" quota. A desired count above it is refused as AWS refuses
 * it ("Desired count exceeds limit."), which also keeps one call from starting thousands of
 * processes on this machine.
 */
export const MAX_TASKS_PER_SERVICE = 5000;

function checkDesiredCount(n: number): void {
  if (n < 0) throw invalid("desiredCount must be 0 or more.");
  if (n > MAX_TASKS_PER_SERVICE) throw invalid("Desired count exceeds limit.");
}

function newDeployment(s: Pick<ServiceRecord, "taskDefinition" | "desiredCount" | "launchType" | "capacityProviderStrategy" | "platformVersion" | "networkConfiguration">, cluster: ClusterRecord, now: Date): DeploymentRecord {
  return {
    id: newDeploymentId(),
    status: "PRIMARY",
    taskDefinition: s.taskDefinition,
    desiredCount: s.desiredCount,
    failedTasks: 0,
    createdAt: now,
    updatedAt: now,
    launchType: s.launchType,
    capacityProviderStrategy: s.capacityProviderStrategy,
    platformVersion: s.platformVersion,
    networkConfiguration: s.networkConfiguration,
    rolloutState: "IN_PROGRESS",
    rolloutStateReason: "ECS deployment " + "in progress.",
    kmsKeyArn: clusterKeyArn(cluster),
  };
}

export interface ServicePlane {
  /** asks the scheduler to look at the services now */
  poke(): void;
}

function serviceCheck(state: EcsState, ctx: RequestContext, action: string, clusterRef: string | undefined, name: string | undefined): AuthCheck {
  let resource = "*";
  let cluster: string | undefined;
  try {
    cluster = state.clusterArnFor(clusterRef, ctx.region, ctx.principal.accountId);
    // The service ARN lies in the cluster ARN's account and region, whoever's they are.
    const c = parseEcsArn(cluster)!;
    if (name) resource = name.startsWith("arn:") ? name : serviceArn(c.region, c.account, c.rest, name);
  } catch {
    cluster = undefined;
  }
  const tags = state.service(resource, ctx.region, ctx.principal.accountId)?.tags;
  return { action, resource, context: { "ecs:cluster": cluster }, resourceTags: tags?.length ? Object.fromEntries(tags.map((t) => [t.key!, t.value ?? ""])) : undefined };
}

export function serviceOperations(state: EcsState, plane: ServicePlane): Record<string, OperationDef> {
  const getActive = (ctx: RequestContext, clusterRef: string | undefined, ref: string): { c: ClusterRecord; s: ServiceRecord } => {
    const c = state.activeCluster(clusterRef, ctx.region, ctx.principal.accountId);
    const s = state.serviceFor(ref, c);
    if (!s || s.status === "INACTIVE") throw new ServiceError("ServiceNotFoundException", "Service not found.", 400);
    return { c, s };
  };
  return {
    CreateService: {
      authorize: (ctx, input: CreateServiceRequest) => {
        const chk = serviceCheck(state, ctx, "ecs:CreateService", input.cluster, input.serviceName);
        return [
          { ...chk, context: { ...chk.context, "ecs:task-definition": input.taskDefinition, "aws:TagKeys": input.tags?.length ? input.tags.map((t) => t.key ?? "") : undefined } },
          ...passRoleChecks(ctx, [input.role], ECS_SERVICE),
        ];
      },
      handler: (ctx, input: CreateServiceRequest): CreateServiceResponse => {
        const c = state.activeCluster(input.cluster, ctx.region, ctx.principal.accountId);
        const name = input.serviceName!;
        if (!/^[a-zA-Z0-9_-]{1,255}$/.test(name)) throw invalid("Service name can only contain letters, numbers, underscores and hyphens, up to 255 characters.");
        if (input.schedulingStrategy === "DAEMON") throw invalid("The DAEMON scheduling strategy is not supported with the FARGATE launch type.");
        if (input.deploymentController?.type && input.deploymentController.type !== "ECS") throw invalid(`Deployment controller type ${input.deploymentController.type} is not supported by localfargate; use ECS.`);
        if (!input.taskDefinition) throw invalid("TaskDefinition must be specified.");
        const def = state.taskDefFor(input.taskDefinition, ctx.region, ctx.principal.accountId);
        if (!def) throw new ServiceError("ClientException", "TaskDefinition not found.", 400);
        if (def.def.status !== "ACTIVE") throw new ServiceError("ClientException", "TaskDefinition is inactive", 400);
        if (input.desiredCount === undefined) throw invalid("desiredCount is required when schedulingStrategy is REPLICA.");
        checkDesiredCount(input.desiredCount);
        const launch = checkLaunch(c, def, input.launchType, input.capacityProviderStrategy, input.networkConfiguration);
        const platformVersion = resolvePlatformVersion(input.platformVersion);
        const deploymentConfiguration = checkDeploymentConfiguration(input.deploymentConfiguration);
        validateTags(input.tags);
        if (input.propagateTags && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(input.propagateTags)) throw invalid(`Invalid propagateTags value '${input.propagateTags}'.`);
        const arn = serviceArn(c.region, c.accountId, c.name, name);
        const existing = state.services.get(arn);
        if (existing && existing.status !== "INACTIVE") throw invalid("Creation of service was not idempotent.");
        const base = {
          taskDefinition: def.arn,
          desiredCount: input.desiredCount,
          launchType: launch.launchType,
          capacityProviderStrategy: input.capacityProviderStrategy?.length ? launch.strategy : undefined,
          platformVersion,
          networkConfiguration: input.networkConfiguration,
        };
        const s: ServiceRecord = {
          arn,
          name,
          accountId: c.accountId,
          region: c.region,
          clusterArn: c.arn,
          clusterName: c.name,
          status: "ACTIVE",
          ...base,
          deploymentConfiguration,
          deployments: [newDeployment(base, c, ctx.now)],
          events: [],
          tags: input.tags ?? [],
          propagateTags: input.propagateTags,
          enableECSManagedTags: input.enableECSManagedTags ?? false,
          enableExecuteCommand: input.enableExecuteCommand ?? false,
          createdAt: ctx.now,
          createdBy: ctx.principal.type === "AssumedRole" && ctx.principal.session?.roleArn ? ctx.principal.session.roleArn : ctx.principal.arn,
          steady: false,
        };
        if (!base.launchType && !input.capacityProviderStrategy?.length) s.capacityProviderStrategy = launch.strategy;
        s.deployments[0].capacityProviderStrategy = s.capacityProviderStrategy;
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { service: serviceOutput(state, s, true) };
      },
    },

    UpdateService: {
      authorize: (ctx, input: UpdateServiceRequest) => serviceCheck(state, ctx, "ecs:UpdateService", input.cluster, input.service),
      handler: (ctx, input: UpdateServiceRequest): UpdateServiceResponse => {
        const c = state.activeCluster(input.cluster, ctx.region, ctx.principal.accountId);
        const s = state.serviceFor(input.service!, c);
        if (!s || s.status === "INACTIVE") throw new ServiceError("ServiceNotFoundException", "Service not found.", 400);
        if (s.status !== "ACTIVE") throw new ServiceError("ServiceNotActiveException", "Service was not ACTIVE.", 400);
        if (input.desiredCount !== undefined) checkDesiredCount(input.desiredCount);
        let def = state.taskDefFor(s.taskDefinition, s.region, s.accountId);
        let newDeploymentNeeded = input.forceNewDeployment === true;
        if (input.taskDefinition) {
          def = state.taskDefFor(input.taskDefinition, ctx.region, ctx.principal.accountId);
          if (!def) throw new ServiceError("ClientException", "TaskDefinition not found.", 400);
          if (def.def.status !== "ACTIVE") throw new ServiceError("ClientException", "TaskDefinition is inactive", 400);
          if (def.arn !== s.taskDefinition) newDeploymentNeeded = true;
        }
        if (!def) throw new ServiceError("ClientException", "TaskDefinition not found.", 400);
        const platformVersion = input.platformVersion !== undefined ? resolvePlatformVersion(input.platformVersion) : s.platformVersion;
        if (input.platformVersion !== undefined) newDeploymentNeeded = true;
        const network = input.networkConfiguration ?? s.networkConfiguration;
        if (input.networkConfiguration) newDeploymentNeeded = true;
        let launchType = s.launchType;
        let strategy = s.capacityProviderStrategy;
        if (input.capacityProviderStrategy?.length) {
          launchType = undefined;
          strategy = input.capacityProviderStrategy;
          newDeploymentNeeded = true;
        }
        checkLaunch(c, def, launchType, strategy, network);
        const deploymentConfiguration = input.deploymentConfiguration ? checkDeploymentConfiguration(input.deploymentConfiguration, s.deploymentConfiguration) : s.deploymentConfiguration;
        if (input.propagateTags && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(input.propagateTags)) throw invalid(`Invalid propagateTags value '${input.propagateTags}'.`);
        s.desiredCount = input.desiredCount ?? s.desiredCount;
        s.taskDefinition = def.arn;
        s.platformVersion = platformVersion;
        s.networkConfiguration = network;
        s.launchType = launchType;
        s.capacityProviderStrategy = strategy;
        s.deploymentConfiguration = deploymentConfiguration;
        if (input.propagateTags) s.propagateTags = input.propagateTags;
        if (input.enableECSManagedTags !== undefined) s.enableECSManagedTags = input.enableECSManagedTags;
        if (input.enableExecuteCommand !== undefined) s.enableExecuteCommand = input.enableExecuteCommand;
        if (newDeploymentNeeded) {
          for (const d of s.deployments) if (d.status === "PRIMARY") {
            d.status = "ACTIVE";
            d.updatedAt = ctx.now;
          }
          // The new deployment records the cluster's key now: its tasks use it.
          s.deployments.unshift(newDeployment(s, c, ctx.now));
          s.steady = false;
          s.consecutiveFailures = 0;
          s.launchBackoffUntil = undefined;
        } else {
          const primary = s.deployments.find((d) => d.status === "PRIMARY");
          if (primary) {
            primary.desiredCount = s.desiredCount;
            primary.updatedAt = ctx.now;
          }
          s.steady = false;
        }
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { service: serviceOutput(state, s, false) };
      },
    },

    DescribeServices: {
      readOnly: true,
      authorize: (ctx, input: DescribeServicesRequest): AuthCheck[] => (input.services ?? []).map((r) => serviceCheck(state, ctx, "ecs:DescribeServices", input.cluster, r)),
      handler: (ctx, input: DescribeServicesRequest): DescribeServicesResponse => {
        const refs = input.services ?? [];
        if (refs.length === 0) throw invalid("Services cannot be empty.");
        if (refs.length > 10) throw invalid("The number of services must be 10 or fewer.");
        const c = state.activeCluster(input.cluster, ctx.region, ctx.principal.accountId);
        const withTags = input.include?.includes("TAGS") ?? false;
        const out: DescribeServicesResponse = { services: [], failures: [] };
        for (const r of refs) {
          const s = state.serviceFor(r, c);
          if (s) out.services!.push(serviceOutput(state, s, withTags));
          else out.failures!.push({ arn: r.startsWith("arn:") ? r : serviceArn(c.region, c.accountId, c.name, r), reason: "MISSING" });
        }
        return out;
      },
    },

    ListServices: {
      readOnly: true,
      authorize: (ctx, input: ListServicesRequest) => serviceCheck(state, ctx, "ecs:ListServices", input.cluster, undefined),
      handler: (ctx, input: ListServicesRequest): ListServicesResponse => {
        const c = state.activeCluster(input.cluster, ctx.region, ctx.principal.accountId);
        if (input.schedulingStrategy === "DAEMON") return { serviceArns: [] };
        const p = indexPage(state.services.index("byCluster"), c.arn, input, (s) => s.arn, {
          filter: (s) => s.status !== "INACTIVE" && (!input.launchType || s.launchType === input.launchType),
        });
        return { serviceArns: p.items, nextToken: p.nextToken };
      },
    },

    DeleteService: {
      authorize: (ctx, input: DeleteServiceRequest) => serviceCheck(state, ctx, "ecs:DeleteService", input.cluster, input.service),
      handler: (ctx, input: DeleteServiceRequest): DeleteServiceResponse => {
        const { s } = getActive(ctx, input.cluster, input.service!);
        if (s.status === "DRAINING") return { service: serviceOutput(state, s, false) };
        if (s.desiredCount > 0 && !input.force) throw invalid("The service cannot be stopped while it is scaled above 0.");
        s.status = "DRAINING";
        s.desiredCount = 0;
        s.deletedAt = ctx.now;
        for (const d of s.deployments) d.desiredCount = 0;
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { service: serviceOutput(state, s, false) };
      },
    },
  };
}
