/**
 * Condition operators, compiled once per (operator, key, values) into a test over the request
 * context.
 *
 * Semantics (AWS: reference_policies_elements_condition_operators, …multi-valued-context-keys):
 * - Several values for one key are ORed; several keys and several operators are ANDed (the caller
 *   ANDs the compiled conditions).
 * - Missing key (absent, or an empty list): positive operators are false, negated operators
 *   (StringNotEquals, StringNotEqualsIgnoreCase, StringNotLike, NumericNotEquals, DateNotEquals,
 *   NotIpAddress, ArnNotEquals, ArnNotLike) are true, `…IfExists` forms are true.
 * - A multi-valued request value without a set operator: a positive operator is true when ANY
 *   request value matches a policy value; a negated one is true when NO request value matches
 *   (it is the negation of the positive test). This is our documented choice; AWS asks for set
 *   operators on multi-valued keys.
 * - `ForAllValues:` true when every request value matches some policy value (for a negated
 *   operator: matches none), and true when the key is missing or the set is empty (`[]` or a
 *   single empty string). `ForAnyValue:` true when at least one request value matches (for a
 *   negated operator: matches none); false when the key is missing or the set is empty.
 * - `Null`: "true" means the key is absent (or an empty list), "false" that it is present.
 * - A policy value holding an unresolvable policy variable matches no request value (so a
 *   negated operator over only such values is true when the key is present).
 * - Values of the wrong type for the operator (a non-number under Numeric…, an unparsable date,
 *   a non-boolean under Bool) never match; an invalid CIDR in IpAddress / NotIpAddress is
 *   rejected when the policy is compiled.
 */
import { compileCidr, parseIp, type ParsedIp } from "./ip.ts";
import { compileGlob, matchParts, type Matcher } from "./wildcard.ts";
import { parseTemplate, resolve, resolveText, type Template } from "./variables.ts";
import { PolicyError, type ConditionContext, type ContextValue } from "./types.ts";

type Scalar = string | number | boolean | Date;

/** An operator family: how request values are read and how policy values compare with them. */
interface Family<R> {
  /** the request value in this family's terms; undefined when it cannot match anything */
  req(v: Scalar): R | undefined;
  /** a test for one literal policy value */
  literal(pv: string): (r: R) => boolean;
  /** a test for one policy value containing variables */
  template(t: Template): (r: R, ctx: ConditionContext) => boolean;
}

// ---- request value conversion ----

