/**
 * Bucket configurations security tools read: versioning, default encryption, Block Public
 * Access, Object Ownership and tags (each Put/Get, and Delete where S3 has one), and the reads of
 * ACLs, server access logging, lifecycle, replication and event notifications,
 * answered as S3 answers for a bucket that has none of them. A new bucket starts as S3 makes
 * one since April 2023: SSE-S3 default encryption, all four Block Public Access settings on and
 * Object Ownership BucketOwnerEnforced
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-overview.html).
 */
import type { Element } from "@xmldom/xmldom";
import type * as XmlDom from "@xmldom/xmldom";
import { lazyPackage } from "../../util/lazy-package.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { s3RequestParameters } from "./common.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import type { Bucket, S3Storage } from "./storage.ts";
import { authorizedOnBucket, existingBucket, resolveBucket, type BucketTarget } from "./target.ts";
import type { XmlNode } from "./xml.ts";

const xmldom = lazyPackage<typeof XmlDom>("@xmldom/xmldom");

/** A bucket's stored configurations by sub-resource; `null`: deleted (S3 answers "not found"). */
export type BucketConfigs = Partial<Record<ConfigName, XmlNode | null>>;

type ConfigName = "versioning" | "encryption" | "publicAccessBlock" | "ownershipControls" | "tagging";

export const malformedXml = () => new ServiceError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", 400);

/** The request body's root element, or MalformedXML (no DTDs or entities). */
export function rootOf(body: Buffer, name: string): Element {
  const text = body.toString("utf8").trim();
  if (text === "" || /<!DOCTYPE|<!ENTITY/i.test(text)) throw malformedXml();
  let failed = false;
  let root: Element | null = null;
  try {
    const doc = new (xmldom().DOMParser)({
      onError: (level) => {
        if (level !== "warning") failed = true;
      },
    }).parseFromString(text, "text/xml");
    root = doc.documentElement;
  } catch {
    failed = true;
  }
  if (failed || !root || root.localName !== name) throw malformedXml();
  return root;
}

export function childElements(el: Element, name?: string): Element[] {
  return Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1 && (name === undefined || (n as Element).localName === name));
}

export function textOf(el: Element, name: string): string | undefined {
  const c = childElements(el, name)[0];
  return c ? (c.textContent ?? "").trim() : undefined;
}

export function booleanOf(el: Element, name: string): boolean | undefined {
  const v = textOf(el, name);
  if (v === undefined) return undefined;
  if (v !== "true" && v !== "false") throw malformedXml();
  return v === "true";
}

function oneOf(value: string | undefined, allowed: string[]): string {
  if (value === undefined || !allowed.includes(value)) throw malformedXml();
  return value;
}

