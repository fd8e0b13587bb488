import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressKind } from "./issuer-address.ts";
import { fetchIssuerJson, type HostResolver, type IssuerFetchPolicy } from "./issuer-fetch.ts";

describe("addressKind", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["10.0.0.1", "internal"],
    ["172.16.5.4", "internal"],
    ["192.168.1.1", "internal"],
    ["100.64.0.1", "internal"],
    ["169.254.170.2", "internal"],
    ["169.254.169.254", "internal"],
    ["0.0.0.0", "internal"],
    ["255.255.255.255", "internal"],
    ["224.0.0.1", "internal"],
    ["::", "internal"],
    ["fd00::1", "internal"],
    ["fc12:3456::1", "internal"],
    ["fe80::1", "internal"],
    ["fe80::1%eth0", "internal"],
    ["ff02::1", "internal"],
    ["::ffff:169.254.170.2", "internal"],
    ["::ffff:a9fe:aa02", "internal"],
    ["[::ffff:a9fe:aa02]", "internal"],
    ["::10.0.0.1", "internal"],
    ["64:ff9b::a9fe:aa02", "internal"],
    ["2002:a00:1::1", "internal"],
    ["2002:7f00:1::1", "loopback"],
    ["not-an-ip", "internal"],
    ["93.184.216.34", "public"],
    ["172.32.0.1", "public"],
    ["2606:4700::1111", "public"],
    ["::ffff:93.184.216.34", "public"],
  ])("%s is %s", (ip, kind) => {
    expect(addressKind(ip)).toBe(kind);
  });
});

