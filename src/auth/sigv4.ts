/**
 * Server-side AWS Signature Version 4 verification, header-signed and presigned (query) forms.
 *
 * The canonical request is rebuilt from the request as received (raw path, raw query, the
 * headers named in SignedHeaders, the payload hash) exactly as the AWS signers build it
 * (smithy-typescript SignatureV4, botocore), then compared in constant time.
 *
 * Checks run in the order AWS's Coral front end applies them (as observed on the wire):
 *   parseAuth:       both auth forms present; key=value syntax; required parameters and the
 *                    date header (one combined IncompleteSignature message); date format;
 *                    algorithm; five-element credential.
 *   checkCredentialScope (optional, caller supplies the endpoint's region/service): region,
 *                    service, terminator, scope date (one combined message).
 *   verifySignature: time window (skew, or presigned expiry); Host signed; terminator and
 *                    scope date; the signature itself; a declared x-amz-content-sha256.
 *
 * Cost per verified request: one sha256 of the body, one sha256 of the canonical request and
 * one HMAC with a cached signing key.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import * as nodeCrypto from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface IncomingSignedRequest {
  method: string;
  /** raw path without query, as received, e.g. "/" or "/bucket/key%20x" */
  path: string;
  /** raw query string without "?" ("" if none) */
  query: string;
  /** node lower-cased headers; pass `req.headersDistinct` to keep repeated headers apart */
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ParsedAuth {
  kind: "header" | "presigned";
  accessKeyId: string;
  /** yyyymmdd from the credential scope */
  date: string;
  region: string;
  /** signing name in the scope, e.g. "kms" */
  service: string;
  /** lower-cased, in the order given (frozen: may be shared with other requests) */
  signedHeaders: string[];
  /** hex */
  signature: string;
  /** request time in ISO 8601 basic format (X-Amz-Date, or the Date header converted) */
  amzDate: string;
  securityToken?: string;
  /** presigned only */
  expiresSeconds?: number;
  /** fifth credential element when it is not "aws4_request" (rejected by verifySignature) */
  terminator?: string;
}

export type AuthErrorKind =
  | "IncompleteSignature"
  | "SignatureDoesNotMatch"
  | "RequestExpired"
  | "MissingAuthenticationToken"
  /** S3 only: a hex x-amz-content-sha256 that is not the body's hash (S3's XAmzContentSHA256Mismatch). */
  | "XAmzContentSHA256Mismatch";

export class AuthError extends Error {
  constructor(
    readonly kind: AuthErrorKind,
    message: string,
    /** For SignatureDoesNotMatch on the signature itself: what the server computed (debug aid; Coral services echo these). */
    readonly detail?: { canonicalRequest: string; stringToSign: string },
  ) {
    super(message);
    this.name = kind;
  }
}

export const ALGORITHM = "AWS4-HMAC-SHA256";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const MAX_PRESIGNED_EXPIRES = 604_800;
export const SIGNATURE_MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
const CONTENT_SHA256_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed.";

// ---------------------------------------------------------------------------------------------
// small helpers

type Headers = IncomingSignedRequest["headers"];

const firstHeader = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return typeof v === "string" ? v : Array.isArray(v) ? v[0] : undefined;
};

const sha256Hex: (data: string | Buffer) => string =
  typeof (nodeCrypto as { hash?: unknown }).hash === "function" ? (data) => nodeCrypto.hash("sha256", data, "hex") : (data) => createHash("sha256").update(data).digest("hex");

const HEX64 = /^[0-9a-fA-F]{64}$/;
const UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX (upper hex). */
export function uriEncode(s: string): string {
  if (UNRESERVED.test(s)) return s;
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function decodeComponent(s: string): string {
  if (s.indexOf("+") >= 0) s = s.replace(/\+/g, " ");
  if (s.indexOf("%") < 0) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes are taken literally (and re-encoded, "%" → "%25")
  }
}

const pad2 = (n: number): string => (n < 10 ? "0" + n : String(n));

