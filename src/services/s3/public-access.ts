/**
 * Block Public Access, enforced where this S3 can be made public
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html).
 * What applies to a bucket is the most restrictive combination of the bucket's settings and its
 * owner account's (S3 Control PutPublicAccessBlock, account-public-access.ts): each setting is on
 * when either turns it on.
 * - BlockPublicPolicy: PutBucketPolicy refuses a public policy (AccessDenied).
 * - BlockPublicAcls: a PutBucketAcl, PutObjectAcl, PutObject or CreateBucket that sets a public ACL (the canned ACLs
 *   `public-read`, `public-read-write`, `authenticated-read`, or an `x-amz-grant-*` to the
 *   AllUsers or AuthenticatedUsers groups) is refused.
 * - RestrictPublicBuckets: a public bucket policy grants only within the owner's account and to
 *   AWS service principals (policy-access.ts).
 * - IgnorePublicAcls: ACLs are kept and reported but never grant access, so there is nothing
 *   public to ignore (docs/cloudtrail.md#s3).
 * Object Ownership `BucketOwnerEnforced` (a new bucket's default) disables ACLs altogether.
 */
import type { RequestContext } from "../../kernel/context.ts";
import { bucketArn, S3Error } from "./common.ts";
import { checkAclsEnabled, isPublic, requestedGrants, type Grant } from "./acl.ts";
import { bucketConfig } from "./bucket-config.ts";
import type { Bucket, PublicAccessBlock, S3Storage } from "./storage.ts";

export type { PublicAccessBlock } from "./storage.ts";

/** The bucket's own settings (all off once its configuration was deleted). */
export function publicAccessBlockOf(b: Bucket): PublicAccessBlock {
  const c = bucketConfig(b, "publicAccessBlock") ?? {};
  return {
    BlockPublicAcls: c.BlockPublicAcls === true,
    IgnorePublicAcls: c.IgnorePublicAcls === true,
    BlockPublicPolicy: c.BlockPublicPolicy === true,
    RestrictPublicBuckets: c.RestrictPublicBuckets === true,
  };
}

/** What applies to the bucket: a setting is on when the bucket or its owner account turns it on. */
export function effectivePublicAccessBlock(storage: S3Storage, b: Bucket): PublicAccessBlock {
  const own = publicAccessBlockOf(b);
  const account = storage.accountPublicAccessBlock(b.ownerAccountId);
  if (!account) return own;
  return {
    BlockPublicAcls: own.BlockPublicAcls || account.BlockPublicAcls,
    IgnorePublicAcls: own.IgnorePublicAcls || account.IgnorePublicAcls,
    BlockPublicPolicy: own.BlockPublicPolicy || account.BlockPublicPolicy,
    RestrictPublicBuckets: own.RestrictPublicBuckets || account.RestrictPublicBuckets,
  };
}

const accessDenied = () => new S3Error("AccessDenied", "Access Denied", 403);

/** An ACL a PutObject, PutObjectAcl or PutBucketAcl sets: refused when public under BlockPublicAcls, or when ACLs are disabled. */
export function checkAcl(storage: S3Storage, b: Bucket, acl: { grants: Grant[]; canned?: string }): void {
  if (isPublic(acl.grants) && effectivePublicAccessBlock(storage, b).BlockPublicAcls) throw accessDenied();
  checkAclsEnabled(b, acl);
}

/** PutObject's ACL headers, checked; the grants to store with the object, if any. */
export function checkObjectAcl(storage: S3Storage, b: Bucket, headers: Record<string, string>): Grant[] | undefined {
  const acl = requestedGrants(headers, b.ownerAccountId);
  if (!acl) return undefined;
  checkAcl(storage, b, acl);
  return acl.grants;
}

