/**
 * Keys: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, TagResource, UntagResource,
 * ListResourceTags, EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion; the key
 * metadata AWS returns; and scheduled deletion when the window has passed.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type {
  CancelKeyDeletionRequest,
  CancelKeyDeletionResponse,
  CreateKeyRequest,
  CreateKeyResponse,
  DescribeKeyRequest,
  DescribeKeyResponse,
  DisableKeyRequest,
  EnableKeyRequest,
  KeyMetadata,
  KeySpec,
  KeyUsageType,
  ListKeysRequest,
  ListKeysResponse,
  ListResourceTagsRequest,
  ListResourceTagsResponse,
  ScheduleKeyDeletionRequest,
  ScheduleKeyDeletionResponse,
  Tag,
  TagResourceRequest,
  UntagResourceRequest,
  UpdateKeyDescriptionRequest,
} from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import { checkTagKeys, checkTags, mergeTags, removeTags, requestTagContext as sharedRequestTagContext, type TagRules } from "../../kernel/tags.ts";
import type { WriteOp } from "../../store/store.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { javaDate, keyResources, namingKeys, serviceEvent, type Kms, type NoOutput } from "./core.ts";
import { checkGrantTokens } from "./grants.ts";
import { awsManagedKeyToCreate, createAwsManagedKey } from "./aws-managed-keys.ts";
import { resolveKeyUsage } from "./crypto/asymmetric.ts";
import { algorithmsFor, generateMaterial, sealMaterial } from "./material.ts";
import { indexPageOf, pageOf } from "./paging.ts";
import { defaultKeyPolicy, iamCheck, keyCheck, lockoutCheck, validateKeyPolicy, type Ctx } from "./key-policy.ts";
import { namedKey, type Resolved } from "./resolve.ts";
import { multiRegionConfiguration, primaryOf, replicasOf } from "./multi-region.ts";
import { checkKeyState, err, isEnabled, keyArn, kmsScope, type KeyRecord, type KmsState, type MaterialRecord } from "./state.ts";

export const DAY_MS = 86_400_000;
export const MAX_TAGS = 50;

const tagError = (message: string) => () => new ServiceError("TagException", message, 400);

/** KMS's tag dialect on the shared tag rules (src/kernel/tags.ts); lengths are checked by the input shapes. */
export const KMS_TAG_RULES: TagRules<Tag> = {
  shape: { key: (t) => t.TagKey!, value: (t) => t.TagValue, make: (TagKey, TagValue) => ({ TagKey, TagValue: TagValue ?? "" }) },
  max: MAX_TAGS,
  requestCount: "last",
  errors: {
    tooMany: tagError("Too many tags"),
    reserved: tagError("Tags beginning with aws: are reserved"),
    duplicate: tagError("Duplicate tag keys"),
  },
};

/** AWS's tag rules for KMS keys. */
export function validateTags(tags: Tag[] | undefined): void {
  checkTags(KMS_TAG_RULES, tags);
}

export function requestTagContext(tags: Tag[] | undefined): Ctx {
  return sharedRequestTagContext(KMS_TAG_RULES, tags);
}

/** KeyMetadata as DescribeKey/CreateKey/ReplicateKey return it. */
export function keyMetadata(key: KeyRecord, state: KmsState): KeyMetadata {
  const alg = algorithmsFor(key.keySpec, key.keyUsage);
  const md: KeyMetadata = {
    AWSAccountId: key.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate,
    Enabled: isEnabled(key),
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    DeletionDate: key.state === "PendingDeletion" ? key.deletionDate : undefined,
    ValidTo: key.origin === "EXTERNAL" && key.expirationModel === "KEY_MATERIAL_EXPIRES" && key.state !== "PendingImport" ? key.validTo : undefined,
    Origin: key.origin,
    ExpirationModel: key.origin === "EXTERNAL" && key.state !== "PendingImport" ? key.expirationModel : undefined,
    KeyManager: key.keyManager ?? "CUSTOMER",
    CustomerMasterKeySpec: key.keySpec as KeyMetadata["CustomerMasterKeySpec"],
    KeySpec: key.keySpec,
    ...alg,
    MultiRegion: key.multiRegion,
    MultiRegionConfiguration: multiRegionConfiguration(state, key),
    PendingDeletionWindowInDays: key.state === "PendingReplicaDeletion" ? key.pendingWindowInDays : undefined,
  };
  if (key.keySpec === "SYMMETRIC_DEFAULT" && key.currentMaterialId && key.state !== "PendingImport") {
    (md as KeyMetadata & { CurrentKeyMaterialId?: string }).CurrentKeyMaterialId = key.currentMaterialId;
  }
  return md;
}