/** ISO 8601 basic format, second precision: 20150830T123600Z */
export function toAmzDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}Z`;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Digits of `s` from `from` to `to` (exclusive) as a number, or -1 when any is not a digit. */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** Parses yyyymmddThhmmssZ strictly (no rolled-over fields); NaN when malformed. */
function amzDateMs(s: string): number {
  if (s.length !== 16 || s.charCodeAt(8) !== 84 /* T */ || s.charCodeAt(15) !== 90 /* Z */) return NaN;
  const y = digits(s, 0, 4);
  const mo = digits(s, 4, 6);
  const d = digits(s, 6, 8);
  const h = digits(s, 9, 11);
  const mi = digits(s, 11, 13);
  const sec = digits(s, 13, 15);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > DAYS_IN_MONTH[mo - 1] || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return NaN;
  if (mo === 2 && d === 29 && (y % 4 !== 0 || (y % 100 === 0 && y % 400 !== 0))) return NaN;
  return Date.UTC(y, mo - 1, d, h, mi, sec);
}

const badDate = (v: string) => new AuthError("IncompleteSignature", `Date must be in ISO-8601 'basic format'. Got '${v}'. See http://en.wikipedia.org/wiki/ISO_8601`);

// ---------------------------------------------------------------------------------------------
// parsing

/** Splits Credential into `auth` (accessKeyId, date, region, service, terminator). */
function parseCredential(cred: string, auth: ParsedAuth): void {
  let end = cred.length;
  while (end > 0 && cred.charCodeAt(end - 1) === 47 /* "/" */) end--; // AWS ignores trailing slashes
  const parts = (end === cred.length ? cred : cred.slice(0, end)).split("/");
  if (parts.length !== 5) {
    throw new AuthError("IncompleteSignature", `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${cred}'`);
  }
  auth.accessKeyId = parts[0];
  auth.date = parts[1];
  auth.region = parts[2];
  auth.service = parts[3];
  if (parts[4] !== "aws4_request") auth.terminator = parts[4];
}

function newAuth(kind: ParsedAuth["kind"], credential: string, signedHeaders: string, signature: string, amzDate: string): ParsedAuth {
  const auth: ParsedAuth = {
    kind,
    accessKeyId: "",
    date: "",
    region: "",
    service: "",
    signedHeaders: splitSignedHeaders(signedHeaders),
    signature,
    amzDate,
    securityToken: undefined,
    expiresSeconds: undefined,
    terminator: undefined,
  };
  parseCredential(credential, auth);
  return auth;
}

const unsupportedAlgorithm = (alg: string) => new AuthError("IncompleteSignature", `Unsupported AWS 'algorithm': '${alg}' (only ${ALGORITHM} for now). `);

// SDKs send the same SignedHeaders for every call of an operation: keep the last list (frozen,
// since it is shared between requests).
let lastSignedHeaders = "";
let lastSignedHeaderList: string[] = Object.freeze([]) as unknown as string[];

function splitSignedHeaders(s: string): string[] {
  if (s === lastSignedHeaders) return lastSignedHeaderList;
  const list = Object.freeze(s === "" ? [] : (/[A-Z]/.test(s) ? s.toLowerCase() : s).split(";")) as unknown as string[];
  lastSignedHeaders = s;
  lastSignedHeaderList = list;
  return list;
}

/** The form every SDK sends; anything else goes through the general tokenizer. */
const COMMON_AUTHZ = /^AWS4-HMAC-SHA256 Credential=([^,\s=]+), ?SignedHeaders=([^,\s=]*), ?Signature=([^,\s=]+)$/;

function parseHeaderAuth(req: IncomingSignedRequest, authz: string): ParsedAuth {
  const m = COMMON_AUTHZ.exec(authz);
  if (m !== null) {
    const xAmzDate = firstHeader(req.headers, "x-amz-date");
    if (xAmzDate !== undefined) {
      if (Number.isNaN(amzDateMs(xAmzDate))) throw badDate(xAmzDate);
      const auth = newAuth("header", m[1], m[2], m[3], xAmzDate);
      auth.securityToken = firstHeader(req.headers, "x-amz-security-token");
      return auth;
    }
  }
  return parseHeaderAuthGeneral(req, authz);
}

