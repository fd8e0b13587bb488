/**
 * CloudWatch Logs (awsJson1_1, X-Amz-Target prefix Logs_20140328, signing name logs): log groups
 * with retention, tags and customer managed keys, log streams, and their events (PutLogEvents,
 * GetLogEvents, FilterLogEvents, StartLiveTail). docs/logs.md.
 */
import { cloudwatchlogsShapes, type CloudWatchLogsOperation } from "../../protocol/shapes/cloudwatchlogs.gen.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import { AwslogsDriver } from "./awslogs.ts";
import type { LogsDeps } from "./deps.ts";
import { LogKeys } from "./encryption.ts";
import {
  associateKmsKeyOperation,
  createLogGroupOperation,
  deleteLogGroupOperation,
  deleteRetentionPolicyOperation,
  describeLogGroupsOperation,
  disassociateKmsKeyOperation,
  putRetentionPolicyOperation,
} from "./group-operations.ts";
import { LiveTails, startLiveTailOperation } from "./live-tail.ts";
import { putLogEventsOperation } from "./put-events.ts";
import { filterLogEventsOperation, getLogEventsOperation } from "./read-events.ts";
import { retentionRunner } from "./retention.ts";
import { loadState, LogsState } from "./state.ts";
import { createLogStreamOperation, deleteLogStreamOperation, describeLogStreamsOperation } from "./stream-operations.ts";
import { tagOperations } from "./tag-operations.ts";

export const LOGS_TARGET_PREFIX = "Logs_20140328";

export function logsOperations(deps: LogsDeps): OperationTable<CloudWatchLogsOperation> {
  return {
    CreateLogGroup: createLogGroupOperation(deps),
    DeleteLogGroup: deleteLogGroupOperation(deps),
    DescribeLogGroups: describeLogGroupsOperation(deps),
    PutRetentionPolicy: putRetentionPolicyOperation(deps),
    DeleteRetentionPolicy: deleteRetentionPolicyOperation(deps),
    AssociateKmsKey: associateKmsKeyOperation(deps),
    DisassociateKmsKey: disassociateKmsKeyOperation(deps),
    ...tagOperations(deps),
    CreateLogStream: createLogStreamOperation(deps),
    DeleteLogStream: deleteLogStreamOperation(deps),
    DescribeLogStreams: describeLogStreamsOperation(deps),
    PutLogEvents: putLogEventsOperation(deps),
    GetLogEvents: getLogEventsOperation(deps),
    FilterLogEvents: filterLogEventsOperation(deps),
    StartLiveTail: startLiveTailOperation(deps, deps.tails),
  };
}

export const logsModule = defineServiceModule({
  name: "logs",
  needs: ["kms", "sts"],
  create(app) {
    const state = new LogsState();
    loadState(state, (kind) => app.store.all(kind));
    const deps: LogsDeps = { app, store: app.store, state, keys: new LogKeys(app), tails: new LiveTails() };
    const def: ServiceDef = {
      name: "cloudwatchlogs",
      signingName: "logs",
      iamPrefix: "logs",
      protocol: "json",
      targetPrefixes: [LOGS_TARGET_PREFIX],
      shapes: cloudwatchlogsShapes,
      validationCode: "InvalidParameterException",
      eventSource: "logs.amazonaws.com",
      operations: logsOperations(deps),
    };
    return { services: [def], provides: { awslogs: new AwslogsDriver(app) }, dueRunners: [retentionRunner(deps)] };
  },
});
