/**
 * Imported key material (Origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
 * DeleteImportedKeyMaterial, and expiry of material whose ValidTo has passed on the service
 * clock (→ PendingImport, CloudTrail DeleteExpiredKeyMaterial service event).
 *
 * A material's id is derived from the key and the material, so re-importing the same material
 * after deletion or expiry makes every old ciphertext decrypt again; material the key does not
 * hold is refused with IncorrectKeyMaterialException. A symmetric key takes new material
 * (ImportType NEW_KEY_MATERIAL) for on-demand rotation: imported-materials.ts.
 */
import type { DeleteImportedKeyMaterialRequest, GetParametersForImportRequest, GetParametersForImportResponse, ImportKeyMaterialRequest } from "@aws-sdk/client-kms";
import { defineOperation } from "../../kernel/operation.ts";
import type { WriteOp } from "../../store/store.ts";
import { javaDate, serviceEvent, type Kms } from "./core.ts";
import { materialIdHex } from "./crypto/ciphertext.ts";
import { isReplica, primaryOf } from "./multi-region.ts";
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
import { expiryOf, pendingMaterial, withMaterials } from "./imported-materials.ts";
import { ServiceError } from "../../kernel/errors.ts";

const MAX_VALID_TO_DAYS = 365;

function wrappingAad(tokenId: string): string {
  return `kms-import-wrapping-key|${tokenId}`;
}

/**
 * The key without one of its materials: material it holds for good becomes PENDING_IMPORT (the
 * key PendingImport, unless pending deletion); material pending rotation is dropped.
 */
function withoutMaterial(key: KeyRecord, materialId: string): KeyRecord {
  const materials = key.materials.flatMap((m): MaterialRecord[] => {
    if (m.id !== materialId) return [m];
    if (m.pendingRotation) return [];
    return [{ ...m, sealed: Buffer.alloc(0), importState: "PENDING_IMPORT", expirationModel: undefined, validTo: undefined }];
  });
  return withMaterials(key, materials);
}