function parseHeaderAuthGeneral(req: IncomingSignedRequest, authz: string): ParsedAuth {
  const sp = authz.indexOf(" ");
  const algorithm = sp < 0 ? authz : authz.slice(0, sp);
  let credential: string | undefined;
  let signedHeaders: string | undefined;
  let signature: string | undefined;
  if (sp >= 0) {
    // "Credential=…, SignedHeaders=…, Signature=…": components separated by commas and/or spaces
    const rest = authz.slice(sp + 1);
    let i = 0;
    const n = rest.length;
    while (i < n) {
      let c = rest.charCodeAt(i);
      if (c === 44 || c === 32 || c === 9) {
        i++;
        continue;
      }
      let j = i;
      while (j < n && (c = rest.charCodeAt(j)) !== 44 && c !== 32 && c !== 9) j++;
      const token = rest.slice(i, j);
      const eq = token.indexOf("=");
      if (eq < 0) {
        throw new AuthError("IncompleteSignature", `'${token}' not a valid key=value pair (missing equal-sign) in Authorization header: '${authz}'.`);
      }
      const key = token.slice(0, eq);
      const value = token.slice(eq + 1);
      if (key === "Credential") credential = value;
      else if (key === "SignedHeaders") signedHeaders = value;
      else if (key === "Signature") signature = value;
      i = j;
    }
  }
  const xAmzDate = firstHeader(req.headers, "x-amz-date");
  const httpDate = xAmzDate === undefined ? firstHeader(req.headers, "date") : undefined;
  if (!credential || !signature || signedHeaders === undefined || (xAmzDate === undefined && httpDate === undefined)) {
    let msg = "";
    if (!credential) msg += "Authorization header requires 'Credential' parameter. ";
    if (!signature) msg += "Authorization header requires 'Signature' parameter. ";
    if (signedHeaders === undefined) msg += "Authorization header requires 'SignedHeaders' parameter. ";
    if (xAmzDate === undefined && httpDate === undefined) {
      msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
    }
    throw new AuthError("IncompleteSignature", msg + "Authorization=" + authz);
  }
  let amzDate: string;
  if (xAmzDate !== undefined) {
    if (Number.isNaN(amzDateMs(xAmzDate))) throw badDate(xAmzDate);
    amzDate = xAmzDate;
  } else {
    const t = Date.parse(httpDate!);
    if (Number.isNaN(t)) throw badDate(httpDate!);
    amzDate = toAmzDate(t);
  }
  if (algorithm !== ALGORITHM) throw unsupportedAlgorithm(algorithm);
  const auth = newAuth("header", credential, signedHeaders, signature, amzDate);
  auth.securityToken = firstHeader(req.headers, "x-amz-security-token");
  return auth;
}

const PRESIGN_REQUIRED = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"] as const;

function parsePresigned(q: URLSearchParams): ParsedAuth {
  let msg = "";
  for (const p of PRESIGN_REQUIRED) if (!q.get(p)) msg += `AWS query-string parameters must include '${p}'. `;
  if (msg) throw new AuthError("IncompleteSignature", msg + "Re-examine the query-string parameters.");
  const amzDate = q.get("X-Amz-Date")!;
  if (Number.isNaN(amzDateMs(amzDate))) throw badDate(amzDate);
  const algorithm = q.get("X-Amz-Algorithm")!;
  if (algorithm !== ALGORITHM) throw unsupportedAlgorithm(algorithm);
  const auth = newAuth("presigned", q.get("X-Amz-Credential")!, q.get("X-Amz-SignedHeaders")!, q.get("X-Amz-Signature")!, amzDate);
  const expires = q.get("X-Amz-Expires");
  if (expires !== null) {
    const n = expires.trim() === "" ? NaN : Number(expires);
    if (!Number.isInteger(n)) throw new AuthError("IncompleteSignature", "X-Amz-Expires should be a number");
    auth.expiresSeconds = n;
  }
  auth.securityToken = q.get("X-Amz-Security-Token") ?? undefined;
  return auth;
}

/**
 * Parses the Authorization header or the presigned query. Returns null when the request
 * carries no SigV4 auth at all (no Authorization header, or one not starting "AWS4-", and no
 * X-Amz-Algorithm query parameter): the caller answers MissingAuthenticationToken.
 * Throws AuthError (IncompleteSignature; SignatureDoesNotMatch when both forms are present).
 */
