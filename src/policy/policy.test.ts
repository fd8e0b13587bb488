import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  compilePolicy,
  evaluate,
  accessDeniedMessage,
  simulate,
  PolicyError,
  type ConditionContext,
  type ContextValue,
  type EvaluationInput,
  type RequestPrincipal,
} from "./index.ts";

const ACCT = "111122223333";
const alice: RequestPrincipal = { type: "IAMUser", accountId: ACCT, arn: `arn:aws:iam::${ACCT}:user/alice` };
const session: RequestPrincipal = { type: "AssumedRole", accountId: ACCT, arn: `arn:aws:sts::${ACCT}:assumed-role/ops/s1`, roleArn: `arn:aws:iam::${ACCT}:role/ops` };
const root: RequestPrincipal = { type: "Root", accountId: ACCT, arn: `arn:aws:iam::${ACCT}:root` };
const fargate: RequestPrincipal = { type: "AWSService", accountId: ACCT, arn: "fargate.amazonaws.com", serviceName: "fargate.amazonaws.com" };
const KEY = `arn:aws:kms:us-west-2:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const identity = (...s: object[]) => compilePolicy(doc(...s), "identity");
const resource = (...s: object[]) => compilePolicy(doc(...s), "resource");
const ctx = (o: Record<string, ContextValue> = {}): ConditionContext => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));

function run(partial: Partial<EvaluationInput>) {
  return evaluate({ principal: alice, action: "kms:Encrypt", resource: KEY, context: ctx(), identityPolicies: [], ...partial });
}
const allowAll = { Effect: "Allow", Action: "*", Resource: "*" };

describe("actions and resources", () => {
  it("matches actions case-insensitively with wildcards", () => {
    for (const a of ["kms:encrypt", "KMS:Encrypt", "kms:Enc*", "kms:?ncrypt", "kms:*"]) {
      expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: a, Resource: "*" })] }).decision, a).toBe("Allow");
    }
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:Decrypt", Resource: "*" })] }).decision).toBe("ImplicitDeny");
  });

  it("NotAction allows everything else", () => {
    const p = identity({ Effect: "Allow", NotAction: "kms:Decrypt", Resource: "*" });
    expect(run({ identityPolicies: [p] }).decision).toBe("Allow");
    expect(run({ identityPolicies: [p], action: "kms:Decrypt" }).decision).toBe("ImplicitDeny");
  });

  it("matches resources case-sensitively, * crossing : and /", () => {
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:*", Resource: "arn:aws:kms:*" })] }).decision).toBe("Allow");
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:*", Resource: "arn:aws:kms:us-west-2:*:key/*" })] }).decision).toBe("Allow");
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:*", Resource: KEY.replace("key/1234abcd", "key/1234ABCD") })] }).decision).toBe("ImplicitDeny");
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:*", NotResource: KEY })] }).decision).toBe("ImplicitDeny");
  });
});

describe("the evaluation order", () => {
  it("denies by default and says so", () => {
    const r = run({});
    expect(r).toMatchObject({ decision: "ImplicitDeny", deniedBy: "identity-based" });
    expect(accessDeniedMessage(alice.arn, "kms:Encrypt", KEY, r)).toBe(
      `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} because no identity-based policy allows the kms:Encrypt action`,
    );
  });

  it("lets an explicit deny win over any allow", () => {
    const r = run({ identityPolicies: [identity(allowAll), identity({ Effect: "Deny", Action: "kms:Encrypt", Resource: "*" })] });
    expect(r).toMatchObject({ decision: "ExplicitDeny", deniedBy: "identity-based" });
    expect(accessDeniedMessage(alice.arn, "kms:Encrypt", KEY, r)).toContain("with an explicit deny in an identity-based policy");
  });

  it("requires the permissions boundary to allow too", () => {
    const r = run({ identityPolicies: [identity(allowAll)], permissionsBoundary: identity({ Effect: "Allow", Action: "s3:*", Resource: "*" }) });
    expect(r).toMatchObject({ decision: "ImplicitDeny", deniedBy: "permissions boundary" });
    expect(run({ identityPolicies: [identity(allowAll)], permissionsBoundary: identity({ Effect: "Allow", Action: "kms:*", Resource: "*" }) }).decision).toBe("Allow");
  });

  it("requires a session policy to allow for sessions", () => {
    const base = { principal: session, identityPolicies: [identity(allowAll)] };
    expect(run({ ...base, sessionPolicies: [identity({ Effect: "Allow", Action: "s3:*", Resource: "*" })] })).toMatchObject({ decision: "ImplicitDeny", deniedBy: "session" });
    expect(run(base).decision).toBe("Allow");
  });

  it("requires every SCP level to allow, root included", () => {
    const full = identity(allowAll);
    const onlyS3 = identity({ Effect: "Allow", Action: "s3:*", Resource: "*" });
    expect(run({ principal: root, scpLevels: [[full], [onlyS3]] })).toMatchObject({ decision: "ImplicitDeny", deniedBy: "service control" });
    expect(run({ principal: root, scpLevels: [[full], [full]] }).decision).toBe("Allow");
    expect(run({ principal: root, scpLevels: [[full], [identity({ Effect: "Deny", Action: "kms:*", Resource: "*" }), full]] })).toMatchObject({
      decision: "ExplicitDeny",
      deniedBy: "service control",
    });
  });

  it("lets root do anything in its own account", () => {
    expect(run({ principal: root }).decision).toBe("Allow");
  });
});

describe("KMS key policies are authoritative", () => {
  const delegating = resource({ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:root` }, Action: "kms:*", Resource: "*" });
  const kp = (policy: ReturnType<typeof resource>) => ({ policy, ownerAccountId: ACCT, authoritative: true });

  it("identity allow + delegating key policy → Allow", () => {
    expect(run({ identityPolicies: [identity(allowAll)], resourcePolicy: kp(delegating) }).decision).toBe("Allow");
  });
  it("delegating key policy alone does not allow an IAM user", () => {
    expect(run({ resourcePolicy: kp(delegating) })).toMatchObject({ decision: "ImplicitDeny", deniedBy: "identity-based" });
  });
  it("a key policy naming another role denies even with an identity allow", () => {
    const other = resource({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:role/other` }, Action: "kms:*", Resource: "*" });
    expect(run({ identityPolicies: [identity(allowAll)], resourcePolicy: kp(other) })).toMatchObject({ decision: "ImplicitDeny", deniedBy: "resource-based" });
  });
  it("a key policy naming the user allows without an identity policy", () => {
    const direct = resource({ Effect: "Allow", Principal: { AWS: alice.arn }, Action: "kms:Encrypt", Resource: "*" });
    expect(run({ resourcePolicy: kp(direct) }).decision).toBe("Allow");
  });
  it("root is locked out when the key policy does not name the account", () => {
    const other = resource({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCT}:role/other` }, Action: "kms:*", Resource: "*" });
    expect(run({ principal: root, resourcePolicy: kp(other) })).toMatchObject({ decision: "ImplicitDeny", deniedBy: "resource-based" });
  });
  it("a role named in the key policy still needs its session's boundary", () => {
    const byRole = resource({ Effect: "Allow", Principal: { AWS: session.roleArn }, Action: "kms:*", Resource: "*" });
    expect(run({ principal: session, resourcePolicy: kp(byRole) }).decision).toBe("Allow");
    expect(run({ principal: session, resourcePolicy: kp(byRole), permissionsBoundary: identity({ Effect: "Allow", Action: "s3:*", Resource: "*" }) })).toMatchObject({
      decision: "ImplicitDeny",
      deniedBy: "permissions boundary",
    });
  });
  it("a grant allows without policy, but not over an explicit deny", () => {
    expect(run({ resourcePolicy: kp(delegating), grantAllows: true }).decision).toBe("Allow");
    const deny = resource({ Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*" }, { Effect: "Allow", Principal: { AWS: ACCT }, Action: "kms:*", Resource: "*" });
    expect(run({ resourcePolicy: kp(deny), grantAllows: true })).toMatchObject({ decision: "ExplicitDeny", deniedBy: "resource-based" });
  });
  it("cross-account needs the key policy and the caller's IAM policy", () => {
    const bob: RequestPrincipal = { type: "IAMUser", accountId: "444455556666", arn: "arn:aws:iam::444455556666:user/bob" };
    const external = resource({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::444455556666:root" }, Action: "kms:Encrypt", Resource: "*" });
    expect(run({ principal: bob, resourcePolicy: kp(external) }).decision).toBe("ImplicitDeny");
    expect(run({ principal: bob, identityPolicies: [identity(allowAll)], resourcePolicy: kp(external) }).decision).toBe("Allow");
    expect(run({ principal: bob, identityPolicies: [identity(allowAll)], resourcePolicy: kp(delegating) }).decision).toBe("ImplicitDeny");
  });

  describe("the Fargate statements from the ECS documentation", () => {
    const fargatePolicy = resource(
      {
        Sid: "Allow generate data key access for Fargate tasks.",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:GenerateDataKeyWithoutPlainText"],
        Condition: { StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [ACCT], "kms:EncryptionContext:aws:ecs:clusterName": ["prod"] } },
        Resource: "*",
      },
      {
        Sid: "Allow grant creation permission for Fargate tasks.",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:CreateGrant"],
        Condition: {
          StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [ACCT], "kms:EncryptionContext:aws:ecs:clusterName": ["prod"] },
          "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt"] },
        },
        Resource: "*",
      },
    );
    const ec = (cluster: string, extra: Record<string, ContextValue> = {}) =>
      ctx({ "kms:EncryptionContext:aws:ecs:clusterAccount": ACCT, "kms:EncryptionContext:aws:ecs:clusterName": cluster, ...extra });
    const call = (action: string, context: ConditionContext, principal = fargate) => run({ principal, action, context, resourcePolicy: kp(fargatePolicy) }).decision;

    it("allow Fargate for its cluster", () => {
      expect(call("kms:GenerateDataKeyWithoutPlaintext", ec("prod"))).toBe("Allow");
      expect(call("kms:CreateGrant", ec("prod", { "kms:GrantOperations": ["Decrypt"] }))).toBe("Allow");
    });
    it("refuse another cluster, other grant operations, other principals", () => {
      expect(call("kms:GenerateDataKeyWithoutPlaintext", ec("dev"))).toBe("ImplicitDeny");
      expect(call("kms:CreateGrant", ec("prod", { "kms:GrantOperations": ["Decrypt", "Encrypt"] }))).toBe("ImplicitDeny");
      expect(call("kms:Decrypt", ec("prod"))).toBe("ImplicitDeny");
      expect(call("kms:GenerateDataKeyWithoutPlaintext", ec("prod"), { ...fargate, arn: "ec2.amazonaws.com", serviceName: "ec2.amazonaws.com" })).toBe("ImplicitDeny");
      expect(call("kms:GenerateDataKeyWithoutPlaintext", ec("prod"), alice)).toBe("ImplicitDeny");
    });
  });
});

