/**
 * CloudTrail (awsJson1_1; both target prefixes): event history (LookupEvents) over the audit
 * store, trails with event selectors and tags, delivery of log files and signed digest files
 * to our S3 on the service clock, and the public keys that verify the digests.
 */
import { cloudtrailShapes, type CloudTrailOperation } from "../../protocol/shapes/cloudtrail.gen.ts";
import type { ServiceShapes } from "../../protocol/shapes/types.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import type { CloudTrailDeps } from "./deps.ts";
import { Delivery } from "./delivery.ts";
import { SigningKeys } from "./keys.ts";
import { getInsightSelectorsOperation, putInsightSelectorsOperation } from "./insight-operations.ts";
import { lookupEventsOperation } from "./lookup-operations.ts";
import { getTrailStatusOperation, listPublicKeysOperation, startLoggingOperation, stopLoggingOperation } from "./logging-operations.ts";
import { getEventSelectorsOperation, putEventSelectorsOperation } from "./selector-operations.ts";
import { addTagsOperation, listTagsOperation, removeTagsOperation } from "./tag-operations.ts";
import { createTrailOperation, deleteTrailOperation, describeTrailsOperation, getTrailOperation, listTrailsOperation, updateTrailOperation } from "./trail-operations.ts";
import { TRAIL_KIND, Trails, type TrailState } from "./trails.ts";

export const TARGET_PREFIXES = ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101", "CloudTrail_20131101"];

/**
 * The shapes requests are checked against. LookupEvents' MaxResults range and the
 * AttributeKey/EventCategory enums are left to the handler, which answers with CloudTrail's own
 * exceptions (InvalidMaxResultsException, InvalidLookupAttributesException,
 * InvalidEventCategoryException) rather than a generic ValidationException.
 */
function runtimeShapes(): ServiceShapes {
  const s = structuredClone(cloudtrailShapes);
  s.shapes.MaxResults = { type: "integer" };
  s.shapes.LookupAttributeKey = { type: "string" };
  s.shapes.LookupAttributeValue = { type: "string" };
  s.shapes.EventCategory = { type: "string" };
  return s;
}

export function cloudTrailOperations(deps: CloudTrailDeps): OperationTable<CloudTrailOperation> {
  return {
    LookupEvents: lookupEventsOperation(deps),
    CreateTrail: createTrailOperation(deps),
    UpdateTrail: updateTrailOperation(deps),
    DeleteTrail: deleteTrailOperation(deps),
    GetTrail: getTrailOperation(deps),
    DescribeTrails: describeTrailsOperation(deps),
    ListTrails: listTrailsOperation(deps),
    StartLogging: startLoggingOperation(deps),
    StopLogging: stopLoggingOperation(deps),
    GetTrailStatus: getTrailStatusOperation(deps),
    PutEventSelectors: putEventSelectorsOperation(deps),
    GetEventSelectors: getEventSelectorsOperation(deps),
    PutInsightSelectors: putInsightSelectorsOperation(deps),
    GetInsightSelectors: getInsightSelectorsOperation(deps),
    ListPublicKeys: listPublicKeysOperation(deps),
    AddTags: addTagsOperation(deps),
    RemoveTags: removeTagsOperation(deps),
    ListTags: listTagsOperation(deps),
  };
}

export const cloudTrailModule = defineServiceModule({
  name: "cloudtrail",
  needs: ["auditStore"],
  create(app) {
    const events = app.get("auditStore");
    const trails = new Trails();
    for (const t of app.store.all<TrailState>(TRAIL_KIND)) trails.byArn.set(t.arn, t);
    const keys = new SigningKeys(app.store, app.dataDir);
    const delivery = new Delivery(app, trails, events, keys);
    const shapes = runtimeShapes();
    const deps: CloudTrailDeps = { store: app.store, trails, events, delivery, keys, shapes, bucket: (name) => app.find("s3")?.bucket(name) };
    const def: ServiceDef = {
      name: "cloudtrail",
      signingName: "cloudtrail",
      iamPrefix: "cloudtrail",
      protocol: "json",
      targetPrefixes: TARGET_PREFIXES,
      shapes,
      eventSource: "cloudtrail.amazonaws.com",
      operations: cloudTrailOperations(deps),
    };
    return { services: [def], dueRunners: [delivery] };
  },
});
