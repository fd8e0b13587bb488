/**
 * Property tests over random policy sets and requests:
 * - adding a Deny statement that matches the request, to ANY policy that takes part (identity,
 *   boundary, session, any SCP level, the resource policy), always yields ExplicitDeny — and
 *   when nothing else denied, the denial names the policy type the statement was added to;
 * - policy sets made only of Allow statements never yield ExplicitDeny;
 * - adding an Allow statement to an identity policy never turns an Allow into a denial.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compilePolicy, evaluate, type CompiledPolicy, type ContextValue, type EvaluationInput, type PolicyKind, type PolicyType, type RequestPrincipal } from "./index.ts";

const A = "111122223333";
const B = "444455556666";
const PRINCIPALS: RequestPrincipal[] = [
  { type: "IAMUser", accountId: A, arn: `arn:aws:iam::${A}:user/alice` },
  { type: "AssumedRole", accountId: A, arn: `arn:aws:sts::${A}:assumed-role/app/s1`, roleArn: `arn:aws:iam::${A}:role/app` },
  { type: "Root", accountId: A, arn: `arn:aws:iam::${A}:root` },
  { type: "AWSService", accountId: A, arn: "fargate.amazonaws.com", serviceName: "fargate.amazonaws.com" },
  { type: "FederatedUser", accountId: A, arn: `arn:aws:sts::${A}:federated-user/fred` },
  { type: "IAMUser", accountId: B, arn: `arn:aws:iam::${B}:user/eve` },
  { type: "Anonymous", accountId: "", arn: "anonymous" },
];
const ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:CreateGrant", "s3:GetObject", "sts:AssumeRole"];
const ACTION_PATTERNS = [...ACTIONS, "kms:*", "*", "s3:Get*", "kms:?ecrypt", "iam:*"];
const RESOURCES = [`arn:aws:kms:us-east-1:${A}:key/k1`, `arn:aws:kms:us-east-1:${B}:key/k2`, "arn:aws:s3:::bucket/a/b", `arn:aws:iam::${A}:role/app`];
const RESOURCE_PATTERNS = ["*", ...RESOURCES, "arn:aws:kms:*", "arn:aws:s3:::bucket/*", "arn:aws:s3:::${aws:username}/*"];
const PRINCIPAL_ELEMENTS: unknown[] = [
  "*",
  { AWS: A },
  { AWS: `arn:aws:iam::${B}:root` },
  { AWS: `arn:aws:iam::${A}:user/alice` },
  { AWS: `arn:aws:iam::${A}:role/app` },
  { AWS: `arn:aws:sts::${A}:assumed-role/app/s1` },
  { Service: "fargate.amazonaws.com" },
];
const CONDITIONS: unknown[] = [
  { Bool: { "aws:SecureTransport": "true" } },
  { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
  { NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
  { "ForAllValues:StringEquals": { "aws:TagKeys": ["a", "b"] } },
  { "ForAnyValue:StringLike": { "aws:TagKeys": "a*" } },
  { StringEqualsIfExists: { "aws:username": "alice" } },
  { Null: { "aws:username": "true" } },
  { StringNotEquals: { "aws:PrincipalTag/team": "red" } },
];

type RawStatement = Record<string, unknown>;

const statementArb = (effect: fc.Arbitrary<"Allow" | "Deny">, withPrincipal: boolean): fc.Arbitrary<RawStatement> =>
  fc
    .record({
      Effect: effect,
      action: fc.subarray(ACTION_PATTERNS, { minLength: 1, maxLength: 3 }),
      notAction: fc.boolean(),
      resource: fc.subarray(RESOURCE_PATTERNS, { minLength: 1, maxLength: 2 }),
      principal: fc.constantFrom(...PRINCIPAL_ELEMENTS),
      condition: fc.option(fc.constantFrom(...CONDITIONS), { nil: undefined }),
    })
    .map(({ Effect, action, notAction, resource, principal, condition }) => {
      const st: RawStatement = { Effect, [notAction ? "NotAction" : "Action"]: action, Resource: resource };
      if (withPrincipal) st.Principal = principal;
      if (condition) st.Condition = condition;
      return st;
    });

const policyArb = (effect: fc.Arbitrary<"Allow" | "Deny">, withPrincipal = false) => fc.array(statementArb(effect, withPrincipal), { minLength: 1, maxLength: 3 });

const contextArb = fc
  .record(
    {
      "aws:securetransport": fc.boolean(),
      "aws:sourceip": fc.constantFrom("10.1.2.3", "192.0.2.1"),
      "aws:tagkeys": fc.subarray(["a", "b", "c"]),
      "aws:username": fc.constantFrom("alice", "bob"),
      "aws:principaltag/team": fc.constantFrom("red", "blue"),
    },
    { requiredKeys: [] },
  )
  .map((o) => new Map(Object.entries(o) as [string, ContextValue][]));

interface Scenario {
  principal: RequestPrincipal;
  action: string;
  resource: string;
  context: Map<string, ContextValue>;
  identity: RawStatement[][];
  boundary?: RawStatement[];
  sessions: RawStatement[][];
  scps: RawStatement[][][];
  resourcePolicy?: { statements: RawStatement[]; owner: string; authoritative: boolean };
  grantAllows: boolean;
}

const scenarioArb = (effect: fc.Arbitrary<"Allow" | "Deny">): fc.Arbitrary<Scenario> =>
  fc.record({
    principal: fc.constantFrom(...PRINCIPALS),
    action: fc.constantFrom(...ACTIONS),
    resource: fc.constantFrom(...RESOURCES),
    context: contextArb,
    identity: fc.array(policyArb(effect), { maxLength: 3 }),
    boundary: fc.option(policyArb(effect), { nil: undefined }),
    sessions: fc.array(policyArb(effect), { maxLength: 2 }),
    scps: fc.array(fc.array(policyArb(effect), { minLength: 1, maxLength: 2 }), { maxLength: 2 }),
    resourcePolicy: fc.option(fc.record({ statements: policyArb(effect, true), owner: fc.constantFrom(A, B), authoritative: fc.boolean() }), { nil: undefined }),
    grantAllows: fc.boolean(),
  });

let seq = 0;
function compile(kind: PolicyKind, statements: RawStatement[]): CompiledPolicy {
  return compilePolicy(JSON.stringify({ Version: "2012-10-17", Id: `p${seq++ % 64}`, Statement: statements }), kind);
}

function toInput(s: Scenario): EvaluationInput {
  return {
    principal: s.principal,
    action: s.action,
    resource: s.resource,
    context: s.context,
    identityPolicies: s.identity.map((p) => compile("identity", p)),
    permissionsBoundary: s.boundary && compile("identity", s.boundary),
    sessionPolicies: s.sessions.map((p) => compile("session", p)),
    scpLevels: s.scps.map((level) => level.map((p) => compile("scp", p))),
    resourcePolicy: s.resourcePolicy && { policy: compile("resource", s.resourcePolicy.statements), ownerAccountId: s.resourcePolicy.owner, authoritative: s.resourcePolicy.authoritative },
    grantAllows: s.grantAllows,
  };
}

type Target = "identity" | "boundary" | "session" | "scp" | "resource";
const TYPE_OF: Record<Target, PolicyType> = { identity: "identity-based", boundary: "permissions boundary", session: "session", scp: "service control", resource: "resource-based" };

/** A Deny statement that certainly applies to the scenario's request. */
function matchingDeny(s: Scenario, withPrincipal: boolean, variant: number): RawStatement {
  const service = s.action.split(":")[0];
  const st: RawStatement = {
    Effect: "Deny",
    Action: [s.action, "*", `${service}:*`, s.action.toUpperCase()][variant % 4],
    Resource: [s.resource, "*"][variant % 2],
  };
  if (withPrincipal) st.Principal = "*";
  // a condition that holds for every request (negated operator, key never present)
  if (variant % 3 === 0) st.Condition = { StringNotEquals: { "x:never-present": "x" } };
  return st;
}

