/**
 * Access control lists as S3 keeps them for buckets and objects
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html): grants to canonical
 * users or to S3's predefined groups, given as a canned ACL (`x-amz-acl`), as `x-amz-grant-*`
 * headers or as an `AccessControlPolicy` document. They are stored and reported; access is
 * decided by IAM and ownership alone (an ACL grants nothing here, so IgnorePublicAcls has nothing
 * to ignore). Under Object Ownership `BucketOwnerEnforced` ACLs are disabled: only the owner's
 * full control may be set, and every ACL reads as that.
 */
import type { Element } from "@xmldom/xmldom";
import { ServiceError } from "../../kernel/errors.ts";
import { bucketConfig, childElements, rootOf, textOf } from "./bucket-config.ts";
import { ownerNode, S3Error } from "./common.ts";
import type { Bucket } from "./storage.ts";
import { S3_XMLNS, xmlEscape } from "./xml.ts";

export type Permission = "FULL_CONTROL" | "WRITE" | "WRITE_ACP" | "READ" | "READ_ACP";
const PERMISSIONS: Permission[] = ["FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"];

export interface Grant {
  /** a canonical user id, or a group URI */
  id?: string;
  uri?: string;
  permission: Permission;
}

export const ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers";
export const AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery";
const GROUPS = new Set([ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY]);

const CANNED = ["private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"];

const GRANT_HEADERS: [string, Permission][] = [
  ["x-amz-grant-full-control", "FULL_CONTROL"],
  ["x-amz-grant-read", "READ"],
  ["x-amz-grant-read-acp", "READ_ACP"],
  ["x-amz-grant-write", "WRITE"],
  ["x-amz-grant-write-acp", "WRITE_ACP"],
];

/** Whether a request carries ACL headers (`x-amz-acl` or any `x-amz-grant-*`). */
export function hasAclHeaders(headers: Record<string, string>): boolean {
  return headers["x-amz-acl"] !== undefined || GRANT_HEADERS.some(([h]) => headers[h] !== undefined);
}

/** Whether a CreateBucket's ACL headers ask for more than the default `private` ACL. */
export function setsNonPrivateAcl(headers: Record<string, string>): boolean {
  return GRANT_HEADERS.some(([h]) => headers[h] !== undefined) || (headers["x-amz-acl"] !== undefined && headers["x-amz-acl"] !== "private");
}

const invalidArgument = (message: string, name: string, value: string) =>
  new ServiceError("InvalidArgument", message, 400, { extra: { ArgumentName: name, ArgumentValue: value } });
const malformedAcl = () => new ServiceError("MalformedACLError", "The XML you provided was not well-formed or did not validate against our published schema", 400);

export const ownerId = (accountId: string): string => String(ownerNode(accountId).ID);
export const ownerFullControl = (accountId: string): Grant[] => [{ id: ownerId(accountId), permission: "FULL_CONTROL" }];

function cannedGrants(canned: string, accountId: string): Grant[] {
  if (!CANNED.includes(canned)) throw invalidArgument("The canned ACL is not one S3 defines", "x-amz-acl", canned);
  const grants = ownerFullControl(accountId);
  if (canned === "public-read") grants.push({ uri: ALL_USERS, permission: "READ" });
  if (canned === "public-read-write") grants.push({ uri: ALL_USERS, permission: "READ" }, { uri: ALL_USERS, permission: "WRITE" });
  if (canned === "authenticated-read") grants.push({ uri: AUTHENTICATED_USERS, permission: "READ" });
  if (canned === "log-delivery-write") grants.push({ uri: LOG_DELIVERY, permission: "WRITE" }, { uri: LOG_DELIVERY, permission: "READ_ACP" });
  return grants;
}

function grantee(kind: string, value: string, header: string): { id?: string; uri?: string } {
  if (kind === "id") {
    if (!/^[0-9a-f]{64}$/.test(value)) throw invalidArgument("Invalid id", "CanonicalUser/ID", value);
    return { id: value };
  }
  if (kind === "uri") {
    if (!GROUPS.has(value)) throw invalidArgument("Invalid group uri", "Group/URI", value);
    return { uri: value };
  }
  if (kind === "emailaddress") throw new ServiceError("UnresolvableGrantByEmailAddress", "The e-mail address you provided does not match any account on record.", 400);
  throw invalidArgument("Argument format not recognized", header, `${kind}=${value}`);
}

/** `x-amz-grant-*: id="…", uri="…"` headers. */
function headerGrants(headers: Record<string, string>): Grant[] {
  const out: Grant[] = [];
  for (const [header, permission] of GRANT_HEADERS) {
    const value = headers[header];
    if (value === undefined) continue;
    for (const part of value.split(",")) {
      const m = /^\s*([A-Za-z]+)\s*=\s*"?([^"]*)"?\s*$/.exec(part);
      if (!m) throw invalidArgument("Argument format not recognized", header, value);
      out.push({ ...grantee(m[1].toLowerCase(), m[2], header), permission });
    }
  }
  return out;
}

