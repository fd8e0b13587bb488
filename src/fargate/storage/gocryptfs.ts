/**
 * The gocryptfs storage driver: each volume is a gocryptfs cipher directory
 * `<baseDir>/<id>/cipher` mounted (FUSE) at `<baseDir>/<id>/mnt`, so every byte a task writes is
 * AES-256-GCM (file contents) / EME (file names) on disk.
 *
 * How the data key reaches gocryptfs: only through stdin pipes, never argv (world-readable in
 * /proc/<pid>/cmdline) and never a file.
 *   - The data key (32 bytes; longer KMS data keys are condensed with HKDF-SHA256) IS gocryptfs's
 *     master key, the key that encrypts the files.
 *   - `gocryptfs -init` always draws a random master key, so init is two steps:
 *     `-init` (reads a password from stdin), then `-passwd -masterkey=stdin`, which reads the
 *     master key (hex) and then the new password from stdin, one line each, and rewrites
 *     gocryptfs.conf so that it wraps OUR master key (the random one is discarded with the .bak).
 *   - The password is HMAC-SHA256(masterKey, label) in hex: derived from the data key, so
 *     gocryptfs.conf holds the master key encrypted under scrypt(password) and nothing on disk
 *     opens without the data key. Mounting reads that password from stdin; gocryptfs decrypts the
 *     master key from gocryptfs.conf and its GCM tag makes a wrong data key fail the mount
 *     ("Password incorrect", exit 12) instead of mounting garbage.
 *   - scrypt cost is the minimum (logN 10): the password is a 256-bit random value, so key
 *     stretching adds nothing but latency.
 * gocryptfs daemonizes and returns once the file system is mounted; `-nosyslog` keeps its messages
 * in `<baseDir>/<id>/gocryptfs.log`.
 *
 * Sized volumes (where loop devices and mkfs.ext4 work, ext4-volume.ts): the cipher directory lives
 * on a sparse ext4 file of the task's size, loop-mounted at `<baseDir>/<id>/ext4`, so the
 * plaintext mount reports that size (`-fsname=ephemeral` names it in `df`) and holds no more;
 * elsewhere the cipher directory is `<baseDir>/<id>/cipher` on the data dir's file system.
 */
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { closeSync, constants as fsConstants, openSync } from "node:fs";
import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PROBE_PREFIX, removeVolumeLeftovers } from "./cleanup.ts";
import { createExt4Volume, probeExt4Volumes, type Ext4Tools } from "./ext4-volume.ts";
import { isMounted, runProgram, unmountAndRemove, which } from "./system.ts";
import { assertSize, assertVolumeId, type EphemeralVolume, type StorageDriver } from "./types.ts";

export const MASTER_KEY_BYTES = 32;
/** gocryptfs exit code for a password that does not decrypt gocryptfs.conf. */
export const GOCRYPTFS_EXIT_PASSWORD_INCORRECT = 12;
const COMMAND_TIMEOUT_MS = 60_000;
const PASSWORD_LABEL = "localfargate/gocryptfs/config-password/v1";
const MASTER_KEY_LABEL = "localfargate/gocryptfs/master-key/v1";

/** The gocryptfs master key for a KMS data key: the key itself when it is 32 bytes. */
export function masterKeyFromDataKey(dataKey: Buffer): Buffer {
  if (dataKey.length === MASTER_KEY_BYTES) return Buffer.from(dataKey);
  if (dataKey.length < MASTER_KEY_BYTES) {
    throw new Error(`Data key too short: ${dataKey.length} bytes, gocryptfs needs ${MASTER_KEY_BYTES}`);
  }
  return Buffer.from(hkdfSync("sha256", dataKey, Buffer.alloc(0), MASTER_KEY_LABEL, MASTER_KEY_BYTES));
}

/** Lowercase hex of `bytes` followed by "\n", built in a Buffer (no string copy of the secret). */
function hexLine(...parts: Buffer[]): Buffer {
  const digits = "0123456789abcdef";
  const total = parts.reduce((n, p) => n + p.length * 2 + 1, 0);
  const out = Buffer.alloc(total);
  let o = 0;
  for (const p of parts) {
    for (const byte of p) {
      out[o++] = digits.charCodeAt(byte >> 4);
      out[o++] = digits.charCodeAt(byte & 15);
    }
    out[o++] = 0x0a;
  }
  return out;
}

function configPassword(masterKey: Buffer): Buffer {
  return createHmac("sha256", masterKey).update(PASSWORD_LABEL).digest();
}

