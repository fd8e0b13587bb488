/**
 * Amazon ECS (awsJson1_1, AmazonEC2ContainerServiceV20141113): clusters with the Fargate
 * ephemeral storage key, task definitions, tasks and services. The Fargate data plane
 * (src/fargate) runs the tasks; it is created here, with the storage driver chosen at start.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { registerEcsLinkedRoleUsage } from "./service-linked-role.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ecsShapes, type EcsOperation } from "../../protocol/shapes/ecs.gen.ts";
import type { AppContext } from "../../kernel/context.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { FargateDataPlane } from "../../fargate/reconciler.ts";
import { chooseStorageDriver, volumeIdOfTask, type StorageDriver } from "../../fargate/storage/index.ts";
import { TaskUserPool } from "../../fargate/task-users.ts";
import { TaskOutputStore } from "../../fargate/task-output.ts";
import { createKeyFile, lazyCheckedKey } from "../../store/key-file.ts";
import { chooseContainerRuntime, describeRuntime, ImageStore, type ContainerRuntime } from "../../fargate/runtime/select.ts";
import { clusterOperations } from "./clusters.ts";
import { AccountSettings, accountSettingOperations } from "./account-settings.ts";
import { withTagAuthorization } from "./tag-authorization.ts";
import { CapacityProviders, capacityProviderOperations, type ProviderUse } from "./capacity-providers.ts";
import { found, lookupCluster } from "./lookup.ts";
import { serviceOperations, type ServicePlane } from "./services.ts";
import { taskSetOperations } from "./task-sets.ts";
import { serviceDeploymentOperations } from "./service-deployment-operations.ts";
import { quotasFromOptions } from "./quotas.ts";
import { EcsState, ecsScope } from "./state.ts";
import { tagOperations } from "./tags.ts";
import { taskDefinitionOperations } from "./task-definitions.ts";
import { taskOperations } from "./tasks.ts";
import type { TaskPlane } from "../../fargate/port.ts";
import { metadataUri, serverUrl } from "../../fargate/metadata.ts";
import { credentialsEnvironment } from "../../fargate/task-credentials.ts";
import { EcsTaskRoles } from "./task-roles.ts";
import { EcsController } from "./controller.ts";
import { ecsTaskReports, invokeFargateKms } from "./fargate-port.ts";
import { taskSecrets } from "./task-secrets.ts";
import { TaskLogShipper, withTaskLogs } from "./task-logs.ts";
import type { TaskRecord } from "./state.ts";
import { defineServiceModule, type ModuleInstance, type ServiceDef } from "../../kernel/service.ts";

/** The key file that seals each task's output data key (docs/ecs-fargate.md#task-output). */
export const TASK_OUTPUT_KEY_FILE = "task-output.key";

/**
 * Where task output lives: `<data dir>/task-output` under the data dir's checked key file, or,
 * for a server without a data dir, beside its temporary volumes under a key that lives only in memory.
 */
function openTaskOutput(app: AppContext, baseDir: string): TaskOutputStore {
  const now = () => app.clock.nowMs();
  const dataDir = app.dataDir;
  if (!dataDir) return new TaskOutputStore(join(baseDir, "task-output"), randomBytes(32), now);
  const dir = join(dataDir, "task-output");
  const key = lazyCheckedKey({
    dataDir,
    fileName: TASK_OUTPUT_KEY_FILE,
    store: app.store,
    metaKey: "ecs.taskOutputKeyCheck",
    protects: "task outputs",
    hasSealedData: () => existsSync(dir) && readdirSync(dir).length > 0,
    create: () => createKeyFile(dataDir, TASK_OUTPUT_KEY_FILE),
  });
  return new TaskOutputStore(dir, key, now);
}

export const PLAIN_WARNING = "ephemeral storage is not encrypted at rest (plain storage driver)";

