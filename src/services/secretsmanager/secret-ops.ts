/**
 * Secrets: CreateSecret, DescribeSecret, UpdateSecret, DeleteSecret (recovery window on the
 * service clock, or ForceDeleteWithoutRecovery), RestoreSecret, ListSecrets, TagResource,
 * UntagResource. AWS's behaviour: https://docs.aws.amazon.com/secretsmanager/latest/apireference/
 * (one page per operation) and docs/secrets.md.
 */
import { randomUUID } from "node:crypto";
import type {
  CreateSecretRequest,
  CreateSecretResponse,
  DeleteSecretRequest,
  DeleteSecretResponse,
  DescribeSecretRequest,
  DescribeSecretResponse,
  Filter,
  ListSecretsRequest,
  ListSecretsResponse,
  RestoreSecretRequest,
  RestoreSecretResponse,
  SecretListEntry,
  TagResourceRequest,
  UntagResourceRequest,
  UpdateSecretRequest,
  UpdateSecretResponse,
} from "@aws-sdk/client-secrets-manager";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type CloudTrailResource } from "../../kernel/operation.ts";
import { mergeTags, removeTags } from "../../kernel/tags.ts";
import { pageList, type PageTokens } from "../../store/paging.ts";
import { anyResourceCheck, checkName, checkOneValue, checkSecretTagKeys, checkSecretTags, existing, live, requestTags, SECRETS_TAG_RULES, secretCheck } from "./checks.ts";
import { err, newSecretArn, versionsToStages, type SecretRecord, type SecretTarget, type SecretVersionRecord, type SecretsState } from "./state.ts";
import { callerOf, openVersion, sealVersion } from "./values.ts";
import { addVersion, checkRequestToken } from "./versions.ts";

const DAY_MS = 86_400_000;

export const SECRETS_TOKENS: PageTokens = { prefix: "lfsm1:", invalid: () => new InvalidNextToken(), resume: "after" };

class InvalidNextToken extends Error {}

export function secretResource(arn: string, accountId: string): CloudTrailResource[] {
  return [{ ARN: arn, accountId, type: "AWS::SecretsManager::Secret" }];
}

/** The secret's CloudTrail resource from `resolve` on (also for refused calls). */
function naming(ctx: RequestContext, t: SecretTarget): SecretTarget {
  ctx.audit.resources = secretResource(t.arn, t.accountId);
  return t;
}

export function resolveTarget(state: SecretsState, ctx: RequestContext, secretId: string): SecretTarget {
  return naming(ctx, state.target(ctx, secretId));
}

/** CreateSecret's name as it resolves now, and the ARN the new secret will have (authorized before it exists). */
interface NewSecret {
  existing?: SecretRecord;
  arn: string;
}