function describe(r: { code: number | null; signal: string | null; output: string }): string {
  const how = r.code !== null ? `exit code ${r.code}` : `signal ${r.signal}`;
  const text = r.output.trim().split("\n").slice(-3).join(" / ");
  return text ? `${how}: ${text}` : how;
}

/**
 * Initialise an empty cipher directory whose master key is derived from dataKey
 * (see the module comment). The key material travels only through stdin.
 */
export async function initCipherDir(gocryptfs: string, cipherDir: string, dataKey: Buffer): Promise<void> {
  const masterKey = masterKeyFromDataKey(dataKey);
  const password = configPassword(masterKey);
  try {
    const init = await runProgram(gocryptfs, ["-init", "-q", "-scryptn", "10", "--", cipherDir], {
      stdin: hexLine(password),
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    if (init.code !== 0) throw new Error(`gocryptfs -init failed (${describe(init)})`);
    const passwd = await runProgram(gocryptfs, ["-passwd", "-q", "-masterkey=stdin", "--", cipherDir], {
      stdin: hexLine(masterKey, password),
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
    if (passwd.code !== 0) throw new Error(`gocryptfs -passwd failed (${describe(passwd)})`);
    // -passwd keeps the previous config (wrapping the discarded random master key) as .bak.
    await rm(join(cipherDir, "gocryptfs.conf.bak"), { force: true });
  } finally {
    masterKey.fill(0);
    password.fill(0);
  }
}

/**
 * As root, tasks run as users of their own (task-users.ts), which FUSE would keep out of a mount
 * made by root: `-allow_other` lets them in, and gocryptfs then also turns on the kernel's
 * permission checks (`default_permissions`), so the mount's modes and owners decide, as on any
 * directory. Root needs no `user_allow_other` in /etc/fuse.conf for this (fuse(8)).
 */
function allowOtherUsers(): string[] {
  return process.getuid?.() === 0 ? ["-allow_other"] : [];
}

/**
 * Mount an initialised cipher directory at mountPoint (an empty directory). Rejects, leaving
 * nothing mounted, when dataKey is not the volume's key. gocryptfs's messages go to logFile.
 */
export async function mountCipherDir(gocryptfs: string, cipherDir: string, mountPoint: string, dataKey: Buffer, logFile: string): Promise<void> {
  const masterKey = masterKeyFromDataKey(dataKey);
  const password = configPassword(masterKey);
  masterKey.fill(0);
  const fd = openSync(logFile, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_APPEND, 0o600);
  let result;
  try {
    result = await runProgram(gocryptfs, ["-q", "-nosyslog", "-nodev", "-nosuid", "-fsname=ephemeral", ...allowOtherUsers(), "--", cipherDir, mountPoint], {
      stdin: hexLine(password),
      outputFd: fd,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
  } finally {
    closeSync(fd);
    password.fill(0);
  }
  if (result.code === 0 && (await isMounted(mountPoint))) return;
  const log = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" / ");
  const output = { ...result, output: log };
  if (result.code === GOCRYPTFS_EXIT_PASSWORD_INCORRECT) {
    throw new Error(`gocryptfs refused to mount ${cipherDir}: the data key is not this volume's key (${describe(output)})`);
  }
  throw new Error(`gocryptfs could not mount ${cipherDir} at ${mountPoint} (${describe(output)})`);
}

export class GocryptfsDriver implements StorageDriver {
  readonly name = "gocryptfs" as const;
  readonly encryptsAtRest = true;
  readonly sizedVolumes: boolean;

  /**
   * baseDir: absolute and symlink-resolved; gocryptfs: path of the binary; ext4: the tools for
   * sized volumes, or undefined to keep cipher directories on the data dir's file system.
   */
  constructor(
    readonly baseDir: string,
    private readonly gocryptfs: string,
    private readonly ext4?: Ext4Tools,
  ) {
    this.sizedVolumes = ext4 !== undefined;
  }

  volumePaths(volumeId: string): { root: string; imageFile: string; ext4Mount: string; cipherDir: string; mountPath: string; logFile: string } {
    const root = join(this.baseDir, volumeId);
    const ext4Mount = join(root, "ext4");
    return {
      root,
      imageFile: join(root, "volume.img"),
      ext4Mount,
      cipherDir: this.ext4 ? join(ext4Mount, "cipher") : join(root, "cipher"),
      mountPath: join(root, "mnt"),
      logFile: join(root, "gocryptfs.log"),
    };
  }

  async provision(volumeId: string, sizeInGiB: number, dataKey: Buffer | undefined): Promise<EphemeralVolume> {
    assertVolumeId(volumeId);
    assertSize(sizeInGiB);
    if (!dataKey) throw new Error("The gocryptfs storage driver needs the volume's data key");
    const p = this.volumePaths(volumeId);
    try {
      await mkdir(p.root, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") throw new Error(`Volume ${volumeId} already exists`);
      throw e;
    }
    try {
      if (this.ext4) await createExt4Volume(this.ext4, p.imageFile, p.ext4Mount, sizeInGiB);
      await mkdir(p.cipherDir, { mode: 0o700 });
      await mkdir(p.mountPath, { mode: 0o755 });
      // Without ext4 the size is recorded, not enforced (no quota on the host file system).
      await writeFile(join(p.root, "volume.json"), JSON.stringify({ volumeId, sizeInGiB, driver: this.name, sizedVolume: this.sizedVolumes }) + "\n");
      await initCipherDir(this.gocryptfs, p.cipherDir, dataKey);
      await mountCipherDir(this.gocryptfs, p.cipherDir, p.mountPath, dataKey, p.logFile);
    } catch (e) {
      await unmountAndRemove(p.root).catch(() => undefined);
      throw e;
    }
    return { volumeId, mountPath: p.mountPath, sizeInGiB, encryptedAtRest: true };
  }

  async destroy(volumeId: string): Promise<void> {
    assertVolumeId(volumeId);
    await unmountAndRemove(this.volumePaths(volumeId).root);
  }

  async cleanupAll(): Promise<void> {
    await removeVolumeLeftovers(this.baseDir);
  }
}

export type GocryptfsProbe = { available: true; gocryptfs: string; ext4?: Ext4Tools; sizeNote?: string } | { available: false; reason: string };

/**
 * Whether the gocryptfs driver works here: Linux, /dev/fuse usable, gocryptfs and fusermount3
 * (or fusermount) on PATH, and a probe volume (random key) mounts, stores and returns a file,
 * and unmounts. baseDir must exist and be absolute. When it works, also whether sized volumes
 * (loop-mounted ext4) work; if not, sizeNote says why.
 */
export async function probeGocryptfs(baseDir: string): Promise<GocryptfsProbe> {
  if (process.platform !== "linux") return { available: false, reason: `gocryptfs needs Linux (this is ${process.platform})` };
  try {
    await access("/dev/fuse", fsConstants.R_OK | fsConstants.W_OK);
  } catch (e) {
    return { available: false, reason: `/dev/fuse is not usable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const gocryptfs = await which("gocryptfs");
  if (!gocryptfs) return { available: false, reason: "gocryptfs is not on PATH (Debian/Ubuntu: apt-get install gocryptfs fuse3)" };
  if (!(await which("fusermount3")) && !(await which("fusermount"))) {
    return { available: false, reason: "neither fusermount3 nor fusermount is on PATH (Debian/Ubuntu: apt-get install fuse3)" };
  }
  const root = join(baseDir, PROBE_PREFIX + randomBytes(6).toString("hex"));
  const cipherDir = join(root, "cipher");
  const mnt = join(root, "mnt");
  const key = randomBytes(MASTER_KEY_BYTES);
  try {
    await mkdir(cipherDir, { recursive: true, mode: 0o700 });
    await mkdir(mnt, { mode: 0o700 });
    await initCipherDir(gocryptfs, cipherDir, key);
    await mountCipherDir(gocryptfs, cipherDir, mnt, key, join(root, "gocryptfs.log"));
    await writeFile(join(mnt, "probe"), "localfargate probe");
    if ((await readFile(join(mnt, "probe"), "utf8")) !== "localfargate probe") {
      return { available: false, reason: "the probe gocryptfs mount did not return what was written" };
    }
    const ext4 = await probeExt4Volumes(baseDir, PROBE_PREFIX + randomBytes(6).toString("hex"));
    if (ext4.available) return { available: true, gocryptfs, ext4: ext4.tools };
    return { available: true, gocryptfs, sizeNote: `volume sizes are recorded, not enforced: ${ext4.reason}` };
  } catch (e) {
    return { available: false, reason: `probe mount failed: ${(e as Error).message}` };
  } finally {
    key.fill(0);
    await unmountAndRemove(root).catch(() => undefined);
  }
}
