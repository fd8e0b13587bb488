/**
 * A small HTTP/1.1 server on node:net: reads one whole request (head and body) at a time per
 * connection, hands it to the handler, writes the handler's reply in one write.
 *
 * Why not node:http: its per-request machinery (IncomingMessage and ServerResponse streams,
 * events, header objects) costs CPU on every API call: answering a fixed body at 16 connections,
 * node:http took 73 µs of CPU per request and this loop 41 (`npm run bench`, the two floor rows). What AWS clients send is covered:
 * Content-Length and chunked bodies, `Expect: 100-continue`, keep-alive, `Connection: close`,
 * HTTP/1.0, pipelined requests (answered in order) and HEAD. Anything malformed is answered
 * 400 and the connection closed, as node:http does; request smuggling shapes (Content-Length
 * with Transfer-Encoding, conflicting lengths) are refused.
 *
 * Memory and connections are bounded before anyone is authenticated (docs/limits.md): a body
 * over its request's limit is refused from the head (or, chunked, as soon as it passes the
 * limit) and never read; bodies reserve their bytes from one budget shared by every connection
 * and are refused with `serverBusy` when it is spent; a connection never buffers more than
 * its current body plus a small allowance (reading pauses); the head, the body's pace and idle
 * keep-alive connections have timeouts, checked by one timer for the whole server.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { STATUS_CODES } from "node:http";

export interface HttpRequest {
  method: string;
  /** the request target as sent: path and query */
  url: string;
  httpVersion: "1.0" | "1.1";
  /** lower-cased names; repeated headers joined with ", " (the first kept for single-valued ones) */
  headers: Record<string, string>;
  body: Buffer;
  /** the body was longer than `bodyLimit` allowed; `body` is empty and the connection closes */
  bodyTooLarge: boolean;
  /** the body would have passed the bytes-in-flight budget; `body` is empty and the connection closes */
  serverBusy: boolean;
  remoteAddress: string;
}

export interface HttpReply {
  status: number;
  /** flat [name, value, name, value, ...]; content-length is the caller's to set */
  headers: string[];
  body: Buffer;
  /**
   * A body sent as it is produced instead of `body`: chunked transfer encoding, the connection
   * closed when the producer ends it (docs/ARCHITECTURE.md#streamed-replies).
   */
  stream?: ReplyStream;
}

/** Produces a streamed body: started once the head is written, stopped when the client goes away or the server closes. */
export interface ReplyStream {
  start(sink: StreamSink): void;
}

export interface StreamSink {
  /** sends one chunk; false once the connection is gone (the chunk is dropped) */
  write(chunk: Buffer): boolean;
  /** sends the last chunk and closes the connection */
  end(): void;
  /** bytes written but not yet taken by the client (a reader that falls behind) */
  buffered(): number;
  /** called once, when the connection closes for any reason (also after end) */
  onClose(fn: () => void): void;
}

/** Bounds on connections, timeouts and buffered bytes; every one has a default (DEFAULT_LIMITS). */
export interface Http1Limits {
  /** an idle keep-alive connection is closed after this long */
  keepAliveMs: number;
  /** a request's whole head must arrive within this long of its first byte (else 408, closed) */
  headersTimeoutMs: number;
  /** a request's head and body must arrive within this long of its first byte (else 408, closed) */
  requestTimeoutMs: number;
  /** after a grace of headersTimeoutMs, a body must keep arriving at least this fast on average (else 408, closed) */
  minBodyBytesPerSecond: number;
  /** request bodies being read or handled, all connections together; past it a body is refused (serverBusy) */
  maxBytesInFlight: number;
  /** open connections; further ones are closed as soon as they are accepted */
  maxConnections: number;
  /** how long a refused or finished connection may stay open for the client to read the answer */
  closeLingerMs: number;
}

export const DEFAULT_LIMITS: Http1Limits = {
  keepAliveMs: 65_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  minBodyBytesPerSecond: 16 * 1024,
  maxBytesInFlight: 256 * 1024 * 1024,
  maxConnections: 1024,
  closeLingerMs: 5_000,
};

