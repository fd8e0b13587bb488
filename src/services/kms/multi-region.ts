/**
 * Multi-Region keys: the Regional copies of one key (a primary and its replicas, same key ID,
 * one KeyRecord per Region), the MultiRegionConfiguration each copy reports, and the properties
 * the primary shares with its replicas (key material and automatic rotation), which KMS keeps
 * in step whenever the primary changes
 * (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html).
 *
 * Every copy seals its material under its own key ARN; a replica holds the primary's material
 * versions under the same KeyMaterialIds, so a ciphertext from one Region decrypts in another.
 */
import type { MultiRegionConfiguration } from "@aws-sdk/client-kms";
import type { WriteOp } from "../../store/store.ts";
import type { Kms } from "./core.ts";
import { withMaterials } from "./imported-materials.ts";
import { openMaterial, sealMaterial } from "./material.ts";
import { err, KMS_ARN_RE, MRK_ID_RE, type KeyRecord, type KmsState, type MaterialRecord } from "./state.ts";

/** How long a new replica stays Creating on the service clock ("a few seconds" in the ReplicateKey reference). */
export const REPLICA_CREATION_MS = 5_000;

export type MultiRegionKeyType = "PRIMARY" | "REPLICA";

export function multiRegionKeyType(key: KeyRecord): MultiRegionKeyType | undefined {
  if (!key.multiRegion) return undefined;
  return key.multiRegionKeyType ?? "PRIMARY";
}

export function isReplica(key: KeyRecord): boolean {
  return multiRegionKeyType(key) === "REPLICA";
}

/** Every Regional copy of a multi-Region key (itself included), by Region. */
export function copiesOf(state: KmsState, key: KeyRecord): KeyRecord[] {
  return key.multiRegion ? state.keys.copiesOf(key.accountId, key.keyId) : [key];
}

export function replicasOf(state: KmsState, key: KeyRecord): KeyRecord[] {
  return copiesOf(state, key).filter(isReplica);
}

export function primaryOf(state: KmsState, key: KeyRecord): KeyRecord | undefined {
  return copiesOf(state, key).find((k) => multiRegionKeyType(k) === "PRIMARY");
}

/** KeyMetadata.MultiRegionConfiguration: the primary and every replica, from any copy. */
export function multiRegionConfiguration(state: KmsState, key: KeyRecord): MultiRegionConfiguration | undefined {
  if (!key.multiRegion) return undefined;
  const primary = primaryOf(state, key) ?? key;
  return {
    MultiRegionKeyType: multiRegionKeyType(key),
    PrimaryKey: { Arn: primary.arn, Region: primary.region },
    ReplicaKeys: replicasOf(state, key).map((r) => ({ Arn: r.arn, Region: r.region })),
  };
}

/** The refusal for an operation only a multi-Region primary key may take (ReplicateKey, rotation settings, UpdatePrimaryRegion). */
export function requirePrimary(key: KeyRecord): void {
  if (!key.multiRegion || isReplica(key)) throw err.unsupported(`${key.arn} is not a multi-Region primary key.`);
}

/**
 * The key ARN a ciphertext header names, as seen from `region`: a multi-Region key's ciphertext
 * is decrypted by the copy in the caller's Region; any other ARN is left as it is.
 */
export function regionalKeyArn(arn: string, region: string): string {
  const m = KMS_ARN_RE.exec(arn);
  if (!m || m[4] !== "key" || !MRK_ID_RE.test(m[5])) return arn;
  return `arn:${m[1]}:kms:${region}:${m[3]}:key/${m[5]}`;
}

/**
 * A replica's materials after the primary's: material the replica lacks is resealed under the
 * replica's ARN (AWS_KMS) or awaits the replica's own import of the same material (EXTERNAL:
 * https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-import.html).
 */
