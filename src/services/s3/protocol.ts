/**
 * S3's restXml wire protocol for the operations localfargate implements: which operation a
 * request is (path-style or virtual-hosted-style), its input (headers, query, aws-chunked
 * bodies), and responses and errors in S3's XML.
 */
import { createHash } from "node:crypto";
import * as zlib from "node:zlib";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { RestHttpRequest, RestHttpResponse } from "../../kernel/service.ts";
import { S3Error } from "./common.ts";
import { xmlDocument, xmlEscape } from "./xml.ts";

export interface S3Input {
  Bucket?: string;
  Key?: string;
  /** Host header (CloudTrail requestParameters.Host) */
  Host: string;
  /** request body, aws-chunked framing removed */
  Body: Buffer;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** x-amz-meta-* (names without the prefix, lower-case) */
  Metadata: Record<string, string>;
}

export type S3Operation =
  | "ListBuckets"
  | "CreateBucket"
  | "DeleteBucket"
  | "HeadBucket"
  | "GetBucketLocation"
  | "ListObjects"
  | "ListObjectsV2"
  | "GetObject"
  | "HeadObject"
  | "PutObject"
  | "DeleteObject"
  | "PutBucketPolicy"
  | "GetBucketPolicy"
  | "DeleteBucketPolicy"
  | "GetBucketVersioning"
  | "PutBucketVersioning"
  | "GetBucketEncryption"
  | "PutBucketEncryption"
  | "DeleteBucketEncryption"
  | "GetPublicAccessBlock"
  | "PutPublicAccessBlock"
  | "DeletePublicAccessBlock"
  | "GetBucketOwnershipControls"
  | "PutBucketOwnershipControls"
  | "DeleteBucketOwnershipControls"
  | "GetBucketTagging"
  | "PutBucketTagging"
  | "DeleteBucketTagging"
  | "GetBucketAcl"
  | "GetBucketLogging"
  | "GetBucketNotificationConfiguration"
  | "GetBucketLifecycleConfiguration"
  | "GetObjectLockConfiguration"
  | "PutObjectLockConfiguration"
  | "PutObjectRetention"
  | "GetObjectRetention"
  | "PutObjectLegalHold"
  | "GetObjectLegalHold"
  | "GetBucketReplication"
  | "ListObjectVersions"
  | "DeleteObjects"
  | "PutBucketAcl"
  | "GetObjectAcl"
  | "PutObjectAcl"
  | "GetObjectTagging"
  | "PutObjectTagging"
  | "DeleteObjectTagging"
  | "GetAccountPublicAccessBlock"
  | "PutAccountPublicAccessBlock"
  | "DeleteAccountPublicAccessBlock";

/** S3 Control's account-level Block Public Access (account-public-access.ts), by method. */
const ACCOUNT_PUBLIC_ACCESS_BLOCK: Partial<Record<string, S3Operation>> = {
  GET: "GetAccountPublicAccessBlock",
  PUT: "PutAccountPublicAccessBlock",
  DELETE: "DeleteAccountPublicAccessBlock",
};
const S3_CONTROL_PATH = "/v20180820/";

/**
 * An S3 Control request: a `/v20180820/` path sent with `x-amz-account-id` (as every SDK sends
 * them) or to an `s3-control` host. A bucket named `v20180820` is still reached path-style
 * without that header.
 */
export function isS3ControlRequest(path: string, headers: Record<string, string>, host: string): boolean {
  if (!path.startsWith(S3_CONTROL_PATH)) return false;
  return headers["x-amz-account-id"] !== undefined || /(^|\.)s3-control[.-]/i.test(host);
}

