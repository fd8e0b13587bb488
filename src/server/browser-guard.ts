/**
 * Keeps web browsers from driving localfargate. The default credentials are public and the
 * port is reachable from every page a local browser opens, so two checks run before any
 * endpoint (AWS API or /_localfargate/) sees a request (docs/security.md):
 *
 * - Host: the name must be one that cannot be re-pointed at this machine by someone else's DNS
 *   (DNS rebinding): an IP literal, `localhost` or a `*.localhost` name, the bound host, the
 *   machine's own name when bound beyond loopback, or `localhost.localstack.cloud` names (S3
 *   virtual-hosted-style), or a name given with `--allowed-host`. The port is not compared: port forwarding changes it, and rebinding
 *   needs a name.
 * - Origin: a browser names the page that sent a request in `Origin` (and `Sec-Fetch-Site`);
 *   AWS SDKs outside browsers and the CLI send neither. A request from a page is served only
 *   when the page is this server's own origin or one configured with `--allowed-origin`.
 */
import { hostname } from "node:os";
import { isIP } from "node:net";

export interface BrowserGuardOptions {
  /** the address the server is bound to (`--host`) */
  boundHost: string;
  /** origins allowed to call from a browser, as `scheme://host[:port]` */
  allowedOrigins: readonly string[];
  /** further host names clients use for this server (`--allowed-host`), e.g. a compose service name */
  allowedHosts?: readonly string[];
}

export type GuardVerdict = { allowed: true; /** set for a configured cross-origin caller: CORS headers to add */ cors?: string } | { allowed: false; message: string };

const LOOPBACK_BINDS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

/** `Host` split into a lower-cased name (IPv6 kept in brackets) and port; undefined when malformed. */
function hostName(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1].replace(/\.$/, "") : undefined;
}

/** True for a DNS host name that `--allowed-host` may name (no port, no wildcard). */
export function isHostName(value: string): boolean {
  return /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/i.test(value);
}

/** An origin as browsers serialize it, or undefined when `value` is not one. */
export function normalizeOrigin(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
    if (u.origin === "null" || value.replace(/\/$/, "").toLowerCase() !== u.origin.toLowerCase()) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

export class BrowserGuard {
  private readonly names = new Set<string>(["localhost", "localhost.localstack.cloud"]);
  private readonly origins: Set<string>;

  constructor(opts: BrowserGuardOptions) {
    const bound = opts.boundHost.toLowerCase();
    this.names.add(isIP(bound) === 6 ? `[${bound}]` : bound);
    if (!LOOPBACK_BINDS.has(bound)) this.names.add(hostname().toLowerCase());
    for (const h of opts.allowedHosts ?? []) this.names.add(h.toLowerCase());
    this.origins = new Set(opts.allowedOrigins.map((o) => normalizeOrigin(o) ?? o));
  }

  private hostAllowed(name: string): boolean {
    if (this.names.has(name)) return true;
    if (name.endsWith(".localhost") || name.endsWith(".localhost.localstack.cloud")) return true;
    // an address cannot be re-pointed by DNS
    if (name.startsWith("[")) return isIP(name.slice(1, -1)) === 6;
    return isIP(name) === 4;
  }

  check(headers: Record<string, string>): GuardVerdict {
    const host = headers.host;
    if (host !== undefined) {
      const name = hostName(host);
      if (name === undefined || !this.hostAllowed(name)) {
        return { allowed: false, message: `Request refused: Host ${JSON.stringify(host)} is not a name this server answers to (DNS rebinding protection, see docs/security.md).` };
      }
    }
    const origin = headers.origin;
    if (origin !== undefined) {
      const normal = normalizeOrigin(origin);
      if (normal !== undefined && host !== undefined && normal.toLowerCase() === `http://${host.trim().toLowerCase()}`) return { allowed: true };
      if (normal !== undefined && this.origins.has(normal)) return { allowed: true, cors: normal };
      return {
        allowed: false,
        message: `Request refused: Origin ${JSON.stringify(origin)} is not allowed to call this server from a browser; allow it with --allowed-origin (see docs/security.md).`,
      };
    }
    const site = headers["sec-fetch-site"]?.toLowerCase();
    if (site === "cross-site" || site === "same-site") {
      return { allowed: false, message: `Request refused: a ${site} browser request without an allowed Origin (see docs/security.md).` };
    }
    return { allowed: true };
  }
}

/** CORS answer headers for a configured origin; the preflight also lists what may be sent. */
export function corsHeaders(origin: string, preflight?: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {
    "access-control-allow-origin": origin,
    vary: "Origin",
    "access-control-expose-headers": "x-amzn-requestid, x-amz-request-id, x-amz-id-2, x-amzn-errortype, etag, x-amz-version-id, date",
  };
  if (preflight) {
    out["access-control-allow-methods"] = "GET, HEAD, PUT, POST, DELETE";
    const asked = preflight["access-control-request-headers"] ?? "";
    // only header names go back (a value with anything else is not echoed)
    if (/^[A-Za-z0-9!#$%&'*+.^_`|~,\s-]*$/.test(asked) && asked.trim() !== "") out["access-control-allow-headers"] = asked;
    out["access-control-max-age"] = "600";
  }
  return out;
}
