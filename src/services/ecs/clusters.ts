/** ECS clusters: create/update (with the Fargate ephemeral storage key), describe, list, delete. */
import type {
  Cluster,
  ClusterConfiguration,
  ClusterSetting,
  CreateClusterRequest,
  CreateClusterResponse,
  DeleteClusterRequest,
  DeleteClusterResponse,
  DescribeClustersRequest,
  DescribeClustersResponse,
  KeyValuePair,
  ListClustersRequest,
  ListClustersResponse,
  PutClusterCapacityProvidersRequest,
  PutClusterCapacityProvidersResponse,
  UpdateClusterRequest,
  UpdateClusterResponse,
  UpdateClusterSettingsRequest,
  UpdateClusterSettingsResponse,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { found, lookup, valueOf, type Lookup } from "./lookup.ts";
import { dryRunChecks } from "../../fargate/kms-calls.ts";
import { invokeFargateKms } from "./fargate-port.ts";
import { CLUSTER_NAME, clusterArn, ecsScope, type ClusterRecord, type EcsState, validateTags } from "./state.ts";
import { indexPage } from "./paging.ts";
import { ensureEcsLinkedRole } from "./service-linked-role.ts";
import type { AccountSettings } from "./account-settings.ts";
import type { CapacityProviders } from "./capacity-providers.ts";

export const FARGATE_KEY_CONDITION = "ecs:fargate-ephemeral-storage-kms-key";

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

/** The condition key: the raw string from the request; absent when the member is absent or empty. */
export function keyConditionContext(configuration: ClusterConfiguration | undefined): AuthCheck["context"] {
  const raw = configuration?.managedStorageConfiguration?.fargateEphemeralStorageKmsKeyId;
  return { [FARGATE_KEY_CONDITION]: raw === undefined || raw === "" ? undefined : raw };
}

const KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/;
const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;

interface KeyMetadataLike {
  Arn?: string;
  KeyId?: string;
  KeyState?: string;
  KeySpec?: string;
  CustomerMasterKeySpec?: string;
  KeyUsage?: string;
  MultiRegion?: boolean;
}

/**
 * Attach-time checks for a cluster's Fargate ephemeral storage key, as ECS does them: key ID or
 * key ARN only (no aliases), in the cluster's region, DescribeKey allowed to the caller, an
 * enabled symmetric single-Region key, and the key policy lets Fargate (DryRun) generate data
 * keys and create grants for this cluster. Returns the key ARN.
 */
export async function checkFargateKey(ctx: RequestContext, clusterName: string, raw: string, member = "fargateEphemeralStorageKmsKeyId", fargate = true): Promise<string> {
  const region = ctx.region;
  const account = ctx.principal.accountId;
  const id = raw.trim();
  if (id.startsWith("alias/") || /^arn:aws[a-z-]*:kms:[^:]*:[^:]*:alias\//.test(id)) {
    throw invalid(`${member}: KMS key aliases are not supported for Fargate ephemeral storage. Specify a key ID or key ARN instead of '${raw}'.`);
  }
  const arnMatch = KEY_ARN.exec(id);
  if (arnMatch) {
    if (arnMatch[1] !== region) throw invalid(`${member}: the KMS key '${raw}' is in region ${arnMatch[1]}; it must be in the cluster's region ${region}.`);
  } else if (!KEY_ID.test(id)) {
    throw invalid(`${member}: '${raw}' is not a valid KMS key ID or key ARN.`);
  }
  if (/(^|\/)mrk-/.test(id)) throw invalid(`${member}: Multi-Region keys are not supported for Fargate ephemeral storage ('${raw}').`);
  let meta: KeyMetadataLike;
  try {
    const out = await ctx.app.invoke<{ KeyMetadata: KeyMetadataLike }>(
      "kms",
      "DescribeKey",
      { KeyId: id },
      { principal: ctx.principal, region, viaService: "ecs.amazonaws.com", sourceIp: ctx.sourceIp, userAgent: ctx.userAgent },
    );
    meta = out.KeyMetadata;
  } catch (e) {
    if (e instanceof ServiceError) {
      if (e.code === "NotFoundException") throw invalid(`${member}: the KMS key '${raw}' does not exist in region ${region}.`);
      if (e.code === "AccessDeniedException")
        throw new ServiceError("ClientException", `${member}: you are not authorized to use the KMS key '${raw}': kms:DescribeKey was denied (${e.message})`, 400);
      throw invalid(`${member}: the KMS key '${raw}' cannot be used: ${e.message} (${e.code})`);
    }
    throw e;
  }
  const arn = meta.Arn!;
  if (meta.MultiRegion) throw invalid(`${member}: Multi-Region keys are not supported for Fargate ephemeral storage (${arn}).`);
  const spec = meta.KeySpec ?? meta.CustomerMasterKeySpec;
  if (spec !== "SYMMETRIC_DEFAULT" || meta.KeyUsage !== "ENCRYPT_DECRYPT") {
    throw invalid(`${member}: the KMS key ${arn} must be a symmetric encryption key (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT); it is ${spec} ${meta.KeyUsage}.`);
  }
  if (meta.KeyState !== "Enabled") throw invalid(`${member}: the KMS key ${arn} is not enabled (key state ${meta.KeyState}).`);
  if (!fargate) return arn;
  try {
    await dryRunChecks(invokeFargateKms(ctx.app), arn, region, account, clusterName);
  } catch (e) {
    const err = e instanceof ServiceError ? e : undefined;
    throw new ServiceError(
      "ClientException",
      `${member}: the key policy of ${arn} does not allow Fargate (fargate.amazonaws.com) to use it for cluster ${clusterName}: ${err ? `${err.message} (${err.code})` : String(e)}`,
      400,
    );
  }
  return arn;
}

/** Validates and normalises a configuration; returns it with keys as ARNs. */
async function resolveConfiguration(
  ctx: RequestContext,
  clusterName: string,
  cfg: ClusterConfiguration | undefined,
  previous: ClusterConfiguration | undefined,
): Promise<ClusterConfiguration | undefined> {
  if (!cfg) return previous;
  const out: ClusterConfiguration = { ...(previous ?? {}) };
  if (cfg.executeCommandConfiguration) {
    const l = cfg.executeCommandConfiguration.logging;
    if (l && !["NONE", "DEFAULT", "OVERRIDE"].includes(l)) throw invalid(`Invalid execute command logging value '${l}'.`);
    out.executeCommandConfiguration = cfg.executeCommandConfiguration;
  }
  if (cfg.managedStorageConfiguration) {
    // Present: replaces the previous managed storage configuration. A member that is absent or
    // "" is cleared (see docs/ecs-fargate.md).
    const m = cfg.managedStorageConfiguration;
    const ms: NonNullable<ClusterConfiguration["managedStorageConfiguration"]> = {};
    // kmsKeyId is for ECS-managed EBS volumes: the same key checks, without Fargate's DryRun calls.
    if (m.kmsKeyId) ms.kmsKeyId = await checkFargateKey(ctx, clusterName, m.kmsKeyId, "kmsKeyId", false);
    if (m.fargateEphemeralStorageKmsKeyId) ms.fargateEphemeralStorageKmsKeyId = await checkFargateKey(ctx, clusterName, m.fargateEphemeralStorageKmsKeyId);
    if (Object.keys(ms).length) out.managedStorageConfiguration = ms;
    else delete out.managedStorageConfiguration;
  }
  return Object.keys(out).length ? out : undefined;
}

function validateSettings(settings: ClusterSetting[] | undefined): ClusterSetting[] | undefined {
  if (!settings) return undefined;
  for (const s of settings) {
    if (s.name !== "containerInsights") throw invalid(`Invalid cluster setting name '${s.name}'.`);
    if (!["enabled", "disabled", "enhanced"].includes(s.value ?? ""))
      throw invalid(`Invalid value '${s.value}' for cluster setting containerInsights: use enabled, enhanced or disabled.`);
  }
  return settings;
}

/** What cluster calls read beside the clusters: account settings and the account's capacity providers. */
export interface ClusterDeps {
  settings: AccountSettings;
  providers: CapacityProviders;
}

function validateCapacityProviders(
  ctx: RequestContext,
  deps: ClusterDeps,
  names: string[] | undefined,
  strategy: { capacityProvider?: string; weight?: number; base?: number }[] | undefined,
): void {
  for (const n of names ?? [])
    if (!deps.providers.exists(ctx.region, ctx.principal.accountId, n))
      throw invalid(`The specified capacity provider '${n}' is not in an ACTIVE state. Specify a valid capacity provider and try again.`);
  for (const s of strategy ?? []) {
    if (!names?.includes(s.capacityProvider ?? ""))
      throw invalid(
        `The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.`,
      );
    if (s.weight !== undefined && (s.weight < 0 || s.weight > 1000)) throw invalid("Capacity provider strategy weight must be between 0 and 1000.");
    if (s.base !== undefined && (s.base < 0 || s.base > 100000)) throw invalid("Capacity provider strategy base must be between 0 and 100000.");
  }
  if ((strategy ?? []).filter((s) => (s.base ?? 0) > 0).length > 1) throw invalid("A capacity provider strategy can have a base value for only one capacity provider.");
}

export function clusterOutput(state: EcsState, c: ClusterRecord, include: Iterable<string> | "all"): Cluster {
  const inc = include === "all" ? new Set(["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"]) : new Set(include);
  let running = 0;
  let pending = 0;
  for (const t of state.tasksOfCluster(c.arn)) {
    if (t.task.lastStatus === "RUNNING") running++;
    else if (t.task.lastStatus !== "STOPPED" && t.task.desiredStatus === "RUNNING") pending++;
  }
  let activeServices = 0;
  let draining = 0;
  for (const s of state.servicesOfCluster(c.arn)) {
    if (s.status === "ACTIVE") activeServices++;
    else if (s.status === "DRAINING") draining++;
  }
  const out: Cluster = {
    clusterArn: c.arn,
    clusterName: c.name,
    status: c.status,
    registeredContainerInstancesCount: 0,
    runningTasksCount: running,
    pendingTasksCount: pending,
    activeServicesCount: activeServices,
    capacityProviders: c.capacityProviders,
    defaultCapacityProviderStrategy: c.defaultCapacityProviderStrategy,
  };
  if (inc.has("CONFIGURATIONS") && c.configuration) out.configuration = c.configuration;
  if (inc.has("SETTINGS")) out.settings = c.settings;
  if (inc.has("TAGS")) out.tags = c.tags;
  if (inc.has("STATISTICS")) {
    const stat = (name: string, v: number): KeyValuePair => ({ name, value: String(v) });
    out.statistics = [
      stat("runningEC2TasksCount", 0),
      stat("runningFargateTasksCount", running),
      stat("pendingEC2TasksCount", 0),
      stat("pendingFargateTasksCount", pending),
      stat("activeEC2ServiceCount", 0),
      stat("activeFargateServiceCount", activeServices),
      stat("drainingEC2ServiceCount", 0),
      stat("drainingFargateServiceCount", draining),
    ];
  }
  if (inc.has("ATTACHMENTS")) {
    out.attachments = [];
    out.attachmentsStatus = "UPDATE_COMPLETE";
  }
  if (c.serviceConnectDefaults) out.serviceConnectDefaults = c.serviceConnectDefaults;
  return out;
}

function acct(ctx: RequestContext): string {
  return ctx.principal.accountId;
}

function createClusterOperation(state: EcsState, deps: ClusterDeps) {
  return defineOperation<CreateClusterRequest, CreateClusterResponse>({
    authorize: function authorizeCreateCluster(ctx, input): AuthCheck[] {
      const name = input.clusterName ?? "default";
      return [
        {
          action: "ecs:CreateCluster",
          resource: clusterArn(ctx.region, acct(ctx), CLUSTER_NAME.test(name) ? name : "*"),
          context: {
            ...keyConditionContext(input.configuration),
            "aws:TagKeys": input.tags?.length ? input.tags.map((t) => t.key ?? "") : undefined,
            "ecs:capacity-provider": input.capacityProviders?.length ? input.capacityProviders : undefined,
          },
        },
      ];
    },
    handler: async function createCluster(ctx, input): Promise<CreateClusterResponse> {
      const name = input.clusterName ?? "default";
      if (!CLUSTER_NAME.test(name))
        throw invalid(
          "Clusters can only contain letters, numbers, underscores and hyphens. Up to 255 letters (uppercase and lowercase), numbers, underscores and hyphens are allowed.",
        );
      validateTags(input.tags);
      // a cluster created without the setting takes the caller's effective containerInsights account setting
      const settings = validateSettings(input.settings) ?? [{ name: "containerInsights", value: deps.settings.effectiveFor(ctx, "containerInsights") }];
      validateCapacityProviders(ctx, deps, input.capacityProviders, input.defaultCapacityProviderStrategy);
      const arn = clusterArn(ctx.region, acct(ctx), name);
      const existing = state.clusters.get(arn);
      if (existing && existing.status === "ACTIVE") {
        // CreateCluster is idempotent on the name: the existing cluster is returned.
        return { cluster: clusterOutput(state, existing, "all") };
      }
      const configuration = await resolveConfiguration(ctx, name, input.configuration, undefined);
      await ensureEcsLinkedRole(ctx);
      const c: ClusterRecord = {
        arn,
        name,
        accountId: acct(ctx),
        region: ctx.region,
        status: "ACTIVE",
        configuration,
        settings,
        capacityProviders: input.capacityProviders ?? [],
        defaultCapacityProviderStrategy: input.defaultCapacityProviderStrategy ?? [],
        tags: input.tags ?? [],
        serviceConnectDefaults: input.serviceConnectDefaults?.namespace ? { namespace: input.serviceConnectDefaults.namespace } : undefined,
        createdAt: ctx.now,
      };
      ctx.writes.push(state.putCluster(c));
      return { cluster: clusterOutput(state, c, "all") };
    },
  });
}

/** A cluster named by a call that changes it: a malformed reference is refused before authorization. */
interface NamedCluster {
  arn: string;
  cluster: Lookup<ClusterRecord>;
}

function resolveNamedCluster(state: EcsState, ctx: RequestContext, ref: string | undefined): NamedCluster {
  const arn = state.clusterArnFor(ref, ctx.region, acct(ctx));
  return { arn, cluster: lookup(() => state.activeCluster(arn, ctx.region, acct(ctx))) };
}

function clusterCheck(state: EcsState, ctx: RequestContext, action: string, arn: string, context?: AuthCheck["context"]): AuthCheck[] {
  return [{ action, resource: arn, ...(context ? { context } : {}), resourceTags: state.tagsOf(arn, ctx.region, acct(ctx)) }];
}

function updateClusterOperation(state: EcsState) {
  return defineOperation<UpdateClusterRequest, UpdateClusterResponse, NamedCluster>({
    resolve: function resolveUpdateCluster(ctx, input) {
      return resolveNamedCluster(state, ctx, input.cluster);
    },
    authorize: function authorizeUpdateCluster(ctx, input, { arn }) {
      return clusterCheck(state, ctx, "ecs:UpdateCluster", arn, keyConditionContext(input.configuration));
    },
    handler: async function updateCluster(ctx, input, resolved): Promise<UpdateClusterResponse> {
      const c = found(resolved.cluster);
      const settings = validateSettings(input.settings);
      const configuration = await resolveConfiguration(ctx, c.name, input.configuration, c.configuration);
      const updated: ClusterRecord = { ...c, configuration, settings: settings ? mergeSettings(c.settings, settings) : c.settings };
      if (input.serviceConnectDefaults) updated.serviceConnectDefaults = input.serviceConnectDefaults.namespace ? { namespace: input.serviceConnectDefaults.namespace } : undefined;
      ctx.writes.push(state.putCluster(updated));
      return { cluster: clusterOutput(state, updated, "all") };
    },
  });
}

function updateClusterSettingsOperation(state: EcsState) {
  return defineOperation<UpdateClusterSettingsRequest, UpdateClusterSettingsResponse, NamedCluster>({
    resolve: function resolveUpdateClusterSettings(ctx, input) {
      return resolveNamedCluster(state, ctx, input.cluster);
    },
    authorize: function authorizeUpdateClusterSettings(ctx, _input, { arn }) {
      return clusterCheck(state, ctx, "ecs:UpdateClusterSettings", arn);
    },
    handler: function updateClusterSettings(ctx, input, resolved): UpdateClusterSettingsResponse {
      const c = found(resolved.cluster);
      const settings = validateSettings(input.settings) ?? [];
      const updated = { ...c, settings: mergeSettings(c.settings, settings) };
      ctx.writes.push(state.putCluster(updated));
      return { cluster: clusterOutput(state, updated, "all") };
    },
  });
}

function putClusterCapacityProvidersOperation(state: EcsState, deps: ClusterDeps) {
  return defineOperation<PutClusterCapacityProvidersRequest, PutClusterCapacityProvidersResponse, NamedCluster>({
    resolve: function resolvePutClusterCapacityProviders(ctx, input) {
      return resolveNamedCluster(state, ctx, input.cluster);
    },
    authorize: function authorizePutClusterCapacityProviders(ctx, input, { arn }) {
      return clusterCheck(state, ctx, "ecs:PutClusterCapacityProviders", arn, { "ecs:capacity-provider": input.capacityProviders?.length ? input.capacityProviders : undefined });
    },
    handler: function putClusterCapacityProviders(ctx, input, resolved): PutClusterCapacityProvidersResponse {
      const c = found(resolved.cluster);
      validateCapacityProviders(ctx, deps, input.capacityProviders, input.defaultCapacityProviderStrategy);
      const updated = { ...c, capacityProviders: input.capacityProviders ?? [], defaultCapacityProviderStrategy: input.defaultCapacityProviderStrategy ?? [] };
      ctx.writes.push(state.putCluster(updated));
      return { cluster: clusterOutput(state, updated, "all") };
    },
  });
}

/** One cluster reference of DescribeClusters: the ARN it names (or MISSING when malformed) and the caller's cluster. */
interface DescribedCluster {
  ref: string;
  arn: string | undefined;
  cluster: ClusterRecord | undefined;
}

function describeClustersOperation(state: EcsState) {
  return defineOperation<DescribeClustersRequest, DescribeClustersResponse, DescribedCluster[]>({
    readOnly: true,
    resolve: function resolveDescribeClusters(ctx, input) {
      const refs = input.clusters?.length ? input.clusters : ["default"];
      return refs.map((ref) => {
        const arn = valueOf(lookup(() => state.clusterArnFor(ref, ctx.region, acct(ctx))));
        return { ref, arn, cluster: arn === undefined ? undefined : state.cluster(arn, ctx.region, acct(ctx)) };
      });
    },
    authorize: function authorizeDescribeClusters(ctx, _input, described): AuthCheck[] {
      return described.map(({ arn }) => ({ action: "ecs:DescribeClusters", resource: arn ?? "*", resourceTags: state.tagsOf(arn ?? "*", ctx.region, acct(ctx)) }));
    },
    handler: function describeClusters(_ctx, input, described): DescribeClustersResponse {
      if (described.length > 100) throw invalid("The number of clusters must be 100 or fewer.");
      const include = input.include ?? [];
      const out: DescribeClustersResponse = { clusters: [], failures: [] };
      for (const { ref, arn, cluster } of described) {
        if (cluster) out.clusters!.push(clusterOutput(state, cluster, include));
        else out.failures!.push({ arn: arn ?? ref, reason: "MISSING" });
      }
      return out;
    },
  });
}

function listClustersOperation(state: EcsState) {
  return defineOperation<ListClustersRequest, ListClustersResponse>({
    readOnly: true,
    authorize: () => [{ action: "ecs:ListClusters", resource: "*" }],
    handler: function listClusters(ctx, input): ListClustersResponse {
      const p = indexPage(state.clusters.index("active"), ecsScope(acct(ctx), ctx.region), input, (c) => c.arn);
      return { clusterArns: p.items, nextToken: p.nextToken };
    },
  });
}

function deleteClusterOperation(state: EcsState) {
  return defineOperation<DeleteClusterRequest, DeleteClusterResponse, NamedCluster>({
    resolve: function resolveDeleteCluster(ctx, input) {
      return resolveNamedCluster(state, ctx, input.cluster);
    },
    authorize: function authorizeDeleteCluster(ctx, _input, { arn }) {
      return clusterCheck(state, ctx, "ecs:DeleteCluster", arn);
    },
    handler: function deleteCluster(ctx, _input, resolved): DeleteClusterResponse {
      const c = found(resolved.cluster);
      if (state.servicesOfCluster(c.arn).some((s) => s.status !== "INACTIVE")) {
        throw new ServiceError("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.", 400);
      }
      if (state.tasksOfCluster(c.arn).some((t) => t.task.lastStatus !== "STOPPED")) {
        throw new ServiceError("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.", 400);
      }
      const updated: ClusterRecord = { ...c, status: "INACTIVE" };
      ctx.writes.push(state.putCluster(updated));
      return { cluster: clusterOutput(state, updated, "all") };
    },
  });
}

export function clusterOperations(state: EcsState, deps: ClusterDeps) {
  return {
    CreateCluster: createClusterOperation(state, deps),
    UpdateCluster: updateClusterOperation(state),
    UpdateClusterSettings: updateClusterSettingsOperation(state),
    PutClusterCapacityProviders: putClusterCapacityProvidersOperation(state, deps),
    DescribeClusters: describeClustersOperation(state),
    ListClusters: listClustersOperation(state),
    DeleteCluster: deleteClusterOperation(state),
  };
}

function mergeSettings(existing: ClusterSetting[], next: ClusterSetting[]): ClusterSetting[] {
  const m = new Map(existing.map((s) => [s.name, s.value]));
  for (const s of next) m.set(s.name, s.value);
  return [...m].map(([name, value]) => ({ name, value }));
}