/** Bucket sub-resources (`?versioning` …) and the operation each method is; others answer NotImplemented. */
const BUCKET_SUBRESOURCES: Record<string, Partial<Record<string, S3Operation>>> = {
  versioning: { GET: "GetBucketVersioning", PUT: "PutBucketVersioning" },
  encryption: { GET: "GetBucketEncryption", PUT: "PutBucketEncryption", DELETE: "DeleteBucketEncryption" },
  publicAccessBlock: { GET: "GetPublicAccessBlock", PUT: "PutPublicAccessBlock", DELETE: "DeletePublicAccessBlock" },
  ownershipControls: { GET: "GetBucketOwnershipControls", PUT: "PutBucketOwnershipControls", DELETE: "DeleteBucketOwnershipControls" },
  tagging: { GET: "GetBucketTagging", PUT: "PutBucketTagging", DELETE: "DeleteBucketTagging" },
  acl: { GET: "GetBucketAcl", PUT: "PutBucketAcl" },
  logging: { GET: "GetBucketLogging" },
  notification: { GET: "GetBucketNotificationConfiguration" },
  lifecycle: { GET: "GetBucketLifecycleConfiguration" },
  "object-lock": { GET: "GetObjectLockConfiguration", PUT: "PutObjectLockConfiguration" },
  replication: { GET: "GetBucketReplication" },
  versions: { GET: "ListObjectVersions" },
  delete: { POST: "DeleteObjects" },
};

/** Object sub-resources and the operation each method is. */
const OBJECT_SUBRESOURCES: Record<string, Partial<Record<string, S3Operation>>> = {
  acl: { GET: "GetObjectAcl", PUT: "PutObjectAcl" },
  tagging: { GET: "GetObjectTagging", PUT: "PutObjectTagging", DELETE: "DeleteObjectTagging" },
  retention: { GET: "GetObjectRetention", PUT: "PutObjectRetention" },
  "legal-hold": { GET: "GetObjectLegalHold", PUT: "PutObjectLegalHold" },
};

/** Sub-resources of S3 that localfargate does not implement: asked for, they answer NotImplemented. */
const UNSUPPORTED_SUBRESOURCES = [
  "acl",
  "policyStatus",
  "tagging",
  "versioning",
  "uploads",
  "uploadId",
  "partNumber",
  "cors",
  "lifecycle",
  "website",
  "logging",
  "notification",
  "replication",
  "encryption",
  "object-lock",
  "retention",
  "legal-hold",
  "restore",
  "select",
  "torrent",
  "accelerate",
  "analytics",
  "inventory",
  "metrics",
  "intelligent-tiering",
  "ownershipControls",
  "publicAccessBlock",
  "requestPayment",
  "attributes",
  "renameObject",
  "metadataConfiguration",
  "session",
];

export function notImplemented(): ServiceError {
  return new ServiceError("NotImplemented", "A header you provided implies functionality that is not implemented", 501);
}

function methodNotAllowed(): ServiceError {
  return new ServiceError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405);
}

/** zlib.crc32 exists from Node 20.15; without it CRC32 checksums are not verified. */
const zlibCrc32 = (zlib as unknown as { crc32?: (data: Buffer) => number }).crc32;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The bucket named by the Host header (virtual-hosted-style), if any: `<bucket>.s3.<...>`,
 * `<bucket>.s3-<...>`, `<bucket>.localhost`, `<bucket>.localhost.localstack.cloud`; for other
 * names `<bucket>.<rest>` when `isBucket(<bucket>)` or the request creates it (PUT /).
 * IP addresses and plain `localhost` are path-style.
 */
export function virtualHostBucket(host: string, isBucket: (name: string) => boolean, creating: boolean): string | undefined {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) return undefined;
  h = h.replace(/:\d+$/, "").replace(/\.$/, "");
  if (h === "" || h === "localhost" || IPV4.test(h) || !h.includes(".")) return undefined;
  const s3 = /^(.+?)\.s3(?:[.-][^]*)?\.(?:amazonaws\.com(?:\.cn)?|localhost(?:\.localstack\.cloud)?)$/.exec(h) ?? /^(.+?)\.s3\.[^]+$/.exec(h);
  if (s3) return s3[1];
  if (/^s3[.-]/.test(h) || h === "localhost.localstack.cloud") return undefined;
  const local = /^(.+)\.localhost(?:\.localstack\.cloud)?$/.exec(h);
  if (local) return local[1];
  const first = h.slice(0, h.indexOf("."));
  if (isBucket(first) || creating) return first;
  return undefined;
}

