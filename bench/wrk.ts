/**
 * Load generation with wrk (C, from Debian): replays one SigV4-signed request over keep-alive
 * connections. Replaying the same signed request is valid for AWS within the 15-minute window,
 * and every replay is fully verified and authorized by the server.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "../test/support/signed-fetch.ts";

export interface SignedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export async function signRequest(opts: {
  endpoint: string;
  service: string;
  region?: string;
  body: string;
  headers: Record<string, string>;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}): Promise<SignedRequest> {
  const url = new URL(opts.endpoint);
  const signer = new SignatureV4({
    service: opts.service,
    region: opts.region ?? "us-east-1",
    credentials: opts.credentials ?? { accessKeyId: "test", secretAccessKey: "test" },
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: "POST",
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: "/",
    headers: { host: url.host, ...opts.headers, "content-length": String(Buffer.byteLength(opts.body)) },
    body: opts.body,
  });
  return { method: "POST", path: "/", headers: signed.headers as Record<string, string>, body: opts.body };
}

export interface LoadResult {
  connections: number;
  requestsPerSec: number;
  p50ms: number;
  p99ms: number;
  requests: number;
  non2xx: number;
}

const luaString = (s: string) => JSON.stringify(s);

export function hasWrk(): boolean {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
    return true;
  } catch (e) {
    // wrk --version exits 1 but prints its version
    return (e as { status?: number }).status === 1;
  }
}

export function runWrk(endpoint: string, req: SignedRequest, connections: number, seconds: number): LoadResult {
  const dir = mkdtempSync(join(tmpdir(), "lf-wrk-"));
  const headers = Object.entries(req.headers)
    .filter(([k]) => k.toLowerCase() !== "content-length" && k.toLowerCase() !== "host")
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
    .join("\n");
  const script = join(dir, "req.lua");
  writeFileSync(
    script,
    // No response() callback: wrk would hand every response to Lua, costing CPU on the core the
    // server shares with it. wrk counts non-2xx answers itself.
    `wrk.method = ${luaString(req.method)}\nwrk.body = ${luaString(req.body)}\n${headers}\n` +
      `done = function(summary, latency, requests) io.write(string.format("JSON {\\"requests\\":%d,\\"p50\\":%d,\\"p99\\":%d,\\"duration\\":%d}\\n", summary.requests, latency:percentile(50), latency:percentile(99), summary.duration)) end\n`,
  );
  const out = execFileSync("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", script, endpoint], { encoding: "utf8", maxBuffer: 1 << 24 });
  const m = /JSON (\{.*\})/.exec(out);
  if (!m) throw new Error(`could not read wrk output:\n${out}`);
  const j = JSON.parse(m[1]) as { requests: number; p50: number; p99: number; duration: number };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    connections,
    requests: j.requests,
    requestsPerSec: j.requests / (j.duration / 1e6),
    p50ms: j.p50 / 1000,
    p99ms: j.p99 / 1000,
    non2xx,
  };
}