declare module "../../kernel/context.ts" {
  interface Provided {
    /** the control plane's records (the data plane and the task metadata endpoint read them) */
    ecs: EcsState;
    fargate: FargateDataPlane<TaskRecord>;
  }
}

/**
 * The server's URL as a process on this machine reaches it: a wildcard bind is reached on
 * loopback, the address the SDKs accept for AWS_CONTAINER_CREDENTIALS_FULL_URI.
 */
function loopbackUrl(app: AppContext): string {
  const url = new URL(serverUrl(app));
  if (url.hostname === "0.0.0.0" || url.hostname === "[::]") url.hostname = "127.0.0.1";
  return url.origin;
}

/** Every ECS operation, keyed by the names the official model gives them. */
export function ecsOperations(state: EcsState, plane: TaskPlane<TaskRecord>, scheduler: ServicePlane): OperationTable<EcsOperation> {
  const settings = new AccountSettings(state.store);
  const providers = new CapacityProviders(state.store);
  return withTagAuthorization(
    {
      ...clusterOperations(state, { settings, providers }),
      ...accountSettingOperations(settings),
      ...capacityProviderOperations(providers, providerUse(state), (ctx, ref) => found(lookupCluster(state, ctx, ref).cluster).capacityProviders),
      ...taskDefinitionOperations(state),
      ...taskOperations(state, plane),
      ...serviceOperations(state, scheduler),
      ...taskSetOperations(state, scheduler),
      ...serviceDeploymentOperations(state, scheduler),
      ...tagOperations(state, providers),
    },
    settings,
  );
}

/** Where an account's capacity provider is in use: associated with an ACTIVE cluster, or in a live service's strategy. */
function providerUse(state: EcsState): ProviderUse {
  return (region, account, name) => {
    const clusters = [...state.clusters.index("active").all(ecsScope(account, region))];
    return {
      clusters: clusters.some((c) => c.capacityProviders.includes(name)),
      services: clusters.some((c) =>
        state.servicesOfCluster(c.arn).some((s) => s.status !== "INACTIVE" && (s.capacityProviderStrategy ?? []).some((i) => i.capacityProvider === name)),
      ),
    };
  };
}

export const ecsModule = defineServiceModule({
  name: "ecs",
  needs: ["kms"],
  create: createEcsModule,
});

/** What /_localfargate/health says of the runtime until prepareHost is done. */
export const PENDING_RUNTIME = "probing crun, skopeo, umoci, root and network namespaces and removing what an earlier run left; tasks start once done";

/**
 * Chooses the container runtime (crun removes the containers, bind mounts and network namespaces
 * an earlier run left first, which would otherwise still hold that run's volumes), then removes
 * the processes and volumes left by an earlier run, even after a crash (their tasks are reported
 * STOPPED by the controller's recovery). Safe: createApp holds the data dir lock, so no other
 * server is using them (docs/server.md).
 */
async function prepareHost(app: AppContext, driver: StorageDriver, runtimeChoice: "auto" | "crun" | "host"): Promise<ContainerRuntime> {
  let runtime: ContainerRuntime;
  if (!app.dataDir && runtimeChoice !== "host") runtime = { kind: "host", reason: "the server runs without a data directory" };
  else {
    const dataDir = app.dataDir ?? "";
    runtime = await chooseContainerRuntime(runtimeChoice, dataDir, () => ImageStore.shared(join(dataDir, "images")), { internet: app.options.taskInternet !== false });
  }
  await driver.cleanupAll();
  app.health.containerRuntime = describeRuntime(runtime, runtimeChoice);
  return runtime;
}