function headerMap(req: RestHttpRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(",") : v;
  }
  return out;
}

function uriDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ServiceError("InvalidURI", "Couldn't parse the specified URI.", 400);
  }
}

/**
 * Removes aws-chunked framing: `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0…\r\n`
 * followed by optional trailers (`x-amz-checksum-crc32:…\r\n`) and a final `\r\n`.
 */
export function decodeAwsChunked(body: Buffer, decodedLength?: number): { data: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  const bad = () => new ServiceError("IncompleteBody", "The request body terminated unexpectedly", 400);
  for (;;) {
    const eol = body.indexOf("\r\n", pos);
    if (eol < 0) throw bad();
    const header = body.subarray(pos, eol).toString("latin1");
    const sizeText = header.split(";")[0].trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw bad();
    const size = parseInt(sizeText, 16);
    pos = eol + 2;
    if (size === 0) break;
    if (pos + size > body.length) throw bad();
    parts.push(body.subarray(pos, pos + size));
    pos += size;
    if (body.subarray(pos, pos + 2).toString("latin1") !== "\r\n") throw bad();
    pos += 2;
  }
  // Trailers until an empty line (or the end of the body).
  while (pos < body.length) {
    const eol = body.indexOf("\r\n", pos);
    const line = body.subarray(pos, eol < 0 ? body.length : eol).toString("latin1");
    pos = eol < 0 ? body.length : eol + 2;
    if (line === "") break;
    const c = line.indexOf(":");
    if (c > 0) trailers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  const data = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  if (decodedLength !== undefined && Number.isFinite(decodedLength) && data.length !== decodedLength) {
    throw new ServiceError("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header", 400);
  }
  return { data, trailers };
}

/** Verifies the flexible checksums we can compute (CRC32, SHA-1, SHA-256), from headers or trailers. */
export function checkChecksums(body: Buffer, fields: Record<string, string>): void {
  const checks: [string, string, () => string | undefined][] = [
    ["x-amz-checksum-crc32", "CRC32", () => (typeof zlibCrc32 === "function" ? u32(zlibCrc32(body)) : undefined)],
    ["x-amz-checksum-sha1", "SHA1", () => createHash("sha1").update(body).digest("base64")],
    ["x-amz-checksum-sha256", "SHA256", () => createHash("sha256").update(body).digest("base64")],
  ];
  for (const [field, name, compute] of checks) {
    const given = fields[field];
    if (given === undefined) continue;
    const actual = compute();
    if (actual !== undefined && actual !== given.trim()) {
      throw new ServiceError("BadDigest", `The ${name} you specified did not match the calculated checksum.`, 400);
    }
  }
}

function u32(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b.toString("base64");
}

export function isChunked(headers: Record<string, string>): boolean {
  const enc = (headers["content-encoding"] ?? "")
    .toLowerCase()
    .split(",")
    .map((s) => s.trim());
  const sha = headers["x-amz-content-sha256"] ?? "";
  return enc.includes("aws-chunked") || sha.startsWith("STREAMING-");
}

export function decodeS3Request(req: RestHttpRequest, isBucket: (name: string) => boolean): { operation: S3Operation; input: S3Input } {
  const headers = headerMap(req);
  const method = req.method.toUpperCase();
  const query: Record<string, string> = {};
  for (const [k, v] of req.query) if (!(k in query)) query[k] = v;
  const host = headers.host ?? req.host;

  const rawPath = req.path || "/";
  if (isS3ControlRequest(rawPath, headers, host)) return decodeS3ControlRequest(req, method, rawPath, headers, host, query);
  const creating = method === "PUT" && (rawPath === "/" || rawPath === "");
  let bucket = virtualHostBucket(host, isBucket, creating);
  let keyPart: string;
  if (bucket !== undefined) {
    keyPart = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath;
  } else {
    const p = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath;
    const slash = p.indexOf("/");
    const b = slash >= 0 ? p.slice(0, slash) : p;
    bucket = b === "" ? undefined : uriDecode(b);
    keyPart = slash >= 0 ? p.slice(slash + 1) : "";
  }
  const key = keyPart === "" ? undefined : uriDecode(keyPart);
  if (key !== undefined && Buffer.byteLength(key) > 1024) throw new ServiceError("KeyTooLongError", "Your key is too long", 400);

  let configOperation: S3Operation | undefined;
  if (bucket !== undefined) {
    for (const [sub, ops] of Object.entries(key === undefined ? BUCKET_SUBRESOURCES : OBJECT_SUBRESOURCES)) {
      if (sub in query) {
        configOperation = ops[method];
        if (!configOperation) throw notImplemented();
        break;
      }
    }
  }
  if (!configOperation) for (const sub of UNSUPPORTED_SUBRESOURCES) if (sub in query) throw notImplemented();

  let body = req.body;
  let trailers: Record<string, string> = {};
  if (isChunked(headers) && body.length > 0) {
    const declared = headers["x-amz-decoded-content-length"];
    ({ data: body, trailers } = decodeAwsChunked(body, declared !== undefined ? Number(declared) : undefined));
  }
  if (method === "PUT" || method === "POST") checkChecksums(body, { ...headers, ...trailers });
  const Metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.startsWith("x-amz-meta-")) Metadata[k.slice(11)] = v;
  const input: S3Input = { Bucket: bucket, Key: key, Host: host, Body: body, query, headers, Metadata };

  let operation: S3Operation;
  if (configOperation) {
    operation = configOperation;
  } else if (bucket === undefined) {
    if (method !== "GET") throw methodNotAllowed();
    operation = "ListBuckets";
  } else if (key === undefined && "policy" in query) {
    if (method === "PUT") operation = "PutBucketPolicy";
    else if (method === "GET") operation = "GetBucketPolicy";
    else if (method === "DELETE") operation = "DeleteBucketPolicy";
    else throw methodNotAllowed();
  } else if (key === undefined) {
    switch (method) {
      case "PUT":
        operation = "CreateBucket";
        break;
      case "DELETE":
        operation = "DeleteBucket";
        break;
      case "HEAD":
        operation = "HeadBucket";
        break;
      case "GET":
        operation = "location" in query ? "GetBucketLocation" : query["list-type"] === "2" ? "ListObjectsV2" : "ListObjects";
        break;
      case "POST":
        throw notImplemented();
      default:
        throw methodNotAllowed();
    }
  } else {
    switch (method) {
      case "GET":
        operation = "GetObject";
        break;
      case "HEAD":
        operation = "HeadObject";
        break;
      case "PUT":
        if (headers["x-amz-copy-source"] !== undefined) throw notImplemented();
        operation = "PutObject";
        break;
      case "DELETE":
        operation = "DeleteObject";
        break;
      case "POST":
        throw notImplemented();
      default:
        throw methodNotAllowed();
    }
  }
  return { operation, input };
}

