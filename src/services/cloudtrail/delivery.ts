/**
 * Delivery of trails' log files and digest files to S3, on the service clock.
 *
 * About every 5 minutes a logging trail delivers the events recorded since its last delivery
 * (after its event selectors) as gzipped `{"Records":[...]}`, one file per delivering region:
 *   <bucket>/[<prefix>/]AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
 *     <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16 random chars>.json.gz
 * With log file validation, every hour (and when logging stops or the trail is deleted) each
 * delivering region gets a digest file listing the log files delivered since the previous one,
 * signed SHA256withRSA with that region's key and chained to the previous digest:
 *   <bucket>/[<prefix>/]AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
 *     <account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHMMSSZ>.json.gz
 */
import { createHash, randomInt } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { AppContext, DueRunner } from "../../kernel/context.ts";
import type { WriteOp } from "../../store/store.ts";
import type { AuditStore, StoredEvent } from "../../audit/event-store.ts";
import { isoSeconds } from "../../audit/record.ts";
import { s3Api } from "../s3/index.ts";
import { digestSigningString, signDigest, type SigningKeys } from "./keys.ts";
import { chainKey, chainParts, logsPrefix, trailAccounts } from "./organization-trail.ts";
import { eventFields, selects } from "./selectors.ts";
import { TRAIL_KIND, type DigestChain, type PendingLogFile, type TrailState, type Trails } from "./trails.ts";

export const DELIVERY_INTERVAL_MS = 5 * 60 * 1000;
export const DIGEST_INTERVAL_MS = 60 * 60 * 1000;
/** Events per log file at most; a delivery with more writes several files. */
const MAX_RECORDS_PER_FILE = 5000;
/** Event sources of global services (recorded in us-east-1). */
const GLOBAL_SOURCES = new Set(["iam.amazonaws.com", "organizations.amazonaws.com"]);

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function uniqueString(): string {
  let s = "";
  for (let i = 0; i < 16; i++) s += ALNUM[randomInt(ALNUM.length)];
  return s;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");
function ymd(d: Date): string {
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}
/** YYYYMMDDTHHmmZ */
export function minuteStamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
}
/** YYYYMMDDTHHMMSSZ */
export function secondStamp(d: Date): string {
  return `${minuteStamp(d).slice(0, -1)}${pad(d.getUTCSeconds())}Z`;
}

function keyPrefix(t: TrailState): string {
  return t.s3KeyPrefix ? `${t.s3KeyPrefix}/` : "";
}

export function logFileKey(t: TrailState, region: string, at: Date, account = t.accountId): string {
  return `${keyPrefix(t)}${logsPrefix(t, account)}CloudTrail/${region}/${ymd(at)}/${account}_CloudTrail_${region}_${minuteStamp(at)}_${uniqueString()}.json.gz`;
}

export function digestFileKey(t: TrailState, region: string, at: Date, account = t.accountId): string {
  return `${keyPrefix(t)}${logsPrefix(t, account)}CloudTrail-Digest/${region}/${ymd(at)}/${account}_CloudTrail-Digest_${region}_${t.name}_${t.homeRegion}_${secondStamp(at)}.json.gz`;
}

/** The chain of the trail's own account in its home Region. */
export const homeChain = (t: TrailState) => chainKey(t, t.accountId, t.homeRegion);

export class Delivery implements DueRunner {
  readonly name = "cloudtrail-delivery";

  constructor(
    private readonly app: AppContext,
    private readonly trails: Trails,
    private readonly events: AuditStore,
    private readonly keys: SigningKeys,
  ) {}

