/** ListObjects and ListObjectsV2: one page of a bucket's keys, rolled up at a delimiter. */
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { iso, ownerNode, pick, s3RequestParameters } from "./common.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import { compareKeys, firstAfter, firstAtLeast, firstPastPrefix, type ObjectMeta, type S3Storage } from "./storage.ts";
import { authorizedOnBucket, existingBucket, resolveBucket, type BucketTarget } from "./target.ts";
import type { XmlNode } from "./xml.ts";

export function maxKeys(q: Record<string, string>): number {
  const raw = q["max-keys"];
  if (raw === undefined || raw === "") return 1000;
  if (!/^-?\d+$/.test(raw) || Number(raw) > 2147483647)
    throw new ServiceError("InvalidArgument", "Provided max-keys not an integer or within integer range", 400, { extra: { ArgumentName: "max-keys", ArgumentValue: raw } });
  const n = Number(raw);
  if (n < 0)
    throw new ServiceError("InvalidArgument", "Argument maxKeys must be an integer between 0 and 2147483647", 400, { extra: { ArgumentName: "maxKeys", ArgumentValue: raw } });
  return Math.min(n, 1000);
}

/** S3's encoding-type=url: like encodeURIComponent, keeping "/" readable. */
function urlEncodeKey(s: string): string {
  return encodeURIComponent(s)
    .replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The key encoder encoding-type asks for (only "url" exists). */
export function keyEncoder(q: Record<string, string>): { url: boolean; enc: (s: string) => string } {
  const url = q["encoding-type"] === "url";
  if (q["encoding-type"] !== undefined && !url)
    throw new ServiceError("InvalidArgument", "Invalid Encoding Method specified in Request", 400, { extra: { ArgumentName: "encoding-type", ArgumentValue: q["encoding-type"] } });
  return { url, enc: url ? urlEncodeKey : (s: string) => s };
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
    ...(ownerId ? { Owner: ownerNode(ownerId) } : {}),
    StorageClass: "STANDARD",
  };
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

/** Both list operations: ListBucket on the bucket, which must exist and be the caller's to read. */
function listBucketAccess(storage: S3Storage) {
  return {
    readOnly: true,
    dataEvent: true,
    resolve: (ctx: Parameters<typeof resolveBucket>[0], input: S3Input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:ListBucket"),
  } as const;
}

/** What both list operations read from the query: page size, prefix, delimiter and key encoding. */
function listParams(input: S3Input, target: BucketTarget) {
  const q = input.query;
  return { b: existingBucket(target), q, max: maxKeys(q), prefix: q.prefix ?? "", delimiter: q.delimiter ?? "", ...keyEncoder(q) };
}

export function listObjectsOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    ...listBucketAccess(storage),
    handler: function listObjects(_ctx, input, target) {
      const { b, q, max, prefix, delimiter, url, enc } = listParams(input, target);
      const marker = q.marker ?? "";
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
    audit: { requestParameters: (input) => s3RequestParameters(input, pick(input.query, ["prefix", "delimiter", "marker", "max-keys", "encoding-type"])) },
  });
}

export function listObjectsV2Operation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    ...listBucketAccess(storage),
    handler: function listObjectsV2(_ctx, input, target) {
      const { b, q, max, prefix, delimiter, url, enc } = listParams(input, target);
      let after = q["start-after"] ?? "";
      const token = q["continuation-token"];
      if (token !== undefined) {
        const decoded = decodeContinuationToken(token, b.name);
        if (decoded === undefined)
          throw new ServiceError("InvalidArgument", "The continuation token provided is incorrect", 400, { extra: { ArgumentName: "continuation-token" } });
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
    audit: {
      requestParameters: (input) =>
        s3RequestParameters(input, pick(input.query, ["list-type", "prefix", "delimiter", "start-after", "continuation-token", "max-keys", "encoding-type", "fetch-owner"])),
    },
  });
}
