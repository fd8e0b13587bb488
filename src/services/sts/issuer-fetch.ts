/**
 * GETs an OIDC issuer's discovery document or JWKS without letting a token or a provider aim the
 * server at what it should not reach (docs/iam-sts.md#where-issuer-documents-are-fetched-from):
 * the host name is resolved first, every address it resolves to is checked (issuer-address.ts),
 * and the connection goes to the checked address (so a second, different DNS answer cannot slip
 * in). Redirects are followed only a few times, each target checked like the first URL. The
 * whole fetch is time-limited and the body size-limited.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { networkInterfaces } from "node:os";
import { addressKind } from "./issuer-address.ts";

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has (the default asks the system resolver). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface IssuerFetchPolicy {
  /** whether the issuer itself is on loopback: then every fetch must be, else none may be */
  loopback: boolean;
  /** the server's own listening port (never fetched from this machine's addresses) */
  ownPort?: number;
  resolve?: HostResolver;
  timeoutMs?: number;
  maxBytes?: number;
  maxRedirects?: number;
  /** checks a redirect target's URL (scheme, host kind) as the first URL was checked */
  allowUrl(url: URL): boolean;
}

/** Why a fetch did not produce a document. */
export class IssuerFetchError extends Error {
  constructor(
    /** "blocked": an address or redirect the policy refuses; "unreachable": network, timeout, 5xx; "unusable": not a JSON document */
    readonly reason: "blocked" | "unreachable" | "unusable",
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_BYTES = 128 * 1024;
const DEFAULT_MAX_REDIRECTS = 3;

/** This machine's own addresses: loopback and every interface's. */
function ownAddresses(): Set<string> {
  const set = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) set.add(a.address.toLowerCase());
  return set;
}

function defaultPort(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
}

/** `p`, or a rejection once `signal` aborts (a resolver that never answers must not hold the call). */
function withinDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** The addresses `u` may be fetched from; throws "blocked" when any of them is refused. */
async function checkedAddresses(u: URL, policy: IssuerFetchPolicy, signal: AbortSignal): Promise<ResolvedAddress[]> {
  const host = u.hostname.replace(/^\[|\]$/g, "");
  let addresses: ResolvedAddress[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await withinDeadline((policy.resolve ?? systemResolver)(host), signal);
    } catch {
      throw new IssuerFetchError("unreachable", `${host} does not resolve`);
    }
  }
  if (addresses.length === 0) throw new IssuerFetchError("unreachable", `${host} does not resolve`);
  const port = defaultPort(u);
  const own = policy.ownPort === port ? ownAddresses() : undefined;
  for (const { address } of addresses) {
    const kind = addressKind(address);
    const wanted = policy.loopback ? "loopback" : "public";
    if (kind !== wanted) throw new IssuerFetchError("blocked", `${host} resolves to ${address}, a ${kind} address`);
    if (own && (kind === "loopback" || own.has(address.toLowerCase()))) throw new IssuerFetchError("blocked", `${host}:${port} is this server`);
  }
  return addresses;
}

/** One GET to a checked address; resolves with the response (body unread). */
function getOnce(u: URL, pinned: ResolvedAddress, signal: AbortSignal): Promise<IncomingMessage> {
  // the connection goes to the address that was checked, whatever the resolver would say now
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all) (callback as (e: null, a: ResolvedAddress[]) => void)(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, { method: "GET", headers: { accept: "application/json" }, lookup, signal, agent: false }, resolve);
    req.on("error", reject);
    req.end();
  });
}

async function readBody(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw new IssuerFetchError("unusable", `the document is larger than ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.destroy();
      throw new IssuerFetchError("unusable", `the document is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** GETs the JSON document at `url` under `policy`; throws IssuerFetchError when there is none to use. */
export async function fetchIssuerJson(url: URL, policy: IssuerFetchPolicy): Promise<unknown> {
  const signal = AbortSignal.timeout(policy.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const maxRedirects = policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let current = url;
  for (let hop = 0; ; hop++) {
    const [pinned] = await checkedAddresses(current, policy, signal);
    let res: IncomingMessage;
    try {
      res = await getOnce(current, pinned, signal);
    } catch (e) {
      throw new IssuerFetchError("unreachable", `${current.host}: ${(e as Error).message}`);
    }
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location !== undefined) {
      res.resume();
      if (hop >= maxRedirects) throw new IssuerFetchError("blocked", `more than ${maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(res.headers.location, current);
      } catch {
        throw new IssuerFetchError("blocked", "a redirect to no URL");
      }
      // never from https down to http, never to a URL the first one could not have been
      if ((current.protocol === "https:" && next.protocol !== "https:") || !policy.allowUrl(next)) {
        throw new IssuerFetchError("blocked", `a redirect to ${next.protocol}//${next.host}`);
      }
      current = next;
      continue;
    }
    if (status >= 500) {
      res.resume();
      throw new IssuerFetchError("unreachable", `${current.host} answered ${status}`);
    }
    if (status !== 200) {
      res.resume();
      throw new IssuerFetchError("unusable", `${current.host} answered ${status}`);
    }
    let body: Buffer;
    try {
      body = await readBody(res, policy.maxBytes ?? DEFAULT_MAX_BYTES);
    } catch (e) {
      if (e instanceof IssuerFetchError) throw e;
      throw new IssuerFetchError("unreachable", `${current.host}: ${(e as Error).message}`);
    }
    try {
      return JSON.parse(body.toString("utf8"));
    } catch {
      throw new IssuerFetchError("unusable", "the document is not JSON");
    }
  }
}