  async runDue(nowMs: number): Promise<void> {
    const due = this.trails.all().some((t) => t.isLogging && (nowMs >= t.nextDeliveryMs || (t.logFileValidationEnabled && nowMs >= t.nextDigestMs)));
    if (!due) return;
    // every call answered so far must be stored (records of read-only calls arrive through the audit log)
    await this.events.indexed();
    const writes: WriteOp[] = [];
    for (const t of this.trails.all()) {
      if (!t.isLogging) continue;
      let changed = false;
      if (nowMs >= t.nextDeliveryMs) {
        writes.push(...this.deliverLogs(t, nowMs));
        t.nextDeliveryMs = nowMs + DELIVERY_INTERVAL_MS;
        changed = true;
      }
      if (t.logFileValidationEnabled && nowMs >= t.nextDigestMs) {
        writes.push(...this.deliverDigests(t, nowMs));
        t.nextDigestMs = nowMs + DIGEST_INTERVAL_MS;
        changed = true;
      }
      if (changed) writes.push(this.app.store.put(TRAIL_KIND, t.arn, t));
    }
    await this.app.store.commit(writes);
  }

  /** The region whose log files carry this event for this trail, or undefined if the trail does not take it. */
  private deliveringRegion(t: TrailState, e: StoredEvent, accounts: ReadonlySet<string>): string | undefined {
    if (!accounts.has(e.account)) return undefined;
    const global = GLOBAL_SOURCES.has(e.eventSource);
    if (global && !t.includeGlobalServiceEvents) return undefined;
    if (t.isMultiRegionTrail) return e.region;
    if (e.region === t.homeRegion) return t.homeRegion;
    return global ? t.homeRegion : undefined;
  }

  /**
   * Delivers the events after the trail's watermark; returns the writes (S3 objects and nothing
   * else: the caller stores the trail). Updates the trail in memory.
   */
  deliverLogs(t: TrailState, nowMs: number): WriteOp[] {
    const writes: WriteOp[] = [];
    const now = new Date(nowMs);
    t.latestDeliveryAttemptMs = nowMs;
    const s3 = s3Api(this.app);
    const bucket = s3?.bucket(t.s3BucketName);
    if (!s3 || !bucket) {
      t.latestDeliveryError = "NoSuchBucket";
      return writes;
    }
    // one file (and digest chain) per account and delivering region
    const byChain = new Map<string, StoredEvent[]>();
    const accounts = trailAccounts(this.app, t);
    let watermark = t.watermark;
    for (;;) {
      const batch = this.events.after(watermark, 10_000);
      if (batch.length === 0) break;
      for (const e of batch) {
        watermark = e.seq;
        const region = this.deliveringRegion(t, e, accounts);
        if (region === undefined) continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(e.record) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (!selects(t, eventFields(record))) continue;
        const key = chainKey(t, e.account, region);
        let list = byChain.get(key);
        if (!list) byChain.set(key, (list = []));
        list.push(e);
      }
    }
    t.watermark = watermark;
    let delivered = false;
    for (const [chain, list] of byChain) {
      const { account, region } = chainParts(t, chain);
      for (let i = 0; i < list.length; i += MAX_RECORDS_PER_FILE) {
        const chunk = list.slice(i, i + MAX_RECORDS_PER_FILE);
        const json = Buffer.from(`{"Records":[${chunk.map((e) => e.record).join(",")}]}`);
        const key = logFileKey(t, region, now, account);
        const { writes: w } = s3.storage.putObject(bucket.name, key, gzipSync(json), now, { contentType: "application/json" });
        writes.push(...w);
        delivered = true;
        if (t.logFileValidationEnabled) {
          const times = chunk.map((e) => e.eventTimeMs);
          const file: PendingLogFile = {
            s3Bucket: bucket.name,
            s3Object: key,
            hashValue: createHash("sha256").update(json).digest("hex"),
            hashAlgorithm: "SHA-256",
            newestEventTime: isoSeconds(new Date(Math.max(...times))),
            oldestEventTime: isoSeconds(new Date(Math.min(...times))),
          };
          this.chain(t, chain, nowMs).logFiles.push(file);
        }
      }
    }
    if (delivered) {
      t.latestDeliveryMs = nowMs;
      t.latestDeliveryError = undefined;
    }
    return writes;
  }

