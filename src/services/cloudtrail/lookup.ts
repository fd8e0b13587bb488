/**
 * LookupEvents: the last 90 days of management events of the caller's account in the region,
 * newest first, filtered by at most one lookup attribute, paged with a NextToken bound to the
 * request's parameters.
 */
import { createHash } from "node:crypto";
import type { Event, LookupEventsRequest, LookupEventsResponse } from "@aws-sdk/client-cloudtrail";
import type { AuditStore } from "../../audit/event-store.ts";
import { LOOKUP_ATTRIBUTES, type LookupAttributeKey } from "../../audit/event-store.ts";
import { ctError } from "./trails.ts";

export const EVENT_HISTORY_MS = 90 * 24 * 3600 * 1000;

interface Cursor {
  v: 1;
  /** hash of the parameters the token is bound to */
  h: string;
  t: number;
  s: number;
}

function bindingHash(account: string, region: string, req: LookupEventsRequest): string {
  const a = req.LookupAttributes?.[0];
  const parts = [
    account,
    region,
    a ? `${a.AttributeKey}=${a.AttributeValue}` : "",
    req.StartTime ? String(req.StartTime.getTime()) : "",
    req.EndTime ? String(req.EndTime.getTime()) : "",
    req.EventCategory ?? "",
  ];
  return createHash("sha256").update(parts.join("\n")).digest("base64url").slice(0, 22);
}

function encodeToken(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeToken(token: string, expectHash: string): Cursor {
  const bad = () => ctError("InvalidNextTokenException", "Invalid NextToken. The token is not valid for this request: use the same parameters as the request that returned it.");
  let c: Cursor;
  try {
    c = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Cursor;
  } catch {
    throw bad();
  }
  if (!c || c.v !== 1 || typeof c.t !== "number" || typeof c.s !== "number" || c.h !== expectHash) throw bad();
  return c;
}

export async function lookupEvents(store: AuditStore, account: string, region: string, nowMs: number, req: LookupEventsRequest): Promise<LookupEventsResponse> {
  const attrs = req.LookupAttributes ?? [];
  if (attrs.length > 1) throw ctError("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.");
  let attribute: { key: LookupAttributeKey; value: string } | undefined;
  if (attrs.length === 1) {
    const { AttributeKey: key, AttributeValue: value } = attrs[0];
    if (!LOOKUP_ATTRIBUTES.includes(key as LookupAttributeKey)) {
      throw ctError("InvalidLookupAttributesException", `Invalid attribute key: ${key}. Valid keys are: ${LOOKUP_ATTRIBUTES.join(", ")}.`);
    }
    if (value === undefined || value.length < 1 || value.length > 2000) {
      throw ctError("InvalidLookupAttributesException", "The attribute value must be between 1 and 2000 characters.");
    }
    attribute = { key: key as LookupAttributeKey, value };
  }
  if (req.EventCategory !== undefined && req.EventCategory !== "insight") {
    throw ctError("InvalidEventCategoryException", `Invalid event category: ${req.EventCategory}. The only valid value is insight.`);
  }
  const max = req.MaxResults ?? 50;
  if (!Number.isInteger(max) || max < 1 || max > 50) throw ctError("InvalidMaxResultsException", "MaxResults must be between 1 and 50.");
  const startIn = req.StartTime?.getTime();
  const endIn = req.EndTime?.getTime();
  if (startIn !== undefined && endIn !== undefined && startIn > endIn) {
    throw ctError("InvalidTimeRangeException", "The start time must be before the end time.");
  }
  const h = bindingHash(account, region, req);
  const cursor = req.NextToken !== undefined ? decodeToken(req.NextToken, h) : undefined;
  // Event history keeps 90 days on the service clock.
  const startMs = Math.max(startIn ?? 0, nowMs - EVENT_HISTORY_MS);
  const endMs = endIn ?? nowMs;
  // Insights events are not generated here: an insight lookup has nothing to return.
  if (req.EventCategory === "insight" || startMs > endMs) return { Events: [] };

  // stored times keep the call's millisecond (event-store.ts), records show whole seconds: an
  // event matches by its second, as its eventTime reads
  const rows = await store.lookup({
    account,
    region,
    attribute,
    startMs: Math.ceil(startMs / 1000) * 1000,
    endMs: Math.floor(endMs / 1000) * 1000 + 999,
    before: cursor ? { t: cursor.t, s: cursor.s } : undefined,
    limit: max + 1,
  });
  const page = rows.slice(0, max);
  const events: Event[] = page.map((e) => ({
    EventId: e.eventId,
    EventName: e.eventName,
    ReadOnly: String(e.readOnly),
    ...(e.accessKeyId ? { AccessKeyId: e.accessKeyId } : {}),
    EventTime: new Date(e.eventTimeMs - (e.eventTimeMs % 1000)),
    EventSource: e.eventSource,
    ...(e.username ? { Username: e.username } : {}),
    Resources: e.resources,
    CloudTrailEvent: e.record,
  }));
  const out: LookupEventsResponse = { Events: events };
  if (rows.length > max) {
    const last = page[page.length - 1];
    out.NextToken = encodeToken({ v: 1, h, t: last.eventTimeMs, s: last.seq });
  }
  return out;
}
