/**
 * Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
 * ListKeyRotations, and automatic rotation when the next rotation date passes on the service
 * clock (CloudTrail RotateKey service event). New material encrypts from then on; every earlier
 * version stays with the key so old ciphertexts keep decrypting. Rotation is a property of a
 * multi-Region primary key: its replicas take each new material and refuse the rotation settings.
 */
import type {
  DisableKeyRotationRequest,
  EnableKeyRotationRequest,
  GetKeyRotationStatusRequest,
  GetKeyRotationStatusResponse,
  ListKeyRotationsRequest,
  ListKeyRotationsResponse,
  RotateKeyOnDemandRequest,
  RotateKeyOnDemandResponse,
  RotationsListEntry,
} from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import type { WriteOp } from "../../store/store.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { serviceEvent, type Kms, type NoOutput } from "./core.ts";
import { DAY_MS, freshMaterial } from "./keys.ts";
import { dateKey, pageOf } from "./paging.ts";
import { keyCheck } from "./key-policy.ts";
import { namedKey, type Resolved } from "./resolve.ts";
import { checkKeyState, err, type KeyRecord, type KmsState, type MaterialRecord } from "./state.ts";
import { isReplica, multiRegionKeyType, replicasLacking, requirePrimary, syncReplicas } from "./multi-region.ts";
import { expiryOf, materialState, pendingMaterial, withMaterials } from "./imported-materials.ts";

export const DEFAULT_ROTATION_DAYS = 365;

/**
 * The rotated key: `m` becomes current. Material is made while other requests run, so callers add
 * it to the key as it is after that wait, never to their earlier copy: a change made meanwhile
 * (DisableKeyRotation, DisableKey, ScheduleKeyDeletion, PutKeyPolicy, ...) is kept.
 */
function withMaterial(key: KeyRecord, m: MaterialRecord): KeyRecord {
  return { ...key, materials: [...key.materials, m], currentMaterialId: m.id };
}

/** Material made for a rotation that no longer happens: its raw copy leaves the cache. */
function discard(kms: Kms, m: MaterialRecord): void {
  kms.state.openMaterial.delete(m.id);
}

/**
 * On-demand rotation of a key with imported material: the material imported as NEW_KEY_MATERIAL
 * (PENDING_ROTATION) becomes current, and the key's for good
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html).
 */
function toImportedMaterial(key: KeyRecord, at: Date): KeyRecord {
  const next = pendingMaterial(key);
  if (!next) {
    throw err.unsupported(`${key.arn} has no key material pending rotation. Import new key material with ImportType NEW_KEY_MATERIAL before rotating it on demand.`);
  }
  const materials = key.materials.map((m): MaterialRecord => (m.id === next.id ? { ...m, pendingRotation: undefined, rotationType: "ON_DEMAND", createdAt: at } : m));
  return withMaterials(key, materials, next.id);
}

/**
 * A multi-Region primary with imported material rotates on demand only once each replica has
 * imported the new material (ImportKeyMaterial in the API reference).
 */
function requireImportedEverywhere(state: KmsState, key: KeyRecord): void {
  const next = pendingMaterial(key);
  if (!next || multiRegionKeyType(key) !== "PRIMARY") return;
  const lacking = replicasLacking(state, key, next.id);
  if (lacking.length) {
    throw new ServiceError(
      "KMSInvalidStateException",
      `${key.arn} cannot rotate to key material ${next.id} until it is imported into every replica key: ${lacking.map((r) => r.arn).join(", ")}.`,
      400,
    );
  }
}

function lastRotation(key: KeyRecord): Date {
  let d = key.creationDate;
  for (const m of key.materials) if (m.createdAt > d) d = m.createdAt;
  return d;
}

/** Whether `key` rotates automatically now: rotation on, Enabled, not a replica, and its date has passed. */
function dueForRotation(key: KeyRecord | undefined, nowMs: number): key is KeyRecord & { nextRotationDate: Date } {
  // a replica rotates when its primary does (syncReplicas), never on its own
  return !!key && key.rotationEnabled && !!key.nextRotationDate && key.nextRotationDate.getTime() <= nowMs && key.state === "Enabled" && !isReplica(key);
}

