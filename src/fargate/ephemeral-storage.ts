/**
 * A task's ephemeral storage, the six steps of docs/ecs-fargate.md#ephemeral-storage-the-six-steps:
 *  1. GenerateDataKeyWithoutPlaintext under the cluster key (after Fargate's DryRun checks),
 *  2. a volume vol-… that holds only the encrypted data key,
 *  3. CreateGrant (Decrypt) to fargate.<region>.amazonaws.com, retiring principal ec2.<region>…,
 *  4. Decrypt through that grant: the plaintext data key lives only in memory,
 *  5. the storage driver mounts the volume with that key,
 *  6. on stop: unmount, destroy the volume, RetireGrant.
 * Without a cluster key the Fargate-owned key is used: an AWS owned key that is not in the
 * account, so no KMS call is made and nothing appears in the account's CloudTrail; the data key
 * is 64 random bytes made here and forgotten when the volume is destroyed.
 */
import { randomBytes } from "node:crypto";
import { ServiceError } from "../kernel/errors.ts";
import type { FargateKms, FargateTask } from "./port.ts";
import { createVolumeKey, DATA_KEY_BYTES, decryptVolumeKey, dryRunChecks, retireVolumeGrant } from "./kms-calls.ts";
import type { StorageDriver } from "./storage/index.ts";

/** A launch failure in steps 1–5: the task stops with TaskFailedToStart and this reason. */
export class StorageFailure extends Error {
  constructor(readonly stoppedReason: string) {
    super(stoppedReason);
  }
}

/** stoppedReason for a KMS failure (text chosen by localfargate; AWS's is not public). */
export function kmsFailureReason(keyArn: string, e: unknown): string {
  const prefix = "ResourceInitializationError: failed to create ephemeral storage: ";
  if (!(e instanceof ServiceError)) return `${prefix}${e instanceof Error ? e.message : String(e)}`;
  let detail: string;
  switch (e.code) {
    case "DisabledException":
      detail = `KMS key ${keyArn} is disabled.`;
      break;
    case "KMSInvalidStateException":
      detail = /pending ?deletion/i.test(e.message) ? `KMS key ${keyArn} is pending deletion.` : `KMS key ${keyArn} is not in a usable state: ${e.message}`;
      break;
    case "NotFoundException":
      detail = `KMS key ${keyArn} was not found.`;
      break;
    case "AccessDeniedException":
      detail = `Fargate is not authorized to use KMS key ${keyArn}: ${e.message}`;
      break;
    case "InvalidGrantTokenException":
    case "InvalidGrantIdException":
      detail = `the KMS grant for KMS key ${keyArn} is not valid: ${e.message}`;
      break;
    default:
      detail = `KMS key ${keyArn} could not be used: ${e.message}`;
  }
  if (!/[.!?]$/.test(detail)) detail += ".";
  return `${prefix}${detail} (${e.code})`;
}

export interface StorageDeps<T extends FargateTask = FargateTask> {
  kms: FargateKms;
  driver: StorageDriver;
  /** the task's volume id, from its ARN */
  newVolumeId: (taskArn: string) => string;
  /** persists the task (storage bookkeeping: grant id, volume id) */
  save: (t: T) => Promise<void>;
}

/** Steps 1–5. Fills task.storage and returns the mount path. */
export async function provisionStorage<T extends FargateTask>(deps: StorageDeps<T>, t: T): Promise<string> {
  const { kms, driver } = deps;
  const keyArn = t.kmsKeyArn;
  const sizeInGiB = t.task.ephemeralStorage?.sizeInGiB ?? 20;
  const volumeId = deps.newVolumeId(t.arn);
  let dataKey: Buffer;
  if (keyArn) {
    try {
      await dryRunChecks(kms, keyArn, t.region, t.accountId, t.clusterName);
    } catch (e) {
      throw new StorageFailure(kmsFailureReason(keyArn, e));
    }
    let grantToken: string;
    try {
      const k = await createVolumeKey(kms, keyArn, t.region, t.accountId, t.clusterName, volumeId);
      t.storage = { volumeId, kmsKeyArn: keyArn, grantId: k.grantId, encryptedDataKey: k.encryptedDataKey, driver: driver.name };
      grantToken = k.grantToken;
    } catch (e) {
      throw new StorageFailure(kmsFailureReason(keyArn, e));
    }
    await deps.save(t);
    try {
      dataKey = await decryptVolumeKey(kms, keyArn, t.region, t.accountId, t.clusterName, volumeId, t.storage.encryptedDataKey!, grantToken);
    } catch (e) {
      await releaseStorage(deps, t).catch(() => undefined);
      throw new StorageFailure(kmsFailureReason(keyArn, e));
    }
  } else {
    dataKey = randomBytes(DATA_KEY_BYTES);
    t.storage = { volumeId, driver: driver.name };
  }
  try {
    const { mountPath } = await driver.provision(volumeId, sizeInGiB, dataKey);
    t.storage.mountPath = mountPath;
    return mountPath;
  } catch (e) {
    await releaseStorage(deps, t).catch(() => undefined);
    throw new StorageFailure(
      `ResourceInitializationError: failed to create ephemeral storage: the ${driver.name} storage driver could not mount volume ${volumeId}: ${e instanceof Error ? e.message : String(e)}`,
    );
  } finally {
    dataKey.fill(0);
  }
}

/** Step 6: unmount and destroy the volume, then retire the grant. Safe to call twice. */
export async function releaseStorage<T extends FargateTask>(deps: StorageDeps<T>, t: T): Promise<void> {
  const s = t.storage;
  if (s.released) return;
  if (s.volumeId) {
    try {
      await deps.driver.destroy(s.volumeId);
    } catch (e) {
      console.error(`[localfargate] could not destroy volume ${s.volumeId} of task ${t.arn}:`, e);
    }
  }
  if (s.grantId && s.kmsKeyArn) {
    try {
      await retireVolumeGrant(deps.kms, s.kmsKeyArn, t.region, t.accountId, s.grantId);
    } catch (e) {
      // A revoked grant or deleted key has nothing left to retire.
      if (!(e instanceof ServiceError)) console.error(`[localfargate] could not retire grant ${s.grantId} of task ${t.arn}:`, e);
    }
  }
  s.released = true;
  delete s.mountPath;
  delete s.encryptedDataKey;
}