function asText(v: Scalar): string {
  if (typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, "Z");
  return String(v);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(s: string): number | undefined {
  const t = s.trim();
  return NUMBER.test(t) ? Number(t) : undefined;
}

/** ISO 8601 (anything Date.parse reads) or epoch seconds; milliseconds, or undefined. */
export function parseDate(s: string): number | undefined {
  const t = s.trim();
  if (t === "") return undefined;
  if (NUMBER.test(t)) return Number(t) * 1000;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

function parseBool(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  return t === "true" ? true : t === "false" ? false : undefined;
}

/** An ARN split into its six parts (the sixth keeps its colons); undefined when not an ARN. */
function arnParts(s: string): string[] | undefined {
  const p = s.split(":");
  if (p.length < 6) return undefined;
  return [p[0], p[1], p[2], p[3], p[4], p.slice(5).join(":")];
}

// ---- families ----

const never = () => false;

function stringFamily(ignoreCase: boolean): Family<string> {
  return {
    req: (v) => (ignoreCase ? asText(v).toLowerCase() : asText(v)),
    literal: (pv) => {
      const p = ignoreCase ? pv.toLowerCase() : pv;
      return (r) => r === p;
    },
    template: (t) => (r, ctx) => {
      const p = resolveText(t, ctx);
      return p !== undefined && (ignoreCase ? p.toLowerCase() : p) === r;
    },
  };
}

const likeFamily: Family<string> = {
  req: asText,
  literal: (pv) => compileGlob(pv),
  template: (t) => (r, ctx) => {
    const parts = resolve(t, ctx);
    return parts !== undefined && matchParts(parts, r);
  },
};

function numericFamily(cmp: (r: number, p: number) => boolean): Family<number> {
  return {
    req: (v) => (typeof v === "number" ? v : typeof v === "string" ? parseNumber(v) : undefined),
    literal: (pv) => {
      const p = parseNumber(pv);
      return p === undefined ? never : (r) => cmp(r, p);
    },
    template: (t) => (r, ctx) => {
      const text = resolveText(t, ctx);
      const p = text === undefined ? undefined : parseNumber(text);
      return p !== undefined && cmp(r, p);
    },
  };
}

function dateFamily(cmp: (r: number, p: number) => boolean): Family<number> {
  return {
    req: (v) => (v instanceof Date ? v.getTime() : typeof v === "number" ? v * 1000 : typeof v === "string" ? parseDate(v) : undefined),
    literal: (pv) => {
      const p = parseDate(pv);
      return p === undefined ? never : (r) => cmp(r, p);
    },
    template: (t) => (r, ctx) => {
      const text = resolveText(t, ctx);
      const p = text === undefined ? undefined : parseDate(text);
      return p !== undefined && cmp(r, p);
    },
  };
}

const boolFamily: Family<boolean> = {
  req: (v) => (typeof v === "boolean" ? v : typeof v === "string" ? parseBool(v) : undefined),
  literal: (pv) => {
    const p = parseBool(pv);
    return p === undefined ? never : (r) => r === p;
  },
  template: (t) => (r, ctx) => {
    const text = resolveText(t, ctx);
    return text !== undefined && parseBool(text) === r;
  },
};

const binaryFamily: Family<string> = {
  req: (v) => (typeof v === "string" ? v.trim() : undefined),
  literal: (pv) => {
    const p = pv.trim();
    return (r) => r === p;
  },
  template: (t) => (r, ctx) => resolveText(t, ctx)?.trim() === r,
};

const ipFamily: Family<ParsedIp> = {
  req: (v) => (typeof v === "string" ? parseIp(v) : undefined),
  literal: (pv) => {
    const m = compileCidr(pv);
    if (!m) throw new PolicyError(`Invalid IP address or CIDR block: ${pv}`);
    return m;
  },
  template: (t) => (r, ctx) => {
    const text = resolveText(t, ctx);
    const m = text === undefined ? undefined : compileCidr(text);
    return m !== undefined && m(r);
  },
};

/** ArnEquals / ArnLike (identical in AWS): each of the six ARN parts matched on its own, with wildcards. */
const arnFamily: Family<string> = {
  req: (v) => (typeof v === "string" ? v : undefined),
  literal: (pv) => {
    const parts = arnParts(pv);
    if (!parts) {
      // Not six parts ("*", "arn:aws:kms:*"): a plain wildcard match over the whole value.
      const whole = compileGlob(pv);
      return whole;
    }
    const segs: Matcher[] = parts.map((s) => compileGlob(s));
    return (r) => {
      const rp = arnParts(r);
      if (!rp) return false;
      for (let i = 0; i < 6; i++) if (!segs[i](rp[i])) return false;
      return true;
    };
  },
  // With variables the resolved pattern is matched over the whole ARN (its `*` may cross colons).
  template: (t) => (r, ctx) => {
    const parts = resolve(t, ctx);
    return parts !== undefined && matchParts(parts, r);
  },
};

const lt = (r: number, p: number) => r < p;
const le = (r: number, p: number) => r <= p;
const gt = (r: number, p: number) => r > p;
const ge = (r: number, p: number) => r >= p;
const eq = (r: number, p: number) => r === p;

/** A test of one request value against every policy value of a condition (any one matching is a match). */
type ValueMatcher = (raw: Scalar, ctx: ConditionContext) => boolean;

/** A family with its value type hidden: FAMILIES holds families of several value types. */
interface ConditionFamily {
  /** Compiles every policy value once; with `exactSet`, literal values are looked up in a Set (string equality). */
  matcher(values: readonly string[], variables: boolean, exactSet: boolean, foldCase: boolean): ValueMatcher;
}

function erased<R>(family: Family<R>): ConditionFamily {
  return {
    matcher(values, variables, exactSet, foldCase) {
      const literalTests: ((r: R) => boolean)[] = [];
      const templateTests: ((r: R, ctx: ConditionContext) => boolean)[] = [];
      const eqSet = exactSet ? new Set<unknown>() : undefined;
      for (const pv of values) {
        const t = variables ? parseTemplate(pv) : undefined;
        if (t) templateTests.push(family.template(t));
        else if (eqSet) eqSet.add(foldCase ? pv.toLowerCase() : pv);
        else literalTests.push(family.literal(pv));
      }
      const nLit = literalTests.length;
      const nTpl = templateTests.length;
      return (raw, ctx) => {
        const r = family.req(raw);
        if (r === undefined) return false;
        if (eqSet !== undefined && eqSet.has(r)) return true;
        for (let i = 0; i < nLit; i++) if (literalTests[i](r)) return true;
        for (let i = 0; i < nTpl; i++) if (templateTests[i](r, ctx)) return true;
        return false;
      };
    },
  };
}

/** Positive operators and their families; negated ones map to a positive one. */
const FAMILIES: Record<string, ConditionFamily> = {
  StringEquals: erased(stringFamily(false)),
  StringEqualsIgnoreCase: erased(stringFamily(true)),
  StringLike: erased(likeFamily),
  NumericEquals: erased(numericFamily(eq)),
  NumericLessThan: erased(numericFamily(lt)),
  NumericLessThanEquals: erased(numericFamily(le)),
  NumericGreaterThan: erased(numericFamily(gt)),
  NumericGreaterThanEquals: erased(numericFamily(ge)),
  DateEquals: erased(dateFamily(eq)),
  DateLessThan: erased(dateFamily(lt)),
  DateLessThanEquals: erased(dateFamily(le)),
  DateGreaterThan: erased(dateFamily(gt)),
  DateGreaterThanEquals: erased(dateFamily(ge)),
  Bool: erased(boolFamily),
  BinaryEquals: erased(binaryFamily),
  IpAddress: erased(ipFamily),
  ArnEquals: erased(arnFamily),
  ArnLike: erased(arnFamily),
};

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

export interface CompiledCondition {
  /** the operator as written, e.g. "ForAnyValue:StringLikeIfExists" */
  readonly operator: string;
  /** lower-cased */
  readonly key: string;
  readonly test: (ctx: ConditionContext) => boolean;
}

const VENDOR_MESSAGE = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

function policyValues(operator: string, raw: unknown): string[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => {
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw new PolicyError(`Invalid value for condition ${operator}: values must be strings, numbers or booleans`);
  });
}

/** The request values of a key: undefined when absent or an empty set. */
function requestValues(v: ContextValue | undefined): readonly Scalar[] | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? undefined : v;
  return [v];
}

