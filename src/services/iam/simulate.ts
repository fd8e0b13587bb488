/**
 * IAM's policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) and
 * GetContextKeysForPrincipalPolicy, on the same engine that authorizes real requests
 * (src/policy simulate/evaluate). Like AWS's simulator, it uses only the context entries the
 * caller gives; it reports which statements matched, where they are in their documents, and
 * which condition keys were missing.
 */
import type {
  ContextEntry,
  EvaluationResult,
  GetContextKeysForPolicyResponse,
  GetContextKeysForPrincipalPolicyRequest,
  SimulateCustomPolicyRequest,
  SimulatePolicyResponse,
  SimulatePrincipalPolicyRequest,
  Statement,
} from "@aws-sdk/client-iam";
import { compilePolicy, evaluate, simulate, type CompiledPolicy, type ContextValue, type EvaluationInput, type PolicyKind, type RequestPrincipal } from "../../policy/index.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck, type OperationTable } from "../../kernel/operation.ts";
import { invalidInput, noSuchEntity, paginate, parseIamArn } from "./common.ts";
import { authorizeOnAnyResource, beginIamCall, iamChecks, iamResolvers, type IamEnv } from "./ops.ts";
import type { GroupRec, IamState, NamedPolicy, RoleRec, UserRec } from "./state.ts";

type Decision = "allowed" | "explicitDeny" | "implicitDeny";

/** One policy taking part in a simulation, with what the response says about it. */
export interface SourcePolicy {
  id: string;
  type: string;
  doc: string;
  compiled: CompiledPolicy;
  /** per statement: its span in the document and the condition keys it uses */
  statements: StatementInfo[];
}

interface StatementInfo {
  start: { Line: number; Column: number };
  end: { Line: number; Column: number };
  conditionKeys: string[];
}

// ---- statement positions and condition keys ----