/** A loopback server whose answers the tests set per path; it counts what it is asked. */
let server: Server;
let port: number;
const hits: string[] = [];
const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? "");
    const route = routes.get(req.url ?? "");
    if (route) return route(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const json = (body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
const redirect = (to: string) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(302, { location: to }).end();
};

/** A resolver that knows only the names it is given (no DNS query ever leaves the machine). */
function mapResolver(map: Record<string, string[]>): HostResolver & { asked: string[] } {
  const asked: string[] = [];
  const fn = async (hostname: string) => {
    asked.push(hostname);
    const list = map[hostname];
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return list.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
  return Object.assign(fn, { asked });
}

const loopbackPolicy = (extra: Partial<IssuerFetchPolicy> = {}): IssuerFetchPolicy => ({ loopback: true, allowUrl: () => true, ...extra });
const publicPolicy = (extra: Partial<IssuerFetchPolicy> = {}): IssuerFetchPolicy => ({ loopback: false, allowUrl: () => true, ...extra });

const reason = (p: Promise<unknown>) =>
  p.then(
    () => "fetched",
    (e: { reason?: string }) => e.reason ?? String(e),
  );

describe("fetchIssuerJson", () => {
  it("fetches a loopback issuer's document, connecting to the address the name resolved to", async () => {
    routes.set("/doc", json({ ok: 1 }));
    expect(await fetchIssuerJson(new URL(`http://127.0.0.1:${port}/doc`), loopbackPolicy())).toEqual({ ok: 1 });
    const resolve = mapResolver({ "idp.local.test": ["127.0.0.1"] });
    expect(await fetchIssuerJson(new URL(`http://idp.local.test:${port}/doc`), loopbackPolicy({ resolve }))).toEqual({ ok: 1 });
    expect(resolve.asked).toEqual(["idp.local.test"]);
  });

  it("refuses internal address literals before connecting", async () => {
    for (const host of ["10.0.0.1", "169.254.170.2", "192.168.0.1", "[fd00::1]", "[fe80::1]", "[::ffff:169.254.170.2]", "[::ffff:10.0.0.1]", "[64:ff9b::a9fe:aa02]", "0.0.0.0"]) {
      for (const policy of [publicPolicy(), loopbackPolicy()]) {
        const resolve = mapResolver({});
        expect(await reason(fetchIssuerJson(new URL(`https://${host}/.well-known/openid-configuration`), { ...policy, resolve })), host).toBe("blocked");
        expect(resolve.asked).toEqual([]);
      }
    }
  });

  it("refuses names that resolve to internal addresses, or to loopback for a public issuer", async () => {
    const resolve = mapResolver({
      "private.example": ["10.0.0.1"],
      "metadata.example": ["169.254.170.2"],
      "ula.example": ["fd12::3"],
      "mapped.example": ["::ffff:169.254.169.254"],
      "mixed.example": ["93.184.216.34", "10.1.2.3"],
      "localhost.": ["127.0.0.1"],
      "rebind.example": ["127.0.0.1"],
    });
    for (const host of ["private.example", "metadata.example", "ula.example", "mapped.example", "mixed.example", "localhost.", "rebind.example"]) {
      expect(await reason(fetchIssuerJson(new URL(`https://${host}/x`), publicPolicy({ resolve }))), host).toBe("blocked");
    }
    // a loopback issuer's name must resolve to loopback only
    expect(await reason(fetchIssuerJson(new URL(`http://private.example:${port}/doc`), loopbackPolicy({ resolve })))).toBe("blocked");
    expect(await reason(fetchIssuerJson(new URL("https://nowhere.example/x"), publicPolicy({ resolve })))).toBe("unreachable");
  });

  it("never fetches from the server's own port", async () => {
    routes.set("/own", json({ own: true }));
    const before = hits.length;
    for (const host of ["127.0.0.1", "127.0.0.2", "[::1]", "[::ffff:127.0.0.1]"]) {
      expect(await reason(fetchIssuerJson(new URL(`http://${host}:${port}/own`), loopbackPolicy({ ownPort: port }))), host).toBe("blocked");
    }
    const resolve = mapResolver({ localhost: ["127.0.0.1"] });
    expect(await reason(fetchIssuerJson(new URL(`http://localhost:${port}/own`), loopbackPolicy({ ownPort: port, resolve })))).toBe("blocked");
    expect(hits.length).toBe(before);
  });

  it("follows a redirect only to a target it would fetch from in the first place", async () => {
    routes.set("/target", json({ followed: true }));
    routes.set("/to-target", redirect(`http://127.0.0.1:${port}/target`));
    expect(await fetchIssuerJson(new URL(`http://127.0.0.1:${port}/to-target`), loopbackPolicy())).toEqual({ followed: true });

    const refused = ["http://10.0.0.1/jwks", "http://169.254.170.2/v2/credentials/x", "http://[::ffff:169.254.170.2]/v2/credentials/x", "http://[fd00::1]/"];
    for (const [n, to] of refused.entries()) {
      routes.set(`/bad-${n}`, redirect(to));
      expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/bad-${n}`), loopbackPolicy())), to).toBe("blocked");
    }
    // to the server's own port (here a second loopback server standing in for it): never asked
    const own = createServer((_req, res) => res.writeHead(200).end("{}"));
    let ownHits = 0;
    own.on("request", () => ownHits++);
    await new Promise<void>((r) => own.listen(0, "127.0.0.1", r));
    const ownPort = (own.address() as AddressInfo).port;
    try {
      routes.set("/to-own", redirect(`http://localhost:${ownPort}/`));
      const resolve = mapResolver({ localhost: ["127.0.0.1"] });
      expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/to-own`), loopbackPolicy({ ownPort, resolve })))).toBe("blocked");
      routes.set("/to-own", redirect(`http://127.0.0.1:${ownPort}/`));
      expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/to-own`), loopbackPolicy({ ownPort })))).toBe("blocked");
      expect(ownHits).toBe(0);
      // the same redirect without the own-port rule reaches it (the test would notice a dead server)
      expect(await fetchIssuerJson(new URL(`http://127.0.0.1:${port}/to-own`), loopbackPolicy())).toEqual({});
      expect(ownHits).toBe(1);
    } finally {
      await new Promise<void>((r) => own.close(() => r()));
    }
    // a target the URL rules refuse (the issuer's scheme/host rules) is not followed
    routes.set("/elsewhere", redirect(`http://127.0.0.1:${port}/target`));
    expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/elsewhere`), loopbackPolicy({ allowUrl: (u) => u.pathname !== "/target" })))).toBe("blocked");
    // an endless chain stops
    routes.set("/loop", redirect("/loop"));
    const before = hits.length;
    expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/loop`), loopbackPolicy()))).toBe("blocked");
    expect(hits.length - before).toBe(4);
  });

  it("limits the document's size and the time it takes", async () => {
    routes.set("/big", json({ pad: "x".repeat(200 * 1024) }));
    expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/big`), loopbackPolicy()))).toBe("unusable");
    routes.set("/chunked-big", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("[");
      res.end(`"${"y".repeat(2000)}"]`);
    });
    expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/chunked-big`), loopbackPolicy({ maxBytes: 1000 })))).toBe("unusable");
    const stalled: ServerResponse[] = [];
    routes.set("/stall", (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write("{");
      stalled.push(res);
    });
    expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/stall`), loopbackPolicy({ timeoutMs: 200 })))).toBe("unreachable");
    for (const r of stalled) r.destroy();
    // a resolver that never answers is given up on too
    const silent: HostResolver = () => new Promise(() => undefined);
    expect(await reason(fetchIssuerJson(new URL("https://slow-dns.example/x"), publicPolicy({ resolve: silent, timeoutMs: 200 })))).toBe("unreachable");
    routes.set("/broken", (_req, res) => res.writeHead(503).end());
    expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/broken`), loopbackPolicy()))).toBe("unreachable");
    routes.set("/html", (_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>"));
    expect(await reason(fetchIssuerJson(new URL(`http://127.0.0.1:${port}/html`), loopbackPolicy()))).toBe("unusable");
  });
});
