/**
 * Browsers cannot drive localfargate: a request carrying a foreign Origin (or a cross-site
 * Sec-Fetch-Site) or a Host name that DNS could re-point here is refused before any endpoint
 * runs; SDK and CLI requests (no Origin, loopback Host) are served as before.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { request } from "node:http";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { S3Client, ListBucketsCommand } from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../support/server.ts";
import { signedFetch } from "../support/signed-fetch.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ allowedOrigins: ["http://console.example:8080"] });
});
afterAll(async () => {
  await s.close();
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP/1.1 request with exactly the headers given (fetch forbids setting Host, Origin is allowed). */
function raw(method: string, path: string, headers: Record<string, string>, body = "", port = s.port): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: { "content-length": String(Buffer.byteLength(body)), ...headers }, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const savedOffset = () => s.app.store.getMeta("clock.offsetMs");
const host = () => `127.0.0.1:${s.port}`;

describe("cross-site requests from a web page", () => {
  it("refuses a cross-site text/plain POST to the clock and changes nothing", async () => {
    const before = savedOffset();
    const nowBefore = s.app.clock.offsetMs();
    const r = await raw(
      "POST",
      "/_localfargate/clock",
      { host: host(), origin: "http://evil.example", "content-type": "text/plain", "sec-fetch-site": "cross-site" },
      '{"advanceSeconds": 86400}',
    );
    expect(r.status).toBe(403);
    const body = JSON.parse(r.body) as { __type: string; message: string };
    expect(body.__type).toBe("AccessDenied");
    expect(body.message).toContain('Origin "http://evil.example" is not allowed');
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    expect(savedOffset()).toBe(before);
    expect(s.app.clock.offsetMs()).toBe(nowBefore);
  });

  it("refuses the same POST through fetch (Origin set as a page would)", async () => {
    const r = await fetch(`${s.url}/_localfargate/clock`, {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "text/plain" },
      body: '{"advanceSeconds": 60}',
    });
    expect(r.status).toBe(403);
  });

  it.each(["null", "http://localhost:3000", `http://127.0.0.1:${1}`, "file://", "not a url"])("refuses Origin %s", async (origin) => {
    const r = await raw("GET", "/_localfargate/health", { host: host(), origin });
    expect(r.status).toBe(403);
  });

  it.each(["cross-site", "same-site"])("refuses Sec-Fetch-Site: %s without an Origin (an <img> or a navigation)", async (site) => {
    const r = await raw("GET", "/_localfargate/clock", { host: host(), "sec-fetch-site": site });
    expect(r.status).toBe(403);
  });

  it("refuses an AWS JSON call from a foreign origin with AccessDeniedException", async () => {
    const r = await signedFetch(s.url, "kms", "{}", { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys", origin: "http://evil.example" });
    expect(r.status).toBe(403);
    expect(r.headers.get("x-amzn-errortype")).toBe("AccessDeniedException");
    expect(((await r.json()) as { message: string }).message).toContain("evil.example");
  });

  it("refuses an AWS Query call from a foreign origin with AccessDenied XML", async () => {
    const r = await signedFetch(s.url, "sts", "Action=GetCallerIdentity&Version=2011-06-15", {
      "content-type": "application/x-www-form-urlencoded",
      origin: "http://evil.example",
    });
    expect(r.status).toBe(403);
    const text = await r.text();
    expect(text).toContain("<Code>AccessDenied</Code>");
    expect(text).toContain("<ErrorResponse");
  });

  it("refuses an S3 request from a foreign origin in S3's XML", async () => {
    const r = await raw("GET", "/", { host: host(), origin: "http://evil.example" });
    expect(r.status).toBe(403);
    expect(r.body).toContain("<Code>AccessDenied</Code>");
  });

  it("answers a CORS preflight from a foreign origin 403 with no CORS headers", async () => {
    const r = await raw("OPTIONS", "/", { host: host(), origin: "http://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "x-amz-target" });
    expect(r.status).toBe(403);
    expect(Object.keys(r.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
  });
});

describe("DNS rebinding", () => {
  it.each(["evil.example", "attacker.test", "localhost.evil.example", "127.0.0.1.nip.io", "[::ffff:zz]", "a b"])("refuses Host %s", async (name) => {
    const before = savedOffset();
    const r = await raw("POST", "/_localfargate/clock", { host: `${name}:${s.port}`, "content-type": "application/json" }, '{"advanceSeconds": 60}');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toContain("DNS rebinding");
    expect(savedOffset()).toBe(before);
  });

  it("refuses an AWS call with a rebinding Host", async () => {
    const r = await raw("POST", "/", { host: `evil.example:${s.port}`, "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys" }, "{}");
    expect(r.status).toBe(403);
    expect(r.headers["x-amzn-errortype"]).toBe("AccessDeniedException");
  });

  it.each(["127.0.0.1", "localhost", "[::1]", "bucket.localhost", "bucket.s3.localhost.localstack.cloud", "10.1.2.3"])("serves Host %s", async (name) => {
    const r = await raw("GET", "/_localfargate/health", { host: `${name}:${s.port}` });
    expect(r.status).toBe(200);
  });

  it("serves a name given with allowedHosts (--allowed-host), and only on that server", async () => {
    const named = await startTestServer({ allowedHosts: ["localfargate"] });
    try {
      expect((await raw("GET", "/_localfargate/health", { host: `localfargate:${named.port}` }, "", named.port)).status).toBe(200);
      expect((await raw("GET", "/_localfargate/health", { host: `other:${named.port}` }, "", named.port)).status).toBe(403);
    } finally {
      await named.close();
    }
    expect((await raw("GET", "/_localfargate/health", { host: `localfargate:${s.port}` })).status).toBe(403);
  });

  it("serves a request with no Host (HTTP/1.0 style)", async () => {
    const r = await raw("GET", "/_localfargate/health", {});
    expect(r.status).toBe(200);
  });
});

describe("what stays allowed", () => {
  it("SDK clients (no Origin) work for every protocol", async () => {
    expect((await new STSClient(s.config).send(new GetCallerIdentityCommand({}))).Account).toBe("000000000000");
    expect((await new KMSClient(s.config).send(new ListKeysCommand({}))).Keys).toBeDefined();
    expect((await new S3Client({ ...s.config, forcePathStyle: true }).send(new ListBucketsCommand({}))).Buckets).toBeDefined();
  });

  it("a same-origin page (the console) may call the control endpoints", async () => {
    const r = await raw("GET", "/_localfargate/clock", { host: host(), origin: `http://${host()}`, "sec-fetch-site": "same-origin" });
    expect(r.status).toBe(200);
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("a configured origin gets a CORS preflight answer and CORS headers", async () => {
    const pre = await raw("OPTIONS", "/", {
      host: host(),
      origin: "http://console.example:8080",
      "access-control-request-method": "POST",
      "access-control-request-headers": "x-amz-target, authorization",
    });
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("http://console.example:8080");
    expect(pre.headers["access-control-allow-headers"]).toBe("x-amz-target, authorization");
    const r = await signedFetch(s.url, "kms", "{}", {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "TrentService.ListKeys",
      origin: "http://console.example:8080",
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBe("http://console.example:8080");
  });

  it("a configured origin still needs a valid signature", async () => {
    const r = await raw(
      "POST",
      "/",
      { host: host(), origin: "http://console.example:8080", "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys" },
      "{}",
    );
    expect(r.status).toBe(400);
    expect(r.headers["x-amzn-errortype"]).toBe("MissingAuthenticationTokenException");
  });
});
