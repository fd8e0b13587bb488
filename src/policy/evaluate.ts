/**
 * IAM's evaluation logic (reference_policies_evaluation-logic_policy-eval-denyallow), in order:
 *
 * 1. An explicit Deny in any supplied policy wins (reported in the order SCP, resource-based,
 *    identity-based, permissions boundary, session).
 * 2. RCPs of the resource's account, then SCPs of the caller's: every level (root → OU … →
 *    account) needs an applicable Allow.
 * 3. The resource-based policy:
 *    - same account, non-authoritative: naming the user / session / federated-user ARN grants on
 *      its own; naming the role grants, but an implicit deny in the boundary or session
 *      policies still blocks; naming the account delegates to IAM (identity chain below).
 *    - authoritative (KMS key policies, role trust policies): the policy must allow the caller
 *      itself (as above) or its account; when it only allows the account, the identity chain
 *      must allow too; when it allows nothing for the caller → "resource-based" implicit deny.
 *    - cross-account: the resource policy must allow the caller (or its account) AND the caller's
 *      identity chain must allow; with no resource policy at all, a resource whose ARN names
 *      another account is an implicit "resource-based" deny (root included).
 *    - AWS service principals are granted only by a resource policy (`{"Service": …}` or "*").
 * 4. The identity chain: the account's root user may do anything in its account; otherwise an
 *    identity-based Allow, then the permissions boundary (when set), then session policies (when
 *    given; a federated-user session without session policies has no permissions).
 * KMS grants (`grantAllows`) are an allow source that satisfies steps 3–4, after SCPs, and that
 * an explicit Deny still beats.
 *
 * Also from AWS's NotPrincipal page: a resource-policy Deny with NotPrincipal always applies to
 * a caller that has a permissions boundary, whatever the NotPrincipal element lists.
 */
import { StatementImpl } from "./compile.ts";
import type { CompiledPolicy, EvaluationInput, EvaluationResult, PolicyType, PrincipalMatch, RequestPrincipal, ConditionContext } from "./types.ts";

const NONE = 0;
const ACCOUNT = 1;
const ROLE = 2;
const DIRECT = 3;
const RANK: Record<PrincipalMatch, number> = { none: NONE, account: ACCOUNT, role: ROLE, direct: DIRECT };

interface Req {
  p: RequestPrincipal;
  action: string;
  resource: string;
  ctx: ConditionContext;
  hasBoundary: boolean;
}

/** The principal rank with which a statement applies to the request (NONE: it does not). */
function applies(st: StatementImpl, r: Req): number {
  if (!st.actionLower(r.action)) return NONE;
  if (!st.resource(r.resource, r.ctx)) return NONE;
  let rank = DIRECT;
  if (st.hasPrincipal) {
    rank = st.notPrincipal && st.effect === "Deny" && r.hasBoundary ? DIRECT : RANK[st.matchPrincipal(r.p)];
    if (rank === NONE) return NONE;
  }
  return st.matchesConditions(r.ctx) ? rank : NONE;
}

/** Scan result of one policy: its first applicable Deny, else its best Allow (rank + sid). */
class Scan {
  rank = NONE;
  sid: string | undefined = undefined;
  deny: StatementImpl | undefined = undefined;
}

function scan(policy: CompiledPolicy, r: Req, out: Scan): Scan {
  out.rank = NONE;
  out.sid = undefined;
  out.deny = undefined;
  const sts = policy.statements as readonly StatementImpl[];
  for (let i = 0; i < sts.length; i++) {
    const st = sts[i];
    const rank = applies(st, r);
    if (rank === NONE) continue;
    if (st.effect === "Deny") {
      out.deny = st;
      return out;
    }
    if (rank > out.rank) {
      out.rank = rank;
      out.sid = st.sid;
    }
  }
  return out;
}

const deny = (type: PolicyType, sid: string | undefined): EvaluationResult => ({ decision: "ExplicitDeny", deniedBy: type, matchedStatementSid: sid });
const implicit = (type: PolicyType): EvaluationResult => ({ decision: "ImplicitDeny", deniedBy: type });
const allow = (sid: string | undefined): EvaluationResult => (sid === undefined ? { decision: "Allow" } : { decision: "Allow", matchedStatementSid: sid });

const PASSED = 0;
const BLOCKED = 1;
const DENIED = 2;