describe("conditions", () => {
  const withCond = (Condition: object) => [identity({ Effect: "Allow", Action: "*", Resource: "*", Condition })];
  const decide = (Condition: object, context: Record<string, ContextValue>) => run({ identityPolicies: withCond(Condition), context: ctx(context) }).decision === "Allow";

  // AWS's documented truth tables for multi-valued keys (reference_policies_condition_examples-multi-valued-context-keys)
  it.each([
    ["ForAllValues, subset", { "ForAllValues:StringEquals": { "aws:TagKeys": ["a", "b"] } }, { "aws:TagKeys": ["a"] }, true],
    ["ForAllValues, extra value", { "ForAllValues:StringEquals": { "aws:TagKeys": ["a", "b"] } }, { "aws:TagKeys": ["a", "c"] }, false],
    ["ForAllValues, key missing", { "ForAllValues:StringEquals": { "aws:TagKeys": ["a"] } }, {}, true],
    ["ForAllValues, empty set", { "ForAllValues:StringEquals": { "aws:TagKeys": ["a"] } }, { "aws:TagKeys": [] }, true],
    ["ForAnyValue, one matches", { "ForAnyValue:StringEquals": { "aws:TagKeys": ["a"] } }, { "aws:TagKeys": ["x", "a"] }, true],
    ["ForAnyValue, none matches", { "ForAnyValue:StringEquals": { "aws:TagKeys": ["a"] } }, { "aws:TagKeys": ["x"] }, false],
    ["ForAnyValue, key missing", { "ForAnyValue:StringEquals": { "aws:TagKeys": ["a"] } }, {}, false],
    ["ForAllValues:StringNotEquals", { "ForAllValues:StringNotEquals": { "aws:TagKeys": ["secret"] } }, { "aws:TagKeys": ["a", "b"] }, true],
    ["ForAllValues:StringNotEquals hit", { "ForAllValues:StringNotEquals": { "aws:TagKeys": ["secret"] } }, { "aws:TagKeys": ["a", "secret"] }, false],
    ["ForAnyValue:StringNotEquals", { "ForAnyValue:StringNotEquals": { "aws:TagKeys": ["a"] } }, { "aws:TagKeys": ["a", "b"] }, true],
  ])("%s", (_name, cond, context, expected) => {
    expect(decide(cond, context as Record<string, ContextValue>)).toBe(expected);
  });

  it.each([
    ["StringEquals missing key", { StringEquals: { "aws:x": "a" } }, {}, false],
    ["StringNotEquals missing key", { StringNotEquals: { "aws:x": "a" } }, {}, true],
    ["StringEqualsIfExists missing key", { StringEqualsIfExists: { "aws:x": "a" } }, {}, true],
    ["StringEqualsIfExists present, other", { StringEqualsIfExists: { "aws:x": "a" } }, { "aws:x": "b" }, false],
    ["Null true, missing", { Null: { "aws:x": "true" } }, {}, true],
    ["Null true, present", { Null: { "aws:x": "true" } }, { "aws:x": "v" }, false],
    ["Null false, present", { Null: { "aws:x": "false" } }, { "aws:x": "v" }, true],
    ["values are ORed", { StringEquals: { "aws:x": ["a", "b"] } }, { "aws:x": "b" }, true],
    ["keys are ANDed", { StringEquals: { "aws:x": "a", "aws:y": "b" } }, { "aws:x": "a", "aws:y": "c" }, false],
    ["keys are case-insensitive", { StringEquals: { "AWS:X": "a" } }, { "aws:x": "a" }, true],
    ["StringEqualsIgnoreCase", { StringEqualsIgnoreCase: { "aws:x": "ABC" } }, { "aws:x": "abc" }, true],
    ["StringLike", { StringLike: { "aws:x": "ab*d?" } }, { "aws:x": "abxyzde" }, true],
    ["StringNotLike", { StringNotLike: { "aws:x": "ab*" } }, { "aws:x": "abc" }, false],
    ["NumericLessThan", { NumericLessThan: { "kms:n": "31" } }, { "kms:n": 30 }, true],
    ["NumericGreaterThanEquals", { NumericGreaterThanEquals: { "kms:n": "31" } }, { "kms:n": 30 }, false],
    ["NumericEquals not a number", { NumericEquals: { "kms:n": "1" } }, { "kms:n": "x" }, false],
    ["DateLessThan ISO", { DateLessThan: { "aws:CurrentTime": "2030-01-01T00:00:00Z" } }, { "aws:CurrentTime": new Date(Date.UTC(2026, 0, 1)) }, true],
    ["DateGreaterThan epoch", { DateGreaterThan: { "aws:CurrentTime": "1893456000" } }, { "aws:CurrentTime": new Date(Date.UTC(2026, 0, 1)) }, false],
    ["Bool", { Bool: { "aws:SecureTransport": "false" } }, { "aws:SecureTransport": false }, true],
    ["Bool JSON literal", { Bool: { "aws:SecureTransport": true } }, { "aws:SecureTransport": false }, false],
    ["BinaryEquals", { BinaryEquals: { "aws:b": "QmluYXJ5" } }, { "aws:b": "QmluYXJ5" }, true],
    ["IpAddress v4", { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }, { "aws:SourceIp": "10.1.2.3" }, true],
    ["NotIpAddress v4", { NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }, { "aws:SourceIp": "127.0.0.1" }, true],
    ["IpAddress v6", { IpAddress: { "aws:SourceIp": "2001:db8::/32" } }, { "aws:SourceIp": "2001:db8:1::5" }, true],
    ["ArnLike", { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/ops*" } }, { "aws:PrincipalArn": "arn:aws:iam::1:role/ops-admin" }, true],
    ["ArnNotLike", { ArnNotLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/ops*" } }, { "aws:PrincipalArn": "arn:aws:iam::1:user/x" }, true],
    ["ArnEquals segment", { ArnEquals: { "aws:SourceArn": "arn:aws:ecs:us-west-2:1:cluster/a" } }, { "aws:SourceArn": "arn:aws:ecs:us-east-1:1:cluster/a" }, false],
  ])("%s", (_name, cond, context, expected) => {
    expect(decide(cond, context as Record<string, ContextValue>)).toBe(expected);
  });

  it("resolves policy variables, with defaults and escapes", () => {
    const p = identity({ Effect: "Allow", Action: "iam:GetUser", Resource: "arn:aws:iam::*:user/${aws:username}" });
    const c = ctx({ "aws:username": "alice" });
    expect(run({ action: "iam:GetUser", resource: "arn:aws:iam::1:user/alice", context: c, identityPolicies: [p] }).decision).toBe("Allow");
    expect(run({ action: "iam:GetUser", resource: "arn:aws:iam::1:user/bob", context: c, identityPolicies: [p] }).decision).toBe("ImplicitDeny");
    expect(run({ action: "iam:GetUser", resource: "arn:aws:iam::1:user/alice", context: ctx(), identityPolicies: [p] }).decision).toBe("ImplicitDeny");
    expect(decide({ StringEquals: { "aws:x": "${aws:PrincipalTag/team, 'none'}" } }, { "aws:x": "none" })).toBe(true);
    expect(decide({ StringLike: { "aws:x": "a${*}" } }, { "aws:x": "a*" })).toBe(true);
    expect(decide({ StringLike: { "aws:x": "a${*}" } }, { "aws:x": "ab" })).toBe(false);
    const literal = compilePolicy(
      JSON.stringify({ Version: "2008-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*", Condition: { StringEquals: { "aws:x": "${aws:username}" } } }] }),
      "identity",
    );
    expect(run({ identityPolicies: [literal], context: ctx({ "aws:x": "${aws:username}", "aws:username": "alice" }) }).decision).toBe("Allow");
  });

  it("NotPrincipal with Deny applies to everyone else", () => {
    const policy = resource(
      { Effect: "Deny", NotPrincipal: { AWS: [alice.arn, `arn:aws:iam::${ACCT}:root`] }, Action: "*", Resource: "*" },
      { Effect: "Allow", Principal: "*", Action: "*", Resource: "*" },
    );
    const rp = { policy, ownerAccountId: ACCT, authoritative: false };
    expect(run({ resourcePolicy: rp }).decision).toBe("Allow");
    expect(run({ principal: { ...alice, arn: `arn:aws:iam::${ACCT}:user/mallory` }, resourcePolicy: rp }).decision).toBe("ExplicitDeny");
  });
});

describe("malformed documents", () => {
  it.each([
    ["not JSON", "{", "identity", "Syntax errors in policy."],
    ["no Statement", '{"Version":"2012-10-17"}', "identity", "Missing required field Statement"],
    ["bad Effect", doc({ Effect: "Maybe", Action: "*", Resource: "*" }), "identity", "Invalid effect"],
    ["Action and NotAction", doc({ Effect: "Allow", Action: "*", NotAction: "*", Resource: "*" }), "identity", "both Action and NotAction"],
    ["no Action", doc({ Effect: "Allow", Resource: "*" }), "identity", "must contain actions"],
    ["unknown field", doc({ Effect: "Allow", Action: "*", Resource: "*", Foo: 1 }), "identity", "Unknown field Foo"],
    ["bad version", JSON.stringify({ Version: "2020-01-01", Statement: [allowAll] }), "identity", "valid version"],
    ["bad action", doc({ Effect: "Allow", Action: "encrypt", Resource: "*" }), "identity", "must be prefaced by a vendor"],
    ["bad operator", doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { StringSorta: { "aws:x": "a" } } }), "identity", "Invalid Condition type : StringSorta"],
    ["bad set operator", doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { "ForSome:StringEquals": { "aws:x": "a" } } }), "identity", "Invalid Condition type"],
    ["Null value", doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { Null: { "aws:x": "maybe" } } }), "identity", 'must be "true" or "false"'],
    ["principal in identity policy", doc({ Effect: "Allow", Principal: "*", Action: "*", Resource: "*" }), "identity", "should not specify a principal"],
    ["no principal in key policy", doc({ Effect: "Allow", Action: "*", Resource: "*" }), "resource", "Missing required field Principal"],
    ["no resource in identity policy", doc({ Effect: "Allow", Action: "*" }), "identity", "must contain resources"],
    ["resource in trust policy", doc({ Effect: "Allow", Principal: "*", Action: "sts:AssumeRole", Resource: "*" }), "trust", "prohibited field Resource"],
  ] as const)("%s", (_n, text, kind, message) => {
    expect(() => compilePolicy(text, kind)).toThrow(PolicyError);
    expect(() => compilePolicy(text, kind)).toThrow(message);
  });

  it("compiles once and caches by text", () => {
    const text = doc(allowAll);
    expect(compilePolicy(text, "identity")).toBe(compilePolicy(text, "identity"));
  });
});

