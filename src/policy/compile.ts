/**
 * Parses, validates and compiles a policy document once into matcher closures (precompiled
 * wildcard matchers, condition tests, principal sets). Compiled policies are cached by kind and
 * exact text in a bounded LRU, so authorizing a request never parses JSON or builds a regex.
 *
 * Validation per kind (messages follow IAM's MalformedPolicyDocument wording where known):
 * - identity, session: no Principal/NotPrincipal; Resource or NotResource required; Sids
 *   alphanumeric and unique.
 * - resource (KMS key policies, bucket policies…): Principal or NotPrincipal required; Resource
 *   optional (absent = every resource).
 * - trust: like resource, but Resource/NotResource are prohibited and actions must be STS ones.
 * - scp: no Principal; Resource optional (absent = "*").
 */
import { compileCondition, type CompiledCondition } from "./conditions.ts";
import { excludedByNotPrincipal, matchPrincipalSpec, parsePrincipal, type PrincipalSpec } from "./principal.ts";
import { parseTemplate, templateMatches, type Template } from "./variables.ts";
import { compileGlob, hasWildcard, type Matcher } from "./wildcard.ts";
import { PolicyError, type CompiledPolicy, type CompiledStatement, type ConditionContext, type PolicyKind, type PrincipalMatch, type RequestPrincipal } from "./types.ts";

const TOP_FIELDS = new Set(["Version", "Id", "Statement"]);
const STATEMENT_FIELDS = new Set(["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal", "Condition"]);
const VERSIONS = new Set(["2012-10-17", "2008-10-17"]);
const ACTION = /^[a-z0-9-]+:[a-z0-9*?_.-]+$/i;
const VENDOR_MESSAGE = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

export const CACHE_LIMIT = 5000;
/**
 * The longest policy document any AWS API accepts (the service models cap policy parameters at
 * 131,072 characters; each kind's own quota, checked where it is written, is far smaller).
 */
export const MAX_DOCUMENT_CHARS = 131_072;
const cache = new Map<PolicyKind, Map<string, PolicyImpl>>();

// ---- elements ----

function stringList(v: unknown, field: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) if (typeof x !== "string") throw new PolicyError(`${field} must be a string or a list of strings`);
  return list as string[];
}

/** Action matching on an already lower-cased action name. */
function compileActions(actions: string[], kind: PolicyKind): (lowerAction: string) => boolean {
  if (actions.length === 0) throw new PolicyError("Policy statement must contain actions.");
  for (const a of actions) {
    if (a === "*") continue;
    if (a.indexOf(":") <= 0) throw new PolicyError(VENDOR_MESSAGE);
    if (!ACTION.test(a)) throw new PolicyError(`Action ${a} is not valid: actions look like service:ActionName, with * and ? as wildcards`);
  }
  if (kind === "trust") {
    for (const a of actions) if (a !== "*" && !a.toLowerCase().startsWith("sts:")) throw new PolicyError("AssumeRole policy may only specify STS AssumeRole actions.");
  }
  if (actions.includes("*")) return () => true;
  const exact = new Set<string>();
  const globs: Matcher[] = [];
  for (const a of actions) {
    if (hasWildcard(a)) globs.push(compileGlob(a, true, true));
    else exact.add(a.toLowerCase());
  }
  if (globs.length === 0) return (a) => exact.has(a);
  return (a) => {
    if (exact.has(a)) return true;
    for (const g of globs) if (g(a)) return true;
    return false;
  };
}

function compileResources(resources: string[], variables: boolean): (resource: string, ctx: ConditionContext) => boolean {
  if (resources.length === 0) throw new PolicyError("Policy statement must contain resources.");
  for (const r of resources) {
    if (r !== "*" && !r.startsWith("arn:")) throw new PolicyError(`Resource ${r} must be in ARN format or "*".`);
  }
  if (resources.includes("*")) return () => true;
  const fixed: Matcher[] = [];
  const templated: Template[] = [];
  for (const r of resources) {
    const t = variables ? parseTemplate(r) : undefined;
    if (t) templated.push(t);
    else fixed.push(compileGlob(r));
  }
  if (templated.length === 0) {
    if (fixed.length === 1) return fixed[0];
    return (r) => {
      for (const m of fixed) if (m(r)) return true;
      return false;
    };
  }
  return (r, ctx) => {
    for (const m of fixed) if (m(r)) return true;
    for (const t of templated) if (templateMatches(t, ctx, r)) return true;
    return false;
  };
}

// ---- statements ----

