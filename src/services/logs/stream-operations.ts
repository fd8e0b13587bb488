/** CreateLogStream, DeleteLogStream and DescribeLogStreams. */
import type {
  CreateLogStreamRequest,
  DeleteLogStreamRequest,
  DescribeLogStreamsRequest,
  DescribeLogStreamsResponse,
  LogStream as LogStreamShape,
} from "@aws-sdk/client-cloudwatch-logs";
import { defineOperation } from "../../kernel/operation.ts";
import { tokenFor, tokenPosition, type PageTokens } from "../../store/paging.ts";
import { groupCheck, groupTarget, identifiedGroup, requireGroup, saveGroup, saveStream, type GroupTarget, type LogsDeps } from "./deps.ts";
import { invalidParameter, invalidToken, streamExists, streamNotFound } from "./errors.ts";
import { addStream, BATCH_KIND, newStream, removeStream, STREAM_KIND, streamArn, type LogGroup, type LogStream } from "./state.ts";

const DEFAULT_LIMIT = 50;

export function sequenceToken(s: LogStream): string {
  return String(s.record.nextSeq).padStart(56, "0");
}

function describeStream(g: LogGroup, s: LogStream): LogStreamShape {
  const r = s.record;
  return {
    logStreamName: r.name,
    creationTime: r.creationTime,
    firstEventTimestamp: r.firstEventTimestamp,
    lastEventTimestamp: r.lastEventTimestamp,
    lastIngestionTime: r.lastIngestionTime,
    uploadSequenceToken: sequenceToken(s),
    arn: streamArn(g.record, r.name),
    storedBytes: 0,
  };
}

export function createLogStreamOperation(deps: LogsDeps) {
  return defineOperation<CreateLogStreamRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => groupTarget(ctx, deps, i.logGroupName!),
    authorize: (_ctx, i, t) => groupCheck("CreateLogStream", t, {}, i.logStreamName),
    handler: function createLogStream(ctx, i, t) {
      const g = requireGroup(t);
      if (g.streams.has(i.logStreamName!)) throw streamExists();
      const s = newStream({ groupArn: g.record.arn, name: i.logStreamName!, ordinal: g.record.nextStreamOrdinal++, creationTime: ctx.now.getTime(), storedBytes: 0, nextSeq: 1 });
      addStream(g, s);
      saveStream(ctx, deps, s);
      saveGroup(ctx, deps, g);
      return {};
    },
  });
}

export function deleteLogStreamOperation(deps: LogsDeps) {
  return defineOperation<DeleteLogStreamRequest, object, GroupTarget>({
    readOnly: false,
    resolve: (ctx, i) => groupTarget(ctx, deps, i.logGroupName!),
    authorize: (_ctx, i, t) => groupCheck("DeleteLogStream", t, {}, i.logStreamName),
    handler: function deleteLogStream(ctx, i, t) {
      const g = requireGroup(t);
      const s = g.streams.get(i.logStreamName!);
      if (!s) throw streamNotFound();
      for (const id of s.batches.keys()) ctx.writes.push(deps.store.del(BATCH_KIND, id));
      ctx.writes.push(deps.store.del(STREAM_KIND, `${g.record.arn}|${s.record.name}`));
      removeStream(g, s);
      g.storedBytes -= s.record.storedBytes;
      return {};
    },
  });
}

export function describeLogStreamsOperation(deps: LogsDeps) {
  return defineOperation<DescribeLogStreamsRequest, DescribeLogStreamsResponse, GroupTarget>({
    readOnly: true,
    resolve: (ctx, i) => identifiedGroup(ctx, deps, i.logGroupName, i.logGroupIdentifier),
    authorize: (_ctx, _i, t) => groupCheck("DescribeLogStreams", t),
    handler: function describeLogStreams(_ctx, i, t) {
      const orderBy = i.orderBy ?? "LogStreamName";
      if (orderBy === "LastEventTime" && i.logStreamNamePrefix !== undefined) throw invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.");
      const g = requireGroup(t);
      const desc = i.descending === true;
      const tokens: PageTokens = { prefix: `logs-streams:${orderBy}:${desc ? "d" : "a"}:`, invalid: invalidToken, resume: "after" };
      const run = orderBy === "LastEventTime" ? g.byLastEvent : g.byName;
      const after = tokenPosition(tokens, i.nextToken);
      const p = run.page({ after, descending: desc, prefix: i.logStreamNamePrefix, limit: i.limit ?? DEFAULT_LIMIT });
      const next = p.nextKey !== undefined ? tokenFor(tokens, p.lastKey!) : undefined;
      const page = p.items;
      return { logStreams: page.map((st) => describeStream(g, st)), nextToken: next };
    },
  });
}