/** DueRunner work: imported material past its ValidTo is deleted; expired import parameters are dropped. */
export async function runDueImports(kms: Kms, nowMs: number): Promise<void> {
  const st = kms.state;
  for (const arn of [...st.keys.keys()]) {
    // as it is now: a request may have changed it during an earlier key's commit
    const k = st.keys.get(arn);
    if (!k || k.origin !== "EXTERNAL") continue;
    let key = k;
    const writes: WriteOp[] = [];
    for (const m of k.materials) {
      const { expirationModel, validTo } = expiryOf(key, m);
      if (m.importState !== "IMPORTED" || expirationModel !== "KEY_MATERIAL_EXPIRES" || !validTo || validTo.getTime() > nowMs) continue;
      key = withoutMaterial(key, m.id);
      st.openMaterial.delete(m.id);
      writes.push(...serviceEvent(kms.app, key, "DeleteExpiredKeyMaterial", validTo, { keyId: key.keyId }));
    }
    if (key === k) continue;
    st.keys.set(key.arn, key);
    await kms.app.store.commit([kms.putKey(key), ...writes]);
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

/** ImportKeyMaterial as newer models have it. */
type ImportKeyMaterialInput = ImportKeyMaterialRequest & { ImportType?: string; KeyMaterialId?: string; KeyMaterialDescription?: string };

interface ImportKeyMaterialOutput {
  KeyId: string;
  KeyMaterialId: string;
}

/** The expiry ImportKeyMaterial asks for, checked as KMS checks it. */
function requestedExpiry(i: ImportKeyMaterialInput, now: Date): { expirationModel: NonNullable<MaterialRecord["expirationModel"]>; validTo?: Date } {
  const model = (i.ExpirationModel ?? "KEY_MATERIAL_EXPIRES") as NonNullable<MaterialRecord["expirationModel"]>;
  if (model === "KEY_MATERIAL_EXPIRES") {
    if (!i.ValidTo) throw err.validation("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
    if (i.ValidTo.getTime() <= now.getTime()) throw err.validation("The validTo date must be in the future.");
    if (i.ValidTo.getTime() > now.getTime() + MAX_VALID_TO_DAYS * DAY_MS) {
      throw err.validation(`The validTo date must be no more than ${MAX_VALID_TO_DAYS} days from the date of the request.`);
    }
    return { expirationModel: model, validTo: i.ValidTo };
  }
  if (i.ValidTo) throw err.validation("A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE");
  return { expirationModel: model };
}

/** The request's ImportType (defaulted as the API reference says), refused where it does not apply. */
function importTypeOf(key: KeyRecord, i: ImportKeyMaterialInput): "NEW_KEY_MATERIAL" | "EXISTING_KEY_MATERIAL" {
  if (key.keySpec !== "SYMMETRIC_DEFAULT" && (i.ImportType !== undefined || i.KeyMaterialId !== undefined || i.KeyMaterialDescription !== undefined)) {
    throw err.validation("ImportType, KeyMaterialId and KeyMaterialDescription can be used only with symmetric encryption KMS keys.");
  }
  const type = (i.ImportType ?? (key.materials.length === 0 ? "NEW_KEY_MATERIAL" : "EXISTING_KEY_MATERIAL")) as "NEW_KEY_MATERIAL" | "EXISTING_KEY_MATERIAL";
  if (type === "NEW_KEY_MATERIAL" && i.KeyMaterialId !== undefined) throw err.validation("You cannot specify a KeyMaterialId when ImportType is NEW_KEY_MATERIAL.");
  if (type === "EXISTING_KEY_MATERIAL" && key.materials.length === 0) {
    throw err.validation("The KMS key has no key material to re-import. Import its first key material with ImportType NEW_KEY_MATERIAL.");
  }
  if (type === "NEW_KEY_MATERIAL" && key.materials.length > 0 && pendingMaterial(key)) {
    throw new ServiceError(
      "KMSInvalidStateException",
      `${key.arn} already has key material pending rotation. Rotate it with RotateKeyOnDemand, or delete it with DeleteImportedKeyMaterial, first.`,
      400,
    );
  }
  return type;
}

function importKeyMaterialOperation(kms: Kms) {
  const { state, sealer } = kms;
  return defineOperation<ImportKeyMaterialInput, ImportKeyMaterialOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, i, { key }) => [
      keyCheck(ctx, state, key, "ImportKeyMaterial", {
        context: { "kms:ExpirationModel": i.ExpirationModel ?? "KEY_MATERIAL_EXPIRES", "kms:ValidTo": i.ValidTo ? Math.floor(i.ValidTo.getTime() / 1000) : undefined },
      }),
    ],
    handler: function importKeyMaterial(ctx, i, { key }) {
      checkKeyState(key, "import");
      if (isReplica(key) && i.ImportType === "NEW_KEY_MATERIAL") {
        throw err.unsupported(`${key.arn} is a multi-Region replica key: import new key material into its primary key, then the same material here as EXISTING_KEY_MATERIAL.`);
      }
      const expiry = requestedExpiry(i, ctx.now);
      const type = importTypeOf(key, i);
      const token = openImportToken(sealer.secret, Buffer.from(i.ImportToken!), { keyArn: key.arn, now: ctx.now.getTime() });
      const params = state.importParams.get(token.tokenId);
      if (!params) throw err.importTokenExpired();
      const privateDer = sealer.open(params.sealedPrivateKey, wrappingAad(params.tokenId));
      const raw = validateImportedMaterial(key.keySpec, unwrapKeyMaterial(privateDer, params.wrappingAlgorithm, Buffer.from(i.EncryptedKeyMaterial!)));
      const id = materialIdHex(importedMaterialId(key.keyId, raw));
      const held = key.materials.find((m) => m.id === id);
      const refuse = (e: ServiceError) => {
        raw.fill(0);
        return e;
      };
      // a multi-Region replica takes only material its primary holds, re-imported as existing material (docs/kms.md#multi-region-keys)
      if (isReplica(key) && !primaryOf(state, key)?.materials.some((m) => m.id === id)) throw refuse(err.incorrectKeyMaterial());
      let materials: MaterialRecord[];
      let current = key.currentMaterialId;
      if (type === "EXISTING_KEY_MATERIAL") {
        // the material must be one the key holds (and the one named, when KeyMaterialId is given)
        if (!held || (i.KeyMaterialId !== undefined && i.KeyMaterialId !== id)) throw refuse(err.incorrectKeyMaterial());
        const m = sealMaterial(state, sealer, key.arn, raw, held.createdAt, {
          ...held,
          importState: "IMPORTED",
          ...expiry,
          description: i.KeyMaterialDescription ?? held.description,
        });
        materials = key.materials.map((x) => (x.id === id ? m : x));
      } else if (key.materials.length === 0) {
        const m = sealMaterial(state, sealer, key.arn, raw, ctx.now, { id, importState: "IMPORTED", ...expiry, description: i.KeyMaterialDescription });
        materials = [m];
        current = id;
      } else {
        if (held) throw refuse(err.validation("This key material is already associated with the KMS key. Re-import it with ImportType EXISTING_KEY_MATERIAL."));
        const m = sealMaterial(state, sealer, key.arn, raw, ctx.now, { id, importState: "IMPORTED", pendingRotation: true, ...expiry, description: i.KeyMaterialDescription });
        materials = [...key.materials, m];
      }
      kms.saveKey(ctx, withMaterials(key, materials, current));
      return { KeyId: key.arn, KeyMaterialId: id };
    },
    audit: {
      requestParameters: (i) => ({
        keyId: i.KeyId,
        ...(i.ValidTo ? { validTo: javaDate(i.ValidTo) } : {}),
        expirationModel: i.ExpirationModel ?? "KEY_MATERIAL_EXPIRES",
        ...(i.ImportType ? { importType: i.ImportType } : {}),
        ...(i.KeyMaterialId ? { keyMaterialId: i.KeyMaterialId } : {}),
      }),
    },
  });
}

/** DeleteImportedKeyMaterial answers the key and the id of the material it deleted. */
interface DeleteImportedKeyMaterialOutput {
  KeyId: string;
  KeyMaterialId?: string;
}

function deleteImportedKeyMaterialOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<DeleteImportedKeyMaterialRequest & { KeyMaterialId?: string }, DeleteImportedKeyMaterialOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "DeleteImportedKeyMaterial")],
    handler: function deleteImportedKeyMaterial(ctx, i, { key }) {
      checkKeyState(key, "deleteImported");
      // without KeyMaterialId: the current material (DeleteImportedKeyMaterial in the API reference)
      const id = i.KeyMaterialId ?? key.currentMaterialId;
      const m = id === undefined ? undefined : key.materials.find((x) => x.id === id);
      if (i.KeyMaterialId !== undefined && !m) throw err.validation(`Key material ${i.KeyMaterialId} is not associated with ${key.arn}.`);
      if (m && (m.importState === "IMPORTED" || m.pendingRotation)) {
        state.openMaterial.delete(m.id);
        kms.saveKey(ctx, withoutMaterial(key, m.id));
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
