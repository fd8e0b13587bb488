/**
 * Ordered in-memory indexes for List operations, so a page costs O(page + log n) instead of a
 * filter and sort of the whole table.
 *
 * - `SortedRun`: one sorted run of (key, value) pairs, kept sorted on insert/delete by binary
 *   search. Keys compare as JavaScript strings (UTF-16 code units), the order every list here
 *   already used. Records are usually created in key order, so an insert is an append.
 * - `ScopedIndex`: one `SortedRun` per scope (e.g. `account|region`, or a cluster ARN).
 * - `IndexedMap`: a `Map` that keeps any number of scoped indexes current on every
 *   `set`/`delete`, remembering the scope and key each entry was indexed under, so an entry
 *   whose record was changed in place (or replaced) is moved, never duplicated or lost.
 *
 * Paging is by position: a page token names the key of a boundary entry, and the next page
 * starts there by binary search. Entries added or removed between calls do not shift pages.
 */

/** Counts the entries a page looked at (binary-search probes and scanned entries). */
export interface VisitCounter {
  visited: number;
}

export interface PageRequest<V> {
  /** start after this key (exclusive) */
  after?: string;
  /** start at this key (inclusive); ignored when `after` is given */
  from?: string;
  limit: number;
  /** only entries passing this are returned; skipped entries still cost a visit */
  filter?: (v: V) => boolean;
  /** walk from the largest key down (`after`/`from` then bound from above) */
  descending?: boolean;
  /** only keys starting with this (found by binary search; keys must not contain U+FFFF) */
  prefix?: string;
}

export interface IndexPage<V> {
  items: V[];
  /** key of the last returned item */
  lastKey?: string;
  /** key of the first matching entry after the page, when there is one */
  nextKey?: string;
}

export class SortedRun<V> {
  private readonly keys: string[] = [];
  private readonly values: V[] = [];

  constructor(private readonly counter: VisitCounter = { visited: 0 }) {}

  get size(): number {
    return this.keys.length;
  }

  /** first position whose key is >= k (or > k when `strict`) */
  private bound(k: string, strict: boolean): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      this.counter.visited++;
      const c = this.keys[mid];
      if (c < k || (strict && c === k)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(key: string, value: V): void {
    const n = this.keys.length;
    if (n === 0 || this.keys[n - 1] < key) {
      this.keys.push(key);
      this.values.push(value);
      return;
    }
    const i = this.bound(key, false);
    if (this.keys[i] === key) {
      this.values[i] = value;
      return;
    }
    this.keys.splice(i, 0, key);
    this.values.splice(i, 0, value);
  }

  delete(key: string): boolean {
    const i = this.bound(key, false);
    if (i >= this.keys.length || this.keys[i] !== key) return false;
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
    return true;
  }

  get(key: string): V | undefined {
    const i = this.bound(key, false);
    return this.keys[i] === key ? this.values[i] : undefined;
  }

  /** every value in key order (for callers that need the whole run, e.g. a small bounded list) */
  list(): V[] {
    return [...this.values];
  }

  /** Entries in key order from `from` (inclusive) on, each a visit; the run must not change meanwhile. */
  *entries(from?: string): Generator<[string, V]> {
    for (let i = from !== undefined ? this.bound(from, false) : 0; i < this.keys.length; i++) {
      this.counter.visited++;
      yield [this.keys[i], this.values[i]];
    }
  }

  page(req: PageRequest<V>): IndexPage<V> {
    const { limit, filter, prefix } = req;
    const items: V[] = [];
    let lastKey: string | undefined;
    let nextKey: string | undefined;
    const take = (i: number): boolean => {
      const key = this.keys[i];
      if (prefix !== undefined && !key.startsWith(prefix)) return false;
      this.counter.visited++;
      const v = this.values[i];
      if (filter && !filter(v)) return true;
      if (items.length === limit) {
        nextKey = key;
        return false;
      }
      items.push(v);
      lastKey = key;
      return true;
    };
    if (!req.descending) {
      let i = req.after !== undefined ? this.bound(req.after, true) : req.from !== undefined ? this.bound(req.from, false) : 0;
      if (prefix !== undefined) i = Math.max(i, this.bound(prefix, false));
      for (const n = this.keys.length; i < n && take(i); i++);
    } else {
      // the largest position below the bound
      let i = req.after !== undefined ? this.bound(req.after, false) - 1 : req.from !== undefined ? this.bound(req.from, true) - 1 : this.keys.length - 1;
      if (prefix !== undefined) i = Math.min(i, this.bound(prefix + "\uffff", false) - 1);
      for (; i >= 0 && take(i); i--);
    }
    return { items, lastKey, nextKey };
  }
}

export class ScopedIndex<V> {
  private readonly runs = new Map<string, SortedRun<V>>();

