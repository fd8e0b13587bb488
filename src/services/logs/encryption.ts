/**
 * Log groups under customer managed keys, as CloudWatch Logs does it
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/logs/encrypt-log-data-kms.html):
 * the service principal logs.<region>.amazonaws.com asks KMS for a data key with the encryption
 * context `aws:logs:arn` = the log group's ARN, so the key policy must allow that principal (and
 * may pin the context); events are sealed with the data key (AES-256-GCM) before they are stored.
 * The KMS calls go through app.invoke: the key policy authorizes them and CloudTrail records them.
 *
 * A plaintext data key stays in memory only, and for five minutes of service time at most (the
 * delay AWS documents for a key change to take effect); after that, or after a restart, it is
 * decrypted again through KMS, so a key policy that stops allowing CloudWatch Logs takes effect.
 * The key's state is checked on every read and write: a disabled, pending-deletion or deleted key
 * refuses them at once.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import { servicePrincipal } from "../../auth/principal.ts";
import type { AppContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { resolveKeyForEcs } from "../kms/index.ts";
import { keyRefused } from "./errors.ts";
import type { DataKeyRecord, GroupRecord } from "./state.ts";

export const ENCRYPTION_CONTEXT_KEY = "aws:logs:arn";
const DATA_KEY_LIFETIME_MS = 5 * 60 * 1000;
const KEY_ARN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;

export interface Sealed {
  iv: string;
  tag: string;
  data: string;
}

export class LogKeys {
  private readonly plaintext = new Map<string, { key: Buffer; untilMs: number }>();

  constructor(private readonly app: AppContext) {}

  private caller(group: GroupRecord) {
    return { principal: servicePrincipal(`logs.${group.region}.amazonaws.com`, group.accountId, "logs.amazonaws.com"), region: group.region };
  }

  /** Refuses a key that is not a key ARN in the group's Region, or is not Enabled. */
  checkUsable(group: GroupRecord, keyArn: string): void {
    const m = KEY_ARN.exec(keyArn);
    if (!m || m[1] !== group.region) throw keyRefused(group.arn);
    try {
      if (resolveKeyForEcs(this.app, m[2], m[1], keyArn).state !== "Enabled") throw keyRefused(group.arn);
    } catch (e) {
      if (e instanceof ServiceError) throw keyRefused(group.arn);
      throw e;
    }
  }

  /**
   * A new data key under `keyArn` for the group (GenerateDataKey as logs.<region>.amazonaws.com):
   * run when a key is associated, so a key the service may not use is refused then.
   */
  async newDataKey(group: GroupRecord, keyArn: string): Promise<DataKeyRecord> {
    this.checkUsable(group, keyArn);
    let out: { CiphertextBlob: Uint8Array; Plaintext: Uint8Array };
    try {
      out = await this.app.invoke("kms", "GenerateDataKey", { KeyId: keyArn, KeySpec: "AES_256", EncryptionContext: { [ENCRYPTION_CONTEXT_KEY]: group.arn } }, this.caller(group));
    } catch (e) {
      if (e instanceof ServiceError) throw keyRefused(group.arn);
      throw e;
    }
    const record: DataKeyRecord = { id: randomUUID(), keyArn, encrypted: Buffer.from(out.CiphertextBlob).toString("base64") };
    this.remember(record.id, Buffer.from(out.Plaintext));
    return record;
  }

  private remember(id: string, key: Buffer): void {
    this.plaintext.set(id, { key, untilMs: this.app.clock.nowMs() + DATA_KEY_LIFETIME_MS });
  }

  /** The plaintext of one of the group's data keys: from memory, or KMS Decrypt as the service. */
  async dataKey(group: GroupRecord, id: string): Promise<Buffer> {
    const rec = group.dataKeys.find((d) => d.id === id);
    if (!rec) throw keyRefused(group.arn);
    this.checkUsable(group, rec.keyArn);
    const cached = this.plaintext.get(id);
    if (cached && cached.untilMs > this.app.clock.nowMs()) return cached.key;
    let out: { Plaintext: Uint8Array };
    try {
      out = await this.app.invoke(
        "kms",
        "Decrypt",
        { KeyId: rec.keyArn, CiphertextBlob: Buffer.from(rec.encrypted, "base64"), EncryptionContext: { [ENCRYPTION_CONTEXT_KEY]: group.arn } },
        this.caller(group),
      );
    } catch (e) {
      if (e instanceof ServiceError) throw keyRefused(group.arn);
      throw e;
    }
    const key = Buffer.from(out.Plaintext);
    this.remember(id, key);
    return key;
  }

  forget(ids: Iterable<string>): void {
    for (const id of ids) this.plaintext.delete(id);
  }
}

/** AES-256-GCM with the batch's record id as AAD: a sealed batch cannot be moved to another record. */
export function seal(key: Buffer, aad: string, plaintext: Buffer): Sealed {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", key, iv);
  c.setAAD(Buffer.from(aad, "utf8"));
  const data = Buffer.concat([c.update(plaintext), c.final()]);
  return { iv: iv.toString("base64"), tag: c.getAuthTag().toString("base64"), data: data.toString("base64") };
}

export function open(key: Buffer, aad: string, s: Sealed): Buffer {
  const d = createDecipheriv("aes-256-gcm", key, Buffer.from(s.iv, "base64"));
  d.setAAD(Buffer.from(aad, "utf8"));
  d.setAuthTag(Buffer.from(s.tag, "base64"));
  return Buffer.concat([d.update(Buffer.from(s.data, "base64")), d.final()]);
}
