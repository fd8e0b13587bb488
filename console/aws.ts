/**
 * The AWS calls the console makes: ordinary SigV4-signed requests to the server that served the
 * page, in each service's own protocol (JSON 1.1 for KMS, ECS, CloudTrail and Organizations;
 * Query for STS).
 * Plus the two localfargate endpoints it uses: the clock and a task's output.
 */
import { sign, type Credentials } from "./sigv4.ts";

export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface CallTarget {
  creds: Credentials;
  region: string;
}

const JSON_TARGETS: Record<string, string> = {
  kms: "TrentService",
  ecs: "AmazonEC2ContainerServiceV20141113",
  cloudtrail: "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
  organizations: "AWSOrganizationsV20161128",
};

export type JsonService = "kms" | "ecs" | "cloudtrail" | "organizations";

export type Json = Record<string, unknown>;

/** One JSON-protocol call: `json(t, "kms", "ListKeys", {})`. */
export async function json<T = Json>(t: CallTarget, service: JsonService, operation: string, input: Json): Promise<T> {
  const body = JSON.stringify(input);
  const headers = await sign(
    {
      method: "POST",
      path: "/",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `${JSON_TARGETS[service]}.${operation}` },
      body,
      service,
      region: t.region,
      host: location.host,
      nowMs: Date.now(),
    },
    t.creds,
  );
  const res = await fetch("/", { method: "POST", headers, body, credentials: "omit", cache: "no-store" });
  const text = await res.text();
  let parsed: Json;
  try {
    parsed = text ? (JSON.parse(text) as Json) : {};
  } catch {
    throw new AwsError(`HTTP ${res.status}`, text.slice(0, 300), res.status);
  }
  if (!res.ok) {
    const code = String(parsed.__type ?? res.status)
      .split("#")
      .pop()!;
    throw new AwsError(code, String(parsed.message ?? parsed.Message ?? res.statusText), res.status);
  }
  return parsed as T;
}

/** One Query-protocol STS call; the answer is the XML result element. */
export async function sts(t: CallTarget, action: string, params: Record<string, string> = {}): Promise<Element> {
  const body = new URLSearchParams({ Action: action, Version: "2011-06-15", ...params }).toString();
  const headers = await sign(
    {
      method: "POST",
      path: "/",
      headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
      body,
      service: "sts",
      region: t.region,
      host: location.host,
      nowMs: Date.now(),
    },
    t.creds,
  );
  const res = await fetch("/", { method: "POST", headers, body, credentials: "omit", cache: "no-store" });
  const doc = new DOMParser().parseFromString(await res.text(), "application/xml");
  if (!res.ok) {
    throw new AwsError(doc.querySelector("Error > Code")?.textContent ?? String(res.status), doc.querySelector("Error > Message")?.textContent ?? res.statusText, res.status);
  }
  const result = doc.getElementsByTagName(`${action}Result`)[0];
  if (!result) throw new AwsError("InvalidResponse", `STS ${action} answered without a result.`, res.status);
  return result;
}

export const xmlText = (el: Element, tag: string): string => el.getElementsByTagName(tag)[0]?.textContent ?? "";

/** Pages through a JSON list operation. */
export async function all<T>(t: CallTarget, service: JsonService, op: string, input: Json, items: string, tokenIn = "NextToken", tokenOut = tokenIn): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  for (let page = 0; page < 50; page++) {
    const r = await json(t, service, op, token ? { ...input, [tokenIn]: token } : input);
    out.push(...((r[items] as T[] | undefined) ?? []));
    token = r[tokenOut] as string | undefined;
    if (!token) break;
  }
  return out;
}

/** The service clock (GET/POST /_localfargate/clock, docs/server.md). */
export async function clockNow(): Promise<string> {
  const res = await fetch("/_localfargate/clock", { cache: "no-store", credentials: "omit" });
  const body = (await res.json()) as { now?: string; message?: string; __type?: string };
  if (!res.ok || !body.now) throw new AwsError(body.__type ?? String(res.status), body.message ?? "The clock did not answer.", res.status);
  return body.now;
}

export async function advanceClock(seconds: number): Promise<string> {
  const res = await fetch("/_localfargate/clock", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ advanceSeconds: seconds }),
    credentials: "omit",
  });
  const body = (await res.json()) as { now?: string; message?: string; __type?: string };
  if (!res.ok || !body.now) throw new AwsError(body.__type ?? String(res.status), body.message ?? "The clock was not moved.", res.status);
  return body.now;
}

export interface OutputPage {
  records: { container: string; stream: string; timestamp: number; data: string }[];
  cursor?: string;
  done: boolean;
}

/**
 * A task's container output from `GET /_localfargate/logs` (signed for ecs, answered as
 * DescribeTasks would be). Undefined when this server has no such endpoint.
 */
export async function taskOutput(t: CallTarget, taskArn: string, cursor?: string): Promise<OutputPage | undefined> {
  const query = new URLSearchParams({ task: taskArn });
  if (cursor) query.set("cursor", cursor);
  const path = "/_localfargate/logs";
  const headers = await sign({ method: "GET", path, query, headers: {}, body: "", service: "ecs", region: t.region, host: location.host, nowMs: Date.now() }, t.creds);
  const res = await fetch(`${path}?${query}`, { headers, credentials: "omit", cache: "no-store" });
  if (res.status === 404) return undefined;
  const body = (await res.json()) as OutputPage & { __type?: string; message?: string };
  if (!res.ok) throw new AwsError(body.__type ?? String(res.status), body.message ?? "", res.status);
  return body;
}
