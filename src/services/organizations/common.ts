/**
 * What the Organizations operations share: finding the caller's organization (and refusing
 * callers outside one, or members where only the management account may call), the checks
 * each call authorizes, paging with NextToken/MaxResults, and the views AWS answers with.
 */
import type { Account, Handshake, OrganizationalUnit, Organization, PolicySummary, Root } from "@aws-sdk/client-organizations";
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck } from "../../kernel/operation.ts";
import { pageList, type PageTokens } from "../../store/paging.ts";
import { invalidInput, notInUse, notManagement } from "./errors.ts";
import type { AccountRec, HandshakeRec, OrgRec, OuRec, PolicyRec } from "./model.ts";
import { isManaged, type ManagedPolicy } from "./policies.ts";
import type { OrganizationsState } from "./state.ts";

export interface OrgDeps {
  state: OrganizationsState;
}

/** The caller's organization, or AWSOrganizationsNotInUseException. */
export function callerOrg(ctx: RequestContext, state: OrganizationsState): OrgRec {
  const org = state.orgOf(ctx.principal.accountId);
  if (!org) throw notInUse();
  return org;
}

/** The caller's organization when the caller is its management account; members get AccessDenied. */
export function managedOrg(ctx: RequestContext, state: OrganizationsState): OrgRec {
  const org = callerOrg(ctx, state);
  if (org.managementAccountId !== ctx.principal.accountId) throw notManagement();
  return org;
}

/**
 * The caller's organization when the caller may read it: its management account, a member
 * registered as delegated administrator for any service, which AWS gives read-only access to
 * Organizations data
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_RegisterDelegatedAdministrator.html),
 * or any member when the organization has a delegation policy, which the authorizer then
 * evaluates (delegation.ts). Other members get AccessDenied.
 */
export function readableOrg(ctx: RequestContext, state: OrganizationsState): OrgRec {
  const org = callerOrg(ctx, state);
  const me = ctx.principal.accountId;
  if (org.managementAccountId !== me && !org.resourcePolicy && !org.delegatedAdmins.some((d) => d.accountId === me)) throw notManagement();
  return org;
}

/**
 * The caller's organization for an operation a delegation policy can grant members (policy
 * management, tags): the management account, or any member when there is a delegation policy.
 */
export function delegableOrg(ctx: RequestContext, state: OrganizationsState): OrgRec {
  const org = callerOrg(ctx, state);
  if (org.managementAccountId !== ctx.principal.accountId && !org.resourcePolicy) throw notManagement();
  return org;
}

export function orgCheck(action: string, resource = "*", context?: AuthCheck["context"]): AuthCheck[] {
  return [{ action: `organizations:${action}`, resource, ...(context ? { context } : {}) }];
}

const TOKENS: PageTokens = { prefix: "org1:", invalid: () => invalidInput("INVALID_NEXT_TOKEN", "The specified token is invalid."), resume: "after" };

/** One page of a list sorted by `key` (MaxResults 1-20 is checked by the shapes; default 20). */
export function page<T>(items: T[], key: (t: T) => string, nextToken: string | undefined, max: number | undefined): { items: T[]; NextToken?: string } {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const p = pageList(TOKENS, sorted, key, nextToken, max ?? 20);
  return p.next === undefined ? { items: p.items } : { items: p.items, NextToken: p.next };
}

// ---- views ----

export const at = (ms: number) => new Date(ms);

export function organizationView(org: OrgRec): Organization {
  return {
    Id: org.id,
    Arn: org.arn,
    FeatureSet: org.featureSet,
    MasterAccountArn: `arn:aws:organizations::${org.managementAccountId}:account/${org.id}/${org.managementAccountId}`,
    MasterAccountId: org.managementAccountId,
    MasterAccountEmail: org.managementEmail,
    AvailablePolicyTypes: org.root.policyTypes.map((Type) => ({ Type, Status: "ENABLED" })),
  };
}

export function rootView(org: OrgRec): Root {
  return { Id: org.root.id, Arn: org.root.arn, Name: "Root", PolicyTypes: org.root.policyTypes.map((Type) => ({ Type, Status: "ENABLED" })) };
}

export const ouView = (ou: OuRec): OrganizationalUnit => ({ Id: ou.id, Arn: ou.arn, Name: ou.name });

/**
 * An account's Status and State: a closed account is SUSPENDED / CLOSED, as AWS shows it once
 * closure completes (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html).
 */
export function accountStatus(a: AccountRec): Pick<Account, "Status" | "State"> {
  return a.closedAt === undefined ? { Status: "ACTIVE", State: "ACTIVE" } : { Status: "SUSPENDED", State: "CLOSED" };
}

export function accountView(a: AccountRec): Account {
  return { Id: a.id, Arn: a.arn, Email: a.email, Name: a.name, ...accountStatus(a), JoinedMethod: a.joinedMethod, JoinedTimestamp: at(a.joinedAt) } as Account;
}

export function policySummary(p: PolicyRec | ManagedPolicy): PolicySummary {
  return { Id: p.id, Arn: p.arn, Name: p.name, Description: p.description, Type: p.type, AwsManaged: isManaged(p) };
}

export function handshakeView(org: OrgRec, h: HandshakeRec, now: Date): Handshake {
  const state = h.state === "OPEN" && now.getTime() >= h.expiresAt ? "EXPIRED" : h.state;
  const action = h.action ?? "INVITE";
  const organization = {
    Type: "ORGANIZATION" as const,
    Value: org.id,
    Resources: [
      { Type: "MASTER_EMAIL" as const, Value: org.managementEmail },
      { Type: "MASTER_NAME" as const, Value: org.accounts.find((a) => a.id === org.managementAccountId)?.name ?? "" },
      { Type: "ORGANIZATION_FEATURE_SET" as const, Value: org.featureSet },
    ],
  };
  // the EnableAllFeatures request itself is the organization's alone; every other handshake names the account that answers it
  const request = action === "ENABLE_ALL_FEATURES" && h.parentId === undefined;
  return {
    Id: h.id,
    Arn: h.arn,
    Parties: [{ Id: org.id, Type: "ORGANIZATION" }, ...(request ? [] : [{ Id: h.targetAccountId, Type: "ACCOUNT" as const }])],
    State: state,
    RequestedTimestamp: at(h.requestedAt),
    ExpirationTimestamp: at(h.expiresAt),
    Action: action,
    Resources: [
      organization,
      ...(action === "INVITE" ? [{ Type: "ACCOUNT" as const, Value: h.targetAccountId }] : []),
      ...(h.parentId ? [{ Type: "PARENT_HANDSHAKE" as const, Value: h.parentId }] : []),
      ...(h.notes ? [{ Type: "NOTES" as const, Value: h.notes }] : []),
    ],
  };
}