export interface Http1Options {
  /** the largest body accepted for this request head (node:http has no limit; AWS does) */
  bodyLimit(method: string, url: string, headers: Record<string, string>): number;
  /** answer for a handler that threw: must not throw */
  onError(e: unknown): HttpReply;
  limits?: Partial<Http1Limits>;
}

export type Http1Handler = (req: HttpRequest) => Promise<HttpReply>;

/** node:http's default limit on the request head. */
export const MAX_HEADER_BYTES = 16 * 1024;

/** Headers whose repeats node:http drops (RFC 9110 single-valued fields). */
const SINGLE_VALUED = new Set([
  "host",
  "content-type",
  "content-length",
  "user-agent",
  "referer",
  "authorization",
  "proxy-authorization",
  "if-modified-since",
  "if-unmodified-since",
  "from",
  "location",
  "max-forwards",
  "retry-after",
  "etag",
  "last-modified",
  "server",
  "age",
  "expires",
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VERSION = /^HTTP\/1\.([01])$/;
/** Bytes a header value may not contain in a reply: CR, LF and other controls (response splitting). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

class BadRequest extends Error {
  constructor(readonly status: number) {
    super(STATUS_CODES[status]);
  }
}

interface Head {
  method: string;
  url: string;
  httpVersion: "1.0" | "1.1";
  headers: Record<string, string>;
}

/** Header names as sent → lower-cased, for names already seen to be valid tokens (clients repeat theirs). */
const headerNames = new Map<string, string>();
const MAX_CACHED_NAMES = 512;

function headerKey(name: string): string {
  let key = headerNames.get(name);
  if (key === undefined) {
    // no whitespace before the colon, no obsolete line folding (RFC 9112 5.1, 5.2)
    if (!TOKEN.test(name)) throw new BadRequest(400);
    key = name.toLowerCase();
    if (headerNames.size < MAX_CACHED_NAMES) headerNames.set(name, key);
  }
  return key;
}

function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const requestLine = lines[0].split(" ");
  if (requestLine.length !== 3 || !TOKEN.test(requestLine[0]) || requestLine[1] === "") throw new BadRequest(400);
  const v = VERSION.exec(requestLine[2]);
  if (!v) throw new BadRequest(requestLine[2].startsWith("HTTP/") ? 505 : 400);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(":");
    if (colon <= 0) throw new BadRequest(400);
    const key = headerKey(line.slice(0, colon));
    const value = line.slice(colon + 1).trim();
    const prior = headers[key];
    if (prior === undefined) headers[key] = value;
    else if (key === "content-length") {
      if (prior !== value) throw new BadRequest(400);
    } else if (!SINGLE_VALUED.has(key)) headers[key] = `${prior}, ${value}`;
  }
  return { method: requestLine[0], url: requestLine[1], httpVersion: v[1] === "1" ? "1.1" : "1.0", headers };
}

/**
 * Bytes still to come for the current request's body. A Content-Length body larger than
 * COPY_INTO_BYTES is copied into one buffer of its declared size as it arrives (`into`), so it
 * is never held twice; smaller ones are cut from the received bytes when they are all there.
 */
type BodyState =
  | { kind: "length"; remaining: number; into?: Buffer; filled: number }
  | { kind: "chunked"; size: number; chunks: Buffer[]; total: number; phase: "size" | "data" | "data-crlf" | "trailers" };

const COPY_INTO_BYTES = 64 * 1024;
/** What a connection may buffer beyond its current Content-Length body before it stops reading: the next head and a read or two. */
const READ_ALLOWANCE = MAX_HEADER_BYTES + 128 * 1024;

/** The server-wide state every connection shares: the bytes-in-flight budget and the timeout clock. */
class Shared {
  inFlight = 0;
  /** advances once per check interval; timeouts are measured in ticks (no clock read per request) */
  tick = 0;
  readonly checkIntervalMs: number;

  constructor(readonly limits: Http1Limits) {
    this.checkIntervalMs = Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
  }

  reserve(n: number): boolean {
    if (this.inFlight + n > this.limits.maxBytesInFlight) return false;
    this.inFlight += n;
    return true;
  }

  elapsedMs(sinceTick: number): number {
    return (this.tick - sinceTick) * this.checkIntervalMs;
  }
}

