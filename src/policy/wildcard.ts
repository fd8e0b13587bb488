/**
 * IAM wildcards: `*` matches any run of characters (including none, and including `:` and `/`),
 * `?` matches exactly one character. No regular expression is ever built from a pattern.
 *
 * A pattern is compiled once into pieces split on `*`: the first piece must match at the start of
 * the value, the last at the end, and each piece in between is searched for left to right, taking
 * its leftmost occurrence after the previous one (taking the leftmost occurrence never loses a
 * match, so nothing is retried). A piece without `?` is searched with Knuth–Morris–Pratt, linear
 * in the value; `?` at either end of a piece only shifts where it may start. A piece with a `?`
 * between two literal characters is searched with the bit-parallel Shift-And automaton, one
 * 32-bit word per 32 characters of the piece. Matching therefore takes O(value + pattern) steps
 * for every pattern without such an inner `?`, and never more than O(value × ⌈piece / 32⌉ +
 * pattern) — see docs/policy.md.
 */

export type Matcher = (value: string) => boolean;

export const hasWildcard = (s: string): boolean => s.includes("*") || s.includes("?");

const STAR = -1;
const ONE = -2;

let steps = 0;
/** Comparison steps taken by every match so far (the matcher's cost, for tests). */
export const wildcardSteps = (): number => steps;

/** A run of units between stars: `lead` leading `?`s, a core, then `trail` trailing `?`s. */
interface Piece {
  lead: number;
  core: Int32Array;
  trail: number;
  /** KMP failure table, when the core has no `?` */
  fail?: Int32Array;
  /** Shift-And masks, when the core has a `?` */
  shiftAnd?: ShiftAnd;
  /** total length: lead + core + trail */
  length: number;
}

interface Glob {
  first: Piece;
  middle: Piece[];
  last?: Piece; // absent: no star at all, `first` must be the whole value
}

function piece(units: number[], search: boolean): Piece {
  let a = 0;
  let b = units.length;
  while (a < b && units[a] === ONE) a++;
  while (b > a && units[b - 1] === ONE) b--;
  const core = Int32Array.from(units.slice(a, b));
  const p: Piece = { lead: a, core, trail: units.length - b, length: units.length };
  if (search) {
    if (core.includes(ONE)) p.shiftAnd = shiftAndTable(core);
    else p.fail = failureTable(core);
  }
  return p;
}

/** Bit i of a mask is set when core position i accepts the character (`?` accepts any). */
interface ShiftAnd {
  words: number;
  /** positions holding `?`: the mask of a character the core does not name */
  any: Uint32Array;
  masks: Map<number, Uint32Array>;
}

function shiftAndTable(core: Int32Array): ShiftAnd {
  const words = (core.length + 31) >>> 5;
  const any = new Uint32Array(words);
  const masks = new Map<number, Uint32Array>();
  for (let i = 0; i < core.length; i++) {
    const u = core[i];
    const w = i >>> 5;
    const bit = 1 << (i & 31);
    if (u === ONE) {
      any[w] |= bit;
      continue;
    }
    let m = masks.get(u);
    if (m === undefined) masks.set(u, (m = new Uint32Array(words)));
    m[w] |= bit;
  }
  for (const m of masks.values()) for (let w = 0; w < words; w++) m[w] |= any[w];
  steps += core.length + masks.size * words;
  return { words, any, masks };
}

/** The leftmost start of `core` in v[lo, hi), or -1: Shift-And, ⌈core/32⌉ word steps per character. */
function shiftAndFind(core: Int32Array, t: ShiftAnd, v: string, lo: number, hi: number): number {
  const { words, any, masks } = t;
  const state = new Uint32Array(words);
  const lastWord = (core.length - 1) >>> 5;
  const lastBit = 1 << ((core.length - 1) & 31);
  for (let i = lo; i < hi; i++) {
    const m = masks.get(v.charCodeAt(i)) ?? any;
    let carry = 1; // a match may start at every position
    for (let w = 0; w < words; w++) {
      const d = state[w];
      state[w] = ((d << 1) | carry) & m[w];
      carry = d >>> 31;
      steps++;
    }
    if (state[lastWord] & lastBit) return i + 1 - core.length;
  }
  return -1;
}

