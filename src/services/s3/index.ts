/**
 * A minimal S3 (restXml): buckets and objects, enough for CloudTrail log delivery and for
 * `aws cloudtrail validate-logs` (GetBucketLocation, ListObjects, GetObject), plus the usual
 * object calls. Bucket-level calls are CloudTrail management events; object-level calls and
 * listings are data events (not in event history; delivered only to trails that select them).
 */
import { createHash } from "node:crypto";
import { ServiceError } from "../../kernel/errors.ts";
import { markDataEvent } from "../../audit/record.ts";
import type { AppContext, AuthCheck, CloudTrailResource, OperationDef, RequestContext, ServiceDef } from "../types.ts";
import { decodeS3Request, encodeS3Error, encodeS3Output, type S3Input, type S3Operation, type S3Output } from "./protocol.ts";
import { S3Storage, compareKeys, firstAfter, firstAtLeast, firstPastPrefix, type Bucket, type ObjectMeta, type PutObjectOptions } from "./storage.ts";
import { parseCreateBucketConfiguration, S3_XMLNS, xmlEscape, type XmlNode } from "./xml.ts";
import { defineServiceModule } from "../../kernel/service.ts";
import { fromLegacyService } from "../../kernel/legacy-operation.ts";

export { S3Storage, type Bucket, type ObjectMeta, type PutObjectOptions } from "./storage.ts";

/** What other services (CloudTrail delivery) use in-process: `app.find("s3")`. */
export interface S3Api {
  storage: S3Storage;
  bucket(name: string): Bucket | undefined;
}

export function s3Api(app: AppContext): S3Api | undefined {
  return app.find("s3");
}

const err = {
  noSuchBucket: (b: string) => new ServiceError("NoSuchBucket", "The specified bucket does not exist", 404, { extra: { BucketName: b } }),
  noSuchKey: (k: string) => new ServiceError("NoSuchKey", "The specified key does not exist.", 404, { extra: { Key: k } }),
};

/** Bucket naming rules (general purpose buckets). */
export function validBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes("..") || name.includes(".-") || name.includes("-.")) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return false;
  if (name.startsWith("xn--") || name.startsWith("sthree-") || name.endsWith("-s3alias") || name.endsWith("--ol-s3")) return false;
  return true;
}

function canonicalUserId(accountId: string): string {
  return createHash("sha256").update(`localfargate-s3-owner:${accountId}`).digest("hex");
}

function owner(accountId: string): XmlNode {
  return { ID: canonicalUserId(accountId), DisplayName: accountId };
}

function iso(d: Date): string {
  return d.toISOString();
}

function maxKeys(q: Record<string, string>): number {
  const raw = q["max-keys"];
  if (raw === undefined || raw === "") return 1000;
  if (!/^-?\d+$/.test(raw) || Number(raw) > 2147483647) throw new ServiceError("InvalidArgument", "Provided max-keys not an integer or within integer range", 400, { extra: { ArgumentName: "max-keys", ArgumentValue: raw } });
  const n = Number(raw);
  if (n < 0) throw new ServiceError("InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647", 400, { extra: { ArgumentName: "maxKeys", ArgumentValue: raw } });
  return Math.min(n, 1000);
}