class Connection {
  /** received bytes not yet parsed, as they arrived (joined only when a parse needs them whole) */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private head: Head | null = null;
  private readonly keepAliveMs: number;
  private body: BodyState | null = null;
  private limit = 0;
  private busy = false;
  private closing = false;
  private paused = false;
  /** bytes of the budget this connection holds for its current body */
  private reserved = 0;
  /** tick of the current request's first byte (of the connection's opening, for its first request), and of its head's end; -1 between requests */
  private startTick: number;
  private bodyTick = -1;
  private bodyBytes = 0;

  constructor(
    private readonly socket: Socket,
    private readonly handler: Http1Handler,
    private readonly opts: Http1Options,
    private readonly shared: Shared,
  ) {
    this.keepAliveMs = shared.limits.keepAliveMs;
    // a connection that opens and sends nothing holds a slot: its first head is due within headersTimeoutMs
    this.startTick = shared.tick;
    socket.setNoDelay(true);
    socket.setTimeout(this.keepAliveMs, () => {
      if (!this.busy) socket.destroy();
    });
    socket.on("data", (d: Buffer) => {
      if (this.closing) return;
      if (this.startTick < 0) this.startTick = shared.tick;
      this.parts.push(d);
      this.partsLen += d.length;
      if (!this.busy) this.advance();
      if (!this.paused && this.partsLen > this.allowance()) {
        this.paused = true;
        socket.pause();
      }
    });
    socket.on("error", () => socket.destroy());
    // a handler still holds its body until it answers; the answer releases it then
    socket.once("close", () => {
      if (!this.busy) this.release();
    });
    // the client is done sending: answer what it asked, then close (allowHalfOpen keeps the reply's way open)
    socket.on("end", () => {
      if (this.busy) this.closing = true;
      else this.end();
    });
  }

  /** How many unparsed bytes this connection may hold before it stops reading. */
  private allowance(): number {
    const b = this.body;
    return b !== null && b.kind === "length" && b.into === undefined ? b.remaining + READ_ALLOWANCE : READ_ALLOWANCE;
  }

