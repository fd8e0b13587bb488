/**
 * The HTTP front door: one port for every service. Picks the service from the SigV4 credential
 * scope, X-Amz-Target or Action, decodes with that service's protocol, authenticates, runs the
 * call through the dispatcher and encodes the answer exactly as AWS does.
 */
import { randomUUID } from "node:crypto";
import { ServiceError } from "../kernel/errors.ts";
import { authenticate, type Authenticated, type WireFamily } from "../auth/credentials.ts";
import { anonymousPrincipal } from "../auth/principal.ts";
import type { IncomingSignedRequest } from "../auth/sigv4.ts";
import { awsJsonProtocol, JSON_CONTENT_TYPE } from "../protocol/aws-json.ts";
import { awsQueryProtocol, encodeUnknownQueryServiceError, queryParams, XML_CONTENT_TYPE } from "../protocol/aws-query.ts";
import { restXmlProtocol } from "../protocol/rest-xml.ts";
import { wireProtocolOf, type WireRequest, type WireResponse } from "../protocol/index.ts";
import type { AppContext } from "../kernel/context.ts";
import type { ServiceDef } from "../kernel/service.ts";
import { execute, newContext, unknownOperation } from "./dispatcher.ts";
import { handleControl } from "./control.ts";
import { handleConsole, isConsolePath } from "./console-route.ts";
import { handleCredentialsRequest, isCredentialsPath } from "../fargate/task-credentials.ts";
import { handleTaskOutput, TASK_OUTPUT_PATH } from "./task-output-control.ts";
import { withUserContentHeaders } from "./user-content.ts";
import type { DueScheduler } from "./scheduler.ts";
import { wallClockMs } from "../clock/clock.ts";
import { BrowserGuard, corsHeaders } from "./browser-guard.ts";
import { listenHttp1, type Http1Limits, type Http1Server, type HttpReply, type HttpRequest } from "./http1.ts";
import { requestBodyLimit } from "./body-limit.ts";
import { own } from "../util/own-property.ts";
import { EventStreamOutput } from "../kernel/event-stream.ts";
import { EVENT_STREAM_CONTENT_TYPE, jsonEvent, jsonException } from "../protocol/event-stream.ts";

interface Routed {
  svc: ServiceDef;
  family: WireFamily;
}

const CREDENTIAL_SERVICE = /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\//;

/** The service named by the SigV4 scope: the Authorization header's, or a presigned URL's (parsed only then). */
function scopeService(headers: Record<string, string>, rawQuery: string): string | undefined {
  const auth = headers.authorization;
  if (auth) return CREDENTIAL_SERVICE.exec(auth)?.[1];
  if (!rawQuery) return undefined;
  const cred = new URLSearchParams(rawQuery).get("X-Amz-Credential");
  return cred?.split("/")[3];
}

function splitUrl(url: string): { path: string; rawQuery: string } {
  const qi = url.indexOf("?");
  return qi >= 0 ? { path: url.slice(0, qi), rawQuery: url.slice(qi + 1) } : { path: url, rawQuery: "" };
}

export class HttpFrontend {
  private readonly bySigningName = new Map<string, ServiceDef>();
  private readonly byTargetPrefix = new Map<string, ServiceDef>();
  private readonly queryServices: ServiceDef[] = [];
  ready = false;

  private readonly guard: BrowserGuard;

  constructor(
    private readonly app: AppContext,
    readonly due: DueScheduler,
  ) {
    this.guard = new BrowserGuard({ boundHost: app.options.host ?? "127.0.0.1", allowedOrigins: app.options.allowedOrigins ?? [], allowedHosts: app.options.allowedHosts ?? [] });
    for (const svc of app.services.values()) this.addService(svc);
  }

  addService(svc: ServiceDef): void {
    this.bySigningName.set(svc.signingName, svc);
    for (const p of svc.targetPrefixes ?? []) this.byTargetPrefix.set(p, svc);
    if (svc.protocol === "query") this.queryServices.push(svc);
  }

  listen(host: string, port: number, limits?: Partial<Http1Limits>): Promise<Http1Server> {
    return listenHttp1(host, port, (req) => this.handle(req), {
      limits,
      bodyLimit: requestBodyLimit,
      onError: (e) => {
        console.error("[localfargate] unhandled error:", e);
        return reply(
          500,
          randomUUID(),
          JSON_CONTENT_TYPE,
          Buffer.from(JSON.stringify({ __type: "InternalFailure", message: "We encountered an internal error. Please try again." })),
        );
      },
    });
  }

