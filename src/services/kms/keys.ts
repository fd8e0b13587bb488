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
import type { OperationDef, RequestContext } from "../types.ts";
import { javaDate, serviceEvent, setKeyResources, type Kms } from "./core.ts";
import { checkGrantTokens } from "./grants.ts";
import { resolveKeyUsage } from "./crypto/asymmetric.ts";
import { algorithmsFor, generateMaterial, sealMaterial } from "./material.ts";
import { indexPageOf, pageOf } from "./paging.ts";
import { defaultKeyPolicy, iamCheck, keyCheck, lockoutCheck, validateKeyPolicy, type Ctx } from "./policy.ts";
import { resolveKey, scopeOf } from "./resolve.ts";
import { checkKeyState, err, isEnabled, keyArn, kmsScope, type KeyRecord, type MaterialRecord } from "./state.ts";

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

/** KeyMetadata as DescribeKey/CreateKey return it. */
export function keyMetadata(key: KeyRecord): KeyMetadata {
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
    KeyManager: "CUSTOMER",
    CustomerMasterKeySpec: key.keySpec as KeyMetadata["CustomerMasterKeySpec"],
    KeySpec: key.keySpec,
    ...alg,
    MultiRegion: key.multiRegion,
    MultiRegionConfiguration: key.multiRegion
      ? { MultiRegionKeyType: "PRIMARY", PrimaryKey: { Arn: key.arn, Region: key.region }, ReplicaKeys: [] }
      : undefined,
  };
  if (key.keySpec === "SYMMETRIC_DEFAULT" && key.currentMaterialId && key.state !== "PendingImport") {
    (md as KeyMetadata & { CurrentKeyMaterialId?: string }).CurrentKeyMaterialId = key.currentMaterialId;
  }
  return md;
}

/** CloudTrail's lowerCamel keyMetadata for CreateKey (dates in KMS's Java style). */
function trailKeyMetadata(key: KeyRecord): Record<string, unknown> {
  const md = keyMetadata(key);
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
  };
}

function createKeySettings(input: CreateKeyRequest): { spec: KeySpec; usage: KeyUsageType; origin: "AWS_KMS" | "EXTERNAL" } {
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
  for (const m of key.materials) st.openMaterial.delete(m.id);
  st.keys.delete(key.arn);
  writes.push(...serviceEvent(kms.app, key, "DeleteKey", at));
  return writes;
}

/** DueRunner work: keys whose deletion date has passed are deleted. */
export async function runDueDeletions(kms: Kms, nowMs: number): Promise<void> {
  for (const key of [...kms.state.keys.values()]) {
    if (key.state !== "PendingDeletion" || !key.deletionDate || key.deletionDate.getTime() > nowMs) continue;
    const writes = deleteKeyNow(kms, key, key.deletionDate);
    await kms.app.store.commit(writes);
  }
}

function ownKey(kms: Kms, ctx: RequestContext, keyId: string, aliases = false): KeyRecord {
  return resolveKey(kms.state, scopeOf(ctx), keyId, { aliases }).key;
}

