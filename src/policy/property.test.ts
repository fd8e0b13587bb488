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
import { compileGlob, matchParts, wildcardSteps } from "./wildcard.ts";
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
    resourcePolicy: s.resourcePolicy && {
      policy: compile("resource", s.resourcePolicy.statements),
      ownerAccountId: s.resourcePolicy.owner,
      authoritative: s.resourcePolicy.authoritative,
    },
    grantAllows: s.grantAllows,
  };
}

type Target = "identity" | "boundary" | "session" | "scp" | "resource";
const TYPE_OF: Record<Target, PolicyType> = {
  identity: "identity-based",
  boundary: "permissions boundary",
  session: "session",
  scp: "service control",
  resource: "resource-based",
};

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
      return {
        ...s,
        resourcePolicy: s.resourcePolicy
          ? { ...s.resourcePolicy, statements: insert(s.resourcePolicy.statements, deny) }
          : { statements: [deny], owner: A, authoritative: pick % 2 === 0 },
      };
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

/** Reference matcher: the textbook dynamic programme over (pattern, value) prefixes. */
function globReference(pattern: string, value: string): boolean {
  let row = new Array<boolean>(value.length + 1).fill(false);
  row[0] = true;
  for (const c of pattern) {
    const next = new Array<boolean>(value.length + 1).fill(false);
    if (c === "*") {
      for (let j = 0; j <= value.length; j++) next[j] = row[j] || (j > 0 && next[j - 1]);
    } else {
      for (let j = 1; j <= value.length; j++) next[j] = row[j - 1] && (c === "?" || c === value[j - 1]);
    }
    row = next;
  }
  return row[value.length];
}

/** Steps one compile-and-match takes, from the matcher's own counter (no clock involved). */
function stepsFor(pattern: string, value: string): number {
  const before = wildcardSteps();
  compileGlob(pattern)(value);
  return wildcardSteps() - before;
}

/** The longest star-separated piece of `pattern` with a `?` between two literal characters. */
function innerQuestionPiece(pattern: string): number {
  let worst = 0;
  for (const piece of pattern.split("*")) {
    const core = piece.replace(/^\?+/, "").replace(/\?+$/, "");
    if (core.includes("?")) worst = Math.max(worst, core.length);
  }
  return worst;
}

describe("wildcard matching properties", () => {
  const patternArb = fc.array(fc.constantFrom("a", "b", "*", "?", ":"), { maxLength: 14 }).map((cs) => cs.join(""));
  const valueArb = fc.array(fc.constantFrom("a", "b", ":"), { maxLength: 40 }).map((cs) => cs.join(""));

  it("agrees with the reference matcher on every pattern and value", () => {
    fc.assert(
      fc.property(patternArb, valueArb, (pattern, value) => {
        expect(compileGlob(pattern)(value)).toBe(globReference(pattern, value));
        expect(matchParts([{ text: pattern, literal: false }], value)).toBe(globReference(pattern, value));
      }),
      { numRuns: 3000 },
    );
  });

  it("takes at most a constant times (value + pattern) steps, times the inner-? piece's 32-character words", () => {
    const longValue = fc.tuple(fc.string({ unit: fc.constantFrom("a", "b"), maxLength: 8, minLength: 1 }), fc.integer({ min: 1, max: 400 })).map(([s, n]) => s.repeat(n));
    fc.assert(
      fc.property(patternArb, longValue, (pattern, value) => {
        const words = Math.max(1, Math.ceil(innerQuestionPiece(pattern) / 32));
        expect(stepsFor(pattern, value)).toBeLessThanOrEqual(3 * value.length * words + 7 * pattern.length + 5);
      }),
      { numRuns: 2000 },
    );
  });

  // Adversarial families: doubling the value (pattern fixed) or the pattern (value fixed) at most
  // about doubles the steps. A backtracking matcher grows polynomially or exponentially here.
  const families: { name: string; pattern: (k: number) => string; value: (n: number) => string }[] = [
    { name: "arn:*?*?…?#", pattern: (k) => `arn:${"*?".repeat(k)}#`, value: (n) => `arn:${"a".repeat(n)}` },
    { name: "*aaa…ab*", pattern: (k) => `*${"a".repeat(k)}b*`, value: (n) => "a".repeat(n) },
    { name: "*ab*ab*…*c", pattern: (k) => `${"*ab".repeat(k)}*c`, value: (n) => "ab".repeat(n) },
    { name: "*a*a*…*b", pattern: (k) => `${"*a".repeat(k)}*b`, value: (n) => "a".repeat(n) },
    { name: "*a?a?…b*", pattern: (k) => `*${"a?".repeat(k)}b*`, value: (n) => "a".repeat(n) },
  ];
  it.each(families)("steps grow linearly with the value and the pattern: $name", ({ pattern, value }) => {
    for (const k of [4, 8, 16]) {
      for (const n of [1000, 2000, 4000]) {
        const single = stepsFor(pattern(k), value(n));
        expect(stepsFor(pattern(k), value(2 * n))).toBeLessThanOrEqual(2.2 * single + 10);
        expect(stepsFor(pattern(2 * k), value(n))).toBeLessThanOrEqual(2.2 * single + 10);
      }
    }
  });

  it("a long piece with inner ? costs one step per 32 of its characters per value character", () => {
    const piece = "a?".repeat(2048) + "b"; // 4,097 characters: 129 words
    const value = "a".repeat(8192);
    expect(compileGlob(`*${piece}*`)(value)).toBe(false);
    expect(compileGlob(`*${piece}*`)(`${value}b`)).toBe(true);
    expect(stepsFor(`*${piece}*`, value)).toBeLessThanOrEqual(value.length * 129 + 10 * piece.length);
  });

  it("the 21-character pattern that used to hang the server is decided in linear steps", () => {
    const pattern = "arn:*?*?*?*?*?*?*?*?#";
    const value = `arn:${"x".repeat(100_000)}`;
    expect(compileGlob(pattern)(value)).toBe(false);
    expect(compileGlob(pattern)(`${value}#`)).toBe(true);
    expect(stepsFor(pattern, value)).toBeLessThan(4 * value.length);
  });
});
