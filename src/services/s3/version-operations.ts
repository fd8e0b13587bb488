/**
 * ListObjectVersions and DeleteObjects: every version and delete marker of a bucket, one page at
 * a time (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html), and the
 * multi-object delete (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html).
 */
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { childElements, malformedXml, rootOf, textOf } from "./bucket-config.ts";
import { iso, objectArn, ownerNode, pick, s3RequestParameters } from "./common.ts";
import { keyEncoder, maxKeys } from "./list-operations.ts";
import { checkContentMd5 } from "./object-operations.ts";
import { bypassCheck, isLocked } from "./object-lock.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import { compareKeys, firstAfter, firstAtLeast, firstPastPrefix, isValidVersionId, type ObjectMeta, type S3Storage } from "./storage.ts";
import { authorizedOnBucket, existingBucket, resolveBucket, type BucketTarget } from "./target.ts";
import { S3_XMLNS, xmlChildren, type XmlNode } from "./xml.ts";

interface VersionsPage {
  entries: { meta: ObjectMeta; latest: boolean }[];
  prefixes: string[];
  truncated: boolean;
  nextKey?: string;
  nextVersionId?: string;
}

/** One page of versions, keys in S3's order and each key's versions newest first. */
function versionsPage(storage: S3Storage, bucket: string, prefix: string, delimiter: string, keyMarker: string, versionIdMarker: string | undefined, max: number): VersionsPage {
  const keys = storage.sortedVersionKeys(bucket);
  let i = prefix ? firstAtLeast(keys, prefix) : 0;
  if (keyMarker) i = Math.max(i, versionIdMarker !== undefined ? firstAtLeast(keys, keyMarker) : firstAfter(keys, keyMarker));
  const page: VersionsPage = { entries: [], prefixes: [], truncated: false };
  let count = 0;
  let lastPrefix: string | undefined;
  for (; i < keys.length; i++) {
    const k = keys[i];
    if (!k.startsWith(prefix)) break;
    let common: string | undefined;
    if (delimiter) {
      const d = k.indexOf(delimiter, prefix.length);
      if (d >= 0) common = k.slice(0, d + delimiter.length);
    }
    if (common !== undefined) {
      if (common === lastPrefix || (keyMarker && compareKeys(common, keyMarker) <= 0)) {
        i = firstPastPrefix(keys, common) - 1;
        continue;
      }
      if (count >= max) {
        page.truncated = true;
        break;
      }
      page.prefixes.push(common);
      lastPrefix = common;
      page.nextKey = common;
      page.nextVersionId = undefined;
      count++;
      continue;
    }
    const versions = storage.versions(bucket, k);
    let start = 0;
    if (k === keyMarker && versionIdMarker !== undefined) {
      const at = versions.findIndex((v) => v.versionId === versionIdMarker);
      start = at >= 0 ? at + 1 : versions.length;
    }
    for (let j = start; j < versions.length; j++) {
      if (count >= max) {
        page.truncated = true;
        return page;
      }
      page.entries.push({ meta: versions[j], latest: j === 0 });
      page.nextKey = k;
      page.nextVersionId = versions[j].versionId;
      count++;
    }
  }
  return page;
}

function entryXml(e: { meta: ObjectMeta; latest: boolean }, enc: (s: string) => string, owner: string): string {
  const m = e.meta;
  if (m.deleteMarker) {
    const node: XmlNode = { Key: enc(m.key), VersionId: m.versionId, IsLatest: e.latest, LastModified: iso(m.lastModified), Owner: ownerNode(owner) };
    return `<DeleteMarker>${xmlChildren(node)}</DeleteMarker>`;
  }
  const node: XmlNode = {
    ETag: m.etag,
    Size: m.size,
    StorageClass: "STANDARD",
    Key: enc(m.key),
    VersionId: m.versionId,
    IsLatest: e.latest,
    LastModified: iso(m.lastModified),
    Owner: ownerNode(owner),
  };
  return `<Version>${xmlChildren(node)}</Version>`;
}