/** DueRunner work: automatic rotations whose date has passed (only while the key is Enabled). */
export async function runDueRotations(kms: Kms, nowMs: number): Promise<void> {
  for (const arn of [...kms.state.keys.keys()]) {
    // as it is now: a request may have changed it during an earlier key's commit
    let key = kms.state.keys.get(arn);
    const writes: WriteOp[] = [];
    let rotated = false;
    while (dueForRotation(key, nowMs)) {
      const at: Date = key.nextRotationDate;
      const m = await freshMaterial(kms, key, at, "AUTOMATIC");
      // as it is after the wait: rotate it only if it still should, for the same date
      const now = kms.state.keys.get(arn);
      if (!dueForRotation(now, nowMs) || now.nextRotationDate.getTime() !== at.getTime()) {
        discard(kms, m);
        break;
      }
      key = { ...withMaterial(now, m), nextRotationDate: new Date(at.getTime() + (now.rotationPeriodInDays ?? DEFAULT_ROTATION_DAYS) * DAY_MS) };
      kms.state.keys.set(arn, key);
      rotated = true;
      writes.push(...serviceEvent(kms.app, key, "RotateKey", at, { keyId: key.keyId }));
    }
    // as it is now, with its rotations: a request may have changed it while a later material was made
    const latest = kms.state.keys.get(arn);
    if (!rotated || !latest) continue;
    await kms.app.store.commit([kms.putKey(latest), ...writes, ...syncReplicas(kms, latest)]);
  }
}

function enableKeyRotationOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<EnableKeyRotationRequest, NoOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, i, { key }) => [keyCheck(ctx, state, key, "EnableKeyRotation", { context: { "kms:RotationPeriodInDays": i.RotationPeriodInDays ?? DEFAULT_ROTATION_DAYS } })],
    handler: function enableKeyRotation(ctx, i, { key }) {
      const days = i.RotationPeriodInDays ?? DEFAULT_ROTATION_DAYS;
      if (days < 90 || days > 2560) {
        throw err.validation(
          `1 validation error detected: Value '${days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value ${days < 90 ? "greater than or equal to 90" : "less than or equal to 2560"}`,
        );
      }
      checkKeyState(key, "rotation");
      if (key.multiRegion) requirePrimary(key);
      // Already rotating: a new period counts from the last rotation (or creation).
      const base = key.rotationEnabled ? lastRotation(key) : ctx.now;
      let next = new Date(base.getTime() + days * DAY_MS);
      if (next < ctx.now) next = ctx.now;
      kms.saveKey(ctx, { ...key, rotationEnabled: true, rotationPeriodInDays: days, nextRotationDate: next });
      return {};
    },
  });
}

function disableKeyRotationOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<DisableKeyRotationRequest, NoOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "DisableKeyRotation")],
    handler: function disableKeyRotation(ctx, _i, { key }) {
      checkKeyState(key, "rotation");
      if (key.multiRegion) requirePrimary(key);
      kms.saveKey(ctx, { ...key, rotationEnabled: false, rotationPeriodInDays: undefined, nextRotationDate: undefined });
      return {};
    },
  });
}

function getKeyRotationStatusOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<GetKeyRotationStatusRequest, GetKeyRotationStatusResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "GetKeyRotationStatus")],
    handler: function getKeyRotationStatus(_ctx, _i, { key }) {
      checkKeyState(key, "rotationStatus");
      return {
        KeyRotationEnabled: key.rotationEnabled,
        KeyId: key.arn,
        RotationPeriodInDays: key.rotationEnabled ? key.rotationPeriodInDays : undefined,
        NextRotationDate: key.rotationEnabled ? key.nextRotationDate : undefined,
      };
    },
  });
}

/** RotateKeyOnDemand's refusals: key state, a replica, the per-key limit. */
function checkRotateOnDemand(kms: Kms, key: KeyRecord): void {
  checkKeyState(key, "rotateOnDemand");
  if (key.multiRegion) requirePrimary(key);
  if (key.onDemandRotations >= kms.options.onDemandRotationLimit) {
    throw new ServiceError(
      "LimitExceededException",
      `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`,
      400,
    );
  }
}

function rotateKeyOnDemandOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<RotateKeyOnDemandRequest, RotateKeyOnDemandResponse, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "RotateKeyOnDemand")],
    handler: async function rotateKeyOnDemand(ctx, _i, { key }) {
      checkRotateOnDemand(kms, key);
      if (key.origin === "EXTERNAL") {
        requireImportedEverywhere(state, key);
        kms.saveKey(ctx, { ...toImportedMaterial(key, ctx.now), onDemandRotations: key.onDemandRotations + 1 });
        return { KeyId: key.keyId };
      }
      const m = await freshMaterial(kms, key, ctx.now, "ON_DEMAND");
      // the key as it is after the wait, checked again: a request may have disabled, deleted or rotated it meanwhile
      const now = state.keys.get(key.arn);
      try {
        if (!now) throw err.notFoundKey(key.arn);
        checkRotateOnDemand(kms, now);
      } catch (e) {
        discard(kms, m);
        throw e;
      }
      kms.saveKey(ctx, { ...withMaterial(now, m), onDemandRotations: now.onDemandRotations + 1 });
      return { KeyId: now.keyId };
    },
  });
}

/** A multi-Region primary's new material is PENDING_MULTI_REGION_IMPORT_AND_ROTATION until every replica has imported it. */
function multiRegionMaterialState(state: KmsState, key: KeyRecord, m: MaterialRecord): RotationsListEntry["KeyMaterialState"] {
  const s = materialState(key, m);
  if (s !== "PENDING_ROTATION" || multiRegionKeyType(key) !== "PRIMARY") return s;
  // a value newer than the SDK's types
  return (replicasLacking(state, key, m.id).length ? "PENDING_MULTI_REGION_IMPORT_AND_ROTATION" : s) as RotationsListEntry["KeyMaterialState"];
}

/** ListKeyRotations with the IncludeKeyMaterial member newer models have. */
type ListKeyRotationsInput = ListKeyRotationsRequest & { IncludeKeyMaterial?: string };

function listKeyRotationsOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ListKeyRotationsInput, ListKeyRotationsResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "ListKeyRotations")],
    handler: function listKeyRotations(_ctx, i, { key }) {
      if (key.keySpec !== "SYMMETRIC_DEFAULT") throw err.unsupported();
      const all = i.IncludeKeyMaterial === "ALL_KEY_MATERIAL";
      const list = key.materials.filter((m) => all || m.rotationType !== undefined);
      const page = pageOf(list, (m) => dateKey(m.createdAt, m.id), i.Limit, i.Marker, 100);
      const Rotations = page.items.map((m) => {
        const e: RotationsListEntry & Record<string, unknown> = {
          KeyId: key.keyId,
          RotationDate: m.rotationType ? m.createdAt : undefined,
          RotationType: m.rotationType,
          KeyMaterialId: m.id,
          KeyMaterialState: multiRegionMaterialState(state, key, m),
        };
        if (key.origin === "EXTERNAL") {
          const { expirationModel, validTo } = expiryOf(key, m);
          e.ImportState = m.importState;
          if (m.description !== undefined) e.KeyMaterialDescription = m.description;
          if (expirationModel) e.ExpirationModel = expirationModel;
          if (expirationModel === "KEY_MATERIAL_EXPIRES" && validTo) e.ValidTo = validTo;
        }
        return e;
      });
      return { Rotations, NextMarker: page.NextMarker, Truncated: page.Truncated };
    },
  });
}

export function rotationOperations(kms: Kms) {
  return {
    EnableKeyRotation: enableKeyRotationOperation(kms),
    DisableKeyRotation: disableKeyRotationOperation(kms),
    GetKeyRotationStatus: getKeyRotationStatusOperation(kms),
    RotateKeyOnDemand: rotateKeyOnDemandOperation(kms),
    ListKeyRotations: listKeyRotationsOperation(kms),
  };
}
