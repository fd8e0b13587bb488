/**
 * S3 state: buckets (store entities) and objects (SQLite table `s3_objects`, metadata and body
 * in one row, so an object is written in the same transaction as the request that puts it and
 * survives restarts). Object metadata is kept in memory per bucket; bodies are read on demand.
 */
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import type { Store, WriteOp } from "../../store/store.ts";

export interface Bucket {
  name: string;
  ownerAccountId: string;
  /** where the bucket lives; GetBucketLocation answers null for us-east-1 */
  region: string;
  creationDate: Date;
  /** the bucket policy (JSON text), when one is set */
  policy?: string;
}

export interface ObjectMeta {
  key: string;
  size: number;
  /** quoted MD5 hex, as S3 sends it */
  etag: string;
  lastModified: Date;
  contentType: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  /** x-amz-meta-* without the prefix, names lower-case */
  metadata: Record<string, string>;
}

export interface PutObjectOptions {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  metadata?: Record<string, string>;
}

interface BucketObjects {
  byKey: Map<string, ObjectMeta>;
  /** keys in S3's order: built on the first listing, then kept sorted on every put and delete */
  sorted: string[] | null;
}

const BUCKET_KIND = "s3.bucket";

export class S3Storage {
  readonly buckets = new Map<string, Bucket>();
  private readonly objects = new Map<string, BucketObjects>();
  private readonly putStmt: Database.Statement;
  private readonly delStmt: Database.Statement;
  private readonly bodyStmt: Database.Statement;

  constructor(private readonly store: Store) {
    const db = store.db;
    db.exec(`CREATE TABLE IF NOT EXISTS s3_objects (
      bucket TEXT NOT NULL, key TEXT NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL,
      PRIMARY KEY (bucket, key))`);
    this.putStmt = db.prepare(
      "INSERT INTO s3_objects (bucket, key, meta, body) VALUES (?, ?, ?, ?) ON CONFLICT (bucket, key) DO UPDATE SET meta = excluded.meta, body = excluded.body",
    );
    this.delStmt = db.prepare("DELETE FROM s3_objects WHERE bucket = ? AND key = ?");
    this.bodyStmt = db.prepare("SELECT body FROM s3_objects WHERE bucket = ? AND key = ?");
    for (const b of store.all<Bucket>(BUCKET_KIND)) {
      this.buckets.set(b.name, b);
      this.objects.set(b.name, { byKey: new Map(), sorted: null });
    }
    for (const row of db.prepare("SELECT bucket, meta FROM s3_objects").iterate() as IterableIterator<{ bucket: string; meta: string }>) {
      const o = this.objects.get(row.bucket);
      if (!o) continue;
      const m = JSON.parse(row.meta) as ObjectMeta & { lastModified: string };
      o.byKey.set(m.key, { ...m, lastModified: new Date(m.lastModified) });
    }
  }

  bucket(name: string): Bucket | undefined {
    return this.buckets.get(name);
  }

  createBucket(b: Bucket): WriteOp[] {
    this.buckets.set(b.name, b);
    this.objects.set(b.name, { byKey: new Map(), sorted: null });
    return [this.store.put(BUCKET_KIND, b.name, b)];
  }

  /** Sets (or, with undefined, removes) the bucket's policy. */
  setBucketPolicy(name: string, policy: string | undefined): WriteOp[] {
    const b = this.buckets.get(name);
    if (!b) return [];
    const updated: Bucket = { ...b };
    if (policy === undefined) delete updated.policy;
    else updated.policy = policy;
    this.buckets.set(name, updated);
    return [this.store.put(BUCKET_KIND, name, updated)];
  }

  deleteBucket(name: string): WriteOp[] {
    this.buckets.delete(name);
    this.objects.delete(name);
    return [this.store.del(BUCKET_KIND, name)];
  }

  objectCount(bucket: string): number {
    return this.objects.get(bucket)?.byKey.size ?? 0;
  }

  head(bucket: string, key: string): ObjectMeta | undefined {
    return this.objects.get(bucket)?.byKey.get(key);
  }

  /** The stored body, or undefined when the object is not (yet) committed. */
  body(bucket: string, key: string): Buffer | undefined {
    const row = this.bodyStmt.get(bucket, key) as { body: Buffer } | undefined;
    return row?.body;
  }

  /** Records the object in memory and returns the write that stores it. */
  putObject(bucket: string, key: string, body: Buffer, now: Date, opts: PutObjectOptions = {}): { meta: ObjectMeta; writes: WriteOp[] } {
    const o = this.objects.get(bucket);
    if (!o) throw new Error(`no bucket ${bucket}`);
    const meta: ObjectMeta = {
      key,
      size: body.length,
      etag: `"${createHash("md5").update(body).digest("hex")}"`,
      lastModified: new Date(Math.floor(now.getTime() / 1000) * 1000),
      contentType: opts.contentType ?? "binary/octet-stream",
      metadata: opts.metadata ?? {},
    };
    for (const k of ["contentEncoding", "contentDisposition", "contentLanguage", "cacheControl", "expires"] as const) {
      if (opts[k] !== undefined && opts[k] !== "") meta[k] = opts[k];
    }
    if (!o.byKey.has(key) && o.sorted) o.sorted.splice(firstAtLeast(o.sorted, key), 0, key);
    o.byKey.set(key, meta);
    const text = JSON.stringify(meta);
    return { meta, writes: [() => void this.putStmt.run(bucket, key, text, body)] };
  }

  deleteObject(bucket: string, key: string): WriteOp[] {
    const o = this.objects.get(bucket);
    if (!o || !o.byKey.delete(key)) return [];
    if (o.sorted) o.sorted.splice(firstAtLeast(o.sorted, key), 1);
    return [() => void this.delStmt.run(bucket, key)];
  }

  /** Keys of a bucket in S3's (UTF-8 binary) order. */
  sortedKeys(bucket: string): string[] {
    const o = this.objects.get(bucket);
    if (!o) return [];
    if (!o.sorted) o.sorted = [...o.byKey.keys()].sort(compareKeys);
    return o.sorted;
  }
}

/** S3 lists keys in UTF-8 byte order. */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order equals code point (= UTF-8 byte) order unless surrogates or U+E000.. are involved.
  if (!HIGH.test(a) && !HIGH.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
const HIGH = /[\uD800-\uFFFF]/;

/** First index in sorted `keys` whose key is strictly greater than `after`. */
export function firstAfter(keys: string[], after: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid], after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in sorted `keys` past every key that starts with `prefix` (and past those before it). */
export function firstPastPrefix(keys: string[], prefix: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (keys[mid].startsWith(prefix) || compareKeys(keys[mid], prefix) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in sorted `keys` whose key is greater than or equal to `x`. */
export function firstAtLeast(keys: string[], x: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(keys[mid], x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
