import { describe, expect, it } from "vitest";
import { compileCondition } from "./conditions.ts";
import { PolicyError, type ConditionContext, type ContextValue } from "./types.ts";

const ctxOf = (o: Record<string, ContextValue>): ConditionContext => new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]));

/** Runs one condition: `cond(op, key, values)(context)`. */
function check(op: string, key: string, values: unknown, context: Record<string, ContextValue>, variables = true): boolean {
  return compileCondition(op, key, values, variables).test(ctxOf(context));
}

type Row = [string, unknown, ContextValue | undefined, boolean];

/** Rows of [operator, policy values, request value (undefined = key missing), expected]. */
function table(key: string, rows: Row[]) {
  it.each(rows)(`%s %j with ${key}=%j → %s`, (op, values, req, expected) => {
    expect(check(op, key, values, req === undefined ? {} : { [key]: req })).toBe(expected);
  });
}

describe("string operators", () => {
  table("aws:username", [
    ["StringEquals", "alice", "alice", true],
    ["StringEquals", "alice", "Alice", false],
    ["StringEquals", ["bob", "alice"], "alice", true],
    ["StringEquals", "alice", undefined, false],
    ["StringNotEquals", "alice", "alice", false],
    ["StringNotEquals", "alice", "bob", true],
    ["StringNotEquals", "alice", undefined, true],
    ["StringNotEquals", ["alice", "bob"], "bob", false],
    ["StringEqualsIgnoreCase", "ALICE", "alice", true],
    ["StringEqualsIgnoreCase", ["x", "Alice"], "aLiCe", true],
    ["StringEqualsIgnoreCase", "alice", undefined, false],
    ["StringNotEqualsIgnoreCase", "ALICE", "alice", false],
    ["StringNotEqualsIgnoreCase", "ALICE", "bob", true],
    ["StringNotEqualsIgnoreCase", "ALICE", undefined, true],
    ["StringLike", "al*", "alice", true],
    ["StringLike", "al?ce", "alice", true],
    ["StringLike", "al?ce", "allice", false],
    ["StringLike", "AL*", "alice", false],
    ["StringLike", "*", undefined, false],
    ["StringNotLike", "al*", "alice", false],
    ["StringNotLike", "al*", "bob", true],
    ["StringNotLike", "al*", undefined, true],
    ["StringEqualsIfExists", "alice", undefined, true],
    ["StringEqualsIfExists", "alice", "bob", false],
    ["StringEqualsIfExists", "alice", "alice", true],
    ["StringLikeIfExists", "a*", undefined, true],
    ["StringNotEqualsIfExists", "alice", "alice", false],
    ["StringNotEqualsIfExists", "alice", undefined, true],
  ]);

  it("compares booleans, numbers and dates as their text", () => {
    expect(check("StringEquals", "aws:securetransport", "true", { "aws:securetransport": true })).toBe(true);
    expect(check("StringEquals", "aws:epochtime", 42, { "aws:epochtime": 42 })).toBe(true);
    expect(check("StringLike", "aws:currenttime", "2024-01-*", { "aws:currenttime": new Date("2024-01-05T00:00:00Z") })).toBe(true);
  });

  it("ANDs nothing itself but ORs the values; condition key names are case-insensitive", () => {
    expect(check("StringEquals", "AWS:PrincipalTag/Team", ["red", "blue"], { "aws:principaltag/team": "blue" })).toBe(true);
  });
});

describe("numeric operators", () => {
  table("s3:max-keys", [
    ["NumericEquals", "10", 10, true],
    ["NumericEquals", "10", "10", true],
    ["NumericEquals", "10", "10.0", true],
    ["NumericEquals", 10, 11, false],
    ["NumericNotEquals", "10", 11, true],
    ["NumericNotEquals", "10", 10, false],
    ["NumericNotEquals", "10", undefined, true],
    ["NumericLessThan", "10", 9, true],
    ["NumericLessThan", "10", 10, false],
    ["NumericLessThanEquals", "10", 10, true],
    ["NumericLessThanEquals", "10", 11, false],
    ["NumericGreaterThan", "10", 11, true],
    ["NumericGreaterThan", "10", 10, false],
    ["NumericGreaterThanEquals", "10", 10, true],
    ["NumericGreaterThanEquals", "10", 9, false],
    ["NumericGreaterThanEquals", "-1.5", -1, true],
    ["NumericLessThan", "1e3", 999, true],
    ["NumericLessThan", "10", undefined, false],
    ["NumericLessThanIfExists", "10", undefined, true],
    ["NumericEquals", "ten", 10, false],
    ["NumericEquals", "10", "ten", false],
    ["NumericEquals", "10", true, false],
    ["NumericEquals", "", 0, false],
  ]);
});

