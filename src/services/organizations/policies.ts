/**
 * Organization policies: the AWS managed ones (FullAWSAccess, RCPFullAWSAccess), the checks a
 * new or changed policy passes (size quota, syntax for its type), and what applies to an
 * account at each level of its organization (root → OU … → account), which the authorizer reads
 * through the ScpProvider.
 *
 * SCP syntax and quotas: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html
 * RCP syntax: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html
 * Management policies: management-policies.ts.
 * Quotas: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html and
 * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies.html
 */
import type { ScpProvider } from "../../kernel/context.ts";
import { compilePolicy, PolicyError } from "../../policy/index.ts";
import { constraint, malformedPolicy } from "./errors.ts";
import { checkManagementPolicy } from "./management-policies.ts";
import { isAuthorizationType, type AuthorizationPolicyType, type OrgRec, type PolicyRec, type PolicyTypeName } from "./model.ts";
import type { OrganizationsState } from "./state.ts";

/** Most characters in one policy, by type. */
export const MAX_POLICY_CHARS: Record<PolicyTypeName, number> = {
  SERVICE_CONTROL_POLICY: 5120,
  RESOURCE_CONTROL_POLICY: 5120,
  TAG_POLICY: 10_000,
  BACKUP_POLICY: 10_000,
  AISERVICES_OPT_OUT_POLICY: 2500,
  CHATBOT_POLICY: 10_000,
  DECLARATIVE_POLICY_EC2: 10_000,
};
/** Most policies of one type attached to one root, OU or account, by type. */
export const MAX_ATTACHED_PER_TARGET: Record<PolicyTypeName, number> = {
  SERVICE_CONTROL_POLICY: 5,
  RESOURCE_CONTROL_POLICY: 5,
  TAG_POLICY: 10,
  BACKUP_POLICY: 10,
  AISERVICES_OPT_OUT_POLICY: 5,
  CHATBOT_POLICY: 5,
  DECLARATIVE_POLICY_EC2: 10,
};
/** Most policies of one type in an organization. */
export const MAX_POLICIES_PER_TYPE = 1000;

export interface ManagedPolicy extends PolicyRec {
  awsManaged: true;
}

export const FULL_AWS_ACCESS: ManagedPolicy = {
  id: "p-FullAWSAccess",
  arn: "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
  name: "FullAWSAccess",
  description: "Allows access to every operation",
  type: "SERVICE_CONTROL_POLICY",
  content: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
  awsManaged: true,
};

export const RCP_FULL_AWS_ACCESS: ManagedPolicy = {
  id: "p-RCPFullAWSAccess",
  arn: "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess",
  name: "RCPFullAWSAccess",
  description: "Allows access to every operation",
  type: "RESOURCE_CONTROL_POLICY",
  content: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: "*", Action: "*", Resource: "*" }] }),
  awsManaged: true,
};

export const MANAGED_POLICIES: readonly ManagedPolicy[] = [FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS];
/** The AWS managed policy every target carries while an authorization type is enabled. */
export const managedPolicyOf = (type: AuthorizationPolicyType) => (type === "SERVICE_CONTROL_POLICY" ? FULL_AWS_ACCESS : RCP_FULL_AWS_ACCESS);

/** A policy of the organization (customer managed) or one of AWS's, by id. */
export function findPolicy(org: OrgRec, id: string): PolicyRec | ManagedPolicy | undefined {
  return MANAGED_POLICIES.find((p) => p.id === id) ?? org.policies.find((p) => p.id === id);
}

export const isManaged = (p: PolicyRec): p is ManagedPolicy => (p as ManagedPolicy).awsManaged === true;

/** The size quota and the syntax of the policy's type; throws AWS's error. */
export function checkPolicyContent(type: PolicyTypeName, content: string): void {
  if (content.length > MAX_POLICY_CHARS[type]) throw constraint("POLICY_CONTENT_LIMIT_EXCEEDED", "You have exceeded the maximum size of a policy document.");
  if (!isAuthorizationType(type)) return checkManagementPolicy(type, content);
  let parsed: { Statement?: unknown };
  try {
    parsed = JSON.parse(content) as { Statement?: unknown };
    compilePolicy(content, type === "SERVICE_CONTROL_POLICY" ? "scp" : "resource");
  } catch (e) {
    if (e instanceof SyntaxError) throw malformedPolicy("");
    if (e instanceof PolicyError) throw malformedPolicy(e.message);
    throw e;
  }
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
  for (const s of statements as Record<string, unknown>[]) {
    if (s.NotPrincipal !== undefined) throw malformedPolicy("NotPrincipal is not supported.");
    if (type === "RESOURCE_CONTROL_POLICY") {
      if (s.Principal !== "*") throw malformedPolicy('The Principal element must be "*".');
      if (s.Effect !== "Deny") throw malformedPolicy("Only Deny statements are supported.");
    }
  }
}

/** The policies of one type attached to a target, by id, in attachment order. */
export function attachedTo(org: OrgRec, targetId: string, type: PolicyTypeName): (PolicyRec | ManagedPolicy)[] {
  const out: (PolicyRec | ManagedPolicy)[] = [];
  for (const [t, p] of org.attachments) {
    if (t !== targetId) continue;
    const pol = findPolicy(org, p);
    if (pol && pol.type === type) out.push(pol);
  }
  return out;
}

/** The chain of targets an account sits under: root, each OU from the top, the account. */
export function targetChain(org: OrgRec, accountId: string): string[] {
  const account = org.accounts.find((a) => a.id === accountId);
  if (!account) return [];
  const chain = [accountId];
  let parent = account.parentId;
  while (parent !== org.root.id) {
    const ou = org.ous.find((o) => o.id === parent);
    if (!ou) break;
    chain.push(ou.id);
    parent = ou.parentId;
  }
  chain.push(org.root.id);
  return chain.reverse();
}

/**
 * What the authorizer reads: each level's documents of a type, for member accounts only. Every
 * call of a member account asks, so the answer is kept until the organizations change.
 */
export function organizationPolicies(state: OrganizationsState): ScpProvider {
  let generation = -1;
  const cache = new Map<string, string[][] | undefined>();
  const compute = (accountId: string, type: AuthorizationPolicyType): string[][] | undefined => {
    const org = state.orgOf(accountId);
    if (!org || org.managementAccountId === accountId || !org.root.policyTypes.includes(type)) return undefined;
    return targetChain(org, accountId).map((target) => attachedTo(org, target, type).map((p) => p.content));
  };
  const levels = (accountId: string, type: AuthorizationPolicyType): string[][] | undefined => {
    if (generation !== state.generation) {
      cache.clear();
      generation = state.generation;
    }
    const key = `${type}|${accountId}`;
    if (cache.has(key)) return cache.get(key);
    const found = compute(accountId, type);
    // bounded: accounts never seen in an organization answer undefined without being kept
    if (found !== undefined || cache.size < 10_000) cache.set(key, found);
    return found;
  };
  return {
    scpLevelsFor: (accountId) => levels(accountId, "SERVICE_CONTROL_POLICY"),
    rcpLevelsFor: (accountId) => levels(accountId, "RESOURCE_CONTROL_POLICY"),
    organizationIdOf: (accountId) => state.orgOf(accountId)?.id,
  };
}
