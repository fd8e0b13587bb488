/**
 * CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutRetentionPolicy, DeleteRetentionPolicy,
 * AssociateKmsKey and DisassociateKmsKey
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_Operations.html).
 */
import type {
  AssociateKmsKeyRequest,
  CreateLogGroupRequest,
  DeleteLogGroupRequest,
  DeleteRetentionPolicyRequest,
  DescribeLogGroupsRequest,
  DescribeLogGroupsResponse,
  DisassociateKmsKeyRequest,
  LogGroup as LogGroupShape,
  PutRetentionPolicyRequest,
} from "@aws-sdk/client-cloudwatch-logs";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { pageIndex, type PageTokens } from "../../store/paging.ts";
import type { WriteOp } from "../../store/store.ts";
import { groupCheck, groupTarget, identifiedGroup, requireGroup, saveGroup, type GroupTarget, type LogsDeps } from "./deps.ts";
import { groupExists, groupNotFound, invalidParameter, invalidToken } from "./errors.ts";
import { BATCH_KIND, GROUP_KIND, newGroup, scopeOf, STREAM_KIND, type LogGroup } from "./state.ts";
import { mergedTags, tagContext } from "./tags.ts";

/** The retention periods AWS accepts (API_PutRetentionPolicy). */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const GROUP_TOKENS: PageTokens = { prefix: "logs-groups:", invalid: invalidToken, resume: "after" };
const DEFAULT_DESCRIBE_LIMIT = 50;

export function checkRetention(days: number): void {
  if (!RETENTION_DAYS.includes(days))
    throw invalidParameter(
      `1 validation error detected: Value '${days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`,
    );
}

export function describeGroup(g: LogGroup): LogGroupShape {
  const r = g.record;
  return {
    logGroupName: r.name,
    creationTime: r.creationTime,
    retentionInDays: r.retentionInDays,
    metricFilterCount: 0,
    arn: `${r.arn}:*`,
    storedBytes: g.storedBytes,
    kmsKeyId: r.kmsKeyId,
    logGroupClass: r.logGroupClass,
    logGroupArn: r.arn,
    deletionProtectionEnabled: false,
  } as LogGroupShape;
}

/** Forgets a group and everything stored for it, with the call's writes. */
function dropGroup(deps: LogsDeps, g: LogGroup, writes: WriteOp[]): void {
  for (const s of g.streams.values()) {
    for (const id of s.batches.keys()) writes.push(deps.store.del(BATCH_KIND, id));
    writes.push(deps.store.del(STREAM_KIND, `${g.record.arn}|${s.record.name}`));
  }
  writes.push(deps.store.del(GROUP_KIND, g.record.arn));
  deps.state.removeGroup(g);
  deps.keys.forget(g.record.dataKeys.map((d) => d.id));
}

export function createLogGroupOperation(deps: LogsDeps) {
  return defineOperation<CreateLogGroupRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => groupTarget(ctx, deps, i.logGroupName!),
    authorize: (_ctx, i, t) => groupCheck("CreateLogGroup", t, { context: tagContext(i.tags) }),
    handler: async function createLogGroup(ctx, i, t) {
      const newer = i as { deletionProtectionEnabled?: boolean; logGroupClass?: string };
      // protection would need PutLogGroupDeletionProtection to lift it, which localfargate does not have (docs/logs.md)
      if (newer.deletionProtectionEnabled) throw invalidParameter("Log group deletion protection is not supported by localfargate.");
      // the Delivery class holds Lambda logs on their way to Amazon S3 or Firehose: there is no Lambda here
      if (newer.logGroupClass === "DELIVERY") throw invalidParameter("The DELIVERY log group class is not supported by localfargate.");
      if (t.group) throw groupExists();
      const tags = mergedTags(t.arn, {}, i.tags);
      const record = {
        arn: t.arn,
        name: t.name,
        accountId: ctx.principal.accountId,
        region: ctx.region,
        creationTime: ctx.now.getTime(),
        logGroupClass: i.logGroupClass ?? "STANDARD",
        dataKeys: [],
        tags,
        nextStreamOrdinal: 0,
      } as LogGroup["record"];
      if (i.kmsKeyId !== undefined) {
        const dk = await deps.keys.newDataKey(record, i.kmsKeyId);
        record.kmsKeyId = i.kmsKeyId;
        record.currentDataKeyId = dk.id;
        record.dataKeys.push(dk);
      }
      // another CreateLogGroup of the same name may have finished while KMS answered
      if (deps.state.groups.has(t.arn)) throw groupExists();
      const g = newGroup(record);
      deps.state.addGroup(g);
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}

export function deleteLogGroupOperation(deps: LogsDeps) {
  return defineOperation<DeleteLogGroupRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => groupTarget(ctx, deps, i.logGroupName!),
    authorize: (_ctx, _i, t) => groupCheck("DeleteLogGroup", t),
    handler: function deleteLogGroup(ctx, _i, t) {
      dropGroup(deps, requireGroup(t), ctx.writes);
      return {};
    },
  });
}

/**
 * DescribeLogGroups' logGroupIdentifiers (the newer model): names, or ARNs, of the caller's own log
 * groups in the Region (this is not a cross-account monitoring account); with it, no other filter
 * but includeLinkedAccounts (the DescribeLogGroups API reference).
 */
