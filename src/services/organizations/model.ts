/**
 * What an organization is made of, as stored: one record per organization (its root, OUs,
 * accounts, policies, attachments, tags, trusted services, delegated administrators, account
 * creation requests and handshakes), with the identifiers and ARNs AWS forms
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html and the
 * pages of each type). Times are epoch milliseconds.
 */
import { randomInt } from "node:crypto";
import type { Tag } from "@aws-sdk/client-organizations";

export const ORG_KIND = "organizations.org";
/** One record per closed account, kept after the account leaves its organization: it stays closed for good. */
export const CLOSED_ACCOUNT_KIND = "organizations.closed-account";

/**
 * How long a closed account stays in its organization (SUSPENDED / CLOSED) before it is closed
 * permanently and leaves: AWS's 90-day post-closure period
 * (https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-closing.html).
 */
export const POST_CLOSURE_MS = 90 * 86_400_000;

export interface ClosedAccountRec {
  accountId: string;
  closedAt: number;
}

/** The authorization policy types, which the authorizer enforces. */
export type AuthorizationPolicyType = "SERVICE_CONTROL_POLICY" | "RESOURCE_CONTROL_POLICY";
/** The management policy types offered here: kept, inherited and read, not enforced (docs/organizations.md). */
export type ManagementPolicyType = "TAG_POLICY" | "BACKUP_POLICY" | "AISERVICES_OPT_OUT_POLICY" | "CHATBOT_POLICY" | "DECLARATIVE_POLICY_EC2";
export type PolicyTypeName = AuthorizationPolicyType | ManagementPolicyType;
export const AUTHORIZATION_POLICY_TYPES: readonly AuthorizationPolicyType[] = ["SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"];
export const MANAGEMENT_POLICY_TYPES: readonly ManagementPolicyType[] = ["TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY", "CHATBOT_POLICY", "DECLARATIVE_POLICY_EC2"];
export const ORGANIZATION_POLICY_TYPES: readonly PolicyTypeName[] = [...AUTHORIZATION_POLICY_TYPES, ...MANAGEMENT_POLICY_TYPES];
export const isAuthorizationType = (t: PolicyTypeName): t is AuthorizationPolicyType => (AUTHORIZATION_POLICY_TYPES as readonly string[]).includes(t);

export interface OuRec {
  id: string;
  arn: string;
  name: string;
  parentId: string;
}

export interface AccountRec {
  id: string;
  arn: string;
  name: string;
  email: string;
  parentId: string;
  joinedMethod: "CREATED" | "INVITED";
  joinedAt: number;
  /** when CloseAccount closed it; it stays in the organization, CLOSED */
  closedAt?: number;
}

export interface PolicyRec {
  id: string;
  arn: string;
  name: string;
  description: string;
  type: PolicyTypeName;
  content: string;
  /** when it was created or its content last changed (records from before this field have none) */
  updatedAt?: number;
}

export interface CreateStatusRec {
  id: string;
  accountName: string;
  state: "IN_PROGRESS" | "SUCCEEDED" | "FAILED";
  requestedAt: number;
  completedAt: number;
  accountId?: string;
  failureReason?: string;
}

/** The handshakes made here: invitations, and the steps of EnableAllFeatures (all-features.ts). */
export type HandshakeAction = "INVITE" | "ENABLE_ALL_FEATURES" | "APPROVE_ALL_FEATURES";

export interface HandshakeRec {
  id: string;
  arn: string;
  /** INVITE when absent (records from before the all-features handshakes) */
  action?: HandshakeAction;
  /** an all-features approval or final confirmation: the EnableAllFeatures request it belongs to */
  parentId?: string;
  /** the account that answers it: the invited or approving account (the management account for the request itself and its final confirmation) */
  targetAccountId: string;
  state: "REQUESTED" | "OPEN" | "CANCELED" | "ACCEPTED" | "DECLINED" | "EXPIRED";
  requestedAt: number;
  expiresAt: number;
  notes?: string;
  /** attached to the account when it joins */
  tags?: Tag[];
}

export interface OrgRec {
  id: string;
  arn: string;
  managementAccountId: string;
  managementEmail: string;
  featureSet: "ALL" | "CONSOLIDATED_BILLING";
  root: { id: string; arn: string; policyTypes: PolicyTypeName[] };
  ous: OuRec[];
  /** the management account too */
  accounts: AccountRec[];
  /** customer managed policies (AWS managed ones are in policies.ts) */
  policies: PolicyRec[];
  /** [target id, policy id], in attachment order */
  attachments: [string, string][];
  /** [resource id, tags] */
  tags: [string, Tag[]][];
  services: { principal: string; enabledAt: number }[];
  delegatedAdmins: { accountId: string; principal: string; at: number }[];
  createStatuses: CreateStatusRec[];
  handshakes: HandshakeRec[];
  /** the delegation policy (PutResourcePolicy); records from before it have none */
  resourcePolicy?: { id: string; content: string };
}

const LOWER_DIGITS = "abcdefghijklmnopqrstuvwxyz0123456789";

function random(alphabet: string, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

export const newOrganizationId = () => `o-${random(LOWER_DIGITS, 10)}`;
export const newRootId = () => `r-${random(LOWER_DIGITS, 4)}`;
export const newOuId = (rootId: string) => `ou-${rootId.slice(2)}-${random(LOWER_DIGITS, 8)}`;
export const newPolicyId = () => `p-${random(LOWER_DIGITS, 8)}`;
export const newCreateRequestId = () => `car-${random(LOWER_DIGITS, 32)}`;
export const newHandshakeId = () => `h-${random(LOWER_DIGITS, 10)}`;
export const newResourcePolicyId = () => `rp-${random(LOWER_DIGITS, 8)}`;
export const newAccountId = () => random("0123456789", 12);

const base = (org: Pick<OrgRec, "managementAccountId">) => `arn:aws:organizations::${org.managementAccountId}`;
export const organizationArn = (mgmt: string, orgId: string) => `arn:aws:organizations::${mgmt}:organization/${orgId}`;
export const rootArn = (mgmt: string, orgId: string, rootId: string) => `arn:aws:organizations::${mgmt}:root/${orgId}/${rootId}`;
export const ouArn = (org: OrgRec, ouId: string) => `${base(org)}:ou/${org.id}/${ouId}`;
export const accountArn = (org: Pick<OrgRec, "managementAccountId" | "id">, accountId: string) => `${base(org)}:account/${org.id}/${accountId}`;
export const policyArn = (org: OrgRec, type: PolicyTypeName, policyId: string) => `${base(org)}:policy/${org.id}/${type.toLowerCase()}/${policyId}`;
export const handshakeArn = (org: OrgRec, handshakeId: string, action: HandshakeAction = "INVITE") => `${base(org)}:handshake/${org.id}/${action.toLowerCase()}/${handshakeId}`;

export const resourcePolicyArn = (org: OrgRec, id: string) => `${base(org)}:resourcepolicy/${org.id}/${id}`;

/** The kind of target an id names, by AWS's id patterns. */
export function targetKind(id: string): "ROOT" | "ORGANIZATIONAL_UNIT" | "ACCOUNT" | undefined {
  if (/^r-[0-9a-z]{4,32}$/.test(id)) return "ROOT";
  if (/^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/.test(id)) return "ORGANIZATIONAL_UNIT";
  if (/^\d{12}$/.test(id)) return "ACCOUNT";
  return undefined;
}
