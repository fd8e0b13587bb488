/** PutEventSelectors and GetEventSelectors: which events a trail delivers (selectors.ts). */
import type { GetEventSelectorsRequest, GetEventSelectorsResponse, PutEventSelectorsRequest, PutEventSelectorsResponse } from "@aws-sdk/client-cloudtrail";
import { defineOperation } from "../../kernel/operation.ts";
import { saveTrail, type CloudTrailDeps } from "./deps.ts";
import { defaultEventSelectors, normalizeAdvancedEventSelectors, normalizeEventSelectors } from "./selectors.ts";
import { homeTrailOf, resolveTrailTarget, trailCheck, trailOf, type TrailTarget } from "./target.ts";
import { ctError } from "./trails.ts";

export function putEventSelectorsOperation(deps: CloudTrailDeps) {
  return defineOperation<PutEventSelectorsRequest, PutEventSelectorsResponse, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.TrailName!),
    authorize: (_ctx, _i, target) => trailCheck("PutEventSelectors", target),
    handler: function putEventSelectors(ctx, input, target) {
      const t = homeTrailOf(ctx, target);
      const classic = input.EventSelectors;
      const advanced = input.AdvancedEventSelectors;
      if (classic !== undefined && advanced !== undefined) {
        throw ctError("InvalidEventSelectorsException", "You cannot apply both event selectors and advanced event selectors to a trail.");
      }
      if (classic === undefined && advanced === undefined) {
        throw ctError("InvalidEventSelectorsException", "You must specify either EventSelectors or AdvancedEventSelectors.");
      }
      if (classic !== undefined) {
        t.eventSelectors = normalizeEventSelectors(classic);
        delete t.advancedEventSelectors;
      } else {
        t.advancedEventSelectors = normalizeAdvancedEventSelectors(advanced!);
        delete t.eventSelectors;
      }
      saveTrail(ctx, deps, t);
      return { TrailARN: t.arn, ...(t.eventSelectors ? { EventSelectors: t.eventSelectors } : { AdvancedEventSelectors: t.advancedEventSelectors }) };
    },
  });
}

export function getEventSelectorsOperation(deps: CloudTrailDeps) {
  return defineOperation<GetEventSelectorsRequest, GetEventSelectorsResponse, TrailTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.TrailName!),
    authorize: (_ctx, _i, target) => trailCheck("GetEventSelectors", target),
    handler: function getEventSelectors(_ctx, _i, target) {
      const t = trailOf(target);
      if (t.advancedEventSelectors) return { TrailARN: t.arn, AdvancedEventSelectors: t.advancedEventSelectors };
      return { TrailARN: t.arn, EventSelectors: t.eventSelectors ?? defaultEventSelectors() };
    },
  });
}