describe("date operators", () => {
  const t = new Date("2024-06-01T12:00:00Z");
  table("aws:currenttime", [
    ["DateEquals", "2024-06-01T12:00:00Z", t, true],
    ["DateEquals", "2024-06-01T12:00:00.000Z", t, true],
    ["DateEquals", String(t.getTime() / 1000), t, true], // epoch seconds
    ["DateNotEquals", "2024-06-01T12:00:00Z", t, false],
    ["DateNotEquals", "2024-06-01T12:00:01Z", t, true],
    ["DateNotEquals", "2024-06-01T12:00:01Z", undefined, true],
    ["DateLessThan", "2024-06-02", t, true],
    ["DateLessThan", "2024-06-01T12:00:00Z", t, false],
    ["DateLessThanEquals", "2024-06-01T12:00:00Z", t, true],
    ["DateGreaterThan", "2024-01-01T00:00:00Z", t, true],
    ["DateGreaterThan", "2025-01-01T00:00:00Z", t, false],
    ["DateGreaterThanEquals", "2024-06-01T12:00:00Z", t, true],
    ["DateGreaterThan", "2024-01-01T00:00:00Z", "2024-03-01T00:00:00Z", true],
    ["DateGreaterThan", "2024-01-01T00:00:00+02:00", "2023-12-31T23:00:00Z", true],
    ["DateLessThan", "2024-01-01T00:00:00Z", undefined, false],
    ["DateLessThanIfExists", "2024-01-01T00:00:00Z", undefined, true],
    ["DateLessThan", "not a date", t, false],
  ]);

  it("reads numeric request values (aws:EpochTime) as epoch seconds", () => {
    expect(check("DateGreaterThan", "aws:epochtime", "2024-01-01T00:00:00Z", { "aws:epochtime": 1717243200 })).toBe(true);
    expect(check("DateLessThan", "aws:epochtime", "2024-01-01T00:00:00Z", { "aws:epochtime": 1717243200 })).toBe(false);
  });
});

describe("Bool, BinaryEquals, IpAddress", () => {
  table("aws:securetransport", [
    ["Bool", "true", true, true],
    ["Bool", "true", false, false],
    ["Bool", "false", false, true],
    ["Bool", true, true, true],
    ["Bool", "TRUE", true, true],
    ["Bool", "true", "true", true],
    ["Bool", "false", undefined, false],
    ["Bool", "yes", true, false],
    ["BoolIfExists", "false", undefined, true],
  ]);
  table("aws:sourceip", [
    ["IpAddress", "203.0.113.0/24", "203.0.113.7", true],
    ["IpAddress", ["10.0.0.0/8", "203.0.113.0/24"], "203.0.113.7", true],
    ["IpAddress", "10.0.0.0/8", "203.0.113.7", false],
    ["IpAddress", "10.0.0.0/8", undefined, false],
    ["IpAddress", "2001:db8::/32", "2001:db8::5", true],
    ["IpAddress", "127.0.0.1/32", "::ffff:127.0.0.1", true],
    ["IpAddress", "10.0.0.0/8", "not-an-ip", false],
    ["NotIpAddress", "10.0.0.0/8", "203.0.113.7", true],
    ["NotIpAddress", "10.0.0.0/8", "10.1.2.3", false],
    ["NotIpAddress", "10.0.0.0/8", undefined, true],
    ["IpAddressIfExists", "10.0.0.0/8", undefined, true],
  ]);
  table("s3:binarykey", [
    ["BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWU=", true],
    ["BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWU", false],
    ["BinaryEquals", "QmluYXJ5VmFsdWU=", undefined, false],
    ["BinaryEqualsIfExists", "QmluYXJ5VmFsdWU=", undefined, true],
  ]);

  it("rejects an invalid CIDR when compiling", () => {
    expect(() => compileCondition("IpAddress", "aws:SourceIp", "300.0.0.0/8", true)).toThrow(PolicyError);
    expect(() => compileCondition("NotIpAddress", "aws:SourceIp", ["10.0.0.0/8", "bogus"], true)).toThrow(/Invalid IP address/);
  });
});

