/** ECS services: create, update (deployments), describe, list, delete. scheduler.ts runs them. */
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
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { found, lookupCluster, type ClusterLookup } from "./lookup.ts";
import { ECS_SERVICE, passRoleChecks } from "./pass-role.ts";
import { indexPage } from "./paging.ts";
import { createExternalService, externalServiceFields, updateExternalService } from "./task-sets.ts";
import { checkLaunch, clusterKeyArn, resolvePlatformVersion } from "./tasks.ts";
import { desiredCountChanged, recordServiceDeployment } from "./deployments.ts";
import { attachmentFields, checkServiceAttachments } from "./service-attachments.ts";
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

/** Records whether the service is steady, with ECS's event when it becomes so; true when that changed it. */
export function markSteady(s: ServiceRecord, steady: boolean, now: Date): boolean {
  if (steady && !s.steady) {
    s.steady = true;
    addServiceEvent(s, now, `(service ${s.name}) has reached a steady state.`);
    return true;
  }
  if (!steady && s.steady) {
    s.steady = false;
    return true;
  }
  return false;
}

/** The members of deploymentConfiguration that only blue/green, linear and canary deployments use. */
const STAGED_MEMBERS = ["bakeTimeInMinutes", "lifecycleHooks", "linearConfiguration", "canaryConfiguration"] as const;

export function checkDeploymentConfiguration(c: DeploymentConfiguration | undefined, previous?: DeploymentConfiguration): DeploymentConfiguration {
  // localfargate runs rolling deployments only (docs/ecs-fargate.md): the other strategies, and what only they use, are refused
  const strategy = (c as { strategy?: string } | undefined)?.strategy;
  if (strategy !== undefined && strategy !== "ROLLING") throw invalid(`Deployment strategy ${strategy} is not supported by localfargate; use ROLLING.`);
  for (const m of STAGED_MEMBERS)
    if ((c as Record<string, unknown> | undefined)?.[m] !== undefined) throw invalid(`${m} applies to BLUE_GREEN, LINEAR and CANARY deployments, which localfargate does not run.`);
  const min = c?.minimumHealthyPercent ?? previous?.minimumHealthyPercent ?? 100;
  const max = c?.maximumPercent ?? previous?.maximumPercent ?? 200;
  if (!Number.isInteger(min) || min < 0 || min > 100) throw invalid("minimumHealthyPercent must be between 0 and 100.");
  if (!Number.isInteger(max) || max < 100) throw invalid("maximumPercent must be at least 100.");
  if (max <= min) throw invalid("maximumPercent must be greater than minimumHealthyPercent, or a deployment could never replace a task.");
  return {
    deploymentCircuitBreaker: c?.deploymentCircuitBreaker ?? previous?.deploymentCircuitBreaker ?? { enable: false, rollback: false },
    maximumPercent: max,
    minimumHealthyPercent: min,
    ...((c?.alarms ?? previous?.alarms) ? { alarms: c?.alarms ?? previous?.alarms } : {}),
    strategy: "ROLLING",
  } as DeploymentConfiguration;
}

/** Tasks of a service that the scheduler still counts (not stopped or stopping). */
export function liveServiceTasks(state: EcsState, s: ServiceRecord): TaskRecord[] {
  return state.tasksOfService(s.arn).filter((t) => t.task.desiredStatus === "RUNNING" && t.task.lastStatus !== "STOPPED");
}

/** The running and pending counts of a service's deployment or task set (by its id). */
export function taskCountsOf(state: EcsState, s: ServiceRecord, id: string): { running: number; pending: number } {
  let running = 0;
  let pending = 0;
  for (const t of liveServiceTasks(state, s)) {
    if (t.deploymentId !== id) continue;
    if (t.task.lastStatus === "RUNNING") running++;
    else pending++;
  }
  return { running, pending };
}

function deploymentOutput(state: EcsState, s: ServiceRecord, d: DeploymentRecord): Deployment {
  const { running, pending } = taskCountsOf(state, s, d.id);
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
    ...(d.serviceConnectConfiguration ? { serviceConnectConfiguration: d.serviceConnectConfiguration } : {}),
    ...(d.volumeConfigurations?.length ? { volumeConfigurations: d.volumeConfigurations } : {}),
  };
}

/**
 * The newer model's currentServiceDeployment (the PRIMARY deployment's service-deployment ARN) and
 * currentServiceRevisions (each live deployment's revision with its task counts).
 */