export function compileCondition(operator: string, key: string, rawValues: unknown, variables: boolean): CompiledCondition {
  if (typeof key !== "string" || key.indexOf(":") <= 0) throw new PolicyError(VENDOR_MESSAGE);
  const lowerKey = key.toLowerCase();
  let op = operator;
  let set: "all" | "any" | undefined;
  const colon = op.indexOf(":");
  if (colon >= 0) {
    const prefix = op.slice(0, colon);
    if (prefix === "ForAllValues") set = "all";
    else if (prefix === "ForAnyValue") set = "any";
    else throw new PolicyError(`Invalid Condition type : ${operator}`);
    op = op.slice(colon + 1);
  }
  let ifExists = false;
  if (op.endsWith("IfExists") && op.length > "IfExists".length) {
    ifExists = true;
    op = op.slice(0, -"IfExists".length);
  }
  const values = policyValues(operator, rawValues);

  if (op === "Null") {
    if (ifExists || set) throw new PolicyError(`Invalid Condition type : ${operator}`);
    const wants = values.map((v) => {
      const b = parseBool(v);
      if (b === undefined) throw new PolicyError(`Invalid value for condition Null: ${JSON.stringify(v)}: must be "true" or "false"`);
      return b;
    });
    const wantAbsent = wants.includes(true);
    const wantPresent = wants.includes(false);
    return {
      operator,
      key: lowerKey,
      test: (ctx) => {
        const absent = requestValues(ctx.get(lowerKey)) === undefined;
        return absent ? wantAbsent : wantPresent;
      },
    };
  }

  const negated = op in NEGATED;
  const family = FAMILIES[negated ? NEGATED[op] : op];
  if (!family) throw new PolicyError(`Invalid Condition type : ${operator}`);

  const matchesOne = family.matcher(values, variables, family === FAMILIES.StringEquals || family === FAMILIES.StringEqualsIgnoreCase, family === FAMILIES.StringEqualsIgnoreCase);

  let test: (ctx: ConditionContext) => boolean;
  if (set === "all") {
    test = (ctx) => {
      const req = requestValues(ctx.get(lowerKey));
      if (req === undefined || (req.length === 1 && req[0] === "")) return true;
      for (const v of req) if (matchesOne(v, ctx) === negated) return false;
      return true;
    };
  } else if (set === "any") {
    test = (ctx) => {
      const req = requestValues(ctx.get(lowerKey));
      if (req === undefined || (req.length === 1 && req[0] === "")) return ifExists;
      for (const v of req) if (matchesOne(v, ctx) !== negated) return true;
      return false;
    };
  } else {
    const whenMissing = ifExists || negated;
    test = (ctx) => {
      const v = ctx.get(lowerKey);
      if (v === undefined) return whenMissing;
      if (Array.isArray(v)) {
        if (v.length === 0) return whenMissing;
        let any = false;
        for (const x of v)
          if (matchesOne(x, ctx)) {
            any = true;
            break;
          }
        return any !== negated;
      }
      return matchesOne(v, ctx) !== negated;
    };
  }
  return { operator, key: lowerKey, test };
}
