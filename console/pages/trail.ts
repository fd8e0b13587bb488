/** CloudTrail: a live event stream with LookupEvents' filters, expandable records, trails and their delivery. */
import { json, type Json } from "../aws.ts";
import { badge, h, time } from "../dom.ts";
import type { Ctx, Page } from "../page.ts";

const ATTRIBUTES = ["EventName", "EventSource", "ResourceName", "ResourceType", "Username", "EventId", "AccessKeyId", "ReadOnly"];

interface LookupEvent {
  EventId: string;
  EventName: string;
  EventTime: number;
  EventSource: string;
  Username?: string;
  CloudTrailEvent: string;
}

interface Row {
  event: LookupEvent;
  record: Json;
}

interface Trail {
  Name: string;
  TrailARN: string;
  S3BucketName?: string;
  HomeRegion?: string;
  IsMultiRegionTrail?: boolean;
  LogFileValidationEnabled?: boolean;
  status?: Json;
}

/** Records Fargate makes for a task's storage: AWS service calls invoked by Fargate or EC2 for it, and the grant retirement. */
const FARGATE_INVOKERS = new Set(["fargate.amazonaws.com", "ec2-frontend-api.amazonaws.com"]);
export function isFargateRecord(r: Json): boolean {
  const who = (r.userIdentity ?? {}) as Json;
  const invokedBy = String(who.invokedBy ?? "");
  if (FARGATE_INVOKERS.has(invokedBy)) return true;
  if (/^fargate\.[a-z0-9-]+\.amazonaws\.com$/.test(invokedBy)) return true;
  return r.eventName === "RetireGrant" && invokedBy === "AWS Internal" && r.eventSource === "kms.amazonaws.com";
}

const isDenied = (r: Json) => /AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(String(r.errorCode ?? ""));

const expanded = new Set<string>();

function parseRecord(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return { unreadable: text };
  }
}