describe("ARN operators (per ARN part)", () => {
  const role = "arn:aws:iam::111122223333:role/app/Deployer";
  table("aws:principalarn", [
    ["ArnEquals", role, role, true],
    ["ArnEquals", "arn:aws:iam::111122223333:role/app/*", role, true],
    ["ArnLike", "arn:aws:iam::*:role/app/*", role, true],
    ["ArnLike", "arn:aws:iam::111122223333:role/*", role, true],
    ["ArnLike", "arn:aws:iam::111122223333:user/*", role, false],
    ["ArnLike", "arn:aws:iam::444455556666:role/*", role, false],
    ["ArnLike", "arn:aws:iam::1111?2223333:role/*", role, true],
    // a * inside one part does not swallow the next part's colon
    ["ArnLike", "arn:aws:*::111122223333:role/app/Deployer", role, true],
    ["ArnLike", "arn:aws:iam::*:Deployer", role, false],
    // fewer than six parts: a wildcard match over the whole ARN
    ["ArnLike", "arn:aws:iam::*", role, true],
    ["ArnLike", "*", role, true],
    ["ArnLike", "arn:aws:iam::111122223333:role/*", "not-an-arn", false],
    ["ArnLike", "arn:aws:iam::111122223333:role/*", undefined, false],
    ["ArnNotEquals", role, role, false],
    ["ArnNotEquals", role, "arn:aws:iam::111122223333:role/other", true],
    ["ArnNotLike", "arn:aws:iam::*:role/app/*", role, false],
    ["ArnNotLike", "arn:aws:iam::*:role/ops/*", role, true],
    ["ArnNotLike", "arn:aws:iam::*:role/ops/*", undefined, true],
    ["ArnLikeIfExists", "arn:aws:iam::*:role/ops/*", undefined, true],
  ]);

  it("keeps colons inside the resource part", () => {
    expect(
      check("ArnLike", "aws:sourcearn", "arn:aws:logs:us-east-1:111122223333:log-group:*", { "aws:sourcearn": "arn:aws:logs:us-east-1:111122223333:log-group:/ecs/app:*" }),
    ).toBe(true);
  });
});

describe("Null", () => {
  table("aws:tokenissuetime", [
    ["Null", "true", undefined, true],
    ["Null", "true", "2024-01-01T00:00:00Z", false],
    ["Null", "false", undefined, false],
    ["Null", "false", "2024-01-01T00:00:00Z", true],
    ["Null", true, undefined, true],
    ["Null", "TRUE", undefined, true],
  ]);
  table("aws:tagkeys", [
    ["Null", "true", [], true],
    ["Null", "false", [], false],
    ["Null", "false", ["a"], true],
  ]);

  it("accepts only true / false and no IfExists or set prefix", () => {
    expect(() => compileCondition("Null", "aws:TagKeys", "yes", true)).toThrow(/must be "true" or "false"/);
    expect(() => compileCondition("NullIfExists", "aws:TagKeys", "true", true)).toThrow("Invalid Condition type : NullIfExists");
    expect(() => compileCondition("ForAllValues:Null", "aws:TagKeys", "true", true)).toThrow("Invalid Condition type : ForAllValues:Null");
  });
});

