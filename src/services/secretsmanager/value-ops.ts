/**
 * Values: GetSecretValue, PutSecretValue, BatchGetSecretValue, ListSecretVersionIds,
 * UpdateSecretVersionStage (https://docs.aws.amazon.com/secretsmanager/latest/apireference/).
 * Each read asks KMS to decrypt the version's data key as the caller through Secrets Manager.
 */
import { randomUUID } from "node:crypto";
import type {
  APIErrorType,
  BatchGetSecretValueRequest,
  BatchGetSecretValueResponse,
  GetSecretValueRequest,
  GetSecretValueResponse,
  ListSecretVersionIdsRequest,
  ListSecretVersionIdsResponse,
  PutSecretValueRequest,
  PutSecretValueResponse,
  SecretValueEntry,
  UpdateSecretVersionStageRequest,
  UpdateSecretVersionStageResponse,
} from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { pageList } from "../../store/paging.ts";
import { anyResourceCheck, checkOneValue, live, secretCheck } from "./checks.ts";
import { checkFilters, filtered, pageOfSecrets, resolveTarget, SECRETS_TOKENS, valueOf } from "./secret-ops.ts";
import { dayOf, err, findVersion, type SecretRecord, type SecretTarget, type SecretsState } from "./state.ts";
import { callerOf, openVersion, sealVersion } from "./values.ts";
import { addVersion, checkRequestToken, moveStage } from "./versions.ts";

function getSecretValueOperation(state: SecretsState) {
  return defineOperation<GetSecretValueRequest, GetSecretValueResponse, SecretTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTarget(state, ctx, i.SecretId!),
    authorize: (_ctx, i, t) => [secretCheck("GetSecretValue", t, { "secretsmanager:VersionId": i.VersionId, "secretsmanager:VersionStage": i.VersionStage })],
    handler: async function getSecretValue(ctx, i, t) {
      const s = live(t);
      const v = findVersion(s, i.VersionId, i.VersionStage);
      const value = await openVersion(ctx.app, ctx.principal, ctx.region, s, v);
      const today = dayOf(ctx.now);
      if (v.lastAccessedDate?.getTime() !== today.getTime()) {
        const current = state.byArn.get(s.arn);
        if (current) {
          const next: SecretRecord = { ...current, lastAccessedDate: today, versions: current.versions.map((x) => (x.id === v.id ? { ...x, lastAccessedDate: today } : x)) };
          ctx.writes.push(state.save(next));
        }
      }
      return {
        ARN: s.arn,
        Name: s.name,
        VersionId: v.id,
        ...(value.binary ? { SecretBinary: value.binary } : { SecretString: value.string }),
        VersionStages: [...v.stages],
        CreatedDate: v.createdDate,
      };
    },
  });
}

function putSecretValueOperation(state: SecretsState) {
  return defineOperation<PutSecretValueRequest, PutSecretValueResponse, SecretTarget>({
    resolve(ctx, i) {
      checkOneValue(i);
      if (i.SecretString === undefined && i.SecretBinary === undefined) throw err.invalidParameter("You must provide either SecretString or SecretBinary.");
      return resolveTarget(state, ctx, i.SecretId!);
    },
    authorize: (_ctx, _i, t) => [secretCheck("PutSecretValue", t)],
    handler: async function putSecretValue(ctx, i, t) {
      const s = live(t);
      const versionId = i.ClientRequestToken ?? randomUUID();
      const stages = i.VersionStages ?? ["AWSCURRENT"];
      if (await checkRequestToken(ctx, s, versionId, valueOf(i))) {
        const v = s.versions.find((x) => x.id === versionId)!;
        return { ARN: s.arn, Name: s.name, VersionId: versionId, VersionStages: [...v.stages] };
      }
      const sealed = await sealVersion(ctx.app, callerOf(ctx), s, versionId, valueOf(i), stages, ctx.now);
      // the record as it is now: another call may have changed or deleted it while KMS answered
      const current = state.byArn.get(s.arn);
      if (!current) throw err.notFound();
      if (current.deletedDate) throw err.markedForDeletion();
      const next: SecretRecord = { ...current, versions: current.versions.map((v) => ({ ...v, stages: [...v.stages] })), lastChangedDate: ctx.now };
      addVersion(next, sealed);
      ctx.writes.push(state.save(next));
      return { ARN: s.arn, Name: s.name, VersionId: versionId, VersionStages: [...sealed.stages] };
    },
    audit: {
      requestParameters: (i) => ({ secretId: i.SecretId, clientRequestToken: i.ClientRequestToken, versionStages: i.VersionStages }),
    },
  });
}

function listSecretVersionIdsOperation(state: SecretsState) {
  return defineOperation<ListSecretVersionIdsRequest, ListSecretVersionIdsResponse, SecretTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTarget(state, ctx, i.SecretId!),
    authorize: (_ctx, _i, t) => [secretCheck("ListSecretVersionIds", t)],
    handler: function listSecretVersionIds(_ctx, i, t) {
      const s = live(t);
      const versions = s.versions.filter((v) => i.IncludeDeprecated || v.stages.length);
      let page;
      try {
        page = pageList(SECRETS_TOKENS, versions, (v, n) => `${String(n).padStart(4, "0")}|${v.id}`, i.NextToken, i.MaxResults ?? 100);
      } catch {
        throw err.invalidParameter("Invalid NextToken.");
      }
      return {
        ARN: s.arn,
        Name: s.name,
        Versions: page.items.map((v) => ({
          VersionId: v.id,
          VersionStages: [...v.stages],
          CreatedDate: v.createdDate,
          ...(v.lastAccessedDate ? { LastAccessedDate: v.lastAccessedDate } : {}),
          KmsKeyIds: [v.kmsKeyArn],
        })),
        ...(page.next ? { NextToken: page.next } : {}),
      };
    },
  });
}

