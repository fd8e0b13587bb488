import { describe, it, expect } from "vitest";
import { hostname } from "node:os";
import { BrowserGuard, corsHeaders, isHostName, normalizeOrigin } from "./browser-guard.ts";

const loopback = new BrowserGuard({ boundHost: "127.0.0.1", allowedOrigins: ["http://app.example:3000/"] });
const allowed = (g: BrowserGuard, headers: Record<string, string>) => g.check(headers).allowed;

describe("Host", () => {
  it.each(["127.0.0.1:4566", "127.0.0.1", "[::1]:4566", "localhost:1", "LOCALHOST", "a.b.localhost:9", "localhost.", "s3.localhost.localstack.cloud:4566", "192.168.1.20:4566"])(
    "serves %s",
    (host) => {
      expect(allowed(loopback, { host })).toBe(true);
    },
  );

  it.each([
    "evil.example:4566",
    "evil.example",
    "127.0.0.1.evil.example",
    "localhost.evil.example",
    "[127.0.0.1]",
    "::1",
    "[zz]",
    "",
    "a b",
    "host:port",
    "localhost:99999999",
    hostname() === "localhost" ? "x.invalid" : hostname(),
  ])("refuses %j", (host) => {
    expect(allowed(loopback, { host })).toBe(false);
  });

  it("a non-loopback bind also serves its own name, the machine's name and configured names", () => {
    const remote = new BrowserGuard({ boundHost: "0.0.0.0", allowedOrigins: [], allowedHosts: ["Compose-Svc"] });
    expect(allowed(remote, { host: `${hostname()}:4566` })).toBe(true);
    expect(allowed(remote, { host: "compose-svc:4566" })).toBe(true);
    expect(allowed(remote, { host: "evil.example:4566" })).toBe(false);
    const named = new BrowserGuard({ boundHost: "devbox.lan", allowedOrigins: [] });
    expect(allowed(named, { host: "devbox.lan:4566" })).toBe(true);
    const v6 = new BrowserGuard({ boundHost: "::1", allowedOrigins: [] });
    expect(allowed(v6, { host: "[::1]:4566" })).toBe(true);
  });
});

describe("Origin and Sec-Fetch-Site", () => {
  const host = "127.0.0.1:4566";
  it("serves the server's own origin and a configured one (with CORS for the latter only)", () => {
    expect(loopback.check({ host, origin: "http://127.0.0.1:4566" })).toEqual({ allowed: true });
    expect(loopback.check({ host, origin: "http://app.example:3000" })).toEqual({ allowed: true, cors: "http://app.example:3000" });
  });

  it.each(["http://evil.example", "null", "https://127.0.0.1:4566", "http://127.0.0.1:4567", "http://app.example:3001", "http://app.example:3000/x", ""])(
    "refuses Origin %j",
    (origin) => {
      expect(allowed(loopback, { host, origin })).toBe(false);
    },
  );

  it("refuses cross-site and same-site fetch metadata without an Origin, serves same-origin and none", () => {
    expect(allowed(loopback, { host, "sec-fetch-site": "cross-site" })).toBe(false);
    expect(allowed(loopback, { host, "sec-fetch-site": "Same-Site" })).toBe(false);
    expect(allowed(loopback, { host, "sec-fetch-site": "same-origin" })).toBe(true);
    expect(allowed(loopback, { host, "sec-fetch-site": "none" })).toBe(true);
  });
});

describe("helpers", () => {
  it("normalizes origins", () => {
    expect(normalizeOrigin("http://Localhost:3000/")).toBe("http://localhost:3000");
    expect(normalizeOrigin("https://[::1]:8443")).toBe("https://[::1]:8443");
    for (const bad of ["localhost:3000", "ftp://x", "http://x/path", "null", "http://x:80", "*"]) expect(normalizeOrigin(bad)).toBeUndefined();
  });

  it("knows host names", () => {
    expect(isHostName("compose_svc")).toBe(true);
    expect(isHostName("a.b-c.example")).toBe(true);
    for (const bad of ["a:1", "*.example", "-a", "a..b", "", "a b"]) expect(isHostName(bad)).toBe(false);
  });

  it("echoes only header names in a preflight answer", () => {
    expect(corsHeaders("http://a", { "access-control-request-headers": "x-amz-date, authorization" })["access-control-allow-headers"]).toBe("x-amz-date, authorization");
    expect(corsHeaders("http://a", { "access-control-request-headers": "x\r\nset-cookie: a" })["access-control-allow-headers"]).toBeUndefined();
  });
});
