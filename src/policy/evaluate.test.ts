import { describe, expect, it } from "vitest";
import {
  accessDeniedMessage,
  compilePolicy,
  evaluate,
  simulate,
  type CompiledPolicy,
  type ContextValue,
  type EvaluationInput,
  type EvaluationResult,
  type PolicyKind,
  type RequestPrincipal,
} from "./index.ts";

const A = "111122223333";
const B = "444455556666";
const alice: RequestPrincipal = { type: "IAMUser", accountId: A, arn: `arn:aws:iam::${A}:user/alice` };
const bob: RequestPrincipal = { type: "IAMUser", accountId: A, arn: `arn:aws:iam::${A}:user/bob` };
const session: RequestPrincipal = { type: "AssumedRole", accountId: A, arn: `arn:aws:sts::${A}:assumed-role/app/s1`, roleArn: `arn:aws:iam::${A}:role/app` };
const root: RequestPrincipal = { type: "Root", accountId: A, arn: `arn:aws:iam::${A}:root` };
const fargate: RequestPrincipal = { type: "AWSService", accountId: A, arn: "fargate.amazonaws.com", serviceName: "fargate.amazonaws.com" };
const federated: RequestPrincipal = { type: "FederatedUser", accountId: A, arn: `arn:aws:sts::${A}:federated-user/fred` };
const anonymous: RequestPrincipal = { type: "Anonymous", accountId: "", arn: "anonymous" };
const outsider: RequestPrincipal = { type: "IAMUser", accountId: B, arn: `arn:aws:iam::${B}:user/eve` };

const KEY = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ROLE = `arn:aws:iam::${A}:role/target`;

let n = 0;
/** A policy document; a unique Id keeps the compile cache from sharing objects between tests. */
function pol(kind: PolicyKind, ...statements: object[]): CompiledPolicy {
  return compilePolicy(JSON.stringify({ Version: "2012-10-17", Id: `t${n++}`, Statement: statements }), kind);
}
const allow = (action: string | string[], extra: object = {}) => ({ Effect: "Allow", Action: action, Resource: "*", ...extra });
const deny = (action: string | string[], extra: object = {}) => ({ Effect: "Deny", Action: action, Resource: "*", ...extra });
const identity = (...statements: object[]) => pol("identity", ...statements);
const resourceSt = (principal: unknown, action: string | string[], extra: object = {}) => ({ Effect: "Allow", Principal: principal, Action: action, Resource: "*", ...extra });
const ctxOf = (o: Record<string, ContextValue> = {}) => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v] as [string, ContextValue]));

function run(over: Partial<EvaluationInput>): EvaluationResult {
  return evaluate({ principal: alice, action: "kms:Encrypt", resource: KEY, context: ctxOf(), identityPolicies: [], ...over });
}
const implicit = (deniedBy: EvaluationResult["deniedBy"]) => ({ decision: "ImplicitDeny", deniedBy });

