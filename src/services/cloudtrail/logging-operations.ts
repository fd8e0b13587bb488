/**
 * StartLogging, StopLogging and GetTrailStatus (a trail's delivery of log and digest files), and
 * ListPublicKeys (the keys that verify the digests).
 */
import type {
  GetTrailStatusRequest,
  GetTrailStatusResponse,
  ListPublicKeysRequest,
  ListPublicKeysResponse,
  StartLoggingRequest,
  StopLoggingRequest,
} from "@aws-sdk/client-cloudtrail";
import { defineOperation } from "../../kernel/operation.ts";
import { isoSeconds } from "../../audit/record.ts";
import { DELIVERY_INTERVAL_MS, DIGEST_INTERVAL_MS, homeChain } from "./delivery.ts";
import { saveTrail, type CloudTrailDeps } from "./deps.ts";
import { resolveTrailTarget, storedHomeTrailOf, trailCheck, trailOf, type TrailTarget } from "./target.ts";
import { ctError } from "./trails.ts";

export function startLoggingOperation(deps: CloudTrailDeps) {
  return defineOperation<StartLoggingRequest, object, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.Name!),
    authorize: (_ctx, _i, target) => trailCheck("StartLogging", target),
    handler: async function startLogging(ctx, input, target) {
      await deps.events.indexed(); // "everything stored so far" must include every call answered so far
      const t = storedHomeTrailOf(ctx, deps.trails, target, input.Name!);
      if (!t.isLogging) {
        const now = ctx.now.getTime();
        t.isLogging = true;
        t.startLoggingMs = now;
        // Events from now on: everything stored so far is before logging started.
        t.watermark = deps.events.maxSeq();
        t.nextDeliveryMs = now + DELIVERY_INTERVAL_MS;
        t.nextDigestMs = now + DIGEST_INTERVAL_MS;
        t.digests = t.logFileValidationEnabled ? { [homeChain(t)]: { startMs: now, previous: null, logFiles: [] } } : {};
        saveTrail(ctx, deps, t);
      }
      return {};
    },
  });
}

export function stopLoggingOperation(deps: CloudTrailDeps) {
  return defineOperation<StopLoggingRequest, object, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.Name!),
    authorize: (_ctx, _i, target) => trailCheck("StopLogging", target),
    handler: async function stopLogging(ctx, input, target) {
      await deps.events.indexed(); // delivers what is pending first
      const t = storedHomeTrailOf(ctx, deps.trails, target, input.Name!);
      if (t.isLogging) {
        const now = ctx.now.getTime();
        ctx.writes.push(...deps.delivery.finish(t, now));
        t.isLogging = false;
        t.stopLoggingMs = now;
        saveTrail(ctx, deps, t);
      }
      return {};
    },
  });
}

export function getTrailStatusOperation(deps: CloudTrailDeps) {
  return defineOperation<GetTrailStatusRequest, GetTrailStatusResponse, TrailTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.Name!),
    authorize: (_ctx, _i, target) => trailCheck("GetTrailStatus", target),
    handler: function getTrailStatus(_ctx, _i, target) {
      const t = trailOf(target);
      const d = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
      const s = (ms: number | undefined) => (ms === undefined ? "" : isoSeconds(new Date(ms)));
      return {
        IsLogging: t.isLogging,
        ...(t.latestDeliveryError ? { LatestDeliveryError: t.latestDeliveryError } : {}),
        LatestDeliveryTime: d(t.latestDeliveryMs),
        StartLoggingTime: d(t.startLoggingMs),
        StopLoggingTime: d(t.stopLoggingMs),
        LatestDigestDeliveryTime: d(t.latestDigestDeliveryMs),
        ...(t.latestDigestDeliveryError ? { LatestDigestDeliveryError: t.latestDigestDeliveryError } : {}),
        LatestDeliveryAttemptTime: s(t.latestDeliveryAttemptMs),
        LatestNotificationAttemptTime: "",
        LatestNotificationAttemptSucceeded: "",
        LatestDeliveryAttemptSucceeded: t.latestDeliveryError ? "" : s(t.latestDeliveryMs),
        TimeLoggingStarted: s(t.startLoggingMs),
        TimeLoggingStopped: s(t.stopLoggingMs),
      };
    },
  });
}

export function listPublicKeysOperation(deps: CloudTrailDeps) {
  return defineOperation<ListPublicKeysRequest, ListPublicKeysResponse>({
    readOnly: true,
    authorize: () => [{ action: "cloudtrail:ListPublicKeys", resource: "*" }],
    handler: function listPublicKeys(ctx, input) {
      if (input.NextToken !== undefined) throw ctError("InvalidTokenException", "Reserved for future use.");
      const now = ctx.now.getTime();
      const start = input.StartTime?.getTime() ?? (input.EndTime ? Math.min(input.EndTime.getTime(), now) : now);
      const end = input.EndTime?.getTime() ?? now;
      if (start > end) throw ctError("InvalidTimeRangeException", "The start time must be before the end time.");
      // The region always has a current key; make it if this is the first time anyone asks.
      if (start <= now && end >= now) ctx.writes.push(...deps.keys.current(ctx.region, now).writes);
      return {
        PublicKeyList: deps.keys.inRange(ctx.region, start, end).map((k) => ({
          Value: k.publicDer,
          ValidityStartTime: new Date(k.validityStartMs),
          ValidityEndTime: new Date(k.validityEndMs),
          Fingerprint: k.fingerprint,
        })),
      };
    },
  });
}
