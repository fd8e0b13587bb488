/**
 * Sized volumes (docs/ecs-fargate.md#storage-drivers): a sparse file as large as the task's
 * `ephemeralStorage.sizeInGiB`, formatted ext4 and loop-mounted, so that `df` inside the task
 * shows the requested size while the file costs real disk only for what is written.
 *
 * mkfs options keep an empty volume cheap (an empty 200 GiB volume costs well under 1 MiB):
 * no journal (the volume dies with the task), no reserved blocks, no resize inode, one backup
 * superblock layout without copies (sparse_super2, num_backup_sb=0), inode tables initialised
 * lazily and never zeroed in the background (`noinit_itable` at mount), and no discard at mkfs
 * (the file is already all holes). See mke2fs(8) and ext4(5).
 */
import { constants as fsConstants } from "node:fs";
import { access, mkdir, open, readFile, readdir, rm } from "node:fs/promises";
import { join, sep } from "node:path";
import { runProgram, unmount, which } from "./system.ts";

const GIB = 1024 ** 3;
const COMMAND_TIMEOUT_MS = 60_000;
export const MKFS_EXT4_ARGS = ["-F", "-q", "-m", "0", "-O", "^has_journal,^resize_inode,sparse_super2", "-E", "lazy_itable_init=1,nodiscard,num_backup_sb=0"];
export const EXT4_MOUNT_OPTIONS = "loop,noinit_itable,nodev,nosuid";

export interface Ext4Tools {
  mkfs: string;
  mount: string;
}

function describe(r: { code: number | null; signal: string | null; output: string }): string {
  const how = r.code !== null ? `exit code ${r.code}` : `signal ${r.signal}`;
  const text = r.output.trim().split("\n").slice(-2).join(" / ");
  return text ? `${how}: ${text}` : how;
}

/**
 * Create imageFile as a sparse file of sizeInGiB, format it ext4 and loop-mount it at mountPoint
 * (created, mode 0700). On failure nothing stays mounted; the caller removes the files.
 */
export async function createExt4Volume(tools: Ext4Tools, imageFile: string, mountPoint: string, sizeInGiB: number): Promise<void> {
  const fh = await open(imageFile, "wx", 0o600);
  try {
    await fh.truncate(Math.round(sizeInGiB * GIB));
  } finally {
    await fh.close();
  }
  const mkfs = await runProgram(tools.mkfs, [...MKFS_EXT4_ARGS, imageFile], { timeoutMs: COMMAND_TIMEOUT_MS });
  if (mkfs.code !== 0) throw new Error(`mkfs.ext4 failed (${describe(mkfs)})`);
  await mkdir(mountPoint, { mode: 0o700 });
  const mount = await runProgram(tools.mount, ["-t", "ext4", "-o", EXT4_MOUNT_OPTIONS, imageFile, mountPoint], { timeoutMs: COMMAND_TIMEOUT_MS });
  if (mount.code !== 0) throw new Error(`loop mount of ${imageFile} failed (${describe(mount)})`);
}

/** Loop devices (/dev/loopN) whose backing file lies below dir, read from sysfs. */
export async function loopDevicesBackedUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  let names: string[];
  try {
    names = await readdir("/sys/block");
  } catch {
    return [];
  }
  const found: string[] = [];
  for (const name of names.filter((n) => /^loop\d+$/.test(n))) {
    const backing = (await readFile(`/sys/block/${name}/loop/backing_file`, "utf8").catch(() => "")).trim();
    if (backing.startsWith(prefix)) found.push(`/dev/${name}`);
  }
  return found;
}

/** Detach the loop devices backed by files below dir (a previous run's, after its mounts are gone). */
export async function detachLoopDevicesUnder(dir: string): Promise<void> {
  const devices = await loopDevicesBackedUnder(dir);
  if (!devices.length) return;
  const losetup = await which("losetup", withSbin(process.env.PATH));
  if (!losetup) {
    console.error(`[localfargate] cannot detach loop devices ${devices.join(", ")}: losetup is not on PATH`);
    return;
  }
  for (const dev of devices) {
    const r = await runProgram(losetup, ["-d", dev], { timeoutMs: COMMAND_TIMEOUT_MS });
    if (r.code !== 0) console.error(`[localfargate] could not detach ${dev}: ${describe(r)}`);
  }
}

export type Ext4Probe = { available: true; tools: Ext4Tools } | { available: false; reason: string };

/**
 * Whether sized volumes work here: root, /dev/loop-control, mkfs.ext4 and mount on PATH, and a
 * 1 GiB probe volume formats, mounts and unmounts below baseDir. pathEnv: where to look for the
 * tools (PATH plus the sbin directories by default).
 */
export async function probeExt4Volumes(baseDir: string, probeName: string, pathEnv: string = withSbin(process.env.PATH)): Promise<Ext4Probe> {
  if (process.platform !== "linux") return { available: false, reason: `loop-mounted volumes need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { available: false, reason: "loop-mounting a volume needs root" };
  try {
    await access("/dev/loop-control", fsConstants.R_OK | fsConstants.W_OK);
  } catch (e) {
    return { available: false, reason: `loop devices are not available (/dev/loop-control: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const mkfs = await which("mkfs.ext4", pathEnv);
  if (!mkfs) return { available: false, reason: "mkfs.ext4 is not on PATH (Debian/Ubuntu: apt-get install e2fsprogs)" };
  const mount = await which("mount", pathEnv);
  if (!mount || !(await which("umount", pathEnv))) return { available: false, reason: "mount or umount is not on PATH" };
  const tools = { mkfs, mount };
  const root = join(baseDir, probeName);
  const mnt = join(root, "ext4");
  try {
    await mkdir(root, { mode: 0o700 });
    await createExt4Volume(tools, join(root, "volume.img"), mnt, 1);
    return { available: true, tools };
  } catch (e) {
    return { available: false, reason: `probe loop mount failed: ${(e as Error).message}` };
  } finally {
    await unmount(mnt).catch(() => undefined);
    await rm(root, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** PATH plus the sbin directories, where mkfs.ext4 lives on Debian even for root shells without them. */
export function withSbin(pathEnv: string | undefined): string {
  const parts = (pathEnv ?? "").split(":").filter(Boolean);
  for (const d of ["/usr/local/sbin", "/usr/sbin", "/sbin"]) if (!parts.includes(d)) parts.push(d);
  return parts.join(":");
}