  /** Reads again once what is buffered is back under the allowance. */
  private flow(): void {
    if (this.paused && !this.closing && this.partsLen <= this.allowance()) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private release(): void {
    this.shared.inFlight -= this.reserved;
    this.reserved = 0;
  }

  /** Called every check interval: closes a connection whose head or body is too slow. */
  check(): void {
    if (this.busy || this.closing || this.startTick < 0) return;
    const l = this.shared.limits;
    const elapsed = this.shared.elapsedMs(this.startTick);
    let late = elapsed > l.requestTimeoutMs;
    if (this.head === null) late ||= elapsed > l.headersTimeoutMs;
    else {
      const bodyElapsed = this.shared.elapsedMs(this.bodyTick) - l.headersTimeoutMs;
      late ||= bodyElapsed > 0 && this.bodyBytes < (l.minBodyBytesPerSecond * bodyElapsed) / 1000;
    }
    if (late) this.fail(408);
  }

  /** The unparsed bytes as one buffer; null when there are none. */
  private get buf(): Buffer | null {
    if (this.parts.length === 0) return null;
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts, this.partsLen)];
    return this.parts[0];
  }

  /** Parses as far as the buffered bytes allow; dispatches a request once it is whole. */
  private advance(): void {
    try {
      while (!this.busy && !this.closing && (this.partsLen > 0 || this.head)) {
        if (!this.head) {
          const buf = this.buf!;
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) {
            if (buf.length > MAX_HEADER_BYTES) throw new BadRequest(431);
            return;
          }
          if (end > MAX_HEADER_BYTES) throw new BadRequest(431);
          // tolerate blank lines before a request line (RFC 9112 2.2)
          let start = 0;
          while (buf[start] === 13 && buf[start + 1] === 10) start += 2;
          if (start > end) {
            this.consume(start);
            continue;
          }
          const head = parseHead(buf.toString("latin1", start, end));
          this.consume(end + 4);
          this.startBody(head);
          continue;
        }
        if (!this.readBody()) return;
      }
    } catch (e) {
      this.fail(e instanceof BadRequest ? e.status : 400);
    }
  }

  /** Drops the first n bytes (of the joined buffer). */
  private consume(n: number): void {
    const buf = this.buf!;
    if (n >= buf.length) {
      this.parts = [];
      this.partsLen = 0;
    } else {
      this.parts = [buf.subarray(n)];
      this.partsLen = buf.length - n;
    }
  }

  private startBody(head: Head): void {
    const te = head.headers["transfer-encoding"];
    const cl = head.headers["content-length"];
    this.head = head;
    this.bodyTick = this.shared.tick;
    this.bodyBytes = 0;
    this.limit = this.opts.bodyLimit(head.method, head.url, head.headers);
    if (te !== undefined) {
      if (cl !== undefined) throw new BadRequest(400);
      if (te.toLowerCase() !== "chunked") throw new BadRequest(te.toLowerCase().endsWith("chunked") ? 501 : 400);
      this.body = { kind: "chunked", size: 0, chunks: [], total: 0, phase: "size" };
    } else {
      if (cl !== undefined && !/^\d{1,15}$/.test(cl)) throw new BadRequest(400);
      const n = cl === undefined ? 0 : Number(cl);
      // refused from the head: the body is never read
      if (n > this.limit) return this.refuse("tooLarge");
      if (n > 0 && !this.reserve(n)) return this.refuse("busy");
      this.body = { kind: "length", remaining: n, filled: 0, into: n > COPY_INTO_BYTES ? Buffer.allocUnsafeSlow(n) : undefined };
    }
    if (head.httpVersion === "1.1" && head.headers.expect?.toLowerCase() === "100-continue") {
      this.socket.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
  }

  private reserve(n: number): boolean {
    if (!this.shared.reserve(n)) return false;
    this.reserved += n;
    return true;
  }

  /** Answers without reading the body (the handler is told why), stops reading and closes after the answer. */
  private refuse(why: "tooLarge" | "busy"): void {
    this.paused = true;
    this.socket.pause();
    this.dispatch(Buffer.alloc(0), why);
  }

  /** Reads what there is of the body; true when a request was dispatched. */
  private readBody(): boolean {
    const b = this.body!;
    if (b.kind === "length" && b.into !== undefined) {
      while (this.parts.length > 0 && b.remaining > 0) {
        const part = this.parts[0];
        const take = Math.min(part.length, b.remaining);
        part.copy(b.into, b.filled, 0, take);
        b.filled += take;
        b.remaining -= take;
        this.bodyBytes += take;
        this.partsLen -= take;
        if (take === part.length) this.parts.shift();
        else this.parts[0] = part.subarray(take);
      }
      if (b.remaining > 0) return false;
      this.dispatch(b.into, null);
      return true;
    }
    if (b.kind === "length") {
      this.bodyBytes = this.partsLen;
      // a large body arrives in many reads: join them once, when it is all here
      if (this.partsLen < b.remaining) return false;
      if (b.remaining === 0) {
        this.dispatch(Buffer.alloc(0), null);
        return true;
      }
      const body = this.buf!.subarray(0, b.remaining);
      this.consume(b.remaining);
      this.dispatch(body, null);
      return true;
    }
    for (;;) {
      const buf = this.buf;
      if (!buf) return false;
      if (b.phase === "size") {
        const eol = buf.indexOf("\r\n");
        if (eol < 0) {
          if (buf.length > 1024) throw new BadRequest(400);
          return false;
        }
        const line = buf.toString("latin1", 0, eol);
        const semi = line.indexOf(";");
        const hex = (semi >= 0 ? line.slice(0, semi) : line).trim();
        if (!/^[0-9a-fA-F]{1,8}$/.test(hex)) throw new BadRequest(400);
        b.size = parseInt(hex, 16);
        this.consume(eol + 2);
        b.phase = b.size === 0 ? "trailers" : "data";
      } else if (b.phase === "data") {
        const take = Math.min(b.size, buf.length);
        b.total += take;
        // cut as soon as the body passes its limit or the budget
        if (b.total > this.limit) {
          this.refuse("tooLarge");
          return true;
        }
        if (!this.reserve(take)) {
          this.refuse("busy");
          return true;
        }
        this.bodyBytes = b.total;
        b.chunks.push(buf.subarray(0, take));
        b.size -= take;
        this.consume(take);
        if (b.size === 0) b.phase = "data-crlf";
      } else if (b.phase === "data-crlf") {
        if (buf.length < 2) return false;
        if (buf[0] !== 13 || buf[1] !== 10) throw new BadRequest(400);
        this.consume(2);
        b.phase = "size";
      } else {
        // trailer fields end with an empty line; they are not kept (node:http keeps them apart too)
        const eol = buf.indexOf("\r\n");
        if (eol < 0) {
          if (buf.length > MAX_HEADER_BYTES) throw new BadRequest(431);
          return false;
        }
        this.consume(eol + 2);
        if (eol === 0) {
          this.dispatch(b.chunks.length === 1 ? b.chunks[0] : Buffer.concat(b.chunks), null);
          return true;
        }
      }
    }
  }

  private dispatch(body: Buffer, refused: "tooLarge" | "busy" | null): void {
    const head = this.head!;
    this.head = null;
    this.body = null;
    this.busy = true;
    this.startTick = -1;
    const keepAlive = refused === null && wantsKeepAlive(head);
    if (!keepAlive) this.closing = true;
    const req: HttpRequest = {
      method: head.method,
      url: head.url,
      httpVersion: head.httpVersion,
      headers: head.headers,
      body,
      bodyTooLarge: refused === "tooLarge",
      serverBusy: refused === "busy",
      remoteAddress: this.socket.remoteAddress ?? "127.0.0.1",
    };
    let answer: Promise<HttpReply>;
    try {
      answer = this.handler(req);
    } catch (e) {
      answer = Promise.reject(e);
    }
    answer
      .catch((e: unknown) => this.opts.onError(e))
      .then((reply) => {
        if (reply.stream && head.method !== "HEAD") return this.startStream(reply, reply.stream, head.httpVersion);
        const close = this.closing || hasCloseHeader(reply.headers);
        try {
          this.write(reply, head.method === "HEAD", close, head.httpVersion);
        } catch (e) {
          // a reply node:http would refuse (a header with CR/LF): answer as for a failed handler
          this.write(this.opts.onError(e), head.method === "HEAD", close, head.httpVersion);
        }
        this.busy = false;
        this.release();
        if (close) this.end();
        else if (this.partsLen > 0) {
          this.startTick = this.shared.tick;
          this.advance();
          this.flow();
        }
      })
      .catch(() => this.socket.destroy());
  }

  private write(reply: HttpReply, noBody: boolean, close: boolean, version: string): void {
    const h = reply.headers;
    let text = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? "Unknown"}\r\n`;
    for (let i = 0; i < h.length; i += 2) {
      if (!TOKEN.test(h[i]) || BAD_VALUE.test(h[i + 1])) throw new Error(`invalid reply header ${JSON.stringify(h[i])}`);
      text += `${h[i]}: ${h[i + 1]}\r\n`;
    }
    if (close) {
      if (!hasCloseHeader(h)) text += "connection: close\r\n";
    } else if (version === "1.0") text += "connection: keep-alive\r\n";
    else text += `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(this.keepAliveMs / 1000)}\r\n`;
    text += "\r\n";
    const body = noBody ? null : reply.body;
    if (!body || body.length === 0) {
      this.socket.write(text, "latin1");
      return;
    }
    if (body.length <= 16 * 1024) {
      // one write, one syscall: the head and a small body in one buffer
      const headLen = Buffer.byteLength(text, "latin1");
      const out = Buffer.allocUnsafe(headLen + body.length);
      out.write(text, 0, "latin1");
      body.copy(out, headLen);
      this.socket.write(out);
      return;
    }
    this.socket.cork();
    this.socket.write(text, "latin1");
    this.socket.write(body);
    this.socket.uncork();
  }

  /**
   * Writes the head with chunked transfer encoding and hands the producer its sink. The
   * connection stays busy (no further request is read, no idle timeout) until the producer ends
   * or the socket closes; then it closes. A client that has gone away is noticed when the socket
   * closes: at the latest when the producer next writes (a half-closed client may still read).
   * An HTTP/1.0 client, which knows no chunks, gets the bytes as they are, ended by the close.
   */
  private startStream(reply: HttpReply, stream: ReplyStream, version: "1.0" | "1.1"): void {
    const chunked = version === "1.1";
    this.closing = true;
    this.release();
    const headers = reply.headers.filter((_, i, h) => {
      const name = h[i - (i % 2)].toLowerCase();
      return name !== "content-length" && name !== "transfer-encoding" && name !== "connection";
    });
    try {
      this.write({ status: reply.status, headers: chunked ? [...headers, "transfer-encoding", "chunked"] : headers, body: Buffer.alloc(0) }, true, true, version);
    } catch (e) {
      this.write(this.opts.onError(e), false, true, "1.1");
      this.end();
      return;
    }
    const socket = this.socket;
    let open = !socket.destroyed;
    const closers: (() => void)[] = [];
    const closed = () => {
      if (!open) return;
      open = false;
      for (const fn of closers.splice(0)) fn();
    };
    socket.once("close", closed);
    const sink: StreamSink = {
      write: (chunk) => {
        if (!open || socket.writableEnded) return false;
        if (chunk.length === 0) return true;
        if (!chunked) {
          socket.write(chunk);
          return true;
        }
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
        socket.write(chunk);
        socket.write("\r\n", "latin1");
        socket.uncork();
        return true;
      },
      end: () => {
        if (chunked && open && !socket.writableEnded) socket.write("0\r\n\r\n", "latin1");
        this.end();
        closed();
      },
      onClose: (fn) => {
        if (open) closers.push(fn);
        else fn();
      },
      buffered: () => socket.writableLength,
    };
    try {
      stream.start(sink);
    } catch (e) {
      console.error("[localfargate] streamed reply failed to start:", e);
      socket.destroy();
    }
  }

  private fail(status: number): void {
    this.head = null;
    this.body = null;
    this.release();
    const body = Buffer.from(STATUS_CODES[status] ?? "Bad Request");
    this.write({ status, headers: ["content-type", "text/plain", "content-length", String(body.length)], body }, false, true, "1.1");
    this.end();
  }

  private end(): void {
    this.closing = true;
    this.parts = [];
    this.partsLen = 0;
    this.socket.end();
    // a client that never reads or closes must not hold the socket open
    setTimeout(() => this.socket.destroy(), this.shared.limits.closeLingerMs).unref();
  }
}

function wantsKeepAlive(head: Head): boolean {
  const c = head.headers.connection?.toLowerCase();
  if (head.httpVersion === "1.0") return c !== undefined && c.split(",").some((t) => t.trim() === "keep-alive");
  return c === undefined || !c.split(",").some((t) => t.trim() === "close");
}

function hasCloseHeader(h: string[]): boolean {
  for (let i = 0; i < h.length; i += 2) if (h[i].toLowerCase() === "connection" && h[i + 1].toLowerCase() === "close") return true;
  return false;
}

export interface Http1Server {
  address(): AddressInfo;
  /** request body bytes reserved from the budget right now */
  bytesInFlight(): number;
  /** stops accepting, closes every connection, resolves when the listener is closed */
  close(): Promise<void>;
}

export function listenHttp1(host: string, port: number, handler: Http1Handler, opts: Http1Options): Promise<Http1Server> {
  const shared = new Shared({ ...DEFAULT_LIMITS, ...opts.limits });
  const connections = new Map<Socket, Connection>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const conn = new Connection(socket, handler, opts, shared);
    connections.set(socket, conn);
    socket.once("close", () => connections.delete(socket));
  });
  // node:net closes connections past this as soon as they are accepted
  server.maxConnections = shared.limits.maxConnections;
  // one timer for every connection's head and body timeouts, as node:http's connectionsCheckingInterval
  const checker = setInterval(() => {
    shared.tick++;
    for (const c of connections.values()) c.check();
  }, shared.checkIntervalMs);
  checker.unref();
  return new Promise((resolve, reject) => {
    server.once("error", (e) => {
      clearInterval(checker);
      reject(e);
    });
    server.listen(port, host, () => {
      server.removeAllListeners("error");
      resolve({
        address: () => server.address() as AddressInfo,
        bytesInFlight: () => shared.inFlight,
        close: () =>
          new Promise<void>((r) => {
            clearInterval(checker);
            server.close(() => r());
            for (const s of connections.keys()) s.destroy();
          }),
      });
    });
  });
}
