/**
 * Storage drivers for a Fargate task's ephemeral volume (docs/ecs-fargate.md#storage-drivers).
 * A driver creates `<baseDir>/<volumeId>/mnt`, the directory the task's containers see, and
 * destroys everything under `<baseDir>/<volumeId>` when the task stops.
 */
import { createHash, randomBytes } from "node:crypto";

export type StorageDriverName = "gocryptfs" | "plain";

export interface EphemeralVolume {
  volumeId: string;
  /** Where containers see files (the task's working volume). */
  mountPath: string;
  /** Requested size (task definition `ephemeralStorage.sizeInGiB`, or 20); enforced when the driver's sizedVolumes is true. */
  sizeInGiB: number;
  /** True when every byte written under mountPath is encrypted before it reaches the disk. */
  encryptedAtRest: boolean;
}

export interface StorageDriver {
  readonly name: StorageDriverName;
  readonly encryptsAtRest: boolean;
  /**
   * True when a volume is a file system of exactly its requested size (what `df` shows inside the
   * task, and where writes beyond it fail with ENOSPC); false when the size is only recorded.
   */
  readonly sizedVolumes: boolean;
  /** Absolute, symlink-resolved directory holding one sub-directory per volume. */
  readonly baseDir: string;
  /**
   * Create the volume under baseDir/<volumeId>. dataKey: the plaintext data key from KMS
   * (32 bytes; longer keys such as Fargate's 64-byte ones are condensed with HKDF-SHA256);
   * the plain driver ignores it. Throws when the volume already exists.
   */
  provision(volumeId: string, sizeInGiB: number, dataKey: Buffer | undefined): Promise<EphemeralVolume>;
  /** Unmount and destroy everything of the volume (cipher dir included). Idempotent. */
  destroy(volumeId: string): Promise<void>;
  /** Destroy leftovers of a previous run: unmount stale mounts under baseDir, delete volume dirs. */
  cleanupAll(): Promise<void>;
}

/** `vol-` + 17 lowercase hex digits, like an EBS volume ID. */
export const VOLUME_ID_PATTERN = /^vol-[0-9a-f]{17}$/;

export function newVolumeId(): string {
  return "vol-" + randomBytes(9).toString("hex").slice(0, 17);
}

/**
 * A task's volume id: `vol-` and the first 17 hex digits of the SHA-256 of the task's ARN. It ties a
 * volume (and the grant whose encryption context names it) to its task without a field AWS's
 * records do not have (docs/console.md#volumes-and-grants).
 */
export function volumeIdOfTask(taskArn: string): string {
  return "vol-" + createHash("sha256").update(taskArn).digest("hex").slice(0, 17);
}

export function assertVolumeId(volumeId: string): void {
  if (!VOLUME_ID_PATTERN.test(volumeId)) {
    throw new Error(`Invalid volume ID '${volumeId}': expected 'vol-' followed by 17 lowercase hex digits`);
  }
}

export function assertSize(sizeInGiB: number): void {
  if (!Number.isFinite(sizeInGiB) || sizeInGiB <= 0) {
    throw new Error(`Invalid ephemeral storage size ${sizeInGiB} GiB: expected a positive number`);
  }
}
