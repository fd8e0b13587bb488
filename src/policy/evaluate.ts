/**
 * The IAM evaluation logic, in AWS's documented order: explicit deny anywhere; SCPs (every level
 * must allow); the resource policy (same-account union with the principal table; KMS key
 * policies and trust policies authoritative, with account delegation); identity policies;
 * permissions boundary; session policies. KMS grants count as an allow that cannot override an
 * explicit deny.
 */
import type { CompiledPolicy, EvaluationInput, EvaluationResult, PolicyType, PrincipalMatch, CompiledStatement } from "./types.ts";

function applies(st: CompiledStatement, input: EvaluationInput, principalMatters: boolean): PrincipalMatch {
  if (!st.matchesAction(input.action)) return "none";
  if (!st.matchesResource(input.resource, input.context)) return "none";
  const pm = principalMatters ? st.matchPrincipal(input.principal) : "direct";
  if (pm === "none") return "none";
  return st.matchesConditions(input.context) ? pm : "none";
}

/** The first matching Deny, and the best Allow match, of one policy. */
function scan(policy: CompiledPolicy, input: EvaluationInput, principalMatters: boolean): { deny?: CompiledStatement; allow: PrincipalMatch; allowSid?: string } {
  let allow: PrincipalMatch = "none";
  let allowSid: string | undefined;
  const rank = { none: 0, account: 1, role: 2, direct: 3 } as const;
  for (const st of policy.statements) {
    const m = applies(st, input, principalMatters);
    if (m === "none") continue;
    if (st.effect === "Deny") return { deny: st, allow };
    if (rank[m] > rank[allow]) {
      allow = m;
      allowSid = st.sid;
    }
  }
  return { allow, allowSid };
}

function anyAllows(policies: CompiledPolicy[], input: EvaluationInput): boolean {
  return policies.some((p) => scan(p, input, false).allow !== "none");
}

export function evaluate(input: EvaluationInput): EvaluationResult {
  const p = input.principal;
  // 1. Explicit deny in any policy.
  const groups: [PolicyType, CompiledPolicy[], boolean][] = [
    ["service control", (input.scpLevels ?? []).flat(), false],
    ["resource-based", input.resourcePolicy ? [input.resourcePolicy.policy] : [], true],
    ["identity-based", input.identityPolicies, false],
    ["permissions boundary", input.permissionsBoundary ? [input.permissionsBoundary] : [], false],
    ["session", input.sessionPolicies ?? [], false],
  ];
  const scans = new Map<CompiledPolicy, ReturnType<typeof scan>>();
  for (const [type, policies, principalMatters] of groups) {
    for (const policy of policies) {
      const r = scan(policy, input, principalMatters);
      if (r.deny) return { decision: "ExplicitDeny", deniedBy: type, matchedStatementSid: r.deny.sid };
      scans.set(policy, r);
    }
  }
  // 2. SCPs: every level from the root down must allow.
  for (const level of input.scpLevels ?? []) {
    if (!level.some((pol) => scans.get(pol)!.allow !== "none")) return { decision: "ImplicitDeny", deniedBy: "service control" };
  }
  const isRoot = p.type === "Root";
  const identityAllows = () => anyAllows(input.identityPolicies, input);
  const boundaryAllows = () => !input.permissionsBoundary || scans.get(input.permissionsBoundary)!.allow !== "none";
  const sessionAllows = () => !input.sessionPolicies?.length || input.sessionPolicies.some((s) => scans.get(s)!.allow !== "none");
  /** The identity side of a request: identity ∩ boundary ∩ session (root: everything in its account). */
  const identityChain = (): EvaluationResult => {
    if (isRoot) return { decision: "Allow" };
    if (p.type === "AWSService") return { decision: "ImplicitDeny", deniedBy: "resource-based" };
    if (!identityAllows()) return { decision: "ImplicitDeny", deniedBy: "identity-based" };
    if (!boundaryAllows()) return { decision: "ImplicitDeny", deniedBy: "permissions boundary" };
    if (!sessionAllows()) return { decision: "ImplicitDeny", deniedBy: "session" };
    return { decision: "Allow" };
  };
  const rp = input.resourcePolicy;
  if (!rp) {
    if (input.grantAllows) return { decision: "Allow" };
    return identityChain();
  }
  const rpScan = scans.get(rp.policy)!;
  const sameAccount = rp.ownerAccountId === p.accountId;
  const viaRole = (): EvaluationResult => {
    if (!boundaryAllows()) return { decision: "ImplicitDeny", deniedBy: "permissions boundary" };
    if (!sessionAllows()) return { decision: "ImplicitDeny", deniedBy: "session" };
    return { decision: "Allow", matchedStatementSid: rpScan.allowSid };
  };
  if (rp.authoritative) {
    // KMS key policies and role trust policies: the resource policy must allow the caller,
    // directly or by delegating to the caller's account (then IAM must allow too).
    let result: EvaluationResult;
    if (rpScan.allow === "direct") {
      result = sameAccount ? { decision: "Allow", matchedStatementSid: rpScan.allowSid } : identityChain();
    } else if (rpScan.allow === "role") {
      result = sameAccount ? viaRole() : identityChain();
    } else if (rpScan.allow === "account") {
      result = identityChain();
    } else {
      result = { decision: "ImplicitDeny", deniedBy: "resource-based" };
    }
    if (result.decision !== "Allow" && input.grantAllows) return { decision: "Allow" };
    return result;
  }
  if (sameAccount) {
    if (rpScan.allow === "direct") return { decision: "Allow", matchedStatementSid: rpScan.allowSid };
    if (rpScan.allow === "role") return viaRole();
    if (input.grantAllows) return { decision: "Allow" };
    return identityChain();
  }
  // Cross-account: both sides must allow.
  if (rpScan.allow === "none") return { decision: "ImplicitDeny", deniedBy: "resource-based" };
  return identityChain();
}

export function accessDeniedMessage(principalArn: string, action: string, resource: string, r: EvaluationResult): string {
  const type = r.deniedBy ?? "identity-based";
  if (r.decision === "ExplicitDeny") return `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} with an explicit deny in a ${type} policy`;
  return `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource} because no ${type} policy allows the ${action} action`;
}

/** IAM's policy simulator: identity policies (and boundary) only, with the matched statements. */
export function simulate(input: EvaluationInput): {
  decision: "allowed" | "explicitDeny" | "implicitDeny";
  matched: { policyIndex: number; sid?: string; effect: "Allow" | "Deny" }[];
} {
  const matched: { policyIndex: number; sid?: string; effect: "Allow" | "Deny" }[] = [];
  let deny = false;
  let allow = false;
  input.identityPolicies.forEach((pol, policyIndex) => {
    for (const st of pol.statements) {
      if (applies(st, input, false) === "none") continue;
      matched.push({ policyIndex, sid: st.sid, effect: st.effect });
      if (st.effect === "Deny") deny = true;
      else allow = true;
    }
  });
  if (input.permissionsBoundary) {
    const b = scan(input.permissionsBoundary, input, false);
    if (b.deny) deny = true;
    else if (b.allow === "none") allow = false;
  }
  return { decision: deny ? "explicitDeny" : allow ? "allowed" : "implicitDeny", matched };
}
