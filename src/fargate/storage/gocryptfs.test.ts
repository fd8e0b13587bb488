/**
 * The gocryptfs driver against the real gocryptfs + FUSE. Skipped (with the reason printed) where
 * they are unavailable; on a machine with /dev/fuse and `apt-get install gocryptfs fuse3` they run.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diskUsage, sparseFileIncludes } from "../../../test/support/sparse-file.ts";
import { loopDevicesBackedUnder, probeExt4Volumes } from "./ext4-volume.ts";
import { GocryptfsDriver, mountCipherDir } from "./gocryptfs.ts";
import { chooseStorageDriver, newVolumeId, probeGocryptfs } from "./index.ts";
import { isMounted, mountsUnder, runProgram, unmount } from "./system.ts";

const probeBase = await mkdtemp(join(tmpdir(), "lf-gcprobe-"));
const probe = await probeGocryptfs(probeBase);
await rm(probeBase, { recursive: true, force: true });
if (!probe.available) console.warn(`gocryptfs storage tests skipped: ${probe.reason}`);

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

const GIB = 1024 ** 3;

/** Every regular file under dir (recursively), with its bytes; a sized volume's sparse image is searched separately. */
async function allFiles(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(p)));
    else if (entry.isFile() && entry.name !== "volume.img") out.push({ path: p, bytes: await readFile(p) });
  }
  return out;
}

