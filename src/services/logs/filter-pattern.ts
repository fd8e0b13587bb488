/**
 * CloudWatch Logs filter patterns, compiled once per call into a predicate on an event's message
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
 * - terms: every term must occur (case-sensitive); `"a quoted term"` is one term with its spaces;
 *   `-term` excludes; `?a ?b` matches events with any of the `?` terms.
 * - JSON: `{ $.field = value }` on events that are JSON objects, with `=`/`!=` on strings
 *   (`*` as wildcard) and numbers, `<`, `<=`, `>`, `>=` on numbers, `IS TRUE`, `IS FALSE`,
 *   `IS NULL`, `NOT EXISTS`, `&&`, `||` and parentheses; `$.a.b[0].c` paths.
 * Space-delimited patterns (`[ip, user, ...]`) and regular expressions are not supported: they are
 * refused as invalid (docs/logs.md).
 */
import { invalidParameter } from "./errors.ts";

export type MessageFilter = (message: string) => boolean;

function invalid(): Error {
  return invalidParameter("Invalid filter pattern");
}

export function compileFilter(pattern: string | undefined): MessageFilter {
  const p = (pattern ?? "").trim();
  if (p === "") return () => true;
  if (p.startsWith("{")) return compileJson(p);
  if (p.startsWith("[") || p.startsWith("%")) throw invalid();
  return compileTerms(p);
}

// ---- terms -------------------------------------------------------------------------------

function compileTerms(p: string): MessageFilter {
  const required: string[] = [];
  const excluded: string[] = [];
  const any: string[] = [];
  const re = /\s*([-?]?)(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < p.length && (m = re.exec(p))) {
    at = re.lastIndex;
    const term = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
    if (term === "") throw invalid();
    (m[1] === "-" ? excluded : m[1] === "?" ? any : required).push(term);
  }
  if (p.slice(at).trim() !== "") throw invalid();
  return (msg) => required.every((t) => msg.includes(t)) && !excluded.some((t) => msg.includes(t)) && (any.length === 0 || any.some((t) => msg.includes(t)));
}

// ---- JSON --------------------------------------------------------------------------------