function createSecretOperation(state: SecretsState) {
  return defineOperation<CreateSecretRequest, CreateSecretResponse, NewSecret>({
    resolve(ctx, i) {
      checkName(i.Name!);
      checkOneValue(i);
      refuseExternalType(i);
      checkSecretTags(i.Tags);
      if (i.AddReplicaRegions?.length) throw err.invalidParameter("Replicating secrets to other Regions is not supported by localfargate (docs/secrets.md).");
      return { existing: state.byNameIn(ctx.principal.accountId, ctx.region, i.Name!), arn: newSecretArn(ctx.region, ctx.principal.accountId, i.Name!) };
    },
    authorize: (ctx, i, { arn }) => [
      secretCheck(
        "CreateSecret",
        { arn, accountId: ctx.principal.accountId },
        { "secretsmanager:Name": i.Name, "secretsmanager:KmsKeyId": i.KmsKeyId, "secretsmanager:Description": i.Description, ...requestTags(i.Tags) },
      ),
    ],
    handler: async function createSecret(ctx, i, { existing, arn }) {
      // the SDK's retry of a CreateSecret that succeeded: same token, same value
      if (existing && !existing.deletedDate && i.ClientRequestToken && (i.SecretString !== undefined || i.SecretBinary !== undefined)) {
        if (await checkRequestToken(ctx, existing, i.ClientRequestToken, valueOf(i))) return { ARN: existing.arn, Name: existing.name, VersionId: i.ClientRequestToken };
      }
      if (existing) {
        if (existing.deletedDate) throw err.invalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.");
        throw err.exists(`The operation failed because the secret ${i.Name} already exists.`);
      }
      const accountId = ctx.principal.accountId;
      const secret: SecretRecord = {
        arn,
        name: i.Name!,
        accountId,
        region: ctx.region,
        description: i.Description,
        kmsKeyId: i.KmsKeyId || undefined,
        createdDate: ctx.now,
        lastChangedDate: ctx.now,
        tags: (i.Tags ?? []).map((x) => ({ Key: x.Key, Value: x.Value ?? "" })),
        versions: [],
      };
      let versionId: string | undefined;
      if (i.SecretString !== undefined || i.SecretBinary !== undefined) {
        versionId = i.ClientRequestToken ?? randomUUID();
        const v = await sealVersion(ctx.app, callerOf(ctx), secret, versionId, valueOf(i), ["AWSCURRENT"], ctx.now);
        secret.versions.push(v);
      }
      // another call may have created the name while KMS answered
      if (state.byNameIn(accountId, ctx.region, secret.name)) throw err.exists(`The operation failed because the secret ${i.Name} already exists.`);
      ctx.writes.push(state.save(secret));
      ctx.audit.resources = secretResource(arn, accountId);
      return { ARN: arn, Name: secret.name, ...(versionId ? { VersionId: versionId } : {}) };
    },
    audit: {
      requestParameters: (i) => ({ name: i.Name, clientRequestToken: i.ClientRequestToken, description: i.Description, kmsKeyId: i.KmsKeyId, tags: i.Tags }),
      responseElements: (o) => ({ aRN: o.ARN, name: o.Name, ...(o.VersionId ? { versionId: o.VersionId } : {}) }),
    },
  });
}

export function valueOf(i: { SecretString?: string; SecretBinary?: Uint8Array }) {
  return i.SecretBinary !== undefined ? { binary: Buffer.from(i.SecretBinary) } : { string: i.SecretString };
}

export function describe(s: SecretRecord): DescribeSecretResponse {
  return {
    ARN: s.arn,
    Name: s.name,
    ...(s.description !== undefined ? { Description: s.description } : {}),
    ...(s.kmsKeyId ? { KmsKeyId: s.kmsKeyId } : {}),
    RotationEnabled: false,
    LastChangedDate: s.lastChangedDate,
    ...(s.lastAccessedDate ? { LastAccessedDate: s.lastAccessedDate } : {}),
    ...(s.deletedDate ? { DeletedDate: s.deletedDate } : {}),
    ...(s.tags.length ? { Tags: s.tags.map((t) => ({ Key: t.Key, Value: t.Value })) } : {}),
    ...(versionsToStages(s) ? { VersionIdsToStages: versionsToStages(s) } : {}),
    CreatedDate: s.createdDate,
  };
}

function describeSecretOperation(state: SecretsState) {
  return defineOperation<DescribeSecretRequest, DescribeSecretResponse, SecretTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTarget(state, ctx, i.SecretId!),
    authorize: (_ctx, _i, t) => [secretCheck("DescribeSecret", t)],
    handler: function describeSecret(_ctx, _i, t) {
      return describe(existing(t));
    },
  });
}

