/** What the CloudWatch Logs operations share, and how they find the log group a call names. */
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import type { AuthCheck, CloudTrailResource } from "../../kernel/operation.ts";
import type { Store } from "../../store/store.ts";
import type { LogKeys } from "./encryption.ts";
import type { LiveTails } from "./live-tail.ts";
import { groupNotFound, invalidParameter } from "./errors.ts";
import { GROUP_KIND, groupArn, STREAM_KIND, type LogGroup, type LogsState, type LogStream } from "./state.ts";

export interface LogsDeps {
  app: AppContext;
  store: Store;
  state: LogsState;
  keys: LogKeys;
  /** the running StartLiveTail sessions, told of every stored batch */
  tails: LiveTails;
}

/** The group a call names (it may not exist: the handler answers not-found after authorization). */
export interface GroupTarget {
  arn: string;
  name: string;
  group?: LogGroup;
}

export function groupTarget(ctx: RequestContext, deps: LogsDeps, name: string): GroupTarget {
  const arn = groupArn(ctx.principal.accountId, ctx.region, name);
  const t: GroupTarget = { arn, name, group: deps.state.groups.get(arn) };
  ctx.audit.resources = [groupResource(ctx, arn)];
  return t;
}

const GROUP_ARN = /^arn:aws:logs:([a-z0-9-]+):(\d{12}):log-group:([^:]+)(?::\*)?$/;

/**
 * `logGroupName` or `logGroupIdentifier` (a name or a log group ARN, AWS's two ways of naming a
 * group for reads). An ARN of another account or Region names no group here.
 */
export function identifiedGroup(ctx: RequestContext, deps: LogsDeps, name: string | undefined, identifier: string | undefined): GroupTarget {
  if (name !== undefined && identifier !== undefined) throw invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.");
  if (name !== undefined) return groupTarget(ctx, deps, name);
  if (identifier === undefined) throw invalidParameter("Either logGroupName or logGroupIdentifier must be specified.");
  const m = GROUP_ARN.exec(identifier);
  if (!m) {
    if (identifier.startsWith("arn:") || !/^[.\-_/#A-Za-z0-9]{1,512}$/.test(identifier))
      throw invalidParameter("The specified logGroupIdentifier is not a valid log group name or ARN.");
    return groupTarget(ctx, deps, identifier);
  }
  if (m[1] !== ctx.region || m[2] !== ctx.principal.accountId) {
    ctx.audit.resources = [{ ARN: `arn:aws:logs:${m[1]}:${m[2]}:log-group:${m[3]}`, accountId: m[2], type: "AWS::Logs::LogGroup" }];
    return { arn: `arn:aws:logs:${m[1]}:${m[2]}:log-group:${m[3]}`, name: m[3] };
  }
  return groupTarget(ctx, deps, m[3]);
}

/** A log group ARN for TagResource and its kin. */
export function arnTarget(ctx: RequestContext, deps: LogsDeps, arn: string): GroupTarget {
  const m = GROUP_ARN.exec(arn);
  if (!m) throw invalidParameter(`Invalid resource ARN: ${arn}`);
  return identifiedGroup(ctx, deps, undefined, arn);
}

export function requireGroup(t: GroupTarget): LogGroup {
  if (!t.group) throw groupNotFound();
  return t.group;
}

export function groupResource(ctx: RequestContext, arn: string): CloudTrailResource {
  return { ARN: arn, accountId: ctx.principal.accountId, type: "AWS::Logs::LogGroup" };
}

/** One check on the group (or one of its streams), with its tags for aws:ResourceTag. */
export function groupCheck(action: string, t: GroupTarget, extra: Partial<AuthCheck> = {}, stream?: string): AuthCheck[] {
  const resource = stream === undefined ? t.arn : `${t.arn}:log-stream:${stream}`;
  return [{ action: `logs:${action}`, resource, resourceTags: t.group?.record.tags, ...extra }];
}

export function saveGroup(ctx: RequestContext, deps: LogsDeps, g: LogGroup): void {
  ctx.writes.push(deps.store.put(GROUP_KIND, g.record.arn, g.record));
}

export function saveStream(ctx: RequestContext, deps: LogsDeps, s: LogStream): void {
  ctx.writes.push(deps.store.put(STREAM_KIND, `${s.record.groupArn}|${s.record.name}`, s.record));
}

/**
 * PutLogEvents, GetLogEvents and FilterLogEvents carry log data: CloudTrail treats them as data
 * events, which event history does not keep, so they leave no record (and no message text in the
 * audit log). docs/logs.md.
 */
export function dataEvent<T>(ctx: RequestContext, target: T): T {
  ctx.audit.skip = true;
  return target;
}
