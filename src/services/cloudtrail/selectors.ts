/**
 * Event selectors: which events a trail delivers. Classic EventSelectors (ReadWriteType,
 * IncludeManagementEvents, ExcludeManagementEventSources, S3 object DataResources) and
 * AdvancedEventSelectors (field selectors with Equals/StartsWith/EndsWith and their negations).
 */
import type { AdvancedEventSelector, AdvancedFieldSelector, EventSelector } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../kernel/errors.ts";

/** What a trail without custom selectors logs: every management event. */
export function defaultEventSelectors(): EventSelector[] {
  return [{ ReadWriteType: "All", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }];
}

/** The fields of a stored event that selectors look at. */
export interface SelectableEvent {
  management: boolean;
  readOnly: boolean;
  eventSource: string;
  eventName: string;
  eventType: string;
  errorCode?: string;
  userIdentityArn?: string;
  resources: { type: string; arn: string }[];
}

export function eventFields(record: Record<string, unknown>): SelectableEvent {
  const res = Array.isArray(record.resources) ? (record.resources as { type?: unknown; ARN?: unknown }[]) : [];
  const ui = record.userIdentity as Record<string, unknown> | undefined;
  return {
    management: record.managementEvent !== false,
    readOnly: record.readOnly === true,
    eventSource: String(record.eventSource ?? ""),
    eventName: String(record.eventName ?? ""),
    eventType: String(record.eventType ?? "AwsApiCall"),
    errorCode: typeof record.errorCode === "string" ? record.errorCode : undefined,
    userIdentityArn: typeof ui?.arn === "string" ? ui.arn : undefined,
    resources: res.filter((r) => typeof r.type === "string" && typeof r.ARN === "string").map((r) => ({ type: r.type as string, arn: r.ARN as string })),
  };
}

function rwMatches(rw: string | undefined, readOnly: boolean): boolean {
  return !rw || rw === "All" || (rw === "ReadOnly" ? readOnly : !readOnly);
}

function classicMatches(sel: EventSelector, e: SelectableEvent): boolean {
  if (!rwMatches(sel.ReadWriteType, e.readOnly)) return false;
  if (e.management) {
    if (sel.IncludeManagementEvents === false) return false;
    return !(sel.ExcludeManagementEventSources ?? []).includes(e.eventSource);
  }
  for (const dr of sel.DataResources ?? []) {
    const objects = e.resources.filter((r) => r.type === dr.Type);
    for (const value of dr.Values ?? []) {
      // "arn:aws:s3" (or "arn:aws:s3:::") selects every object; otherwise an ARN prefix.
      if (value === "arn:aws:s3" || value === "arn:aws:s3:::" || value === "arn:aws:lambda" || value === "arn:aws:dynamodb") {
        if (objects.length) return true;
      } else if (objects.some((r) => r.arn.startsWith(value))) return true;
    }
  }
  return false;
}

function fieldValues(field: string, e: SelectableEvent): string[] {
  switch (field) {
    case "eventCategory":
      return [e.management ? "Management" : "Data"];
    case "readOnly":
      return [String(e.readOnly)];
    case "eventSource":
      return [e.eventSource];
    case "eventName":
      return [e.eventName];
    case "eventType":
      return [e.eventType];
    case "errorCode":
      return e.errorCode ? [e.errorCode] : [];
    case "userIdentity.arn":
      return e.userIdentityArn ? [e.userIdentityArn] : [];
    case "resources.type":
      return e.resources.map((r) => r.type);
    case "resources.ARN":
      return e.resources.map((r) => r.arn);
    default:
      return [];
  }
}

function fieldMatches(fs: AdvancedFieldSelector, e: SelectableEvent): boolean {
  const values = fieldValues(fs.Field!, e);
  const some = (list: string[] | undefined, test: (v: string, x: string) => boolean) => values.some((v) => list!.some((x) => test(v, x)));
  if (fs.Equals?.length && !some(fs.Equals, (v, x) => v === x)) return false;
  if (fs.StartsWith?.length && !some(fs.StartsWith, (v, x) => v.startsWith(x))) return false;
  if (fs.EndsWith?.length && !some(fs.EndsWith, (v, x) => v.endsWith(x))) return false;
  if (fs.NotEquals?.length && some(fs.NotEquals, (v, x) => v === x)) return false;
  if (fs.NotStartsWith?.length && some(fs.NotStartsWith, (v, x) => v.startsWith(x))) return false;
  if (fs.NotEndsWith?.length && some(fs.NotEndsWith, (v, x) => v.endsWith(x))) return false;
  return true;
}

