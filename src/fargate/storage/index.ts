/**
 * Choosing the storage driver for task volumes (docs/ecs-fargate.md#storage-drivers): gocryptfs where it
 * works (Linux, /dev/fuse, gocryptfs + fusermount3/fusermount, and a probe mount succeeds), plain
 * everywhere else; `--storage-driver` overrides.
 */
import { mkdir, realpath } from "node:fs/promises";
import { resolve } from "node:path";
import { GocryptfsDriver, probeGocryptfs, type GocryptfsProbe } from "./gocryptfs.ts";
import { PlainDriver } from "./plain.ts";
import type { StorageDriver, StorageDriverName } from "./types.ts";

export { newVolumeId, volumeIdOfTask, VOLUME_ID_PATTERN } from "./types.ts";
export type { EphemeralVolume, StorageDriver, StorageDriverName } from "./types.ts";
export { GocryptfsDriver, probeGocryptfs, type GocryptfsProbe } from "./gocryptfs.ts";
export { PlainDriver } from "./plain.ts";

export interface ChooseStorageDriverOptions {
  baseDir: string;
  override?: StorageDriverName;
  /** Called with the reason when auto-selection falls back to the plain driver. */
  onFallback?: (reason: string) => void;
  /** Called with the reason when volumes cannot be sized (no loop devices or mkfs.ext4). */
  onSizeNote?: (note: string) => void;
}

/** Create baseDir if needed and return it absolute with symlinks resolved (as in the mount table). */
async function prepareBaseDir(baseDir: string): Promise<string> {
  const abs = resolve(baseDir);
  await mkdir(abs, { recursive: true, mode: 0o700 });
  return realpath(abs);
}

export async function chooseStorageDriver(opts: ChooseStorageDriverOptions): Promise<StorageDriver> {
  const baseDir = await prepareBaseDir(opts.baseDir);
  if (opts.override === "plain") return new PlainDriver(baseDir);
  if (opts.override !== undefined && opts.override !== "gocryptfs") {
    throw new Error(`Unknown storage driver '${String(opts.override)}': expected 'gocryptfs' or 'plain'`);
  }
  const probe: GocryptfsProbe = await probeGocryptfs(baseDir);
  if (probe.available) {
    if (probe.sizeNote) opts.onSizeNote?.(probe.sizeNote);
    return new GocryptfsDriver(baseDir, probe.gocryptfs, probe.ext4);
  }
  if (opts.override === "gocryptfs") {
    throw new Error(`Storage driver 'gocryptfs' is not available: ${probe.reason}`);
  }
  opts.onFallback?.(probe.reason);
  return new PlainDriver(baseDir);
}