function granteeOf(el: Element): { id?: string; uri?: string } {
  const type = el.getAttributeNS("http://www.w3.org/2001/XMLSchema-instance", "type") ?? el.getAttribute("xsi:type");
  if (type === "CanonicalUser") return grantee("id", textOf(el, "ID") ?? "", "Grantee");
  if (type === "Group") return grantee("uri", textOf(el, "URI") ?? "", "Grantee");
  if (type === "AmazonCustomerByEmail") return grantee("emailaddress", textOf(el, "EmailAddress") ?? "", "Grantee");
  throw malformedAcl();
}

/** An ACL has at most 100 grants, however given (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html). */
const MAX_GRANTS = 100;
/** A PutObjectAcl may carry an object-sized body; an ACL document is never near this. */
const MAX_ACL_DOCUMENT_BYTES = 1024 * 1024;

/** An `AccessControlPolicy` document's grants. */
function bodyGrants(body: Buffer): Grant[] {
  if (body.length > MAX_ACL_DOCUMENT_BYTES) throw new ServiceError("MaxMessageLengthExceeded", "Your request was too big.", 400);
  let root: Element;
  try {
    root = rootOf(body, "AccessControlPolicy");
  } catch {
    throw malformedAcl();
  }
  const list = childElements(root, "AccessControlList")[0];
  if (!list) throw malformedAcl();
  const grants = childElements(list, "Grant");
  if (grants.length > MAX_GRANTS) throw malformedAcl();
  return grants.map((g) => {
    const who = childElements(g, "Grantee")[0];
    const permission = textOf(g, "Permission") as Permission | undefined;
    if (!who || !permission || !PERMISSIONS.includes(permission)) throw malformedAcl();
    return { ...granteeOf(who), permission };
  });
}

/** What ACL a request sets: a canned ACL, grant headers, or (`withBody`) a document; undefined when none. */
export function requestedGrants(headers: Record<string, string>, accountId: string, body?: Buffer): { grants: Grant[]; canned?: string } | undefined {
  const canned = headers["x-amz-acl"];
  const byHeader = headerGrants(headers);
  if (canned !== undefined && byHeader.length > 0) {
    throw new ServiceError("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed", 400);
  }
  const hasBody = body !== undefined && body.length > 0;
  if (hasBody && (canned !== undefined || byHeader.length > 0)) {
    throw new ServiceError("UnexpectedContent", "This request does not support content", 400);
  }
  if (canned !== undefined) return { grants: cannedGrants(canned, accountId), canned };
  if (byHeader.length > MAX_GRANTS) throw malformedAcl();
  if (byHeader.length > 0) return { grants: byHeader };
  if (hasBody) return { grants: bodyGrants(body) };
  return undefined;
}

export const isPublic = (grants: Grant[]): boolean => grants.some((g) => g.uri === ALL_USERS || g.uri === AUTHENTICATED_USERS);

export function objectOwnershipOf(b: Bucket): string | undefined {
  const rule = bucketConfig(b, "ownershipControls")?.Rule as { ObjectOwnership?: string } | undefined;
  return rule?.ObjectOwnership;
}

/** Under BucketOwnerEnforced only the owner's full control, as the canned `bucket-owner-full-control` or its equivalent grants. */
export function checkAclsEnabled(b: Bucket, acl: { grants: Grant[]; canned?: string }): void {
  if (objectOwnershipOf(b) !== "BucketOwnerEnforced") return;
  const ownerOnly =
    acl.canned !== undefined
      ? acl.canned === "bucket-owner-full-control"
      : acl.grants.length > 0 && acl.grants.every((g) => g.id === ownerId(b.ownerAccountId) && g.permission === "FULL_CONTROL");
  if (!ownerOnly) throw new S3Error("AccessControlListNotSupported", "The bucket does not allow ACLs", 400);
}

/** The grants to report: the owner's full control when ACLs are disabled or none was set. */
export function effectiveGrants(b: Bucket, stored: Grant[] | undefined): Grant[] {
  if (!stored || objectOwnershipOf(b) === "BucketOwnerEnforced") return ownerFullControl(b.ownerAccountId);
  return stored;
}

/** The `AccessControlPolicy` document GetBucketAcl and GetObjectAcl answer. */
export function aclDocument(accountId: string, grants: Grant[]): Buffer {
  const owner = ownerNode(accountId);
  const ownerXml = `<ID>${xmlEscape(String(owner.ID))}</ID><DisplayName>${xmlEscape(String(owner.DisplayName))}</DisplayName>`;
  const xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
  const grantXml = grants
    .map((g) => {
      const who =
        g.uri !== undefined
          ? `<Grantee ${xsi} xsi:type="Group"><URI>${xmlEscape(g.uri)}</URI></Grantee>`
          : `<Grantee ${xsi} xsi:type="CanonicalUser"><ID>${xmlEscape(g.id ?? "")}</ID>${g.id === owner.ID ? `<DisplayName>${xmlEscape(String(owner.DisplayName))}</DisplayName>` : ""}</Grantee>`;
      return `<Grant>${who}<Permission>${g.permission}</Permission></Grant>`;
    })
    .join("");
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="${S3_XMLNS}"><Owner>${ownerXml}</Owner><AccessControlList>${grantXml}</AccessControlList></AccessControlPolicy>`,
  );
}