/** The S3 Control operation a request is: only the account's Block Public Access is here; others are NotImplemented. */
function decodeS3ControlRequest(
  req: RestHttpRequest,
  method: string,
  rawPath: string,
  headers: Record<string, string>,
  host: string,
  query: Record<string, string>,
): { operation: S3Operation; input: S3Input } {
  if (rawPath !== "/v20180820/configuration/publicAccessBlock") throw notImplemented();
  const operation = ACCOUNT_PUBLIC_ACCESS_BLOCK[method];
  if (!operation) throw methodNotAllowed();
  let body = req.body;
  if (isChunked(headers) && body.length > 0) {
    const declared = headers["x-amz-decoded-content-length"];
    let trailers: Record<string, string>;
    ({ data: body, trailers } = decodeAwsChunked(body, declared !== undefined ? Number(declared) : undefined));
    checkChecksums(body, { ...headers, ...trailers });
  } else if (method === "PUT") {
    checkChecksums(body, headers);
  }
  return { operation, input: { Host: host, Body: body, query, headers, Metadata: {} } };
}

/** What the S3 handlers return: status, headers and an XML document or raw body. */
export interface S3Output {
  status?: number;
  headers?: Record<string, string>;
  xml?: { root: string; body: import("./xml.ts").XmlNode; xmlns?: string };
  body?: Buffer;
}