describe("identity-based policies", () => {
  it("denies by default and allows what a statement allows", () => {
    expect(run({})).toEqual(implicit("identity-based"));
    expect(run({ identityPolicies: [identity({ Sid: "Use", ...allow("kms:Encrypt") })] })).toEqual({ decision: "Allow", matchedStatementSid: "Use" });
    expect(run({ action: "KMS:ENCRYPT", identityPolicies: [identity(allow("kms:encrypt"))] }).decision).toBe("Allow");
    expect(run({ identityPolicies: [identity(allow("kms:Decrypt"))] })).toEqual(implicit("identity-based"));
  });

  it("an explicit deny in any identity policy wins", () => {
    const r = run({ identityPolicies: [identity(allow("kms:*")), identity({ Sid: "NoEncrypt", ...deny("kms:Encrypt") })] });
    expect(r).toEqual({ decision: "ExplicitDeny", deniedBy: "identity-based", matchedStatementSid: "NoEncrypt" });
  });

  it("matches resources with wildcards", () => {
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:*", Resource: `arn:aws:kms:*:${A}:key/*` })] }).decision).toBe("Allow");
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:*", Resource: `arn:aws:kms:*:${B}:key/*` })] }).decision).toBe("ImplicitDeny");
    expect(run({ identityPolicies: [identity({ Effect: "Allow", Action: "kms:*", NotResource: `arn:aws:kms:*:${A}:key/*` })] }).decision).toBe("ImplicitDeny");
    expect(run({ identityPolicies: [identity({ Effect: "Allow", NotAction: "iam:*", Resource: "*" })] }).decision).toBe("Allow");
  });

  it("a negated condition on a missing key applies (Deny unless from the corporate network)", () => {
    const p = [identity(allow("kms:*")), identity(deny("*", { Condition: { NotIpAddress: { "aws:SourceIp": "192.0.2.0/24" } } }))];
    expect(run({ identityPolicies: p, context: ctxOf({ "aws:sourceip": "192.0.2.10" }) }).decision).toBe("Allow");
    expect(run({ identityPolicies: p, context: ctxOf({ "aws:sourceip": "198.51.100.1" }) }).decision).toBe("ExplicitDeny");
    expect(run({ identityPolicies: p }).decision).toBe("ExplicitDeny"); // key missing: NotIpAddress is true
  });

  it("IfExists and Null guard optional keys", () => {
    const ifExists = [identity(allow("kms:*", { Condition: { StringEqualsIfExists: { "aws:ResourceTag/env": "dev" } } }))];
    expect(run({ identityPolicies: ifExists }).decision).toBe("Allow");
    expect(run({ identityPolicies: ifExists, context: ctxOf({ "aws:resourcetag/env": "dev" }) }).decision).toBe("Allow");
    expect(run({ identityPolicies: ifExists, context: ctxOf({ "aws:resourcetag/env": "prod" }) }).decision).toBe("ImplicitDeny");
    const requireMfa = [identity(allow("kms:*")), identity(deny("kms:*", { Condition: { Null: { "aws:MultiFactorAuthPresent": "true" } } }))];
    expect(run({ identityPolicies: requireMfa }).decision).toBe("ExplicitDeny");
    expect(run({ identityPolicies: requireMfa, context: ctxOf({ "aws:multifactorauthpresent": true }) }).decision).toBe("Allow");
  });

  it("conditions AND across keys and operators, OR across values", () => {
    const p = [
      identity(
        allow("kms:*", { Condition: { StringEquals: { "aws:PrincipalTag/team": ["red", "blue"], "aws:RequestedRegion": "us-east-1" }, Bool: { "aws:SecureTransport": "true" } } }),
      ),
    ];
    const ok = { "aws:principaltag/team": "blue", "aws:requestedregion": "us-east-1", "aws:securetransport": true };
    expect(run({ identityPolicies: p, context: ctxOf(ok) }).decision).toBe("Allow");
    expect(run({ identityPolicies: p, context: ctxOf({ ...ok, "aws:securetransport": false }) }).decision).toBe("ImplicitDeny");
    expect(run({ identityPolicies: p, context: ctxOf({ ...ok, "aws:requestedregion": "eu-west-1" }) }).decision).toBe("ImplicitDeny");
    expect(run({ identityPolicies: p, context: ctxOf({ ...ok, "aws:principaltag/team": "green" }) }).decision).toBe("ImplicitDeny");
  });

  it("resolves policy variables per request", () => {
    const p = [identity({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::home/${aws:username}/*" })];
    const get = (principal: RequestPrincipal, resource: string, c: Record<string, ContextValue>) =>
      run({ principal, action: "s3:GetObject", resource, identityPolicies: p, context: ctxOf(c) }).decision;
    expect(get(alice, "arn:aws:s3:::home/alice/a.txt", { "aws:username": "alice" })).toBe("Allow");
    expect(get(alice, "arn:aws:s3:::home/bob/a.txt", { "aws:username": "alice" })).toBe("ImplicitDeny");
    // a role session has no aws:username: the resource cannot match
    expect(get(session, "arn:aws:s3:::home/alice/a.txt", {})).toBe("ImplicitDeny");
  });
});

describe("permissions boundaries", () => {
  it("both the identity policy and the boundary must allow", () => {
    const id = [identity(allow(["kms:Encrypt", "kms:Decrypt"]))];
    const boundary = identity(allow("kms:Encrypt"));
    expect(run({ identityPolicies: id, permissionsBoundary: boundary }).decision).toBe("Allow");
    expect(run({ action: "kms:Decrypt", identityPolicies: id, permissionsBoundary: boundary })).toEqual(implicit("permissions boundary"));
    expect(run({ action: "kms:Decrypt", identityPolicies: [], permissionsBoundary: identity(allow("*")) })).toEqual(implicit("identity-based"));
  });

  it("a deny in the boundary is an explicit deny", () => {
    const r = run({ identityPolicies: [identity(allow("*"))], permissionsBoundary: identity(allow("*"), { Sid: "B", ...deny("kms:Encrypt") }) });
    expect(r).toEqual({ decision: "ExplicitDeny", deniedBy: "permissions boundary", matchedStatementSid: "B" });
  });
});

describe("session policies", () => {
  const roleAllows = [identity(allow(["kms:Encrypt", "kms:Decrypt"]))];

  it("a role session is limited to the intersection with its session policies", () => {
    expect(run({ principal: session, identityPolicies: roleAllows }).decision).toBe("Allow");
    expect(run({ principal: session, identityPolicies: roleAllows, sessionPolicies: [pol("session", allow("kms:Decrypt"))] })).toEqual(implicit("session"));
    expect(run({ principal: session, identityPolicies: roleAllows, sessionPolicies: [pol("session", allow("kms:Encrypt"))] }).decision).toBe("Allow");
    expect(run({ principal: session, identityPolicies: [], sessionPolicies: [pol("session", allow("*"))] })).toEqual(implicit("identity-based"));
  });

  it("several session policies (inline + managed) are a union", () => {
    const sp = [pol("session", allow("kms:Decrypt")), pol("session", allow("kms:Encrypt"))];
    expect(run({ principal: session, identityPolicies: roleAllows, sessionPolicies: sp }).decision).toBe("Allow");
  });

  it("a deny in a session policy is an explicit deny", () => {
    expect(run({ principal: session, identityPolicies: roleAllows, sessionPolicies: [pol("session", allow("*"), deny("kms:Encrypt"))] })).toMatchObject({
      decision: "ExplicitDeny",
      deniedBy: "session",
    });
  });

  it("a federated-user session without a session policy has no permissions", () => {
    expect(run({ principal: federated, identityPolicies: roleAllows })).toEqual(implicit("session"));
    expect(run({ principal: federated, identityPolicies: roleAllows, sessionPolicies: [pol("session", allow("kms:*"))] }).decision).toBe("Allow");
  });

  it("the boundary is checked before the session policy", () => {
    expect(run({ principal: session, identityPolicies: roleAllows, permissionsBoundary: identity(allow("s3:*")), sessionPolicies: [pol("session", allow("s3:*"))] })).toEqual(
      implicit("permissions boundary"),
    );
  });
});

describe("service control policies", () => {
  const full = () => pol("scp", allow("*"));
  const id = [identity(allow("*"))];

  it("every level from the root down must allow", () => {
    expect(run({ identityPolicies: id, scpLevels: [[full()], [full()], [pol("scp", allow("kms:*"))]] }).decision).toBe("Allow");
    expect(run({ identityPolicies: id, scpLevels: [[full()], [pol("scp", allow("s3:*"))], [full()]] })).toEqual(implicit("service control"));
    expect(run({ identityPolicies: id, scpLevels: [[full()], []] })).toEqual(implicit("service control"));
    // two policies at one level: either may allow
    expect(run({ identityPolicies: id, scpLevels: [[pol("scp", allow("s3:*")), pol("scp", allow("kms:Encrypt"))]] }).decision).toBe("Allow");
  });

  it("an SCP allow grants nothing by itself", () => {
    expect(run({ identityPolicies: [], scpLevels: [[full()]] })).toEqual(implicit("identity-based"));
  });

  it("a deny at any level is an explicit deny; NotAction deny lists work", () => {
    expect(run({ identityPolicies: id, scpLevels: [[full(), pol("scp", { Sid: "NoKms", Effect: "Deny", Action: "kms:*" })]] })).toEqual({
      decision: "ExplicitDeny",
      deniedBy: "service control",
      matchedStatementSid: "NoKms",
    });
    const onlyKms = pol("scp", { Effect: "Deny", NotAction: ["kms:*", "sts:*"], Resource: "*" });
    expect(run({ identityPolicies: id, scpLevels: [[full(), onlyKms]] }).decision).toBe("Allow");
    expect(run({ action: "s3:GetObject", identityPolicies: id, scpLevels: [[full(), onlyKms]] }).decision).toBe("ExplicitDeny");
  });

  it("SCPs apply to the root user when given", () => {
    expect(run({ principal: root }).decision).toBe("Allow");
    expect(run({ principal: root, scpLevels: [[full()]] }).decision).toBe("Allow");
    expect(run({ principal: root, scpLevels: [[pol("scp", allow("s3:*"))]] })).toEqual(implicit("service control"));
    expect(run({ principal: root, scpLevels: [[full(), pol("scp", deny("kms:Encrypt"))]] }).decision).toBe("ExplicitDeny");
  });
});

describe("RCPs (resource control policies of the resource's account)", () => {
  const id = [identity(allow("*"))];
  const rcpFull = () => pol("resource", { Effect: "Allow", Principal: "*", Action: "*", Resource: "*" });

  it("every level must allow, and a deny at any level is an explicit deny in a resource control policy", () => {
    expect(run({ identityPolicies: id, rcpLevels: [[rcpFull()], [rcpFull()]] }).decision).toBe("Allow");
    expect(run({ identityPolicies: id, rcpLevels: [[rcpFull()], []] })).toEqual(implicit("resource control"));
    const r = run({ identityPolicies: id, rcpLevels: [[rcpFull(), pol("resource", { Sid: "NoKms", Effect: "Deny", Principal: "*", Action: "kms:*", Resource: "*" })]] });
    expect(r).toEqual({ decision: "ExplicitDeny", deniedBy: "resource control", matchedStatementSid: "NoKms" });
    expect(accessDeniedMessage(alice.arn, "kms:Encrypt", KEY, r)).toBe(
      `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY} with an explicit deny in a resource control policy`,
    );
    expect(accessDeniedMessage(alice.arn, "kms:Encrypt", KEY, { decision: "ImplicitDeny", deniedBy: "resource control" })).toMatch(
      /with an explicit deny in a resource control policy$/,
    );
  });

  it("an RCP allow grants nothing by itself, and applies to the root user and to AWS service principals", () => {
    expect(run({ identityPolicies: [], rcpLevels: [[rcpFull()]] })).toEqual(implicit("identity-based"));
    expect(run({ principal: root, rcpLevels: [[rcpFull(), pol("resource", { Effect: "Deny", Principal: "*", Action: "kms:*", Resource: "*" })]] }).decision).toBe("ExplicitDeny");
    const keyPolicy = { policy: pol("resource", resourceSt({ Service: "fargate.amazonaws.com" }, "kms:Encrypt")), ownerAccountId: A, authoritative: true };
    expect(run({ principal: fargate, resourcePolicy: keyPolicy }).decision).toBe("Allow");
    expect(
      run({ principal: fargate, resourcePolicy: keyPolicy, rcpLevels: [[pol("resource", { Effect: "Deny", Principal: "*", Action: "kms:*", Resource: "*" })]] }).decision,
    ).toBe("ExplicitDeny");
  });
});

describe("resource-based policies in the same account (union with IAM)", () => {
  const rp = (policy: CompiledPolicy, owner = A) => ({ policy, ownerAccountId: owner, authoritative: false });
  const narrowBoundary = identity(allow("s3:*"));

  it("naming the user grants directly, ignoring identity and boundary implicit denies", () => {
    const p = pol("resource", { Sid: "Alice", ...resourceSt({ AWS: alice.arn }, "kms:Encrypt") });
    expect(run({ resourcePolicy: rp(p) })).toEqual({ decision: "Allow", matchedStatementSid: "Alice" });
    expect(run({ resourcePolicy: rp(p), permissionsBoundary: narrowBoundary }).decision).toBe("Allow");
    expect(run({ principal: bob, resourcePolicy: rp(p) })).toEqual(implicit("identity-based"));
  });

  it("naming the role grants, but the boundary or session policy can still block", () => {
    const p = pol("resource", resourceSt({ AWS: session.roleArn }, "kms:Encrypt"));
    expect(run({ principal: session, resourcePolicy: rp(p) }).decision).toBe("Allow");
    expect(run({ principal: session, resourcePolicy: rp(p), permissionsBoundary: narrowBoundary })).toEqual(implicit("permissions boundary"));
    expect(run({ principal: session, resourcePolicy: rp(p), sessionPolicies: [pol("session", allow("s3:*"))] })).toEqual(implicit("session"));
  });

  it("naming the session grants directly, even past boundary and session policies", () => {
    const p = pol("resource", resourceSt({ AWS: session.arn }, "kms:Encrypt"));
    expect(run({ principal: session, resourcePolicy: rp(p), permissionsBoundary: narrowBoundary, sessionPolicies: [pol("session", allow("s3:*"))] }).decision).toBe("Allow");
  });

  it("naming the account delegates to IAM", () => {
    const p = pol("resource", resourceSt({ AWS: A }, "kms:Encrypt"));
    expect(run({ resourcePolicy: rp(p) })).toEqual(implicit("identity-based"));
    expect(run({ resourcePolicy: rp(p), identityPolicies: [identity({ Sid: "Id", ...allow("kms:Encrypt") })] })).toEqual({ decision: "Allow", matchedStatementSid: "Id" });
  });

  it("a resource policy that does not name the caller leaves the decision to IAM", () => {
    const p = pol("resource", resourceSt({ AWS: bob.arn }, "kms:Encrypt"));
    expect(run({ resourcePolicy: rp(p), identityPolicies: [identity(allow("kms:*"))] }).decision).toBe("Allow");
    expect(run({ resourcePolicy: rp(p) })).toEqual(implicit("identity-based"));
  });

  it("a deny in the resource policy wins over identity allows", () => {
    const p = pol("resource", { Sid: "No", Effect: "Deny", Principal: "*", Action: "kms:Encrypt", Resource: "*" });
    expect(run({ resourcePolicy: rp(p), identityPolicies: [identity(allow("*"))] })).toEqual({ decision: "ExplicitDeny", deniedBy: "resource-based", matchedStatementSid: "No" });
  });

  it("anonymous callers are granted only by Principal *", () => {
    expect(run({ principal: anonymous, resourcePolicy: rp(pol("resource", resourceSt("*", "s3:GetObject"))), action: "s3:GetObject" }).decision).toBe("Allow");
    expect(run({ principal: anonymous, resourcePolicy: rp(pol("resource", resourceSt({ AWS: A }, "s3:GetObject"))), action: "s3:GetObject" })).toEqual(implicit("resource-based"));
    expect(run({ principal: anonymous, action: "s3:GetObject" })).toEqual(implicit("resource-based"));
  });
});

describe("cross-account", () => {
  const rp = (policy: CompiledPolicy, authoritative = false) => ({ policy, ownerAccountId: A, authoritative });

  it("needs both the resource policy and the caller's identity policies", () => {
    const trusts = pol("resource", resourceSt({ AWS: B }, "kms:Encrypt"));
    const idAllow = [identity(allow("kms:Encrypt"))];
    expect(run({ principal: outsider, resourcePolicy: rp(trusts) })).toEqual(implicit("identity-based"));
    expect(run({ principal: outsider, resourcePolicy: rp(trusts), identityPolicies: idAllow }).decision).toBe("Allow");
    expect(run({ principal: outsider, resourcePolicy: rp(pol("resource", resourceSt({ AWS: A }, "kms:Encrypt"))), identityPolicies: idAllow })).toEqual(implicit("resource-based"));
    expect(run({ principal: outsider, identityPolicies: idAllow, resourcePolicy: rp(trusts, true) }).decision).toBe("Allow");
    // naming the external user directly still needs the external identity allow
    expect(run({ principal: outsider, resourcePolicy: rp(pol("resource", resourceSt({ AWS: outsider.arn }, "kms:Encrypt")), true) })).toEqual(implicit("identity-based"));
  });

  it("without a resource policy, another account's ARN is refused to every caller, root included", () => {
    const cluster = `arn:aws:ecs:us-east-1:${A}:cluster/prod`;
    const outsiderRoot: RequestPrincipal = { type: "Root", accountId: B, arn: `arn:aws:iam::${B}:root` };
    const admin = [identity(allow("*"))];
    expect(run({ principal: outsiderRoot, action: "ecs:UpdateCluster", resource: cluster })).toEqual(implicit("resource-based"));
    expect(run({ principal: outsider, action: "ecs:UpdateCluster", resource: cluster, identityPolicies: admin })).toEqual(implicit("resource-based"));
    expect(run({ principal: outsider, action: "iam:GetPolicy", resource: `arn:aws:iam::${A}:policy/p`, identityPolicies: admin })).toEqual(implicit("resource-based"));
    // the caller's own account, wildcards and ARNs without an account stay with the identity side
    expect(run({ principal: root, action: "ecs:UpdateCluster", resource: cluster }).decision).toBe("Allow");
    expect(run({ principal: outsiderRoot, action: "ecs:ListClusters", resource: "*" }).decision).toBe("Allow");
    expect(run({ principal: outsiderRoot, action: "s3:GetObject", resource: "arn:aws:s3:::bucket/key" }).decision).toBe("Allow");
    expect(run({ principal: outsider, action: "iam:AttachUserPolicy", resource: "arn:aws:iam::aws:policy/ReadOnlyAccess", identityPolicies: admin }).decision).toBe("Allow");
    expect(accessDeniedMessage(outsider.arn, "ecs:UpdateCluster", cluster, implicit("resource-based") as EvaluationResult)).toBe(
      `User: ${outsider.arn} is not authorized to perform: ecs:UpdateCluster on resource: ${cluster} because no resource-based policy allows the ecs:UpdateCluster action`,
    );
  });
});

describe("KMS key policies (authoritative)", () => {
  const keyPolicy = (...statements: object[]) => ({ policy: pol("resource", ...statements), ownerAccountId: A, authoritative: true });
  const enableIam = { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: "kms:*", Resource: "*" };
  const idAllow = [identity({ Sid: "UseKeys", ...allow("kms:*") })];

  it("identity allow + root-delegating key policy → Allow", () => {
    expect(run({ identityPolicies: idAllow, resourcePolicy: keyPolicy(enableIam) })).toEqual({ decision: "Allow", matchedStatementSid: "UseKeys" });
  });

  it("root-delegating key policy without an identity allow → identity-based implicit deny", () => {
    expect(run({ resourcePolicy: keyPolicy(enableIam) })).toEqual(implicit("identity-based"));
  });

  it("key policy naming only another role → ImplicitDeny resource-based, whatever IAM says", () => {
    const kp = keyPolicy(resourceSt({ AWS: `arn:aws:iam::${A}:role/other` }, "kms:*"));
    expect(run({ identityPolicies: idAllow, resourcePolicy: kp })).toEqual(implicit("resource-based"));
    expect(run({ principal: session, identityPolicies: idAllow, resourcePolicy: kp })).toEqual(implicit("resource-based"));
  });

  it("key policy naming the user directly, no identity policy → Allow", () => {
    expect(run({ resourcePolicy: keyPolicy({ Sid: "KeyUser", ...resourceSt({ AWS: alice.arn }, ["kms:Encrypt", "kms:Decrypt"]) }) })).toEqual({
      decision: "Allow",
      matchedStatementSid: "KeyUser",
    });
  });

  it("key policy naming the role: boundary still applies; naming the session: it does not", () => {
    const boundary = identity(allow("s3:*"));
    expect(run({ principal: session, resourcePolicy: keyPolicy(resourceSt({ AWS: session.roleArn }, "kms:*")) }).decision).toBe("Allow");
    expect(run({ principal: session, permissionsBoundary: boundary, resourcePolicy: keyPolicy(resourceSt({ AWS: session.roleArn }, "kms:*")) })).toEqual(
      implicit("permissions boundary"),
    );
    expect(run({ principal: session, permissionsBoundary: boundary, resourcePolicy: keyPolicy(resourceSt({ AWS: session.arn }, "kms:*")) }).decision).toBe("Allow");
  });

  it("an IAM deny applies without the key policy's permission; a key policy deny beats IAM", () => {
    const r1 = run({ identityPolicies: [identity(deny("kms:Encrypt"))], resourcePolicy: keyPolicy(resourceSt({ AWS: alice.arn }, "kms:*")) });
    expect(r1).toMatchObject({ decision: "ExplicitDeny", deniedBy: "identity-based" });
    const r2 = run({ identityPolicies: idAllow, resourcePolicy: keyPolicy(enableIam, { Effect: "Deny", Principal: { AWS: "*" }, Action: "kms:Encrypt", Resource: "*" }) });
    expect(r2).toMatchObject({ decision: "ExplicitDeny", deniedBy: "resource-based" });
  });

  it("the root user needs the key policy too", () => {
    expect(run({ principal: root, resourcePolicy: keyPolicy(enableIam) }).decision).toBe("Allow");
    expect(run({ principal: root, resourcePolicy: keyPolicy(resourceSt({ AWS: alice.arn }, "kms:*")) })).toEqual(implicit("resource-based"));
  });

  it("conditions on the delegating statement apply (kms:CallerAccount + kms:ViaService with AWS *)", () => {
    const kp = keyPolicy(
      resourceSt({ AWS: "*" }, ["kms:Encrypt", "kms:Decrypt"], { Condition: { StringEquals: { "kms:CallerAccount": A, "kms:ViaService": "ecs.us-east-1.amazonaws.com" } } }),
    );
    const via = { "kms:calleraccount": A, "kms:viaservice": "ecs.us-east-1.amazonaws.com" };
    expect(run({ resourcePolicy: kp, context: ctxOf(via) }).decision).toBe("Allow"); // "*" names the caller itself
    expect(run({ resourcePolicy: kp, context: ctxOf({ "kms:calleraccount": A }) })).toEqual(implicit("resource-based"));
  });

  it("a KMS grant is an allow source that bypasses the key policy but not explicit denies or SCPs", () => {
    const closed = keyPolicy(resourceSt({ AWS: bob.arn }, "kms:*"));
    expect(run({ resourcePolicy: closed, grantAllows: true }).decision).toBe("Allow");
    expect(run({ resourcePolicy: closed, grantAllows: true, identityPolicies: [identity(deny("kms:Encrypt"))] })).toMatchObject({
      decision: "ExplicitDeny",
      deniedBy: "identity-based",
    });
    expect(run({ resourcePolicy: keyPolicy(enableIam, deny("kms:Encrypt", { Principal: "*" })), grantAllows: true })).toMatchObject({
      decision: "ExplicitDeny",
      deniedBy: "resource-based",
    });
    expect(run({ resourcePolicy: closed, grantAllows: true, scpLevels: [[pol("scp", allow("s3:*"))]] })).toEqual(implicit("service control"));
    expect(run({ grantAllows: true }).decision).toBe("Allow");
  });
});

describe("AWS service principals (Fargate and a customer managed key)", () => {
  const cluster = { "kms:encryptioncontext:aws:ecs:clusteraccount": A, "kms:encryptioncontext:aws:ecs:clustername": "prod" };
  const fargateKeyPolicy = {
    policy: pol(
      "resource",
      { Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: "kms:*", Resource: "*" },
      {
        Sid: "AllowGenerateDataKey",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:GenerateDataKeyWithoutPlaintext"],
        Resource: "*",
        Condition: { StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [A], "kms:EncryptionContext:aws:ecs:clusterName": ["prod"] } },
      },
      {
        Sid: "AllowCreateGrant",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:CreateGrant"],
        Resource: "*",
        Condition: {
          StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [A], "kms:EncryptionContext:aws:ecs:clusterName": ["prod"] },
          "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt"] },
        },
      },
    ),
    ownerAccountId: A,
    authoritative: true,
  };
  const svc = (action: string, c: Record<string, ContextValue>, over: Partial<EvaluationInput> = {}) =>
    run({ principal: fargate, action, resourcePolicy: fargateKeyPolicy, context: ctxOf(c), ...over });

  it("allows exactly what the key policy grants the service, under its conditions", () => {
    expect(svc("kms:GenerateDataKeyWithoutPlaintext", cluster)).toEqual({ decision: "Allow", matchedStatementSid: "AllowGenerateDataKey" });
    expect(svc("kms:GenerateDataKeyWithoutPlaintext", { ...cluster, "kms:encryptioncontext:aws:ecs:clustername": "dev" })).toEqual(implicit("resource-based"));
    expect(svc("kms:GenerateDataKeyWithoutPlaintext", {})).toEqual(implicit("resource-based"));
    expect(svc("kms:Decrypt", cluster)).toEqual(implicit("resource-based"));
  });

  it("limits the grant operations with ForAllValues:StringEquals kms:GrantOperations", () => {
    expect(svc("kms:CreateGrant", { ...cluster, "kms:grantoperations": ["Decrypt"] }).decision).toBe("Allow");
    expect(svc("kms:CreateGrant", { ...cluster, "kms:grantoperations": ["Decrypt", "Encrypt"] })).toEqual(implicit("resource-based"));
    expect(svc("kms:CreateGrant", { ...cluster, "kms:grantoperations": ["RetireGrant"] })).toEqual(implicit("resource-based"));
  });

  it("a service principal is not the account: the root statement does not cover it, identity policies never apply", () => {
    expect(svc("kms:DescribeKey", {})).toEqual(implicit("resource-based"));
    expect(svc("kms:DescribeKey", {}, { identityPolicies: [identity(allow("*"))] })).toEqual(implicit("resource-based"));
    expect(run({ principal: fargate, action: "kms:DescribeKey", identityPolicies: [identity(allow("*"))] })).toEqual(implicit("resource-based"));
  });

  it("the service is granted even when it acts for another account", () => {
    expect(svc("kms:GenerateDataKeyWithoutPlaintext", cluster, { principal: { ...fargate, accountId: B } }).decision).toBe("Allow");
  });

  it("a different service is not matched", () => {
    expect(
      svc("kms:GenerateDataKeyWithoutPlaintext", cluster, { principal: { type: "AWSService", accountId: A, arn: "ecs.amazonaws.com", serviceName: "ecs.amazonaws.com" } }),
    ).toEqual(implicit("resource-based"));
  });
});

describe("role trust policies (authoritative)", () => {
  const trust = (...statements: object[]) => ({ policy: pol("trust", ...statements), ownerAccountId: A, authoritative: true });
  const assume = (over: Partial<EvaluationInput>) => run({ action: "sts:AssumeRole", resource: ROLE, ...over });

  it("a trust policy naming the user lets it assume the role without an identity policy", () => {
    expect(assume({ resourcePolicy: trust({ Effect: "Allow", Principal: { AWS: alice.arn }, Action: "sts:AssumeRole" }) }).decision).toBe("Allow");
    expect(assume({ principal: bob, resourcePolicy: trust({ Effect: "Allow", Principal: { AWS: alice.arn }, Action: "sts:AssumeRole" }) })).toEqual(implicit("resource-based"));
  });

  it("a trust policy naming the account needs sts:AssumeRole in the caller's identity policies", () => {
    const t = trust({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: "sts:AssumeRole" });
    expect(assume({ resourcePolicy: t })).toEqual(implicit("identity-based"));
    expect(assume({ resourcePolicy: t, identityPolicies: [identity({ Effect: "Allow", Action: "sts:AssumeRole", Resource: ROLE })] }).decision).toBe("Allow");
  });

  it("honours trust conditions (sts:ExternalId) and denies", () => {
    const t = trust(
      { Effect: "Allow", Principal: { AWS: alice.arn }, Action: "sts:AssumeRole", Condition: { StringEquals: { "sts:ExternalId": "abc" } } },
      { Effect: "Deny", Principal: { AWS: "*" }, Action: "sts:AssumeRole", Condition: { StringLike: { "sts:RoleSessionName": "blocked-*" } } },
    );
    expect(assume({ resourcePolicy: t, context: ctxOf({ "sts:externalid": "abc", "sts:rolesessionname": "ok" }) }).decision).toBe("Allow");
    expect(assume({ resourcePolicy: t, context: ctxOf({ "sts:externalid": "nope", "sts:rolesessionname": "ok" }) })).toEqual(implicit("resource-based"));
    expect(assume({ resourcePolicy: t, context: ctxOf({ "sts:externalid": "abc", "sts:rolesessionname": "blocked-1" }) })).toMatchObject({
      decision: "ExplicitDeny",
      deniedBy: "resource-based",
    });
  });

  it("service principals assume roles through a Service trust statement", () => {
    const t = trust({ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": A } } });
    const ecsTasks: RequestPrincipal = { type: "AWSService", accountId: A, arn: "ecs-tasks.amazonaws.com", serviceName: "ecs-tasks.amazonaws.com" };
    expect(assume({ principal: ecsTasks, resourcePolicy: t, context: ctxOf({ "aws:sourceaccount": A }) }).decision).toBe("Allow");
    expect(assume({ principal: ecsTasks, resourcePolicy: t, context: ctxOf({ "aws:sourceaccount": B }) })).toEqual(implicit("resource-based"));
    expect(assume({ principal: fargate, resourcePolicy: t, context: ctxOf({ "aws:sourceaccount": A }) })).toEqual(implicit("resource-based"));
  });
});

describe("NotPrincipal with Deny", () => {
  const rp = (policy: CompiledPolicy) => ({ policy, ownerAccountId: A, authoritative: false });
  const onlyAlice = () => pol("resource", { Effect: "Deny", NotPrincipal: { AWS: [alice.arn, `arn:aws:iam::${A}:root`] }, Action: "kms:*", Resource: "*" });
  const idAllow = [identity(allow("kms:*"))];

  it("denies everyone except the listed principals", () => {
    expect(run({ identityPolicies: idAllow, resourcePolicy: rp(onlyAlice()) }).decision).toBe("Allow");
    expect(run({ principal: bob, identityPolicies: idAllow, resourcePolicy: rp(onlyAlice()) })).toMatchObject({ decision: "ExplicitDeny", deniedBy: "resource-based" });
    expect(run({ principal: session, identityPolicies: idAllow, resourcePolicy: rp(onlyAlice()) }).decision).toBe("ExplicitDeny");
    expect(run({ principal: fargate, resourcePolicy: rp(onlyAlice()) }).decision).toBe("ExplicitDeny");
  });

  it("listing the user without its account does not exclude it", () => {
    const p = pol("resource", { Effect: "Deny", NotPrincipal: { AWS: alice.arn }, Action: "kms:*", Resource: "*" });
    expect(run({ identityPolicies: idAllow, resourcePolicy: rp(p) }).decision).toBe("ExplicitDeny");
  });

  it("always applies to a caller with a permissions boundary", () => {
    expect(run({ identityPolicies: idAllow, permissionsBoundary: identity(allow("*")), resourcePolicy: rp(onlyAlice()) }).decision).toBe("ExplicitDeny");
  });
});

describe("accessDeniedMessage (AWS's phrases)", () => {
  const msg = (r: EvaluationResult) => accessDeniedMessage(alice.arn, "kms:Encrypt", KEY, r);
  const head = `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${KEY}`;

  it.each([
    [{ decision: "ImplicitDeny", deniedBy: "identity-based" }, `${head} because no identity-based policy allows the kms:Encrypt action`],
    [{ decision: "ImplicitDeny", deniedBy: "resource-based" }, `${head} because no resource-based policy allows the kms:Encrypt action`],
    [{ decision: "ImplicitDeny", deniedBy: "permissions boundary" }, `${head} because no permissions boundary allows the kms:Encrypt action`],
    [{ decision: "ImplicitDeny", deniedBy: "session" }, `${head} because no session policy allows the kms:Encrypt action`],
    [{ decision: "ImplicitDeny", deniedBy: "service control" }, `${head} with an explicit deny in a service control policy`],
    [{ decision: "ExplicitDeny", deniedBy: "identity-based" }, `${head} with an explicit deny in an identity-based policy`],
    [{ decision: "ExplicitDeny", deniedBy: "resource-based" }, `${head} with an explicit deny in a resource-based policy`],
    [{ decision: "ExplicitDeny", deniedBy: "permissions boundary" }, `${head} with an explicit deny in a permissions boundary`],
    [{ decision: "ExplicitDeny", deniedBy: "session" }, `${head} with an explicit deny in a session policy`],
    [{ decision: "ExplicitDeny", deniedBy: "service control" }, `${head} with an explicit deny in a service control policy`],
  ] as [EvaluationResult, string][])("%o", (r, expected) => {
    expect(msg(r)).toBe(expected);
  });
});

describe("simulate (IAM policy simulator)", () => {
  const input = (identityPolicies: CompiledPolicy[], over: Partial<EvaluationInput> = {}): EvaluationInput => ({
    principal: alice,
    action: "kms:Encrypt",
    resource: KEY,
    context: ctxOf(),
    identityPolicies,
    ...over,
  });

  it("reports the decision and every matching statement", () => {
    const p0 = identity({ Sid: "A0", ...allow("kms:*") }, { Sid: "A1", ...allow("s3:*") });
    const p1 = identity({ Sid: "D0", ...deny("kms:Encrypt") }, allow("kms:Encrypt"));
    expect(simulate(input([p0]))).toEqual({ decision: "allowed", matched: [{ policyIndex: 0, sid: "A0", effect: "Allow" }] });
    expect(simulate(input([p0, p1]))).toEqual({
      decision: "explicitDeny",
      matched: [
        { policyIndex: 0, sid: "A0", effect: "Allow" },
        { policyIndex: 1, sid: "D0", effect: "Deny" },
        { policyIndex: 1, effect: "Allow" },
      ],
    });
    expect(simulate(input([identity(allow("s3:*"))]))).toEqual({ decision: "implicitDeny", matched: [] });
  });

  it("takes the permissions boundary and session policies into account", () => {
    const id = [identity(allow("kms:*"))];
    expect(simulate(input(id, { permissionsBoundary: identity(allow("s3:*")) })).decision).toBe("implicitDeny");
    expect(simulate(input(id, { permissionsBoundary: identity(allow("*"), deny("kms:Encrypt")) })).decision).toBe("explicitDeny");
    expect(simulate(input(id, { permissionsBoundary: identity(allow("kms:*")) })).decision).toBe("allowed");
    expect(simulate(input(id, { principal: session, sessionPolicies: [pol("session", allow("s3:*"))] })).decision).toBe("implicitDeny");
  });

  it("ignores resource policies, SCPs and the root shortcut", () => {
    const kp = { policy: pol("resource", resourceSt({ AWS: alice.arn }, "kms:*")), ownerAccountId: A, authoritative: true };
    expect(simulate(input([], { resourcePolicy: kp })).decision).toBe("implicitDeny");
    expect(simulate(input([identity(allow("*"))], { scpLevels: [[pol("scp", deny("*"))]] })).decision).toBe("allowed");
    expect(simulate(input([], { principal: root })).decision).toBe("implicitDeny");
  });
});

describe("evaluation is independent of policy order", () => {
  it("gives the same decision for permuted identity policies", () => {
    const ps = [identity(allow("kms:*")), identity(deny("kms:Encrypt", { Condition: { Bool: { "aws:SecureTransport": "false" } } })), identity(allow("s3:*"))];
    const c = ctxOf({ "aws:securetransport": false });
    const a = run({ identityPolicies: ps, context: c });
    const b = run({ identityPolicies: [...ps].reverse(), context: c });
    expect(a).toEqual(b);
    expect(a.decision).toBe("ExplicitDeny");
  });
});

describe("web identity and SAML federation", () => {
  const provider = `arn:aws:iam::${A}:oidc-provider/token.example.com`;
  const caller: RequestPrincipal = { ...anonymous, federatedProvider: provider };
  const trust = (principal: unknown, extra: object = {}) => ({
    policy: pol("trust", { Effect: "Allow", Principal: principal, Action: "sts:AssumeRoleWithWebIdentity", ...extra }),
    ownerAccountId: A,
    authoritative: true,
  });
  const assume = (over: Partial<EvaluationInput>) => run({ principal: caller, action: "sts:AssumeRoleWithWebIdentity", resource: ROLE, ...over });

  it("a trust policy naming the provider as Federated lets its caller in; nothing else does", () => {
    expect(assume({ resourcePolicy: trust({ Federated: provider }) }).decision).toBe("Allow");
    expect(assume({ resourcePolicy: trust({ Federated: `arn:aws:iam::${A}:oidc-provider/other.example.com` }) }).decision).toBe("ImplicitDeny");
    expect(assume({ resourcePolicy: trust({ AWS: `arn:aws:iam::${A}:root` }) }).decision).toBe("ImplicitDeny");
    expect(assume({ principal: anonymous, resourcePolicy: trust({ Federated: provider }) }).decision).toBe("ImplicitDeny");
  });

  it("the token's claims decide through the trust policy's conditions", () => {
    const cond = { Condition: { StringLike: { "token.example.com:sub": "repo:acme/*" } } };
    expect(assume({ resourcePolicy: trust({ Federated: provider }, cond), context: ctxOf({ "token.example.com:sub": "repo:acme/app" }) }).decision).toBe("Allow");
    expect(assume({ resourcePolicy: trust({ Federated: provider }, cond), context: ctxOf({ "token.example.com:sub": "repo:evil/app" }) }).decision).toBe("ImplicitDeny");
  });
});
