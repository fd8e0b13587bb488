/**
 * The key materials of a key with imported material (Origin EXTERNAL), each with its own import
 * state and expiry. The first material imported stays the key's for good; a symmetric key may
 * take more: one imported as NEW_KEY_MATERIAL waits in PENDING_ROTATION until RotateKeyOnDemand
 * makes it current, after which it too is the key's for good. The key is usable only while every
 * material it holds for good is imported
 * (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-import-key-material.html).
 */
import type { KeyRecord, MaterialRecord } from "./state.ts";

export type KeyMaterialState = "CURRENT" | "NON_CURRENT" | "PENDING_ROTATION";

/** The material's expiry: its own, or (records from before materials had their own) the key's. */
export function expiryOf(key: KeyRecord, m: MaterialRecord): { expirationModel?: MaterialRecord["expirationModel"]; validTo?: Date } {
  if (m.expirationModel !== undefined) return { expirationModel: m.expirationModel, validTo: m.validTo };
  if (m.importState !== "IMPORTED") return {};
  return { expirationModel: key.expirationModel, validTo: key.validTo };
}

export function materialState(key: KeyRecord, m: MaterialRecord): KeyMaterialState {
  if (m.pendingRotation) return "PENDING_ROTATION";
  return m.id === key.currentMaterialId ? "CURRENT" : "NON_CURRENT";
}

/** The material waiting for RotateKeyOnDemand, if any. */
export function pendingMaterial(key: KeyRecord): MaterialRecord | undefined {
  return key.materials.find((m) => m.pendingRotation);
}

/**
 * The key after its materials changed: PendingImport while any material it holds for good is
 * missing, Enabled again when the last one comes back (a key pending deletion keeps its state),
 * and KeyMetadata's ExpirationModel/ValidTo those of the current material.
 */
export function withMaterials(key: KeyRecord, materials: MaterialRecord[], currentMaterialId = key.currentMaterialId): KeyRecord {
  const missing = materials.some((m) => !m.pendingRotation && m.importState !== "IMPORTED");
  const current = materials.find((m) => m.id === currentMaterialId);
  const expiry = current && current.importState === "IMPORTED" ? (current.expirationModel !== undefined ? current : key) : undefined;
  let state = key.state;
  if (state !== "PendingDeletion") {
    if (missing) state = "PendingImport";
    else if (state === "PendingImport") state = "Enabled";
  }
  return {
    ...key,
    state,
    materials,
    currentMaterialId,
    expirationModel: expiry?.expirationModel,
    validTo: expiry?.expirationModel === "KEY_MATERIAL_EXPIRES" ? expiry.validTo : undefined,
  };
}
