/**
 * Imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
 * DeleteImportedKeyMaterial, and expiry of material whose ValidTo has passed on the service
 * clock (→ PendingImport, CloudTrail DeleteExpiredKeyMaterial service event).
 *
 * A key keeps one material id for its imported material (derived from the material), so
 * re-importing the same material after deletion or expiry makes every old ciphertext decrypt
 * again; different material is refused with IncorrectKeyMaterialException.
 */
import type {
  DeleteImportedKeyMaterialRequest,
  GetParametersForImportRequest,
  GetParametersForImportResponse,
  ImportKeyMaterialRequest,
} from "@aws-sdk/client-kms";
import type { WriteOp } from "../../store/store.ts";
import type { OperationDef, RequestContext } from "../types.ts";
import { javaDate, serviceEvent, setKeyResources, type Kms } from "./core.ts";
import { materialIdHex } from "./crypto/ciphertext.ts";
import {
  checkWrappingParameters,
  IMPORT_PARAMETERS_TTL_MS,
  importedMaterialId,
  newImportTokenId,
  newWrappingKeyPairAsync,
  openImportToken,
  sealImportToken,
  unwrapKeyMaterial,
  validateImportedMaterial,
} from "./crypto/import.ts";
import { DAY_MS } from "./keys.ts";
import { sealMaterial } from "./material.ts";
import { keyCheck } from "./policy.ts";
import { resolveKey, scopeOf } from "./resolve.ts";
import { checkKeyState, err, type ImportParamsRecord, type KeyRecord, type MaterialRecord } from "./state.ts";

const MAX_VALID_TO_DAYS = 365;

function wrappingAad(tokenId: string): string {
  return `kms-import-wrapping-key|${tokenId}`;
}

/** Deletes a key's imported material; the key becomes PendingImport (unless pending deletion). */
function withoutMaterial(key: KeyRecord): KeyRecord {
  return {
    ...key,
    state: key.state === "PendingDeletion" ? "PendingDeletion" : "PendingImport",
    materials: key.materials.map((m): MaterialRecord => ({ ...m, sealed: Buffer.alloc(0), importState: "PENDING_IMPORT" })),
    expirationModel: undefined,
    validTo: undefined,
  };
}

/** DueRunner work: imported material past its ValidTo is deleted; expired import parameters are dropped. */
export async function runDueImports(kms: Kms, nowMs: number): Promise<void> {
  const st = kms.state;
  for (const key of [...st.keys.values()]) {
    if (key.origin !== "EXTERNAL" || key.expirationModel !== "KEY_MATERIAL_EXPIRES" || !key.validTo || key.validTo.getTime() > nowMs) continue;
    if (!key.materials.some((m) => m.importState === "IMPORTED")) continue;
    const next = withoutMaterial(key);
    for (const m of key.materials) st.openMaterial.delete(m.id);
    st.keys.set(key.arn, next);
    await kms.app.store.commit([kms.putKey(next), ...serviceEvent(kms.app, key, "DeleteExpiredKeyMaterial", key.validTo, { keyId: key.keyId })]);
  }
  const drop: WriteOp[] = [];
  for (const p of [...st.importParams.values()]) {
    if (p.validTo.getTime() > nowMs) continue;
    st.importParams.delete(p.tokenId);
    drop.push(kms.delImport(p.tokenId));
  }
  if (drop.length) await kms.app.store.commit(drop);
}

