/** LookupEvents: event history of the caller's account in the request's Region (lookup.ts). */
import type { LookupEventsRequest, LookupEventsResponse } from "@aws-sdk/client-cloudtrail";
import { defineOperation } from "../../kernel/operation.ts";
import type { CloudTrailDeps } from "./deps.ts";
import { lookupEvents } from "./lookup.ts";

export function lookupEventsOperation(deps: CloudTrailDeps) {
  return defineOperation<LookupEventsRequest, LookupEventsResponse>({
    readOnly: true,
    authorize: () => [{ action: "cloudtrail:LookupEvents", resource: "*" }],
    handler: function lookupEventHistory(ctx, input) {
      return lookupEvents(deps.events, ctx.principal.accountId, ctx.region, ctx.now.getTime(), input);
    },
  });
}
