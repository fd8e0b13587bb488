/** IAM wildcards: `*` any run of characters, `?` one character. */
const cache = new Map<string, RegExp>();

export function escapeRegex(s: string): string {
  return s.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");
}

/** A pattern whose `*` and `?` are wildcards; `literal` parts (from policy variables) are not. */
export function globRegex(pattern: string, ignoreCase = false): RegExp {
  const id = (ignoreCase ? "i:" : "c:") + pattern;
  let r = cache.get(id);
  if (!r) {
    const body = pattern.split("").map((c) => (c === "*" ? "[\\s\\S]*" : c === "?" ? "[\\s\\S]" : escapeRegex(c))).join("");
    r = new RegExp(`^${body}$`, ignoreCase ? "i" : "");
    if (cache.size > 20_000) cache.clear();
    cache.set(id, r);
  }
  return r;
}

export const hasWildcard = (s: string) => s.includes("*") || s.includes("?");

export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  if (!hasWildcard(pattern)) return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  return globRegex(pattern, ignoreCase).test(value);
}