export function parseAuth(req: IncomingSignedRequest): ParsedAuth | null {
  const authz = firstHeader(req.headers, "authorization");
  const maybeQuery = req.query !== "" && req.query.indexOf("X-Amz-Algorithm") >= 0;
  const q = maybeQuery ? new URLSearchParams(req.query) : undefined;
  const presigned = q !== undefined && q.has("X-Amz-Algorithm");
  if (authz !== undefined && authz !== "") {
    if (presigned) {
      throw new AuthError("SignatureDoesNotMatch", "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.");
    }
    if (!authz.startsWith("AWS4-")) return null;
    return parseHeaderAuth(req, authz);
  }
  return presigned ? parsePresigned(q!) : null;
}

// ---------------------------------------------------------------------------------------------
// canonical request

/** Services whose signers do not normalise or re-encode the path (smithy `uriEscapePath: false`). */
export const isS3Family = (service: string) => service === "s3" || service.startsWith("s3-") || service === "s3express";

/**
 * Non-S3: remove empty and dot segments (RFC 3986 5.2.4, plus AWS's collapsing of "//"), keep
 * the leading and a trailing slash, then URI-encode the already encoded path again (slashes kept).
 * S3: the path exactly as received.
 */
export function canonicalPath(path: string, service: string): string {
  if (isS3Family(service)) return path === "" ? "/" : path;
  if (path === "/" || path === "") return "/";
  let normalized = path;
  if (path.indexOf("//") >= 0 || path.indexOf("/.") >= 0 || path.charCodeAt(0) === 46) {
    const out: string[] = [];
    for (const seg of path.split("/")) {
      if (seg === "" || seg === ".") continue;
      if (seg === "..") out.pop();
      else out.push(seg);
    }
    normalized = (path.charCodeAt(0) === 47 ? "/" : "") + out.join("/") + (out.length > 0 && path.endsWith("/") ? "/" : "");
  }
  if (/^[A-Za-z0-9\-_.~/]*$/.test(normalized)) return normalized;
  return uriEncode(normalized).replace(/%2F/g, "/");
}

/**
 * Query parameters decoded ("+" is a space, as the service's own parser reads it), re-encoded
 * per RFC 3986, sorted by name then value; a name without "=" has an empty value.
 * Presigned requests leave out X-Amz-Signature.
 */
export function canonicalQuery(query: string, presigned: boolean): string {
  if (query === "") return "";
  const pairs: [string, string][] = [];
  for (const part of query.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = decodeComponent(eq >= 0 ? part.slice(0, eq) : part);
    if (presigned && name.length === 15 && name.toLowerCase() === "x-amz-signature") continue;
    pairs.push([uriEncode(name), eq >= 0 ? uriEncode(decodeComponent(part.slice(eq + 1))) : ""]);
  }
  if (pairs.length > 1) pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  let out = "";
  for (let i = 0; i < pairs.length; i++) out += (i ? "&" : "") + pairs[i][0] + "=" + pairs[i][1];
  return out;
}

/** Anything canonicalisation would change: edge spaces/tabs, tabs, CR/LF, double spaces. */
const NEEDS_TRIMALL = /^[ \t]|[\t\r\n]| {2}| $/;

/** Header value as signers canonicalise it: CR/LF to spaces, runs of spaces/tabs to one space, trimmed. */
function canonicalHeaderValue(v: string): string {
  if (!NEEDS_TRIMALL.test(v)) return v;
  return v
    .replace(/[\r\n]/g, " ")
    .replace(/[ \t]+/g, " ")
    .replace(/^ | $/g, "");
}

function canonicalHeaders(headers: Headers, names: string[]): string {
  let out = "";
  for (const name of names) {
    let raw = headers[name];
    if (raw === undefined && name === "host") raw = headers[":authority"]; // HTTP/2
    let value: string;
    if (typeof raw === "string") value = canonicalHeaderValue(raw);
    else if (Array.isArray(raw)) value = raw.map(canonicalHeaderValue).join(",");
    else value = "";
    out += name + ":" + value + "\n";
  }
  return out;
}

function declaredPresignedPayload(query: string): string | undefined {
  if (!/x-amz-content-sha256/i.test(query)) return undefined;
  for (const [k, v] of new URLSearchParams(query)) if (k.toLowerCase() === "x-amz-content-sha256") return v;
  return undefined;
}

