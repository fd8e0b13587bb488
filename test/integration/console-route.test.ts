/**
 * The web console's files at /_localfargate/console (docs/console.md) and how the browser guard
 * treats them and the console's own API calls: the page's same-origin calls are served, a
 * foreign page is still refused, and the page cannot be framed or pull in anything not its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { buildConsole } from "../../scripts/build.mjs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { signedFetch } from "../support/signed-fetch.ts";

let s: TestServer;
beforeAll(async () => {
  await buildConsole();
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: s.port, method, path, headers: { host: `127.0.0.1:${s.port}`, ...headers }, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

const kmsListKeys = { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys" };

describe("the console's files", () => {
  it("serves the page, its script and its style with headers that forbid framing and foreign content", async () => {
    for (const path of ["/_localfargate/console", "/_localfargate/console/"]) {
      const r = await raw("GET", path);
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.body).toContain('<script defer src="/_localfargate/console/app.js"></script>');
      expect(r.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(r.headers["content-security-policy"]).toContain("connect-src 'self'");
      expect(r.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(r.headers["x-frame-options"]).toBe("DENY");
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
    }
    const js = await raw("GET", "/_localfargate/console/app.js");
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.body).toContain("AWS4-HMAC-SHA256");
    const css = await raw("GET", "/_localfargate/console/app.css");
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    const head = await raw("HEAD", "/_localfargate/console");
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
  });

  it("serves nothing but its own three files", async () => {
    for (const path of [
      "/_localfargate/console/../../package.json",
      "/_localfargate/console/%2e%2e/cli.mjs",
      "/_localfargate/console/index.html",
      "/_localfargate/console/constructor",
      "/_localfargate/consolex",
    ]) {
      const r = await raw("GET", path);
      expect(r.status, path).toBe(404);
      expect(JSON.parse(r.body).__type).toBe("NotFound");
    }
    const post = await raw("POST", "/_localfargate/console");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
  });
});

describe("the console's requests and the browser guard", () => {
  const own = () => `http://127.0.0.1:${s.port}`;

  it("serves the page's own signed API calls (Origin is the server's own origin)", async () => {
    const r = await signedFetch(s.url, "kms", "{}", { ...kmsListKeys, origin: own(), "sec-fetch-site": "same-origin" });
    expect(r.status).toBe(200);
    expect(r.headers.get("access-control-allow-origin")).toBeNull();
    const clock = await fetch(`${s.url}/_localfargate/clock`, { headers: { origin: own(), "sec-fetch-site": "same-origin" } });
    expect(clock.status).toBe(200);
  });

  it("refuses the same signed call from another page, and the console's files to it", async () => {
    for (const origin of ["http://evil.example", "http://localhost:3000", `http://127.0.0.1:${s.port + 1}`, "null"]) {
      const r = await signedFetch(s.url, "kms", "{}", { ...kmsListKeys, origin, "sec-fetch-site": "cross-site" });
      expect(r.status, origin).toBe(403);
      expect(((await r.json()) as { __type: string }).__type).toBe("AccessDeniedException");
    }
    const page = await raw("GET", "/_localfargate/console/app.js", { "sec-fetch-site": "cross-site" });
    expect(page.status).toBe(403);
    const framed = await raw("GET", "/_localfargate/console", { origin: "http://evil.example" });
    expect(framed.status).toBe(403);
  });

  it("refuses the console at a rebinding name even with a matching Origin", async () => {
    const r = await raw("GET", "/_localfargate/console", { host: `evil.example:${s.port}`, origin: `http://evil.example:${s.port}` });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).message).toContain("DNS rebinding");
  });
});