/** What a new bucket has (S3's defaults since April 2023). */
const DEFAULTS: Partial<Record<ConfigName, XmlNode>> = {
  encryption: { Rule: { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" }, BucketKeyEnabled: false } },
  publicAccessBlock: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
  ownershipControls: { Rule: { ObjectOwnership: "BucketOwnerEnforced" } },
};

/** A configuration's current value: set, default, or undefined when there is none. */
export function bucketConfig(b: Bucket, name: ConfigName): XmlNode | undefined {
  const v = b.configs?.[name];
  if (v === null) return undefined;
  return v ?? DEFAULTS[name];
}

interface ConfigSpec {
  root: string;
  parse(body: Buffer): XmlNode;
  /** the error S3 answers when the bucket has none; absent: an empty document */
  missing?: () => ServiceError;
  /** IAM actions (S3's are not named after the operations) */
  getAction: string;
  putAction: string;
}

const notFound = (code: string, message: string) => () => new ServiceError(code, message, 404);

const SPECS: Record<ConfigName, ConfigSpec> = {
  versioning: {
    root: "VersioningConfiguration",
    parse(body) {
      const el = rootOf(body, "VersioningConfiguration");
      const status = textOf(el, "Status");
      const mfa = textOf(el, "MfaDelete");
      return {
        ...(status !== undefined ? { Status: oneOf(status, ["Enabled", "Suspended"]) } : {}),
        ...(mfa !== undefined ? { MfaDelete: oneOf(mfa, ["Enabled", "Disabled"]) } : {}),
      };
    },
    getAction: "s3:GetBucketVersioning",
    putAction: "s3:PutBucketVersioning",
  },
  encryption: {
    root: "ServerSideEncryptionConfiguration",
    parse(body) {
      const el = rootOf(body, "ServerSideEncryptionConfiguration");
      const rules = childElements(el, "Rule");
      if (rules.length !== 1) throw malformedXml();
      const apply = childElements(rules[0], "ApplyServerSideEncryptionByDefault")[0];
      if (!apply) throw malformedXml();
      const algorithm = oneOf(textOf(apply, "SSEAlgorithm"), ["AES256", "aws:kms", "aws:kms:dsse"]);
      const keyId = textOf(apply, "KMSMasterKeyID");
      if (keyId !== undefined && algorithm === "AES256") {
        throw new ServiceError("InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse", 400);
      }
      const bucketKey = booleanOf(rules[0], "BucketKeyEnabled");
      return {
        Rule: {
          ApplyServerSideEncryptionByDefault: { SSEAlgorithm: algorithm, ...(keyId ? { KMSMasterKeyID: keyId } : {}) },
          BucketKeyEnabled: bucketKey ?? false,
        },
      };
    },
    getAction: "s3:GetEncryptionConfiguration",
    putAction: "s3:PutEncryptionConfiguration",
  },
  publicAccessBlock: {
    root: "PublicAccessBlockConfiguration",
    parse(body) {
      const el = rootOf(body, "PublicAccessBlockConfiguration");
      const out: XmlNode = {};
      for (const k of ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]) out[k] = booleanOf(el, k) ?? false;
      return out;
    },
    missing: notFound("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"),
    getAction: "s3:GetBucketPublicAccessBlock",
    putAction: "s3:PutBucketPublicAccessBlock",
  },
  ownershipControls: {
    root: "OwnershipControls",
    parse(body) {
      const el = rootOf(body, "OwnershipControls");
      const rules = childElements(el, "Rule");
      if (rules.length !== 1) throw malformedXml();
      return { Rule: { ObjectOwnership: oneOf(textOf(rules[0], "ObjectOwnership"), ["BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"]) } };
    },
    missing: notFound("OwnershipControlsNotFoundError", "The bucket ownership controls were not found"),
    getAction: "s3:GetBucketOwnershipControls",
    putAction: "s3:PutBucketOwnershipControls",
  },
  tagging: {
    root: "Tagging",
    parse(body) {
      const el = rootOf(body, "Tagging");
      const set = childElements(el, "TagSet")[0];
      if (!set) throw malformedXml();
      const tags = childElements(set, "Tag").map((t) => ({ Key: textOf(t, "Key") ?? "", Value: textOf(t, "Value") ?? "" }));
      if (tags.length > 50) throw new ServiceError("InvalidTag", "Object tags cannot be greater than 50", 400);
      const keys = new Set<string>();
      for (const t of tags) {
        if (t.Key === "" || t.Key.length > 128 || t.Value.length > 256) throw new ServiceError("InvalidTag", "The TagKey you have provided is invalid", 400);
        if (t.Key.toLowerCase().startsWith("aws:")) throw new ServiceError("InvalidTag", "System tags cannot be added/updated by requester", 400);
        if (keys.has(t.Key)) throw new ServiceError("InvalidTag", "Cannot provide multiple Tags with the same key", 400);
        keys.add(t.Key);
      }
      return { TagSet: { Tag: tags } };
    },
    missing: notFound("NoSuchTagSet", "The TagSet does not exist"),
    getAction: "s3:GetBucketTagging",
    putAction: "s3:PutBucketTagging",
  },
};

function bucketOperation(storage: S3Storage, action: string, readOnly: boolean, handler: (ctx: RequestContext, i: S3Input, b: Bucket) => S3Output) {
  return defineOperation<S3Input, S3Output, BucketTarget>({
    readOnly,
    resolve: (ctx, input) => resolveBucket(ctx, storage, input),
    ...authorizedOnBucket(action),
    handler: function bucketConfigHandler(ctx, input, target) {
      return handler(ctx, input, existingBucket(target));
    },
    audit: { requestParameters: (input) => s3RequestParameters(input, Object.fromEntries(Object.keys(input.query).map((k) => [k, ""]))) },
  });
}

export function getConfigOperation(storage: S3Storage, name: ConfigName) {
  const spec = SPECS[name];
  return bucketOperation(storage, spec.getAction, true, (_ctx, _i, b) => {
    const value = bucketConfig(b, name);
    if (value === undefined && spec.missing) throw spec.missing();
    return { xml: { root: spec.root, body: value ?? {} } };
  });
}

export function putConfigOperation(storage: S3Storage, name: ConfigName) {
  const spec = SPECS[name];
  return bucketOperation(storage, spec.putAction, false, (ctx, input, b) => {
    const value = spec.parse(input.Body);
    // Object Lock keeps versioning on for good (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html).
    if (name === "versioning" && b.objectLock && value.Status !== "Enabled") {
      throw new ServiceError("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.", 409);
    }
    ctx.writes.push(...storage.setBucketConfig(b.name, name, value));
    return { status: name === "tagging" ? 204 : 200 };
  });
}

/** Delete: the configuration is gone (encryption returns to S3's default, SSE-S3). */
export function deleteConfigOperation(storage: S3Storage, name: ConfigName) {
  const spec = SPECS[name];
  return bucketOperation(storage, spec.putAction, false, (ctx, _i, b) => {
    ctx.writes.push(...storage.setBucketConfig(b.name, name, name === "encryption" ? undefined : null));
    return { status: 204 };
  });
}

/** Reads of configurations this S3 never has: S3's answer for a bucket without one. */
const UNSET_READS = {
  GetBucketLogging: { action: "s3:GetBucketLogging", root: "BucketLoggingStatus" },
  GetBucketNotificationConfiguration: { action: "s3:GetBucketNotification", root: "NotificationConfiguration" },
  GetBucketLifecycleConfiguration: { action: "s3:GetLifecycleConfiguration", error: ["NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"] },
  GetBucketReplication: { action: "s3:GetReplicationConfiguration", error: ["ReplicationConfigurationNotFoundError", "The replication configuration was not found"] },
} as const;

export type UnsetRead = keyof typeof UNSET_READS;

export function unsetReadOperation(storage: S3Storage, op: UnsetRead) {
  const spec: { action: string; root?: string; error?: readonly [string, string] } = UNSET_READS[op];
  return bucketOperation(storage, spec.action, true, (_ctx, _i, b) => {
    if (spec.error) throw new ServiceError(spec.error[0], spec.error[1], 404, { extra: { BucketName: b.name } });
    return { xml: { root: spec.root!, body: {} } };
  });
}
