/**
 * The front door's bounds before authentication (docs/limits.md): over-limit and unsigned
 * bodies are refused from the head and never read, a trickling head is closed, the
 * bytes-in-flight budget holds memory down under concurrent large uploads, and ordinary SDK
 * calls and uploads are unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";

const MiB = 1024 * 1024;
const BUDGET = 96 * MiB;
let s: TestServer;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

beforeAll(async () => {
  // minBodyBytesPerSecond 1: the uploads held open below are not cut for their pace
  s = await startTestServer({ http: { headersTimeoutMs: 300, minBodyBytesPerSecond: 1, maxBytesInFlight: BUDGET, closeLingerMs: 500 } });
});
afterAll(async () => {
  await s?.close();
});

/** A raw connection that goes on sending after the server's FIN, as an attacker would. */
function open() {
  const sock = connect({ port: s.port, host: "127.0.0.1", allowHalfOpen: true });
  const st = { sock, text: "", ended: false, flushed: 0 };
  sock.on("data", (d) => (st.text += d.toString("latin1")));
  sock.on("end", () => (st.ended = true));
  sock.on("close", () => (st.ended = true));
  sock.on("error", () => undefined);
  return st;
}
const until = async (cond: () => boolean, ms = 15_000) => {
  for (let waited = 0; !cond() && waited < ms; waited += 10) await new Promise((r) => setTimeout(r, 10));
};
const PIECE = Buffer.alloc(MiB, 120);
/** Sends `total` bytes in 1 MiB pieces, each once the previous one was taken, until done or the connection is gone. */
async function pump(st: ReturnType<typeof open>, total: number) {
  for (let sent = 0; sent < total && !st.sock.destroyed; sent += MiB) {
    await new Promise<void>((r) => {
      const gone = () => r();
      st.sock.once("close", gone);
      st.sock.write(PIECE, (err) => {
        if (!err) st.flushed += PIECE.length;
        st.sock.off("close", gone);
        r();
      });
    });
  }
}
const fakeS3Auth = `AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`;

describe("limits before authentication", () => {
  it("closes a connection that sends its head one line at a time with 408", async () => {
    const c = open();
    c.sock.write("GET / HTTP/1.1\r\nHost: localhost\r\n");
    for (let i = 0; i < 300 && !c.ended; i++) {
      c.sock.write(`X-Slow-${i}: 1\r\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await until(() => c.ended);
    expect(c.text).toMatch(/^HTTP\/1\.1 408 /);
    c.sock.destroy();
  });

  it("refuses an unsigned 64 MiB POST with 413 from its head, without reading it", async () => {
    const c = open();
    c.sock.write(`POST / HTTP/1.1\r\nHost: localhost\r\nX-Amz-Target: TrentService.ListKeys\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
    await pump(c, 64 * MiB);
    await until(() => c.sock.destroyed || c.ended);
    expect(c.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(c.text).toContain("RequestEntityTooLargeException");
    // at most what loopback's kernel buffers hold: the server stopped reading at the head
    expect(c.flushed).toBeLessThan(24 * MiB);
    expect(s.server.bytesInFlight()).toBe(0);
    c.sock.destroy();
  });

  it("gives an unsigned S3-looking PUT only the unsigned limit", async () => {
    const r = await fetch(`${s.url}/bkt/key`, { method: "PUT", body: Buffer.alloc(MiB) });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("<Code>EntityTooLarge</Code>");
  });

  it("keeps memory within the bytes-in-flight budget under eight concurrent 60 MiB uploads, and gives it back", async () => {
    gc();
    const idle = process.memoryUsage().rss;
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const conns = Array.from({ length: 8 }, (_, i) => {
      const c = open();
      c.sock.write(`PUT /bulk/object-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${fakeS3Auth}\r\nX-Amz-Date: 20261206T000000Z\r\nContent-Length: ${60 * MiB}\r\n\r\n`);
      return c;
    });
    await Promise.all(conns.map((c) => pump(c, 60 * MiB)));
    await until(() => conns.every((c) => /\r\n\r\n[^]*<\/Error>/.test(c.text) || c.sock.destroyed));
    clearInterval(sampler);
    const statuses = conns.map((c) => Number(/^HTTP\/1\.1 (\d{3})/.exec(c.text)?.[1]));
    for (const c of conns) c.sock.destroy();
    expect(peak - idle).toBeLessThan(BUDGET + 128 * MiB);
    // some were admitted (and then failed their made-up signature), the rest were told to slow down
    expect(statuses.filter((x) => x === 503).length).toBeGreaterThan(0);
    expect(statuses.filter((x) => x === 403).length).toBeGreaterThan(0);
    expect(conns.filter((c) => c.text.includes("<Code>SlowDown</Code>")).length).toBe(statuses.filter((x) => x === 503).length);
    await until(() => s.server.bytesInFlight() === 0);
    expect(s.server.bytesInFlight()).toBe(0);
    // freed buffers go back to the system in the allocator's own time: look for a while
    let after = Infinity;
    for (let i = 0; i < 40 && after >= 64 * MiB; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
      after = process.memoryUsage().rss - idle;
    }
    expect(after).toBeLessThan(64 * MiB);
  });

  it("answers any body past the budget with 503 in its protocol: S3 SlowDown, Query and JSON ServiceUnavailable", async () => {
    const holders = [60, 36].map((mib, i) => {
      const c = open();
      c.sock.write(`PUT /bulk/held-${i} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${fakeS3Auth}\r\nContent-Length: ${mib * MiB}\r\n\r\n`);
      c.sock.write(PIECE);
      return c;
    });
    await until(() => s.server.bytesInFlight() === BUDGET);
    expect(s.server.bytesInFlight()).toBe(BUDGET);
    const query = await fetch(s.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=GetCallerIdentity&Version=2011-06-15" });
    expect(query.status).toBe(503);
    expect(await query.text()).toMatch(/<Code>ServiceUnavailable<\/Code>/);
    const json = await fetch(s.url, { method: "POST", headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys" }, body: "{}" });
    expect(json.status).toBe(503);
    expect(((await json.json()) as { __type: string }).__type).toBe("ServiceUnavailable");
    const put = await fetch(`${s.url}/bulk/small`, { method: "PUT", headers: { authorization: fakeS3Auth }, body: "x" });
    expect(put.status).toBe(503);
    expect(await put.text()).toContain("<Code>SlowDown</Code>");
    for (const h of holders) h.sock.destroy();
    await until(() => s.server.bytesInFlight() === 0);
    expect(s.server.bytesInFlight()).toBe(0);
  });

  it("still answers SDK calls and takes a 5 MiB PutObject", async () => {
    const sts = new STSClient(s.config);
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe("000000000000");
    const s3 = new S3Client({ ...s.config, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: "limits" }));
    const data = Buffer.alloc(5 * MiB, 42);
    await s3.send(new PutObjectCommand({ Bucket: "limits", Key: "five", Body: data }));
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: "limits", Key: "five" }))).Body!.transformToByteArray());
    expect(got.equals(data)).toBe(true);
  });
});