export class StatementImpl implements CompiledStatement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  readonly notPrincipal: boolean;
  readonly conditionKeys: readonly string[];
  /** false for identity-side statements (no Principal element) */
  readonly hasPrincipal: boolean;
  readonly conditions: readonly CompiledCondition[];
  readonly actionLower: (lowerAction: string) => boolean;
  readonly resource: (resource: string, ctx: ConditionContext) => boolean;
  private readonly principal?: PrincipalSpec;

  constructor(init: {
    sid?: string;
    effect: "Allow" | "Deny";
    actionLower: (a: string) => boolean;
    resource: (r: string, ctx: ConditionContext) => boolean;
    principal?: PrincipalSpec;
    notPrincipal: boolean;
    conditions: CompiledCondition[];
  }) {
    this.sid = init.sid;
    this.effect = init.effect;
    this.actionLower = init.actionLower;
    this.resource = init.resource;
    this.principal = init.principal;
    this.notPrincipal = init.notPrincipal;
    this.hasPrincipal = init.principal !== undefined;
    this.conditions = init.conditions;
    this.conditionKeys = init.conditions.map((c) => c.key);
  }

  matchesAction(action: string): boolean {
    return this.actionLower(action.toLowerCase());
  }

  matchesResource(resource: string, ctx: ConditionContext): boolean {
    return this.resource(resource, ctx);
  }

  matchPrincipal(p: RequestPrincipal): PrincipalMatch {
    const spec = this.principal;
    if (spec === undefined) return "direct";
    if (this.notPrincipal) return excludedByNotPrincipal(spec, p) ? "none" : "direct";
    return matchPrincipalSpec(spec, p);
  }

  matchesConditions(ctx: ConditionContext): boolean {
    const c = this.conditions;
    for (let i = 0; i < c.length; i++) if (!c[i].test(ctx)) return false;
    return true;
  }
}

function compileStatement(raw: unknown, kind: PolicyKind, variables: boolean): StatementImpl {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new PolicyError("Syntax errors in policy.");
  const s = raw as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!STATEMENT_FIELDS.has(k)) throw new PolicyError(`Unknown field ${k}`);

  if (s.Sid !== undefined) {
    if (typeof s.Sid !== "string") throw new PolicyError("Statement IDs (SID) must be strings.");
    if ((kind === "identity" || kind === "session") && !/^[0-9A-Za-z]*$/.test(s.Sid)) {
      throw new PolicyError("Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*");
    }
  }
  if (s.Effect === undefined) throw new PolicyError("Missing required field Effect");
  if (s.Effect !== "Allow" && s.Effect !== "Deny") throw new PolicyError(`Invalid effect: ${typeof s.Effect === "string" ? s.Effect : JSON.stringify(s.Effect)}`);

  if (s.Action !== undefined && s.NotAction !== undefined) throw new PolicyError("Statement cannot contain both Action and NotAction.");
  if (s.Action === undefined && s.NotAction === undefined) throw new PolicyError("Policy statement must contain actions.");
  if (s.Resource !== undefined && s.NotResource !== undefined) throw new PolicyError("Statement cannot contain both Resource and NotResource.");
  if (s.Principal !== undefined && s.NotPrincipal !== undefined) throw new PolicyError("Statement cannot contain both Principal and NotPrincipal.");

  const hasPrincipal = s.Principal !== undefined || s.NotPrincipal !== undefined;
  const hasResource = s.Resource !== undefined || s.NotResource !== undefined;
  switch (kind) {
    case "identity":
    case "session":
      if (hasPrincipal) throw new PolicyError("Policy document should not specify a principal.");
      if (!hasResource) throw new PolicyError("Policy statement must contain resources.");
      break;
    case "scp":
      if (hasPrincipal) throw new PolicyError("Policy document should not specify a principal.");
      break;
    case "resource":
      if (!hasPrincipal) throw new PolicyError("Missing required field Principal");
      break;
    case "trust":
      if (!hasPrincipal) throw new PolicyError("Missing required field Principal");
      if (s.Resource !== undefined) throw new PolicyError("Has prohibited field Resource");
      if (s.NotResource !== undefined) throw new PolicyError("Has prohibited field NotResource");
      break;
  }

  const notAction = s.NotAction !== undefined;
  const actions = compileActions(stringList(notAction ? s.NotAction : s.Action, notAction ? "NotAction" : "Action"), kind);
  const actionLower = notAction ? (a: string) => !actions(a) : actions;

  let resource: (r: string, ctx: ConditionContext) => boolean = () => true;
  if (hasResource) {
    const notResource = s.NotResource !== undefined;
    const m = compileResources(stringList(notResource ? s.NotResource : s.Resource, notResource ? "NotResource" : "Resource"), variables);
    resource = notResource ? (r, ctx) => !m(r, ctx) : m;
  }

  const principal = hasPrincipal ? parsePrincipal(s.Principal ?? s.NotPrincipal) : undefined;

  const conditions: CompiledCondition[] = [];
  if (s.Condition !== undefined) {
    if (!s.Condition || typeof s.Condition !== "object" || Array.isArray(s.Condition)) throw new PolicyError("Syntax errors in policy.");
    for (const [op, block] of Object.entries(s.Condition as Record<string, unknown>)) {
      if (!block || typeof block !== "object" || Array.isArray(block)) throw new PolicyError("Syntax errors in policy.");
      for (const [key, values] of Object.entries(block as Record<string, unknown>)) conditions.push(compileCondition(op, key, values, variables));
    }
  }

  return new StatementImpl({
    sid: s.Sid as string | undefined,
    effect: s.Effect,
    actionLower,
    resource,
    principal,
    notPrincipal: s.NotPrincipal !== undefined,
    conditions,
  });
}

