/**
 * The plain storage driver: the volume is an ordinary directory. Nothing is encrypted at rest;
 * the server must say so (start-up message, /_localfargate/health).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { removeVolumeLeftovers } from "./cleanup.ts";
import { unmountAndRemove } from "./system.ts";
import { assertSize, assertVolumeId, type EphemeralVolume, type StorageDriver } from "./types.ts";

export class PlainDriver implements StorageDriver {
  readonly name = "plain" as const;
  readonly encryptsAtRest = false;
  readonly sizedVolumes = false;

  /** baseDir: absolute and symlink-resolved (chooseStorageDriver takes care of that). */
  constructor(readonly baseDir: string) {}

  async provision(volumeId: string, sizeInGiB: number, _dataKey: Buffer | undefined): Promise<EphemeralVolume> {
    assertVolumeId(volumeId);
    assertSize(sizeInGiB);
    const volumeDir = join(this.baseDir, volumeId);
    try {
      await mkdir(volumeDir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`Volume ${volumeId} already exists`);
      throw e;
    }
    const mountPath = join(volumeDir, "mnt");
    await mkdir(mountPath, { mode: 0o755 });
    // Size is recorded, not enforced.
    await writeFile(join(volumeDir, "volume.json"), JSON.stringify({ volumeId, sizeInGiB, driver: this.name }) + "\n");
    return { volumeId, mountPath, sizeInGiB, encryptedAtRest: false };
  }

  async destroy(volumeId: string): Promise<void> {
    assertVolumeId(volumeId);
    // A volume left by a gocryptfs run may still be mounted: unmount before deleting.
    await unmountAndRemove(join(this.baseDir, volumeId));
  }

  async cleanupAll(): Promise<void> {
    await removeVolumeLeftovers(this.baseDir);
  }
}
