/**
 * Imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
 * DeleteImportedKeyMaterial, and expiry of material whose ValidTo has passed on the service
 * clock (→ PendingImport, CloudTrail DeleteExpiredKeyMaterial service event).
 *
 * A key keeps one material id for its imported material (derived from the material), so
 * re-importing the same material after deletion or expiry makes every old ciphertext decrypt
 * again; different material is refused with IncorrectKeyMaterialException.
 */
import type { DeleteImportedKeyMaterialRequest, GetParametersForImportRequest, GetParametersForImportResponse, ImportKeyMaterialRequest } from "@aws-sdk/client-kms";
import { defineOperation } from "../../kernel/operation.ts";
import type { WriteOp } from "../../store/store.ts";
import { javaDate, serviceEvent, type Kms } from "./core.ts";
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
import { keyCheck } from "./key-policy.ts";
import { namedKey, type Resolved } from "./resolve.ts";
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

function getParametersForImportOperation(kms: Kms) {
  const { state, sealer } = kms;
  return defineOperation<GetParametersForImportRequest, GetParametersForImportResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, i, { key }) => [
      keyCheck(ctx, state, key, "GetParametersForImport", { context: { "kms:WrappingAlgorithm": i.WrappingAlgorithm, "kms:WrappingKeySpec": i.WrappingKeySpec } }),
    ],
    handler: async function getParametersForImport(ctx, i, { key }) {
      checkKeyState(key, "import");
      const { algorithm, keySpec } = checkWrappingParameters(i.WrappingAlgorithm!, i.WrappingKeySpec!);
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
  });
}

/** ImportKeyMaterial answers the key and the id of its material (newer models name it). */
interface ImportKeyMaterialOutput {
  KeyId: string;
  KeyMaterialId: string;
}

function importKeyMaterialOperation(kms: Kms) {
  const { state, sealer } = kms;
  return defineOperation<ImportKeyMaterialRequest, ImportKeyMaterialOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, i, { key }) => [
      keyCheck(ctx, state, key, "ImportKeyMaterial", {
        context: { "kms:ExpirationModel": i.ExpirationModel ?? "KEY_MATERIAL_EXPIRES", "kms:ValidTo": i.ValidTo ? Math.floor(i.ValidTo.getTime() / 1000) : undefined },
      }),
    ],
    handler: function importKeyMaterial(ctx, i, { key }) {
      checkKeyState(key, "import");
      const model = i.ExpirationModel ?? "KEY_MATERIAL_EXPIRES";
      if (model === "KEY_MATERIAL_EXPIRES") {
        if (!i.ValidTo) throw err.validation("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
        if (i.ValidTo.getTime() <= ctx.now.getTime()) throw err.validation("The validTo date must be in the future.");
        if (i.ValidTo.getTime() > ctx.now.getTime() + MAX_VALID_TO_DAYS * DAY_MS) {
          throw err.validation(`The validTo date must be no more than ${MAX_VALID_TO_DAYS} days from the date of the request.`);
        }
      } else if (i.ValidTo) {
        throw err.validation("A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE");
      }
      const token = openImportToken(sealer.secret, Buffer.from(i.ImportToken!), { keyArn: key.arn, now: ctx.now.getTime() });
      const params = state.importParams.get(token.tokenId);
      if (!params) throw err.importTokenExpired();
      const privateDer = sealer.open(params.sealedPrivateKey, wrappingAad(params.tokenId));
      const raw = validateImportedMaterial(key.keySpec, unwrapKeyMaterial(privateDer, params.wrappingAlgorithm, Buffer.from(i.EncryptedKeyMaterial!)));
      const id = materialIdHex(importedMaterialId(key.keyId, raw));
      const previous = key.materials[0];
      if (previous && previous.id !== id) {
        raw.fill(0);
        throw err.incorrectKeyMaterial();
      }
      const m = sealMaterial(state, sealer, key.arn, raw, previous?.createdAt ?? ctx.now, { id, importState: "IMPORTED" });
      kms.saveKey(ctx, {
        ...key,
        state: key.state === "PendingImport" ? "Enabled" : key.state,
        materials: [m],
        currentMaterialId: id,
        expirationModel: model,
        validTo: model === "KEY_MATERIAL_EXPIRES" ? i.ValidTo : undefined,
      });
      return { KeyId: key.arn, KeyMaterialId: id };
    },
    audit: {
      requestParameters: (i) => ({
        keyId: i.KeyId,
        ...(i.ValidTo ? { validTo: javaDate(i.ValidTo) } : {}),
        expirationModel: i.ExpirationModel ?? "KEY_MATERIAL_EXPIRES",
      }),
    },
  });
}

/** DeleteImportedKeyMaterial answers the key and, when it had some, the id of its material. */
interface DeleteImportedKeyMaterialOutput {
  KeyId: string;
  KeyMaterialId?: string;
}

function deleteImportedKeyMaterialOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<DeleteImportedKeyMaterialRequest, DeleteImportedKeyMaterialOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "DeleteImportedKeyMaterial")],
    handler: function deleteImportedKeyMaterial(ctx, _i, { key }) {
      checkKeyState(key, "deleteImported");
      const id = key.currentMaterialId;
      if (key.materials.some((m) => m.importState === "IMPORTED")) {
        for (const m of key.materials) state.openMaterial.delete(m.id);
        kms.saveKey(ctx, withoutMaterial(key));
      }
      return { KeyId: key.arn, ...(id ? { KeyMaterialId: id } : {}) };
    },
  });
}

export function importOperations(kms: Kms) {
  return {
    GetParametersForImport: getParametersForImportOperation(kms),
    ImportKeyMaterial: importKeyMaterialOperation(kms),
    DeleteImportedKeyMaterial: deleteImportedKeyMaterialOperation(kms),
  };
}
