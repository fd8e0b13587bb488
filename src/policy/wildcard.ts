/**
 * IAM wildcards: `*` matches any run of characters (including none, and including `:` and `/`),
 * `?` matches exactly one character. Patterns are compiled once into matcher functions; the
 * common shapes (no wildcard, `*`, `prefix*`) avoid regular expressions entirely.
 */

export type Matcher = (value: string) => boolean;

export const hasWildcard = (s: string): boolean => s.includes("*") || s.includes("?");

const REGEX_SPECIAL = /[.+^${}()|[\]\\*?/-]/g;

export function escapeRegex(s: string): string {
  return s.replace(REGEX_SPECIAL, "\\$&");
}

function globBody(pattern: string): string {
  let body = "";
  for (const c of pattern) {
    if (c === "*") body += "[\\s\\S]*";
    else if (c === "?") body += "[\\s\\S]";
    else body += escapeRegex(c);
  }
  return body;
}

const matchAll: Matcher = () => true;

/**
 * Compiles a wildcard pattern. With `ignoreCase` the returned matcher expects the value to be
 * compared case-insensitively (it lower-cases nothing itself when `valueIsLower` is set, which
 * lets callers lower-case a value once and test it against many patterns).
 */
export function compileGlob(pattern: string, ignoreCase = false, valueIsLower = false): Matcher {
  if (pattern === "*") return matchAll;
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const lower = ignoreCase && !valueIsLower;
  if (!hasWildcard(p)) return lower ? (v) => v.toLowerCase() === p : (v) => v === p;
  const star = p.indexOf("*");
  if (star === p.length - 1 && !p.includes("?")) {
    const prefix = p.slice(0, -1);
    return lower ? (v) => v.toLowerCase().startsWith(prefix) : (v) => v.startsWith(prefix);
  }
  const re = new RegExp(`^${globBody(p)}$`, ignoreCase ? "i" : "");
  return (v) => re.test(v);
}

/** One piece of a pattern whose wildcards must be told apart from literal text (see variables.ts). */
export interface GlobPart {
  text: string;
  /** true: `*` and `?` in text are ordinary characters */
  literal: boolean;
}

const STAR = -1;
const ONE = -2;

/**
 * Matches a value against a pattern made of parts, some literal (resolved policy variables and
 * the `${*}`/`${?}`/`${$}` escapes) and some with wildcards. No regex is built: this is the
 * classic linear wildcard match with backtracking to the last star.
 */
export function matchParts(parts: readonly GlobPart[], value: string, ignoreCase = false): boolean {
  // Flatten into code units: a char code, STAR or ONE.
  const units: number[] = [];
  for (const part of parts) {
    const text = ignoreCase ? part.text.toLowerCase() : part.text;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (!part.literal && c === 42) {
        if (units[units.length - 1] !== STAR) units.push(STAR);
      } else if (!part.literal && c === 63) units.push(ONE);
      else units.push(c);
    }
  }
  const v = ignoreCase ? value.toLowerCase() : value;
  let pi = 0;
  let vi = 0;
  let starP = -1;
  let starV = 0;
  while (vi < v.length) {
    const u = units[pi];
    if (pi < units.length && (u === ONE || u === v.charCodeAt(vi))) {
      pi++;
      vi++;
    } else if (pi < units.length && u === STAR) {
      starP = pi++;
      starV = vi;
    } else if (starP >= 0) {
      pi = starP + 1;
      vi = ++starV;
    } else return false;
  }
  while (pi < units.length && units[pi] === STAR) pi++;
  return pi === units.length;
}