export function importOperations(kms: Kms): Record<string, OperationDef> {
  const { state, sealer } = kms;
  const keyOf = (ctx: RequestContext, id: string) => resolveKey(state, scopeOf(ctx), id, { aliases: false }).key;
  const save = (ctx: RequestContext, key: KeyRecord) => {
    state.keys.set(key.arn, key);
    ctx.writes.push(kms.putKey(key));
  };

  return {
    GetParametersForImport: {
      readOnly: true,
      authorize: (ctx, input: GetParametersForImportRequest) =>
        keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "GetParametersForImport", {
          context: { "kms:WrappingAlgorithm": input.WrappingAlgorithm, "kms:WrappingKeySpec": input.WrappingKeySpec },
        }),
      async handler(ctx, input: GetParametersForImportRequest): Promise<GetParametersForImportResponse> {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "import");
        const { algorithm, keySpec } = checkWrappingParameters(input.WrappingAlgorithm!, input.WrappingKeySpec!);
        const pair = await newWrappingKeyPairAsync(keySpec);
        const tokenId = newImportTokenId();
        const validTo = new Date(ctx.now.getTime() + IMPORT_PARAMETERS_TTL_MS);
        const params: ImportParamsRecord = {
          tokenId,
          keyArn: key.arn,
          wrappingAlgorithm: algorithm,
          wrappingKeySpec: keySpec,
          sealedPrivateKey: sealer.seal(pair.privateKeyDer, wrappingAad(tokenId)),
          validTo,
        };
        state.importParams.set(tokenId, params);
        ctx.writes.push(kms.putImport(params));
        const token = sealImportToken(sealer.secret, { tokenId, keyArn: key.arn, wrappingAlgorithm: algorithm, wrappingKeySpec: keySpec, validTo: validTo.getTime() });
        return { KeyId: key.arn, ImportToken: token, PublicKey: pair.publicKeyDer, ParametersValidTo: validTo };
      },
    },

    ImportKeyMaterial: {
      authorize: (ctx, input: ImportKeyMaterialRequest) =>
        keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "ImportKeyMaterial", {
          context: { "kms:ExpirationModel": input.ExpirationModel ?? "KEY_MATERIAL_EXPIRES", "kms:ValidTo": input.ValidTo ? Math.floor(input.ValidTo.getTime() / 1000) : undefined },
        }),
      handler(ctx, input: ImportKeyMaterialRequest) {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "import");
        const model = input.ExpirationModel ?? "KEY_MATERIAL_EXPIRES";
        if (model === "KEY_MATERIAL_EXPIRES") {
          if (!input.ValidTo) throw err.validation("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
          if (input.ValidTo.getTime() <= ctx.now.getTime()) throw err.validation("The validTo date must be in the future.");
          if (input.ValidTo.getTime() > ctx.now.getTime() + MAX_VALID_TO_DAYS * DAY_MS) {
            throw err.validation(`The validTo date must be no more than ${MAX_VALID_TO_DAYS} days from the date of the request.`);
          }
        } else if (input.ValidTo) {
          throw err.validation("A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE");
        }
        const token = openImportToken(sealer.secret, Buffer.from(input.ImportToken!), { keyArn: key.arn, now: ctx.now.getTime() });
        const params = state.importParams.get(token.tokenId);
        if (!params) throw err.importTokenExpired();
        const privateDer = sealer.open(params.sealedPrivateKey, wrappingAad(params.tokenId));
        const raw = validateImportedMaterial(key.keySpec, unwrapKeyMaterial(privateDer, params.wrappingAlgorithm, Buffer.from(input.EncryptedKeyMaterial!)));
        const id = materialIdHex(importedMaterialId(key.keyId, raw));
        const previous = key.materials[0];
        if (previous && previous.id !== id) {
          raw.fill(0);
          throw err.incorrectKeyMaterial();
        }
        const m = sealMaterial(state, sealer, key.arn, raw, previous?.createdAt ?? ctx.now, { id, importState: "IMPORTED" });
        save(ctx, {
          ...key,
          state: key.state === "PendingImport" ? "Enabled" : key.state,
          materials: [m],
          currentMaterialId: id,
          expirationModel: model,
          validTo: model === "KEY_MATERIAL_EXPIRES" ? input.ValidTo : undefined,
        });
        return { KeyId: key.arn, KeyMaterialId: id };
      },
      requestParameters: (input: ImportKeyMaterialRequest) => ({
        keyId: input.KeyId,
        ...(input.ValidTo ? { validTo: javaDate(input.ValidTo) } : {}),
        expirationModel: input.ExpirationModel ?? "KEY_MATERIAL_EXPIRES",
      }),
    },

    DeleteImportedKeyMaterial: {
      authorize: (ctx, input: DeleteImportedKeyMaterialRequest) => keyCheck(ctx, state, keyOf(ctx, input.KeyId!), "DeleteImportedKeyMaterial"),
      handler(ctx, input: DeleteImportedKeyMaterialRequest) {
        const key = keyOf(ctx, input.KeyId!);
        setKeyResources(ctx, key);
        checkKeyState(key, "deleteImported");
        const id = key.currentMaterialId;
        if (key.materials.some((m) => m.importState === "IMPORTED")) {
          for (const m of key.materials) state.openMaterial.delete(m.id);
          save(ctx, withoutMaterial(key));
        }
        return { KeyId: key.arn, ...(id ? { KeyMaterialId: id } : {}) };
      },
    },
  };
}