function lineCol(doc: string, offset: number): { Line: number; Column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (doc[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { Line: line, Column: offset - lineStart + 1 };
}

/** Skips a JSON string starting at i (a quote); returns the index after it. */
function skipString(doc: string, i: number): number {
  i++;
  while (i < doc.length && doc[i] !== '"') i += doc[i] === "\\" ? 2 : 1;
  return i + 1;
}

/** Returns the index just after the JSON value starting at i. */
function skipValue(doc: string, i: number): number {
  if (doc[i] === '"') return skipString(doc, i);
  if (doc[i] === "{" || doc[i] === "[") {
    let depth = 0;
    for (; i < doc.length; i++) {
      const c = doc[i];
      if (c === '"') {
        i = skipString(doc, i) - 1;
        continue;
      }
      if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return i;
  }
  while (i < doc.length && !/[,}\]\s]/.test(doc[i])) i++;
  return i;
}

const skipWs = (doc: string, i: number) => {
  while (i < doc.length && /\s/.test(doc[i])) i++;
  return i;
};

/**
 * Spans of each statement in a (valid) policy document: [start, end] offsets of the statement
 * object, the start including the comma before it for every statement but the first, as AWS's
 * simulator reports it.
 */
export function statementSpans(doc: string): [number, number][] {
  let i = skipWs(doc, 0);
  if (doc[i] !== "{") return [];
  i++;
  for (;;) {
    i = skipWs(doc, i);
    if (doc[i] !== '"') return [];
    const keyEnd = skipString(doc, i);
    const key = JSON.parse(doc.slice(i, keyEnd)) as string;
    i = skipWs(doc, keyEnd);
    if (doc[i] !== ":") return [];
    i = skipWs(doc, i + 1);
    if (key === "Statement") {
      if (doc[i] === "{") return [[i, skipValue(doc, i) - 1]];
      if (doc[i] !== "[") return [];
      const spans: [number, number][] = [];
      let j = skipWs(doc, i + 1);
      let delimiter = -1;
      while (j < doc.length && doc[j] !== "]") {
        const end = skipValue(doc, j);
        spans.push([delimiter >= 0 ? delimiter : j, end - 1]);
        j = skipWs(doc, end);
        if (doc[j] === ",") {
          delimiter = j;
          j = skipWs(doc, j + 1);
        }
      }
      return spans;
    }
    i = skipWs(doc, skipValue(doc, i));
    if (doc[i] !== ",") return [];
    i++;
  }
}

/** Condition keys (as written) of each statement, plus keys used as policy variables. */
function conditionKeysOf(statement: unknown): string[] {
  const keys: string[] = [];
  const s = statement as Record<string, unknown>;
  if (s && typeof s.Condition === "object" && s.Condition) {
    for (const block of Object.values(s.Condition as Record<string, unknown>)) {
      if (block && typeof block === "object") keys.push(...Object.keys(block as object));
    }
  }
  const text = JSON.stringify([s?.Resource, s?.NotResource, s?.Condition]);
  keys.push(...variableKeysIn(text));
  return keys;
}

/** Keys named by `${key}` / `${key, 'default'}` variables in text; one linear scan, no regex. */
function variableKeysIn(text: string): string[] {
  const keys: string[] = [];
  let end = -1; // the first "}" after the current "${", reused while it still lies ahead
  for (let start = text.indexOf("${"); start >= 0; start = text.indexOf("${", start + 2)) {
    if (end < start + 2) end = text.indexOf("}", start + 2);
    if (end < 0) break;
    const inner = text.slice(start + 2, end);
    const comma = inner.indexOf(",");
    const key = (comma < 0 ? inner : inner.slice(0, comma)).trim();
    if (key && !/[*?$]/.test(key)) keys.push(key);
  }
  return keys;
}

export function sourcePolicy(id: string, type: string, doc: string, kind: PolicyKind): SourcePolicy {
  let compiled: CompiledPolicy;
  try {
    compiled = compilePolicy(doc, kind);
  } catch (e) {
    throw invalidInput(e instanceof Error && e.message ? e.message : "Syntax errors in policy.");
  }
  const parsed = JSON.parse(doc) as { Statement: unknown };
  const raw = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
  const spans = statementSpans(doc);
  const statements = raw.map((st, i) => {
    const span = spans[i] ?? [0, doc.length - 1];
    return { start: lineCol(doc, span[0]), end: lineCol(doc, span[1]), conditionKeys: conditionKeysOf(st) };
  });
  return { id, type, doc, compiled, statements };
}

// ---- context entries ----

function contextFrom(entries: ContextEntry[] | undefined): Map<string, ContextValue> {
  const ctx = new Map<string, ContextValue>();
  for (const e of entries ?? []) {
    if (!e.ContextKeyName) continue;
    const values = e.ContextKeyValues ?? [];
    const type = e.ContextKeyType ?? "string";
    let v: ContextValue;
    if (type.endsWith("List")) v = values;
    else if (type === "boolean") v = values[0] === "true";
    else if (type === "numeric") v = Number(values[0]);
    else if (type === "date") v = /^\d+$/.test(values[0] ?? "") ? new Date(Number(values[0]) * 1000) : new Date(values[0]);
    else v = values[0] ?? "";
    ctx.set(e.ContextKeyName.toLowerCase(), v);
  }
  return ctx;
}

// ---- the simulation ----

export interface SimulationSpec {
  identity: SourcePolicy[];
  boundary?: SourcePolicy;
  resourcePolicy?: SourcePolicy;
  principal: RequestPrincipal;
  resourceOwner: string;
  actions: string[];
  resources: string[];
  /** the caller's context entries (SimulatePrincipalPolicy reports the keys it lacks) */
  context: Map<string, ContextValue>;
}

interface PerResource {
  decision: Decision;
  matched: Statement[];
  missing: string[];
  boundaryAllows?: boolean;
}

function statementRef(p: SourcePolicy, i: number): Statement {
  return { SourcePolicyId: p.id, SourcePolicyType: p.type as Statement["SourcePolicyType"], StartPosition: p.statements[i].start, EndPosition: p.statements[i].end };
}

function simulateOne(spec: SimulationSpec, action: string, resource: string): PerResource {
  const input: EvaluationInput = {
    principal: spec.principal,
    action,
    resource,
    context: spec.context,
    identityPolicies: spec.identity.map((p) => p.compiled),
    permissionsBoundary: spec.boundary?.compiled,
  };
  const sim = simulate(input);
  let decision: Decision = sim.decision;
  if (spec.resourcePolicy) {
    const r = evaluate({ ...input, resourcePolicy: { policy: spec.resourcePolicy.compiled, ownerAccountId: spec.resourceOwner, authoritative: false } });
    decision = r.decision === "Allow" ? "allowed" : r.decision === "ExplicitDeny" ? "explicitDeny" : "implicitDeny";
  }
  const matched: Statement[] = [];
  const missing = new Set<string>();
  const consider = (p: SourcePolicy, principalMatters: boolean) => {
    p.compiled.statements.forEach((st, i) => {
      if (!st.matchesAction(action) || !st.matchesResource(resource, spec.context)) return;
      if (principalMatters && st.matchPrincipal(spec.principal) === "none") return;
      for (const k of p.statements[i].conditionKeys) if (!spec.context.has(k.toLowerCase())) missing.add(k);
      if (!st.matchesConditions(spec.context)) return;
      // A deny decides alone; otherwise report the statements that allow.
      if (decision === "explicitDeny" ? st.effect === "Deny" : st.effect === "Allow" && decision === "allowed") matched.push(statementRef(p, i));
    });
  };
  for (const p of spec.identity) consider(p, false);
  if (spec.resourcePolicy) consider(spec.resourcePolicy, true);
  let boundaryAllows: boolean | undefined;
  if (spec.boundary) {
    const b = spec.boundary;
    boundaryAllows = b.compiled.statements.some(
      (st) => st.effect === "Allow" && st.matchesAction(action) && st.matchesResource(resource, spec.context) && st.matchesConditions(spec.context),
    );
    if (decision === "explicitDeny") consider(b, false);
  }
  return { decision, matched, missing: [...missing], boundaryAllows };
}

export function runSimulation(spec: SimulationSpec): EvaluationResult[] {
  const results: EvaluationResult[] = [];
  for (const action of spec.actions) {
    const per = spec.resources.map((r) => ({ resource: r, ...simulateOne(spec, action, r) }));
    const specific = per.map((p) => ({
      EvalResourceName: p.resource,
      EvalResourceDecision: p.decision,
      MatchedStatements: p.matched,
      MissingContextValues: p.missing,
      ...(p.boundaryAllows !== undefined ? { PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: p.boundaryAllows } } : {}),
    }));
    const overall: Decision = per.some((p) => p.decision === "explicitDeny") ? "explicitDeny" : per.some((p) => p.decision === "allowed") ? "allowed" : "implicitDeny";
    const single = per.length === 1 ? per[0] : undefined;
    results.push({
      EvalActionName: action,
      EvalResourceName: single ? single.resource : "*",
      EvalDecision: overall,
      MatchedStatements: single ? single.matched : [],
      MissingContextValues: single ? single.missing : [...new Set(per.flatMap((p) => p.missing))],
      ...(single?.boundaryAllows !== undefined ? { PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: single.boundaryAllows } } : {}),
      EvalDecisionDetails: {},
      ResourceSpecificResults: specific,
    });
  }
  return results;
}