function currentRevisionFields(state: EcsState, s: ServiceRecord, deployments: Deployment[]): Record<string, unknown> {
  const primary = s.deployments.find((d) => d.status === "PRIMARY");
  const current = primary && state.history.byEcsDeployment(s.arn, primary.id);
  const revisions = s.deployments
    .filter((d) => d.status !== "INACTIVE" && d.serviceRevisionArn)
    .map((d) => {
      const shown = deployments.find((o) => o.id === d.id);
      return { arn: d.serviceRevisionArn, requestedTaskCount: d.desiredCount, runningTaskCount: shown?.runningCount ?? 0, pendingTaskCount: shown?.pendingCount ?? 0 };
    });
  return { ...(current ? { currentServiceDeployment: current.arn } : {}), ...(revisions.length ? { currentServiceRevisions: revisions } : {}) };
}

export function serviceOutput(state: EcsState, s: ServiceRecord, withTags: boolean): Service {
  let running = 0;
  let pending = 0;
  for (const t of liveServiceTasks(state, s)) {
    if (t.task.lastStatus === "RUNNING") running++;
    else pending++;
  }
  const out: Service & { resourceManagementType: string } = {
    serviceArn: s.arn,
    serviceName: s.name,
    clusterArn: s.clusterArn,
    loadBalancers: s.loadBalancers ?? [],
    serviceRegistries: s.serviceRegistries ?? [],
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
    resourceManagementType: "CUSTOMER",
    createdBy: s.createdBy,
    enableECSManagedTags: s.enableECSManagedTags,
    propagateTags: (s.propagateTags ?? "NONE") as Service["propagateTags"],
    enableExecuteCommand: s.enableExecuteCommand,
  };
  Object.assign(out, currentRevisionFields(state, s, out.deployments ?? []));
  if (s.deploymentController === "EXTERNAL") Object.assign(out, externalServiceFields(state, s));
  if (withTags) out.tags = s.tags;
  return out;
}

/**
 * ECS's default "Tasks per service" quota. A desired count above it is refused as AWS refuses
 * it ("Desired count exceeds limit."), which also keeps one call from starting thousands of
 * processes on this machine.
 */
export const MAX_TASKS_PER_SERVICE = 5000;

export function checkDesiredCount(n: number): void {
  if (n < 0) throw invalid("desiredCount must be 0 or more.");
  if (n > MAX_TASKS_PER_SERVICE) throw invalid("Desired count exceeds limit.");
}

function newDeployment(
  s: Pick<
    ServiceRecord,
    | "taskDefinition"
    | "desiredCount"
    | "launchType"
    | "capacityProviderStrategy"
    | "platformVersion"
    | "networkConfiguration"
    | "serviceConnectConfiguration"
    | "volumeConfigurations"
  >,
  cluster: ClusterRecord,
  now: Date,
): DeploymentRecord {
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
    ...attachmentFields(s),
  };
}

export interface ServicePlane {
  /** asks the scheduler to look at the services now */
  poke(): void;
}

/** A call's cluster and the service it names: the ARN authorization sees and the caller's record. */
export interface ServiceLookup extends ClusterLookup {
  /** the service ARN, in the cluster ARN's account and Region whoever's they are ("*" when none is named) */
  resource: string;
  resourceTags: Record<string, string> | undefined;
  /** the caller's service in the caller's ACTIVE cluster */
  service: ServiceRecord | undefined;
}

export function lookupService(state: EcsState, ctx: RequestContext, clusterRef: string | undefined, name: string | undefined): ServiceLookup {
  const c = lookupCluster(state, ctx, clusterRef);
  let resource = "*";
  if (c.arn && name) {
    const p = parseEcsArn(c.arn)!;
    resource = name.startsWith("arn:") ? name : serviceArn(p.region, p.account, p.rest, name);
  }
  const tags = state.service(resource, ctx.region, ctx.principal.accountId)?.tags;
  return {
    ...c,
    resource,
    resourceTags: tags?.length ? Object.fromEntries(tags.map((t) => [t.key!, t.value ?? ""])) : undefined,
    service: c.cluster.ok && name ? state.serviceFor(name, c.cluster.value) : undefined,
  };
}

export function serviceCheck(action: string, r: ServiceLookup): AuthCheck {
  return { action, resource: r.resource, context: { "ecs:cluster": r.arn }, resourceTags: r.resourceTags };
}

/**
 * How long an INACTIVE service stays discoverable through DescribeServices before it is forgotten.
 * AWS says only that INACTIVE services "may be cleaned up and purged" in the future
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html); localfargate
 * keeps them as long as it keeps stopped tasks, one hour (docs/ecs-fargate.md#deleting-a-service).
 */
export const INACTIVE_SERVICE_RETENTION_MS = 3600_000;

/** When an INACTIVE service is forgotten (records from before inactiveAt was kept use deletedAt). */
export function inactiveServiceExpiresAtMs(s: ServiceRecord): number {
  return (s.inactiveAt ?? s.deletedAt ?? s.createdAt).getTime() + INACTIVE_SERVICE_RETENTION_MS;
}