describe("multi-valued keys and set operators", () => {
  // AWS docs, multi-valued context keys: ForAllValues true for missing or empty sets, every
  // request value must match one policy value; ForAnyValue false for missing or empty sets, one
  // request value matching is enough. Negated operators: "matches none of the policy values".
  const p = ["DataClass", "Owner"];
  table("aws:tagkeys", [
    ["ForAllValues:StringEquals", p, undefined, true],
    ["ForAllValues:StringEquals", p, [], true],
    ["ForAllValues:StringEquals", p, [""], true],
    ["ForAllValues:StringEquals", p, ["DataClass"], true],
    ["ForAllValues:StringEquals", p, ["DataClass", "Owner"], true],
    ["ForAllValues:StringEquals", p, ["DataClass", "Dept"], false],
    ["ForAllValues:StringEquals", p, ["dataclass"], false],
    ["ForAnyValue:StringEquals", p, undefined, false],
    ["ForAnyValue:StringEquals", p, [], false],
    ["ForAnyValue:StringEquals", p, [""], false],
    ["ForAnyValue:StringEquals", p, ["Dept"], false],
    ["ForAnyValue:StringEquals", p, ["Dept", "Owner"], true],
    // ForAllValues:StringNotEquals: none of the request values may be in the policy list
    ["ForAllValues:StringNotEquals", p, undefined, true],
    ["ForAllValues:StringNotEquals", p, ["DataClass", "Owner"], false],
    ["ForAllValues:StringNotEquals", p, ["DataClass", "Dept"], false],
    ["ForAllValues:StringNotEquals", p, ["Dept"], true],
    ["ForAllValues:StringNotEquals", p, ["Dept", "SIC"], true],
    ["ForAllValues:StringNotEquals", p, ["Dept", "SIC", "DataClass"], false],
    // ForAnyValue:StringNotEquals: at least one request value outside the policy list
    ["ForAnyValue:StringNotEquals", p, undefined, false],
    ["ForAnyValue:StringNotEquals", p, ["DataClass", "Owner"], false],
    ["ForAnyValue:StringNotEquals", p, ["DataClass", "Dept"], true],
    ["ForAnyValue:StringNotEquals", p, ["Dept"], true],
    // IfExists on a set operator: missing key → true
    ["ForAnyValue:StringEqualsIfExists", p, undefined, true],
    ["ForAnyValue:StringEqualsIfExists", p, ["Dept"], false],
    ["ForAllValues:StringEqualsIfExists", p, ["Dept"], false],
    // without a set operator (our documented choice): any request value matching is enough,
    // and the negated operator is its negation
    ["StringEquals", p, ["Dept", "Owner"], true],
    ["StringEquals", p, ["Dept"], false],
    ["StringNotEquals", p, ["Dept", "Owner"], false],
    ["StringNotEquals", p, ["Dept"], true],
    ["StringEquals", p, [], false],
    ["StringNotEquals", p, [], true],
  ]);

  const like = ["Owner:*", "State:??"];
  table("aws:tagkeys", [
    ["ForAllValues:StringLike", like, ["Owner:Legal", "State:NY"], true],
    ["ForAllValues:StringLike", like, ["Owner:Legal", "State:NewYork"], false],
    ["ForAnyValue:StringLike", like, ["owner:Legal", "State:NY"], true],
    ["ForAnyValue:StringLike", like, ["owner:Legal", "State:NewYork"], false],
    ["ForAllValues:StringNotLike", like, undefined, true],
    ["ForAllValues:StringNotLike", like, ["Owner:Legal", "State:NY"], false],
    ["ForAllValues:StringNotLike", like, ["Owner:Legal", "owner:Legal"], false],
    ["ForAllValues:StringNotLike", like, ["owner:Legal"], true],
    ["ForAllValues:StringNotLike", like, ["owner:Legal", "State:NewYork"], true],
    ["ForAnyValue:StringNotLike", like, undefined, false],
    ["ForAnyValue:StringNotLike", like, ["Owner:Legal", "State:NY"], false],
    ["ForAnyValue:StringNotLike", like, ["owner:Legal", "Owner:Legal"], true],
    ["ForAnyValue:StringNotLike", like, ["owner:Legal", "State:NewYork"], true],
  ]);

  it("kms:GrantOperations limited with ForAllValues:StringEquals (the Fargate key policy)", () => {
    const c = compileCondition("ForAllValues:StringEquals", "kms:GrantOperations", ["Decrypt"], true);
    expect(c.test(ctxOf({ "kms:grantoperations": ["Decrypt"] }))).toBe(true);
    expect(c.test(ctxOf({ "kms:grantoperations": ["Decrypt", "Encrypt"] }))).toBe(false);
    expect(c.test(ctxOf({ "kms:grantoperations": ["Decrypt", "Decrypt"] }))).toBe(true);
  });

  it("kms:EncryptionContextKeys with ForAnyValue / ForAllValues", () => {
    const any = compileCondition("ForAnyValue:StringEquals", "kms:EncryptionContextKeys", ["aws:ecs:clusterName"], true);
    const all = compileCondition("ForAllValues:StringEquals", "kms:EncryptionContextKeys", ["aws:ecs:clusterName", "aws:ecs:clusterAccount"], true);
    expect(any.test(ctxOf({}))).toBe(false); // no encryption context
    expect(all.test(ctxOf({}))).toBe(true);
    expect(all.test(ctxOf({ "kms:encryptioncontextkeys": ["aws:ecs:clusterName", "other"] }))).toBe(false);
    expect(any.test(ctxOf({ "kms:encryptioncontextkeys": ["aws:ecs:clusterName", "other"] }))).toBe(true);
  });

  it("set operators work with other families", () => {
    expect(check("ForAllValues:NumericLessThan", "x:ports", "1024", { "x:ports": ["22", "80"] })).toBe(true);
    expect(check("ForAllValues:NumericLessThan", "x:ports", "1024", { "x:ports": ["22", "8080"] })).toBe(false);
    expect(check("ForAnyValue:ArnLike", "aws:calledvia", "arn:aws:iam::*:role/a*", { "aws:calledvia": ["arn:aws:iam::1:role/x", "arn:aws:iam::111122223333:role/abc"] })).toBe(
      true,
    );
    expect(check("ForAnyValue:IpAddress", "x:ips", "10.0.0.0/8", { "x:ips": ["192.0.2.1", "10.9.9.9"] })).toBe(true);
  });
});