export function encodeS3Output(output: S3Output, ctx: RequestContext): RestHttpResponse {
  const headers: Record<string, string> = { ...requestIdHeaders(ctx.requestId), ...(output.headers ?? {}) };
  let body: Buffer = Buffer.alloc(0);
  if (output.xml) {
    body = xmlDocument(output.xml.root, output.xml.body, output.xml.xmlns);
    headers["content-type"] = "application/xml";
  } else if (output.body) {
    body = output.body;
  }
  if (headers["content-length"] === undefined) headers["content-length"] = String(body.length);
  return { status: output.status ?? 200, headers, body };
}

export function requestIdHeaders(requestId: string): Record<string, string> {
  const hex = requestId.replace(/-/g, "").toUpperCase().slice(0, 16);
  return {
    "x-amz-request-id": hex,
    "x-amz-id-2": createHash("sha256").update(requestId).digest("base64"),
    server: "AmazonS3",
  };
}

const PRESIGNED_TIME_MESSAGES = new Set(["Request has expired", "Request is not valid yet"]);

/** The platform's JSON-family auth errors, as S3 reports them. */
function toS3Error(err: ServiceError): ServiceError {
  if (err instanceof S3Error) return err;
  switch (err.code) {
    case "MissingAuthenticationTokenException":
    case "MissingAuthenticationToken":
    case "AccessDeniedException":
    case "AccessDenied":
      // An expired (or not yet valid) presigned URL keeps its own message.
      if (err.code === "AccessDenied" && PRESIGNED_TIME_MESSAGES.has(err.message)) return err;
      return new ServiceError("AccessDenied", "Access Denied", 403);
    case "UnrecognizedClientException":
    case "InvalidClientTokenId":
      return new ServiceError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403);
    case "InvalidSignatureException":
    case "SignatureDoesNotMatch":
      if (/Signature (expired|not yet current)/.test(err.message)) {
        return new ServiceError("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.", 403);
      }
      return new ServiceError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", 403);
    case "IncompleteSignatureException":
    case "IncompleteSignature":
      return new ServiceError("AuthorizationHeaderMalformed", err.message || "The authorization header is malformed.", 400);
    case "ExpiredTokenException":
    case "ExpiredToken":
      return new ServiceError("ExpiredToken", "The provided token has expired.", 400);
    case "InternalFailure":
      return new ServiceError("InternalError", "We encountered an internal error. Please try again.", 500);
    case "UnknownOperationException":
      return notImplemented();
    case "SerializationException":
    case "ValidationException":
      return new ServiceError("InvalidArgument", err.message, 400);
    default:
      return err;
  }
}

export function encodeS3Error(e: ServiceError, requestId: string, _req: RestHttpRequest): RestHttpResponse {
  const err = toS3Error(e);
  let inner = `<Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message>`;
  for (const [k, v] of Object.entries(err.extra ?? {})) if (v !== undefined && v !== null) inner += `<${k}>${xmlEscape(String(v))}</${k}>`;
  const ids = requestIdHeaders(requestId);
  inner += `<RequestId>${ids["x-amz-request-id"]}</RequestId><HostId>${xmlEscape(ids["x-amz-id-2"])}</HostId>`;
  const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Error>${inner}</Error>`);
  const extraHeaders = err instanceof S3Error ? err.headers : {};
  return { status: err.status, headers: { ...extraHeaders, ...ids, "content-type": "application/xml", "content-length": String(body.length) }, body };
}