async function waitFor(cond: () => Promise<boolean>, what: string, deadlineMs = 60_000): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.skipIf(!probe.available)("gocryptfs storage driver", () => {
  let base: string;
  let driver: GocryptfsDriver;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "lf-gocryptfs-"));
    const chosen = await chooseStorageDriver({ baseDir: base });
    expect(chosen.name).toBe("gocryptfs");
    expect(chosen.encryptsAtRest).toBe(true);
    driver = chosen as GocryptfsDriver;
  });
  afterAll(async () => {
    if (driver) await driver.cleanupAll();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("stores only ciphertext, reads back through the mount, and destroy leaves nothing", async () => {
    const marker = "LOCALFARGATE-MARKER-" + randomBytes(8).toString("hex");
    const key = randomBytes(32);
    const id = newVolumeId();
    const vol = await driver.provision(id, 30, key);
    expect(vol).toMatchObject({ volumeId: id, sizeInGiB: 30, encryptedAtRest: true });
    expect(await isMounted(vol.mountPath)).toBe(true);

    await mkdir(join(vol.mountPath, "sub"));
    await writeFile(join(vol.mountPath, "sub", `${marker}.txt`), `${marker}\n`.repeat(100));
    expect(await readFile(join(vol.mountPath, "sub", `${marker}.txt`), "utf8")).toBe(`${marker}\n`.repeat(100));

    const { cipherDir, root } = driver.volumePaths(id);
    const cipherFiles = await allFiles(cipherDir);
    expect(cipherFiles.length).toBeGreaterThan(2); // conf, diriv(s), the file
    const needle = Buffer.from(marker);
    for (const f of cipherFiles) {
      expect(f.bytes.includes(needle), `marker bytes in ${f.path}`).toBe(false);
      expect(f.path.includes(marker), `marker in file name ${f.path}`).toBe(false);
    }
    // No key material anywhere under the volume (raw or hex).
    for (const f of await allFiles(root)) {
      expect(f.bytes.includes(key), `raw key in ${f.path}`).toBe(false);
      expect(f.bytes.includes(Buffer.from(key.toString("hex"))), `hex key in ${f.path}`).toBe(false);
    }
    if (driver.sizedVolumes) {
      await runProgram("sync", []);
      const { imageFile } = driver.volumePaths(id);
      expect(sparseFileIncludes(imageFile, Buffer.from("gocryptfs.diriv")), "the search sees the image's data").toBe(true);
      expect(sparseFileIncludes(imageFile, needle), "marker in the volume image").toBe(false);
      expect(sparseFileIncludes(imageFile, key), "raw key in the volume image").toBe(false);
      expect(sparseFileIncludes(imageFile, Buffer.from(key.toString("hex"))), "hex key in the volume image").toBe(false);
    }

    await driver.destroy(id);
    expect(await isMounted(vol.mountPath)).toBe(false);
    expect(await exists(root)).toBe(false);
    expect(await exists(cipherDir)).toBe(false);
    expect(await loopDevicesBackedUnder(root)).toEqual([]);
    await driver.destroy(id); // idempotent
  });

  it("uses the 32-byte data key as gocryptfs's master key", async () => {
    const key = randomBytes(32);
    const id = newVolumeId();
    const vol = await driver.provision(id, 20, key);
    await writeFile(join(vol.mountPath, "f"), "through the driver");
    // A second, independent view of the same cipher dir opened with -masterkey=stdin.
    const view = join(base, `view-${id}`);
    await mkdir(view);
    const log = openSync(join(base, `view-${id}.log`), "a");
    try {
      const r = await runProgram("gocryptfs", ["-q", "-nosyslog", "-masterkey=stdin", "--", driver.volumePaths(id).cipherDir, view], {
        stdin: Buffer.from(key.toString("hex") + "\n"),
        outputFd: log,
      });
      expect(r.code).toBe(0);
      expect(await readFile(join(view, "f"), "utf8")).toBe("through the driver");
    } finally {
      closeSync(log);
      await unmount(view);
      await rm(view, { recursive: true, force: true });
      await driver.destroy(id);
    }
  });

  it("a wrong key cannot mount an existing cipher dir; the right one can", async () => {
    const key = randomBytes(64); // Fargate asks KMS for 64-byte data keys
    const id = newVolumeId();
    const vol = await driver.provision(id, 20, key);
    await writeFile(join(vol.mountPath, "secret"), "s3cret");
    await unmount(vol.mountPath);
    expect(await isMounted(vol.mountPath)).toBe(false);
    const { cipherDir, mountPath, logFile } = driver.volumePaths(id);

    const wrong = Buffer.from(key);
    wrong[0]! ^= 1;
    await expect(mountCipherDir("gocryptfs", cipherDir, mountPath, wrong, logFile)).rejects.toThrow(/not this volume's key/);
    expect(await isMounted(mountPath)).toBe(false);
    expect(await readdir(mountPath)).toEqual([]);

    await mountCipherDir("gocryptfs", cipherDir, mountPath, key, logFile);
    expect(await readFile(join(mountPath, "secret"), "utf8")).toBe("s3cret");
    await driver.destroy(id);
    expect(await exists(driver.volumePaths(id).root)).toBe(false);
  });

  it("refuses to provision without a data key or with a short one, leaving nothing behind", async () => {
    const id = newVolumeId();
    await expect(driver.provision(id, 20, undefined)).rejects.toThrow(/data key/);
    await expect(driver.provision(id, 20, randomBytes(16))).rejects.toThrow(/too short/);
    expect(await exists(driver.volumePaths(id).root)).toBe(false);
  });

  it("destroy succeeds while a process still has its cwd in the volume", async () => {
    const id = newVolumeId();
    const vol = await driver.provision(id, 20, randomBytes(32));
    const child = spawn("sleep", ["60"], { cwd: vol.mountPath, stdio: "ignore" });
    await new Promise<void>((res, rej) => {
      child.once("spawn", res);
      child.once("error", rej);
    });
    try {
      await driver.destroy(id);
      expect(await isMounted(vol.mountPath)).toBe(false);
      expect(await exists(driver.volumePaths(id).root)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("cleanupAll after a restart unmounts stale mounts and deletes every volume", async () => {
    const a = await driver.provision(newVolumeId(), 20, randomBytes(32));
    const b = await driver.provision(newVolumeId(), 20, randomBytes(32));
    await writeFile(join(b.mountPath, "x"), "x");
    const ext4Mounts = driver.sizedVolumes ? [driver.volumePaths(a.volumeId).ext4Mount, driver.volumePaths(b.volumeId).ext4Mount] : [];
    expect((await mountsUnder(driver.baseDir)).sort()).toEqual([a.mountPath, b.mountPath, ...ext4Mounts].sort());
    if (driver.sizedVolumes) expect(await loopDevicesBackedUnder(driver.baseDir)).toHaveLength(2);

    const restarted = await chooseStorageDriver({ baseDir: base, override: "gocryptfs" });
    await restarted.cleanupAll();
    expect(await mountsUnder(driver.baseDir)).toEqual([]);
    expect(await loopDevicesBackedUnder(driver.baseDir)).toEqual([]);
    expect((await readdir(driver.baseDir)).filter((n) => n.startsWith("vol-"))).toEqual([]);
  });

  it("cleanupAll also unmounts a mount whose gocryptfs process died", async () => {
    const vol = await driver.provision(newVolumeId(), 20, randomBytes(32));
    const { cipherDir } = driver.volumePaths(vol.volumeId);
    const pids = (await runProgram("pgrep", ["-f", `gocryptfs .*${cipherDir}`])).output.trim().split(/\s+/).filter(Boolean);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(Number(pid), "SIGKILL");
    await waitFor(async () => (await runProgram("pgrep", ["-f", `gocryptfs .*${cipherDir}`])).code !== 0, "gocryptfs to die");
    expect(await isMounted(vol.mountPath)).toBe(true); // dead FUSE mount: "Transport endpoint is not connected"

    await driver.cleanupAll();
    expect(await isMounted(vol.mountPath)).toBe(false);
    expect(await exists(driver.volumePaths(vol.volumeId).root)).toBe(false);
    expect(await loopDevicesBackedUnder(driver.baseDir)).toEqual([]);
  });
});

const sized = probe.available && probe.ext4 !== undefined;
if (probe.available && !sized) console.warn(`sized volume tests skipped: ${probe.sizeNote}`);

describe.skipIf(!sized)("gocryptfs storage driver: sized volumes (gocryptfs on a loop-mounted sparse ext4)", () => {
  let base: string;
  let driver: GocryptfsDriver;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "lf-sized-"));
    driver = (await chooseStorageDriver({ baseDir: base, override: "gocryptfs" })) as GocryptfsDriver;
    expect(driver.sizedVolumes).toBe(true);
  });
  afterAll(async () => {
    if (driver) await driver.cleanupAll();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it.each([20, 50])("the plaintext mount reports the volume's size (%i GiB) and the ephemeral file system name", async (size) => {
    const vol = await driver.provision(newVolumeId(), size, randomBytes(32));
    try {
      const fs = await statfs(vol.mountPath);
      const total = fs.blocks * fs.bsize;
      expect(total).toBeGreaterThan(size * GIB * 0.95); // ext4's own metadata takes a little
      expect(total).toBeLessThanOrEqual(size * GIB);
      const mounts = (await readFile("/proc/self/mountinfo", "utf8")).split("\n").find((l) => l.split(" ")[4] === vol.mountPath);
      expect(mounts).toMatch(/ - fuse\.gocryptfs ephemeral /);
    } finally {
      await driver.destroy(vol.volumeId);
    }
  });

  it("an empty 200 GiB volume costs well under 10 MB of real disk; destroy removes mounts, loop device and file", async () => {
    const vol = await driver.provision(newVolumeId(), 200, randomBytes(32));
    const p = driver.volumePaths(vol.volumeId);
    expect((await stat(p.imageFile)).size).toBe(200 * GIB);
    await writeFile(join(vol.mountPath, "small"), "x");
    await runProgram("sync", []);
    expect(diskUsage(p.imageFile)).toBeLessThan(10 * 1024 * 1024);
    expect(await isMounted(p.ext4Mount)).toBe(true);
    expect(await loopDevicesBackedUnder(p.root)).toHaveLength(1);

    await driver.destroy(vol.volumeId);
    expect(await isMounted(vol.mountPath)).toBe(false);
    expect(await isMounted(p.ext4Mount)).toBe(false);
    expect(await loopDevicesBackedUnder(p.root)).toEqual([]);
    expect(await exists(p.root)).toBe(false);
  });

  it("writes beyond the volume's size fail with ENOSPC", async () => {
    const vol = await driver.provision(newVolumeId(), 1, randomBytes(32));
    try {
      const mib = Buffer.alloc(1024 * 1024, 7);
      let error: NodeJS.ErrnoException | undefined;
      const { open } = await import("node:fs/promises");
      const fh = await open(join(vol.mountPath, "big"), "w");
      try {
        for (let i = 0; i < 1100 && !error; i++) await fh.write(mib).catch((e: NodeJS.ErrnoException) => (error = e));
      } finally {
        await fh.close().catch(() => undefined);
      }
      expect(error?.code).toBe("ENOSPC");
    } finally {
      await driver.destroy(vol.volumeId);
    }
  });

  it("falls back to unsized cipher directories when mkfs.ext4 is missing", async () => {
    const r = await probeExt4Volumes(base, ".probe-nomkfs", "/nonexistent");
    expect(r).toEqual({ available: false, reason: expect.stringMatching(/mkfs\.ext4 is not on PATH/) });
    const plainDirs = new GocryptfsDriver(base, probe.available ? probe.gocryptfs : "gocryptfs");
    expect(plainDirs.sizedVolumes).toBe(false);
    const vol = await plainDirs.provision(newVolumeId(), 200, randomBytes(32));
    try {
      expect(await exists(plainDirs.volumePaths(vol.volumeId).imageFile)).toBe(false);
      expect(await exists(join(plainDirs.volumePaths(vol.volumeId).root, "cipher", "gocryptfs.conf"))).toBe(true);
    } finally {
      await plainDirs.destroy(vol.volumeId);
    }
  });
});
