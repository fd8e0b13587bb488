/**
 * The task endpoint (docs/security.md#task-endpoint): what code in a crun task's network
 * namespace reaches at 169.254.170.2, which the namespace's nft rule sends to a listener of this
 * server on the task bridge's gateway address. The server's own port stays on its bound host
 * (loopback by default); this second listener serves the task namespaces only:
 *   - `/v2/credentials/<id>`: the task role's credentials (the container credentials provider);
 *   - `/v4/<token>/<container>[/task|/stats|…]`: the task metadata endpoint v4, as on Fargate;
 *   - signed AWS API calls (the tasks' AWS_ENDPOINT_URL is http://169.254.170.2), authenticated
 *     as on the main port.
 * It refuses the unauthenticated control endpoints (`/_localfargate/…`: clock, images, task output,
 * health) and every connection whose source is not an address of the task subnet, so neither a
 * task nor another host routing to the bridge address gets more than a task needs.
 */
import { randomUUID } from "node:crypto";
import { isIPv4 } from "node:net";
import { handleMetadataRequest, METADATA_PREFIX, NAMESPACE_METADATA_PREFIX } from "../fargate/metadata.ts";
import type { AppContext } from "../kernel/context.ts";
import { listenHttp1, type Http1Server, type HttpReply, type HttpRequest } from "./http1.ts";
import { requestBodyLimit } from "./body-limit.ts";
import { reply } from "./http.ts";

function ipv4Number(ip: string): number | undefined {
  const bare = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  if (!isIPv4(bare)) return undefined;
  return bare.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** True when `ip` lies in `address`/`prefixLength`. */
export function inSubnet(ip: string, address: string, prefixLength: number): boolean {
  const a = ipv4Number(ip);
  const b = ipv4Number(address);
  if (a === undefined || b === undefined || prefixLength < 0 || prefixLength > 32) return false;
  const shift = 32 - prefixLength;
  return Math.floor(a / 2 ** shift) === Math.floor(b / 2 ** shift);
}

function json(status: number, body: unknown): HttpReply {
  return reply(status, randomUUID(), "application/json", Buffer.from(JSON.stringify(body)));
}

export type FrontDoor = (req: HttpRequest) => Promise<HttpReply>;

/**
 * Whether a request is signed with one of the public default root keys (`test`, or an account id)
 * rather than an IAM user's (AKIA…) or a session's (ASIA…) key. Inside a container those keys would
 * make any image root of every account, so the task endpoint takes only issued credentials: the
 * task role's, or keys the user handed the task.
 */
function signsAsDefaultRoot(req: HttpRequest): boolean {
  const auth = req.headers.authorization;
  const fromHeader = typeof auth === "string" ? /Credential=([^/,\s]+)\//.exec(auth)?.[1] : undefined;
  const fromQuery = /[?&]X-Amz-Credential=([^%/&]+)/i.exec(req.url)?.[1];
  const keyId = fromHeader ?? fromQuery;
  return keyId !== undefined && !/^(AKIA|ASIA)/.test(keyId);
}

/**
 * Answers one request that arrived on the task endpoint: metadata here, credentials and AWS
 * calls through the front door, anything for the control endpoints refused.
 */
export async function handleTaskEndpointRequest(app: AppContext, frontDoor: FrontDoor, req: HttpRequest, subnet: { address: string; prefixLength: number }): Promise<HttpReply> {
  if (!inSubnet(req.remoteAddress, subnet.address, subnet.prefixLength)) {
    return json(403, { __type: "AccessDenied", message: "The task endpoint serves the task network only." });
  }
  const qi = req.url.indexOf("?");
  const path = qi >= 0 ? req.url.slice(0, qi) : req.url;
  if (path.startsWith(NAMESPACE_METADATA_PREFIX)) {
    // A web page on the host could reach the bridge address too; the SDKs never send these.
    if (req.headers.origin !== undefined || req.headers["sec-fetch-site"] !== undefined) {
      return json(403, { __type: "AccessDenied", message: "The task metadata endpoint does not answer web pages." });
    }
    const r = handleMetadataRequest(app, req.method, METADATA_PREFIX + path.slice(NAMESPACE_METADATA_PREFIX.length));
    return r ? json(r.status, r.body) : json(404, { message: "No task metadata at this address." });
  }
  if (path.startsWith("/_localfargate/") || path === "/_localfargate") {
    return json(403, { __type: "AccessDenied", message: "The localfargate control endpoints are not served to tasks." });
  }
  if (signsAsDefaultRoot(req)) {
    return json(403, {
      __type: "AccessDenied",
      message: "The task endpoint does not accept localfargate's default root keys: code in a task calls AWS with its task role's credentials.",
    });
  }
  return frontDoor(req);
}

/** One listener per gateway address, made on first use and closed with the server. */
export class TaskEndpointListeners {
  private readonly listeners = new Map<string, Promise<Http1Server>>();
  private closed = false;

  constructor(
    private readonly app: AppContext,
    private readonly frontDoor: FrontDoor,
  ) {}

  /** The port of the listener on `address` (an IPv4 address of this host) for the subnet `address`/`prefixLength`. */
  async listen(address: string, prefixLength: number): Promise<number> {
    if (this.closed) throw new Error("localfargate is shutting down");
    if (!isIPv4(address)) throw new Error(`The task endpoint needs an IPv4 address, not ${JSON.stringify(address)}`);
    let server = this.listeners.get(address);
    if (!server) {
      const subnet = { address, prefixLength };
      server = listenHttp1(address, 0, (req) => handleTaskEndpointRequest(this.app, this.frontDoor, req, subnet), {
        bodyLimit: requestBodyLimit,
        onError: (e) => {
          console.error("[localfargate] unhandled error on the task endpoint:", e);
          return json(500, { __type: "InternalFailure", message: "We encountered an internal error. Please try again." });
        },
      });
      this.listeners.set(address, server);
      server.catch(() => this.listeners.delete(address));
    }
    return (await server).address().port;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(all.map((p) => p.then((s) => s.close()).catch(() => undefined)));
  }
}