/** Adds the statement to a policy of the target type (an existing one, or a new one). */
function addDeny(s: Scenario, target: Target, pick: number, position: number, variant: number): Scenario {
  const insert = (list: RawStatement[], st: RawStatement) => {
    const copy = [...list];
    copy.splice(position % (copy.length + 1), 0, st);
    return copy;
  };
  const deny = matchingDeny(s, target === "resource", variant);
  switch (target) {
    case "identity": {
      const identity = [...s.identity];
      if (identity.length === 0 || pick % 2 === 0) identity.splice(pick % (identity.length + 1), 0, [deny]);
      else identity[pick % identity.length] = insert(identity[pick % identity.length], deny);
      return { ...s, identity };
    }
    case "boundary":
      return { ...s, boundary: insert(s.boundary ?? [], deny) };
    case "session": {
      const sessions = [...s.sessions];
      if (sessions.length === 0) sessions.push([deny]);
      else sessions[pick % sessions.length] = insert(sessions[pick % sessions.length], deny);
      return { ...s, sessions };
    }
    case "scp": {
      const scps = s.scps.map((level) => [...level]);
      if (scps.length === 0) scps.push([[deny]]);
      else {
        const level = scps[pick % scps.length];
        level[position % level.length] = insert(level[position % level.length], deny);
      }
      return { ...s, scps };
    }
    case "resource":
      return { ...s, resourcePolicy: s.resourcePolicy ? { ...s.resourcePolicy, statements: insert(s.resourcePolicy.statements, deny) } : { statements: [deny], owner: A, authoritative: pick % 2 === 0 } };
  }
}

const anyEffect = fc.constantFrom<"Allow" | "Deny">("Allow", "Deny");
const allowOnly = fc.constant<"Allow" | "Deny">("Allow");

describe("policy evaluation properties", () => {
  it("a matching Deny added to any policy always yields ExplicitDeny", () => {
    fc.assert(
      fc.property(
        scenarioArb(anyEffect),
        fc.constantFrom<Target>("identity", "boundary", "session", "scp", "resource"),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (s, target, pick, position, variant) => {
          const before = evaluate(toInput(s));
          const after = evaluate(toInput(addDeny(s, target, pick, position, variant)));
          expect(after.decision).toBe("ExplicitDeny");
          if (before.decision !== "ExplicitDeny") expect(after.deniedBy).toBe(TYPE_OF[target]);
        },
      ),
      { numRuns: 600 },
    );
  });

  it("Allow-only policy sets never yield ExplicitDeny", () => {
    fc.assert(
      fc.property(scenarioArb(allowOnly), (s) => {
        expect(evaluate(toInput(s)).decision).not.toBe("ExplicitDeny");
      }),
      { numRuns: 300 },
    );
  });

  it("adding an Allow statement to an identity policy never turns an Allow into a denial", () => {
    fc.assert(
      fc.property(scenarioArb(anyEffect), statementArb(allowOnly, false), (s, extra) => {
        const before = evaluate(toInput(s));
        fc.pre(before.decision === "Allow");
        const after = evaluate(toInput({ ...s, identity: [...s.identity, [extra]] }));
        expect(after.decision).toBe("Allow");
      }),
      { numRuns: 300 },
    );
  });

  it("the same scenario evaluates the same way twice (no state leaks between calls)", () => {
    fc.assert(
      fc.property(scenarioArb(anyEffect), (s) => {
        const input = toInput(s);
        expect(evaluate(input)).toEqual(evaluate(input));
      }),
      { numRuns: 200 },
    );
  });
});
