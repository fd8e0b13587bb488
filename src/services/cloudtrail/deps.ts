/** What the CloudTrail operations share: the trails, the event store, delivery and signing keys. */
import type { Provided, RequestContext } from "../../kernel/context.ts";
import type { ServiceShapes } from "../../protocol/shapes/types.ts";
import type { Store } from "../../store/store.ts";
import { defaultRequestParameters } from "../../audit/record.ts";
import type { Bucket } from "../s3/index.ts";
import type { Delivery } from "./delivery.ts";
import type { SigningKeys } from "./keys.ts";
import { TRAIL_KIND, type Trails, type TrailState } from "./trails.ts";

export interface CloudTrailDeps {
  store: Store;
  trails: Trails;
  /** event history (LookupEvents) and what delivery reads */
  events: Provided["auditStore"];
  delivery: Delivery;
  keys: SigningKeys;
  /** the request shapes, for CloudTrail's own responseElements */
  shapes: ServiceShapes;
  /** an S3 bucket by name (trails deliver to one), when S3 is composed */
  bucket(name: string): Bucket | undefined;
}

/** Stores the trail with the request's writes. */
export function saveTrail(ctx: RequestContext, deps: CloudTrailDeps, t: TrailState): void {
  ctx.writes.push(deps.store.put(TRAIL_KIND, t.arn, t));
}

/** CloudTrail records a response as it records requests: members in lower camel case. */
export function responseElementsOf(deps: CloudTrailDeps, shape: string) {
  return (output: unknown) => defaultRequestParameters(deps.shapes, shape, output);
}