  /** Answers one request (the main port's, or one the task endpoint passes on: task-endpoint.ts). */
  async handle(req: HttpRequest): Promise<HttpReply> {
    const r = await this.answer(req);
    // what users and tasks stored must not run as the console's origin (user-content.ts)
    return isConsolePath(splitUrl(req.url).path) ? r : withUserContentHeaders(r);
  }

  private async answer(req: HttpRequest): Promise<HttpReply> {
    const verdict = this.guard.check(req.headers);
    if (!verdict.allowed) return this.refuseBrowser(req, verdict.message);
    if (verdict.cors) {
      if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
        return reply(204, randomUUID(), undefined, Buffer.alloc(0), corsHeaders(verdict.cors, req.headers));
      }
      const r = await this.handleAllowed(req);
      return { ...r, headers: [...r.headers, ...Object.entries(corsHeaders(verdict.cors)).flat()] };
    }
    return this.handleAllowed(req);
  }

  /** 403 in the protocol of the endpoint asked for: JSON, the Query ErrorResponse or S3's XML. */
  private refuseBrowser(req: HttpRequest, message: string): HttpReply {
    const requestId = randomUUID();
    const { path, rawQuery } = splitUrl(req.url);
    if (path.startsWith("/_localfargate/")) {
      return reply(403, requestId, "application/json", Buffer.from(JSON.stringify({ __type: "AccessDenied", message })));
    }
    const signing = scopeService(req.headers, rawQuery);
    const signed = signing ? this.bySigningName.get(signing) : undefined;
    const blank: WireRequest = { method: req.method, path, query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0), host: "" };
    if (req.headers["x-amz-target"] || signed?.protocol === "json") {
      return fromWire(requestId, awsJsonProtocol.encodeError(signed, new ServiceError("AccessDeniedException", message, 403), requestId, blank));
    }
    const err = new ServiceError("AccessDenied", message, 403);
    const s3 = this.bySigningName.get("s3");
    if (s3?.rest && (signed === s3 || (!signed && isS3Request(req.method, req.headers, signing)))) {
      return fromWire(requestId, restXmlProtocol.encodeError(s3, err, requestId, blank));
    }
    const query = signed?.protocol === "query" ? signed : this.queryServices[0];
    return fromWire(requestId, awsQueryProtocol.encodeError(query, err, requestId, blank));
  }

  private async handleAllowed(req: HttpRequest): Promise<HttpReply> {
    const { path, rawQuery } = splitUrl(req.url);
    if (isConsolePath(path)) {
      const r = await handleConsole(req.method, path);
      return reply(r.status, randomUUID(), r.contentType, r.body, r.headers);
    }
    if (path === TASK_OUTPUT_PATH) {
      // SigV4-signed, unlike the other control endpoints: it reads what a task wrote (docs/ecs-fargate.md#task-output)
      const r = await handleTaskOutput(this.app, { method: req.method, path, rawQuery, headers: req.headers, body: req.body, sourceIp: clientIp(req) });
      return reply(r.status, r.requestId ?? randomUUID(), "application/json", Buffer.from(JSON.stringify(r.body)));
    }
    if (path.startsWith("/_localfargate/")) {
      const r = await handleControl(this.app, this, req.method, path, req.bodyTooLarge ? Buffer.alloc(0) : req.body);
      return reply(r.status, r.requestId, "application/json", r.body);
    }
    const query = new URLSearchParams(rawQuery);
    const requestId = randomUUID();
    const signing = scopeService(req.headers, rawQuery);
    // The container credentials endpoint: unsigned, as the SDKs call it (a signed request for this path is an API call).
    if (!signing && isCredentialsPath(path)) {
      const r = await handleCredentialsRequest(this.app, req.method, path);
      return reply(r.status, requestId, "application/json", Buffer.from(JSON.stringify(r.body)));
    }
    if (req.bodyTooLarge || req.serverBusy) return this.refused(req, requestId, isS3Request(req.method, req.headers, signing));
    const body = req.body;
    const wireReq: WireRequest = { method: req.method, path, query, headers: req.headers, body, host: req.headers.host ?? "" };
    const routed = this.route(req, wireReq, signing);
    if (!routed) return fromWire(requestId, unknownServiceError(req, wireReq, requestId));
    const { svc, family } = routed;
    const protocol = wireProtocolOf(svc);
    const signedReq: IncomingSignedRequest = { method: req.method, path, query: rawQuery, headers: req.headers, body };
    try {
      const who = this.unsigned(svc, wireReq) ?? anonymousS3(svc, req.headers, rawQuery) ?? authenticate(this.app, signedReq, family, svc.signingName);
      const call = protocol.decode(wireReq, svc);
      const ctx = newContext(this.app, svc, call.operation, {
        requestId,
        region: svc.globalRegion && !svc.rest ? svc.globalRegion : (anonymousRegion(svc, who, call) ?? who.region),
        principal: who.principal,
        sourceIp: clientIp(req),
        userAgent: req.headers["user-agent"] ?? "",
        secureTransport: false,
        internal: false,
      });
      // The input is decoded inside execute (its errors are the call's own, recorded like any other).
      const output = await execute(ctx, call.input, protocol.storedBytes?.(wireReq) ?? 0);
      if (output instanceof EventStreamOutput) return streamedReply(requestId, output);
      return fromWire(requestId, protocol.encodeOutput(svc, call.operation, output, ctx));
    } catch (e) {
      const err = e instanceof ServiceError ? e : new ServiceError("InternalFailure", "We encountered an internal error. Please try again.", 500);
      if (!(e instanceof ServiceError)) console.error("[localfargate] internal error:", e);
      return fromWire(requestId, protocol.encodeError(svc, err, requestId, wireReq));
    }
  }

  /**
   * Operations that take no AWS credentials (STS's AssumeRoleWithWebIdentity and
   * AssumeRoleWithSAML: the token or assertion is the credential) run as the anonymous caller,
   * signed or not; they are global calls answered for us-east-1.
   */
  private unsigned(svc: ServiceDef, wireReq: WireRequest): Authenticated | undefined {
    if (!svc.unsignedOperations || svc.protocol !== "query") return undefined;
    const action = queryParams(wireReq).get("Action");
    if (action === null || !svc.unsignedOperations.has(action)) return undefined;
    return { principal: anonymousPrincipal(), region: "us-east-1", signingService: svc.signingName };
  }

  /** The service a request is for (by X-Amz-Target, its SigV4 scope or its Query Action) and how it authenticates. */
  private route(req: HttpRequest, wireReq: WireRequest, signing: string | undefined): Routed | undefined {
    const target = req.headers["x-amz-target"];
    if (typeof target === "string" && target) {
      const prefix = target.slice(0, target.lastIndexOf("."));
      const svc = this.byTargetPrefix.get(prefix) ?? (signing ? this.bySigningName.get(signing) : undefined);
      if (!svc || svc.protocol !== "json") return undefined;
      return { svc, family: "json" };
    }
    const signed = signing ? this.bySigningName.get(signing) : undefined;
    if (signed?.protocol === "rest" || signed?.protocol === "rest-json") return { svc: signed, family: "rest" };
    const action = queryParams(wireReq).get("Action");
    if (action !== null) {
      const svc = signed?.protocol === "query" ? signed : (this.queryServices.find((s) => own(s.shapes?.operations, action)) ?? signed);
      if (svc && svc.protocol === "query") return { svc, family: "query" };
    }
    if (signed?.protocol === "json") return { svc: signed, family: "json" };
    if (signed?.protocol === "query") return { svc: signed, family: "query" };
    const s3 = this.bySigningName.get("s3");
    if (s3 && !signing) return { svc: s3, family: "rest" };
    return undefined;
  }

  /** A body refused before it was read: over its limit, or over the server's bytes-in-flight budget (docs/limits.md). */
  private refused(req: HttpRequest, requestId: string, s3: boolean): HttpReply {
    const limit = requestBodyLimit(req.method, req.url, req.headers);
    const s3svc = s3 ? this.bySigningName.get("s3") : undefined;
    const blank: WireRequest = { method: "", path: "", query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0), host: "" };
    const close = (r: WireResponse) => fromWire(requestId, { ...r, headers: { ...r.headers, connection: "close" } });
    if (req.serverBusy) {
      // S3's answer to more than it can take now is 503 SlowDown; the other services' is their common 503 ServiceUnavailable. SDKs retry both.
      if (s3svc?.rest) return close(restXmlProtocol.encodeError(s3svc, new ServiceError("SlowDown", "Please reduce your request rate.", 503), requestId, blank));
      const err = new ServiceError("ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503);
      const protocol = req.headers["x-amz-target"] === undefined ? awsQueryProtocol : awsJsonProtocol;
      return close(protocol.encodeError(undefined, err, requestId, blank));
    }
    if (s3svc?.rest) {
      // S3 answers in its own XML: 400 EntityTooLarge.
      const err = new ServiceError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.", 400, { extra: { MaxSizeAllowed: limit } });
      return close(restXmlProtocol.encodeError(s3svc, err, requestId, blank));
    }
    const err = new ServiceError(s3 ? "EntityTooLarge" : "RequestEntityTooLargeException", `Request body is larger than the maximum of ${limit} bytes`, 413);
    return close(awsJsonProtocol.encodeError(undefined, err, requestId, blank));
  }
}