describe("policy variables in condition values", () => {
  it("resolves variables in 2012-10-17 documents and keeps them literal otherwise", () => {
    const c = { "aws:username": "alice", "s3:prefix": "home/alice/" };
    expect(check("StringLike", "s3:prefix", "home/${aws:username}/*", c)).toBe(true);
    expect(check("StringLike", "s3:prefix", "home/${aws:username}/*", c, false)).toBe(false);
    expect(check("StringEquals", "s3:prefix", "home/${aws:username}/", { ...c, "s3:prefix": "home/${aws:username}/" }, false)).toBe(true);
  });

  it("compares one key with another (DateGreaterThan aws:CurrentTime ${aws:TokenIssueTime})", () => {
    const c = { "aws:currenttime": new Date("2024-01-01T01:00:00Z"), "aws:tokenissuetime": new Date("2024-01-01T00:00:00Z") };
    expect(check("DateGreaterThan", "aws:CurrentTime", "${aws:TokenIssueTime}", c)).toBe(true);
    expect(check("DateLessThan", "aws:CurrentTime", "${aws:TokenIssueTime}", c)).toBe(false);
    expect(check("StringEquals", "aws:ResourceTag/owner", "${aws:username}", { "aws:resourcetag/owner": "alice", "aws:username": "alice" })).toBe(true);
    expect(check("StringEqualsIgnoreCase", "aws:ResourceTag/owner", "${aws:username}", { "aws:resourcetag/owner": "ALICE", "aws:username": "alice" })).toBe(true);
    expect(check("NumericLessThan", "x:n", "${x:limit}", { "x:n": 3, "x:limit": "5" })).toBe(true);
    expect(check("Bool", "x:b", "${x:flag}", { "x:b": true, "x:flag": true })).toBe(true);
    expect(check("IpAddress", "aws:sourceip", "${x:cidr}", { "aws:sourceip": "10.1.1.1", "x:cidr": "10.0.0.0/8" })).toBe(true);
    expect(
      check("ArnLike", "aws:principalarn", "arn:aws:iam::${aws:principalaccount}:role/*", {
        "aws:principalarn": "arn:aws:iam::111122223333:role/r",
        "aws:principalaccount": "111122223333",
      }),
    ).toBe(true);
  });

  it("an unresolvable variable makes that value match nothing", () => {
    const c = { "aws:resourcetag/owner": "alice" };
    expect(check("StringEquals", "aws:ResourceTag/owner", "${aws:username}", c)).toBe(false);
    expect(check("StringEquals", "aws:ResourceTag/owner", ["${aws:username}", "alice"], c)).toBe(true);
    expect(check("StringNotEquals", "aws:ResourceTag/owner", "${aws:username}", c)).toBe(true);
    expect(check("StringEquals", "aws:ResourceTag/owner", "${aws:username, 'alice'}", c)).toBe(true);
  });
});

describe("condition validation", () => {
  it("rejects unknown operators and prefixes", () => {
    expect(() => compileCondition("StringEqualz", "aws:username", "a", true)).toThrow("Invalid Condition type : StringEqualz");
    expect(() => compileCondition("stringequals", "aws:username", "a", true)).toThrow("Invalid Condition type : stringequals");
    expect(() => compileCondition("ForSomeValues:StringEquals", "aws:username", "a", true)).toThrow("Invalid Condition type : ForSomeValues:StringEquals");
    expect(() => compileCondition("ForAllValues:Bogus", "aws:username", "a", true)).toThrow("Invalid Condition type : ForAllValues:Bogus");
    expect(() => compileCondition("IfExists", "aws:username", "a", true)).toThrow("Invalid Condition type : IfExists");
  });

  it("rejects keys without a vendor prefix and values that are not scalars", () => {
    expect(() => compileCondition("StringEquals", "username", "a", true)).toThrow("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
    expect(() => compileCondition("StringEquals", "aws:username", { a: 1 }, true)).toThrow(PolicyError);
    expect(() => compileCondition("StringEquals", "aws:username", [null], true)).toThrow(PolicyError);
  });
});