/** The service of a call that needs it ACTIVE or DRAINING, after its cluster. */
export function liveService(r: ServiceLookup): { c: ClusterRecord; s: ServiceRecord } {
  const c = found(r.cluster);
  const s = r.service;
  if (!s || s.status === "INACTIVE") throw new ServiceError("ServiceNotFoundException", "Service not found.", 400);
  return { c, s };
}

export function serviceOperations(state: EcsState, plane: ServicePlane) {
  return {
    CreateService: defineOperation<CreateServiceRequest, CreateServiceResponse, ServiceLookup>({
      resolve: (ctx, input) => lookupService(state, ctx, input.cluster, input.serviceName),
      authorize: (ctx, input, r) => {
        const chk = serviceCheck("ecs:CreateService", r);
        return [
          { ...chk, context: { ...chk.context, "ecs:task-definition": input.taskDefinition, "aws:TagKeys": input.tags?.length ? input.tags.map((t) => t.key ?? "") : undefined } },
          ...passRoleChecks(ctx, [input.role, ...(input.volumeConfigurations ?? []).map((v) => v.managedEBSVolume?.roleArn)], ECS_SERVICE),
        ];
      },
      handler: function createService(ctx, input, r): CreateServiceResponse {
        const c = found(r.cluster);
        const name = input.serviceName!;
        if (!/^[a-zA-Z0-9_-]{1,255}$/.test(name)) throw invalid("Service name can only contain letters, numbers, underscores and hyphens, up to 255 characters.");
        if (input.schedulingStrategy === "DAEMON") throw invalid("The DAEMON scheduling strategy is not supported with the FARGATE launch type.");
        if (input.deploymentController?.type === "EXTERNAL") return createExternalService(state, plane, ctx, input, c);
        if (input.deploymentController?.type && input.deploymentController.type !== "ECS")
          throw invalid(`Deployment controller type ${input.deploymentController.type} is not supported by localfargate; use ECS or EXTERNAL.`);
        if (!input.taskDefinition) throw invalid("TaskDefinition must be specified.");
        const def = state.taskDefFor(input.taskDefinition, ctx.region, ctx.principal.accountId);
        if (!def) throw new ServiceError("ClientException", "TaskDefinition not found.", 400);
        if (def.def.status !== "ACTIVE") throw new ServiceError("ClientException", "TaskDefinition is inactive", 400);
        if (input.desiredCount === undefined) throw invalid("desiredCount is required when schedulingStrategy is REPLICA.");
        checkDesiredCount(input.desiredCount);
        const launch = checkLaunch(c, def, input.launchType, input.capacityProviderStrategy, input.networkConfiguration);
        const attachments = checkServiceAttachments(input, def.def, c);
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
          ...attachmentFields(attachments.values),
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
          ...attachments.values,
        };
        if (!base.launchType && !input.capacityProviderStrategy?.length) s.capacityProviderStrategy = launch.strategy;
        s.deployments[0].capacityProviderStrategy = s.capacityProviderStrategy;
        ctx.writes.push(...recordServiceDeployment(state, state.history, s, def, s.deployments[0], [], ctx.now));
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { service: serviceOutput(state, s, true) };
      },
    }),

    UpdateService: defineOperation<UpdateServiceRequest, UpdateServiceResponse, ServiceLookup>({
      resolve: (ctx, input) => lookupService(state, ctx, input.cluster, input.service),
      authorize: (ctx, input, r) => [
        serviceCheck("ecs:UpdateService", r),
        ...passRoleChecks(
          ctx,
          (input.volumeConfigurations ?? []).map((v) => v.managedEBSVolume?.roleArn),
          ECS_SERVICE,
        ),
      ],
      handler: function updateService(ctx, input, r): UpdateServiceResponse {
        const { c, s } = liveService(r);
        if (s.status !== "ACTIVE") throw new ServiceError("ServiceNotActiveException", "Service was not ACTIVE.", 400);
        const controller = (input as { deploymentController?: { type?: string } }).deploymentController?.type;
        if (controller !== undefined && controller !== (s.deploymentController ?? "ECS"))
          throw invalid(`Changing the deployment controller from ${s.deploymentController ?? "ECS"} to ${controller} is not supported by localfargate.`);
        if (s.deploymentController === "EXTERNAL") return updateExternalService(state, plane, ctx, input, s);
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
        const attachments = checkServiceAttachments(input, def.def, c, s);
        if (attachments.changed) newDeploymentNeeded = true;
        const deploymentConfiguration = input.deploymentConfiguration
          ? checkDeploymentConfiguration(input.deploymentConfiguration, s.deploymentConfiguration)
          : s.deploymentConfiguration;
        if (input.propagateTags && !["TASK_DEFINITION", "SERVICE", "NONE"].includes(input.propagateTags)) throw invalid(`Invalid propagateTags value '${input.propagateTags}'.`);
        s.desiredCount = input.desiredCount ?? s.desiredCount;
        s.taskDefinition = def.arn;
        s.platformVersion = platformVersion;
        s.networkConfiguration = network;
        s.launchType = launchType;
        s.capacityProviderStrategy = strategy;
        s.deploymentConfiguration = deploymentConfiguration;
        Object.assign(s, attachments.values);
        if (input.propagateTags) s.propagateTags = input.propagateTags;
        if (input.enableECSManagedTags !== undefined) s.enableECSManagedTags = input.enableECSManagedTags;
        if (input.enableExecuteCommand !== undefined) s.enableExecuteCommand = input.enableExecuteCommand;
        if (newDeploymentNeeded) {
          const previous = s.deployments.filter((d) => d.status !== "INACTIVE");
          for (const d of s.deployments)
            if (d.status === "PRIMARY") {
              d.status = "ACTIVE";
              d.updatedAt = ctx.now;
            }
          // The new deployment records the cluster's key now: its tasks use it.
          s.deployments.unshift(newDeployment(s, c, ctx.now));
          ctx.writes.push(...recordServiceDeployment(state, state.history, s, def, s.deployments[0], previous, ctx.now));
          s.steady = false;
          s.consecutiveFailures = 0;
          s.launchBackoffUntil = undefined;
        } else {
          const primary = s.deployments.find((d) => d.status === "PRIMARY");
          if (primary) {
            primary.desiredCount = s.desiredCount;
            primary.updatedAt = ctx.now;
          }
          if (input.desiredCount !== undefined) ctx.writes.push(...desiredCountChanged(state.history, s, primary, ctx.now));
          s.steady = false;
        }
        ctx.writes.push(state.putService(s));
        ctx.afterCommit(() => plane.poke());
        return { service: serviceOutput(state, s, false) };
      },
    }),

    DescribeServices: defineOperation<DescribeServicesRequest, DescribeServicesResponse, { cluster: ClusterLookup; services: ServiceLookup[] }>({
      readOnly: true,
      resolve: (ctx, input) => ({ cluster: lookupCluster(state, ctx, input.cluster), services: (input.services ?? []).map((r) => lookupService(state, ctx, input.cluster, r)) }),
      authorize: (_ctx, _input, r): AuthCheck[] => r.services.map((one) => serviceCheck("ecs:DescribeServices", one)),
      handler: function describeServices(_ctx, input, resolved): DescribeServicesResponse {
        const refs = input.services ?? [];
        if (refs.length === 0) throw invalid("Services cannot be empty.");
        if (refs.length > 10) throw invalid("The number of services must be 10 or fewer.");
        const c = found(resolved.cluster.cluster);
        const withTags = input.include?.includes("TAGS") ?? false;
        const out: DescribeServicesResponse = { services: [], failures: [] };
        for (const [i, r] of refs.entries()) {
          const s = resolved.services[i].service;
          if (s) out.services!.push(serviceOutput(state, s, withTags));
          else out.failures!.push({ arn: r.startsWith("arn:") ? r : serviceArn(c.region, c.accountId, c.name, r), reason: "MISSING" });
        }
        return out;
      },
    }),

    ListServices: defineOperation<ListServicesRequest, ListServicesResponse, ServiceLookup>({
      readOnly: true,
      resolve: (ctx, input) => lookupService(state, ctx, input.cluster, undefined),
      authorize: (_ctx, _input, r) => [serviceCheck("ecs:ListServices", r)],
      handler: function listServices(_ctx, input, r): ListServicesResponse {
        const c = found(r.cluster);
        if (input.schedulingStrategy === "DAEMON") return { serviceArns: [] };
        // every service here is the customer's: ECS-managed (Express) services are not made
        if ((input as { resourceManagementType?: string }).resourceManagementType === "ECS") return { serviceArns: [] };
        const p = indexPage(state.services.index("byCluster"), c.arn, input, (s) => s.arn, {
          filter: (s) => s.status !== "INACTIVE" && (!input.launchType || s.launchType === input.launchType),
        });
        return { serviceArns: p.items, nextToken: p.nextToken };
      },
    }),

    DeleteService: defineOperation<DeleteServiceRequest, DeleteServiceResponse, ServiceLookup>({
      resolve: (ctx, input) => lookupService(state, ctx, input.cluster, input.service),
      authorize: (_ctx, _input, r) => [serviceCheck("ecs:DeleteService", r)],
      handler: function deleteService(ctx, input, r): DeleteServiceResponse {
        const { s } = liveService(r);
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
    }),
  };
}