/** CreateBucket's ACL headers: a new bucket has every Block Public Access setting on. */
export function checkNewBucketAcl(headers: Record<string, string>, objectOwnership: string, accountId: string): Grant[] | undefined {
  const acl = requestedGrants(headers, accountId);
  if (!acl || acl.canned === "private") return undefined;
  if (objectOwnership === "BucketOwnerEnforced") {
    throw new S3Error("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting", 400);
  }
  if (isPublic(acl.grants)) throw new S3Error("InvalidBucketAclWithBlockPublicAccessError", "Bucket cannot have public ACLs set with BlockPublicAccess enabled", 400);
  return acl.grants;
}

/** Condition keys that, with fixed values, tie a grant to known callers (not the public). */
const RESTRICTING_KEYS = new Set([
  "aws:sourcearn",
  "aws:sourcevpc",
  "aws:sourcevpce",
  "aws:sourceowner",
  "aws:sourceaccount",
  "s3:x-amz-server-side-encryption-aws-kms-key-id",
  "aws:userid",
  "aws:principalorgid",
  "aws:principalaccount",
  "aws:principalarn",
  "s3:dataaccesspointarn",
  "s3:dataaccesspointaccount",
]);
const FIXED_OPERATORS = new Set(["stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"]);

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
const fixed = (v: unknown): boolean => typeof v === "string" && v !== "" && !/[*?]/.test(v);

/** An aws:SourceIp CIDR narrow enough not to be the public: /8 or longer (IPv4), /32 or longer (IPv6). */
function narrowCidr(v: unknown): boolean {
  if (typeof v !== "string") return false;
  const [addr, len] = v.split("/");
  const bits = len === undefined ? (addr.includes(":") ? 128 : 32) : Number(len);
  if (!Number.isInteger(bits)) return false;
  return addr.includes(":") ? bits >= 32 : bits >= 8;
}

function restrictedByCondition(condition: unknown): boolean {
  if (!condition || typeof condition !== "object") return false;
  for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
    if (!block || typeof block !== "object") continue;
    const op = operator.toLowerCase();
    if (op.endsWith("ifexists") || op.startsWith("forallvalues:")) continue;
    const base = op.replace(/^foranyvalue:/, "");
    for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
      const k = key.toLowerCase();
      const list = asList(values);
      if (list.length === 0) continue;
      if (FIXED_OPERATORS.has(base) && RESTRICTING_KEYS.has(k) && list.every(fixed)) return true;
      if (base === "ipaddress" && k === "aws:sourceip" && list.every(narrowCidr)) return true;
    }
  }
  return false;
}

/** A principal element that names everyone (`*`, or `*` among the AWS principals). */
function everyone(principal: unknown): boolean {
  if (principal === "*") return true;
  if (!principal || typeof principal !== "object") return false;
  return Object.values(principal as Record<string, unknown>).some((v) => asList(v).some((p) => typeof p === "string" && p.includes("*")));
}

/**
 * Whether S3 would call this (already validated) bucket policy public: an Allow statement for
 * everyone (or NotPrincipal) that no condition ties to fixed sources, accounts, organizations or
 * a narrow IP range.
 */
export function isPublicPolicy(text: string): boolean {
  const doc = JSON.parse(text) as { Statement?: unknown };
  for (const raw of asList(doc.Statement)) {
    const s = raw as Record<string, unknown>;
    if (s.Effect !== "Allow") continue;
    if (s.NotPrincipal === undefined && !everyone(s.Principal)) continue;
    if (!restrictedByCondition(s.Condition)) return true;
  }
  return false;
}

/** PutBucketPolicy under BlockPublicPolicy: S3's refusal names the caller, the bucket and the setting. */
export function checkPolicyNotBlocked(ctx: RequestContext, storage: S3Storage, b: Bucket, policy: string): void {
  if (!effectivePublicAccessBlock(storage, b).BlockPublicPolicy || !isPublicPolicy(policy)) return;
  throw new S3Error(
    "AccessDenied",
    `User: ${ctx.principal.arn} is not authorized to perform: s3:PutBucketPolicy on resource: "${bucketArn(b.name)}" because public policies are blocked by the BlockPublicPolicy block public access setting.`,
    403,
  );
}