describe("simulate", () => {
  it("reports the decision and matched statements", () => {
    const r = simulate({
      principal: alice,
      action: "kms:Encrypt",
      resource: "*",
      context: ctx(),
      identityPolicies: [identity({ Sid: "a", ...allowAll }), identity({ Sid: "d", Effect: "Deny", Action: "kms:*", Resource: "*" })],
    });
    expect(r.decision).toBe("explicitDeny");
    expect(r.matched.map((m) => m.sid)).toEqual(["a", "d"]);
  });
});

describe("property: a Deny anywhere always wins", () => {
  const actions = ["kms:Encrypt", "kms:Decrypt", "iam:GetUser", "ecs:CreateCluster", "*", "kms:*"];
  const stmt = fc.record({
    Effect: fc.constantFrom("Allow", "Deny"),
    Action: fc.constantFrom(...actions),
    Resource: fc.constantFrom("*", KEY, "arn:aws:kms:*"),
  });
  it("holds for random identity, boundary, session and key policies", () => {
    fc.assert(
      fc.property(
        fc.array(stmt, { minLength: 1, maxLength: 4 }),
        fc.array(stmt, { minLength: 1, maxLength: 3 }),
        fc.constantFrom("identity", "boundary", "session", "resource", "scp"),
        fc.constantFrom(...actions.filter((a) => !a.includes("*"))),
        fc.constantFrom(alice, session, root),
        (ids, others, where, action, principal) => {
          const deny = { Effect: "Deny", Action: action, Resource: "*" };
          const input: EvaluationInput = { principal, action, resource: KEY, context: ctx(), identityPolicies: [identity(...ids)] };
          const rp = (s: object[]) => ({ policy: resource(...s.map((x) => ({ ...x, Principal: "*" }))), ownerAccountId: ACCT, authoritative: true });
          if (where === "identity") input.identityPolicies.push(identity(...others, deny));
          if (where === "boundary") input.permissionsBoundary = identity(...others, deny);
          if (where === "session") input.sessionPolicies = [identity(...others, deny)];
          if (where === "resource") input.resourcePolicy = rp([...others, deny]);
          if (where === "scp") input.scpLevels = [[identity(allowAll)], [identity(...others, deny)]];
          if (Math.random() < 0.5) input.grantAllows = true;
          expect(evaluate(input).decision).toBe("ExplicitDeny");
        },
      ),
      { numRuns: 500 },
    );
  });
});
