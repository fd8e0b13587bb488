/**
 * A stream's events in key order (timestamp, then ingestion order), as sorted chunks of at most
 * CHUNK entries. Events usually arrive in order and append; an older timestamp (a client that
 * backfills, or replays) inserts inside one chunk, costing at most CHUNK moves instead of moving
 * the whole stream as one sorted array would.
 */
const CHUNK = 512;

interface Chunk<V> {
  keys: string[];
  values: V[];
}

export interface EventPage<V> {
  /** start at this key (inclusive) */
  from?: string;
  /** start after this key (exclusive); descending: below it */
  after?: string;
  descending?: boolean;
  /** ascending: stop at this key (exclusive) */
  before?: string;
  limit: number;
  filter?: (v: V) => boolean;
}

function bound(keys: string[], k: string, strict: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < k || (strict && keys[mid] === k)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class EventIndex<V> {
  private readonly chunks: Chunk<V>[] = [];
  size = 0;

  /** the first chunk whose last key is >= k (or > k when strict); chunks.length when none */
  private chunkFor(k: string, strict: boolean): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const last = this.chunks[mid].keys[this.chunks[mid].keys.length - 1];
      if (last < k || (strict && last === k)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(key: string, value: V): void {
    if (this.chunks.length === 0) this.chunks.push({ keys: [], values: [] });
    const ci = Math.min(this.chunkFor(key, false), this.chunks.length - 1);
    const c = this.chunks[ci];
    const i = bound(c.keys, key, false);
    if (c.keys[i] === key) {
      c.values[i] = value;
      return;
    }
    c.keys.splice(i, 0, key);
    c.values.splice(i, 0, value);
    this.size++;
    if (c.keys.length > CHUNK) {
      const half = c.keys.length >>> 1;
      this.chunks.splice(ci + 1, 0, { keys: c.keys.splice(half), values: c.values.splice(half) });
    }
  }

  delete(key: string): boolean {
    const ci = this.chunkFor(key, false);
    const c = this.chunks[ci];
    if (!c) return false;
    const i = bound(c.keys, key, false);
    if (c.keys[i] !== key) return false;
    c.keys.splice(i, 1);
    c.values.splice(i, 1);
    this.size--;
    if (c.keys.length === 0) this.chunks.splice(ci, 1);
    return true;
  }

  page(req: EventPage<V>): { items: V[] } {
    const items: V[] = [];
    const take = (v: V) => {
      if (req.filter && !req.filter(v)) return true;
      items.push(v);
      return items.length < req.limit;
    };
    if (!req.descending) {
      const start = req.after ?? req.from;
      const strict = req.after !== undefined;
      let ci = start === undefined ? 0 : this.chunkFor(start, strict);
      let i = start === undefined || ci >= this.chunks.length ? 0 : bound(this.chunks[ci].keys, start, strict);
      for (; ci < this.chunks.length; ci++, i = 0) {
        const c = this.chunks[ci];
        for (; i < c.keys.length; i++) {
          if (req.before !== undefined && c.keys[i] >= req.before) return { items };
          if (!take(c.values[i])) return { items };
        }
      }
      return { items };
    }
    // descending: below `after` (exclusive), or from the end
    let ci = this.chunks.length - 1;
    let i = ci >= 0 ? this.chunks[ci].keys.length - 1 : -1;
    if (req.after !== undefined) {
      ci = Math.min(this.chunkFor(req.after, false), this.chunks.length - 1);
      i = ci >= 0 ? bound(this.chunks[ci].keys, req.after, false) - 1 : -1;
    }
    for (; ci >= 0; ci--, i = ci >= 0 ? this.chunks[ci].keys.length - 1 : -1) {
      const c = this.chunks[ci];
      for (; i >= 0; i--) if (!take(c.values[i])) return { items };
    }
    return { items };
  }
}