  constructor(readonly counter: VisitCounter = { visited: 0 }) {}

  set(scope: string, key: string, value: V): void {
    let run = this.runs.get(scope);
    if (!run) this.runs.set(scope, (run = new SortedRun<V>(this.counter)));
    run.set(key, value);
  }

  delete(scope: string, key: string): void {
    const run = this.runs.get(scope);
    if (!run) return;
    run.delete(key);
    if (run.size === 0) this.runs.delete(scope);
  }

  size(scope: string): number {
    return this.runs.get(scope)?.size ?? 0;
  }

  page(scope: string, req: PageRequest<V>): IndexPage<V> {
    return this.runs.get(scope)?.page(req) ?? { items: [] };
  }

  *entries(scope: string, from?: string): Generator<[string, V]> {
    const run = this.runs.get(scope);
    if (run) yield* run.entries(from);
  }

  /** every value of one scope in key order */
  all(scope: string): V[] {
    return this.runs.get(scope)?.list() ?? [];
  }

  clear(): void {
    this.runs.clear();
  }
}

/** How an `IndexedMap` files an entry: its scope and its unique, order-giving key there. */
export interface IndexSpec<V> {
  /** undefined = not in this index */
  scope(v: V): string | undefined;
  key(v: V): string;
}

/**
 * A Map whose values are also kept in ordered, scoped indexes (one per spec). `index(name)`
 * gives the index to page through.
 */
export class IndexedMap<K, V, N extends string = string> extends Map<K, V> {
  readonly counter: VisitCounter = { visited: 0 };
  private specs?: [N, IndexSpec<V>, ScopedIndex<V>][];
  /** where each entry was filed, per index, so it can be unfiled after an in-place change */
  private filed?: Map<K, ([string, string] | undefined)[]>;

  constructor(specs: Record<N, IndexSpec<V>>) {
    super();
    this.specs = (Object.entries(specs) as [N, IndexSpec<V>][]).map(([name, spec]) => [name, spec, new ScopedIndex<V>(this.counter)]);
    this.filed = new Map();
  }

  index(name: N): ScopedIndex<V> {
    const found = this.specs!.find(([n]) => n === name);
    if (!found) throw new Error(`no index ${name}`);
    return found[2];
  }

  override set(k: K, v: V): this {
    // Map's constructor does not call set with entries here (none are passed), but guard anyway.
    if (!this.specs) return super.set(k, v);
    const before = this.filed!.get(k);
    super.set(k, v);
    const places = this.specs.map(([, spec, idx], i) => {
      const scope = spec.scope(v);
      const key = scope === undefined ? undefined : spec.key(v);
      const old = before?.[i];
      // unchanged place (a record saved again): replace the value where it is
      if (old && (old[0] !== scope || old[1] !== key)) idx.delete(old[0], old[1]);
      if (scope === undefined) return undefined;
      idx.set(scope, key!, v);
      return [scope, key!] as [string, string];
    });
    this.filed!.set(k, places);
    return this;
  }

  override delete(k: K): boolean {
    if (this.specs) this.unfile(k);
    return super.delete(k);
  }

  override clear(): void {
    if (this.specs) {
      for (const [, , idx] of this.specs) idx.clear();
      this.filed!.clear();
    }
    super.clear();
  }

  private unfile(k: K): void {
    const places = this.filed!.get(k);
    if (!places) return;
    places.forEach((p, i) => {
      if (p) this.specs![i][2].delete(p[0], p[1]);
    });
    this.filed!.delete(k);
  }
}

/** A position token: `prefix` + key, base64url. */
export function positionToken(prefix: string, key: string): string {
  return Buffer.from(prefix + key, "utf8").toString("base64url");
}

/** The key a position token names, or undefined when it is not one of ours with this prefix. */
export function positionFromToken(prefix: string, token: string): string | undefined {
  if (!/^[A-Za-z0-9_=+/-]*$/.test(token)) return undefined;
  const raw = Buffer.from(token, "base64url").toString("utf8");
  return raw.startsWith(prefix) ? raw.slice(prefix.length) : undefined;
}