function isoToEpoch(v: string | null): number | undefined {
  if (!v) return undefined;
  const ms = Date.parse(v.endsWith("Z") ? v : v + "Z");
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

export const trailPage: Page = {
  title: "CloudTrail",
  controls(ctx) {
    const q = ctx.query;
    const attr = h(
      "select",
      { id: "trail-attr", "aria-label": "Lookup attribute" },
      h("option", { value: "" }, "any event"),
      ATTRIBUTES.map((a) => h("option", { value: a, selected: q.get("attr") === a }, a)),
    );
    const value = h("input", { id: "trail-value", type: "text", value: q.get("value") ?? "", placeholder: "value", "aria-label": "Attribute value" });
    const start = h("input", { id: "trail-start", type: "datetime-local", step: 1, value: q.get("start") ?? "", "aria-label": "Start time (UTC)" });
    const end = h("input", { id: "trail-end", type: "datetime-local", step: 1, value: q.get("end") ?? "", "aria-label": "End time (UTC)" });
    const contains = h("input", { id: "trail-q", type: "search", value: q.get("q") ?? "", placeholder: "text in the record", "aria-label": "Text in the record" });
    const fargate = h("input", { id: "trail-fargate", type: "checkbox", checked: q.get("fargate") === "1" });
    const apply = () => {
      const p = new URLSearchParams();
      if (attr.value && value.value) {
        p.set("attr", attr.value);
        p.set("value", value.value);
      }
      if (start.value) p.set("start", start.value);
      if (end.value) p.set("end", end.value);
      if (contains.value) p.set("q", contains.value);
      if (fargate.checked) p.set("fargate", "1");
      ctx.go(`/trail?${p}`);
    };
    return h(
      "form",
      {
        class: "filters",
        onsubmit: (e: Event) => {
          e.preventDefault();
          apply();
        },
      },
      h("label", {}, "Attribute ", attr),
      value,
      h("label", {}, "From (UTC) ", start),
      h("label", {}, "To (UTC) ", end),
      contains,
      h("label", {}, fargate, " Fargate storage events only"),
      h("button", { type: "submit", id: "trail-apply" }, "Apply"),
      h(
        "button",
        {
          type: "button",
          id: "trail-fargate-preset",
          onclick: () => ctx.go(`/trail?attr=EventSource&value=kms.amazonaws.com&fargate=1`),
        },
        "Fargate events",
      ),
      h("button", { type: "button", id: "trail-clear", onclick: () => ctx.go("/trail") }, "Clear"),
    );
  },
  async load(ctx) {
    const q = ctx.query;
    const input: Json = { MaxResults: 50 };
    if (q.get("attr") && q.get("value")) input.LookupAttributes = [{ AttributeKey: q.get("attr"), AttributeValue: q.get("value") }];
    const start = isoToEpoch(q.get("start"));
    const end = isoToEpoch(q.get("end"));
    if (start !== undefined) input.StartTime = start;
    if (end !== undefined) input.EndTime = end;
    const events: LookupEvent[] = [];
    let token: string | undefined;
    for (let page = 0; page < 4; page++) {
      const r = await json(ctx.target, "cloudtrail", "LookupEvents", token ? { ...input, NextToken: token } : input);
      events.push(...((r.Events as LookupEvent[]) ?? []));
      token = r.NextToken as string | undefined;
      if (!token) break;
    }
    const needle = q.get("q")?.toLowerCase();
    const rows: Row[] = events
      .map((event) => ({ event, record: parseRecord(event.CloudTrailEvent) }))
      .filter((r) => (q.get("fargate") === "1" ? isFargateRecord(r.record) : true))
      .filter((r) => (needle ? r.event.CloudTrailEvent.toLowerCase().includes(needle) : true));
    const trails = ((await json(ctx.target, "cloudtrail", "DescribeTrails", {})).trailList as Trail[] | undefined) ?? [];
    for (const t of trails) t.status = await json(ctx.target, "cloudtrail", "GetTrailStatus", { Name: t.TrailARN }).catch((e: Error) => ({ error: e.message }));
    return { rows, trails };
  },
  view(data, ctx) {
    const { rows, trails } = data as { rows: Row[]; trails: Trail[] };
    return h(
      "div",
      {},
      h("p", { class: "muted" }, `${rows.length} event${rows.length === 1 ? "" : "s"}, newest first; updates live.`),
      h(
        "table",
        { class: "events-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["", "Time", "Event", "Source", "User", "Error"].map((t) => h("th", { scope: "col" }, t)),
          ),
        ),
        h("tbody", {}, rows.length ? rows.flatMap((r) => eventRows(r, ctx)) : h("tr", {}, h("td", { colspan: 6, class: "empty" }, "No events match."))),
      ),
      h("h2", {}, "Trails"),
      trails.length
        ? h(
            "table",
            {},
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ["Trail", "Bucket", "Logging", "Latest delivery", "Delivery error", "Validation"].map((t) => h("th", { scope: "col" }, t)),
              ),
            ),
            h(
              "tbody",
              {},
              trails.map((t) =>
                h(
                  "tr",
                  {},
                  h("td", {}, t.Name),
                  h("td", {}, t.S3BucketName ?? "—"),
                  h("td", {}, t.status?.IsLogging ? badge("logging", "active") : badge("stopped")),
                  h("td", {}, time(t.status?.LatestDeliveryTime)),
                  h("td", { class: t.status?.LatestDeliveryError || t.status?.error ? "error" : "" }, String(t.status?.LatestDeliveryError ?? t.status?.error ?? "—")),
                  h("td", {}, t.LogFileValidationEnabled ? "on" : "off"),
                ),
              ),
            ),
          )
        : h("p", {}, "No trails in this Region."),
    );
  },
};

function eventRows(r: Row, ctx: Ctx): HTMLElement[] {
  const e = r.event;
  const open = expanded.has(e.EventId);
  const denied = isDenied(r.record);
  const error = String(r.record.errorCode ?? "");
  const toggle = h(
    "button",
    {
      id: `ev-${e.EventId}`,
      class: "toggle",
      "aria-expanded": String(open),
      "aria-label": `${open ? "Hide" : "Show"} the record of ${e.EventName}`,
      onclick: () => {
        if (open) expanded.delete(e.EventId);
        else expanded.add(e.EventId);
        ctx.refresh();
      },
    },
    open ? "▾" : "▸",
  );
  const who = (r.record.userIdentity ?? {}) as Json;
  const out = [
    h(
      "tr",
      { class: denied ? "denied" : error ? "failed" : "" },
      h("td", {}, toggle),
      h("td", {}, time(e.EventTime)),
      h("td", {}, e.EventName),
      h("td", {}, e.EventSource),
      h("td", {}, e.Username ?? String(who.invokedBy ?? who.type ?? "—")),
      h("td", {}, error ? badge(error, denied ? "denied" : "failed") : ""),
    ),
  ];
  if (open) out.push(h("tr", { class: "record" }, h("td", { colspan: 6 }, h("pre", { class: "json" }, JSON.stringify(r.record, null, 2)))));
  return out;
}