/**
 * The payload hash the client signed, as declared by the request: the x-amz-content-sha256
 * header (used literally: a hex hash, UNSIGNED-PAYLOAD, STREAMING-…), or for presigned requests
 * the hoisted X-Amz-Content-Sha256 query parameter (the S3 presigner puts UNSIGNED-PAYLOAD there).
 */
function declaredPayloadHash(req: IncomingSignedRequest, auth: ParsedAuth): string | undefined {
  const declared = firstHeader(req.headers, "x-amz-content-sha256");
  if (declared !== undefined || auth.kind === "header") return declared;
  return declaredPresignedPayload(req.query);
}

/**
 * Payload hash when none is declared: UNSIGNED-PAYLOAD for presigned S3 requests (what S3
 * requires), else sha256(body) (what @smithy/signature-v4 presign signs for other services:
 * e3b0… for an empty body).
 */
const computedPayloadHash = (req: IncomingSignedRequest, auth: ParsedAuth): string =>
  auth.kind === "presigned" && isS3Family(auth.service) ? UNSIGNED_PAYLOAD : sha256Hex(req.body);

const payloadHash = (req: IncomingSignedRequest, auth: ParsedAuth): string => declaredPayloadHash(req, auth) ?? computedPayloadHash(req, auth);

/** The canonical request for `req` as signed per `auth` (exported for diagnostics and tests). */
export function canonicalRequest(req: IncomingSignedRequest, auth: ParsedAuth, hashedPayload = payloadHash(req, auth)): string {
  return (
    req.method.toUpperCase() +
    "\n" +
    canonicalPath(req.path, auth.service) +
    "\n" +
    canonicalQuery(req.query, auth.kind === "presigned") +
    "\n" +
    canonicalHeaders(req.headers, auth.signedHeaders) +
    "\n" +
    auth.signedHeaders.join(";") +
    "\n" +
    hashedPayload
  );
}

// ---------------------------------------------------------------------------------------------
// signing key cache

const KEY_CACHE_MAX = 4096;
const keyCache = new Map<string, Buffer>();
let lastSecret = "";
let lastDate = "";
let lastRegion = "";
let lastService = "";
let lastKey: Buffer | undefined;

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac("sha256", "AWS4" + secret)
    .update(date)
    .digest();
  const kRegion = createHmac("sha256", kDate).update(region).digest();
  const kService = createHmac("sha256", kRegion).update(service).digest();
  return createHmac("sha256", kService).update("aws4_request").digest();
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  if (lastKey !== undefined && secret === lastSecret && date === lastDate && region === lastRegion && service === lastService) return lastKey;
  const id = secret + "\n" + date + "\n" + region + "\n" + service;
  let k = keyCache.get(id);
  if (k === undefined) {
    k = deriveSigningKey(secret, date, region, service);
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!); // oldest first
    keyCache.set(id, k);
  }
  lastSecret = secret;
  lastDate = date;
  lastRegion = region;
  lastService = service;
  lastKey = k;
  return k;
}

// ---------------------------------------------------------------------------------------------
// verification

function scopeProblems(auth: ParsedAuth, region: string | undefined, service: string | undefined): string {
  let msg = "";
  if (region !== undefined && auth.region !== region) msg += `Credential should be scoped to a valid region, not '${auth.region}'. `;
  if (service !== undefined && auth.service !== service) msg += `Credential should be scoped to correct service: '${service}'. `;
  if (auth.terminator !== undefined && auth.terminator !== "aws4_request") {
    msg += `Credential should be scoped with a valid terminator: 'aws4_request', not '${auth.terminator}'. `;
  }
  const day = auth.amzDate.slice(0, 8);
  if (auth.date !== day) {
    msg += `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${day}', from '${auth.amzDate}'.`;
  }
  return msg;
}

/**
 * Checks the credential scope against the endpoint that received the request (AWS does this
 * before looking up the access key). Throws one SignatureDoesNotMatch listing every problem,
 * worded as AWS does ("Credential should be scoped to a valid region, not 'eu-west-1'. …").
 */
