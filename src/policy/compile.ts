/**
 * Parses, validates and compiles a policy document once; compiled policies are cached by text.
 * Validation follows IAM's MalformedPolicyDocument rules for each kind of policy.
 */
import { compileCondition, type CompiledCondition } from "./conditions.ts";
import { globMatch, globRegex, hasWildcard } from "./wildcard.ts";
import { hasVariables, resolveTemplate, resolvedRegex, resolvedText } from "./variables.ts";
import { PolicyError, type CompiledPolicy, type CompiledStatement, type ConditionContext, type PolicyKind, type PrincipalMatch, type RequestPrincipal } from "./types.ts";

const STATEMENT_FIELDS = new Set(["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"]);
const TOP_FIELDS = new Set(["Version", "Id", "Statement"]);
const ACTION_RE = /^[a-zA-Z0-9-]+:[a-zA-Z0-9*?_-]*$/;

const cache = new Map<string, CompiledPolicy>();
const CACHE_LIMIT = 5000;

function asList(v: unknown, what: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) if (typeof x !== "string") throw new PolicyError(`${what} must be a string or a list of strings`);
  return list as string[];
}

function actionMatcher(actions: string[]): (a: string) => boolean {
  for (const a of actions) {
    if (a !== "*" && !ACTION_RE.test(a)) throw new PolicyError(`Action ${a} is not valid: actions must look like service:Action`);
  }
  if (actions.includes("*")) return () => true;
  const exact = new Set(actions.filter((a) => !hasWildcard(a)).map((a) => a.toLowerCase()));
  const globs = actions.filter(hasWildcard).map((a) => globRegex(a, true));
  return (a) => exact.has(a.toLowerCase()) || globs.some((g) => g.test(a));
}

function resourceMatcher(resources: string[], variables: boolean): (r: string, ctx: ConditionContext) => boolean {
  for (const r of resources) {
    if (r !== "*" && !r.startsWith("arn:")) throw new PolicyError(`Resource ${r} must be in ARN format or "*".`);
  }
  if (resources.includes("*")) return () => true;
  const matchers = resources.map((pattern) => {
    if (variables && hasVariables(pattern)) {
      return (r: string, ctx: ConditionContext) => {
        const resolved = resolveTemplate(pattern, ctx);
        return resolved ? resolvedRegex(resolved).test(r) : false;
      };
    }
    return (r: string) => r === "*" || globMatch(pattern, r);
  });
  return (r, ctx) => matchers.some((m) => m(r, ctx));
}

type PrincipalSpec = { any: boolean; aws: string[]; service: string[]; federated: string[] };

function parsePrincipal(v: unknown, field: string): PrincipalSpec {
  if (v === "*") return { any: true, aws: [], service: [], federated: [] };
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new PolicyError(`Invalid principal in policy: ${field} must be "*" or an object`);
  const spec: PrincipalSpec = { any: false, aws: [], service: [], federated: [] };
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const list = asList(val, `${field}.${k}`);
    if (k === "AWS") {
      for (const p of list) {
        if (p !== "*" && !/^\d{12}$/.test(p) && !/^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):/.test(p)) throw new PolicyError(`Invalid principal in policy: "AWS":"${p}"`);
      }
      spec.aws.push(...list);
    } else if (k === "Service") spec.service.push(...list.map((s) => s.toLowerCase()));
    else if (k === "Federated") spec.federated.push(...list);
    else if (k === "CanonicalUser") continue;
    else throw new PolicyError(`Invalid principal in policy: unknown principal type ${k}`);
  }
  return spec;
}

const rank: Record<PrincipalMatch, number> = { none: 0, account: 1, role: 2, direct: 3 };
const better = (a: PrincipalMatch, b: PrincipalMatch) => (rank[b] > rank[a] ? b : a);

function matchSpec(spec: PrincipalSpec, p: RequestPrincipal): PrincipalMatch {
  if (spec.any) return "direct";
  if (p.type === "AWSService") {
    const name = (p.serviceName ?? p.arn).toLowerCase();
    return spec.service.includes(name) ? "direct" : "none";
  }
  let m: PrincipalMatch = "none";
  for (const a of spec.aws) {
    if (a === "*") m = better(m, "direct");
    else if (a === p.accountId || a === `arn:aws:iam::${p.accountId}:root`) m = better(m, p.type === "Root" ? "direct" : "account");
    else if (a === p.arn || (hasWildcard(a) && globMatch(a, p.arn))) m = better(m, "direct");
    else if (p.roleArn && (a === p.roleArn || (hasWildcard(a) && globMatch(a, p.roleArn)))) m = better(m, "role");
  }
  return m;
}