function replicaMaterials(kms: Kms, primary: KeyRecord, replica: KeyRecord): MaterialRecord[] {
  const out: MaterialRecord[] = [];
  for (const pm of primary.materials) {
    const held = replica.materials.find((m) => m.id === pm.id);
    if (held) {
      // material the replica imported ahead of the primary's on-demand rotation is now the key's for good
      out.push(held.pendingRotation && !pm.pendingRotation ? { ...held, pendingRotation: undefined, rotationType: pm.rotationType, createdAt: pm.createdAt } : held);
      continue;
    }
    if (primary.origin === "EXTERNAL") {
      // new material waiting for rotation on the primary awaits its import into each replica too
      out.push({ id: pm.id, createdAt: pm.createdAt, rotationType: pm.rotationType, sealed: Buffer.alloc(0), importState: "PENDING_IMPORT", pendingRotation: pm.pendingRotation });
      continue;
    }
    const raw = openMaterial(kms.state, kms.sealer, primary, pm.id);
    if (!raw) continue;
    const { sealed: _sealed, ...rest } = pm;
    out.push(sealMaterial(kms.state, kms.sealer, replica.arn, raw, pm.createdAt, rest));
  }
  return out;
}

/** A copy of `replica` carrying the primary's shared properties (state kept while Creating or pending deletion). */
export function withSharedProperties(kms: Kms, primary: KeyRecord, replica: KeyRecord): KeyRecord {
  const materials = replicaMaterials(kms, primary, replica);
  const shared: KeyRecord = {
    ...replica,
    rotationEnabled: primary.rotationEnabled,
    rotationPeriodInDays: primary.rotationPeriodInDays,
    nextRotationDate: primary.nextRotationDate,
  };
  if (primary.origin !== "EXTERNAL") return { ...shared, materials, currentMaterialId: primary.currentMaterialId };
  const next = withMaterials(shared, materials, primary.currentMaterialId);
  return replica.state === "Creating" ? { ...next, state: "Creating" } : next;
}

function sameShared(a: KeyRecord, b: KeyRecord): boolean {
  return (
    a.state === b.state &&
    a.currentMaterialId === b.currentMaterialId &&
    a.rotationEnabled === b.rotationEnabled &&
    a.rotationPeriodInDays === b.rotationPeriodInDays &&
    a.nextRotationDate?.getTime() === b.nextRotationDate?.getTime() &&
    a.materials.length === b.materials.length &&
    a.materials.every((m, i) => m === b.materials[i])
  );
}

/**
 * After a primary changed: each replica takes its shared properties (material, rotation). The
 * replicas change in memory; the returned writes store them with the primary's change.
 */
export function syncReplicas(kms: Kms, primary: KeyRecord): WriteOp[] {
  if (multiRegionKeyType(primary) !== "PRIMARY") return [];
  const writes: WriteOp[] = [];
  for (const r of replicasOf(kms.state, primary)) {
    const next = withSharedProperties(kms, primary, r);
    if (sameShared(next, r)) continue;
    kms.state.keys.set(next.arn, next);
    writes.push(kms.putKey(next));
  }
  return writes;
}

/** DueRunner work: replicas whose Creating period has passed become Enabled (or PendingImport without their material). */
export async function runDueReplicas(kms: Kms, nowMs: number): Promise<void> {
  for (const arn of [...kms.state.keys.keys()]) {
    // read each key when its turn comes: a request may have changed it during an earlier commit
    const key = kms.state.keys.get(arn);
    if (!key || key.state !== "Creating" || (key.readyAt && key.readyAt.getTime() > nowMs)) continue;
    const enabled: KeyRecord = { ...key, state: "Enabled", readyAt: undefined };
    let ready = key.origin === "EXTERNAL" ? withMaterials(enabled, key.materials) : enabled;
    // a replica of a primary that has no imported material yet has none either
    if (key.origin === "EXTERNAL" && key.materials.length === 0) ready = { ...ready, state: "PendingImport" };
    kms.state.keys.set(ready.arn, ready);
    await kms.app.store.commit([kms.putKey(ready)]);
  }
}

/**
 * Replicas that have not yet imported a material the primary holds (for on-demand rotation of
 * imported material: every replica imports the new material before the primary rotates to it).
 */
export function replicasLacking(state: KmsState, primary: KeyRecord, materialId: string): KeyRecord[] {
  return replicasOf(state, primary).filter((r) => r.materials.find((m) => m.id === materialId)?.importState !== "IMPORTED");
}