  /** The digest chain of a delivering region (and account); a new chain starts with the current digest period. */
  private chain(t: TrailState, key: string, nowMs: number): DigestChain {
    let c = t.digests[key];
    if (!c) t.digests[key] = c = { startMs: t.digests[homeChain(t)]?.startMs ?? t.startLoggingMs ?? nowMs, previous: null, logFiles: [] };
    return c;
  }

  /** Writes one signed digest per delivering region; `final` ends the chains (logging stopped). */
  deliverDigests(t: TrailState, nowMs: number, final = false): WriteOp[] {
    const writes: WriteOp[] = [];
    const s3 = s3Api(this.app);
    const bucket = s3?.bucket(t.s3BucketName);
    if (!s3 || !bucket) {
      t.latestDigestDeliveryError = "NoSuchBucket";
      return writes;
    }
    if (!t.digests[homeChain(t)]) this.chain(t, homeChain(t), t.startLoggingMs ?? nowMs);
    let delivered = false;
    for (const [chain, c] of Object.entries(t.digests)) {
      const { account, region } = chainParts(t, chain);
      // Digest keys carry the end time to the second: never reuse the previous one's.
      const endMs = Math.max(Math.floor(nowMs / 1000) * 1000, Math.floor(c.startMs / 1000) * 1000 + 1000);
      if (final && c.logFiles.length === 0 && c.previous && Math.floor(c.startMs / 1000) * 1000 >= Math.floor(nowMs / 1000) * 1000) continue;
      const end = new Date(endMs);
      const key = digestFileKey(t, region, end, account);
      const { key: signingKey, privateKey, writes: keyWrites } = this.keys.current(region, nowMs);
      writes.push(...keyWrites);
      const times = c.logFiles
        .flatMap((f) => [f.newestEventTime, f.oldestEventTime])
        .filter((x): x is string => x !== null)
        .sort();
      const digest = {
        awsAccountId: account,
        digestStartTime: isoSeconds(new Date(c.startMs)),
        digestEndTime: isoSeconds(end),
        digestS3Bucket: bucket.name,
        digestS3Object: key,
        digestPublicKeyFingerprint: signingKey.fingerprint,
        digestSignatureAlgorithm: "SHA256withRSA",
        newestEventTime: times.length ? times[times.length - 1] : null,
        oldestEventTime: times.length ? times[0] : null,
        previousDigestS3Bucket: c.previous?.bucket ?? null,
        previousDigestS3Object: c.previous?.key ?? null,
        previousDigestHashValue: c.previous?.hash ?? null,
        previousDigestHashAlgorithm: c.previous ? "SHA-256" : null,
        previousDigestSignature: c.previous?.signature ?? null,
        logFiles: c.logFiles,
      };
      const json = Buffer.from(JSON.stringify(digest));
      const signature = signDigest(digestSigningString(digest, json), privateKey);
      const { writes: w } = s3.storage.putObject(bucket.name, key, gzipSync(json), end, {
        contentType: "application/json",
        metadata: { signature, "signature-algorithm": "SHA256withRSA" },
      });
      writes.push(...w);
      delivered = true;
      c.previous = { bucket: bucket.name, key, hash: createHash("sha256").update(json).digest("hex"), signature };
      c.startMs = endMs;
      c.logFiles = [];
    }
    if (final) t.digests = {};
    if (delivered) {
      t.latestDigestDeliveryMs = nowMs;
      t.latestDigestDeliveryError = undefined;
    }
    return writes;
  }

  /** Logging stops (StopLogging, DeleteTrail, validation turned off): deliver what is pending, then the final digest. */
  finish(t: TrailState, nowMs: number): WriteOp[] {
    const writes = this.deliverLogs(t, nowMs);
    if (t.logFileValidationEnabled) writes.push(...this.deliverDigests(t, nowMs, true));
    else t.digests = {};
    return writes;
  }
}