export function listObjectVersionsOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly: true,
    dataEvent: true,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket("s3:ListBucketVersions"),
    handler: function listObjectVersions(_ctx, input, target) {
      const b = existingBucket(target);
      const q = input.query;
      const max = maxKeys(q);
      const { url, enc } = keyEncoder(q);
      const prefix = q.prefix ?? "";
      const delimiter = q.delimiter ?? "";
      const keyMarker = q["key-marker"] ?? "";
      const versionIdMarker = q["version-id-marker"] === "" ? undefined : q["version-id-marker"];
      if (versionIdMarker !== undefined) {
        if (!keyMarker) {
          throw new ServiceError("InvalidArgument", "A version-id marker cannot be specified without a key marker.", 400, {
            extra: { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker },
          });
        }
        if (!isValidVersionId(versionIdMarker)) {
          throw new ServiceError("InvalidArgument", "Invalid version id specified", 400, { extra: { ArgumentName: "version-id-marker", ArgumentValue: versionIdMarker } });
        }
      }
      const page = versionsPage(storage, b.name, prefix, delimiter, keyMarker, versionIdMarker, max);
      const head: XmlNode = {
        Name: b.name,
        Prefix: enc(prefix),
        KeyMarker: enc(keyMarker),
        VersionIdMarker: versionIdMarker ?? "",
        ...(page.truncated && page.nextKey !== undefined ? { NextKeyMarker: enc(page.nextKey) } : {}),
        ...(page.truncated && page.nextVersionId !== undefined ? { NextVersionIdMarker: page.nextVersionId } : {}),
        MaxKeys: max,
        ...(delimiter ? { Delimiter: enc(delimiter) } : {}),
        IsTruncated: page.truncated,
        ...(url ? { EncodingType: "url" } : {}),
      };
      let inner = xmlChildren(head);
      for (const e of page.entries) inner += entryXml(e, enc, b.ownerAccountId);
      inner += xmlChildren({ CommonPrefixes: page.prefixes.map((p) => ({ Prefix: enc(p) })) });
      const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<ListVersionsResult xmlns="${S3_XMLNS}">${inner}</ListVersionsResult>`);
      return { headers: { "content-type": "application/xml" }, body };
    },
    audit: {
      requestParameters: (input) =>
        s3RequestParameters(input, { versions: "", ...pick(input.query, ["prefix", "delimiter", "key-marker", "version-id-marker", "max-keys", "encoding-type"]) }),
    },
  });
}

const MAX_DELETE_OBJECTS = 1000;
/** S3's limit on a key (KeyTooLongError), as for a single object. */
const MAX_KEY_BYTES = 1024;

interface DeleteRequest {
  quiet: boolean;
  objects: { key: string; versionId?: string }[];
}

/** The `<Delete>` document: 1 to 1000 objects, each with a key. */
function parseDelete(body: Buffer): DeleteRequest {
  const root = rootOf(body, "Delete");
  const quiet = textOf(root, "Quiet");
  if (quiet !== undefined && quiet !== "true" && quiet !== "false") throw malformedXml();
  const objects = childElements(root, "Object").map((o) => {
    const key = textOf(o, "Key");
    if (key === undefined || key === "") throw malformedXml();
    const versionId = textOf(o, "VersionId");
    return { key, ...(versionId !== undefined ? { versionId } : {}) };
  });
  if (objects.length === 0 || objects.length > MAX_DELETE_OBJECTS) throw malformedXml();
  return { quiet: quiet === "true", objects };
}

interface DeleteTarget extends BucketTarget {
  request: DeleteRequest;
  /** indexes of the objects for which `x-amz-bypass-governance-retention` is asked and allowed (object-lock.ts) */
  bypass: Set<number>;
  /** indexes of the objects the caller may not delete */
  refused: Set<number>;
}

export function deleteObjectsOperation(storage: S3Storage) {
  return defineOperation<S3Input, S3Output, DeleteTarget>({
    readOnly: false,
    dataEvent: true,
    resolve(ctx, input) {
      const target = resolveBucket(ctx, storage, input);
      const h = input.headers;
      if (h["content-md5"] === undefined && !Object.keys(h).some((k) => k.startsWith("x-amz-checksum-") && k !== "x-amz-checksum-type") && !h["x-amz-trailer"]) {
        throw new ServiceError("InvalidRequest", "Missing required header for this request: Content-MD5", 400);
      }
      checkContentMd5(h["content-md5"], input.Body);
      return { ...target, request: parseDelete(input.Body), refused: new Set<number>(), bypass: new Set<number>() };
    },
    // Every named object is authorized on its own: one the caller may not delete gets an
    // AccessDenied entry and the others are deleted.
    authorize: (_ctx, input, target) => [
      ...target.request.objects.map((o, i) => ({
        action: o.versionId !== undefined ? "s3:DeleteObjectVersion" : "s3:DeleteObject",
        resource: objectArn(target.name, o.key),
        itemDenied: () => target.refused.add(i),
      })),
      ...target.request.objects.flatMap((o, i) => {
        const flag = { bypass: false };
        const checks = bypassCheck(input, objectArn(target.name, o.key), flag);
        if (flag.bypass) target.bypass.add(i);
        return checks.map((c) => ({ ...c, itemDenied: () => target.bypass.delete(i) }));
      }),
    ],
    handler: function deleteObjects(ctx, _input, target) {
      const b = existingBucket(target);
      let inner = "";
      for (const [i, o] of target.request.objects.entries()) {
        if (target.refused.has(i)) {
          const error: XmlNode = { Key: o.key, ...(o.versionId !== undefined ? { VersionId: o.versionId } : {}), Code: "AccessDenied", Message: "Access Denied" };
          inner += `<Error>${xmlChildren(error)}</Error>`;
          continue;
        }
        if (Buffer.byteLength(o.key) > MAX_KEY_BYTES) {
          inner += `<Error>${xmlChildren({ Key: o.key, Code: "KeyTooLongError", Message: "Your key is too long" })}</Error>`;
          continue;
        }
        if (o.versionId !== undefined && !isValidVersionId(o.versionId)) {
          const error: XmlNode = { Key: o.key, VersionId: o.versionId, Code: "NoSuchVersion", Message: "The specified version does not exist." };
          inner += `<Error>${xmlChildren(error)}</Error>`;
          continue;
        }
        const deleted: XmlNode = { Key: o.key };
        if (o.versionId !== undefined) {
          const version = storage.version(b.name, o.key, o.versionId);
          if (version && isLocked(version, ctx.now, target.bypass.has(i))) {
            const error: XmlNode = { Key: o.key, VersionId: o.versionId, Code: "AccessDenied", Message: "Access Denied because object protected by object lock." };
            inner += `<Error>${xmlChildren(error)}</Error>`;
            continue;
          }
          const { removed, writes } = storage.deleteVersion(b.name, o.key, o.versionId);
          ctx.writes.push(...writes);
          deleted.VersionId = o.versionId;
          if (removed?.deleteMarker) {
            deleted.DeleteMarker = true;
            deleted.DeleteMarkerVersionId = o.versionId;
          }
        } else {
          const { marker, writes } = storage.deleteObject(b.name, o.key, ctx.now);
          ctx.writes.push(...writes);
          if (marker) {
            deleted.DeleteMarker = true;
            deleted.DeleteMarkerVersionId = marker.versionId;
          }
        }
        if (!target.request.quiet) inner += `<Deleted>${xmlChildren(deleted)}</Deleted>`;
      }
      const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult xmlns="${S3_XMLNS}">${inner}</DeleteResult>`);
      return { headers: { "content-type": "application/xml" }, body };
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, { delete: "" }) },
  });
}