async function createEcsModule(app: AppContext): Promise<ModuleInstance> {
  const state = new EcsState(app.store);
  state.fargateQuotas = quotasFromOptions(app.options);
  let baseDir: string;
  let tempBase = false;
  if (app.dataDir) baseDir = join(app.dataDir, "volumes");
  else {
    baseDir = mkdtempSync(join(tmpdir(), "localfargate-volumes-"));
    tempBase = true;
  }
  let fallback: string | undefined;
  let sizeNote: string | undefined;
  const driver = await chooseStorageDriver({
    baseDir,
    override: app.options.storageDriver,
    onFallback: (reason) => (fallback = reason),
    onSizeNote: (note) => (sizeNote = note),
  });
  app.health.storage = {
    driver: driver.name,
    encryptedAtRest: driver.encryptsAtRest,
    sizedVolumes: driver.sizedVolumes,
    ...(sizeNote ? { sizeNote } : {}),
    ...(driver.encryptsAtRest ? {} : { warning: PLAIN_WARNING, ...(fallback ? { reason: fallback } : {}) }),
  };
  const runtimeChoice = app.options.containerRuntime ?? "host";
  if (!app.dataDir && runtimeChoice === "crun") throw new Error("Container runtime 'crun' needs a data directory (images, crun state, network allocations)");
  // Probing the runtime and removing what an earlier run left take tens of milliseconds of child
  // processes and /proc scans: they run while the server already answers, and tasks launch once
  // they are done (docs/performance.md#start-up).
  app.health.containerRuntime = { runtime: "pending", reason: PENDING_RUNTIME };
  const host = prepareHost(app, driver, runtimeChoice);
  host.catch(() => undefined); // the start awaits it (ready below) and reports its failure
  const users = new TaskUserPool();
  app.health.taskIsolation = users.describe();
  const roles = new EcsTaskRoles(app);
  const reports = ecsTaskReports(state, app.clock, roles);
  const output = openTaskOutput(app, baseDir);
  // Output of tasks whose records are gone (expired while the server was down) goes with them.
  output.removeAllExcept(state.tasks.keys());
  const taskLogs = new TaskLogShipper(app, output);
  state.onTaskChange.push((t) => taskLogs.onTaskChange(t));
  const plane = new FargateDataPlane<TaskRecord>(
    {
      kms: invokeFargateKms(app),
      reports,
      clock: app.clock,
      driver,
      newVolumeId: volumeIdOfTask,
      users,
      metadataUri: (t, container, reach) => metadataUri(app, t, container, reach),
      roles,
      roleEnvironment: async (t, reach) =>
        credentialsEnvironment(await roles.startTaskRole(t), reach === "host" ? { kind: "host", serverUrl: loopbackUrl(app) } : { kind: "namespace" }),
      output,
      secrets: withTaskLogs(taskSecrets(app, state), taskLogs),
    },
    host.then((runtime) =>
      runtime.kind === "crun" ? { runtime, taskEndpoint: async (address: string, prefixLength: number) => app.find("taskEndpoint")?.(address, prefixLength) } : {},
    ),
  );
  const controller = new EcsController(app, state, plane);
  registerEcsLinkedRoleUsage(app, state);
  state.onTaskChange.push(() => controller.poke());
  const def: ServiceDef = {
    name: "ecs",
    signingName: "ecs",
    iamPrefix: "ecs",
    protocol: "json",
    targetPrefixes: ["AmazonEC2ContainerServiceV20141113"],
    shapes: ecsShapes,
    eventSource: "ecs.amazonaws.com",
    operations: ecsOperations(state, plane, controller),
  };
  return {
    services: [def],
    provides: { ecs: state, fargate: plane, fargateTasks: reports, taskRoles: roles },
    dueRunners: [controller],
    ready: host.then(() => undefined),
    async shutdown() {
      controller.close();
      await plane.close();
      await taskLogs.close();
      // the bridge and the host nft table go with the server (docs/ecs-fargate.md#awsvpc-networking)
      const runtime = await host.catch(() => undefined);
      if (runtime?.kind === "crun") await runtime.network.close().catch((e: Error) => console.error(`[localfargate] task network not removed: ${e.message}`));
      if (tempBase) rmSync(baseDir, { recursive: true, force: true });
    },
  };
}
