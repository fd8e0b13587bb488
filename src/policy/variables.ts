/**
 * Policy variables: `${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, and the escapes
 * `${*}`, `${?}`, `${$}`. A template resolves against the request context; an unresolvable
 * variable without a default makes the value unresolvable (the value then matches nothing).
 * Substituted text is literal: wildcards come only from the policy itself.
 */
import type { ConditionContext } from "./types.ts";

/** A resolved value: the parts marked literal must not act as wildcards. */
export interface Resolved {
  /** pattern with wildcards escaped as \u0000 markers is awkward; we return parts instead */
  parts: { text: string; literal: boolean }[];
}

const VAR = /\$\{([^}]*)\}/g;

export function hasVariables(s: string): boolean {
  return s.includes("${");
}

function contextString(ctx: ConditionContext, key: string): string | undefined {
  const v = ctx.get(key.toLowerCase());
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return undefined; // multi-valued keys cannot be variables
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

export function resolveTemplate(template: string, ctx: ConditionContext): Resolved | undefined {
  const parts: Resolved["parts"] = [];
  let last = 0;
  for (const m of template.matchAll(VAR)) {
    if (m.index! > last) parts.push({ text: template.slice(last, m.index), literal: false });
    last = m.index! + m[0].length;
    const inner = m[1].trim();
    if (inner === "*" || inner === "?" || inner === "$") {
      parts.push({ text: inner, literal: true });
      continue;
    }
    const d = /^(.*?)\s*,\s*'([^']*)'$/.exec(inner);
    const key = (d ? d[1] : inner).trim();
    const value = contextString(ctx, key) ?? (d ? d[2] : undefined);
    if (value === undefined) return undefined;
    parts.push({ text: value, literal: true });
  }
  if (last < template.length) parts.push({ text: template.slice(last), literal: false });
  return { parts };
}

/** Joins resolved parts into a plain string (for exact comparisons). */
export function resolvedText(r: Resolved): string {
  return r.parts.map((p) => p.text).join("");
}

/** Builds an anchored regex where only non-literal parts carry wildcards. */
export function resolvedRegex(r: Resolved, ignoreCase = false): RegExp {
  const body = r.parts
    .map((p) =>
      p.literal
        ? p.text.replace(/[.+^${}()|[\]\\*?]/g, "\\$&")
        : p.text.split("").map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join(""),
    )
    .join("");
  return new RegExp(`^${body}$`, ignoreCase ? "i" : "");
}