/**
 * An S3 request with no credentials at all (no Authorization header, no presigned X-Amz-*
 * parameters) runs as the anonymous caller, whom only a bucket policy granting everyone lets
 * in (docs/security.md#anonymous-s3-requests).
 */
function anonymousS3(svc: ServiceDef, headers: Record<string, string>, rawQuery: string): Authenticated | undefined {
  if (svc.signingName !== "s3" || !svc.rest) return undefined;
  if (headers.authorization !== undefined || /(?:^|&)X-Amz-(?:Signature|Credential|Algorithm)=/i.test(rawQuery)) return undefined;
  return { principal: anonymousPrincipal(), region: "us-east-1", signingService: "s3" };
}

/**
 * An unsigned S3 call names no Region; it runs in the Region of the bucket it names, as S3 serves
 * it from that Region's endpoint (docs/security.md#anonymous-s3-requests).
 */
function anonymousRegion(svc: ServiceDef, who: Authenticated, call: { input(): Record<string, unknown> }): string | undefined {
  if (who.principal.type !== "Anonymous" || !svc.rest?.anonymousRegion) return undefined;
  return svc.rest.anonymousRegion(call.input());
}

/** S3 requests (REST, by their scope or by not being an API call at all) may carry larger bodies. */
function isS3Request(method: string, headers: Record<string, string>, signing: string | undefined): boolean {
  return signing === "s3" || (!signing && !headers["x-amz-target"] && method !== "POST");
}