function compileStatement(raw: unknown, index: number, kind: PolicyKind, variables: boolean): CompiledStatement {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new PolicyError("Statement must be an object or a list of objects");
  const s = raw as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!STATEMENT_FIELDS.has(k)) throw new PolicyError(`Unknown field ${k}`);
  if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new PolicyError(`Invalid effect: ${String(s.Effect)}`);
  if (s.Sid !== undefined && (typeof s.Sid !== "string")) throw new PolicyError("Statement IDs (SID) must be strings");
  if (s.Action !== undefined && s.NotAction !== undefined) throw new PolicyError("Statement cannot have both Action and NotAction");
  if (s.Action === undefined && s.NotAction === undefined) throw new PolicyError("Policy statement must contain actions.");
  if (s.Resource !== undefined && s.NotResource !== undefined) throw new PolicyError("Statement cannot have both Resource and NotResource");
  if (s.Principal !== undefined && s.NotPrincipal !== undefined) throw new PolicyError("Statement cannot have both Principal and NotPrincipal");
  const hasPrincipal = s.Principal !== undefined || s.NotPrincipal !== undefined;
  if ((kind === "identity" || kind === "session" || kind === "scp") && hasPrincipal) throw new PolicyError("Policy document should not specify a principal.");
  if ((kind === "resource" || kind === "trust") && !hasPrincipal) throw new PolicyError("Missing required field Principal");
  if (kind === "identity" && s.Resource === undefined && s.NotResource === undefined) throw new PolicyError("Policy statement must contain resources.");
  if (kind === "trust" && (s.Resource !== undefined || s.NotResource !== undefined)) throw new PolicyError("Has prohibited field Resource");

  const actions = actionMatcher(asList(s.Action ?? s.NotAction, "Action"));
  const matchesAction = s.NotAction !== undefined ? (a: string) => !actions(a) : actions;
  let matchesResource: (r: string, ctx: ConditionContext) => boolean = () => true;
  if (s.Resource !== undefined || s.NotResource !== undefined) {
    const m = resourceMatcher(asList(s.Resource ?? s.NotResource, "Resource"), variables);
    matchesResource = s.NotResource !== undefined ? (r, ctx) => !m(r, ctx) : m;
  }
  let matchPrincipal: (p: RequestPrincipal) => PrincipalMatch = () => "direct";
  if (s.Principal !== undefined) {
    const spec = parsePrincipal(s.Principal, "Principal");
    matchPrincipal = (p) => matchSpec(spec, p);
  } else if (s.NotPrincipal !== undefined) {
    const spec = parsePrincipal(s.NotPrincipal, "NotPrincipal");
    // Only a principal named exactly is exempt: listing its account (or its role) exempts the
    // account root (or role) alone, which is why AWS asks Deny + NotPrincipal to list all three.
    matchPrincipal = (p) => (matchSpec(spec, p) === "direct" ? "none" : "direct");
  }
  const conditions: CompiledCondition[] = [];
  if (s.Condition !== undefined) {
    if (!s.Condition || typeof s.Condition !== "object" || Array.isArray(s.Condition)) throw new PolicyError("Condition must be an object");
    for (const [op, block] of Object.entries(s.Condition as Record<string, unknown>)) {
      if (!block || typeof block !== "object" || Array.isArray(block)) throw new PolicyError(`Condition ${op} must map condition keys to values`);
      for (const [key, values] of Object.entries(block as Record<string, unknown>)) conditions.push(compileCondition(op, key, values, variables));
    }
  }
  return {
    sid: s.Sid as string | undefined,
    effect: s.Effect,
    matchesAction,
    matchesResource,
    matchPrincipal,
    matchesConditions: conditions.length === 0 ? () => true : (ctx) => conditions.every((c) => c(ctx)),
  };
}

export function compilePolicy(doc: string, kind: PolicyKind): CompiledPolicy {
  const id = `${kind}\u0000${doc}`;
  const hit = cache.get(id);
  if (hit) return hit;
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    throw new PolicyError("Syntax errors in policy.");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new PolicyError("Syntax errors in policy.");
  const p = parsed as Record<string, unknown>;
  for (const k of Object.keys(p)) if (!TOP_FIELDS.has(k)) throw new PolicyError(`Unknown field ${k}`);
  const version = p.Version === undefined ? "2008-10-17" : p.Version;
  if (version !== "2012-10-17" && version !== "2008-10-17") throw new PolicyError(`The policy must contain a valid version string`);
  if (p.Statement === undefined) throw new PolicyError("Missing required field Statement");
  const raw = Array.isArray(p.Statement) ? p.Statement : [p.Statement];
  if (raw.length === 0) throw new PolicyError("Missing required field Statement");
  const variables = version === "2012-10-17";
  const compiled: CompiledPolicy = { text: doc, version, statements: raw.map((s, i) => compileStatement(s, i, kind, variables)) };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(id, compiled);
  return compiled;
}

export { resolvedText };