function updateSecretOperation(state: SecretsState) {
  return defineOperation<UpdateSecretRequest, UpdateSecretResponse, SecretTarget>({
    resolve(ctx, i) {
      checkOneValue(i);
      refuseExternalType(i);
      return resolveTarget(state, ctx, i.SecretId!);
    },
    authorize: (_ctx, i, t) => [secretCheck("UpdateSecret", t, { "secretsmanager:KmsKeyId": i.KmsKeyId, "secretsmanager:Description": i.Description })],
    handler: async function updateSecret(ctx, i, t) {
      const s = live(t);
      const kmsKeyId = i.KmsKeyId === undefined ? s.kmsKeyId : i.KmsKeyId || undefined;
      const rekey = kmsKeyId !== s.kmsKeyId;
      // the KMS work first; the changes then apply to the record as it is after it
      const reencrypted = new Map<string, SecretVersionRecord>();
      if (rekey) {
        for (const v of s.versions) {
          if (!v.stages.length) continue;
          const value = await openVersion(ctx.app, ctx.principal, ctx.region, s, v);
          reencrypted.set(v.id, await sealVersion(ctx.app, callerOf(ctx), { ...s, kmsKeyId }, v.id, value, v.stages, v.createdDate));
        }
      }
      let versionId: string | undefined;
      let added: SecretVersionRecord | undefined;
      if (i.SecretString !== undefined || i.SecretBinary !== undefined) {
        versionId = i.ClientRequestToken ?? randomUUID();
        const repeat = await checkRequestToken(ctx, s, versionId, valueOf(i));
        if (!repeat) added = await sealVersion(ctx.app, callerOf(ctx), { ...s, kmsKeyId }, versionId, valueOf(i), ["AWSCURRENT"], ctx.now);
      }
      const current = state.byArn.get(s.arn);
      if (!current) throw err.notFound();
      if (current.deletedDate) throw err.markedForDeletion();
      const next: SecretRecord = {
        ...current,
        kmsKeyId,
        lastChangedDate: ctx.now,
        versions: current.versions.map((v) => {
          const re = reencrypted.get(v.id);
          return re ? { ...re, stages: [...v.stages], lastAccessedDate: v.lastAccessedDate } : { ...v, stages: [...v.stages] };
        }),
      };
      if (i.Description !== undefined) next.description = i.Description;
      if (added) addVersion(next, added);
      ctx.writes.push(state.save(next));
      return { ARN: s.arn, Name: s.name, ...(versionId ? { VersionId: versionId } : {}) };
    },
    audit: {
      requestParameters: (i) => ({ secretId: i.SecretId, clientRequestToken: i.ClientRequestToken, description: i.Description, kmsKeyId: i.KmsKeyId }),
    },
  });
}

function deleteSecretOperation(state: SecretsState) {
  return defineOperation<DeleteSecretRequest, DeleteSecretResponse, SecretTarget>({
    resolve(ctx, i) {
      if (i.ForceDeleteWithoutRecovery && i.RecoveryWindowInDays !== undefined) {
        throw err.invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
      }
      if (i.RecoveryWindowInDays !== undefined && (i.RecoveryWindowInDays < 7 || i.RecoveryWindowInDays > 30)) {
        throw err.invalidParameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
      }
      return resolveTarget(state, ctx, i.SecretId!);
    },
    authorize: (_ctx, _i, t) => [secretCheck("DeleteSecret", t)],
    handler: function deleteSecret(ctx, i, t) {
      const s = existing(t);
      if (i.ForceDeleteWithoutRecovery) {
        ctx.writes.push(state.remove(s));
        return { ARN: s.arn, Name: s.name, DeletionDate: ctx.now };
      }
      if (s.deletedDate) throw err.markedForDeletion();
      const deletedDate = new Date(ctx.now.getTime() + (i.RecoveryWindowInDays ?? 30) * DAY_MS);
      ctx.writes.push(state.save({ ...s, deletedDate }));
      return { ARN: s.arn, Name: s.name, DeletionDate: deletedDate };
    },
  });
}

