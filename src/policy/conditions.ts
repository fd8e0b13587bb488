/**
 * Condition operators: every IAM operator, the IfExists forms, and the ForAllValues /
 * ForAnyValue set operators with AWS's rules for missing and empty keys.
 */
import { ipInCidr, parseCidr } from "./ip.ts";
import { globRegex, hasWildcard } from "./wildcard.ts";
import { hasVariables, resolveTemplate, resolvedRegex, resolvedText } from "./variables.ts";
import { PolicyError, type ConditionContext, type ContextValue } from "./types.ts";

type Test = (request: string, ctx: ConditionContext) => boolean;

const NEGATED: Record<string, string> = {
  StringNotEquals: "StringEquals",
  StringNotEqualsIgnoreCase: "StringEqualsIgnoreCase",
  StringNotLike: "StringLike",
  NumericNotEquals: "NumericEquals",
  DateNotEquals: "DateEquals",
  NotIpAddress: "IpAddress",
  ArnNotEquals: "ArnEquals",
  ArnNotLike: "ArnLike",
};

const POSITIVE = new Set([
  "StringEquals", "StringEqualsIgnoreCase", "StringLike",
  "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
  "DateEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
  "Bool", "BinaryEquals", "IpAddress", "ArnEquals", "ArnLike",
]);

function parseDate(s: string): number {
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  return Date.parse(s);
}

const numeric = (cmp: (a: number, b: number) => boolean) => (a: string, b: string) => {
  const x = Number(a);
  const y = Number(b);
  return a.trim() !== "" && b.trim() !== "" && !Number.isNaN(x) && !Number.isNaN(y) && cmp(x, y);
};
const dates = (cmp: (a: number, b: number) => boolean) => (a: string, b: string) => {
  const x = parseDate(a);
  const y = parseDate(b);
  return !Number.isNaN(x) && !Number.isNaN(y) && cmp(x, y);
};

function arnParts(s: string): string[] | undefined {
  const p = s.split(":");
  if (p.length < 6 || p[0] !== "arn") return undefined;
  return [...p.slice(0, 5), p.slice(5).join(":")];
}

/** Builds the test for one policy value under one (positive) operator. */
function valueTest(op: string, policyValue: string, variables: boolean): Test {
  const templated = variables && hasVariables(policyValue);
  const text = (ctx: ConditionContext): string | undefined => {
    if (!templated) return policyValue;
    const r = resolveTemplate(policyValue, ctx);
    return r ? resolvedText(r) : undefined;
  };
  switch (op) {
    case "StringEquals":
      return templated ? (req, ctx) => text(ctx) === req : (req) => req === policyValue;
    case "StringEqualsIgnoreCase": {
      const lower = policyValue.toLowerCase();
      return templated ? (req, ctx) => text(ctx)?.toLowerCase() === req.toLowerCase() : (req) => req.toLowerCase() === lower;
    }
    case "StringLike": {
      if (templated) {
        return (req, ctx) => {
          const r = resolveTemplate(policyValue, ctx);
          return r ? resolvedRegex(r).test(req) : false;
        };
      }
      if (!hasWildcard(policyValue)) return (req) => req === policyValue;
      const re = globRegex(policyValue);
      return (req) => re.test(req);
    }
    case "NumericEquals":
      return (req, ctx) => numeric((a, b) => a === b)(req, text(ctx) ?? "");
    case "NumericLessThan":
      return (req, ctx) => numeric((a, b) => a < b)(req, text(ctx) ?? "");
    case "NumericLessThanEquals":
      return (req, ctx) => numeric((a, b) => a <= b)(req, text(ctx) ?? "");
    case "NumericGreaterThan":
      return (req, ctx) => numeric((a, b) => a > b)(req, text(ctx) ?? "");
    case "NumericGreaterThanEquals":
      return (req, ctx) => numeric((a, b) => a >= b)(req, text(ctx) ?? "");
    case "DateEquals":
      return (req, ctx) => dates((a, b) => a === b)(req, text(ctx) ?? "");
    case "DateLessThan":
      return (req, ctx) => dates((a, b) => a < b)(req, text(ctx) ?? "");
    case "DateLessThanEquals":
      return (req, ctx) => dates((a, b) => a <= b)(req, text(ctx) ?? "");
    case "DateGreaterThan":
      return (req, ctx) => dates((a, b) => a > b)(req, text(ctx) ?? "");
    case "DateGreaterThanEquals":
      return (req, ctx) => dates((a, b) => a >= b)(req, text(ctx) ?? "");
    case "Bool":
      return (req, ctx) => req.toLowerCase() === (text(ctx) ?? "").toLowerCase();
    case "BinaryEquals":
      return (req) => req === policyValue;
    case "IpAddress":
      if (!parseCidr(policyValue)) throw new PolicyError(`Invalid IP address or CIDR: ${policyValue}`);
      return (req) => ipInCidr(req, policyValue);
    case "ArnEquals":
    case "ArnLike":
      return (req, ctx) => {
        const pv = templated ? text(ctx) : policyValue;
        if (pv === undefined) return false;
        const a = arnParts(req);
        const b = arnParts(pv);
        if (!a || !b) return false;
        return a.every((seg, i) => globRegex(b[i]).test(seg));
      };
  }
  throw new PolicyError(`Invalid Condition type : ${op}`);
}

