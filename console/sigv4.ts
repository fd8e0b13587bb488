/**
 * AWS Signature Version 4 in the browser, with WebCrypto (SubtleCrypto HMAC and SHA-256):
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignInput {
  method: string;
  /** the path as sent (already percent-encoded where needed) */
  path: string;
  query?: URLSearchParams;
  headers: Record<string, string>;
  body: string;
  service: string;
  region: string;
  /** the Host the browser sends: location.host */
  host: string;
  /** the time of signing, ms since the epoch (the caller's wall clock: signatures are checked against real time) */
  nowMs: number;
}

const enc = new TextEncoder();

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", enc.encode(text)));
}

async function hmac(key: ArrayBuffer | Uint8Array<ArrayBuffer>, text: string): Promise<ArrayBuffer> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(text));
}

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function canonicalQuery(q: URLSearchParams | undefined): string {
  if (!q) return "";
  const pairs = [...q.entries()].map(([k, v]) => [uriEncode(k), uriEncode(v)] as const);
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

/** The headers to send: the input's plus x-amz-date, the session token and Authorization. */
export async function sign(input: SignInput, creds: Credentials): Promise<Record<string, string>> {
  const amzDate = new Date(input.nowMs)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...input.headers, "x-amz-date": amzDate };
  if (creds.sessionToken) headers["x-amz-security-token"] = creds.sessionToken;
  const toSign: Record<string, string> = { host: input.host };
  for (const [k, v] of Object.entries(headers)) toSign[k.toLowerCase()] = v.trim().replace(/\s+/g, " ");
  const names = Object.keys(toSign).sort();
  const signedHeaders = names.join(";");
  const canonical = [
    input.method,
    input.path
      .split("/")
      .map((seg) => uriEncode(decodeURIComponent(seg)))
      .join("/"),
    canonicalQuery(input.query),
    names.map((n) => `${n}:${toSign[n]}\n`).join(""),
    signedHeaders,
    await sha256Hex(input.body),
  ].join("\n");
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonical)].join("\n");
  let key = await hmac(enc.encode("AWS4" + creds.secretAccessKey), day);
  key = await hmac(key, input.region);
  key = await hmac(key, input.service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, stringToSign));
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