function failureTable(core: Int32Array): Int32Array {
  const fail = new Int32Array(core.length);
  let k = 0;
  for (let i = 1; i < core.length; i++) {
    while (k > 0 && core[i] !== core[k]) {
      k = fail[k - 1];
      steps++;
    }
    if (core[i] === core[k]) k++;
    fail[i] = k;
    steps++;
  }
  return fail;
}

/** Builds the pieces from a unit sequence (char codes, STAR, ONE); runs of stars count as one. */
function compileUnits(units: readonly number[]): Glob {
  const runs: number[][] = [[]];
  for (const u of units) {
    steps++;
    if (u === STAR) runs.push([]);
    else runs[runs.length - 1].push(u);
  }
  if (runs.length === 1) return { first: piece(runs[0], false), middle: [] };
  const middle = runs
    .slice(1, -1)
    .filter((r) => r.length > 0)
    .map((r) => piece(r, true));
  return { first: piece(runs[0], false), middle, last: piece(runs[runs.length - 1], false) };
}

/** Whether `core` matches `v` at index `at` (the caller has checked the bounds). */
function coreAt(core: Int32Array, v: string, at: number): boolean {
  for (let i = 0; i < core.length; i++) {
    steps++;
    const u = core[i];
    if (u !== ONE && u !== v.charCodeAt(at + i)) return false;
  }
  return true;
}

/** The leftmost start s in [from, end - p.length] where `p` matches `v`, or -1. */
function find(p: Piece, v: string, from: number, end: number): number {
  const core = p.core;
  const lo = from + p.lead; // where the core may start
  const hi = end - p.trail; // where the core must end by
  if (hi - lo < core.length) return -1;
  if (core.length === 0) return from;
  const fail = p.fail;
  if (fail === undefined) {
    const at = shiftAndFind(core, p.shiftAnd!, v, lo, hi);
    return at < 0 ? -1 : at - p.lead;
  }
  let k = 0;
  for (let i = lo; i < hi; i++) {
    const c = v.charCodeAt(i);
    while (k > 0 && core[k] !== c) {
      k = fail[k - 1];
      steps++;
    }
    steps++;
    if (core[k] === c && ++k === core.length) return i + 1 - core.length - p.lead;
  }
  return -1;
}

function matchGlob(g: Glob, v: string): boolean {
  const n = v.length;
  const first = g.first;
  const last = g.last;
  if (last === undefined) return n === first.length && coreAt(first.core, v, first.lead);
  if (first.length + last.length > n) return false;
  if (!coreAt(first.core, v, first.lead)) return false;
  if (!coreAt(last.core, v, n - last.length + last.lead)) return false;
  let pos = first.length;
  const end = n - last.length;
  for (const p of g.middle) {
    const at = find(p, v, pos, end);
    if (at < 0) return false;
    pos = at + p.length;
  }
  return true;
}

function unitsOf(text: string, wildcards: boolean, out: number[]): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (wildcards && c === 42) out.push(STAR);
    else if (wildcards && c === 63) out.push(ONE);
    else out.push(c);
  }
}

const matchAll: Matcher = () => true;

/**
 * Compiles a wildcard pattern. With `ignoreCase` the returned matcher compares case-insensitively;
 * with `valueIsLower` as well it expects callers to pass values already lower-cased (so a value
 * can be lower-cased once and tested against many patterns).
 */
export function compileGlob(pattern: string, ignoreCase = false, valueIsLower = false): Matcher {
  if (pattern === "*") return matchAll;
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const lower = ignoreCase && !valueIsLower;
  if (!hasWildcard(p)) return lower ? (v) => v.toLowerCase() === p : (v) => v === p;
  const units: number[] = [];
  unitsOf(p, true, units);
  const g = compileUnits(units);
  return lower ? (v) => matchGlob(g, v.toLowerCase()) : (v) => matchGlob(g, v);
}

/** One piece of a pattern whose wildcards must be told apart from literal text (see variables.ts). */
export interface GlobPart {
  text: string;
  /** true: `*` and `?` in text are ordinary characters */
  literal: boolean;
}

/**
 * Matches a value against a pattern made of parts, some literal (resolved policy variables and
 * the `${*}`/`${?}`/`${$}` escapes) and some with wildcards.
 */
export function matchParts(parts: readonly GlobPart[], value: string, ignoreCase = false): boolean {
  const units: number[] = [];
  for (const part of parts) unitsOf(ignoreCase ? part.text.toLowerCase() : part.text, !part.literal, units);
  return matchGlob(compileUnits(units), ignoreCase ? value.toLowerCase() : value);
}