/** Organization policy levels: DENIED (an explicit Deny, left in `s`), BLOCKED (a level without an Allow) or PASSED. */
function scanLevels(levels: CompiledPolicy[][], r: Req, s: Scan): number {
  let result = PASSED;
  for (const level of levels) {
    let levelAllows = false;
    for (const pol of level) {
      if (scan(pol, r, s).deny) return DENIED;
      if (s.rank !== NONE) levelAllows = true;
    }
    if (!levelAllows) result = BLOCKED;
  }
  return result;
}

export function evaluate(input: EvaluationInput): EvaluationResult {
  const p = input.principal;
  const boundary = input.permissionsBoundary;
  const r: Req = { p, action: input.action.toLowerCase(), resource: input.resource, ctx: input.context, hasBoundary: boundary !== undefined };
  const s = new Scan();

  // 1. Explicit deny anywhere; remember what allows.
  let rcpBlocked = false;
  if (input.rcpLevels !== undefined) {
    const blocked = scanLevels(input.rcpLevels, r, s);
    if (blocked === DENIED) return deny("resource control", s.deny!.sid);
    rcpBlocked = blocked === BLOCKED;
  }
  let scpBlocked = false;
  if (input.scpLevels !== undefined) {
    const blocked = scanLevels(input.scpLevels, r, s);
    if (blocked === DENIED) return deny("service control", s.deny!.sid);
    scpBlocked = blocked === BLOCKED;
  }
  const rp = input.resourcePolicy;
  let rpRank = NONE;
  let rpSid: string | undefined;
  if (rp !== undefined) {
    if (scan(rp.policy, r, s).deny) return deny("resource-based", s.deny!.sid);
    rpRank = s.rank;
    rpSid = s.sid;
  }
  let idAllows = false;
  let idSid: string | undefined;
  for (const pol of input.identityPolicies) {
    if (scan(pol, r, s).deny) return deny("identity-based", s.deny!.sid);
    if (s.rank !== NONE && !idAllows) {
      idAllows = true;
      idSid = s.sid;
    }
  }
  let boundaryAllows = true;
  if (boundary !== undefined) {
    if (scan(boundary, r, s).deny) return deny("permissions boundary", s.deny!.sid);
    boundaryAllows = s.rank !== NONE;
  }
  const sessions = input.sessionPolicies;
  let sessionAllows = p.type !== "FederatedUser";
  if (sessions !== undefined && sessions.length > 0) {
    sessionAllows = false;
    for (const pol of sessions) {
      if (scan(pol, r, s).deny) return deny("session", s.deny!.sid);
      if (s.rank !== NONE) sessionAllows = true;
    }
  }

  // 2. RCPs and SCPs.
  if (rcpBlocked) return implicit("resource control");
  if (scpBlocked) return implicit("service control");

  // 3. The resource-based policy (4, the identity chain, in identityChain()).
  const st: ChainState = { p, idAllows, idSid, boundaryAllows, sessionAllows };
  let result: EvaluationResult;
  if (rp === undefined) {
    // Without a resource policy, nothing in the resource's account lets another account in: the
    // identity side (root included) only ever speaks for its own account's resources.
    const owner = resourceAccount(input.resource);
    result = owner !== undefined && owner !== p.accountId ? implicit("resource-based") : identityChain(st);
  } else if (rpRank === NONE) {
    result = rp.authoritative || rp.ownerAccountId !== p.accountId ? implicit("resource-based") : identityChain(st);
  } else if (p.type === "AWSService" || p.type === "Anonymous") {
    // Service principals and anonymous callers have no identity side: the resource policy decides.
    result = allow(rpSid);
  } else if (rp.ownerAccountId !== p.accountId) {
    result = identityChain(st);
  } else if (rpRank === DIRECT) {
    result = allow(rpSid);
  } else if (rpRank === ROLE) {
    result = boundaryAndSession(st, rpSid);
  } else {
    result = identityChain(st);
  }
  if (result.decision !== "Allow" && input.grantAllows === true) return { decision: "Allow" };
  return result;
}

