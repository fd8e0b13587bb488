/**
 * ECS capacity providers (docs/ecs-fargate.md#capacity-providers): FARGATE and FARGATE_SPOT exist
 * in every account and Region and cannot be changed; an account's own providers name an Auto
 * Scaling group. localfargate has no EC2 instances, so no task runs on those: they can be
 * created, described, updated, associated with clusters and deleted, as AWS's rules allow
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCapacityProvider.html).
 */
import type {
  AutoScalingGroupProvider,
  CapacityProvider,
  CreateCapacityProviderRequest,
  CreateCapacityProviderResponse,
  DeleteCapacityProviderRequest,
  DeleteCapacityProviderResponse,
  DescribeCapacityProvidersRequest,
  DescribeCapacityProvidersResponse,
  ManagedScaling,
  Tag,
  UpdateCapacityProviderRequest,
  UpdateCapacityProviderResponse,
} from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import type { Store, WriteOp } from "../../store/store.ts";
import { checkMaxResults, tokenFor, tokenPosition } from "./paging.ts";
import { validateTags } from "./state.ts";

export const KIND_CAPACITY_PROVIDER = "ecs.capacityProvider";
export const FARGATE_PROVIDERS = ["FARGATE", "FARGATE_SPOT"];
const NAME = /^[a-zA-Z0-9_-]{1,255}$/;
const ASG_ARN = /^arn:aws[a-z-]*:autoscaling:([a-z0-9-]+):(\d{12}):autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/(.{1,255})$/;

export interface CapacityProviderRecord {
  arn: string;
  name: string;
  accountId: string;
  region: string;
  autoScalingGroupProvider: AutoScalingGroupProvider;
  tags: Tag[];
}

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidParameterException", message, 400);
}

function client(message: string): ServiceError {
  return new ServiceError("ClientException", message, 400);
}

export function capacityProviderArn(region: string, account: string, name: string): string {
  return `arn:aws:ecs:${region}:${account}:capacity-provider/${name}`;
}

/** The account's own capacity providers, in memory and persisted in the store. */
export class CapacityProviders {
  private readonly records = new Map<string, CapacityProviderRecord>();

  constructor(private readonly store: Store) {
    for (const r of store.all<CapacityProviderRecord>(KIND_CAPACITY_PROVIDER)) this.records.set(r.arn, r);
  }

  get(region: string, account: string, name: string): CapacityProviderRecord | undefined {
    return this.records.get(capacityProviderArn(region, account, name));
  }

