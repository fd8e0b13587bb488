/**
 * The trail a call names, resolved once before authorization. The call is authorized on the ARN
 * the name designates whether or not the trail exists, so a caller without permission learns
 * AccessDenied, never whether the trail exists; the lookup's error waits in the target until the
 * handler (docs/cloudtrail.md, "Trails").
 */
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck } from "../../kernel/operation.ts";
import { parseTrailArn, requireHomeRegion, trailArn, trailNotFound, type Trails, type TrailState } from "./trails.ts";

export interface TrailTarget {
  /** the ARN authorized and recorded: the ARN given, else the named trail's (or the one it would have) */
  readonly arn: string;
  /** the trail, or the error the call answers once authorized */
  readonly trail: TrailState | ServiceError;
}

/**
 * Resolves what `nameOrArn` designates from the request's account and Region (`tagged`: a
 * tagging call's ResourceId, which must be a trail ARN). The target is the record's resource
 * from here on, also when the call is then refused or fails: the record names the trail and goes
 * to its account (resources and recipientAccountId in
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
 */
export function resolveTrailTarget(ctx: RequestContext, trails: Trails, nameOrArn: string, tagged = false): TrailTarget {
  const account = ctx.principal.accountId;
  const trail = tagged ? trails.lookupTagged(account, ctx.region, nameOrArn) : trails.lookup(account, ctx.region, nameOrArn);
  let arn = nameOrArn;
  if (!nameOrArn.startsWith("arn:")) {
    // a tagging call given a name (which it refuses) still authorizes the ARN the name designates
    const named = tagged ? trails.lookup(account, ctx.region, nameOrArn) : trail;
    arn = named instanceof ServiceError ? trailArn(ctx.region, account, nameOrArn) : named.arn;
  }
  ctx.audit.resources = [{ ARN: arn, accountId: parseTrailArn(arn)?.account ?? account, type: "AWS::CloudTrail::Trail" }];
  return { arn, trail };
}

/** The check a trail call makes: its action on the target's ARN. */
export function trailCheck(action: string, target: TrailTarget): AuthCheck[] {
  return [{ action: `cloudtrail:${action}`, resource: target.arn }];
}

/** The target's trail, or its lookup error. */
export function trailOf(target: TrailTarget): TrailState {
  if (target.trail instanceof ServiceError) throw target.trail;
  return target.trail;
}

/** As `trailOf`, for calls made in the trail's home Region only. */
export function homeTrailOf(ctx: RequestContext, target: TrailTarget): TrailState {
  return requireHomeRegion(trailOf(target), ctx.region);
}

/**
 * As `homeTrailOf`, for handlers that first wait for the event store: a trail deleted by another
 * call meanwhile is not found (and is never stored again).
 */
export function storedHomeTrailOf(ctx: RequestContext, trails: Trails, target: TrailTarget, nameOrArn: string): TrailState {
  const t = homeTrailOf(ctx, target);
  if (!trails.isCurrent(t)) throw trailNotFound(ctx.principal.accountId, nameOrArn);
  return t;
}
