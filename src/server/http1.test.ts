import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Socket } from "node:net";
import { request } from "node:http";
import { listenHttp1, type Http1Server, type HttpRequest } from "./http1.ts";

let server: Http1Server;
let port: number;
const seen: HttpRequest[] = [];

beforeAll(async () => {
  server = await listenHttp1(
    "127.0.0.1",
    0,
    async (req) => {
      seen.push(req);
      if (req.url === "/throw") throw new Error("boom");
      if (req.url === "/bad-header") return { status: 200, headers: ["x-evil", "a\r\nset-cookie: x"], body: Buffer.alloc(0) };
      if (req.url === "/slow") await new Promise((r) => setTimeout(r, 30));
      const body = Buffer.from(
        JSON.stringify({ method: req.method, url: req.url, len: req.body.length, tooLarge: req.bodyTooLarge, text: req.body.length < 200 ? req.body.toString() : "" }),
      );
      return { status: 200, headers: ["content-type", "application/json", "content-length", String(body.length)], body };
    },
    {
      bodyLimit: (_m, url) => (url.startsWith("/big") ? 16 * 1024 * 1024 : 1024),
      onError: () => ({ status: 500, headers: ["content-length", "4"], body: Buffer.from("oops") }),
    },
  );
  port = server.address().port;
});
afterAll(() => server.close());

/** Writes the pieces (a short pause between them) and collects what comes back until `done` or close. */
function exchange(pieces: (string | Buffer)[], done: (text: string) => boolean = () => false): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, "127.0.0.1");
    let text = "";
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      s.destroy();
      resolve({ text, closed });
    };
    // a fallback for answers that neither end nor match `done`: long enough for a loaded host
    const timer = setTimeout(finish, 30_000);
    s.on("data", (d) => {
      text += d.toString("latin1");
      if (done(text)) finish();
    });
    s.on("end", () => {
      closed = true;
      finish();
    });
    s.on("error", reject);
    s.on("connect", async () => {
      for (const p of pieces) {
        s.write(p);
        await new Promise((r) => setTimeout(r, 5));
      }
    });
  });
}

const responses = (text: string) => text.split(/(?=HTTP\/1\.1 \d{3} )/).filter(Boolean);
const bodyOf = (resp: string) => JSON.parse(resp.slice(resp.indexOf("\r\n\r\n") + 4)) as Record<string, unknown>;
const count = (n: number) => (t: string) => responses(t).length >= n && t.trimEnd().endsWith("}");

