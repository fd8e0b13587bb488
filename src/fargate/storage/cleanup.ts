import { join } from "node:path";
import { endProcesses, isGocryptfsUnder } from "../host-processes.ts";
import { endRecordedProcesses } from "../run-state.ts";
import { detachLoopDevicesUnder } from "./ext4-volume.ts";
import { listDir, mountsUnder, unmount, unmountAndRemove } from "./system.ts";
import { VOLUME_ID_PATTERN } from "./types.ts";

/** Prefix of the scratch directories the gocryptfs availability probe creates in baseDir. */
export const PROBE_PREFIX = ".probe-";

/**
 * After a crash or restart, in this order: end the task processes a previous run left (recorded
 * in each volume's run state, run-state.ts), so that no mount is busy; unmount every mount below
 * baseDir (most recent first: gocryptfs before the ext4 of a sized volume); end gocryptfs daemons
 * still serving a path below baseDir; detach loop devices still backed by a volume file; then delete
 * the volume directories (vol-…) and probe leftovers. Other entries of baseDir are left alone, so
 * a misconfigured baseDir cannot wipe unrelated data.
 */
export async function removeVolumeLeftovers(baseDir: string): Promise<void> {
  const names = await listDir(baseDir);
  const survivors: number[] = [];
  for (const name of names) {
    if (VOLUME_ID_PATTERN.test(name)) survivors.push(...(await endRecordedProcesses(join(baseDir, name))));
  }
  if (survivors.length) {
    console.error(`[localfargate] task processes of an earlier run could not be ended: pids ${survivors.join(", ")}`);
  }
  for (const mp of await mountsUnder(baseDir)) {
    if (mp !== baseDir) await unmount(mp);
  }
  await endProcesses((p) => isGocryptfsUnder(p, baseDir));
  await detachLoopDevicesUnder(baseDir);
  for (const name of await listDir(baseDir)) {
    if (VOLUME_ID_PATTERN.test(name) || name.startsWith(PROBE_PREFIX)) {
      await unmountAndRemove(join(baseDir, name));
    }
  }
}
