/**
 * Server-side AWS Signature Version 4 verification, header-signed and presigned (query) forms.
 * Recomputes the canonical request from what was received and compares in constant time.
 * Signing keys are cached per (secret, date, region, service).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

export interface IncomingSignedRequest {
  method: string;
  /** raw path without query, as received */
  path: string;
  /** raw query string without "?" */
  query: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ParsedAuth {
  kind: "header" | "presigned";
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  securityToken?: string;
  expiresSeconds?: number;
}

export type AuthErrorKind = "IncompleteSignature" | "SignatureDoesNotMatch" | "RequestExpired" | "MissingAuthenticationToken";

export class AuthError extends Error {
  constructor(
    readonly kind: AuthErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const ALGORITHM = "AWS4-HMAC-SHA256";
export const SIGNATURE_MISMATCH =
  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(",") : v;
};

function parseCredential(cred: string): { accessKeyId: string; date: string; region: string; service: string } {
  const parts = cred.split("/");
  if (parts.length !== 5 || !parts[0]) throw new AuthError("IncompleteSignature", `Credential should be scoped to a valid region. `);
  const [accessKeyId, date, region, service, terminator] = parts;
  if (terminator !== "aws4_request") throw new AuthError("IncompleteSignature", "Credential should be scoped with a valid terminator: 'aws4_request', not '" + terminator + "'.");
  if (!/^\d{8}$/.test(date)) throw new AuthError("IncompleteSignature", `Date must be in ISO-8601 'basic format'. Got '${date}'.`);
  if (!region) throw new AuthError("IncompleteSignature", "Credential should be scoped to a valid region. ");
  if (!service) throw new AuthError("IncompleteSignature", "Credential should be scoped to correct service. ");
  return { accessKeyId, date, region, service };
}

export function parseAuth(req: IncomingSignedRequest): ParsedAuth | null {
  const authz = header(req.headers, "authorization");
  if (authz) {
    if (!authz.startsWith(ALGORITHM + " ")) {
      throw new AuthError("IncompleteSignature", `Authorization header requires the '${ALGORITHM}' algorithm.`);
    }
    const fields = new Map<string, string>();
    for (const part of authz.slice(ALGORITHM.length + 1).split(",")) {
      const eq = part.indexOf("=");
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const missing = ["Credential", "Signature", "SignedHeaders"].filter((f) => !fields.get(f));
    if (missing.length) {
      throw new AuthError("IncompleteSignature", missing.map((f) => `Authorization header requires '${f}' parameter.`).join(" ") + ` Authorization=${authz}`);
    }
    const amzDate = header(req.headers, "x-amz-date") ?? header(req.headers, "date");
    if (!amzDate) throw new AuthError("IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + authz);
    const cred = parseCredential(fields.get("Credential")!);
    return {
      kind: "header",
      ...cred,
      signedHeaders: fields.get("SignedHeaders")!.split(";").map((h) => h.toLowerCase()),
      signature: fields.get("Signature")!,
      amzDate,
      securityToken: header(req.headers, "x-amz-security-token"),
    };
  }
  if (!req.query.includes("X-Amz-")) return null;
  const q = new URLSearchParams(req.query);
  if (!q.has("X-Amz-Algorithm") && !q.has("X-Amz-Credential") && !q.has("X-Amz-Signature")) return null;
  const missing = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"].filter((p) => !q.get(p));
  if (missing.length) throw new AuthError("IncompleteSignature", missing.map((p) => `AWS query-string parameters must include '${p}'.`).join(" ") + " Re-examine the query-string parameters.");
  if (q.get("X-Amz-Algorithm") !== ALGORITHM) throw new AuthError("IncompleteSignature", `X-Amz-Algorithm only supports '${ALGORITHM}'`);
  const expires = q.get("X-Amz-Expires");
  const expiresSeconds = expires === null ? undefined : Number(expires);
  if (expiresSeconds !== undefined && (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > 604800)) {
    throw new AuthError("IncompleteSignature", "X-Amz-Expires must be between 1 and 604800 seconds");
  }
  return {
    kind: "presigned",
    ...parseCredential(q.get("X-Amz-Credential")!),
    signedHeaders: q.get("X-Amz-SignedHeaders")!.split(";").map((h) => h.toLowerCase()),
    signature: q.get("X-Amz-Signature")!,
    amzDate: q.get("X-Amz-Date")!,
    securityToken: q.get("X-Amz-Security-Token") ?? undefined,
    expiresSeconds,
  };
}

/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX upper). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonicalPath(path: string, service: string): string {
  if (!path) return "/";
  if (service === "s3") return path.split("/").map((seg) => uriEncode(safeDecode(seg))).join("/");
  // Other services: normalise, then encode each (already encoded) segment once more.
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  const joined = "/" + out.map((seg) => uriEncode(seg)).join("/");
  return path.endsWith("/") && joined !== "/" ? joined + "/" : joined;
}

function canonicalQuery(query: string, presigned: boolean): string {
  if (!query) return "";
  const pairs: [string, string][] = [];
  for (const part of query.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const k = safeDecode((eq >= 0 ? part.slice(0, eq) : part).replace(/\+/g, " "));
    const v = eq >= 0 ? safeDecode(part.slice(eq + 1).replace(/\+/g, " ")) : "";
    if (presigned && k === "X-Amz-Signature") continue;
    pairs.push([uriEncode(k), uriEncode(v)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

const sha256hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

const keyCache = new Map<string, Buffer>();
function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\0${date}\0${region}\0${service}`;
  let k = keyCache.get(id);
  if (!k) {
    const kDate = createHmac("sha256", "AWS4" + secret).update(date).digest();
    const kRegion = createHmac("sha256", kDate).update(region).digest();
    const kService = createHmac("sha256", kRegion).update(service).digest();
    k = createHmac("sha256", kService).update("aws4_request").digest();
    if (keyCache.size > 10_000) keyCache.clear();
    keyCache.set(id, k);
  }
  return k;
}

function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (m) return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  const t = Date.parse(s);
  return Number.isNaN(t) ? NaN : t;
}

const basic = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

export function canonicalRequest(req: IncomingSignedRequest, auth: ParsedAuth): string {
  const headers = auth.signedHeaders
    .map((name) => {
      const raw = req.headers[name];
      const v = Array.isArray(raw) ? raw.map((x) => x.trim().replace(/\s+/g, " ")).join(",") : (raw ?? "").trim().replace(/\s+/g, " ");
      return `${name}:${v}\n`;
    })
    .join("");
  const declared = header(req.headers, "x-amz-content-sha256");
  const payloadHash = declared ?? (auth.kind === "presigned" && auth.service === "s3" ? "UNSIGNED-PAYLOAD" : sha256hex(req.body));
  return [req.method.toUpperCase(), canonicalPath(req.path, auth.service), canonicalQuery(req.query, auth.kind === "presigned"), headers, auth.signedHeaders.join(";"), payloadHash].join("\n");
}

export function verifySignature(req: IncomingSignedRequest, auth: ParsedAuth, secretAccessKey: string, nowMs: number, skewSeconds = 900): void {
  const t = parseAmzDate(auth.amzDate);
  if (Number.isNaN(t)) throw new AuthError("IncompleteSignature", `Date must be in ISO-8601 'basic format'. Got '${auth.amzDate}'.`);
  if (basic(t).slice(0, 8) !== auth.date) {
    throw new AuthError("SignatureDoesNotMatch", `Credential should be scoped to a valid date. Date in Credential scope is '${auth.date}' but request date is '${basic(t).slice(0, 8)}'.`);
  }
  if (!auth.signedHeaders.includes("host")) {
    throw new AuthError("SignatureDoesNotMatch", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  const minutes = Math.round(skewSeconds / 60);
  if (auth.kind === "presigned") {
    if (t - skewSeconds * 1000 > nowMs) throw new AuthError("RequestExpired", `Request is not yet valid`);
    if (nowMs > t + (auth.expiresSeconds ?? 900) * 1000) throw new AuthError("RequestExpired", "Request has expired");
  } else if (t < nowMs - skewSeconds * 1000) {
    throw new AuthError("RequestExpired", `Signature expired: ${basic(t)} is now earlier than ${basic(nowMs - skewSeconds * 1000)} (${basic(nowMs)} - ${minutes} min.)`);
  } else if (t > nowMs + skewSeconds * 1000) {
    throw new AuthError("RequestExpired", `Signature not yet current: ${basic(t)} is still later than ${basic(nowMs + skewSeconds * 1000)} (${basic(nowMs)} + ${minutes} min.)`);
  }
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = `${ALGORITHM}\n${auth.amzDate}\n${scope}\n${sha256hex(canonicalRequest(req, auth))}`;
  const expected = createHmac("sha256", signingKey(secretAccessKey, auth.date, auth.region, auth.service)).update(stringToSign).digest();
  const given = /^[0-9a-f]{64}$/.test(auth.signature) ? Buffer.from(auth.signature, "hex") : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AuthError("SignatureDoesNotMatch", SIGNATURE_MISMATCH);
}
