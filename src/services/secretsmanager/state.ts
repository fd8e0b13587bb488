/**
 * Secrets Manager's records and lookups: a secret (name, ARN with its six random characters,
 * description, KMS key, tags, resource policy, deletion date) and its versions, each value
 * sealed under a data key of the secret's KMS key (values.ts). Lookups are scoped to the
 * caller's account and the request's Region; a full ARN of another account is resolved so that
 * its resource policy can decide (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html).
 */
import { randomInt } from "node:crypto";
import type { Tag } from "@aws-sdk/client-secrets-manager";
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { WriteOp } from "../../store/store.ts";

export const KIND_SECRET = "secretsmanager.secret";

export interface SecretVersionRecord {
  id: string;
  stages: string[];
  createdDate: Date;
  lastAccessedDate?: Date;
  /** the KMS key ARN the data key was generated under */
  kmsKeyArn: string;
  /** the data key as KMS returned it (CiphertextBlob) */
  encryptedDataKey: Buffer;
  /** iv ‖ tag ‖ AES-256-GCM ciphertext of the value under the data key */
  sealed: Buffer;
  binary: boolean;
}

export interface SecretRecord {
  arn: string;
  name: string;
  accountId: string;
  region: string;
  description?: string;
  /** as the caller gave it (key ID, ARN or alias); undefined: the AWS managed key aws/secretsmanager */
  kmsKeyId?: string;
  createdDate: Date;
  lastChangedDate: Date;
  lastAccessedDate?: Date;
  /** set while the secret is scheduled for deletion: when it will be deleted */
  deletedDate?: Date;
  tags: Tag[];
  policy?: string;
  versions: SecretVersionRecord[];
}

export const err = {
  notFound: () => new ServiceError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.", 400),
  versionNotFound: (what: string) => new ServiceError("ResourceNotFoundException", `Secrets Manager can't find the specified secret value for ${what}`, 400),
  markedForDeletion: () => new ServiceError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.", 400),
  invalidParameter: (m: string) => new ServiceError("InvalidParameterException", m, 400),
  invalidRequest: (m: string) => new ServiceError("InvalidRequestException", m, 400),
  exists: (m: string) => new ServiceError("ResourceExistsException", m, 400),
  accessDeniedKms: () => new ServiceError("AccessDeniedException", "Access to KMS is not allowed", 400),
  encryptionFailure: (detail: string) =>
    new ServiceError(
      "EncryptionFailure",
      `Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state. (${detail})`,
      400,
    ),
  decryptionFailure: (detail: string) =>
    new ServiceError("DecryptionFailure", `Secrets Manager can't decrypt the protected secret text using the provided KMS key. (${detail})`, 400),
  limit: (m: string) => new ServiceError("LimitExceededException", m, 400),
};

const SUFFIX_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
export const SECRET_ARN_RE = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):(\d{12}):secret:(.+)$/;

export function newSecretArn(region: string, accountId: string, name: string): string {
  let suffix = "";
  for (let i = 0; i < 6; i++) suffix += SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)];
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${name}-${suffix}`;
}

function scopeKey(accountId: string, region: string, name: string): string {
  return `${accountId}|${region}|${name}`;
}

/** What a SecretId names: the secret (if any) and the ARN authorization is checked on. */
export interface SecretTarget {
  secret?: SecretRecord;
  /** the secret's ARN, or the ARN the caller named when nothing is there */
  arn: string;
  accountId: string;
}

export class SecretsState {
  readonly byArn = new Map<string, SecretRecord>();
  private readonly byName = new Map<string, string>();

  constructor(readonly app: AppContext) {}

  load(): void {
    for (const s of this.app.store.all<SecretRecord>(KIND_SECRET)) this.remember(s);
  }

  private remember(s: SecretRecord): void {
    this.byArn.set(s.arn, s);
    this.byName.set(scopeKey(s.accountId, s.region, s.name), s.arn);
  }

  byNameIn(accountId: string, region: string, name: string): SecretRecord | undefined {
    const arn = this.byName.get(scopeKey(accountId, region, name));
    return arn ? this.byArn.get(arn) : undefined;
  }

  /** Keeps a changed secret in memory; the returned op writes it with the call. */
  save(s: SecretRecord): WriteOp {
    this.remember(s);
    return this.app.store.put(KIND_SECRET, s.arn, s);
  }

  remove(s: SecretRecord): WriteOp {
    this.byArn.delete(s.arn);
    this.byName.delete(scopeKey(s.accountId, s.region, s.name));
    return this.app.store.del(KIND_SECRET, s.arn);
  }

  /**
   * A SecretId (name, full ARN or partial ARN without the random suffix) in the caller's account
   * and the request's Region; a full ARN of another account in the same Region names that account's secret.
   */
  target(ctx: RequestContext, secretId: string): SecretTarget {
    const account = ctx.principal.accountId;
    const m = SECRET_ARN_RE.exec(secretId);
    if (!m) {
      const secret = this.byNameIn(account, ctx.region, secretId);
      return { secret, arn: secret?.arn ?? `arn:aws:secretsmanager:${ctx.region}:${account}:secret:${secretId}`, accountId: account };
    }
    const [, region, owner, rest] = m;
    if (region !== ctx.region) return { arn: secretId, accountId: owner };
    const exact = this.byArn.get(secretId);
    if (exact) return { secret: exact, arn: exact.arn, accountId: owner };
    const partial = this.byNameIn(owner, region, rest);
    return { secret: partial, arn: partial?.arn ?? secretId, accountId: owner };
  }

  /** Every secret of one account and Region. */
  inScope(accountId: string, region: string): SecretRecord[] {
    const out: SecretRecord[] = [];
    for (const s of this.byArn.values()) if (s.accountId === accountId && s.region === region) out.push(s);
    return out;
  }
}

/** The version a stage or id names (AWSCURRENT when neither). */
export function findVersion(s: SecretRecord, versionId?: string, stage?: string): SecretVersionRecord {
  if (versionId !== undefined) {
    const v = s.versions.find((x) => x.id === versionId);
    if (!v) throw err.versionNotFound(`VersionId: ${versionId}`);
    if (stage !== undefined && !v.stages.includes(stage)) throw err.invalidRequest(`The version ${versionId} does not have the staging label ${stage}.`);
    return v;
  }
  const label = stage ?? "AWSCURRENT";
  const v = s.versions.find((x) => x.stages.includes(label));
  if (!v) throw err.versionNotFound(`staging label: ${label}`);
  return v;
}

/** VersionIdsToStages as DescribeSecret and ListSecrets return it (versions with stages only). */
export function versionsToStages(s: SecretRecord): Record<string, string[]> | undefined {
  const out: Record<string, string[]> = {};
  for (const v of s.versions) if (v.stages.length) out[v.id] = [...v.stages];
  return Object.keys(out).length ? out : undefined;
}

/** The date part of a time: AWS reports LastAccessedDate to the day. */
export function dayOf(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}
