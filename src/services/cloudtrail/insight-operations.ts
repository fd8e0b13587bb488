/**
 * PutInsightSelectors and GetInsightSelectors on trails: which Insights types a trail has
 * enabled (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-insights-events-with-cloudtrail.html).
 * The selectors are kept and reported (GetTrail's HasInsightSelectors included); Insights
 * events themselves are not generated (docs/cloudtrail.md).
 */
import type { GetInsightSelectorsRequest, GetInsightSelectorsResponse, InsightSelector, PutInsightSelectorsRequest, PutInsightSelectorsResponse } from "@aws-sdk/client-cloudtrail";
import { defineOperation } from "../../kernel/operation.ts";
import { saveTrail, type CloudTrailDeps } from "./deps.ts";
import { homeTrailOf, resolveTrailTarget, trailCheck, trailOf, type TrailTarget } from "./target.ts";
import { ctError } from "./trails.ts";

const INSIGHT_TYPES = new Set(["ApiCallRateInsight", "ApiErrorRateInsight"]);

/** Trails only: this endpoint has no CloudTrail Lake event data stores. */
function trailNameOf(i: { TrailName?: string; EventDataStore?: string }): string {
  if (i.EventDataStore !== undefined || i.TrailName === undefined) {
    throw ctError("InvalidParameterCombinationException", "Specify TrailName: Insights selectors are kept for trails only, as this endpoint has no event data stores.");
  }
  return i.TrailName;
}

function checkSelectors(selectors: InsightSelector[]): InsightSelector[] {
  const seen = new Set<string>();
  for (const s of selectors) {
    if (s.InsightType === undefined || !INSIGHT_TYPES.has(s.InsightType) || seen.has(s.InsightType)) {
      throw ctError("InvalidInsightSelectorsException", "The InsightSelectors are not valid: each InsightType must be ApiCallRateInsight or ApiErrorRateInsight, at most once.");
    }
    seen.add(s.InsightType);
  }
  // EventCategories (the newer model): Management and/or Data; absent means management events
  return selectors.map((s) => {
    const categories = (s as { EventCategories?: string[] }).EventCategories;
    return { InsightType: s.InsightType, ...(categories ? { EventCategories: [...new Set(categories)] } : {}) } as InsightSelector;
  });
}

export function putInsightSelectorsOperation(deps: CloudTrailDeps) {
  return defineOperation<PutInsightSelectorsRequest, PutInsightSelectorsResponse, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, trailNameOf(i)),
    authorize: (_ctx, _i, target) => trailCheck("PutInsightSelectors", target),
    handler: function putInsightSelectors(ctx, input, target) {
      const selectors = checkSelectors(input.InsightSelectors ?? []);
      const t = homeTrailOf(ctx, target);
      // an empty list turns Insights off
      if (selectors.length) t.insightSelectors = selectors;
      else delete t.insightSelectors;
      saveTrail(ctx, deps, t);
      return { TrailARN: t.arn, InsightSelectors: selectors };
    },
  });
}

export function getInsightSelectorsOperation(deps: CloudTrailDeps) {
  return defineOperation<GetInsightSelectorsRequest, GetInsightSelectorsResponse, TrailTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, trailNameOf(i)),
    authorize: (_ctx, _i, target) => trailCheck("GetInsightSelectors", target),
    handler: function getInsightSelectors(_ctx, _i, target) {
      const t = trailOf(target);
      if (!t.insightSelectors?.length) throw ctError("InsightNotEnabledException", `Trail ${t.arn} does not have Insights enabled.`);
      return { TrailARN: t.arn, InsightSelectors: t.insightSelectors };
    },
  });
}
