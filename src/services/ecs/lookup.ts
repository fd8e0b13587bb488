/**
 * ECS answers a missing cluster, service or resource only after authorization: a caller without
 * permission learns nothing (AccessDenied), one with it gets the NotFound. `resolve` therefore
 * looks a resource up once and keeps the error with it; authorization uses what was found and
 * the handler answers the error through `found`.
 */
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { ClusterRecord, EcsState } from "./state.ts";

export type Lookup<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ServiceError };

/** Runs a lookup, keeping the ServiceError it throws for the handler; other errors propagate. */
export function lookup<T>(find: () => T): Lookup<T> {
  try {
    return { ok: true, value: find() };
  } catch (e) {
    if (e instanceof ServiceError) return { ok: false, error: e };
    throw e;
  }
}

/** The looked-up value, or its error. */
export function found<T>(l: Lookup<T>): T {
  if (!l.ok) throw l.error;
  return l.value;
}

export function valueOf<T>(l: Lookup<T>): T | undefined {
  return l.ok ? l.value : undefined;
}

/** A call's cluster: the ARN its reference names (when it names one) and the ACTIVE cluster of the caller. */
export interface ClusterLookup {
  /** for the ecs:cluster condition key; undefined when the reference is malformed */
  readonly arn: string | undefined;
  readonly cluster: Lookup<ClusterRecord>;
}

export function lookupCluster(state: EcsState, ctx: RequestContext, ref: string | undefined): ClusterLookup {
  const arn = lookup(() => state.clusterArnFor(ref, ctx.region, ctx.principal.accountId));
  return { arn: valueOf(arn), cluster: arn.ok ? lookup(() => state.activeCluster(arn.value, ctx.region, ctx.principal.accountId)) : arn };
}