// ---- the operations ----

function principalFor(arn: string, accountId: string): RequestPrincipal {
  const p = parseIamArn(arn);
  if (p?.kind === "role") return { type: "AssumedRole", accountId, arn: `arn:aws:sts::${accountId}:assumed-role/${p.name}/simulation`, roleArn: arn };
  if (arn === `arn:aws:iam::${accountId}:root`) return { type: "Root", accountId, arn };
  return { type: "IAMUser", accountId, arn };
}

function inputPolicies(list: string[] | undefined, name: string, kind: PolicyKind = "identity"): SourcePolicy[] {
  return (list ?? []).map((d, i) => sourcePolicy(`${name}.${i + 1}`, "IAM Policy", d, kind));
}

function respond(results: EvaluationResult[], marker: string | undefined, maxItems: number | undefined): SimulatePolicyResponse {
  const page = paginate(results, (_r, n) => String(n).padStart(8, "0"), marker, maxItems);
  return { EvaluationResults: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
}

/**
 * The user, role or group a PolicySourceArn names, looked up in the caller's account; the
 * handler refuses a malformed ARN or a missing entity (after authorization).
 */
interface PolicySource {
  account: string;
  arn: string;
  entity?: { kind: "user"; rec: UserRec } | { kind: "role"; rec: RoleRec } | { kind: "group"; rec: GroupRec };
}

type Sources = { identity: SourcePolicy[]; boundary?: SourcePolicy };

/** The policies of a user (with its groups'), group or role, as simulator sources. */
function principalPolicies(state: IamState, src: PolicySource): Sources {
  const p = parseIamArn(src.arn);
  if (!p || p.kind === "policy") throw invalidInput(`Invalid ARN: ${src.arn}`);
  const e = src.entity;
  if (!e) throw noSuchEntity(`The ${p.kind} with name ${p.name} cannot be found.`);
  const sources = (list: NamedPolicy[]) => list.map((x) => sourcePolicy(x.name, x.type, x.doc, "identity"));
  const boundaryOf = (arn?: string) => {
    const m = arn ? state.findPolicy(src.account, arn) : undefined;
    const d = arn ? state.policyDocument(src.account, arn) : undefined;
    return m && d ? sourcePolicy(m.rec.name, "none", d, "identity") : undefined;
  };
  if (e.kind === "user") return { identity: sources(state.policiesOfUser(e.rec)), boundary: boundaryOf(e.rec.boundary) };
  if (e.kind === "role") return { identity: sources(state.policiesOfRole(e.rec)), boundary: boundaryOf(e.rec.boundary) };
  return { identity: sources(state.policiesOfGroup(e.rec)) };
}

function findPolicySource(state: IamState, account: string, arn: string): PolicySource["entity"] {
  const p = parseIamArn(arn);
  if (!p || p.accountId !== account) return undefined;
  // the ARN must be the entity's own (its path included)
  if (p.kind === "user") {
    const rec = state.findUser(account, p.name);
    return rec && rec.arn === arn ? { kind: "user", rec } : undefined;
  }
  if (p.kind === "role") {
    const rec = state.findRole(account, p.name);
    return rec && rec.arn === arn ? { kind: "role", rec } : undefined;
  }
  if (p.kind === "group") {
    const rec = state.findGroup(account, p.name);
    return rec && rec.arn === arn ? { kind: "group", rec } : undefined;
  }
  return undefined;
}

function simulateWith(account: string, i: Omit<SimulatePrincipalPolicyRequest, "PolicySourceArn">, base: Sources, principal: RequestPrincipal): SimulatePolicyResponse {
  const boundaries = inputPolicies(i.PermissionsBoundaryPolicyInputList, "PermissionsBoundaryPolicyInputList");
  if (boundaries.length > 1) throw invalidInput("PermissionsBoundaryPolicyInputList can contain at most one policy.");
  const spec: SimulationSpec = {
    identity: [...base.identity, ...inputPolicies(i.PolicyInputList, "PolicyInputList")],
    boundary: boundaries[0] ?? base.boundary,
    resourcePolicy: i.ResourcePolicy ? sourcePolicy("ResourcePolicy", "resource", i.ResourcePolicy, "resource") : undefined,
    principal: i.CallerArn ? principalFor(i.CallerArn, parseIamArn(i.CallerArn)?.accountId ?? account) : principal,
    resourceOwner: i.ResourceOwner ? (parseIamArn(i.ResourceOwner)?.accountId ?? /^arn:aws:iam::(\d{12}):root$/.exec(i.ResourceOwner)?.[1] ?? account) : account,
    actions: i.ActionNames ?? [],
    resources: i.ResourceArns?.length ? i.ResourceArns : ["*"],
    context: contextFrom(i.ContextEntries),
  };
  return respond(runSimulation(spec), i.Marker, i.MaxItems);
}

/** On the PolicySourceArn as given. */
function authorizeOnPolicySource(ctx: RequestContext, _i: object, src: PolicySource): AuthCheck[] {
  return iamChecks(ctx, src.arn);
}

type SimulationOperation = "SimulatePrincipalPolicy" | "SimulateCustomPolicy" | "GetContextKeysForPrincipalPolicy";

export function simulationOperations(env: IamEnv): OperationTable<SimulationOperation> {
  const { state } = env;
  const resolvePolicySource = function resolvePolicySource(ctx: RequestContext, i: { PolicySourceArn?: string }): PolicySource {
    const account = beginIamCall(env, ctx);
    const entity = findPolicySource(state, account, i.PolicySourceArn!);
    return { account, arn: i.PolicySourceArn!, ...(entity ? { entity } : {}) };
  };

  return {
    SimulatePrincipalPolicy: defineOperation<SimulatePrincipalPolicyRequest, SimulatePolicyResponse, PolicySource>({
      readOnly: true,
      resolve: resolvePolicySource,
      authorize: authorizeOnPolicySource,
      handler: function simulatePrincipalPolicy(ctx, i, src) {
        const base = principalPolicies(state, src);
        return simulateWith(src.account, i, base, principalFor(src.arn, src.account));
      },
    }),

    SimulateCustomPolicy: defineOperation<SimulateCustomPolicyRequest, SimulatePolicyResponse, string>({
      readOnly: true,
      resolve: iamResolvers(env).account,
      authorize: authorizeOnAnyResource,
      handler: function simulateCustomPolicy(ctx, i, account) {
        if (!i.PolicyInputList?.length) throw invalidInput("PolicyInputList must contain at least one policy.");
        return simulateWith(account, i, { identity: [] }, { type: "IAMUser", accountId: account, arn: `arn:aws:iam::${account}:user/simulated` });
      },
    }),

    GetContextKeysForPrincipalPolicy: defineOperation<GetContextKeysForPrincipalPolicyRequest, GetContextKeysForPolicyResponse, PolicySource>({
      readOnly: true,
      resolve: resolvePolicySource,
      authorize: authorizeOnPolicySource,
      handler: function getContextKeysForPrincipalPolicy(_ctx, i, src) {
        const base = principalPolicies(state, src);
        const all = [...base.identity, ...inputPolicies(i.PolicyInputList, "PolicyInputList")];
        const seen = new Map<string, string>();
        for (const p of all) for (const st of p.statements) for (const k of st.conditionKeys) if (!seen.has(k.toLowerCase())) seen.set(k.toLowerCase(), k);
        return { ContextKeyNames: [...seen.values()] };
      },
    }),
  };
}