describe("listenHttp1", () => {
  it("answers keep-alive requests on one connection, and pipelined ones in order", async () => {
    const r = await exchange(["GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", "GET /c HTTP/1.1\r\nHost: x\r\n\r\n"], count(3));
    const parts = responses(r.text);
    expect(parts.map((p) => bodyOf(p).url)).toEqual(["/slow", "/b?q=1", "/c"]);
    expect(parts[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(parts[0]).toContain("connection: keep-alive\r\nkeep-alive: timeout=65\r\n");
    expect(r.closed).toBe(false);
  });

  it("reads a Content-Length body that arrives a few bytes at a time", async () => {
    const head = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
    const r = await exchange([head.slice(0, 10), head.slice(10), "hello", " world"], count(1));
    expect(bodyOf(r.text)).toMatchObject({ method: "POST", len: 11, text: "hello world" });
  });

  it("reads a chunked body with extensions and trailers", async () => {
    const r = await exchange(["POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n", "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"], count(1));
    expect(bodyOf(r.text)).toMatchObject({ len: 11, text: "hello world" });
  });

  it("sends 100 Continue to a client that expects it, then the answer", async () => {
    const r = await exchange(["PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n", "ok"], count(2));
    expect(r.text.startsWith("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")).toBe(true);
    expect(bodyOf(responses(r.text)[1])).toMatchObject({ text: "ok" });
  });

  it("closes after Connection: close, and after an HTTP/1.0 request without keep-alive", async () => {
    const a = await exchange(["GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]);
    expect(a.closed).toBe(true);
    expect(a.text).toContain("connection: close\r\n");
    const b = await exchange(["GET /a HTTP/1.0\r\n\r\n"]);
    expect(b.closed).toBe(true);
    expect(bodyOf(b.text)).toMatchObject({ url: "/a" });
    const c = await exchange(["GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"], count(1));
    expect(c.closed).toBe(false);
  });

  it("answers HEAD with the headers only", async () => {
    const r = await exchange(["HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n"], count(2));
    const [head, get] = responses(r.text);
    expect(head).toMatch(/content-length: \d+\r\n/);
    expect(head.endsWith("\r\n\r\n")).toBe(true);
    expect(bodyOf(get).url).toBe("/g");
  });

  it("lower-cases header names and joins repeats as node:http does", async () => {
    seen.length = 0;
    await exchange(["GET /h HTTP/1.1\r\nHost: first\r\nhost: second\r\nX-A: 1\r\nx-a: 2\r\nUser-Agent:  ua \r\n\r\n"], count(1));
    expect(seen[0].headers).toMatchObject({ host: "first", "x-a": "1, 2", "user-agent": "ua" });
  });

  it.each([
    ["a malformed request line", "GARBAGE\r\n\r\n", 400],
    ["whitespace before a header's colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400],
    ["a folded header line", "GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n", 400],
    ["Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ["two different Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400],
    ["a Content-Length that is no number", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400],
    ["a transfer coding other than chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400],
    ["a bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ["HTTP/2.0 on an HTTP/1 port", "GET / HTTP/2.0\r\n\r\n", 505],
    ["a head over 16 KiB", `GET / HTTP/1.1\r\nX-Big: ${"a".repeat(17 * 1024)}\r\n\r\n`, 431],
  ])("refuses %s and closes the connection", async (_name, raw, status) => {
    const r = await exchange([raw]);
    expect(r.text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(r.closed).toBe(true);
  });

  it("tells the handler a body is over the limit (declared or chunked) and closes after the answer", async () => {
    const a = await exchange(["POST /x HTTP/1.1\r\nContent-Length: 5000\r\n\r\n", "x".repeat(100)]);
    expect(bodyOf(a.text)).toMatchObject({ tooLarge: true, len: 0 });
    expect(a.closed).toBe(true);
    const b = await exchange(["POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", `800\r\n${"y".repeat(0x800)}\r\n`]);
    expect(bodyOf(b.text)).toMatchObject({ tooLarge: true });
    expect(b.closed).toBe(true);
  });

  it("reads an 8 MiB body sent in 64 KiB pieces, whole", async () => {
    const body = Buffer.alloc(8 * 1024 * 1024, 7);
    const r = await new Promise<string>((resolve, reject) => {
      const req = request({ port, host: "127.0.0.1", path: "/big", method: "PUT", headers: { "content-length": body.length } }, (res) => {
        let t = "";
        res.on("data", (d) => (t += d));
        res.on("end", () => resolve(t));
      });
      req.on("error", reject);
      for (let i = 0; i < body.length; i += 65536) req.write(body.subarray(i, i + 65536));
      req.end();
    });
    expect(JSON.parse(r)).toMatchObject({ len: body.length, tooLarge: false });
  });

  it("answers 500 through onError when the handler throws or returns a header with CR/LF", async () => {
    const a = await exchange(["GET /throw HTTP/1.1\r\n\r\n"], (t) => t.endsWith("oops"));
    expect(a.text).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
    const b = await exchange(["GET /bad-header HTTP/1.1\r\n\r\n"], (t) => t.endsWith("oops"));
    expect(b.text).toMatch(/^HTTP\/1\.1 500 /);
    expect(b.text).not.toContain("set-cookie");
  });

  it("close() drops idle keep-alive connections", async () => {
    const other = await listenHttp1("127.0.0.1", 0, async () => ({ status: 204, headers: [], body: Buffer.alloc(0) }), {
      bodyLimit: () => 0,
      onError: () => ({ status: 500, headers: [], body: Buffer.alloc(0) }),
    });
    const s = connect(other.address().port, "127.0.0.1");
    await new Promise((r) => s.on("connect", r));
    const closed = new Promise((r) => s.on("close", r));
    s.write("GET / HTTP/1.1\r\n\r\n");
    await new Promise((r) => s.once("data", r));
    await other.close();
    await closed;
    expect(s.destroyed).toBe(true);
  });
});

describe("listenHttp1 limits", () => {
  let limited: Http1Server;
  let lport: number;
  let hold: (() => void) | null = null;
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    limited = await listenHttp1(
      "127.0.0.1",
      0,
      async (req) => {
        if (req.url === "/hold") await new Promise<void>((r) => (hold = r));
        const body = Buffer.from(JSON.stringify({ len: req.body.length, tooLarge: req.bodyTooLarge, busy: req.serverBusy }));
        return { status: 200, headers: ["content-type", "application/json", "content-length", String(body.length)], body };
      },
      {
        bodyLimit: (_m, url) => (url.startsWith("/big") ? 16 * MiB : 1024),
        onError: () => ({ status: 500, headers: ["content-length", "0"], body: Buffer.alloc(0) }),
        limits: { headersTimeoutMs: 200, keepAliveMs: 400, minBodyBytesPerSecond: 4096, maxBytesInFlight: 3 * MiB, maxConnections: 6, closeLingerMs: 300 },
      },
    );
    lport = limited.address().port;
  });
  afterAll(() => limited.close());

  /** A raw connection that records what comes back, whether it closed, and how many bytes the server took (flushed writes). */
  function open() {
    // half-open allowed: a client that goes on sending after the server's FIN, as an attacker would
    const s = connect({ port: lport, host: "127.0.0.1", allowHalfOpen: true });
    /** closed: the server ended or dropped the connection */
    const st = { s, text: "", closed: false, flushed: 0 };
    s.on("data", (d) => (st.text += d.toString("latin1")));
    s.on("end", () => (st.closed = true));
    s.on("close", () => (st.closed = true));
    s.on("error", () => undefined);
    return st;
  }
  const until = async (cond: () => boolean, ms = 8000) => {
    for (let waited = 0; !cond() && waited < ms; waited += 10) await new Promise((r) => setTimeout(r, 10));
  };
  /** Writes `total` bytes in 1 MiB pieces, waiting for each to be taken, until done or the connection closes. */
  async function pump(st: ReturnType<typeof open>, total: number) {
    const piece = Buffer.alloc(MiB, 120);
    for (let sent = 0; sent < total && !st.s.destroyed; sent += MiB) {
      await new Promise<void>((r) => {
        const gone = () => r();
        st.s.once("close", gone);
        st.s.write(piece, (err) => {
          if (!err) st.flushed += piece.length;
          st.s.off("close", gone);
          r();
        });
      });
    }
  }

  it("closes a connection whose head trickles in (one header line at a time) with 408", async () => {
    const c = open();
    c.s.write("GET / HTTP/1.1\r\nHost: x\r\n");
    for (let i = 0; i < 200 && !c.closed; i++) {
      c.s.write(`X-Line-${i}: 1\r\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => c.closed);
    expect(c.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(c.closed).toBe(true);
  });

  it("closes a connection that opens and sends nothing after the head timeout", async () => {
    const c = open();
    await until(() => c.closed);
    expect(c.closed).toBe(true);
    expect(c.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes a connection whose body arrives slower than the minimum rate with 408", async () => {
    const c = open();
    c.s.write("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    for (let i = 0; i < 500 && !c.closed; i++) {
      c.s.write("y");
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => c.closed);
    expect(c.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("closes an idle keep-alive connection after keepAliveMs", async () => {
    const c = open();
    c.s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => c.text.includes("}"));
    await until(() => c.closed);
    expect(c.closed).toBe(true);
  });

  it("refuses a body over its limit from the head and never reads it", async () => {
    const c = open();
    c.s.write("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n\r\n");
    await pump(c, 64 * MiB);
    await until(() => c.closed);
    expect(c.text).toContain('"tooLarge":true');
    // what the kernel buffers on loopback at most; the server stopped reading at the head
    expect(c.flushed).toBeLessThan(24 * MiB);
  });

  it("cuts a chunked body as soon as it passes its limit", async () => {
    const c = open();
    c.s.write("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4000000\r\n");
    await pump(c, 64 * MiB);
    await until(() => c.closed);
    expect(c.text).toContain('"tooLarge":true');
    expect(c.flushed).toBeLessThan(24 * MiB);
  });

  it("refuses bodies past the bytes-in-flight budget (Content-Length and chunked) and releases what finished", async () => {
    const a = open();
    a.s.write(`PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * MiB}\r\n\r\n`);
    a.s.write(Buffer.alloc(MiB));
    await until(() => limited.bytesInFlight() === 2 * MiB);
    expect(limited.bytesInFlight()).toBe(2 * MiB);
    const b = open();
    b.s.write(`PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * MiB}\r\n\r\n`);
    await until(() => b.closed);
    expect(b.text).toContain('"busy":true');
    const c = open();
    c.s.write(`PUT /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n`);
    void pump(c, 2 * MiB);
    await until(() => c.closed);
    expect(c.text).toContain('"busy":true');
    a.s.write(Buffer.alloc(MiB));
    await until(() => a.text.includes("}"));
    expect(a.text).toContain(`"len":${2 * MiB}`);
    expect(limited.bytesInFlight()).toBe(0);
    const d = open();
    d.s.write(`PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * MiB}\r\n\r\n`);
    d.s.write(Buffer.alloc(2 * MiB));
    await until(() => d.text.includes("}"));
    expect(d.text).toContain(`"len":${2 * MiB}`);
    for (const x of [a, d]) x.s.destroy();
  });

  it("stops reading pipelined bytes while a request is being handled", async () => {
    const c = open();
    c.s.write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => hold !== null);
    const flood = pump(c, 64 * MiB);
    await until(() => c.flushed >= 24 * MiB, 1500);
    expect(c.flushed).toBeLessThan(24 * MiB);
    hold!();
    hold = null;
    c.s.destroy();
    await flood;
  });

  it("closes connections past maxConnections as soon as they are accepted", async () => {
    const held = Array.from({ length: 6 }, () => open());
    for (const h of held) h.s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => held.every((h) => h.text.includes("}")));
    const extra = open();
    await until(() => extra.closed, 2000);
    expect(extra.closed).toBe(true);
    expect(extra.text).toBe("");
    for (const h of held) h.s.destroy();
  });
});