export type CompiledCondition = (ctx: ConditionContext) => boolean;

function requestValues(v: ContextValue | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v;
  if (v instanceof Date) return [v.toISOString()];
  return [String(v)];
}

export function compileCondition(operator: string, key: string, values: unknown, variables: boolean): CompiledCondition {
  let op = operator;
  let set: "ForAllValues" | "ForAnyValue" | undefined;
  const colon = op.indexOf(":");
  if (colon >= 0) {
    const prefix = op.slice(0, colon);
    if (prefix !== "ForAllValues" && prefix !== "ForAnyValue") throw new PolicyError(`Invalid Condition type : ${operator}`);
    set = prefix;
    op = op.slice(colon + 1);
  }
  let ifExists = false;
  if (op.endsWith("IfExists") && op !== "IfExists") {
    ifExists = true;
    op = op.slice(0, -"IfExists".length);
  }
  const lowerKey = key.toLowerCase();
  const list = (Array.isArray(values) ? values : [values]).map((v) => {
    if (v === null || typeof v === "object") throw new PolicyError(`Condition values for ${operator} must be strings, numbers or booleans`);
    return String(v);
  });
  if (op === "Null") {
    if (ifExists || set) throw new PolicyError(`Invalid Condition type : ${operator}`);
    if (list.some((v) => v !== "true" && v !== "false")) throw new PolicyError("Null condition values must be true or false");
    return (ctx) => {
      const present = ctx.get(lowerKey) !== undefined;
      return list.some((v) => (v === "true" ? !present : present));
    };
  }
  const negated = op in NEGATED;
  const base = negated ? NEGATED[op] : op;
  if (!POSITIVE.has(base)) throw new PolicyError(`Invalid Condition type : ${operator}`);
  const tests = list.map((pv) => valueTest(base, pv, variables));
  const matchesAny = (req: string, ctx: ConditionContext) => tests.some((t) => t(req, ctx));
  return (ctx) => {
    const reqValues = requestValues(ctx.get(lowerKey));
    if (set === "ForAllValues") {
      if (!reqValues || reqValues.length === 0) return true;
      return reqValues.every((v) => (negated ? !matchesAny(v, ctx) : matchesAny(v, ctx)));
    }
    if (set === "ForAnyValue") {
      if (!reqValues || reqValues.length === 0) return false;
      return reqValues.some((v) => (negated ? !matchesAny(v, ctx) : matchesAny(v, ctx)));
    }
    if (!reqValues) return ifExists || negated;
    const positive = reqValues.some((v) => matchesAny(v, ctx));
    return negated ? !positive : positive;
  };
}