/** S3's encoding-type=url: like encodeURIComponent, keeping "/" readable. */
function urlEncodeKey(s: string): string {
  return encodeURIComponent(s).replace(/%2F/g, "/").replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

interface ListPage {
  contents: ObjectMeta[];
  prefixes: string[];
  truncated: boolean;
  /** the last key or common prefix returned */
  last?: string;
}

/** One page of a listing: keys after `after` under `prefix`, rolled up at `delimiter`. */
function listPage(storage: S3Storage, bucket: string, prefix: string, delimiter: string, after: string, max: number): ListPage {
  const keys = storage.sortedKeys(bucket);
  // Keys sharing a prefix are contiguous in byte order, starting at the first key >= prefix.
  let i = prefix ? firstAtLeast(keys, prefix) : 0;
  if (after) i = Math.max(i, firstAfter(keys, after));
  const page: ListPage = { contents: [], prefixes: [], truncated: false };
  for (; i < keys.length; i++) {
    const k = keys[i];
    if (!k.startsWith(prefix)) break;
    let common: string | undefined;
    if (delimiter) {
      const d = k.indexOf(delimiter, prefix.length);
      if (d >= 0) common = k.slice(0, d + delimiter.length);
    }
    // A common prefix already returned (or at/before the marker) swallows its keys: jump past them.
    if (common !== undefined && (common === page.last || (after && compareKeys(common, after) <= 0))) {
      i = firstPastPrefix(keys, common) - 1;
      continue;
    }
    if (page.contents.length + page.prefixes.length >= max) {
      page.truncated = true;
      break;
    }
    if (common !== undefined) {
      page.prefixes.push(common);
      page.last = common;
    } else {
      const meta = storage.head(bucket, k);
      if (meta) page.contents.push(meta);
      page.last = k;
    }
  }
  return page;
}

function contentsNode(o: ObjectMeta, enc: (s: string) => string, ownerId: string | undefined): XmlNode {
  return {
    Key: enc(o.key),
    LastModified: iso(o.lastModified),
    ETag: o.etag,
    Size: o.size,
    ...(ownerId ? { Owner: owner(ownerId) } : {}),
    StorageClass: "STANDARD",
  };
}

function objectHeaders(o: ObjectMeta): Record<string, string> {
  const h: Record<string, string> = {
    "last-modified": o.lastModified.toUTCString(),
    etag: o.etag,
    "content-type": o.contentType,
    "accept-ranges": "bytes",
  };
  if (o.contentEncoding) h["content-encoding"] = o.contentEncoding;
  if (o.contentDisposition) h["content-disposition"] = o.contentDisposition;
  if (o.contentLanguage) h["content-language"] = o.contentLanguage;
  if (o.cacheControl) h["cache-control"] = o.cacheControl;
  if (o.expires) h.expires = o.expires;
  for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v;
  return h;
}

/** Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range; undefined = whole object. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) throw rangeError(size);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== "" && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw rangeError(size);
  return { start, end };
}

function rangeError(size: number): ServiceError {
  return new ServiceError("InvalidRange", "The requested range is not satisfiable", 416, { extra: { RangeRequested: "", ActualObjectSize: size } });
}

declare module "../../kernel/context.ts" {
  interface Provided {
    s3: S3Api;
  }
}

export const s3Module = defineServiceModule({
  name: "s3",
  needs: [],
  create(app) {
    const { api, def } = createS3Service(app);
    return { services: [fromLegacyService(def)], provides: { s3: api } };
  },
});

function createS3Service(app: AppContext): { api: S3Api; def: ServiceDef } {
  const storage = new S3Storage(app.store);
  const api: S3Api = { storage, bucket: (n) => storage.bucket(n) };

  const bucketArn = (b: string) => `arn:aws:s3:::${b}`;
  const objectArn = (b: string, k: string) => `arn:aws:s3:::${b}/${k}`;

  function need(input: S3Input): Bucket {
    const b = storage.bucket(input.Bucket!);
    if (!b) throw err.noSuchBucket(input.Bucket!);
    return b;
  }

  /** The bucket's owner decides; S3 has no bucket policies here, so other accounts are refused. */
  function check(ctx: RequestContext, action: string, resource: string, bucketName?: string): AuthCheck {
    const b = bucketName ? storage.bucket(bucketName) : undefined;
    if (b && ctx.principal.type !== "AWSService" && b.ownerAccountId !== ctx.principal.accountId) {
      throw new ServiceError("AccessDenied", "Access Denied", 403);
    }
    return { action, resource };
  }

  function bucketResources(ctx: RequestContext, name: string): void {
    const b = storage.bucket(name);
    ctx.audit.resources = [{ ARN: bucketArn(name), accountId: b?.ownerAccountId ?? ctx.principal.accountId, type: "AWS::S3::Bucket" }];
  }

  function objectResources(ctx: RequestContext, name: string, key: string): void {
    const b = storage.bucket(name);
    const res: CloudTrailResource[] = [
      { type: "AWS::S3::Object", ARN: objectArn(name, key) } as CloudTrailResource,
      { accountId: b?.ownerAccountId ?? ctx.principal.accountId, type: "AWS::S3::Bucket", ARN: bucketArn(name) },
    ];
    ctx.audit.resources = res;
    markDataEvent(ctx);
  }

  const params = (input: S3Input, extra: Record<string, unknown> = {}) => ({
    ...(input.Bucket !== undefined ? { bucketName: input.Bucket } : {}),
    Host: input.Host,
    ...(input.Key !== undefined ? { key: input.Key } : {}),
    ...extra,
  });

  const op = (def: {
    readOnly: boolean;
    authorize: (ctx: RequestContext, input: S3Input) => AuthCheck;
    handler: (ctx: RequestContext, input: S3Input) => S3Output;
    requestParameters?: (input: S3Input) => unknown;
  }): OperationDef<S3Input, S3Output> => ({
    readOnly: def.readOnly,
    authorize: def.authorize,
    handler: def.handler,
    requestParameters: def.requestParameters ?? ((input) => params(input)),
  });

  const operations: Record<S3Operation, OperationDef<S3Input, S3Output>> = {
    ListBuckets: op({
      readOnly: true,
      authorize: () => ({ action: "s3:ListAllMyBuckets", resource: "*" }),
      handler: (ctx) => {
        const mine = [...storage.buckets.values()].filter((b) => b.ownerAccountId === ctx.principal.accountId).sort((a, b) => (a.name < b.name ? -1 : 1));
        return {
          xml: {
            root: "ListAllMyBucketsResult",
            body: {
              Owner: owner(ctx.principal.accountId),
              Buckets: { Bucket: mine.map((b) => ({ Name: b.name, CreationDate: iso(b.creationDate), BucketRegion: b.region })) },
            },
          },
        };
      },
    }),

    CreateBucket: op({
      readOnly: false,
      authorize: (ctx, input) => {
        bucketResources(ctx, input.Bucket!);
        // Another account's bucket of that name is BucketAlreadyExists, not AccessDenied.
        return check(ctx, "s3:CreateBucket", bucketArn(input.Bucket!));
      },
      requestParameters: (input) => {
        let cfg: { LocationConstraint?: string } | undefined;
        try {
          cfg = parseCreateBucketConfiguration(input.Body);
        } catch {
          cfg = undefined;
        }
        return params(input, cfg?.LocationConstraint ? { CreateBucketConfiguration: { LocationConstraint: cfg.LocationConstraint, xmlns: "http://s3.amazonaws.com/doc/2006-03-01/" } } : {});
      },
      handler: (ctx, input) => {
        const name = input.Bucket!;
        if (!validBucketName(name)) throw new ServiceError("InvalidBucketName", "The specified bucket is not valid.", 400, { extra: { BucketName: name } });
        let cfg: { LocationConstraint?: string } | undefined;
        try {
          cfg = parseCreateBucketConfiguration(input.Body);
        } catch {
          throw new ServiceError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", 400);
        }
        const constraint = cfg?.LocationConstraint;
        if (constraint === "us-east-1") {
          throw new ServiceError("InvalidLocationConstraint", "The specified location-constraint is not valid", 400, { extra: { LocationConstraint: constraint } });
        }
        const region = constraint ?? "us-east-1";
        if (region !== ctx.region) {
          throw new ServiceError(
            "IllegalLocationConstraintException",
            constraint === undefined
              ? "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."
              : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
            400,
          );
        }
        const existing = storage.bucket(name);
        if (existing) {
          if (existing.ownerAccountId !== ctx.principal.accountId) {
            throw new ServiceError("BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.", 409, { extra: { BucketName: name } });
          }
          // us-east-1 answers 200 to its owner re-creating a bucket; every other region 409.
          if (existing.region !== "us-east-1") {
            throw new ServiceError("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", 409, { extra: { BucketName: name } });
          }
          return { headers: { location: `/${name}` } };
        }
        ctx.writes.push(...storage.createBucket({ name, ownerAccountId: ctx.principal.accountId, region, creationDate: ctx.now }));
        return { headers: { location: region === "us-east-1" ? `/${name}` : `http://${name}.s3.amazonaws.com/` } };
      },
    }),

    DeleteBucket: op({
      readOnly: false,
      authorize: (ctx, input) => {
        bucketResources(ctx, input.Bucket!);
        return check(ctx, "s3:DeleteBucket", bucketArn(input.Bucket!), input.Bucket);
      },
      handler: (ctx, input) => {
        need(input);
        if (storage.objectCount(input.Bucket!) > 0) {
          throw new ServiceError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, { extra: { BucketName: input.Bucket } });
        }
        ctx.writes.push(...storage.deleteBucket(input.Bucket!));
        return { status: 204 };
      },
    }),

    HeadBucket: op({
      readOnly: true,
      authorize: (ctx, input) => {
        bucketResources(ctx, input.Bucket!);
        markDataEvent(ctx);
        return check(ctx, "s3:ListBucket", bucketArn(input.Bucket!), input.Bucket);
      },
      handler: (_ctx, input) => {
        const b = need(input);
        return { headers: { "x-amz-bucket-region": b.region } };
      },
    }),

    GetBucketLocation: op({
      readOnly: true,
      authorize: (ctx, input) => {
        bucketResources(ctx, input.Bucket!);
        return check(ctx, "s3:GetBucketLocation", bucketArn(input.Bucket!), input.Bucket);
      },
      requestParameters: (input) => params(input, { location: "" }),
      handler: (_ctx, input) => {
        const b = need(input);
        // <LocationConstraint> holds text: empty (null) for us-east-1.
        const text = b.region === "us-east-1" ? "" : b.region;
        const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_XMLNS}">${xmlEscape(text)}</LocationConstraint>`);
        return { headers: { "content-type": "application/xml" }, body };
      },
    }),

    ListObjects: op({
      readOnly: true,
      authorize: (ctx, input) => {
        bucketResources(ctx, input.Bucket!);
        markDataEvent(ctx);
        return check(ctx, "s3:ListBucket", bucketArn(input.Bucket!), input.Bucket);
      },
      requestParameters: (input) => params(input, pick(input.query, ["prefix", "delimiter", "marker", "max-keys", "encoding-type"])),
      handler: (_ctx, input) => {
        const b = need(input);
        const q = input.query;
        const max = maxKeys(q);
        const prefix = q.prefix ?? "";
        const delimiter = q.delimiter ?? "";
        const marker = q.marker ?? "";
        const url = q["encoding-type"] === "url";
        if (q["encoding-type"] !== undefined && !url) throw new ServiceError("InvalidArgument", "Invalid Encoding Method specified in Request", 400, { extra: { ArgumentName: "encoding-type", ArgumentValue: q["encoding-type"] } });
        const enc = url ? urlEncodeKey : (s: string) => s;
        const page = listPage(storage, b.name, prefix, delimiter, marker, max);
        return {
          xml: {
            root: "ListBucketResult",
            body: {
              Name: b.name,
              Prefix: enc(prefix),
              Marker: enc(marker),
              ...(page.truncated && delimiter && page.last ? { NextMarker: enc(page.last) } : {}),
              MaxKeys: max,
              ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
              IsTruncated: page.truncated,
              ...(url ? { EncodingType: "url" } : {}),
              Contents: page.contents.map((o) => contentsNode(o, enc, b.ownerAccountId)),
              CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
            },
          },
        };
      },
    }),

    ListObjectsV2: op({
      readOnly: true,
      authorize: (ctx, input) => {
        bucketResources(ctx, input.Bucket!);
        markDataEvent(ctx);
        return check(ctx, "s3:ListBucket", bucketArn(input.Bucket!), input.Bucket);
      },
      requestParameters: (input) => params(input, pick(input.query, ["list-type", "prefix", "delimiter", "start-after", "continuation-token", "max-keys", "encoding-type", "fetch-owner"])),
      handler: (_ctx, input) => {
        const b = need(input);
        const q = input.query;
        const max = maxKeys(q);
        const prefix = q.prefix ?? "";
        const delimiter = q.delimiter ?? "";
        const url = q["encoding-type"] === "url";
        if (q["encoding-type"] !== undefined && !url) throw new ServiceError("InvalidArgument", "Invalid Encoding Method specified in Request", 400, { extra: { ArgumentName: "encoding-type", ArgumentValue: q["encoding-type"] } });
        const enc = url ? urlEncodeKey : (s: string) => s;
        let after = q["start-after"] ?? "";
        const token = q["continuation-token"];
        if (token !== undefined) {
          const decoded = decodeContinuationToken(token, b.name);
          if (decoded === undefined) throw new ServiceError("InvalidArgument", "The continuation token provided is incorrect", 400, { extra: { ArgumentName: "continuation-token" } });
          after = decoded;
        }
        const page = listPage(storage, b.name, prefix, delimiter, after, max);
        const fetchOwner = q["fetch-owner"] === "true";
        return {
          xml: {
            root: "ListBucketResult",
            body: {
              Name: b.name,
              Prefix: enc(prefix),
              ...(q["start-after"] !== undefined ? { StartAfter: enc(q["start-after"]) } : {}),
              ...(token !== undefined ? { ContinuationToken: token } : {}),
              ...(page.truncated && page.last ? { NextContinuationToken: continuationToken(page.last, b.name) } : {}),
              KeyCount: page.contents.length + page.prefixes.length,
              MaxKeys: max,
              ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
              IsTruncated: page.truncated,
              ...(url ? { EncodingType: "url" } : {}),
              Contents: page.contents.map((o) => contentsNode(o, enc, fetchOwner ? b.ownerAccountId : undefined)),
              CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })),
            },
          },
        };
      },
    }),

    GetObject: op({
      readOnly: true,
      authorize: (ctx, input) => {
        objectResources(ctx, input.Bucket!, input.Key!);
        return check(ctx, "s3:GetObject", objectArn(input.Bucket!, input.Key!), input.Bucket);
      },
      handler: (_ctx, input) => {
        const b = need(input);
        const meta = storage.head(b.name, input.Key!);
        const body = meta ? storage.body(b.name, input.Key!) : undefined;
        if (!meta || !body) throw err.noSuchKey(input.Key!);
        const headers = objectHeaders(meta);
        applyResponseOverrides(headers, input.query);
        const range = parseRange(input.headers.range, meta.size);
        if (range) {
          headers["content-range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
          return { status: 206, headers, body: body.subarray(range.start, range.end + 1) };
        }
        return { headers, body };
      },
    }),

    HeadObject: op({
      readOnly: true,
      authorize: (ctx, input) => {
        objectResources(ctx, input.Bucket!, input.Key!);
        return check(ctx, "s3:GetObject", objectArn(input.Bucket!, input.Key!), input.Bucket);
      },
      handler: (_ctx, input) => {
        const b = need(input);
        const meta = storage.head(b.name, input.Key!);
        if (!meta) throw err.noSuchKey(input.Key!);
        const headers = objectHeaders(meta);
        headers["content-length"] = String(meta.size);
        return { headers };
      },
    }),

    PutObject: op({
      readOnly: false,
      authorize: (ctx, input) => {
        objectResources(ctx, input.Bucket!, input.Key!);
        return check(ctx, "s3:PutObject", objectArn(input.Bucket!, input.Key!), input.Bucket);
      },
      handler: (ctx, input) => {
        const b = need(input);
        const h = input.headers;
        const md5 = h["content-md5"];
        if (md5 !== undefined) {
          const given = Buffer.from(md5, "base64");
          if (given.length !== 16 || given.toString("base64") !== md5.trim()) throw new ServiceError("InvalidDigest", "The Content-MD5 you specified is not valid.", 400, { extra: { "Content-MD5": md5 } });
          const actual = createHash("md5").update(input.Body).digest();
          if (!actual.equals(given)) {
            throw new ServiceError("BadDigest", "The Content-MD5 you specified did not match what we received.", 400, { extra: { ExpectedDigest: md5, CalculatedDigest: actual.toString("base64") } });
          }
        }
        const contentEncoding = (h["content-encoding"] ?? "").split(",").map((s) => s.trim()).filter((s) => s && s.toLowerCase() !== "aws-chunked").join(",");
        const opts: PutObjectOptions = {
          contentType: h["content-type"],
          contentEncoding: contentEncoding || undefined,
          contentDisposition: h["content-disposition"],
          contentLanguage: h["content-language"],
          cacheControl: h["cache-control"],
          expires: h.expires,
          metadata: input.Metadata,
        };
        const { meta, writes } = storage.putObject(b.name, input.Key!, input.Body, ctx.now, opts);
        ctx.writes.push(...writes);
        return { headers: { etag: meta.etag } };
      },
    }),

    DeleteObject: op({
      readOnly: false,
      authorize: (ctx, input) => {
        objectResources(ctx, input.Bucket!, input.Key!);
        return check(ctx, "s3:DeleteObject", objectArn(input.Bucket!, input.Key!), input.Bucket);
      },
      handler: (ctx, input) => {
        need(input);
        ctx.writes.push(...storage.deleteObject(input.Bucket!, input.Key!));
        return { status: 204 };
      },
    }),
  };

  const def: ServiceDef = {
    name: "s3",
    signingName: "s3",
    iamPrefix: "s3",
    protocol: "rest",
    eventSource: "s3.amazonaws.com",
    rest: {
      decode: (req) => decodeS3Request(req, (n) => storage.bucket(n) !== undefined) as unknown as { operation: string; input: Record<string, unknown> },
      encodeOutput: (_operation, output, ctx) => encodeS3Output(output as S3Output, ctx),
      encodeError: encodeS3Error,
    },
    operations: operations as unknown as Record<string, OperationDef>,
  };
  return { api, def };
}

function pick(q: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (q[n] !== undefined) out[n] = q[n];
  return out;
}

function applyResponseOverrides(headers: Record<string, string>, q: Record<string, string>): void {
  const map: Record<string, string> = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
  };
  for (const [p, h] of Object.entries(map)) if (q[p] !== undefined) headers[h] = q[p];
}

function continuationToken(last: string, bucket: string): string {
  return Buffer.from(JSON.stringify({ b: bucket, k: last })).toString("base64url");
}

function decodeContinuationToken(token: string, bucket: string): string | undefined {
  try {
    const v = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { b?: unknown; k?: unknown };
    return v.b === bucket && typeof v.k === "string" ? v.k : undefined;
  } catch {
    return undefined;
  }
}
