import { describe, expect, it } from "vitest";
import { compileGlob, matchParts } from "./wildcard.ts";
import { parseTemplate, resolveText, templateMatches } from "./variables.ts";
import { compileCidr, parseIp } from "./ip.ts";
import type { ConditionContext, ContextValue } from "./types.ts";

const ctxOf = (o: Record<string, ContextValue>): ConditionContext => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));

describe("wildcards", () => {
  it.each([
    ["*", "anything:at/all", true],
    ["*", "", true],
    ["arn:aws:kms:*", "arn:aws:kms:us-east-1:000000000000:key/abc", true],
    ["arn:aws:kms:*:*:key/*", "arn:aws:kms:us-east-1:000000000000:key/abc", true],
    ["arn:aws:kms:*:*:key/*", "arn:aws:kms:us-east-1:000000000000:alias/abc", false],
    ["arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", true],
    ["arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/a", true],
    ["arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/ab", false],
    ["arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/", false],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
    ["exact", "exact", true],
    ["exact", "Exact", false],
    ["a.b", "aXb", false], // regex metacharacters are literal
    ["a+(b)", "a+(b)", true],
  ])("%s ~ %s → %s", (pattern, value, expected) => {
    expect(compileGlob(pattern)(value)).toBe(expected);
  });

  it("ignores case when asked (actions)", () => {
    expect(compileGlob("KMS:Gen*", true)("kms:generatedatakey")).toBe(true);
    expect(compileGlob("kms:gen*", true, true)("kms:generatedatakey")).toBe(true);
    expect(compileGlob("kms:Encrypt", true)("KMS:ENCRYPT")).toBe(true);
    expect(compileGlob("kms:Encrypt", false)("KMS:ENCRYPT")).toBe(false);
  });

  it("matchParts treats literal parts' * and ? as ordinary characters", () => {
    expect(
      matchParts(
        [
          { text: "home/", literal: false },
          { text: "a*", literal: true },
          { text: "/*", literal: false },
        ],
        "home/a*/x",
      ),
    ).toBe(true);
    expect(
      matchParts(
        [
          { text: "home/", literal: false },
          { text: "a*", literal: true },
          { text: "/*", literal: false },
        ],
        "home/ab/x",
      ),
    ).toBe(false);
    expect(matchParts([{ text: "?", literal: true }], "?")).toBe(true);
    expect(matchParts([{ text: "?", literal: true }], "x")).toBe(false);
    expect(matchParts([{ text: "a**b", literal: false }], "ab")).toBe(true);
    expect(matchParts([{ text: "", literal: false }], "")).toBe(true);
    expect(matchParts([{ text: "*x", literal: false }], "xxxxy")).toBe(false);
  });
});

describe("policy variables", () => {
  const ctx = ctxOf({
    "aws:username": "alice",
    "aws:PrincipalTag/team": "red",
    "aws:TagKeys": ["a", "b"],
    "aws:CurrentTime": new Date("2024-01-02T03:04:05Z"),
    "aws:epochtime": 1704164645,
  });

  it("substitutes single-valued keys (case-insensitive key names)", () => {
    expect(resolveText(parseTemplate("home/${aws:username}/x")!, ctx)).toBe("home/alice/x");
    expect(resolveText(parseTemplate("${AWS:UserName}")!, ctx)).toBe("alice");
    expect(resolveText(parseTemplate("${aws:principaltag/TEAM}")!, ctx)).toBe("red");
    expect(resolveText(parseTemplate("${aws:CurrentTime}")!, ctx)).toBe("2024-01-02T03:04:05Z");
    expect(resolveText(parseTemplate("${aws:EpochTime}")!, ctx)).toBe("1704164645");
  });

  it("uses the default when the key is absent, and fails without one", () => {
    expect(resolveText(parseTemplate("${aws:PrincipalTag/dept, 'none'}")!, ctx)).toBe("none");
    expect(resolveText(parseTemplate("${aws:PrincipalTag/dept,'it''s'}")!, ctx)).toBe("it's");
    expect(resolveText(parseTemplate("${aws:PrincipalTag/team, 'none'}")!, ctx)).toBe("red");
    expect(resolveText(parseTemplate("x/${aws:PrincipalTag/dept}")!, ctx)).toBeUndefined();
  });

  it("does not substitute multi-valued keys", () => {
    expect(resolveText(parseTemplate("${aws:TagKeys}")!, ctx)).toBeUndefined();
  });

  it("supports the ${*} ${?} ${$} escapes as literal characters", () => {
    expect(resolveText(parseTemplate("a${*}b${?}c${$}d")!, ctx)).toBe("a*b?c$d");
    const t = parseTemplate("file${*}")!;
    expect(templateMatches(t, ctx, "file*")).toBe(true);
    expect(templateMatches(t, ctx, "fileX")).toBe(false);
  });

  it("substituted text is literal, policy text keeps its wildcards", () => {
    const star = ctxOf({ "aws:username": "*" });
    const t = parseTemplate("home/${aws:username}/*")!;
    expect(templateMatches(t, star, "home/*/file")).toBe(true);
    expect(templateMatches(t, star, "home/bob/file")).toBe(false);
    expect(templateMatches(t, ctx, "home/alice/deep/file")).toBe(true);
  });

  it("treats malformed variables as unresolvable and plain strings as no template", () => {
    expect(parseTemplate("no variables here")).toBeUndefined();
    expect(parseTemplate("unterminated ${aws:username")).toBeUndefined();
    expect(resolveText(parseTemplate("${}")!, ctx)).toBeUndefined();
    expect(resolveText(parseTemplate("${aws:username, unquoted}")!, ctx)).toBeUndefined();
  });
});

describe("IP addresses", () => {
  it.each([
    ["10.0.0.0/8", "10.255.1.2", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["192.0.2.0/24", "192.0.2.255", true],
    ["192.0.2.0/24", "192.0.3.0", false],
    ["192.0.2.7", "192.0.2.7", true],
    ["192.0.2.7/32", "192.0.2.8", false],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["192.0.2.0/24", "::ffff:192.0.2.10", true],
    ["2001:db8::/32", "2001:db8:1234::1", true],
    ["2001:db8::/32", "2001:db9::1", false],
    ["2001:db8:abcd:12::/63", "2001:db8:abcd:13::1", true],
    ["2001:db8:abcd:12::/64", "2001:db8:abcd:13::1", false],
    ["::1", "::1", true],
    ["::/0", "fe80::1", true],
    ["::/0", "10.0.0.1", false],
    ["10.0.0.0/8", "2001:db8::1", false],
    ["::ffff:0:0/96", "::ffff:10.0.0.1", false], // mapped requests are matched as IPv4
    ["64:ff9b::/96", "64:ff9b::192.0.2.1", true],
  ])("%s contains %s → %s", (cidr, ip, expected) => {
    const m = compileCidr(cidr)!;
    const parsed = parseIp(ip);
    expect(parsed).toBeDefined();
    expect(m(parsed!)).toBe(expected);
  });

  it("rejects invalid addresses and CIDRs", () => {
    for (const bad of ["10.0.0.0/33", "256.0.0.1", "10.0.0", "01.2.3.4", "10.0.0.0/x", "2001:db8::/129", "hello", ""]) expect(compileCidr(bad)).toBeUndefined();
    for (const bad of ["1.2.3", "1.2.3.4.5", "gggg::1", ""]) expect(parseIp(bad)).toBeUndefined();
  });
});