function restoreSecretOperation(state: SecretsState) {
  return defineOperation<RestoreSecretRequest, RestoreSecretResponse, SecretTarget>({
    resolve: (ctx, i) => resolveTarget(state, ctx, i.SecretId!),
    authorize: (_ctx, _i, t) => [secretCheck("RestoreSecret", t)],
    handler: function restoreSecret(ctx, _i, t) {
      const s = existing(t);
      if (s.deletedDate) {
        const { deletedDate: _gone, ...rest } = s;
        ctx.writes.push(state.save({ ...rest, lastChangedDate: ctx.now }));
      }
      return { ARN: s.arn, Name: s.name };
    },
  });
}

/** One ListSecrets filter: any of its values matches (prefix; "!" negates); all filters must match. */
function matchesFilter(s: SecretRecord, f: Filter): boolean {
  const fields = (key: string): string[] => {
    switch (key) {
      case "name":
        return [s.name];
      case "description":
        return [s.description ?? ""];
      case "tag-key":
        return s.tags.map((t) => t.Key!);
      case "tag-value":
        return s.tags.map((t) => t.Value ?? "");
      case "primary-region":
        return [];
      case "owning-service":
        return [];
      default:
        return [s.name, s.description ?? "", ...s.tags.map((t) => t.Key!), ...s.tags.map((t) => t.Value ?? "")];
    }
  };
  const values = fields(f.Key!);
  return (f.Values ?? []).some((raw) => {
    const negate = raw.startsWith("!");
    const v = negate ? raw.slice(1) : raw;
    const hit = f.Key === "all" ? values.some((x) => x.toLowerCase().startsWith(v.toLowerCase())) : values.some((x) => x.startsWith(v));
    return negate ? !hit : hit;
  });
}

export function checkFilters(filters: Filter[] | undefined): void {
  for (const f of filters ?? []) {
    if (!f.Values?.length) throw err.invalidParameter(`Invalid filter values for key: ${f.Key}`);
    if (f.Values.length > 10) throw err.invalidParameter("You can specify up to 10 values for each filter.");
  }
  if ((filters?.length ?? 0) > 10) throw err.invalidParameter("You can specify up to 10 filters.");
}

/**
 * The newer model's Type names the partner holding a managed external secret; localfargate has
 * no partner integrations (docs/secrets.md), so a secret with one is refused, not made plain.
 */
function refuseExternalType(i: object): void {
  const type = (i as { Type?: string }).Type;
  if (type !== undefined) throw err.invalidParameter(`Managed external secrets (Type ${type}) are not supported by localfargate.`);
}

/** ListSecrets' SortBy (the newer model): what the list is ordered by, CreatedDate when absent. */
export type SortBy = "created-date" | "last-accessed-date" | "last-changed-date" | "name";

function sortValue(s: SecretRecord, by: SortBy): number | string {
  if (by === "name") return s.name;
  if (by === "last-changed-date") return s.lastChangedDate.getTime();
  if (by === "last-accessed-date") return s.lastAccessedDate?.getTime() ?? 0;
  return s.createdDate.getTime();
}

export function filtered(
  state: SecretsState,
  ctx: RequestContext,
  filters: Filter[] | undefined,
  includeDeleted: boolean,
  order: "asc" | "desc",
  by: SortBy = "created-date",
): SecretRecord[] {
  const items = state.inScope(ctx.principal.accountId, ctx.region).filter((s) => (includeDeleted || !s.deletedDate) && (filters ?? []).every((f) => matchesFilter(s, f)));
  const sign = order === "desc" ? -1 : 1;
  items.sort((a, b) => {
    const x = sortValue(a, by);
    const y = sortValue(b, by);
    return sign * (x < y ? -1 : x > y ? 1 : 0) || (a.arn < b.arn ? -1 : 1);
  });
  return items;
}

/**
 * A unique key in list order: the creation time (inverted for desc), then the ARN; for another
 * SortBy, the place in the list.
 */