  /** Every provider of an account in a Region, by name. */
  of(region: string, account: string): CapacityProviderRecord[] {
    return [...this.records.values()].filter((r) => r.region === region && r.accountId === account).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  put(r: CapacityProviderRecord): WriteOp {
    this.records.set(r.arn, r);
    return this.store.put(KIND_CAPACITY_PROVIDER, r.arn, r);
  }

  delete(r: CapacityProviderRecord): WriteOp {
    this.records.delete(r.arn);
    return this.store.del(KIND_CAPACITY_PROVIDER, r.arn);
  }

  /** Whether a cluster in this account and Region may name this provider (FARGATE, FARGATE_SPOT or an own one). */
  exists(region: string, account: string, name: string): boolean {
    return FARGATE_PROVIDERS.includes(name) || this.get(region, account, name) !== undefined;
  }
}

/** The clusters that use a capacity provider (the rule DeleteCapacityProvider checks). */
export type ProviderUse = (region: string, account: string, name: string) => { clusters: boolean; services: boolean };
/** The capacity providers associated with the caller's cluster `ref` (ClusterNotFoundException when it is not the caller's). */
export type ClusterProviders = (ctx: RequestContext, ref: string) => string[];

function fargateOutput(region: string, account: string, name: string, withTags: boolean): CapacityProvider {
  return { capacityProviderArn: capacityProviderArn(region, account, name), name, status: "ACTIVE", type: name as CapacityProvider["type"], ...(withTags ? { tags: [] } : {}) };
}

/** A provider as the API shows it; `type` is the newer model's (EC2_AUTOSCALING, FARGATE, FARGATE_SPOT here). */
function output(r: CapacityProviderRecord, withTags: boolean, status: "ACTIVE" | "INACTIVE" = "ACTIVE", updateStatus?: string): CapacityProvider {
  return {
    capacityProviderArn: r.arn,
    name: r.name,
    status,
    type: "EC2_AUTOSCALING",
    autoScalingGroupProvider: r.autoScalingGroupProvider,
    ...(updateStatus ? { updateStatus: updateStatus as CapacityProvider["updateStatus"] } : {}),
    ...(withTags ? { tags: r.tags } : {}),
  };
}

/** The name a reference (name or capacity-provider ARN of the caller's account and Region) gives, or undefined. */
function nameOf(ctx: RequestContext, ref: string): string | undefined {
  const m = /^arn:aws[a-z-]*:ecs:([a-z0-9-]+):(\d{12}):capacity-provider\/(.+)$/.exec(ref);
  if (!m) return ref;
  return m[1] === ctx.region && m[2] === ctx.principal.accountId ? m[3] : undefined;
}

const SCALING_DEFAULTS: Required<ManagedScaling> = { status: "DISABLED", targetCapacity: 100, minimumScalingStepSize: 1, maximumScalingStepSize: 10000, instanceWarmupPeriod: 300 };

function checkProvider(p: AutoScalingGroupProvider): AutoScalingGroupProvider {
  const scaling = { ...SCALING_DEFAULTS, ...(p.managedScaling ?? {}) };
  if (scaling.minimumScalingStepSize > scaling.maximumScalingStepSize)
    throw invalid("managedScaling.minimumScalingStepSize must not be greater than managedScaling.maximumScalingStepSize.");
  const protection = p.managedTerminationProtection ?? "DISABLED";
  if (protection === "ENABLED" && scaling.status !== "ENABLED")
    throw invalid("The managed termination protection setting for the capacity provider is invalid: managed termination protection requires managed scaling to be enabled.");
  return { ...p, managedScaling: scaling, managedTerminationProtection: protection, managedDraining: p.managedDraining ?? "ENABLED" };
}

function createCapacityProviderOperation(providers: CapacityProviders) {
  return defineOperation<CreateCapacityProviderRequest, CreateCapacityProviderResponse>({
    authorize: (ctx, input): AuthCheck[] => [
      {
        action: "ecs:CreateCapacityProvider",
        resource: capacityProviderArn(ctx.region, ctx.principal.accountId, NAME.test(input.name ?? "") ? input.name! : "*"),
        context: { "aws:TagKeys": input.tags?.length ? input.tags.map((t) => t.key ?? "") : undefined },
      },
    ],
    handler: function createCapacityProvider(ctx, input): CreateCapacityProviderResponse {
      const name = input.name ?? "";
      if (!NAME.test(name)) throw invalid("The name can contain up to 255 letters (uppercase and lowercase), numbers, underscores (_) and hyphens (-).");
      if (/^(aws|ecs|fargate)/i.test(name)) throw invalid(`The capacity provider name '${name}' is invalid: names can't begin with "aws", "ecs" or "fargate".`);
      validateTags(input.tags);
      const newer = input as { managedInstancesProvider?: unknown; cluster?: string };
      // Managed Instances capacity providers launch EC2 instances, which localfargate does not have (docs/ecs-fargate.md)
      if (newer.managedInstancesProvider !== undefined) throw invalid("Amazon ECS Managed Instances capacity providers are not supported by localfargate.");
      refuseClusterScope(input);
      if (!input.autoScalingGroupProvider) throw invalid("Either autoScalingGroupProvider or managedInstancesProvider must be specified.");
      const asgArn = input.autoScalingGroupProvider?.autoScalingGroupArn ?? "";
      const m = ASG_ARN.exec(asgArn);
      if (!m) throw invalid(`The Auto Scaling group ARN '${asgArn}' is not valid.`);
      if (m[1] !== ctx.region || m[2] !== ctx.principal.accountId) throw invalid(`The Auto Scaling group '${asgArn}' must be in your account and in ${ctx.region}.`);
      const account = ctx.principal.accountId;
      if (providers.get(ctx.region, account, name)) throw client(`A capacity provider named '${name}' already exists.`);
      if (providers.of(ctx.region, account).some((r) => r.autoScalingGroupProvider.autoScalingGroupArn === asgArn))
        throw client("The specified Auto Scaling group is already used by another capacity provider.");
      const r: CapacityProviderRecord = {
        arn: capacityProviderArn(ctx.region, account, name),
        name,
        accountId: account,
        region: ctx.region,
        autoScalingGroupProvider: checkProvider(input.autoScalingGroupProvider!),
        tags: input.tags ?? [],
      };
      ctx.writes.push(providers.put(r));
      return { capacityProvider: output(r, true) };
    },
  });
}

interface Described {
  ref: string;
  name: string | undefined;
}

function describeCapacityProvidersOperation(providers: CapacityProviders, clusterProviders: ClusterProviders) {
  return defineOperation<DescribeCapacityProvidersRequest, DescribeCapacityProvidersResponse, Described[]>({
    readOnly: true,
    resolve: (ctx, input) => (input.capacityProviders ?? []).map((ref) => ({ ref, name: nameOf(ctx, ref) })),
    authorize: (ctx, _input, described): AuthCheck[] =>
      described.length
        ? described.map(({ name }) => ({ action: "ecs:DescribeCapacityProviders", resource: name ? capacityProviderArn(ctx.region, ctx.principal.accountId, name) : "*" }))
        : [{ action: "ecs:DescribeCapacityProviders", resource: "*" }],
    handler: function describeCapacityProviders(ctx, input, described): DescribeCapacityProvidersResponse {
      // the newer model's cluster: only the providers associated with that cluster (DescribeCapacityProviders API reference)
      const cluster = (input as { cluster?: string }).cluster;
      const inCluster = cluster === undefined ? undefined : new Set(clusterProviders(ctx, cluster));
      const shown = (name: string) => !inCluster || inCluster.has(name);
      const withTags = (input.include ?? []).includes("TAGS");
      const account = ctx.principal.accountId;
      if (described.length) {
        if (input.maxResults !== undefined || input.nextToken) throw invalid("maxResults and nextToken can't be used together with capacityProviders.");
        if (described.length > 100) throw invalid("The number of capacity providers must be 100 or fewer.");
        const out: DescribeCapacityProvidersResponse = { capacityProviders: [], failures: [] };
        for (const { ref, name } of described) {
          const own = name === undefined ? undefined : providers.get(ctx.region, account, name);
          if (name !== undefined && FARGATE_PROVIDERS.includes(name) && shown(name)) out.capacityProviders!.push(fargateOutput(ctx.region, account, name, withTags));
          else if (own && shown(own.name)) out.capacityProviders!.push(output(own, withTags));
          else out.failures!.push({ arn: name === undefined || ref.startsWith("arn:") ? ref : capacityProviderArn(ctx.region, account, name), reason: "MISSING" });
        }
        return out;
      }
      const limit = checkMaxResults(input.maxResults, 10);
      const all = [
        ...FARGATE_PROVIDERS.filter(shown).map((n) => fargateOutput(ctx.region, account, n, withTags)),
        ...providers
          .of(ctx.region, account)
          .filter((r) => shown(r.name))
          .map((r) => output(r, withTags)),
      ];
      const after = tokenPosition(input.nextToken);
      const start = after === undefined ? 0 : all.findIndex((p) => p.capacityProviderArn === after) + 1;
      if (after !== undefined && start === 0) return { capacityProviders: [], failures: [] };
      const page = all.slice(start, start + limit);
      return { capacityProviders: page, failures: [], nextToken: start + limit < all.length ? tokenFor(page[page.length - 1].capacityProviderArn!) : undefined };
    },
  });
}

/**
 * The newer models' `cluster` member of CreateCapacityProvider, UpdateCapacityProvider and
 * DeleteCapacityProvider names a Managed Instances capacity provider's cluster (those providers
 * are cluster-scoped); localfargate has none, so the member is refused rather than ignored.
 */
function refuseClusterScope(input: object): void {
  if ((input as { cluster?: string }).cluster !== undefined)
    throw invalid("The cluster parameter applies to Amazon ECS Managed Instances capacity providers, which localfargate does not support.");
}

function ownProvider(providers: CapacityProviders, ctx: RequestContext, ref: string, reservedMessage: string): CapacityProviderRecord {
  const name = nameOf(ctx, ref);
  if (name !== undefined && FARGATE_PROVIDERS.includes(name)) throw invalid(reservedMessage);
  const r = name === undefined ? undefined : providers.get(ctx.region, ctx.principal.accountId, name);
  if (!r) throw invalid("The specified capacity provider does not exist.");
  return r;
}

function updateCapacityProviderOperation(providers: CapacityProviders) {
  return defineOperation<UpdateCapacityProviderRequest, UpdateCapacityProviderResponse>({
    authorize: (ctx, input): AuthCheck[] => [{ action: "ecs:UpdateCapacityProvider", resource: refArn(ctx, input.name ?? "") }],
    handler: function updateCapacityProvider(ctx, input): UpdateCapacityProviderResponse {
      const r = ownProvider(providers, ctx, input.name ?? "", `The ${input.name} capacity provider is reserved and can't be updated.`);
      refuseClusterScope(input);
      if ((input as { managedInstancesProvider?: unknown }).managedInstancesProvider !== undefined)
        throw invalid("Amazon ECS Managed Instances capacity providers are not supported by localfargate.");
      const next = input.autoScalingGroupProvider ?? {};
      const merged = checkProvider({
        ...r.autoScalingGroupProvider,
        ...(next.managedScaling ? { managedScaling: { ...r.autoScalingGroupProvider.managedScaling, ...next.managedScaling } } : {}),
        ...(next.managedTerminationProtection ? { managedTerminationProtection: next.managedTerminationProtection } : {}),
        ...(next.managedDraining ? { managedDraining: next.managedDraining } : {}),
      });
      const updated = { ...r, autoScalingGroupProvider: merged };
      ctx.writes.push(providers.put(updated));
      return { capacityProvider: output(updated, false, "ACTIVE", "UPDATE_COMPLETE") };
    },
  });
}

function refArn(ctx: RequestContext, ref: string): string {
  const name = nameOf(ctx, ref);
  if (ref.startsWith("arn:")) return ref;
  return capacityProviderArn(ctx.region, ctx.principal.accountId, name && NAME.test(name) ? name : "*");
}

function deleteCapacityProviderOperation(providers: CapacityProviders, inUse: ProviderUse) {
  return defineOperation<DeleteCapacityProviderRequest, DeleteCapacityProviderResponse>({
    authorize: (ctx, input): AuthCheck[] => [{ action: "ecs:DeleteCapacityProvider", resource: refArn(ctx, input.capacityProvider ?? "") }],
    handler: function deleteCapacityProvider(ctx, input): DeleteCapacityProviderResponse {
      const r = ownProvider(providers, ctx, input.capacityProvider ?? "", `The ${input.capacityProvider} capacity provider is reserved and can't be deleted.`);
      refuseClusterScope(input);
      const use = inUse(ctx.region, ctx.principal.accountId, r.name);
      if (use.services) throw invalid("The capacity provider is used in the capacity provider strategy of a service. Remove it from the service's strategy first.");
      if (use.clusters) throw invalid("The capacity provider is associated with a cluster. Remove it from the cluster with PutClusterCapacityProviders first.");
      ctx.writes.push(providers.delete(r));
      return { capacityProvider: output(r, false, "ACTIVE", "DELETE_IN_PROGRESS") };
    },
  });
}

export function capacityProviderOperations(providers: CapacityProviders, inUse: ProviderUse, clusterProviders: ClusterProviders) {
  return {
    CreateCapacityProvider: createCapacityProviderOperation(providers),
    DescribeCapacityProviders: describeCapacityProvidersOperation(providers, clusterProviders),
    UpdateCapacityProvider: updateCapacityProviderOperation(providers),
    DeleteCapacityProvider: deleteCapacityProviderOperation(providers, inUse),
  };
}