/** The account an ARN names (its fifth field, when that is an account id), else undefined. */
export function resourceAccount(resource: string): string | undefined {
  if (!resource.startsWith("arn:")) return undefined;
  let at = 0;
  for (let i = 0; i < 4; i++) {
    at = resource.indexOf(":", at) + 1;
    if (at === 0) return undefined;
  }
  const end = resource.indexOf(":", at);
  const account = end < 0 ? "" : resource.slice(at, end);
  return /^\d{12}$/.test(account) ? account : undefined;
}

/** What the identity side allows (no closures on the hot path: tsx's keepNames makes them costly). */
interface ChainState {
  p: RequestPrincipal;
  idAllows: boolean;
  idSid: string | undefined;
  boundaryAllows: boolean;
  sessionAllows: boolean;
}

function boundaryAndSession(st: ChainState, sid: string | undefined): EvaluationResult {
  if (!st.boundaryAllows) return implicit("permissions boundary");
  if (!st.sessionAllows) return implicit("session");
  return allow(sid);
}

/** The identity chain: root in its account; else identity ∩ boundary ∩ session policies. */
function identityChain(st: ChainState): EvaluationResult {
  const type = st.p.type;
  if (type === "Root") return allow(undefined);
  if (type === "AWSService" || type === "Anonymous") return implicit("resource-based");
  if (!st.idAllows) return implicit("identity-based");
  return boundaryAndSession(st, st.idSid);
}

/** How AWS names each policy type in AccessDenied messages (troubleshoot_access-denied). */
const PHRASE: Record<PolicyType, string> = {
  "identity-based": "an identity-based policy",
  "resource-based": "a resource-based policy",
  "permissions boundary": "a permissions boundary",
  session: "a session policy",
  "service control": "a service control policy",
  "resource control": "a resource control policy",
};

/**
 * AWS's AccessDenied message text:
 * - explicit: `… with an explicit deny in an identity-based policy` / `a resource-based policy` /
 *   `a permissions boundary` / `a session policy` / `a service control policy`;
 * - implicit: `… because no identity-based policy allows the <action> action` (likewise
 *   `resource-based policy`, `session policy`, `permissions boundary`); SCP and RCP denials always read
 *   as explicit ("even if the denial is implicit", per AWS's troubleshooting page).
 */
export function accessDeniedMessage(principalArn: string, action: string, resource: string, r: EvaluationResult): string {
  const type: PolicyType = r.deniedBy ?? "identity-based";
  const head = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource}`;
  if (r.decision === "ExplicitDeny" || type === "service control" || type === "resource control") return `${head} with an explicit deny in ${PHRASE[type]}`;
  return `${head} because no ${PHRASE[type].replace(/^an? /, "")} allows the ${action} action`;
}

export interface SimulationResult {
  decision: "allowed" | "explicitDeny" | "implicitDeny";
  /** every identity-policy statement that applies (Allow and Deny), in policy / statement order */
  matched: { policyIndex: number; sid?: string; effect: "Allow" | "Deny" }[];
}

/**
 * IAM's policy simulator on the same engine: identity policies (plus the permissions boundary
 * and session policies when given) without the resource policy, SCPs or the root shortcut.
 */
export function simulate(input: EvaluationInput): SimulationResult {
  const r: Req = { p: input.principal, action: input.action.toLowerCase(), resource: input.resource, ctx: input.context, hasBoundary: input.permissionsBoundary !== undefined };
  const matched: SimulationResult["matched"] = [];
  let denied = false;
  let allowed = false;
  input.identityPolicies.forEach((pol, policyIndex) => {
    for (const st of pol.statements as readonly StatementImpl[]) {
      if (applies(st, r) === NONE) continue;
      matched.push(st.sid === undefined ? { policyIndex, effect: st.effect } : { policyIndex, sid: st.sid, effect: st.effect });
      if (st.effect === "Deny") denied = true;
      else allowed = true;
    }
  });
  const s = new Scan();
  if (input.permissionsBoundary !== undefined) {
    if (scan(input.permissionsBoundary, r, s).deny) denied = true;
    else if (s.rank === NONE) allowed = false;
  }
  const sessions = input.sessionPolicies;
  if (sessions !== undefined && sessions.length > 0) {
    let any = false;
    for (const pol of sessions) {
      if (scan(pol, r, s).deny) denied = true;
      else if (s.rank !== NONE) any = true;
    }
    if (!any) allowed = false;
  }
  return { decision: denied ? "explicitDeny" : allowed ? "allowed" : "implicitDeny", matched };
}