function sortKey(order: "asc" | "desc", by: SortBy) {
  if (by !== "created-date") return (_s: SecretRecord, index: number) => String(index).padStart(10, "0");
  return (s: SecretRecord) => {
    const ms = s.createdDate.getTime();
    return `${String(order === "desc" ? 1e15 - ms : ms).padStart(16, "0")}|${s.arn}`;
  };
}

export function pageOfSecrets(items: SecretRecord[], token: string | undefined, limit: number, order: "asc" | "desc", by: SortBy = "created-date") {
  try {
    return pageList(SECRETS_TOKENS, items, sortKey(order, by), token, limit);
  } catch (e) {
    if (e instanceof InvalidNextToken) throw err.invalidParameter("Invalid NextToken.");
    throw e;
  }
}

function listSecretsOperation(state: SecretsState) {
  return defineOperation<ListSecretsRequest, ListSecretsResponse, undefined>({
    readOnly: true,
    authorize: () => [anyResourceCheck("ListSecrets")],
    handler: function listSecrets(ctx, i) {
      checkFilters(i.Filters);
      const order = i.SortOrder ?? "asc";
      const by = (i as { SortBy?: SortBy }).SortBy ?? "created-date";
      const page = pageOfSecrets(filtered(state, ctx, i.Filters, i.IncludePlannedDeletion ?? false, order, by), i.NextToken, i.MaxResults ?? 100, order, by);
      const list: SecretListEntry[] = page.items.map((s) => {
        const { VersionIdsToStages, ...d } = describe(s);
        return { ...d, ...(VersionIdsToStages ? { SecretVersionsToStages: VersionIdsToStages } : {}) };
      });
      return { SecretList: list, ...(page.next ? { NextToken: page.next } : {}) };
    },
  });
}

function tagResourceOperation(state: SecretsState) {
  return defineOperation<TagResourceRequest, Record<string, never>, SecretTarget>({
    resolve(ctx, i) {
      checkSecretTags(i.Tags);
      return resolveTarget(state, ctx, i.SecretId!);
    },
    authorize: (_ctx, i, t) => [secretCheck("TagResource", t, requestTags(i.Tags))],
    handler: function tagResource(ctx, i, t) {
      const s = live(t);
      const tags = mergeTags(SECRETS_TAG_RULES, s.tags, i.Tags ?? []);
      ctx.writes.push(state.save({ ...s, tags, lastChangedDate: ctx.now }));
      return {};
    },
  });
}

function untagResourceOperation(state: SecretsState) {
  return defineOperation<UntagResourceRequest, Record<string, never>, SecretTarget>({
    resolve(ctx, i) {
      checkSecretTagKeys(i.TagKeys);
      return resolveTarget(state, ctx, i.SecretId!);
    },
    authorize: (_ctx, i, t) => [secretCheck("UntagResource", t, { "aws:TagKeys": i.TagKeys })],
    handler: function untagResource(ctx, i, t) {
      const s = live(t);
      ctx.writes.push(state.save({ ...s, tags: removeTags(SECRETS_TAG_RULES, s.tags, i.TagKeys ?? []), lastChangedDate: ctx.now }));
      return {};
    },
  });
}

/** DueRunner work: secrets whose recovery window has passed are deleted for good. */
export async function runDueSecretDeletions(state: SecretsState, nowMs: number): Promise<void> {
  const due = [...state.byArn.values()].filter((s) => s.deletedDate && s.deletedDate.getTime() <= nowMs);
  if (due.length) await state.app.store.commit(due.map((s) => state.remove(s)));
}

export function secretOperations(state: SecretsState) {
  return {
    CreateSecret: createSecretOperation(state),
    DescribeSecret: describeSecretOperation(state),
    UpdateSecret: updateSecretOperation(state),
    DeleteSecret: deleteSecretOperation(state),
    RestoreSecret: restoreSecretOperation(state),
    ListSecrets: listSecretsOperation(state),
    TagResource: tagResourceOperation(state),
    UntagResource: untagResourceOperation(state),
  };
}