// ---- documents ----

export class PolicyImpl implements CompiledPolicy {
  /** cache hits, for the cache's recency refresh */
  uses = 0;
  constructor(
    readonly text: string,
    readonly version: string,
    readonly kind: PolicyKind,
    readonly statements: readonly StatementImpl[],
  ) {}
}

function compileUncached(doc: string, kind: PolicyKind): PolicyImpl {
  if (doc.length > MAX_DOCUMENT_CHARS) throw new PolicyError(`Policy document exceeds the maximum length of ${MAX_DOCUMENT_CHARS} characters.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(doc);
  } catch {
    throw new PolicyError("Syntax errors in policy.");
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new PolicyError("Syntax errors in policy.");
  const p = parsed as Record<string, unknown>;
  for (const k of Object.keys(p)) if (!TOP_FIELDS.has(k)) throw new PolicyError(`Unknown field ${k}`);
  // IAM treats a document without Version as the 2008-10-17 language (no policy variables).
  const version = p.Version === undefined ? "2008-10-17" : p.Version;
  if (typeof version !== "string" || !VERSIONS.has(version)) throw new PolicyError("The policy must contain a valid version string");
  if (p.Id !== undefined && typeof p.Id !== "string") throw new PolicyError("Syntax errors in policy.");
  if (p.Statement === undefined) throw new PolicyError("Missing required field Statement");
  const raw = Array.isArray(p.Statement) ? p.Statement : [p.Statement];
  if (raw.length === 0) throw new PolicyError("Missing required field Statement");
  const variables = version === "2012-10-17";
  const statements = raw.map((s) => compileStatement(s, kind, variables));
  if (kind === "identity" || kind === "session") {
    const seen = new Set<string>();
    for (const st of statements) {
      if (st.sid === undefined || st.sid === "") continue;
      if (seen.has(st.sid)) throw new PolicyError("Statement IDs (SID) in a single policy must be unique.");
      seen.add(st.sid);
    }
  }
  return new PolicyImpl(doc, version, kind, statements);
}

/**
 * Parses, validates and compiles a policy document; throws PolicyError when it is malformed.
 * Results are cached per (kind, exact text) in an LRU of CACHE_LIMIT entries.
 */
export function compilePolicy(doc: string, kind: PolicyKind): CompiledPolicy {
  // Keyed by the document string itself: callers pass the same stored string every time, and
  // V8 keeps a string's hash, so a hit costs one lookup with no concatenation or rehashing.
  let byDoc = cache.get(kind);
  if (!byDoc) cache.set(kind, (byDoc = new Map()));
  const hit = byDoc.get(doc);
  if (hit !== undefined) {
    // Refresh recency on every 64th hit only, to keep hits cheap.
    if (++hit.uses % 64 === 0) {
      byDoc.delete(doc);
      byDoc.set(doc, hit);
    }
    return hit;
  }
  const compiled = compileUncached(doc, kind);
  if (compiledCacheSize() >= CACHE_LIMIT) evictOne();
  byDoc.set(doc, compiled);
  return compiled;
}

const DENY_ALL_IDENTITY = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}';
const DENY_ALL_PRINCIPALS = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]}';

/**
 * Compiles a document read back from storage for evaluation. Every write path validates first,
 * so a stored document that does not compile (an older data dir, a hand-edited database) is not
 * something AWS could hold: it fails closed, as a policy that denies every action, instead of
 * failing the request or silently dropping the document's own denials.
 */
export function compileStoredPolicy(doc: string, kind: PolicyKind): CompiledPolicy {
  try {
    return compilePolicy(doc, kind);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return compilePolicy(kind === "resource" || kind === "trust" ? DENY_ALL_PRINCIPALS : DENY_ALL_IDENTITY, kind);
  }
}

function evictOne(): void {
  let largest: Map<string, PolicyImpl> | undefined;
  for (const m of cache.values()) if (!largest || m.size > largest.size) largest = m;
  if (largest) largest.delete(largest.keys().next().value!);
}

/** For tests: the number of cached compiled policies. */
export function compiledCacheSize(): number {
  let n = 0;
  for (const m of cache.values()) n += m.size;
  return n;
}