/** CloudTrail's lowerCamel keyMetadata for CreateKey (dates in KMS's Java style). */
export function trailKeyMetadata(key: KeyRecord, state: KmsState): Record<string, unknown> {
  const md = keyMetadata(key, state);
  return {
    AWSAccountId: md.AWSAccountId,
    keyId: md.KeyId,
    arn: md.Arn,
    creationDate: javaDate(key.creationDate),
    enabled: md.Enabled,
    description: md.Description,
    keyUsage: md.KeyUsage,
    keyState: md.KeyState,
    origin: md.Origin,
    keyManager: md.KeyManager,
    customerMasterKeySpec: md.CustomerMasterKeySpec,
    keySpec: md.KeySpec,
    ...(md.EncryptionAlgorithms ? { encryptionAlgorithms: md.EncryptionAlgorithms } : {}),
    ...(md.SigningAlgorithms ? { signingAlgorithms: md.SigningAlgorithms } : {}),
    ...(md.MacAlgorithms ? { macAlgorithms: md.MacAlgorithms } : {}),
    ...(md.KeyAgreementAlgorithms ? { keyAgreementAlgorithms: md.KeyAgreementAlgorithms } : {}),
    multiRegion: md.MultiRegion,
    ...(md.MultiRegionConfiguration ? { multiRegionConfiguration: trailMultiRegionConfiguration(md.MultiRegionConfiguration) } : {}),
  };
}

function trailMultiRegionConfiguration(c: NonNullable<KeyMetadata["MultiRegionConfiguration"]>): Record<string, unknown> {
  const key = (k: { Arn?: string; Region?: string } | undefined) => ({ arn: k?.Arn, region: k?.Region });
  return { multiRegionKeyType: c.MultiRegionKeyType, primaryKey: key(c.PrimaryKey), replicaKeys: (c.ReplicaKeys ?? []).map(key) };
}

/** What CreateKey makes, checked before it is authorized. */
interface CreateKeySettings {
  spec: KeySpec;
  usage: KeyUsageType;
  origin: "AWS_KMS" | "EXTERNAL";
}

function createKeySettings(input: CreateKeyRequest): CreateKeySettings {
  if (input.KeySpec && input.CustomerMasterKeySpec) {
    throw err.validation("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec parameter is deprecated. Use KeySpec only.");
  }
  const spec = (input.KeySpec ?? input.CustomerMasterKeySpec ?? "SYMMETRIC_DEFAULT") as KeySpec;
  if (spec === "SM2") throw new ServiceError("UnsupportedOperationException", "KeySpec SM2 is supported only in China Regions.", 400);
  const usage = resolveKeyUsage(spec, input.KeyUsage) as KeyUsageType;
  const origin = input.Origin ?? "AWS_KMS";
  if (origin === "AWS_CLOUDHSM" || origin === "EXTERNAL_KEY_STORE" || input.CustomKeyStoreId !== undefined || input.XksKeyId !== undefined) {
    if (input.CustomKeyStoreId === undefined) throw err.validation(`CustomKeyStoreId is required when Origin is ${origin}.`);
    throw new ServiceError("CustomKeyStoreNotFoundException", `Custom key store ${input.CustomKeyStoreId} does not exist in this account and region.`, 400);
  }
  return { spec, usage, origin: origin as "AWS_KMS" | "EXTERNAL" };
}

export function newKeyId(multiRegion: boolean): string {
  return multiRegion ? `mrk-${randomBytes(16).toString("hex")}` : randomUUID();
}

/** A fresh material version (sealed under the root key, bound to the key ARN and material id). */
export async function freshMaterial(kms: Kms, key: Pick<KeyRecord, "arn" | "keySpec">, now: Date, rotationType?: MaterialRecord["rotationType"]): Promise<MaterialRecord> {
  const raw = await generateMaterial(key.keySpec);
  return sealMaterial(kms.state, kms.sealer, key.arn, raw, now, rotationType ? { rotationType } : {});
}