function updateSecretVersionStageOperation(state: SecretsState) {
  return defineOperation<UpdateSecretVersionStageRequest, UpdateSecretVersionStageResponse, SecretTarget>({
    resolve: (ctx, i) => resolveTarget(state, ctx, i.SecretId!),
    authorize: (_ctx, i, t) => [secretCheck("UpdateSecretVersionStage", t, { "secretsmanager:VersionStage": i.VersionStage })],
    handler: function updateSecretVersionStage(ctx, i, t) {
      const s = live(t);
      const next: SecretRecord = { ...s, versions: s.versions.map((v) => ({ ...v, stages: [...v.stages] })), lastChangedDate: ctx.now };
      const stage = i.VersionStage!;
      const holder = next.versions.find((v) => v.stages.includes(stage));
      if (i.RemoveFromVersionId !== undefined && !next.versions.some((v) => v.id === i.RemoveFromVersionId)) throw err.versionNotFound(`VersionId: ${i.RemoveFromVersionId}`);
      const to = i.MoveToVersionId !== undefined ? next.versions.find((v) => v.id === i.MoveToVersionId) : undefined;
      if (i.MoveToVersionId !== undefined && !to) throw err.versionNotFound(`VersionId: ${i.MoveToVersionId}`);
      if (i.RemoveFromVersionId !== undefined && holder?.id !== i.RemoveFromVersionId) {
        throw err.invalidParameter(`The staging label ${stage} is not attached to version ${i.RemoveFromVersionId}.`);
      }
      if (holder && holder !== to && i.RemoveFromVersionId === undefined) {
        throw err.invalidParameter(
          `The staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
        );
      }
      if (!to && stage === "AWSCURRENT") throw err.invalidParameter("You can't remove the staging label AWSCURRENT from a version without moving it to another version.");
      if (to) {
        const limit = to.stages.includes(stage) ? 20 : 19;
        if (to.stages.length > limit) throw err.limit("A version can have at most 20 staging labels.");
      }
      moveStage(next, stage, to);
      ctx.writes.push(state.save(next));
      return { ARN: s.arn, Name: s.name };
    },
  });
}

/** The SDK's error codes for one secret of a batch. */
function batchError(secretId: string, e: ServiceError): APIErrorType {
  return { SecretId: secretId, ErrorCode: e.code, Message: e.message };
}

function batchGetSecretValueOperation(state: SecretsState) {
  return defineOperation<BatchGetSecretValueRequest, BatchGetSecretValueResponse, undefined>({
    readOnly: true,
    resolve(_ctx, i) {
      if (i.SecretIdList && i.Filters) throw err.invalidParameter("Either 'SecretIdList' or 'Filters' must be provided, but not both.");
      if (!i.SecretIdList && !i.Filters) throw err.invalidParameter("Either 'SecretIdList' or 'Filters' must be provided.");
      if (i.SecretIdList && i.MaxResults !== undefined) throw err.invalidParameter("'MaxResults' is only valid with 'Filters'.");
      checkFilters(i.Filters);
      return undefined;
    },
    authorize: () => [anyResourceCheck("BatchGetSecretValue")],
    handler: async function batchGetSecretValue(ctx, i) {
      let ids: string[];
      let next: string | undefined;
      if (i.SecretIdList) {
        ids = [...new Set(i.SecretIdList)];
      } else {
        const page = pageOfSecrets(filtered(state, ctx, i.Filters, false, "asc"), i.NextToken, i.MaxResults ?? 20, "asc");
        ids = page.items.map((s) => s.arn);
        next = page.next;
      }
      // each secret is read with GetSecretValue as the caller: its own authorization, KMS call and CloudTrail record
      const values: SecretValueEntry[] = [];
      const errors: APIErrorType[] = [];
      for (const id of ids) {
        try {
          const out = await ctx.app.invoke<GetSecretValueResponse>(
            "secretsmanager",
            "GetSecretValue",
            { SecretId: id },
            { principal: ctx.principal, region: ctx.region, sourceIp: ctx.sourceIp, userAgent: ctx.userAgent },
          );
          values.push({
            ARN: out.ARN,
            Name: out.Name,
            VersionId: out.VersionId,
            SecretString: out.SecretString,
            SecretBinary: out.SecretBinary,
            VersionStages: out.VersionStages,
            CreatedDate: out.CreatedDate,
          });
        } catch (e) {
          if (!(e instanceof ServiceError)) throw e;
          errors.push(batchError(id, e));
        }
      }
      return { SecretValues: values, Errors: errors, ...(next ? { NextToken: next } : {}) };
    },
  });
}

export function valueOperations(state: SecretsState) {
  return {
    GetSecretValue: getSecretValueOperation(state),
    PutSecretValue: putSecretValueOperation(state),
    ListSecretVersionIds: listSecretVersionIdsOperation(state),
    UpdateSecretVersionStage: updateSecretVersionStageOperation(state),
    BatchGetSecretValue: batchGetSecretValueOperation(state),
  };
}
