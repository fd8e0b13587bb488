import { describe, it, expect } from "vitest";
import { runSimulation, sourcePolicy, statementSpans } from "./simulate.ts";

const one =
  '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}';

describe("statement positions", () => {
  it("finds each statement; later ones start at the comma before them, as AWS reports", () => {
    const spans = statementSpans(one);
    expect(spans).toHaveLength(2);
    expect(one[spans[0][0]]).toBe("{");
    expect(one[spans[0][1]]).toBe("}");
    expect(one[spans[1][0]]).toBe(",");
    expect(one.slice(spans[1][0], spans[1][1] + 1)).toBe(', {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}');
  });

  it("reports 1-based line and column", () => {
    const p = sourcePolicy("PolicyInputList.1", "IAM Policy", one, "identity");
    expect(p.statements[0].start).toEqual({ Line: 1, Column: 41 });
    const multi = JSON.stringify(JSON.parse(one), null, 2);
    const q = sourcePolicy("x", "IAM Policy", multi, "identity");
    expect(q.statements[0].start).toEqual({ Line: 4, Column: 5 });
    expect(q.statements[1].start.Line).toBe(8);
  });

  it("handles a single statement object, strings with braces and Statement after other keys", () => {
    const d = '{"Id": "a{b}", "Statement": {"Sid": "x]}", "Effect": "Allow", "Action": "*", "Resource": "*"}, "Version": "2012-10-17"}';
    const [[s, e]] = statementSpans(d);
    expect(d.slice(s, e + 1)).toBe('{"Sid": "x]}", "Effect": "Allow", "Action": "*", "Resource": "*"}');
  });
});

describe("simulation", () => {
  const principal = { type: "IAMUser" as const, accountId: "000000000000", arn: "arn:aws:iam::000000000000:user/u" };
  const run = (actions: string[], resources: string[], context = new Map()) =>
    runSimulation({ identity: [sourcePolicy("p", "user", one, "identity")], principal, resourceOwner: "000000000000", actions, resources, context });

  it("decides per action and names the matching statement", () => {
    const [get, del, put] = run(["s3:GetObject", "s3:DeleteObject", "s3:PutObject"], ["*"]);
    expect(get).toMatchObject({ EvalDecision: "allowed", MatchedStatements: [{ SourcePolicyId: "p", StartPosition: { Line: 1, Column: 41 } }] });
    expect(del).toMatchObject({ EvalDecision: "explicitDeny", MatchedStatements: [{ SourcePolicyId: "p" }] });
    expect(put).toMatchObject({ EvalDecision: "implicitDeny", MatchedStatements: [] });
  });

  it("gives per-resource results when several resources are simulated", () => {
    const bucketOnly = sourcePolicy("b", "user", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::a/*"}]}', "identity");
    const [r] = runSimulation({
      identity: [bucketOnly],
      principal,
      resourceOwner: "000000000000",
      actions: ["s3:GetObject"],
      resources: ["arn:aws:s3:::a/k", "arn:aws:s3:::b/k"],
      context: new Map(),
    });
    expect(r.EvalResourceName).toBe("*");
    expect(r.EvalDecision).toBe("allowed");
    expect(r.ResourceSpecificResults!.map((x) => [x.EvalResourceName, x.EvalResourceDecision])).toEqual([
      ["arn:aws:s3:::a/k", "allowed"],
      ["arn:aws:s3:::b/k", "implicitDeny"],
    ]);
  });

  it("applies a permissions boundary and reports it", () => {
    const boundary = sourcePolicy("bnd", "none", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}', "identity");
    const [r] = runSimulation({
      identity: [sourcePolicy("p", "user", one, "identity")],
      boundary,
      principal,
      resourceOwner: "000000000000",
      actions: ["s3:GetObject"],
      resources: ["*"],
      context: new Map(),
    });
    expect(r.EvalDecision).toBe("implicitDeny");
    expect(r.PermissionsBoundaryDecisionDetail).toEqual({ AllowedByPermissionsBoundary: false });
  });
});
