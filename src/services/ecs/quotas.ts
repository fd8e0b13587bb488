/**
 * Fargate vCPU quotas: the vCPUs of an account's tasks that are not STOPPED, per Region, may not
 * exceed "Fargate On-Demand vCPU resource count" (FARGATE) or "Fargate Spot vCPU resource count"
 * (FARGATE_SPOT). AWS's default for both is 6 vCPUs
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html); a start option
 * changes them. RunTask answers a task over the quota with a `failures` entry, not an error, and
 * the service scheduler records a service event (see docs/ecs-fargate.md).
 */
import { parseCpu } from "./task-definitions.ts";
import type { EcsState, TaskRecord } from "./state.ts";

export const DEFAULT_FARGATE_VCPU_QUOTA = 6;

export const VCPU_LIMIT_REASON = "You've reached the limit on the number of vCPUs you can run concurrently";

export interface FargateQuotas {
  /** vCPUs */
  FARGATE: number;
  FARGATE_SPOT: number;
}

/** A quota from a start option or environment value: a non-negative number of vCPUs. */
export function parseVcpuQuota(value: unknown, name: string): number {
  if (value === undefined || value === null || value === "") return DEFAULT_FARGATE_VCPU_QUOTA;
  const n = typeof value === "number" ? value : Number(String(value).trim());
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number of vCPUs, got '${String(value)}'`);
  return n;
}

/** The quotas from StartOptions (the command line reads its flags and environment into them). */
export function quotasFromOptions(options: { readonly fargateVcpuQuota?: unknown; readonly fargateSpotVcpuQuota?: unknown }): FargateQuotas {
  return {
    FARGATE: parseVcpuQuota(options.fargateVcpuQuota, "fargateVcpuQuota"),
    FARGATE_SPOT: parseVcpuQuota(options.fargateSpotVcpuQuota, "fargateSpotVcpuQuota"),
  };
}

/** A task's CPU units (1024 = 1 vCPU). */
export function taskCpuUnits(t: TaskRecord): number {
  return (t.task.cpu !== undefined ? parseCpu(t.task.cpu) : undefined) ?? 0;
}

/**
 * Tracks what each (account, Region, capacity) may still launch. Built from the live tasks once
 * per request, then charged for each task placed in the same request.
 */
export class VcpuBudget {
  private readonly used = new Map<string, number>();

  constructor(
    private readonly state: EcsState,
    private readonly quotas: FargateQuotas,
  ) {}

  /** Charges the task's vCPUs if they fit under its account's quota; false when they do not. */
  tryCharge(t: TaskRecord): boolean {
    const capacity = t.task.capacityProviderName === "FARGATE_SPOT" ? "FARGATE_SPOT" : "FARGATE";
    const key = `${t.accountId}|${t.region}|${capacity}`;
    let used = this.used.get(key);
    if (used === undefined) {
      used = 0;
      for (const live of this.state.liveTasks(t.accountId, t.region, capacity)) if (live.arn !== t.arn) used += taskCpuUnits(live);
    }
    const units = taskCpuUnits(t);
    // in CPU units, so fractional vCPUs (0.25) add up exactly
    if (used + units > Math.round(this.quotas[capacity] * 1024)) return false;
    this.used.set(key, used + units);
    return true;
  }
}