function identifiedNames(ctx: RequestContext, i: DescribeLogGroupsRequest): Set<string> | undefined {
  const ids = (i as { logGroupIdentifiers?: string[] }).logGroupIdentifiers;
  if (ids === undefined) return undefined;
  if (i.logGroupNamePrefix !== undefined || i.logGroupNamePattern !== undefined || i.logGroupClass !== undefined)
    throw invalidParameter("logGroupIdentifiers can't be used together with logGroupNamePrefix, logGroupNamePattern or logGroupClass.");
  const own = `arn:aws:logs:${ctx.region}:${ctx.principal.accountId}:log-group:`;
  return new Set(
    ids.map((id) => {
      if (!id.startsWith("arn:")) return id;
      if (!id.startsWith(own)) throw invalidParameter("Only log groups of this account can be described: this account is not a monitoring account.");
      return id.slice(own.length).replace(/:\*$/, "");
    }),
  );
}

export function describeLogGroupsOperation(deps: LogsDeps) {
  return defineOperation<DescribeLogGroupsRequest, DescribeLogGroupsResponse>({
    readOnly: true,
    authorize: (ctx) => [{ action: "logs:DescribeLogGroups", resource: `arn:aws:logs:${ctx.region}:${ctx.principal.accountId}:log-group:*` }],
    handler: function describeLogGroups(ctx, i) {
      if (i.logGroupNamePrefix !== undefined && i.logGroupNamePattern !== undefined)
        throw invalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
      const pattern = i.logGroupNamePattern?.toLowerCase();
      const named = identifiedNames(ctx, i);
      const filter = (g: LogGroup) =>
        (pattern === undefined || g.record.name.toLowerCase().includes(pattern)) &&
        (!i.logGroupClass || g.record.logGroupClass === i.logGroupClass) &&
        (!named || named.has(g.record.name));
      const page = pageIndex(GROUP_TOKENS, deps.state.byName, scopeOf(ctx.principal.accountId, ctx.region), i.nextToken, i.limit ?? DEFAULT_DESCRIBE_LIMIT, {
        prefix: i.logGroupNamePrefix,
        filter,
      });
      return { logGroups: page.items.map(describeGroup), nextToken: page.next };
    },
  });
}

export function putRetentionPolicyOperation(deps: LogsDeps) {
  return defineOperation<PutRetentionPolicyRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => groupTarget(ctx, deps, i.logGroupName!),
    authorize: (_ctx, _i, t) => groupCheck("PutRetentionPolicy", t),
    handler: function putRetentionPolicy(ctx, i, t) {
      checkRetention(i.retentionInDays!);
      const g = requireGroup(t);
      g.record.retentionInDays = i.retentionInDays;
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}

export function deleteRetentionPolicyOperation(deps: LogsDeps) {
  return defineOperation<DeleteRetentionPolicyRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => groupTarget(ctx, deps, i.logGroupName!),
    authorize: (_ctx, _i, t) => groupCheck("DeleteRetentionPolicy", t),
    handler: function deleteRetentionPolicy(ctx, _i, t) {
      const g = requireGroup(t);
      delete g.record.retentionInDays;
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}

/** logGroupName, or resourceIdentifier naming a log group by ARN; query-result keys are not kept here. */
function kmsTarget(ctx: Parameters<typeof groupTarget>[0], deps: LogsDeps, name: string | undefined, resource: string | undefined): GroupTarget {
  if (name !== undefined && resource !== undefined) throw invalidParameter("logGroupName and resourceIdentifier are mutually exclusive parameters.");
  if (name === undefined && resource === undefined) throw invalidParameter("Either logGroupName or resourceIdentifier must be specified.");
  if (resource !== undefined && !resource.includes(":log-group:"))
    throw invalidParameter("The resourceIdentifier must be a log group ARN: query-result keys are not supported by localfargate.");
  return identifiedGroup(ctx, deps, name, resource);
}

export function associateKmsKeyOperation(deps: LogsDeps) {
  return defineOperation<AssociateKmsKeyRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => kmsTarget(ctx, deps, i.logGroupName, i.resourceIdentifier),
    authorize: (_ctx, _i, t) => groupCheck("AssociateKmsKey", t),
    handler: async function associateKmsKey(ctx, i, t) {
      const g = requireGroup(t);
      const dk = await deps.keys.newDataKey(g.record, i.kmsKeyId!);
      // a group deleted while KMS answered must not be saved again
      if (deps.state.groups.get(g.record.arn) !== g) throw groupNotFound();
      g.record.kmsKeyId = i.kmsKeyId;
      g.record.currentDataKeyId = dk.id;
      g.record.dataKeys.push(dk);
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}

export function disassociateKmsKeyOperation(deps: LogsDeps) {
  return defineOperation<DisassociateKmsKeyRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => kmsTarget(ctx, deps, i.logGroupName, i.resourceIdentifier),
    authorize: (_ctx, _i, t) => groupCheck("DisassociateKmsKey", t),
    handler: function disassociateKmsKey(ctx, _i, t) {
      const g = requireGroup(t);
      // events already stored stay sealed under their data keys (the API reference says so)
      delete g.record.kmsKeyId;
      delete g.record.currentDataKeyId;
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}