export function keyOperations(kms: Kms): Record<string, OperationDef> {
  const { state } = kms;

  function save(ctx: RequestContext, key: KeyRecord): void {
    state.keys.set(key.arn, key);
    ctx.writes.push(kms.putKey(key));
  }

  return {
    CreateKey: {
      readOnly: false,
      authorize(_ctx, input: CreateKeyRequest) {
        const { spec, usage, origin } = createKeySettings(input);
        validateTags(input.Tags);
        return iamCheck("CreateKey", {
          "kms:KeySpec": spec,
          "kms:KeyUsage": usage,
          "kms:KeyOrigin": origin,
          "kms:MultiRegion": input.MultiRegion ?? false,
          "kms:BypassPolicyLockoutSafetyCheck": input.BypassPolicyLockoutSafetyCheck ?? false,
          ...requestTagContext(input.Tags),
        });
      },
      async handler(ctx, input: CreateKeyRequest): Promise<CreateKeyResponse> {
        const { spec, usage, origin } = createKeySettings(input);
        validateTags(input.Tags);
        const accountId = ctx.principal.accountId;
        const multiRegion = input.MultiRegion ?? false;
        const keyId = newKeyId(multiRegion);
        const arn = keyArn(ctx.region, accountId, keyId);
        let policy = defaultKeyPolicy(accountId);
        if (input.Policy !== undefined) {
          validateKeyPolicy(input.Policy);
          if (!input.BypassPolicyLockoutSafetyCheck) lockoutCheck(ctx, { arn, accountId }, input.Policy);
          policy = input.Policy;
        }
        const key: KeyRecord = {
          keyId,
          arn,
          accountId,
          region: ctx.region,
          creationDate: ctx.now,
          description: input.Description ?? "",
          keyUsage: usage,
          keySpec: spec,
          origin,
          state: origin === "EXTERNAL" ? "PendingImport" : "Enabled",
          multiRegion,
          policy,
          tags: (input.Tags ?? []).map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })),
          materials: [],
          rotationEnabled: false,
          onDemandRotations: 0,
        };
        if (origin === "AWS_KMS") {
          const m = await freshMaterial(kms, key, ctx.now);
          key.materials.push(m);
          key.currentMaterialId = m.id;
        }
        save(ctx, key);
        setKeyResources(ctx, key);
        return { KeyMetadata: keyMetadata(key) };
      },
      requestParameters: (input: CreateKeyRequest) => {
        const spec = input.KeySpec ?? input.CustomerMasterKeySpec ?? "SYMMETRIC_DEFAULT";
        return {
          ...(input.Policy !== undefined ? { policy: input.Policy } : {}),
          description: input.Description ?? "",
          keyUsage: input.KeyUsage ?? "ENCRYPT_DECRYPT",
          customerMasterKeySpec: spec,
          keySpec: spec,
          origin: input.Origin ?? "AWS_KMS",
          bypassPolicyLockoutSafetyCheck: input.BypassPolicyLockoutSafetyCheck ?? false,
          ...(input.Tags ? { tags: input.Tags.map((t) => ({ tagKey: t.TagKey, tagValue: t.TagValue })) } : {}),
          ...(input.MultiRegion !== undefined ? { multiRegion: input.MultiRegion } : {}),
        };
      },
      responseElements: (out: CreateKeyResponse) => {
        const key = state.keys.get(out.KeyMetadata!.Arn!);
        return key ? { keyMetadata: trailKeyMetadata(key) } : null;
      },
    },

    DescribeKey: {
      readOnly: true,
      authorize(ctx, input: DescribeKeyRequest) {
        checkGrantTokens(input.GrantTokens);
        const r = resolveKey(state, scopeOf(ctx), input.KeyId!, { aliases: true });
        return keyCheck(ctx, state, r.key, "DescribeKey", { alias: r.alias, grantOperation: "DescribeKey" });
      },
      handler(ctx, input: DescribeKeyRequest): DescribeKeyResponse {
        const key = ownKey(kms, ctx, input.KeyId!, true);
        setKeyResources(ctx, key);
        return { KeyMetadata: keyMetadata(key) };
      },
    },

    ListKeys: {
      readOnly: true,
      authorize: () => iamCheck("ListKeys"),
      handler(ctx, input: ListKeysRequest): ListKeysResponse {
        const page = indexPageOf(state.keys.index("byCreation"), kmsScope(ctx.principal.accountId, ctx.region), input.Limit, input.Marker, 100);
        return { Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), NextMarker: page.NextMarker, Truncated: page.Truncated };
      },
    },

    UpdateKeyDescription: {
      authorize(ctx, input: UpdateKeyDescriptionRequest) {
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "UpdateKeyDescription");
      },
      handler(ctx, input: UpdateKeyDescriptionRequest) {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "notPendingDeletion");
        save(ctx, { ...key, description: input.Description! });
        return {};
      },
    },

    TagResource: {
      authorize(ctx, input: TagResourceRequest) {
        validateTags(input.Tags);
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "TagResource", { context: requestTagContext(input.Tags) });
      },
      handler(ctx, input: TagResourceRequest) {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "notPendingDeletion");
        save(ctx, { ...key, tags: mergeTags(KMS_TAG_RULES, key.tags, input.Tags ?? []) });
        return {};
      },
    },

    UntagResource: {
      authorize(ctx, input: UntagResourceRequest) {
        checkTagKeys(KMS_TAG_RULES, input.TagKeys);
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "UntagResource", { context: input.TagKeys?.length ? { "aws:TagKeys": [...input.TagKeys] } : {} });
      },
      handler(ctx, input: UntagResourceRequest) {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "notPendingDeletion");
        save(ctx, { ...key, tags: removeTags(KMS_TAG_RULES, key.tags, input.TagKeys ?? []) });
        return {};
      },
    },

    ListResourceTags: {
      readOnly: true,
      authorize(ctx, input: ListResourceTagsRequest) {
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "ListResourceTags");
      },
      handler(ctx, input: ListResourceTagsRequest): ListResourceTagsResponse {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        if (input.Limit !== undefined && input.Limit > 50) {
          throw err.validation(`1 validation error detected: Value '${input.Limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50`);
        }
        const sorted = [...key.tags].sort((a, b) => (a.TagKey! < b.TagKey! ? -1 : 1));
        const page = pageOf(sorted, (t) => t.TagKey!, input.Limit, input.Marker, 50);
        return { Tags: page.items.map((t) => ({ TagKey: t.TagKey, TagValue: t.TagValue })), NextMarker: page.NextMarker, Truncated: page.Truncated };
      },
    },

    EnableKey: {
      authorize(ctx, input: EnableKeyRequest) {
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "EnableKey");
      },
      handler(ctx, input: EnableKeyRequest) {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "enableDisable");
        if (key.state !== "Enabled") save(ctx, { ...key, state: "Enabled" });
        return {};
      },
    },

    DisableKey: {
      authorize(ctx, input: DisableKeyRequest) {
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "DisableKey");
      },
      handler(ctx, input: DisableKeyRequest) {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "enableDisable");
        if (key.state !== "Disabled") save(ctx, { ...key, state: "Disabled" });
        return {};
      },
    },

    ScheduleKeyDeletion: {
      authorize(ctx, input: ScheduleKeyDeletionRequest) {
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "ScheduleKeyDeletion", {
          context: { "kms:ScheduleKeyDeletionPendingWindowInDays": input.PendingWindowInDays ?? 30 },
        });
      },
      handler(ctx, input: ScheduleKeyDeletionRequest): ScheduleKeyDeletionResponse {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        const days = input.PendingWindowInDays ?? 30;
        if (days < 7 || days > 30) throw err.validation(`PendingWindowInDays should be between 7 and 30, but it is ${days}`);
        checkKeyState(key, "notPendingDeletion");
        const deletionDate = new Date(ctx.now.getTime() + days * DAY_MS);
        save(ctx, { ...key, state: "PendingDeletion", deletionDate, pendingWindowInDays: days });
        return { KeyId: key.arn, DeletionDate: deletionDate, KeyState: "PendingDeletion", PendingWindowInDays: days };
      },
      requestParameters: (input: ScheduleKeyDeletionRequest) => ({ keyId: input.KeyId, pendingWindowInDays: input.PendingWindowInDays ?? 30 }),
      responseElements: (out: ScheduleKeyDeletionResponse) => ({
        keyId: out.KeyId,
        keyState: out.KeyState,
        deletionDate: javaDate(out.DeletionDate!),
        pendingWindowInDays: out.PendingWindowInDays,
      }),
    },

    CancelKeyDeletion: {
      authorize(ctx, input: CancelKeyDeletionRequest) {
        return keyCheck(ctx, state, ownKey(kms, ctx, input.KeyId!), "CancelKeyDeletion");
      },
      handler(ctx, input: CancelKeyDeletionRequest): CancelKeyDeletionResponse {
        const key = ownKey(kms, ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "cancelDeletion");
        // imported material that expired or was deleted while pending deletion: back to PendingImport
        const hasMaterial = key.origin !== "EXTERNAL" || key.materials.some((m) => m.importState === "IMPORTED");
        save(ctx, { ...key, state: hasMaterial ? "Disabled" : "PendingImport", deletionDate: undefined, pendingWindowInDays: undefined });
        return { KeyId: key.arn };
      },
      responseElements: (out: CancelKeyDeletionResponse) => ({ keyId: out.KeyId }),
    },
  };
}
