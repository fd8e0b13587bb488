/**
 * Policy variables (Version 2012-10-17 only): `${aws:username}`, `${aws:PrincipalTag/team}`,
 * defaults `${aws:PrincipalTag/team, 'none'}` (a doubled quote `''` inside a default is one
 * quote), and the escapes `${*}`, `${?}`, `${$}` for a literal `*`, `?` and `$`.
 *
 * A template is parsed once at compile time. At evaluation it resolves against the request
 * context; substituted values are literal text (their `*` and `?` are not wildcards). A variable
 * whose key is absent (and has no default), or whose key is multi-valued, makes the whole value
 * unresolvable: `resolve` returns undefined and the caller treats that value as matching nothing.
 */
import { matchParts, type GlobPart } from "./wildcard.ts";
import type { ConditionContext, ContextValue } from "./types.ts";

type TemplatePart = { kind: "text"; text: string } | { kind: "lit"; text: string } | { kind: "var"; key: string; fallback?: string } | { kind: "bad" };

export interface Template {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

export function hasVariables(s: string): boolean {
  return s.includes("${");
}

function parseInner(inner: string): TemplatePart {
  const t = inner.trim();
  if (t === "*" || t === "?" || t === "$") return { kind: "lit", text: t };
  const comma = t.indexOf(",");
  if (comma < 0) return t && !/\s/.test(t) ? { kind: "var", key: t.toLowerCase() } : { kind: "bad" };
  const key = t.slice(0, comma).trim();
  const rest = t.slice(comma + 1).trim();
  if (!key || /\s/.test(key) || rest.length < 2 || rest[0] !== "'" || rest[rest.length - 1] !== "'") return { kind: "bad" };
  const body = rest.slice(1, -1);
  // Inside the quotes a quote must be doubled.
  if (body.replace(/''/g, "").includes("'")) return { kind: "bad" };
  return { kind: "var", key: key.toLowerCase(), fallback: body.replace(/''/g, "'") };
}

/** Parses a string with `${...}` variables; undefined when it has none (use it verbatim). */
export function parseTemplate(source: string): Template | undefined {
  if (!hasVariables(source)) return undefined;
  const parts: TemplatePart[] = [];
  let i = 0;
  let text = "";
  while (i < source.length) {
    const start = source.indexOf("${", i);
    if (start < 0) break;
    const end = source.indexOf("}", start + 2);
    if (end < 0) break; // an unterminated "${" is plain text
    text += source.slice(i, start);
    if (text) parts.push({ kind: "text", text });
    text = "";
    parts.push(parseInner(source.slice(start + 2, end)));
    i = end + 1;
  }
  text += source.slice(i);
  if (text) parts.push({ kind: "text", text });
  if (!parts.some((p) => p.kind !== "text")) return undefined;
  return { source, parts };
}

/** A context value as the text a variable substitutes; undefined for missing or multi-valued keys. */
export function variableText(v: ContextValue | undefined): string | undefined {
  if (v === undefined || Array.isArray(v)) return undefined;
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, "Z");
  return String(v);
}

/** Resolves a template; undefined when some variable cannot be resolved. */
export function resolve(t: Template, ctx: ConditionContext): GlobPart[] | undefined {
  const out: GlobPart[] = [];
  for (const p of t.parts) {
    switch (p.kind) {
      case "text":
        out.push({ text: p.text, literal: false });
        break;
      case "lit":
        out.push({ text: p.text, literal: true });
        break;
      case "var": {
        const value = variableText(ctx.get(p.key)) ?? p.fallback;
        if (value === undefined) return undefined;
        out.push({ text: value, literal: true });
        break;
      }
      case "bad":
        return undefined;
    }
  }
  return out;
}

/** The resolved template as plain text (for exact comparisons), or undefined. */
export function resolveText(t: Template, ctx: ConditionContext): string | undefined {
  const parts = resolve(t, ctx);
  if (!parts) return undefined;
  let s = "";
  for (const p of parts) s += p.text;
  return s;
}

/** Tests a value against the template used as a wildcard pattern; false when unresolvable. */
export function templateMatches(t: Template, ctx: ConditionContext, value: string, ignoreCase = false): boolean {
  const parts = resolve(t, ctx);
  return parts ? matchParts(parts, value, ignoreCase) : false;
}
