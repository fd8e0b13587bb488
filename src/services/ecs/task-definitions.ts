/** Task definitions: register (with Fargate validation), describe, list, deregister, delete. */
import type {
  ContainerDefinition,
  HealthCheck,
  DeleteTaskDefinitionsRequest,
  DeleteTaskDefinitionsResponse,
  DeregisterTaskDefinitionRequest,
  DeregisterTaskDefinitionResponse,
  DescribeTaskDefinitionRequest,
  DescribeTaskDefinitionResponse,
  Failure,
  ListTaskDefinitionFamiliesRequest,
  ListTaskDefinitionFamiliesResponse,
  ListTaskDefinitionsRequest,
  ListTaskDefinitionsResponse,
  RegisterTaskDefinitionRequest,
  RegisterTaskDefinitionResponse,
  TaskDefinition,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { passRoleChecks } from "./pass-role.ts";
import { validateLogConfigurations } from "./log-configuration.ts";
import { checkMaxResults, indexPage, tokenFor, tokenPosition } from "./paging.ts";
import { ecsScope, type EcsState, type TaskDefRecord, taskDefArn, validateTags } from "./state.ts";

const FAMILY = /^[a-zA-Z0-9_-]{1,255}$/;

function client(message: string): ServiceError {
  return new ServiceError("ClientException", message, 400);
}

/** Fargate (Linux) task size table: cpu units → allowed memory (MiB). */
export function fargateMemoryOptions(cpu: number): number[] {
  const range = (from: number, to: number, step: number) => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
  switch (cpu) {
    case 256:
      return [512, 1024, 2048];
    case 512:
      return range(1024, 4096, 1024);
    case 1024:
      return range(2048, 8192, 1024);
    case 2048:
      return range(4096, 16384, 1024);
    case 4096:
      return range(8192, 30720, 1024);
    case 8192:
      return range(16384, 61440, 4096);
    case 16384:
      return range(32768, 122880, 8192);
    default:
      return [];
  }
}

/** "1024", "1 vCPU", "0.25 vcpu" → CPU units. */
export function parseCpu(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(vcpu)?\s*$/i.exec(v);
  if (!m) return undefined;
  return m[2] ? Math.round(Number(m[1]) * 1024) : Number(m[1]);
}

/** "2048", "2 GB", "2GB" → MiB. */
export function parseMemory(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(gb|mb|mib|gib)?\s*$/i.exec(v);
  if (!m) return undefined;
  const u = (m[2] ?? "mb").toLowerCase();
  return u.startsWith("g") ? Math.round(Number(m[1]) * 1024) : Number(m[1]);
}

export function checkEphemeralSize(size: number | undefined, where: string): void {
  if (size === undefined) return;
  if (!Number.isInteger(size) || size < 21 || size > 200) {
    throw client(`The ephemeral storage size (${where}.sizeInGiB) must be between 21 and 200 GiB; ${size} was given.`);
  }
}

function validateContainers(defs: ContainerDefinition[] | undefined, fargate: boolean): ContainerDefinition[] {
  if (!defs || defs.length === 0) throw client("Container list cannot be empty.");
  if (defs.length > 10) throw client("Too many containers: a task definition can have at most 10 containers.");
  const names = new Set<string>();
  const out: ContainerDefinition[] = [];
  for (const d of defs) {
    if (!d.name) throw client("Container.name should not be null or empty.");
    if (!/^[a-zA-Z0-9_-]{1,255}$/.test(d.name)) throw client(`Container name '${d.name}' is invalid: up to 255 letters, numbers, hyphens and underscores are allowed.`);
    if (names.has(d.name)) throw client(`Duplicate container name '${d.name}'. Container names must be unique within a task definition.`);
    names.add(d.name);
    if (!d.image) throw client("Container.image should not be null or empty.");
    if (fargate && d.links?.length) throw client("Links are not supported when networkMode=awsvpc.");
    if (d.stopTimeout !== undefined && (d.stopTimeout < 0 || d.stopTimeout > 120)) throw client(`Container '${d.name}': stopTimeout must be between 0 and 120 seconds.`);
    for (const e of d.environment ?? []) if (!e.name) throw client(`Container '${d.name}': environment variable names must not be empty.`);
    const healthCheck = d.healthCheck ? checkedHealthCheck(d.name, d.healthCheck) : undefined;
    out.push({
      cpu: 0,
      portMappings: [],
      environment: [],
      mountPoints: [],
      volumesFrom: [],
      systemControls: [],
      ...d,
      essential: d.essential ?? true,
      ...(healthCheck ? { healthCheck } : {}),
    });
  }
  if (!out.some((d) => d.essential)) throw client("A task definition must have at least one essential container.");
  for (const d of out) {
    for (const dep of d.dependsOn ?? []) {
      if (!names.has(dep.containerName ?? "")) throw client(`Container '${d.name}' depends on container '${dep.containerName}', which is not in the task definition.`);
      if (dep.containerName === d.name) throw client(`Container '${d.name}' cannot depend on itself.`);
      if (!["START", "COMPLETE", "SUCCESS", "HEALTHY"].includes(dep.condition ?? "")) throw client(`Container '${d.name}': invalid dependency condition '${dep.condition}'.`);
      const target = out.find((x) => x.name === dep.containerName)!;
      if ((dep.condition === "COMPLETE" || dep.condition === "SUCCESS") && target.essential) {
        throw client(
          `Container '${d.name}' has a ${dep.condition} dependency on essential container '${target.name}': a container with a ${dep.condition} dependency target must not be essential.`,
        );
      }
    }
  }
  // dependency cycles
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (n: string) => {
    if (done.has(n)) return;
    if (visiting.has(n)) throw client(`The container dependencies form a cycle through '${n}'.`);
    visiting.add(n);
    for (const dep of out.find((x) => x.name === n)!.dependsOn ?? []) visit(dep.containerName!);
    visiting.delete(n);
    done.add(n);
  };
  for (const d of out) visit(d.name!);
  return out;
}

export function registerTaskDefinition(state: EcsState, ctx: RequestContext, input: RegisterTaskDefinitionRequest): TaskDefRecord {
  const family = input.family ?? "";
  if (!FAMILY.test(family)) throw client("Family contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.");
  validateTags(input.tags);
  const requires = input.requiresCompatibilities ?? [];
  for (const r of requires) if (!["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"].includes(r)) throw client(`Invalid requiresCompatibilities value '${r}'.`);
  const fargate = requires.includes("FARGATE");
  const networkMode = input.networkMode;
  if (networkMode && !["bridge", "host", "awsvpc", "none"].includes(networkMode)) throw client(`Invalid networkMode '${networkMode}'.`);
  checkEphemeralSize(input.ephemeralStorage?.sizeInGiB, "ephemeralStorage");
  let cpu = input.cpu;
  let memory = input.memory;
  if (fargate) {
    if (networkMode !== "awsvpc") throw client(`Fargate only supports network mode 'awsvpc'.`);
    if (!cpu) throw client("Fargate requires that 'cpu' be defined at the task level.");
    if (!memory) throw client("Fargate requires that 'memory' be defined at the task level.");
    // Fargate for Linux shares a process namespace only among the task's own containers
    // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_definition_pidmode)
    if (input.pidMode === "host") throw client("Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.");
    if (input.ipcMode !== undefined) throw client("Tasks using the Fargate launch type do not support ipcMode.");
  }
  let cpuUnits: number | undefined;
  let memMiB: number | undefined;
  if (cpu !== undefined) {
    cpuUnits = parseCpu(cpu);
    if (cpuUnits === undefined || cpuUnits <= 0) throw client(`Invalid 'cpu' setting for task: '${cpu}'.`);
    cpu = String(cpuUnits);
  }
  if (memory !== undefined) {
    memMiB = parseMemory(memory);
    if (memMiB === undefined || memMiB <= 0) throw client(`Invalid 'memory' setting for task: '${memory}'.`);
    memory = String(memMiB);
  }
  if (fargate && !fargateMemoryOptions(cpuUnits!).includes(memMiB!)) {
    throw client(
      `No Fargate configuration exists for given values: ${cpuUnits} CPU, ${memMiB} memory. See the Amazon ECS documentation for the valid values: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html`,
    );
  }
  const os = input.runtimePlatform?.operatingSystemFamily;
  if (fargate && os && os !== "LINUX" && !os.startsWith("WINDOWS")) throw client(`Invalid operatingSystemFamily '${os}'.`);
  const containers = validateContainers(input.containerDefinitions, fargate || networkMode === "awsvpc");
  // secrets, private registry credentials and environment files are fetched with the execution role
  if (!input.executionRoleArn && containers.some((d) => d.secrets?.length || d.repositoryCredentials || d.environmentFiles?.length)) {
    throw client("When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.");
  }
  // without a task-level memory, each container must say how much it needs
  // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html#ECS-Type-ContainerDefinition-memory)
  if (memory === undefined) {
    const unsized = containers.find((c) => c.memory === undefined && c.memoryReservation === undefined);
    if (unsized) throw client(`Invalid setting for container '${unsized.name}'. At least one of 'memory' or 'memoryReservation' must be specified.`);
  }
  validateLogConfigurations(containers, { fargate, executionRoleArn: input.executionRoleArn });
  const revision = state.nextRevision(family, ctx.region, ctx.principal.accountId);
  const arn = taskDefArn(ctx.region, ctx.principal.accountId, family, revision);
  const compat = networkMode === "awsvpc" ? ["EC2", "FARGATE"] : ["EC2"];
  const def: TaskDefinition = {
    taskDefinitionArn: arn,
    containerDefinitions: containers,
    family,
    taskRoleArn: input.taskRoleArn,
    executionRoleArn: input.executionRoleArn,
    networkMode: networkMode ?? "bridge",
    revision,
    volumes: input.volumes ?? [],
    status: "ACTIVE",
    requiresAttributes: fargate ? [{ name: "com.amazonaws.ecs.capability.docker-remote-api.1.18" }, { name: "ecs.capability.task-eni" }] : [],
    placementConstraints: input.placementConstraints ?? [],
    compatibilities: compat as TaskDefinition["compatibilities"],
    runtimePlatform: input.runtimePlatform,
    requiresCompatibilities: input.requiresCompatibilities,
    cpu,
    memory,
    pidMode: input.pidMode,
    ipcMode: input.ipcMode,
    proxyConfiguration: input.proxyConfiguration,
    inferenceAccelerators: input.inferenceAccelerators,
    ephemeralStorage: input.ephemeralStorage,
    registeredAt: ctx.now,
    registeredBy: ctx.principal.type === "AWSService" ? undefined : ctx.principal.arn,
    enableFaultInjection: input.enableFaultInjection,
  };
  const rec: TaskDefRecord = { arn, family, revision, accountId: ctx.principal.accountId, region: ctx.region, def, tags: input.tags ?? [] };
  ctx.writes.push(state.putTaskDef(rec));
  return rec;
}

function tdCheck(action: string, resource: string): AuthCheck {
  return { action, resource };
}

function familyPattern(ctx: RequestContext, family: string): string {
  return `arn:aws:ecs:${ctx.region}:${ctx.principal.accountId}:task-definition/${family}:*`;
}

export function taskDefinitionOperations(state: EcsState) {
  return {
    RegisterTaskDefinition: defineOperation<RegisterTaskDefinitionRequest, RegisterTaskDefinitionResponse>({
      authorize: (ctx, input): AuthCheck[] => [
        { ...tdCheck("ecs:RegisterTaskDefinition", "*"), context: { "aws:TagKeys": input.tags?.length ? input.tags.map((t) => t.key ?? "") : undefined } },
        ...passRoleChecks(ctx, [input.taskRoleArn, input.executionRoleArn]),
      ],
      handler: function registerTaskDefinitionHandler(ctx, input): RegisterTaskDefinitionResponse {
        const d = registerTaskDefinition(state, ctx, input);
        return { taskDefinition: d.def, tags: d.tags };
      },
    }),
    DescribeTaskDefinition: defineOperation<DescribeTaskDefinitionRequest, DescribeTaskDefinitionResponse, TaskDefRecord | undefined>({
      readOnly: true,
      resolve: (ctx, input) => state.taskDefFor(input.taskDefinition!, ctx.region, ctx.principal.accountId),
      authorize: () => [tdCheck("ecs:DescribeTaskDefinition", "*")],
      handler: function describeTaskDefinition(_ctx, input, d): DescribeTaskDefinitionResponse {
        if (!d) throw client("Unable to describe task definition.");
        const out: DescribeTaskDefinitionResponse = { taskDefinition: d.def };
        if (input.include?.includes("TAGS")) out.tags = d.tags;
        return out;
      },
    }),
    ListTaskDefinitions: defineOperation<ListTaskDefinitionsRequest, ListTaskDefinitionsResponse>({
      readOnly: true,
      authorize: () => [tdCheck("ecs:ListTaskDefinitions", "*")],
      handler: function listTaskDefinitions(ctx, input): ListTaskDefinitionsResponse {
        const status = input.status ?? "ACTIVE";
        const scope = `${ecsScope(ctx.principal.accountId, ctx.region)}|${status}`;
        const p = indexPage(state.taskDefs.index("byStatus"), scope, input, (d) => d.arn, {
          descending: input.sort === "DESC",
          // familyPrefix names one whole family (the API reference's ListTaskDefinitions), unlike
          // ListTaskDefinitionFamilies' familyPrefix, which is a prefix
          prefix: input.familyPrefix ? `${input.familyPrefix}\u0000` : undefined,
          // a record is re-filed whenever it is replaced; this guards against an in-place change
          filter: (d) => d.def.status === status,
        });
        return { taskDefinitionArns: p.items, nextToken: p.nextToken };
      },
    }),
    ListTaskDefinitionFamilies: defineOperation<ListTaskDefinitionFamiliesRequest, ListTaskDefinitionFamiliesResponse>({
      readOnly: true,
      authorize: () => [tdCheck("ecs:ListTaskDefinitionFamilies", "*")],
      handler: function listTaskDefinitionFamilies(ctx, input): ListTaskDefinitionFamiliesResponse {
        const status = input.status ?? "ACTIVE";
        const limit = checkMaxResults(input.maxResults);
        const after = tokenPosition(input.nextToken);
        const base = ecsScope(ctx.principal.accountId, ctx.region);
        const byStatus = state.taskDefs.index("byStatus");
        const prefix = input.familyPrefix || undefined;
        // ACTIVE: families with an ACTIVE revision; INACTIVE: families with none; ALL: any family.
        // Walk one family at a time: "\u0001" sorts after every revision key of a family and
        // before the next family, so each step is one binary search.
        const [index, scope] = status === "ACTIVE" ? [byStatus, `${base}|ACTIVE`] : [state.taskDefs.index("all"), base];
        const hasActive = (family: string) => byStatus.page(`${base}|ACTIVE`, { prefix: `${family}\u0000`, limit: 1 }).items.length > 0;
        const families: string[] = [];
        let more = false;
        let from = after !== undefined ? `${after}\u0001` : undefined;
        for (;;) {
          const d = index.page(scope, { from, prefix, limit: 1 }).items[0];
          if (!d) break;
          from = `${d.family}\u0001`;
          if (status === "INACTIVE" && hasActive(d.family)) continue;
          if (families.length === limit) {
            more = true;
            break;
          }
          families.push(d.family);
        }
        const p = { items: families, nextToken: more ? tokenFor(families[families.length - 1]) : undefined };
        return { families: p.items, nextToken: p.nextToken };
      },
    }),
    DeregisterTaskDefinition: defineOperation<DeregisterTaskDefinitionRequest, DeregisterTaskDefinitionResponse, TaskDefRecord | undefined>({
      resolve: (ctx, input) => state.taskDefFor(input.taskDefinition!, ctx.region, ctx.principal.accountId),
      authorize: (ctx, input, d) => {
        const ref = input.taskDefinition!;
        return [tdCheck("ecs:DeregisterTaskDefinition", d?.arn ?? (ref.startsWith("arn:") ? ref : familyPattern(ctx, ref.split(":")[0])))];
      },
      handler: function deregisterTaskDefinition(ctx, input, d): DeregisterTaskDefinitionResponse {
        if (!/:\d+$/.test(input.taskDefinition!)) throw client("Invalid revision number. Number: " + input.taskDefinition);
        if (!d) throw client("The specified task definition does not exist.");
        if (d.def.status === "ACTIVE") {
          const updated: TaskDefRecord = { ...d, def: { ...d.def, status: "INACTIVE", deregisteredAt: ctx.now } };
          ctx.writes.push(state.putTaskDef(updated));
          return { taskDefinition: updated.def };
        }
        return { taskDefinition: d.def };
      },
    }),
    DeleteTaskDefinitions: defineOperation<DeleteTaskDefinitionsRequest, DeleteTaskDefinitionsResponse, (TaskDefRecord | undefined)[]>({
      resolve: (ctx, input) => (input.taskDefinitions ?? []).map((r) => state.taskDefFor(r, ctx.region, ctx.principal.accountId)),
      authorize: (_ctx, input, defs) => (input.taskDefinitions ?? []).map((r, i) => tdCheck("ecs:DeleteTaskDefinitions", defs[i]?.arn ?? (r.startsWith("arn:") ? r : "*"))),
      handler: function deleteTaskDefinitions(ctx, input, defs): DeleteTaskDefinitionsResponse {
        const refs = input.taskDefinitions ?? [];
        if (refs.length === 0 || refs.length > 10)
          throw new ServiceError("InvalidParameterException", "The taskDefinitions list must contain between 1 and 10 task definitions.", 400);
        const out: DeleteTaskDefinitionsResponse = { taskDefinitions: [], failures: [] };
        for (const [i, r] of refs.entries()) {
          const fail = (reason: string): Failure => ({ arn: r, reason });
          if (!/:\d+$/.test(r)) {
            out.failures!.push(fail("The specified task definition identifier is invalid. Specify a valid name or ARN and try again."));
            continue;
          }
          const d = defs[i];
          if (!d) {
            out.failures!.push(fail("The specified task definition does not exist. Specify a valid task definition and try again."));
            continue;
          }
          if (d.def.status === "ACTIVE") {
            out.failures!.push({ arn: d.arn, reason: "The specified task definition is still in ACTIVE status. Please deregister the target and try again." });
            continue;
          }
          // deleteRequestedAt is the newer model's: when the delete was asked for
          const def = { ...d.def, status: "DELETE_IN_PROGRESS", deleteRequestedAt: ctx.now } as TaskDefinition;
          // Deleted definitions disappear from describe and list; their revision numbers are never reused.
          ctx.writes.push(state.putTaskDef({ ...d, def, deleted: true }));
          out.taskDefinitions!.push(def);
        }
        return out;
      },
    }),
  };
}

/** HealthCheck's ranges (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html), in seconds. */
const HEALTH_CHECK_RANGES = { interval: [5, 300], timeout: [2, 120], retries: [1, 10], startPeriod: [0, 300] } as const;

/** A container's healthCheck, checked, with ECS's defaults for interval, timeout and retries filled in as DescribeTaskDefinition shows them. */
function checkedHealthCheck(name: string, h: HealthCheck): HealthCheck {
  const [kind, ...rest] = h.command ?? [];
  if ((kind !== "CMD" && kind !== "CMD-SHELL") || rest.length === 0 || rest.some((a) => typeof a !== "string")) {
    throw client(`Container '${name}': healthCheck.command must be ["CMD", "executable", "arg", ...] or ["CMD-SHELL", "command line"].`);
  }
  for (const [field, [min, max]] of Object.entries(HEALTH_CHECK_RANGES)) {
    const v = h[field as keyof typeof HEALTH_CHECK_RANGES];
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) {
      throw client(`Container '${name}': healthCheck.${field} must be between ${min} and ${max}${field === "retries" ? "" : " seconds"}.`);
    }
  }
  return { ...h, interval: h.interval ?? 30, timeout: h.timeout ?? 5, retries: h.retries ?? 3 };
}