export interface TrailSelectors {
  eventSelectors?: EventSelector[];
  advancedEventSelectors?: AdvancedEventSelector[];
}

/** Whether a trail with these selectors delivers the event. */
export function selects(t: TrailSelectors, e: SelectableEvent): boolean {
  if (t.advancedEventSelectors?.length) {
    return t.advancedEventSelectors.some((s) => (s.FieldSelectors ?? []).every((fs) => fieldMatches(fs, e)));
  }
  return (t.eventSelectors ?? defaultEventSelectors()).some((s) => classicMatches(s, e));
}

const EXCLUDABLE_SOURCES = ["kms.amazonaws.com", "rdsdata.amazonaws.com"];
const DATA_RESOURCE_TYPES = ["AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"];
const ADVANCED_FIELDS = [
  "eventCategory",
  "readOnly",
  "eventSource",
  "eventName",
  "eventType",
  "errorCode",
  "userIdentity.arn",
  "resources.type",
  "resources.ARN",
  "sessionCredentialFromConsole",
  "eventTypes",
];

function invalid(message: string): ServiceError {
  return new ServiceError("InvalidEventSelectorsException", message, 400);
}

/** Validates and fills in defaults as CloudTrail does. */
export function normalizeEventSelectors(list: EventSelector[]): EventSelector[] {
  if (list.length > 5) invalidTooMany();
  return list.map((s) => {
    const rw = s.ReadWriteType ?? "All";
    for (const src of s.ExcludeManagementEventSources ?? []) {
      if (!EXCLUDABLE_SOURCES.includes(src)) throw invalid(`Value ${src} for ExcludeManagementEventSources is invalid. Valid values are: ${EXCLUDABLE_SOURCES.join(", ")}.`);
    }
    for (const dr of s.DataResources ?? []) {
      if (!dr.Type || !DATA_RESOURCE_TYPES.includes(dr.Type)) throw invalid(`Value ${dr.Type ?? "null"} for DataResources.Type is invalid.`);
      for (const v of dr.Values ?? []) {
        if (dr.Type === "AWS::S3::Object" && !(v === "arn:aws:s3" || v.startsWith("arn:aws:s3:::"))) throw invalid(`Value ${v} for DataResources.Values is invalid.`);
      }
    }
    return {
      ReadWriteType: rw,
      IncludeManagementEvents: s.IncludeManagementEvents ?? true,
      DataResources: (s.DataResources ?? []).map((d) => ({ Type: d.Type, Values: d.Values ?? [] })),
      ExcludeManagementEventSources: s.ExcludeManagementEventSources ?? [],
    };
  });
}

function invalidTooMany(): never {
  throw invalid("The maximum number of event selectors for a trail is 5.");
}

export function normalizeAdvancedEventSelectors(list: AdvancedEventSelector[]): AdvancedEventSelector[] {
  if (list.length > 500) throw invalid("The maximum number of advanced event selectors for a trail is 500.");
  return list.map((s) => {
    const fields = s.FieldSelectors ?? [];
    const category = fields.find((f) => f.Field === "eventCategory");
    if (!category || !category.Equals?.length) throw invalid("Advanced event selectors must include an eventCategory field selector with the Equals operator.");
    for (const f of fields) {
      if (!ADVANCED_FIELDS.includes(f.Field!)) throw invalid(`Field ${f.Field} is not a valid field for an advanced event selector.`);
      const ops = [f.Equals, f.StartsWith, f.EndsWith, f.NotEquals, f.NotStartsWith, f.NotEndsWith].filter((o) => o !== undefined);
      if (ops.length === 0) throw invalid(`Field selector ${f.Field} must have at least one operator.`);
    }
    for (const v of category.Equals)
      if (v !== "Management" && v !== "Data" && v !== "Insight" && v !== "NetworkActivity") throw invalid(`Value ${v} for eventCategory is invalid.`);
    return { ...(s.Name !== undefined ? { Name: s.Name } : {}), FieldSelectors: fields };
  });
}
