/**
 * S3 state: buckets (store entities) and object versions (SQLite table `s3_object_versions`,
 * metadata and body in one row, so a version is written in the same transaction as the request
 * that puts it and survives restarts). Version metadata is kept in memory per bucket, newest
 * first per key; bodies are read on demand.
 *
 * Versioning follows the bucket's state
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html): unversioned and
 * suspended buckets write the version `null` (replacing any earlier `null` version), enabled
 * buckets a new version id each time; a simple delete in a versioned bucket adds a delete marker.
 *
 * Bodies stored without SSE-KMS are sealed (AES-256-GCM, the object's bucket, key and version as
 * AAD) under S3's own key (`s3-sse.key`, sse-key.ts), not the data dir's root key.
 */
import { createHash, randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import { openBlob, sealBlob } from "../../store/sealing.ts";
import type { Store, WriteOp } from "../../store/store.ts";
import type { Grant } from "./acl.ts";
import type { BucketConfigs } from "./bucket-config.ts";

export interface Bucket {
  name: string;
  ownerAccountId: string;
  /** where the bucket lives; GetBucketLocation answers null for us-east-1 */
  region: string;
  creationDate: Date;
  /** the bucket policy (JSON text), when one is set */
  policy?: string;
  /** versioning, default encryption, Block Public Access, Object Ownership, tags (bucket-config.ts) */
  configs?: BucketConfigs;
  /** the bucket's ACL grants, once set (acl.ts); absent: the owner's full control */
  acl?: Grant[];
  /** Object Lock (object-lock.ts): present once enabled, which is for good; `rule`: default retention */
  objectLock?: BucketObjectLock;
}

export interface BucketObjectLock {
  rule?: { mode: RetentionMode; days?: number; years?: number };
}

export type RetentionMode = "GOVERNANCE" | "COMPLIANCE";

/** A version's retention: no delete before `until` (ISO 8601) unless GOVERNANCE is bypassed. */
export interface ObjectRetention {
  mode: RetentionMode;
  until: string;
}

/** How an object is encrypted at rest (object-encryption.ts). */
export interface ObjectEncryption {
  algorithm: string;
  keyArn?: string;
  bucketKeyEnabled?: boolean;
  /** SSE-KMS: the data key, encrypted by KMS (base64); the stored body is sealed with it */
  dataKey?: string;
  /** SSE-S3: the stored body is sealed under S3's own key */
  s3Sealed?: boolean;
}

export interface ObjectMeta {
  key: string;
  /** `null` for the version an unversioned or suspended bucket writes */
  versionId: string;
  /** a delete marker: no body, no content */
  deleteMarker?: boolean;
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
  /** absent: SSE-S3, stored as objects were before S3 had its own key */
  encryption?: ObjectEncryption;
  /** the version's ACL grants, once set (acl.ts); absent: the owner's full control */
  acl?: Grant[];
  /** the version's tags (object-tagging.ts), in the order given; absent: none */
  tags?: ObjectTag[];
  /** Object Lock retention (object-lock.ts) */
  retention?: ObjectRetention;
  /** Object Lock legal hold: ON (true), OFF (false), never set (absent) */
  legalHold?: boolean;
}

/** The four Block Public Access settings (public-access.ts), of a bucket or of an account. */
export interface PublicAccessBlock {
  BlockPublicAcls: boolean;
  IgnorePublicAcls: boolean;
  BlockPublicPolicy: boolean;
  RestrictPublicBuckets: boolean;
}

/** An account's own Block Public Access configuration (S3 Control, account-public-access.ts). */
export interface AccountPublicAccessBlock {
  accountId: string;
  configuration: PublicAccessBlock;
}

export interface ObjectTag {
  Key: string;
  Value: string;
}

export interface PutObjectOptions {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
  metadata?: Record<string, string>;
  acl?: Grant[];
  tags?: ObjectTag[];
  retention?: ObjectRetention;
  legalHold?: boolean;
  /** the body as stored (sealed) when it differs from the object's content, and how */
  encrypted?: { stored: Buffer; encryption: ObjectEncryption };
}

/** What a simple (version-less) delete did. */
export interface DeleteResult {
  /** the delete marker it added, in a versioned bucket */
  marker?: ObjectMeta;
  writes: WriteOp[];
}

interface BucketObjects {
  /** every key with at least one version: its versions, newest first */
  byKey: Map<string, ObjectMeta[]>;
  /** keys whose latest version is an object (not a delete marker), in S3's order; built on first listing */
  visible: string[] | null;
  /** every key with a version, in S3's order; built on the first version listing */
  all: string[] | null;
}

const BUCKET_KIND = "s3.bucket";
const ACCOUNT_BLOCK_KIND = "s3.account-public-access-block";
const SEAL_VERSION = 1;

/** A version id as made here: 32 letters, digits, `.` and `_` (never a leading `-`, which a CLI would take for an option). */
export const VERSION_ID = /^[A-Za-z0-9._]{32}$/;
const VERSION_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

export function isValidVersionId(v: string): boolean {
  return v === "null" || VERSION_ID.test(v);
}

export type VersioningStatus = "Enabled" | "Suspended" | undefined;

const sealAad = (bucket: string, key: string, versionId: string) => `s3-object|${bucket}|${versionId}|${key}`;

export class S3Storage {
  readonly buckets = new Map<string, Bucket>();
  /** account id → its account-level Block Public Access configuration (global, as in S3) */
  private readonly accountBlocks = new Map<string, PublicAccessBlock>();
  private readonly objects = new Map<string, BucketObjects>();
  private readonly putStmt: Database.Statement;
  private readonly delStmt: Database.Statement;
  private readonly bodyStmt: Database.Statement;
  private readonly metaStmt: Database.Statement;
  private seq: number;

  /** `sseKey`: S3's own key for SSE-S3 bodies (asked for only when a body is sealed or opened) */
  constructor(
    private readonly store: Store,
    private readonly sseKey: () => Buffer = memoryKey(),
  ) {
    const db = store.db;
    db.exec(`CREATE TABLE IF NOT EXISTS s3_object_versions (
      bucket TEXT NOT NULL, key TEXT NOT NULL, version_id TEXT NOT NULL, seq INTEGER NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL,
      PRIMARY KEY (bucket, key, version_id))`);
    migrateUnversionedObjects(db);
    this.putStmt = db.prepare("INSERT OR REPLACE INTO s3_object_versions (bucket, key, version_id, seq, meta, body) VALUES (?, ?, ?, ?, ?, ?)");
    this.delStmt = db.prepare("DELETE FROM s3_object_versions WHERE bucket = ? AND key = ? AND version_id = ?");
    this.bodyStmt = db.prepare("SELECT body FROM s3_object_versions WHERE bucket = ? AND key = ? AND version_id = ?");
    this.metaStmt = db.prepare("UPDATE s3_object_versions SET meta = ? WHERE bucket = ? AND key = ? AND version_id = ?");
    for (const b of store.all<Bucket>(BUCKET_KIND)) {
      this.buckets.set(b.name, b);
      this.objects.set(b.name, { byKey: new Map(), visible: null, all: null });
    }
    for (const a of store.all<AccountPublicAccessBlock>(ACCOUNT_BLOCK_KIND)) this.accountBlocks.set(a.accountId, a.configuration);
    this.seq = 0;
    const rows = db.prepare("SELECT bucket, version_id, seq, meta FROM s3_object_versions ORDER BY seq").iterate() as IterableIterator<{
      bucket: string;
      version_id: string;
      seq: number;
      meta: string;
    }>;
    for (const row of rows) {
      this.seq = Math.max(this.seq, row.seq);
      const o = this.objects.get(row.bucket);
      if (!o) continue;
      const m = JSON.parse(row.meta) as ObjectMeta & { lastModified: string };
      const meta: ObjectMeta = { ...m, versionId: row.version_id, lastModified: new Date(m.lastModified) };
      const list = o.byKey.get(meta.key);
      if (list) list.unshift(meta);
      else o.byKey.set(meta.key, [meta]);
    }
  }

  /** True when some stored body is sealed under S3's key (the key file must then be there). */
  static hasSealedBodies(store: Store): boolean {
    const t = store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 's3_object_versions'").get();
    if (!t) return false;
    return store.db.prepare(`SELECT 1 FROM s3_object_versions WHERE meta LIKE '%"s3Sealed":true%' LIMIT 1`).get() !== undefined;
  }

  bucket(name: string): Bucket | undefined {
    return this.buckets.get(name);
  }

  createBucket(b: Bucket): WriteOp[] {
    this.buckets.set(b.name, b);
    this.objects.set(b.name, { byKey: new Map(), visible: null, all: null });
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

  /** Sets the bucket's ACL grants. */
  setBucketAcl(name: string, acl: Grant[]): WriteOp[] {
    const b = this.buckets.get(name);
    if (!b) return [];
    const updated: Bucket = { ...b, acl };
    this.buckets.set(name, updated);
    return [this.store.put(BUCKET_KIND, name, updated)];
  }

  /** Sets one version's ACL grants (its row's metadata is rewritten; the body stays). */
  setObjectAcl(bucket: string, key: string, versionId: string, acl: Grant[]): WriteOp[] {
    return this.updateMeta(bucket, key, versionId, (m) => ({ ...m, acl }));
  }

  /** Replaces one version's tags (none: removes them). */
  setObjectTags(bucket: string, key: string, versionId: string, tags: ObjectTag[]): WriteOp[] {
    return this.updateMeta(bucket, key, versionId, ({ tags: _old, ...m }) => (tags.length > 0 ? { ...m, tags } : m));
  }

  /** Sets one version's Object Lock retention and legal hold (undefined: leaves it as it is; a null retention: removes it). */
  setObjectLockState(bucket: string, key: string, versionId: string, state: { retention?: ObjectRetention | null; legalHold?: boolean }): WriteOp[] {
    return this.updateMeta(bucket, key, versionId, (m) => {
      const next: ObjectMeta = { ...m };
      if (state.retention === null) delete next.retention;
      else if (state.retention !== undefined) next.retention = state.retention;
      if (state.legalHold !== undefined) next.legalHold = state.legalHold;
      return next;
    });
  }

  /** Enables Object Lock on a bucket (for good) with its default retention rule, if any. */
  setBucketObjectLock(name: string, lock: BucketObjectLock): WriteOp[] {
    const b = this.buckets.get(name);
    if (!b) return [];
    const updated: Bucket = { ...b, objectLock: lock };
    this.buckets.set(name, updated);
    return [this.store.put(BUCKET_KIND, name, updated)];
  }

  private updateMeta(bucket: string, key: string, versionId: string, update: (m: ObjectMeta) => ObjectMeta): WriteOp[] {
    const list = this.objects.get(bucket)?.byKey.get(key);
    const i = list ? list.findIndex((v) => v.versionId === versionId) : -1;
    if (!list || i < 0) return [];
    const meta = update(list[i]);
    list[i] = meta;
    const text = JSON.stringify(meta);
    return [() => void this.metaStmt.run(text, bucket, key, versionId)];
  }

  /** Sets (a node), deletes (null) or returns to the default (undefined) one configuration of a bucket. */
  setBucketConfig(name: string, config: keyof BucketConfigs, value: BucketConfigs[keyof BucketConfigs] | undefined): WriteOp[] {
    const b = this.buckets.get(name);
    if (!b) return [];
    const configs: BucketConfigs = { ...b.configs };
    if (value === undefined) delete configs[config];
    else configs[config] = value;
    const updated: Bucket = { ...b, configs };
    this.buckets.set(name, updated);
    return [this.store.put(BUCKET_KIND, name, updated)];
  }

  /** The account's own Block Public Access configuration; undefined when it has none. */
  accountPublicAccessBlock(accountId: string): PublicAccessBlock | undefined {
    return this.accountBlocks.get(accountId);
  }

  /** Sets (or, with undefined, deletes) the account's Block Public Access configuration. */
  setAccountPublicAccessBlock(accountId: string, configuration: PublicAccessBlock | undefined): WriteOp[] {
    if (configuration === undefined) {
      this.accountBlocks.delete(accountId);
      return [this.store.del(ACCOUNT_BLOCK_KIND, accountId)];
    }
    this.accountBlocks.set(accountId, configuration);
    const record: AccountPublicAccessBlock = { accountId, configuration };
    return [this.store.put(ACCOUNT_BLOCK_KIND, accountId, record)];
  }

  deleteBucket(name: string): WriteOp[] {
    this.buckets.delete(name);
    this.objects.delete(name);
    return [this.store.del(BUCKET_KIND, name)];
  }

  /** The bucket's versioning state: undefined until versioning was first enabled. */
  versioning(bucket: string): VersioningStatus {
    const v = this.buckets.get(bucket)?.configs?.versioning;
    const status = v && typeof v === "object" && !Array.isArray(v) ? v.Status : undefined;
    return status === "Enabled" || status === "Suspended" ? status : undefined;
  }

  /** Keys with at least one version or delete marker (a bucket with any is not empty). */
  objectCount(bucket: string): number {
    return this.objects.get(bucket)?.byKey.size ?? 0;
  }

  /** The current object of a key: its latest version, unless that is a delete marker. */
  head(bucket: string, key: string): ObjectMeta | undefined {
    const latest = this.latest(bucket, key);
    return latest?.deleteMarker ? undefined : latest;
  }

  /** The latest version of a key, a delete marker included. */
  latest(bucket: string, key: string): ObjectMeta | undefined {
    return this.objects.get(bucket)?.byKey.get(key)?.[0];
  }

  /** One version of a key (a delete marker included). */
  version(bucket: string, key: string, versionId: string): ObjectMeta | undefined {
    return this.objects
      .get(bucket)
      ?.byKey.get(key)
      ?.find((v) => v.versionId === versionId);
  }

  /** Every version of a key, newest first. */
  versions(bucket: string, key: string): readonly ObjectMeta[] {
    return this.objects.get(bucket)?.byKey.get(key) ?? [];
  }

  /**
   * A version's body as KMS left it (SSE-KMS: still sealed with its data key) or in the clear
   * (SSE-S3, opened with S3's key); undefined when it is not (yet) committed.
   */
  body(bucket: string, key: string, versionId?: string): Buffer | undefined {
    const meta = versionId === undefined ? this.head(bucket, key) : this.version(bucket, key, versionId);
    if (!meta || meta.deleteMarker) return undefined;
    const row = this.bodyStmt.get(bucket, key, meta.versionId) as { body: Buffer } | undefined;
    if (!row) return undefined;
    if (!meta.encryption?.s3Sealed) return row.body;
    return openBlob(this.sseKey(), row.body, sealAad(bucket, key, meta.versionId), SEAL_VERSION);
  }

  /** Records a new version (or the `null` version) in memory and returns the write that stores it. */
  putObject(bucket: string, key: string, body: Buffer, now: Date, opts: PutObjectOptions = {}): { meta: ObjectMeta; writes: WriteOp[] } {
    const o = this.objects.get(bucket);
    if (!o) throw new Error(`no bucket ${bucket}`);
    const versionId = this.versioning(bucket) === "Enabled" ? newVersionId() : "null";
    const meta: ObjectMeta = {
      key,
      versionId,
      size: body.length,
      etag: `"${createHash("md5").update(body).digest("hex")}"`,
      lastModified: new Date(Math.floor(now.getTime() / 1000) * 1000),
      contentType: opts.contentType ?? "binary/octet-stream",
      metadata: opts.metadata ?? {},
      ...(opts.acl ? { acl: opts.acl } : {}),
      ...(opts.tags && opts.tags.length > 0 ? { tags: opts.tags } : {}),
      ...retentionOf(opts.retention, this.buckets.get(bucket)?.objectLock, now),
      ...(opts.legalHold !== undefined ? { legalHold: opts.legalHold } : {}),
    };
    for (const k of ["contentEncoding", "contentDisposition", "contentLanguage", "cacheControl", "expires"] as const) {
      if (opts[k] !== undefined && opts[k] !== "") meta[k] = opts[k];
    }
    let stored: Buffer;
    if (opts.encrypted) {
      meta.encryption = opts.encrypted.encryption;
      stored = opts.encrypted.stored;
    } else {
      meta.encryption = { algorithm: "AES256", s3Sealed: true };
      stored = sealBlob(this.sseKey(), body, sealAad(bucket, key, versionId), SEAL_VERSION);
    }
    return { meta, writes: this.addVersion(o, bucket, meta, stored) };
  }

  /**
   * A delete without a version id: removes the `null` version (unversioned and suspended
   * buckets) and, in a versioned bucket, adds a delete marker (`null` when suspended).
   */
  deleteObject(bucket: string, key: string, now: Date): DeleteResult {
    const o = this.objects.get(bucket);
    if (!o) return { writes: [] };
    const status = this.versioning(bucket);
    if (status === undefined) {
      const writes = this.removeVersion(o, bucket, key, "null");
      return { writes };
    }
    const marker: ObjectMeta = {
      key,
      versionId: status === "Enabled" ? newVersionId() : "null",
      deleteMarker: true,
      size: 0,
      etag: "",
      lastModified: new Date(Math.floor(now.getTime() / 1000) * 1000),
      contentType: "",
      metadata: {},
    };
    return { marker, writes: this.addVersion(o, bucket, marker, Buffer.alloc(0)) };
  }

  /** Removes one version for good; answers what it was (undefined: there was none). */
  deleteVersion(bucket: string, key: string, versionId: string): { removed?: ObjectMeta; writes: WriteOp[] } {
    const o = this.objects.get(bucket);
    const removed = o ? this.version(bucket, key, versionId) : undefined;
    if (!o || !removed) return { writes: [] };
    return { removed, writes: this.removeVersion(o, bucket, key, versionId) };
  }

  /** Keys of a bucket whose current version is an object, in S3's (UTF-8 binary) order. */
  sortedKeys(bucket: string): string[] {
    const o = this.objects.get(bucket);
    if (!o) return [];
    if (!o.visible)
      o.visible = [...o.byKey.entries()]
        .filter(([, v]) => !v[0].deleteMarker)
        .map(([k]) => k)
        .sort(compareKeys);
    return o.visible;
  }

  /** Keys of a bucket with any version or delete marker, in S3's order. */
  sortedVersionKeys(bucket: string): string[] {
    const o = this.objects.get(bucket);
    if (!o) return [];
    if (!o.all) o.all = [...o.byKey.keys()].sort(compareKeys);
    return o.all;
  }

  private addVersion(o: BucketObjects, bucket: string, meta: ObjectMeta, stored: Buffer): WriteOp[] {
    const before = this.keyState(o, meta.key);
    const list = (o.byKey.get(meta.key) ?? []).filter((v) => v.versionId !== meta.versionId);
    list.unshift(meta);
    o.byKey.set(meta.key, list);
    this.updateOrder(o, meta.key, before);
    const seq = ++this.seq;
    const text = JSON.stringify(meta);
    return [() => void this.putStmt.run(bucket, meta.key, meta.versionId, seq, text, stored)];
  }

  private removeVersion(o: BucketObjects, bucket: string, key: string, versionId: string): WriteOp[] {
    const list = o.byKey.get(key);
    if (!list || !list.some((v) => v.versionId === versionId)) return [];
    const before = this.keyState(o, key);
    const rest = list.filter((v) => v.versionId !== versionId);
    if (rest.length > 0) o.byKey.set(key, rest);
    else o.byKey.delete(key);
    this.updateOrder(o, key, before);
    return [() => void this.delStmt.run(bucket, key, versionId)];
  }

  private keyState(o: BucketObjects, key: string): { any: boolean; visible: boolean } {
    const list = o.byKey.get(key);
    return { any: !!list, visible: !!list && !list[0].deleteMarker };
  }

  /** Keeps the sorted key lists current without re-sorting the bucket. */
  private updateOrder(o: BucketObjects, key: string, before: { any: boolean; visible: boolean }): void {
    const after = this.keyState(o, key);
    if (o.all && before.any !== after.any) {
      if (after.any) o.all.splice(firstAtLeast(o.all, key), 0, key);
      else o.all.splice(firstAtLeast(o.all, key), 1);
    }
    if (o.visible && before.visible !== after.visible) {
      if (after.visible) o.visible.splice(firstAtLeast(o.visible, key), 0, key);
      else o.visible.splice(firstAtLeast(o.visible, key), 1);
    }
  }
}

/**
 * A new version's retention: the one asked for, or else the bucket's default retention counted
 * from `now` (so log files CloudTrail delivers into a locked bucket are retained too).
 */
function retentionOf(asked: ObjectRetention | undefined, lock: BucketObjectLock | undefined, now: Date): { retention?: ObjectRetention } {
  if (asked) return { retention: asked };
  const rule = lock?.rule;
  if (!rule) return {};
  const until = new Date(now.getTime());
  if (rule.years !== undefined) until.setUTCFullYear(until.getUTCFullYear() + rule.years);
  else until.setTime(until.getTime() + (rule.days ?? 0) * 86_400_000);
  return { retention: { mode: rule.mode, until: until.toISOString() } };
}

function newVersionId(): string {
  // 64 symbols: one byte's low six bits pick one without bias
  return Array.from(randomBytes(32), (b) => VERSION_ALPHABET[b & 63]).join("");
}

/** A key for a store without a data dir: made on first use, kept only in memory. */
function memoryKey(): () => Buffer {
  let key: Buffer | undefined;
  return () => (key ??= randomBytes(32));
}

/** Data dirs from before versioning kept one row per key in `s3_objects`: each becomes the key's `null` version. */
function migrateUnversionedObjects(db: Database.Database): void {
  const old = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 's3_objects'").get();
  if (!old) return;
  db.transaction(() => {
    db.exec("INSERT OR IGNORE INTO s3_object_versions (bucket, key, version_id, seq, meta, body) SELECT bucket, key, 'null', rowid, meta, body FROM s3_objects");
    db.exec("DROP TABLE s3_objects");
  })();
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