/** The Date header follows the wall clock (not the service clock): SDKs correct their clock skew from it. */
let dateSecond = -1;
let dateHeader = "";
/** The HTTP date changes once a second: format it once a second. */
function httpDate(): string {
  const ms = wallClockMs();
  const sec = Math.floor(ms / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateHeader = new Date(ms).toUTCString();
  }
  return dateHeader;
}

/** A reply with AWS's base headers (request id, Date, length, type) and the call's own. */
export function reply(status: number, requestId: string, contentType: string | undefined, body: Buffer, extra?: Record<string, string>): HttpReply {
  const headers: string[] = ["x-amzn-requestid", requestId, "date", httpDate(), "content-length", String(body.length)];
  if (contentType) headers.push("content-type", contentType);
  if (extra) {
    for (const k in extra) {
      // A service's own value for a base header replaces it (never a second copy).
      const i = headers.indexOf(k.toLowerCase());
      if (i >= 0 && i % 2 === 0) headers[i + 1] = extra[k];
      else headers.push(k, extra[k]);
    }
  }
  return { status, headers, body };
}

/** An event stream output as a streamed reply: each event framed as AWS's event stream encoding, in JSON (awsJson1_1). */
function streamedReply(requestId: string, output: EventStreamOutput): HttpReply {
  const r = reply(200, requestId, EVENT_STREAM_CONTENT_TYPE, Buffer.alloc(0));
  r.stream = {
    start(sink) {
      output.run({
        event: (type, body) => sink.write(jsonEvent(type, body)),
        fail: (type, message) => {
          sink.write(jsonException(type, message));
          sink.end();
        },
        end: () => sink.end(),
        onClose: (fn) => sink.onClose(fn),
        buffered: () => sink.buffered(),
      });
    },
  };
  return r;
}

function fromWire(requestId: string, r: WireResponse): HttpReply {
  return reply(r.status, requestId, undefined, r.body, r.headers);
}

function clientIp(req: HttpRequest): string {
  const ip = req.remoteAddress;
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

export { unknownOperation };

/** A service localfargate does not have, answered in the request's protocol: XML for a Query `Action`, else JSON. */
function unknownServiceError(req: HttpRequest, wireReq: WireRequest, requestId: string): WireResponse {
  if (!req.headers["x-amz-target"] && queryParams(wireReq).get("Action") !== null) {
    const err = new ServiceError("InvalidAction", "The action or operation requested is invalid. Verify that the action is typed correctly.", 400);
    return { status: 400, headers: { "content-type": XML_CONTENT_TYPE }, body: encodeUnknownQueryServiceError(err, requestId) };
  }
  return awsJsonProtocol.encodeError(undefined, new ServiceError("UnknownOperationException", "", 400), requestId, wireReq);
}
