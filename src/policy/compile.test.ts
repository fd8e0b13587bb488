import { describe, expect, it } from "vitest";
import { CACHE_LIMIT, compiledCacheSize, compilePolicy, compileStoredPolicy, MAX_DOCUMENT_CHARS } from "./compile.ts";
import { evaluate } from "./evaluate.ts";
import { PolicyError, type ConditionContext, type PolicyKind, type RequestPrincipal } from "./index.ts";

const doc = (statement: unknown, version: string | undefined = "2012-10-17") =>
  JSON.stringify(version === undefined ? { Statement: statement } : { Version: version, Statement: statement });
const ctx = (o: Record<string, string> = {}): ConditionContext => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));

function rejects(text: string, kind: PolicyKind, message: string | RegExp) {
  let err: unknown;
  try {
    compilePolicy(text, kind);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${kind} policy to be rejected: ${text}`).toBeInstanceOf(PolicyError);
  if (typeof message === "string") expect((err as Error).message).toBe(message);
  else expect((err as Error).message).toMatch(message);
}

const allowAll = { Effect: "Allow", Action: "*", Resource: "*" };

describe("malformed documents", () => {
  it.each([
    ["{not json", "Syntax errors in policy."],
    ["[]", "Syntax errors in policy."],
    ["null", "Syntax errors in policy."],
    ['"text"', "Syntax errors in policy."],
    ['{"Version":"2012-10-17"}', "Missing required field Statement"],
    ['{"Version":"2012-10-17","Statement":[]}', "Missing required field Statement"],
    ['{"Version":"2012-10-17","Statement":5}', "Syntax errors in policy."],
    ['{"Version":"2012-10-17","Statement":[5]}', "Syntax errors in policy."],
    ['{"Version":"2019-01-01","Statement":[]}', "The policy must contain a valid version string"],
    ['{"Version":20121017,"Statement":{}}', "The policy must contain a valid version string"],
    [JSON.stringify({ Version: "2012-10-17", Statement: [allowAll], Extra: 1 }), "Unknown field Extra"],
    [doc([{ ...allowAll, Principals: "*" }]), "Unknown field Principals"],
    [doc([{ Action: "*", Resource: "*" }]), "Missing required field Effect"],
    [doc([{ ...allowAll, Effect: "Maybe" }]), "Invalid effect: Maybe"],
    [doc([{ ...allowAll, Effect: "allow" }]), "Invalid effect: allow"],
    [doc([{ Effect: "Allow", Resource: "*" }]), "Policy statement must contain actions."],
    [doc([{ Effect: "Allow", Action: [], Resource: "*" }]), "Policy statement must contain actions."],
    [doc([{ Effect: "Allow", Action: "s3:GetObject", NotAction: "s3:PutObject", Resource: "*" }]), "Statement cannot contain both Action and NotAction."],
    [doc([{ Effect: "Allow", Action: "*", Resource: "*", NotResource: "arn:aws:s3:::b" }]), "Statement cannot contain both Resource and NotResource."],
    [doc([{ Effect: "Allow", Action: "GetObject", Resource: "*" }]), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."],
    [doc([{ Effect: "Allow", Action: ":GetObject", Resource: "*" }]), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."],
    [doc([{ Effect: "Allow", Action: "s3:Get Object", Resource: "*" }]), /^Action s3:Get Object is not valid/],
    [doc([{ Effect: "Allow", Action: "s3:", Resource: "*" }]), /^Action s3: is not valid/],
    [doc([{ Effect: "Allow", Action: 5, Resource: "*" }]), "Action must be a string or a list of strings"],
    [doc([{ Effect: "Allow", Action: "*", Resource: "bucket" }]), 'Resource bucket must be in ARN format or "*".'],
    [doc([{ Effect: "Allow", Action: "*", Resource: [] }]), "Policy statement must contain resources."],
    [doc([{ ...allowAll, Condition: { StringEqualz: { "aws:username": "a" } } }]), "Invalid Condition type : StringEqualz"],
    [doc([{ ...allowAll, Condition: { "ForEveryValue:StringEquals": { "aws:TagKeys": "a" } } }]), "Invalid Condition type : ForEveryValue:StringEquals"],
    [doc([{ ...allowAll, Condition: { Null: { "aws:TagKeys": "maybe" } } }]), /Null/],
    [doc([{ ...allowAll, Condition: { StringEquals: { username: "a" } } }]), "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."],
    [doc([{ ...allowAll, Condition: "x" }]), "Syntax errors in policy."],
    [doc([{ ...allowAll, Condition: { StringEquals: "x" } }]), "Syntax errors in policy."],
    [doc([{ ...allowAll, Sid: 5 }]), "Statement IDs (SID) must be strings."],
    [doc([{ ...allowAll, Sid: "Allow all" }]), "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"],
    [
      doc([
        { ...allowAll, Sid: "a" },
        { ...allowAll, Sid: "a" },
      ]),
      "Statement IDs (SID) in a single policy must be unique.",
    ],
  ])("identity policy %s → %s", (text, message) => rejects(text, "identity", message));

  it("applies each kind's rules", () => {
    const withPrincipal = doc([{ ...allowAll, Principal: { AWS: "*" } }]);
    rejects(withPrincipal, "identity", "Policy document should not specify a principal.");
    rejects(withPrincipal, "session", "Policy document should not specify a principal.");
    rejects(withPrincipal, "scp", "Policy document should not specify a principal.");
    rejects(doc([{ ...allowAll, NotPrincipal: { AWS: "*" } }]), "identity", "Policy document should not specify a principal.");
    rejects(doc([{ Effect: "Allow", Action: "*" }]), "identity", "Policy statement must contain resources.");
    rejects(doc([{ Effect: "Allow", Action: "*" }]), "session", "Policy statement must contain resources.");
    rejects(doc([allowAll]), "resource", "Missing required field Principal");
    rejects(doc([{ Effect: "Allow", Action: "sts:AssumeRole" }]), "trust", "Missing required field Principal");
    rejects(doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole", Resource: "*" }]), "trust", "Has prohibited field Resource");
    rejects(
      doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "s3:GetObject" }]),
      "trust",
      "AssumeRole policy may only specify STS AssumeRole actions.",
    );
    rejects(doc([{ ...allowAll, Principal: "*", NotPrincipal: "*" }]), "resource", "Statement cannot contain both Principal and NotPrincipal.");

    // accepted
    compilePolicy(doc([{ Effect: "Allow", Action: "*" }]), "scp");
    compilePolicy(doc([{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*" }]), "resource");
    compilePolicy(doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }]), "trust");
    // KMS key policies use Sids with spaces
    compilePolicy(doc([{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: "kms:*", Resource: "*" }]), "resource");
  });

  it.each([
    [{ AWS: "arn:aws:iam::111122223333:user/*" }],
    [{ AWS: "arn:aws:iam::*:root" }],
    [{ AWS: "arn:aws:iam::111122223333:group/admins" }],
    [{ AWS: "arn:aws:s3:::bucket" }],
    [{ AWS: "1111" }],
    [{ AWS: [] }],
    [{ AWS: "" }],
    [{ Service: "*.amazonaws.com" }],
    [{ Bogus: "x" }],
    [{}],
    ["111122223333"],
    [["*"]],
  ])("rejects the principal %j", (principal) => {
    rejects(doc([{ Effect: "Allow", Principal: principal, Action: "kms:*", Resource: "*" }]), "resource", /^Invalid principal in policy/);
  });

  it("accepts every documented principal form", () => {
    const principal = {
      AWS: [
        "*",
        "111122223333",
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::111122223333:user/path/alice",
        "arn:aws:iam::111122223333:role/app",
        "arn:aws:sts::111122223333:assumed-role/app/session",
        "arn:aws:sts::111122223333:federated-user/bob",
        "AROAEXAMPLEROLEID12345",
        "arn:aws-us-gov:iam::111122223333:root",
      ],
      Service: ["fargate.amazonaws.com", "ecs-tasks.amazonaws.com"],
      Federated: "cognito-identity.amazonaws.com",
      CanonicalUser: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
    };
    expect(compilePolicy(doc([{ Effect: "Allow", Principal: principal, Action: "kms:*", Resource: "*" }]), "resource").statements).toHaveLength(1);
  });
});

describe("compiled documents", () => {
  it("defaults Version to 2008-10-17 and accepts a single Statement object", () => {
    const p = compilePolicy(JSON.stringify({ Statement: allowAll }), "identity");
    expect(p.version).toBe("2008-10-17");
    expect(p.kind).toBe("identity");
    expect(p.statements).toHaveLength(1);
    expect(p.statements[0].effect).toBe("Allow");
  });

  it("keeps sid, effect, NotPrincipal and condition keys on each statement", () => {
    const p = compilePolicy(
      doc([
        {
          Sid: "One",
          Effect: "Deny",
          NotPrincipal: { AWS: "111122223333" },
          Action: "kms:*",
          Resource: "*",
          Condition: { StringEquals: { "AWS:PrincipalTag/Team": "x" }, Bool: { "aws:SecureTransport": "false" } },
        },
      ]),
      "resource",
    );
    const st = p.statements[0];
    expect(st.sid).toBe("One");
    expect(st.effect).toBe("Deny");
    expect(st.notPrincipal).toBe(true);
    expect(st.conditionKeys).toEqual(["aws:principaltag/team", "aws:securetransport"]);
  });

  it("caches by kind and exact text, LRU-bounded", () => {
    const text = doc([{ Sid: "Cache", ...allowAll }]);
    const a = compilePolicy(text, "identity");
    expect(compilePolicy(text, "identity")).toBe(a);
    expect(compilePolicy(text, "session")).not.toBe(a);
    expect(compilePolicy(text + " ", "identity")).not.toBe(a);
    for (let i = 0; i < CACHE_LIMIT + 10; i++) compilePolicy(doc([{ Sid: `S${i}`, ...allowAll }]), "identity");
    expect(compiledCacheSize()).toBe(CACHE_LIMIT);
    expect(compilePolicy(text, "identity")).not.toBe(a); // evicted, recompiled
  });

  it("does not cache failures", () => {
    rejects("{bad", "identity", "Syntax errors in policy.");
    rejects("{bad", "identity", "Syntax errors in policy.");
  });
});

describe("actions", () => {
  const st = (action: unknown, not = false) => compilePolicy(doc([{ Effect: "Allow", [not ? "NotAction" : "Action"]: action, Resource: "*" }]), "identity").statements[0];

  it.each([
    ["kms:Encrypt", "kms:Encrypt", true],
    ["kms:Encrypt", "KMS:encrypt", true],
    ["KMS:ENCRYPT", "kms:Encrypt", true],
    ["kms:*", "kms:GenerateDataKeyWithoutPlaintext", true],
    ["kms:*", "kmsx:Encrypt", false],
    ["kms:Generate*", "kms:GenerateDataKey", true],
    ["kms:Generate*", "kms:Decrypt", false],
    ["kms:*Key", "kms:DescribeKey", true],
    ["kms:*Key", "kms:DescribeKeys", false],
    ["kms:Re?ncrypt*", "kms:ReEncryptFrom", true],
    ["*", "ecs:RunTask", true],
    [["s3:GetObject", "kms:Decrypt"], "kms:decrypt", true],
    [["s3:GetObject", "kms:Decrypt"], "kms:Encrypt", false],
  ])("Action %j matches %s → %s", (action, request, expected) => {
    expect(st(action).matchesAction(request)).toBe(expected);
  });

  it("NotAction matches everything else", () => {
    expect(st(["iam:*", "sts:*"], true).matchesAction("kms:Encrypt")).toBe(true);
    expect(st(["iam:*", "sts:*"], true).matchesAction("IAM:CreateUser")).toBe(false);
  });
});

describe("resources", () => {
  const st = (resource: unknown, not = false, version = "2012-10-17") =>
    compilePolicy(doc([{ Effect: "Allow", Action: "*", [not ? "NotResource" : "Resource"]: resource }], version), "identity").statements[0];
  const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

  it.each([
    [key, key, true],
    ["arn:aws:kms:*", key, true],
    ["arn:aws:kms:*:111122223333:key/*", key, true],
    ["arn:aws:kms:*:444455556666:key/*", key, false],
    ["arn:aws:kms:us-east-1:111122223333:alias/*", key, false],
    ["arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab", key, false], // case-sensitive
    ["arn:aws:iam::111122223333:user/Alice", "arn:aws:iam::111122223333:user/alice", false],
    ["arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c", true],
    ["arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/ab", false],
    ["*", "*", true],
    [[key, "arn:aws:s3:::b"], "arn:aws:s3:::b", true],
  ])("Resource %j matches %s → %s", (resource, request, expected) => {
    expect(st(resource).matchesResource(request, ctx())).toBe(expected);
  });

  it("NotResource matches everything else", () => {
    expect(st("arn:aws:s3:::secret/*", true).matchesResource("arn:aws:s3:::public/x", ctx())).toBe(true);
    expect(st("arn:aws:s3:::secret/*", true).matchesResource("arn:aws:s3:::secret/x", ctx())).toBe(false);
  });

  it("resolves policy variables in 2012-10-17 and keeps them literal in 2008-10-17", () => {
    const c = ctx({ "aws:username": "alice" });
    const r = "arn:aws:s3:::home/${aws:username}/*";
    expect(st(r).matchesResource("arn:aws:s3:::home/alice/notes", c)).toBe(true);
    expect(st(r).matchesResource("arn:aws:s3:::home/bob/notes", c)).toBe(false);
    expect(st(r, false, "2008-10-17").matchesResource("arn:aws:s3:::home/alice/notes", c)).toBe(false);
    expect(st(r, false, "2008-10-17").matchesResource("arn:aws:s3:::home/${aws:username}/notes", c)).toBe(true);
  });

  it("an unresolvable variable makes that resource match nothing (and NotResource exclude nothing)", () => {
    const r = "arn:aws:s3:::home/${aws:username}/*";
    expect(st(r).matchesResource("arn:aws:s3:::home/alice/notes", ctx())).toBe(false);
    expect(st([r, "arn:aws:s3:::shared/*"]).matchesResource("arn:aws:s3:::shared/x", ctx())).toBe(true);
    expect(st(r, true).matchesResource("arn:aws:s3:::home/alice/notes", ctx())).toBe(true);
    expect(st("arn:aws:s3:::home/${aws:username, 'guest'}/*").matchesResource("arn:aws:s3:::home/guest/x", ctx())).toBe(true);
  });
});

describe("principals", () => {
  const A = "111122223333";
  const B = "444455556666";
  const user: RequestPrincipal = { type: "IAMUser", accountId: A, arn: `arn:aws:iam::${A}:user/alice` };
  const session: RequestPrincipal = { type: "AssumedRole", accountId: A, arn: `arn:aws:sts::${A}:assumed-role/app/s1`, roleArn: `arn:aws:iam::${A}:role/app` };
  const root: RequestPrincipal = { type: "Root", accountId: A, arn: `arn:aws:iam::${A}:root` };
  const fargate: RequestPrincipal = { type: "AWSService", accountId: A, arn: "fargate.amazonaws.com", serviceName: "fargate.amazonaws.com" };
  const anonymous: RequestPrincipal = { type: "Anonymous", accountId: "", arn: "anonymous" };
  const other: RequestPrincipal = { type: "IAMUser", accountId: B, arn: `arn:aws:iam::${B}:user/alice` };
  const st = (principal: unknown, not = false) =>
    compilePolicy(doc([{ Effect: "Deny", [not ? "NotPrincipal" : "Principal"]: principal, Action: "*", Resource: "*" }]), "resource").statements[0];

  it.each([
    ["*", user, "direct"],
    ["*", fargate, "direct"],
    ["*", anonymous, "direct"],
    [{ AWS: "*" }, session, "direct"],
    [{ AWS: "*" }, anonymous, "direct"],
    [{ AWS: A }, user, "account"],
    [{ AWS: `arn:aws:iam::${A}:root` }, user, "account"],
    [{ AWS: `arn:aws:iam::${A}:root` }, session, "account"],
    [{ AWS: `arn:aws:iam::${A}:root` }, root, "direct"],
    [{ AWS: A }, root, "direct"],
    [{ AWS: `arn:aws:iam::${A}:root` }, other, "none"],
    [{ AWS: `arn:aws:iam::${A}:root` }, fargate, "none"],
    [{ AWS: user.arn }, user, "direct"],
    [{ AWS: user.arn }, other, "none"],
    [{ AWS: session.roleArn }, session, "role"],
    [{ AWS: session.arn }, session, "direct"],
    [{ AWS: [session.roleArn, session.arn] }, session, "direct"],
    [{ AWS: `arn:aws:iam::${A}:role/other` }, session, "none"],
    [{ Service: "fargate.amazonaws.com" }, fargate, "direct"],
    [{ Service: "FARGATE.amazonaws.com" }, fargate, "direct"],
    [{ Service: "ecs-tasks.amazonaws.com" }, fargate, "none"],
    [{ Service: "fargate.amazonaws.com" }, user, "none"],
    [{ AWS: A, Service: "fargate.amazonaws.com" }, fargate, "direct"],
    [{ Federated: "cognito-identity.amazonaws.com" }, user, "none"],
    [{ Federated: `arn:aws:iam::${A}:oidc-provider/token.example.com` }, { ...anonymous, federatedProvider: `arn:aws:iam::${A}:oidc-provider/token.example.com` }, "direct"],
    [{ Federated: `arn:aws:iam::${A}:oidc-provider/token.example.com` }, { ...anonymous, federatedProvider: `arn:aws:iam::${A}:oidc-provider/other.example.com` }, "none"],
    [{ Federated: `arn:aws:iam::${A}:oidc-provider/token.example.com` }, anonymous, "none"],
    [{ AWS: `arn:aws:iam::${A}:root` }, { ...anonymous, federatedProvider: `arn:aws:iam::${A}:saml-provider/idp` }, "none"],
    [{ AWS: "AIDAEXAMPLEUSERID12345" }, user, "none"],
  ])("Principal %j vs %o → %s", (principal, p, expected) => {
    expect(st(principal).matchPrincipal(p as RequestPrincipal)).toBe(expected);
  });

  it("NotPrincipal excludes a caller only when all its identities are listed", () => {
    // user: account + user ARN
    expect(st({ AWS: [user.arn, `arn:aws:iam::${A}:root`] }, true).matchPrincipal(user)).toBe("none");
    expect(st({ AWS: [user.arn] }, true).matchPrincipal(user)).toBe("direct");
    expect(st({ AWS: [`arn:aws:iam::${A}:root`] }, true).matchPrincipal(user)).toBe("direct");
    // session: account + role + session
    expect(st({ AWS: [session.arn, session.roleArn, A] }, true).matchPrincipal(session)).toBe("none");
    expect(st({ AWS: [session.roleArn, A] }, true).matchPrincipal(session)).toBe("direct");
    expect(st({ AWS: [session.arn, A] }, true).matchPrincipal(session)).toBe("direct");
    // root: the account
    expect(st({ AWS: A }, true).matchPrincipal(root)).toBe("none");
    // services and anonymous
    expect(st({ Service: "fargate.amazonaws.com" }, true).matchPrincipal(fargate)).toBe("none");
    expect(st({ AWS: A }, true).matchPrincipal(fargate)).toBe("direct");
    expect(st({ AWS: A }, true).matchPrincipal(anonymous)).toBe("direct");
    expect(st("*", true).matchPrincipal(anonymous)).toBe("none");
    // a different account's principal is not excluded
    expect(st({ AWS: [user.arn, A] }, true).matchPrincipal(other)).toBe("direct");
  });

  it("identity-side statements match every principal", () => {
    expect(compilePolicy(doc([allowAll]), "identity").statements[0].matchPrincipal(other)).toBe("direct");
  });
});

describe("stored documents", () => {
  const alice: RequestPrincipal = { type: "IAMUser", accountId: "111122223333", arn: "arn:aws:iam::111122223333:user/alice" };
  const run = (identity: string[], resource?: string) =>
    evaluate({
      principal: alice,
      action: "kms:Encrypt",
      resource: "arn:aws:kms:us-east-1:111122223333:key/k",
      context: new Map(),
      identityPolicies: identity.map((d) => compileStoredPolicy(d, "identity")),
      resourcePolicy: resource ? { policy: compileStoredPolicy(resource, "resource"), ownerAccountId: "111122223333", authoritative: true } : undefined,
    }).decision;
  const allowAll = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

  it("refuses documents longer than any AWS API accepts", () => {
    const long = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: `arn:${"x".repeat(MAX_DOCUMENT_CHARS)}` }] });
    expect(() => compilePolicy(long, "identity")).toThrow(PolicyError);
  });

  it("a stored document that no longer compiles denies everything instead of failing or vanishing", () => {
    expect(run([allowAll])).toBe("Allow");
    expect(run([allowAll, '{"Statement": "not a statement"}'])).toBe("ExplicitDeny");
    expect(run([allowAll, JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "*", Resource: `arn:${"x".repeat(MAX_DOCUMENT_CHARS)}` }] })])).toBe(
      "ExplicitDeny",
    );
    expect(run([allowAll], "{broken")).toBe("ExplicitDeny");
  });
});
