import { join } from "node:path";
import { listDir, mountsUnder, unmount, unmountAndRemove } from "./system.ts";
import { VOLUME_ID_PATTERN } from "./types.ts";

/** Prefix of the scratch directories the gocryptfs availability probe creates in baseDir. */
export const PROBE_PREFIX = ".probe-";

/**
 * After a crash or restart: unmount every mount below baseDir (deepest first), then delete the
 * volume directories (vol-…) and probe leftovers. Other entries of baseDir are left alone, so a
 * misconfigured baseDir cannot wipe unrelated data.
 */
export async function removeVolumeLeftovers(baseDir: string): Promise<void> {
  for (const mp of await mountsUnder(baseDir)) {
    if (mp !== baseDir) await unmount(mp);
  }
  for (const name of await listDir(baseDir)) {
    if (VOLUME_ID_PATTERN.test(name) || name.startsWith(PROBE_PREFIX)) {
      await unmountAndRemove(join(baseDir, name));
    }
  }
}
