/** Streamed replies of the HTTP/1.1 front door: chunked, closed by the producer, the client or the server. */
import { describe, expect, it } from "vitest";
import { connect } from "node:net";
import { listenHttp1, type Http1Server, type StreamSink } from "./http1.ts";

/** A server whose every reply is a stream run by `produce`. */
async function streamingServer(produce: (sink: StreamSink) => void): Promise<Http1Server> {
  return listenHttp1(
    "127.0.0.1",
    0,
    async () => ({ status: 200, headers: ["content-type", "text/plain", "content-length", "99"], body: Buffer.alloc(0), stream: { start: produce } }),
    {
      bodyLimit: () => 1024,
      onError: () => ({ status: 500, headers: ["content-length", "0"], body: Buffer.alloc(0) }),
    },
  );
}

/** Sends one keep-alive GET; resolves with everything read until the server closes. */
function get(server: Http1Server, onData?: (text: string, destroy: () => void) => void, version = "1.1"): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(server.address().port, "127.0.0.1");
    let text = "";
    s.on("data", (d) => {
      text += d.toString("latin1");
      onData?.(text, () => {
        s.destroy();
        resolve(text);
      });
    });
    s.on("end", () => resolve(text));
    s.on("close", () => resolve(text));
    s.on("error", reject);
    s.write(`GET / HTTP/${version}\r\nhost: x\r\n\r\nGET /second HTTP/${version}\r\nhost: x\r\n\r\n`);
  });
}

describe("streamed replies", () => {
  it("go out chunked, without content-length, and close the connection when the producer ends", async () => {
    let closed = 0;
    const server = await streamingServer((sink) => {
      sink.onClose(() => closed++);
      sink.write(Buffer.from("a"));
      sink.write(Buffer.alloc(0));
      sink.write(Buffer.from("bc"));
      sink.end();
      expect(sink.write(Buffer.from("late"))).toBe(false);
    });
    const text = await get(server);
    await server.close();
    const head = text.slice(0, text.indexOf("\r\n\r\n"));
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head.toLowerCase()).toContain("transfer-encoding: chunked");
    expect(head.toLowerCase()).toContain("connection: close");
    expect(head.toLowerCase()).not.toContain("content-length");
    expect(text.slice(text.indexOf("\r\n\r\n") + 4)).toBe("1\r\na\r\n2\r\nbc\r\n0\r\n\r\n");
    // the pipelined second request is never answered: the stream's connection is its own
    expect(text.match(/HTTP\/1\.1/g)).toHaveLength(1);
    expect(closed).toBe(1);
  });

  it("are stopped when the client goes away", async () => {
    let stopped!: () => void;
    const gone = new Promise<void>((r) => (stopped = r));
    const server = await streamingServer((sink) => {
      const timer = setInterval(() => sink.write(Buffer.from("tick")), 10);
      sink.onClose(() => {
        clearInterval(timer);
        stopped();
      });
      sink.write(Buffer.from("first"));
    });
    await get(server, (text, destroy) => text.includes("first") && destroy());
    await gone;
    await server.close();
  });

  it("are stopped when the server closes, and the close completes", async () => {
    let stopped = false;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const server = await streamingServer((sink) => {
      sink.onClose(() => (stopped = true));
      sink.write(Buffer.from("tick"));
      started();
    });
    const reading = get(server);
    await running;
    await server.close();
    expect(await reading).toContain("4\r\ntick\r\n");
    expect(stopped).toBe(true);
  });

  it("go out unchunked to an HTTP/1.0 client, ended by the close", async () => {
    const server = await streamingServer((sink) => {
      sink.write(Buffer.from("a"));
      sink.write(Buffer.from("bc"));
      sink.end();
    });
    const text = await get(server, undefined, "1.0");
    await server.close();
    expect(text.toLowerCase()).not.toContain("transfer-encoding");
    expect(text.slice(text.indexOf("\r\n\r\n") + 4)).toBe("abc");
  });
});