type Token = { kind: "op" | "path" | "string" | "word" | "lparen" | "rparen" | "and" | "or"; text: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:(&&)|(\|\|)|(\()|(\))|(!=|<=|>=|=|<|>)|(\$\.[^\s=!<>()&|]*|\$)|"((?:[^"\\]|\\.)*)"|([^\s=!<>()&|"]+))/y;
  let i = 0;
  while (i < s.length) {
    if (/^\s*$/.test(s.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw invalid();
    i = re.lastIndex;
    if (m[1]) out.push({ kind: "and", text: m[1] });
    else if (m[2]) out.push({ kind: "or", text: m[2] });
    else if (m[3]) out.push({ kind: "lparen", text: "(" });
    else if (m[4]) out.push({ kind: "rparen", text: ")" });
    else if (m[5]) out.push({ kind: "op", text: m[5] });
    else if (m[6]) out.push({ kind: "path", text: m[6] });
    else if (m[7] !== undefined) out.push({ kind: "string", text: m[7].replace(/\\(.)/g, "$1") });
    else out.push({ kind: "word", text: m[8] });
  }
  return out;
}

type Doc = unknown;
type Pred = (doc: Doc) => boolean;
const MISSING = Symbol("missing");

function parsePath(path: string): (string | number)[] {
  if (path === "$") return [];
  const parts: (string | number)[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]/y;
  let i = 1;
  while (i < path.length) {
    re.lastIndex = i;
    const m = re.exec(path);
    if (!m) throw invalid();
    parts.push(m[1] !== undefined ? m[1] : Number(m[2]));
    i = re.lastIndex;
  }
  return parts;
}

function lookup(doc: Doc, parts: (string | number)[]): unknown {
  let v: unknown = doc;
  for (const p of parts) {
    if (v === null || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, p)) return MISSING;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/**
 * `*` wildcards, matched by finding the pieces between them in order (greedy is exact when `*`
 * is the only wildcard). No regular expression: a pattern of many `*` cannot make a long event
 * backtrack.
 */
function glob(pattern: string): { test(v: string): boolean } {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return { test: (v) => v === pattern };
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  const middle = pieces.slice(1, -1).filter((p) => p !== "");
  return {
    test(v) {
      if (v.length < first.length + last.length || !v.startsWith(first) || !v.endsWith(last)) return false;
      let at = first.length;
      const end = v.length - last.length;
      for (const p of middle) {
        const i = v.indexOf(p, at);
        if (i < 0 || i + p.length > end) return false;
        at = i + p.length;
      }
      return true;
    },
  };
}

function comparison(path: (string | number)[], op: string, value: Token): Pred {
  const numeric = value.kind === "word" && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.text);
  if (numeric) {
    const n = Number(value.text);
    const test: Record<string, (a: number) => boolean> = {
      "=": (a) => a === n,
      "!=": (a) => a !== n,
      "<": (a) => a < n,
      "<=": (a) => a <= n,
      ">": (a) => a > n,
      ">=": (a) => a >= n,
    };
    const t = test[op];
    return (doc) => {
      const v = lookup(doc, path);
      return typeof v === "number" && t(v);
    };
  }
  if (op !== "=" && op !== "!=") throw invalid();
  const re = glob(value.text);
  return (doc) => {
    const v = lookup(doc, path);
    if (v === MISSING || v === null || typeof v === "object") return false;
    return re.test(String(v)) === (op === "=");
  };
}

class JsonParser {
  private i = 0;
  constructor(private readonly t: Token[]) {}

  private peek(): Token | undefined {
    return this.t[this.i];
  }

  private next(): Token {
    const tok = this.t[this.i++];
    if (!tok) throw invalid();
    return tok;
  }

  parse(): Pred {
    const p = this.or();
    if (this.i !== this.t.length) throw invalid();
    return p;
  }

  private or(): Pred {
    let left = this.and();
    while (this.peek()?.kind === "or") {
      this.i++;
      const l = left;
      const r = this.and();
      left = (d) => l(d) || r(d);
    }
    return left;
  }

  private and(): Pred {
    let left = this.primary();
    while (this.peek()?.kind === "and") {
      this.i++;
      const l = left;
      const r = this.primary();
      left = (d) => l(d) && r(d);
    }
    return left;
  }

  private primary(): Pred {
    const tok = this.next();
    if (tok.kind === "lparen") {
      const inner = this.or();
      if (this.next().kind !== "rparen") throw invalid();
      return inner;
    }
    if (tok.kind !== "path") throw invalid();
    const path = parsePath(tok.text);
    const after = this.next();
    if (after.kind === "op") {
      const value = this.next();
      if (value.kind !== "word" && value.kind !== "string") throw invalid();
      return comparison(path, after.text, value);
    }
    if (after.kind === "word" && after.text.toUpperCase() === "IS") {
      const what = this.next().text.toUpperCase();
      const expect: Record<string, unknown> = { TRUE: true, FALSE: false, NULL: null };
      if (!(what in expect)) throw invalid();
      return (d) => lookup(d, path) === expect[what];
    }
    if (after.kind === "word" && after.text.toUpperCase() === "NOT") {
      if (this.next().text.toUpperCase() !== "EXISTS") throw invalid();
      return (d) => lookup(d, path) === MISSING;
    }
    throw invalid();
  }
}

function compileJson(p: string): MessageFilter {
  if (!p.endsWith("}")) throw invalid();
  const tokens = tokenize(p.slice(1, -1));
  if (tokens.length === 0) throw invalid();
  const pred = new JsonParser(tokens).parse();
  return (msg) => {
    const t = msg.trimStart();
    if (!t.startsWith("{") && !t.startsWith("[")) return false;
    let doc: unknown;
    try {
      doc = JSON.parse(t);
    } catch {
      return false;
    }
    return pred(doc);
  };
}
