/**
 * Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. An alias names one customer
 * managed key in its account and region; alias operations need permission on the alias (IAM
 * policy) and on the key(s) (key policy).
 */
import type { AliasListEntry, CreateAliasRequest, DeleteAliasRequest, ListAliasesRequest, ListAliasesResponse, UpdateAliasRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { namingKeys, type Kms, type NoOutput } from "./core.ts";
import { pageOf } from "./paging.ts";
import { pageWithPredefined } from "./predefined-aliases.ts";
import { iamCheck, keyCheck } from "./key-policy.ts";
import { keyOf } from "./resolve.ts";
import { aliasArn, checkKeyState, err, kmsScope, type AliasRecord, type KeyRecord } from "./state.ts";

export const ALIAS_PREFIX_MESSAGE = 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';

/** AWS's alias naming rules (the pattern and length are checked by the input shapes). */
export function validateAliasName(name: string): void {
  if (!name.startsWith("alias/")) throw err.validation(ALIAS_PREFIX_MESSAGE);
  if (name === "alias/") throw new ServiceError("InvalidAliasNameException", "Alias name must have at least one character after the prefix alias/.", 400);
  if (name.startsWith("alias/aws/")) {
    throw new ServiceError("InvalidAliasNameException", "Alias names that begin with alias/aws/ are reserved for AWS managed keys.", 400);
  }
}

/**
 * The API model's pattern admits ':' (so alias ARNs pass elsewhere), but a new alias name may hold
 * only letters, digits, '/', '_' and '-' (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html).
 */
function validateNewAliasCharacters(name: string): void {
  if (!/^[a-zA-Z0-9/_-]+$/.test(name)) throw err.validation(`${name} contains invalid characters for an alias`);
}

function lookupAlias(kms: Kms, ctx: RequestContext, name: string): AliasRecord {
  validateAliasName(name);
  const arn = aliasArn(ctx.region, ctx.principal.accountId, name);
  const a = kms.state.aliases.get(arn);
  if (!a) throw err.aliasNotFound(arn);
  return a;
}

function targetKey(kms: Kms, ctx: RequestContext, targetKeyId: string): KeyRecord {
  // an alias and its key live in the same account (no cross-account use: cross-account.ts)
  return keyOf(kms.state, ctx, targetKeyId, { aliases: false }).key;
}

/** KMS keys of the same type and usage may share an alias across UpdateAlias. */
function keyClass(k: KeyRecord): string {
  const family = k.keySpec === "SYMMETRIC_DEFAULT" ? "SYMMETRIC" : k.keySpec.startsWith("HMAC_") ? "HMAC" : "ASYMMETRIC";
  return `${family}/${k.keyUsage}`;
}

/** An alias and the key it names (UpdateAlias: `next` is the key it is to name). */
interface ResolvedAlias {
  alias: AliasRecord;
  /** the key the alias names now (absent only if that key is gone) */
  current?: KeyRecord;
}

function createAliasOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<CreateAliasRequest, NoOutput, { key: KeyRecord }>({
    resolve(ctx, i) {
      validateAliasName(i.AliasName!);
      validateNewAliasCharacters(i.AliasName!);
      const key = targetKey(kms, ctx, i.TargetKeyId!);
      return namingKeys(ctx, { key }, key);
    },
    authorize: (ctx, i, { key }) => [iamCheck("CreateAlias", undefined, aliasArn(ctx.region, ctx.principal.accountId, i.AliasName!)), keyCheck(ctx, state, key, "CreateAlias")],
    handler: function createAlias(ctx, i, { key }) {
      checkKeyState(key, "notPendingDeletion");
      const arn = aliasArn(ctx.region, ctx.principal.accountId, i.AliasName!);
      if (state.aliases.has(arn)) throw new ServiceError("AlreadyExistsException", `An alias with the name ${arn} already exists`, 400);
      const a: AliasRecord = {
        aliasName: i.AliasName!,
        aliasArn: arn,
        accountId: ctx.principal.accountId,
        region: ctx.region,
        targetKeyArn: key.arn,
        creationDate: ctx.now,
        lastUpdatedDate: ctx.now,
      };
      state.aliases.set(arn, a);
      ctx.writes.push(kms.putAlias(a));
      return {};
    },
  });
}

function updateAliasOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<UpdateAliasRequest, NoOutput, ResolvedAlias & { next: KeyRecord }>({
    resolve(ctx, i) {
      const alias = lookupAlias(kms, ctx, i.AliasName!);
      const current = state.keys.get(alias.targetKeyArn);
      const next = targetKey(kms, ctx, i.TargetKeyId!);
      return namingKeys(ctx, { alias, current, next }, current, next);
    },
    authorize(ctx, _i, { alias, current, next }) {
      const checks = [iamCheck("UpdateAlias", undefined, alias.aliasArn), keyCheck(ctx, state, next, "UpdateAlias")];
      if (current) checks.push(keyCheck(ctx, state, current, "UpdateAlias"));
      return checks;
    },
    handler: function updateAlias(ctx, _i, { alias, current, next }) {
      checkKeyState(next, "notPendingDeletion");
      if (current && keyClass(current) !== keyClass(next)) {
        throw err.validation(
          `Alias ${alias.aliasArn} cannot be changed from a ${keyClass(current).replace("/", " key with key usage ")} to a ${keyClass(next).replace("/", " key with key usage ")}.`,
        );
      }
      const updated: AliasRecord = { ...alias, targetKeyArn: next.arn, lastUpdatedDate: ctx.now };
      state.aliases.set(alias.aliasArn, updated);
      ctx.writes.push(kms.putAlias(updated));
      return {};
    },
  });
}

function deleteAliasOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<DeleteAliasRequest, NoOutput, ResolvedAlias>({
    resolve(ctx, i) {
      const alias = lookupAlias(kms, ctx, i.AliasName!);
      const current = state.keys.get(alias.targetKeyArn);
      return namingKeys(ctx, { alias, current }, current);
    },
    authorize(ctx, _i, { alias, current }) {
      const checks = [iamCheck("DeleteAlias", undefined, alias.aliasArn)];
      if (current) checks.push(keyCheck(ctx, state, current, "DeleteAlias"));
      return checks;
    },
    handler: function deleteAlias(ctx, _i, { alias }) {
      state.aliases.delete(alias.aliasArn);
      ctx.writes.push(kms.delAlias(alias.aliasArn));
      return {};
    },
  });
}

function listAliasesOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ListAliasesRequest, ListAliasesResponse>({
    readOnly: true,
    authorize: () => [iamCheck("ListAliases")],
    handler: function listAliases(ctx, i) {
      if (i.Limit !== undefined && i.Limit > 100) {
        throw err.validation(`1 validation error detected: Value '${i.Limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100`);
      }
      const entry = (a: AliasRecord): AliasListEntry => ({
        AliasName: a.aliasName,
        AliasArn: a.aliasArn,
        TargetKeyId: a.targetKeyArn.slice(a.targetKeyArn.indexOf(":key/") + 5),
        CreationDate: a.creationDate,
        LastUpdatedDate: a.lastUpdatedDate,
      });
      if (i.KeyId !== undefined) {
        // no cross-account use: another account's key ARN is not found, as a missing key is (resolve.ts)
        const { key } = keyOf(state, ctx, i.KeyId, { aliases: false });
        const page = pageOf(state.aliases.forKey(key.arn), (a) => a.aliasName, i.Limit, i.Marker, 50);
        return { Aliases: page.items.map(entry), NextMarker: page.NextMarker, Truncated: page.Truncated };
      }
      const { accountId } = ctx.principal;
      const page = pageWithPredefined(state.aliases.index("byName"), kmsScope(accountId, ctx.region), accountId, ctx.region, i.Limit ?? 50, i.Marker);
      const Aliases = page.items.map((a) => ("record" in a ? entry(a.record) : a.predefined));
      return { Aliases, NextMarker: page.NextMarker, Truncated: page.Truncated };
    },
  });
}

export function aliasOperations(kms: Kms) {
  return {
    CreateAlias: createAliasOperation(kms),
    UpdateAlias: updateAliasOperation(kms),
    DeleteAlias: deleteAliasOperation(kms),
    ListAliases: listAliasesOperation(kms),
  };
}