export function checkCredentialScope(auth: ParsedAuth, expected: { region?: string; service?: string }): void {
  const msg = scopeProblems(auth, expected.region, expected.service);
  if (msg) throw new AuthError("SignatureDoesNotMatch", msg);
}

/**
 * Verifies the request's signature with `secretAccessKey`. `nowMs` is the service clock.
 * Throws AuthError:
 *  - RequestExpired: header-signed request outside ±skewSeconds ("Signature expired: … - 15 min.)",
 *    "Signature not yet current: … + 15 min.)"); presigned request past X-Amz-Date + X-Amz-Expires
 *    ("Request has expired", also for X-Amz-Expires=0) or dated beyond the skew ("Request is not valid yet");
 *  - IncompleteSignature: X-Amz-Expires negative or over 604800;
 *  - SignatureDoesNotMatch: Host not signed, bad terminator or scope date, wrong signature
 *    (and, outside S3, a declared hex x-amz-content-sha256 that is not the body's hash);
 *  - XAmzContentSHA256Mismatch: S3 request whose declared hex x-amz-content-sha256 is not the body's hash.
 */
export function verifySignature(req: IncomingSignedRequest, auth: ParsedAuth, secretAccessKey: string, nowMs: number, skewSeconds = 900): void {
  const t = amzDateMs(auth.amzDate);
  if (Number.isNaN(t)) throw badDate(auth.amzDate);
  const skewMs = skewSeconds * 1000;
  if (auth.kind === "presigned") {
    const expires = auth.expiresSeconds;
    if (expires !== undefined) {
      if (expires < 0) throw new AuthError("IncompleteSignature", "X-Amz-Expires must be non-negative");
      if (expires > MAX_PRESIGNED_EXPIRES) {
        throw new AuthError("IncompleteSignature", `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES}`);
      }
    }
    if (t - skewMs > nowMs) throw new AuthError("RequestExpired", "Request is not valid yet");
    // Without X-Amz-Expires the URL lives as long as a header-signed request would.
    if (expires === 0 || nowMs > t + (expires ?? skewSeconds) * 1000) throw new AuthError("RequestExpired", "Request has expired");
  } else if (t < nowMs - skewMs || t > nowMs + skewMs) {
    const minutes = Math.round(skewSeconds / 60);
    throw new AuthError(
      "RequestExpired",
      t < nowMs
        ? `Signature expired: ${auth.amzDate} is now earlier than ${toAmzDate(nowMs - skewMs)} (${toAmzDate(nowMs)} - ${minutes} min.)`
        : `Signature not yet current: ${auth.amzDate} is still later than ${toAmzDate(nowMs + skewMs)} (${toAmzDate(nowMs)} + ${minutes} min.)`,
    );
  }
  if (!auth.signedHeaders.includes("host")) {
    throw new AuthError("SignatureDoesNotMatch", "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const scopeMsg = scopeProblems(auth, undefined, undefined);
  if (scopeMsg) throw new AuthError("SignatureDoesNotMatch", scopeMsg);

  const declared = declaredPayloadHash(req, auth);
  const hashed = declared ?? computedPayloadHash(req, auth);
  let canonical: string;
  try {
    canonical = canonicalRequest(req, auth, hashed);
  } catch (e) {
    if (e instanceof URIError) throw new AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH); // unencodable path/query
    throw e;
  }
  const stringToSign = ALGORITHM + "\n" + auth.amzDate + "\n" + auth.date + "/" + auth.region + "/" + auth.service + "/aws4_request\n" + sha256Hex(canonical);
  const expected = createHmac("sha256", signingKey(secretAccessKey, auth.date, auth.region, auth.service))
    .update(stringToSign)
    .digest("hex");
  const given = auth.signature;
  if (given.length !== 64 || !timingSafeEqual(Buffer.from(expected, "latin1"), Buffer.from(given, "latin1"))) {
    throw new AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH, { canonicalRequest: canonical, stringToSign });
  }
  // The signature covers the declared hash; make sure the body is the one it describes.
  if (declared !== undefined && declared.length === 64 && HEX64.test(declared) && declared.toLowerCase() !== sha256Hex(req.body)) {
    throw isS3Family(auth.service) ? new AuthError("XAmzContentSHA256Mismatch", CONTENT_SHA256_MISMATCH) : new AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH);
  }
}