/** Removes a key and everything that hangs off it (aliases, grants, import parameters). */
export function deleteKeyNow(kms: Kms, key: KeyRecord, at: Date): WriteOp[] {
  const st = kms.state;
  const writes: WriteOp[] = [kms.delKey(key.arn)];
  for (const a of st.aliasesForKey(key.arn)) {
    st.aliases.delete(a.aliasArn);
    writes.push(kms.delAlias(a.aliasArn));
  }
  for (const g of st.grantsForKey(key.arn)) {
    st.removeGrant(g);
    writes.push(kms.delGrant(g.grantId));
  }
  for (const p of [...st.importParams.values()]) {
    if (p.keyArn !== key.arn) continue;
    st.importParams.delete(p.tokenId);
    writes.push(kms.delImport(p.tokenId));
  }
  // the raw material stays cached while another Regional copy of a multi-Region key holds it
  if (!key.multiRegion) for (const m of key.materials) st.openMaterial.delete(m.id);
  st.keys.delete(key.arn);
  writes.push(...serviceEvent(kms.app, key, "DeleteKey", at));
  writes.push(...primaryAfterReplicaDeleted(kms, key, at));
  return writes;
}

/**
 * A primary scheduled for deletion while it had replicas (PendingReplicaDeletion) starts its
 * waiting period when the last replica is deleted (ScheduleKeyDeletion in the API reference).
 */
function primaryAfterReplicaDeleted(kms: Kms, deleted: KeyRecord, at: Date): WriteOp[] {
  if (!deleted.multiRegion) return [];
  const primary = primaryOf(kms.state, deleted);
  if (!primary || primary.state !== "PendingReplicaDeletion" || replicasOf(kms.state, primary).length > 0) return [];
  const days = primary.pendingWindowInDays ?? 30;
  const next: KeyRecord = { ...primary, state: "PendingDeletion", deletionDate: new Date(at.getTime() + days * DAY_MS) };
  kms.state.keys.set(next.arn, next);
  return [kms.putKey(next)];
}

/** DueRunner work: keys whose deletion date has passed are deleted. */
export async function runDueDeletions(kms: Kms, nowMs: number): Promise<void> {
  for (const arn of [...kms.state.keys.keys()]) {
    // as it is now: a CancelKeyDeletion may have run during an earlier key's commit
    const key = kms.state.keys.get(arn);
    if (!key || key.state !== "PendingDeletion" || !key.deletionDate || key.deletionDate.getTime() > nowMs) continue;
    const writes = deleteKeyNow(kms, key, key.deletionDate);
    await kms.app.store.commit(writes);
  }
}

function createKeyOperation(kms: Kms) {
  return defineOperation<CreateKeyRequest, CreateKeyResponse, CreateKeySettings>({
    readOnly: false,
    resolve(_ctx, i) {
      const settings = createKeySettings(i);
      validateTags(i.Tags);
      return settings;
    },
    authorize: (_ctx, i, { spec, usage, origin }) => [
      iamCheck("CreateKey", {
        "kms:KeySpec": spec,
        "kms:KeyUsage": usage,
        "kms:KeyOrigin": origin,
        "kms:MultiRegion": i.MultiRegion ?? false,
        "kms:BypassPolicyLockoutSafetyCheck": i.BypassPolicyLockoutSafetyCheck ?? false,
        ...requestTagContext(i.Tags),
      }),
    ],
    handler: async function createKey(ctx, i, { spec, usage, origin }) {
      const accountId = ctx.principal.accountId;
      const multiRegion = i.MultiRegion ?? false;
      const keyId = newKeyId(multiRegion);
      const arn = keyArn(ctx.region, accountId, keyId);
      let policy = defaultKeyPolicy(accountId);
      if (i.Policy !== undefined) {
        validateKeyPolicy(i.Policy);
        if (!i.BypassPolicyLockoutSafetyCheck) lockoutCheck(ctx, { arn, accountId }, i.Policy);
        policy = i.Policy;
      }
      const key: KeyRecord = {
        keyId,
        arn,
        accountId,
        region: ctx.region,
        creationDate: ctx.now,
        description: i.Description ?? "",
        keyUsage: usage,
        keySpec: spec,
        origin,
        state: origin === "EXTERNAL" ? "PendingImport" : "Enabled",
        multiRegion,
        policy,
        tags: (i.Tags ?? []).map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })),
        materials: [],
        rotationEnabled: false,
        onDemandRotations: 0,
      };
      if (origin === "AWS_KMS") {
        const m = await freshMaterial(kms, key, ctx.now);
        key.materials.push(m);
        key.currentMaterialId = m.id;
      }
      kms.saveKey(ctx, key);
      return { KeyMetadata: keyMetadata(key, kms.state) };
    },
    audit: {
      resources: (ctx, _i, _settings, out) => keyResources(ctx, [{ arn: out.KeyMetadata!.Arn!, accountId: out.KeyMetadata!.AWSAccountId! }]),
      requestParameters: (i) => {
        const spec = i.KeySpec ?? i.CustomerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
        return {
          ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
          description: i.Description ?? "",
          keyUsage: i.KeyUsage ?? "ENCRYPT_DECRYPT",
          customerMasterKeySpec: spec,
          keySpec: spec,
          origin: i.Origin ?? "AWS_KMS",
          bypassPolicyLockoutSafetyCheck: i.BypassPolicyLockoutSafetyCheck ?? false,
          ...(i.Tags ? { tags: i.Tags.map((t) => ({ tagKey: t.TagKey, tagValue: t.TagValue })) } : {}),
          ...(i.MultiRegion !== undefined ? { multiRegion: i.MultiRegion } : {}),
        };
      },
      responseElements: (out) => {
        const key = kms.state.keys.get(out.KeyMetadata!.Arn!);
        return key ? { keyMetadata: trailKeyMetadata(key, kms.state) } : null;
      },
    },
  });
}

function describeKeyOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<DescribeKeyRequest, DescribeKeyResponse, Resolved & { create?: { key: KeyRecord; aliasName: string } }>({
    readOnly: true,
    resolve(ctx, i) {
      checkGrantTokens(i.GrantTokens);
      // a predefined alias with no key yet: the AWS managed key it would name, created once authorized
      const create = awsManagedKeyToCreate(kms, ctx, i.KeyId!);
      if (create) return namingKeys(ctx, { key: create.key, alias: create.aliasName, create }, create.key);
      return namedKey(state, ctx, i.KeyId!, { aliases: true });
    },
    authorize: (ctx, _i, r) => [keyCheck(ctx, state, r.key, "DescribeKey", { alias: r.alias, grantOperation: "DescribeKey" })],
    handler: async function describeKey(ctx, _i, { key, create }) {
      const described = create ? await createAwsManagedKey(kms, ctx, create) : key;
      return { KeyMetadata: keyMetadata(described, state) };
    },
  });
}

function listKeysOperation(kms: Kms) {
  return defineOperation<ListKeysRequest, ListKeysResponse>({
    readOnly: true,
    authorize: () => [iamCheck("ListKeys")],
    handler: function listKeys(ctx, i) {
      const page = indexPageOf(kms.state.keys.index("byCreation"), kmsScope(ctx.principal.accountId, ctx.region), i.Limit, i.Marker, 100);
      return { Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), NextMarker: page.NextMarker, Truncated: page.Truncated };
    },
  });
}

function updateKeyDescriptionOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<UpdateKeyDescriptionRequest, NoOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "UpdateKeyDescription")],
    handler: function updateKeyDescription(ctx, i, { key }) {
      checkKeyState(key, "notPendingDeletion");
      kms.saveKey(ctx, { ...key, description: i.Description! });
      return {};
    },
  });
}

function tagResourceOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<TagResourceRequest, NoOutput, Resolved>({
    resolve(ctx, i) {
      validateTags(i.Tags);
      return namedKey(state, ctx, i.KeyId!, { aliases: false });
    },
    authorize: (ctx, i, { key }) => [keyCheck(ctx, state, key, "TagResource", { context: requestTagContext(i.Tags) })],
    handler: function tagResource(ctx, i, { key }) {
      checkKeyState(key, "notPendingDeletion");
      kms.saveKey(ctx, { ...key, tags: mergeTags(KMS_TAG_RULES, key.tags, i.Tags ?? []) });
      return {};
    },
  });
}

function untagResourceOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<UntagResourceRequest, NoOutput, Resolved>({
    resolve(ctx, i) {
      checkTagKeys(KMS_TAG_RULES, i.TagKeys);
      return namedKey(state, ctx, i.KeyId!, { aliases: false });
    },
    authorize: (ctx, i, { key }) => [keyCheck(ctx, state, key, "UntagResource", { context: i.TagKeys?.length ? { "aws:TagKeys": [...i.TagKeys] } : {} })],
    handler: function untagResource(ctx, i, { key }) {
      checkKeyState(key, "notPendingDeletion");
      kms.saveKey(ctx, { ...key, tags: removeTags(KMS_TAG_RULES, key.tags, i.TagKeys ?? []) });
      return {};
    },
  });
}

function listResourceTagsOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ListResourceTagsRequest, ListResourceTagsResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "ListResourceTags")],
    handler: function listResourceTags(_ctx, i, { key }) {
      if (i.Limit !== undefined && i.Limit > 50) {
        throw err.validation(`1 validation error detected: Value '${i.Limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50`);
      }
      const sorted = [...key.tags].sort((a, b) => (a.TagKey! < b.TagKey! ? -1 : 1));
      const page = pageOf(sorted, (t) => t.TagKey!, i.Limit, i.Marker, 50);
      return { Tags: page.items.map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })), NextMarker: page.NextMarker, Truncated: page.Truncated };
    },
  });
}

function enableKeyOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<EnableKeyRequest, NoOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "EnableKey")],
    handler: function enableKey(ctx, _i, { key }) {
      checkKeyState(key, "enableDisable");
      if (key.state !== "Enabled") kms.saveKey(ctx, { ...key, state: "Enabled" });
      return {};
    },
  });
}

function disableKeyOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<DisableKeyRequest, NoOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "DisableKey")],
    handler: function disableKey(ctx, _i, { key }) {
      checkKeyState(key, "enableDisable");
      if (key.state !== "Disabled") kms.saveKey(ctx, { ...key, state: "Disabled" });
      return {};
    },
  });
}

function scheduleKeyDeletionOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, i, { key }) => [keyCheck(ctx, state, key, "ScheduleKeyDeletion", { context: { "kms:ScheduleKeyDeletionPendingWindowInDays": i.PendingWindowInDays ?? 30 } })],
    handler: function scheduleKeyDeletion(ctx, i, { key }) {
      const days = i.PendingWindowInDays ?? 30;
      if (days < 7 || days > 30) throw err.validation(`PendingWindowInDays should be between 7 and 30, but it is ${days}`);
      checkKeyState(key, "notPendingDeletion");
      // a primary with replicas waits for them: its waiting period starts when the last is deleted
      if (key.multiRegion && primaryOf(state, key)?.arn === key.arn && replicasOf(state, key).length > 0) {
        kms.saveKey(ctx, { ...key, state: "PendingReplicaDeletion", deletionDate: undefined, pendingWindowInDays: days });
        return { KeyId: key.arn, KeyState: "PendingReplicaDeletion", PendingWindowInDays: days };
      }
      const deletionDate = new Date(ctx.now.getTime() + days * DAY_MS);
      kms.saveKey(ctx, { ...key, state: "PendingDeletion", deletionDate, pendingWindowInDays: days });
      return { KeyId: key.arn, DeletionDate: deletionDate, KeyState: "PendingDeletion", PendingWindowInDays: days };
    },
    audit: {
      requestParameters: (i) => ({ keyId: i.KeyId, pendingWindowInDays: i.PendingWindowInDays ?? 30 }),
      responseElements: (out) => ({
        keyId: out.KeyId,
        keyState: out.KeyState,
        ...(out.DeletionDate ? { deletionDate: javaDate(out.DeletionDate) } : {}),
        pendingWindowInDays: out.PendingWindowInDays,
      }),
    },
  });
}

function cancelKeyDeletionOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<CancelKeyDeletionRequest, CancelKeyDeletionResponse, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "CancelKeyDeletion")],
    handler: function cancelKeyDeletion(ctx, _i, { key }) {
      checkKeyState(key, "cancelDeletion");
      // imported material that expired or was deleted while pending deletion: back to PendingImport
      const hasMaterial = key.origin !== "EXTERNAL" || key.materials.some((m) => m.importState === "IMPORTED");
      kms.saveKey(ctx, { ...key, state: hasMaterial ? "Disabled" : "PendingImport", deletionDate: undefined, pendingWindowInDays: undefined });
      return { KeyId: key.arn };
    },
    audit: { responseElements: (out) => ({ keyId: out.KeyId }) },
  });
}

export function keyOperations(kms: Kms) {
  return {
    CreateKey: createKeyOperation(kms),
    DescribeKey: describeKeyOperation(kms),
    ListKeys: listKeysOperation(kms),
    UpdateKeyDescription: updateKeyDescriptionOperation(kms),
    TagResource: tagResourceOperation(kms),
    UntagResource: untagResourceOperation(kms),
    ListResourceTags: listResourceTagsOperation(kms),
    EnableKey: enableKeyOperation(kms),
    DisableKey: disableKeyOperation(kms),
    ScheduleKeyDeletion: scheduleKeyDeletionOperation(kms),
    CancelKeyDeletion: cancelKeyDeletionOperation(kms),
  };
}
