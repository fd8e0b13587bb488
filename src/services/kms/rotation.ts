/**
 * Key rotation: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
 * ListKeyRotations, and automatic rotation when the next rotation date passes on the service
 * clock (CloudTrail RotateKey service event). New material encrypts from then on; every earlier
 * version stays with the key so old ciphertexts keep decrypting.
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
import type { OperationDef, RequestContext } from "../types.ts";
import { serviceEvent, setKeyResources, type Kms } from "./core.ts";
import { DAY_MS, freshMaterial } from "./keys.ts";
import { dateKey, pageOf } from "./paging.ts";
import { keyCheck } from "./policy.ts";
import { resolveKey, scopeOf } from "./resolve.ts";
import { checkKeyState, err, type KeyRecord, type MaterialRecord } from "./state.ts";

export const DEFAULT_ROTATION_DAYS = 365;

async function rotate(kms: Kms, key: KeyRecord, at: Date, type: NonNullable<MaterialRecord["rotationType"]>): Promise<KeyRecord> {
  const m = await freshMaterial(kms, key, at, type);
  return { ...key, materials: [...key.materials, m], currentMaterialId: m.id };
}

function lastRotation(key: KeyRecord): Date {
  let d = key.creationDate;
  for (const m of key.materials) if (m.createdAt > d) d = m.createdAt;
  return d;
}

/** DueRunner work: automatic rotations whose date has passed (only while the key is Enabled). */
export async function runDueRotations(kms: Kms, nowMs: number): Promise<void> {
  for (const k of [...kms.state.keys.values()]) {
    let key = k;
    if (!key.rotationEnabled || !key.nextRotationDate || key.state !== "Enabled") continue;
    const writes: WriteOp[] = [];
    while (key.nextRotationDate && key.nextRotationDate.getTime() <= nowMs) {
      const at: Date = key.nextRotationDate;
      key = await rotate(kms, key, at, "AUTOMATIC");
      key.nextRotationDate = new Date(at.getTime() + (key.rotationPeriodInDays ?? DEFAULT_ROTATION_DAYS) * DAY_MS);
      writes.push(...serviceEvent(kms.app, key, "RotateKey", at, { keyId: key.keyId }));
    }
    if (key === k) continue;
    kms.state.keys.set(key.arn, key);
    await kms.app.store.commit([kms.putKey(key), ...writes]);
  }
}

export function rotationOperations(kms: Kms): Record<string, OperationDef> {
  const { state } = kms;
  const keyOf = (ctx: RequestContext, id: string) => resolveKey(state, scopeOf(ctx), id, { aliases: false }).key;
  const save = (ctx: RequestContext, key: KeyRecord) => {
    state.keys.set(key.arn, key);
    ctx.writes.push(kms.putKey(key));
  };

  return {
    EnableKeyRotation: {
      authorize: (ctx, input: EnableKeyRotationRequest) =>
        keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "EnableKeyRotation", {
          context: { "kms:RotationPeriodInDays": input.RotationPeriodInDays ?? DEFAULT_ROTATION_DAYS },
        }),
      handler(ctx, input: EnableKeyRotationRequest) {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        const days = input.RotationPeriodInDays ?? DEFAULT_ROTATION_DAYS;
        if (days < 90 || days > 2560) {
          throw err.validation(`1 validation error detected: Value '${days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value ${days < 90 ? "greater than or equal to 90" : "less than or equal to 2560"}`);
        }
        checkKeyState(key, "rotation");
        // Already rotating: a new period counts from the last rotation (or creation).
        const base = key.rotationEnabled ? lastRotation(key) : ctx.now;
        let next = new Date(base.getTime() + days * DAY_MS);
        if (next < ctx.now) next = ctx.now;
        save(ctx, { ...key, rotationEnabled: true, rotationPeriodInDays: days, nextRotationDate: next });
        return {};
      },
    },

    DisableKeyRotation: {
      authorize: (ctx, input: DisableKeyRotationRequest) => keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "DisableKeyRotation"),
      handler(ctx, input: DisableKeyRotationRequest) {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "rotation");
        save(ctx, { ...key, rotationEnabled: false, rotationPeriodInDays: undefined, nextRotationDate: undefined });
        return {};
      },
    },

    GetKeyRotationStatus: {
      readOnly: true,
      authorize: (ctx, input: GetKeyRotationStatusRequest) => keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "GetKeyRotationStatus"),
      handler(ctx, input: GetKeyRotationStatusRequest): GetKeyRotationStatusResponse {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "rotationStatus");
        return {
          KeyRotationEnabled: key.rotationEnabled,
          KeyId: key.arn,
          RotationPeriodInDays: key.rotationEnabled ? key.rotationPeriodInDays : undefined,
          NextRotationDate: key.rotationEnabled ? key.nextRotationDate : undefined,
        };
      },
    },

    RotateKeyOnDemand: {
      authorize: (ctx, input: RotateKeyOnDemandRequest) => keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "RotateKeyOnDemand"),
      async handler(ctx, input: RotateKeyOnDemandRequest): Promise<RotateKeyOnDemandResponse> {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "rotateOnDemand");
        if (key.onDemandRotations >= kms.options.onDemandRotationLimit) {
          throw new ServiceError(
            "LimitExceededException",
            `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`,
            400,
          );
        }
        const rotated = await rotate(kms, key, ctx.now, "ON_DEMAND");
        save(ctx, { ...rotated, onDemandRotations: key.onDemandRotations + 1 });
        return { KeyId: key.keyId };
      },
    },

    ListKeyRotations: {
      readOnly: true,
      authorize: (ctx, input: ListKeyRotationsRequest) => keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "ListKeyRotations"),
      handler(ctx, input: ListKeyRotationsRequest & { IncludeKeyMaterial?: string }): ListKeyRotationsResponse {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        if (key.keySpec !== "SYMMETRIC_DEFAULT") throw err.unsupported();
        const all = input.IncludeKeyMaterial === "ALL_KEY_MATERIAL";
        const list = key.materials.filter((m) => all || m.rotationType !== undefined);
        const page = pageOf(list, (m) => dateKey(m.createdAt, m.id), input.Limit, input.Marker, 100);
        const Rotations = page.items.map((m) => {
          const e: RotationsListEntry & Record<string, unknown> = {
            KeyId: key.keyId,
            RotationDate: m.rotationType ? m.createdAt : undefined,
            RotationType: m.rotationType,
            KeyMaterialId: m.id,
            KeyMaterialState: m.id === key.currentMaterialId ? "CURRENT" : "NON_CURRENT",
          };
          if (key.origin === "EXTERNAL") e.ImportState = m.importState;
          return e;
        });
        return { Rotations, NextMarker: page.NextMarker, Truncated: page.Truncated };
      },
    },
  };
}
