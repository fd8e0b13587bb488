import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chooseStorageDriver, newVolumeId, PlainDriver, VOLUME_ID_PATTERN } from "./index.ts";
import { parseMountInfo } from "./system.ts";

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe("newVolumeId", () => {
  it("is vol- and 17 lowercase hex digits, and unique", () => {
    const ids = new Set(Array.from({ length: 200 }, () => newVolumeId()));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^vol-[0-9a-f]{17}$/);
      expect(VOLUME_ID_PATTERN.test(id)).toBe(true);
    }
  });
});

describe("parseMountInfo", () => {
  it("reads mount points and decodes octal escapes", () => {
    const text =
      "36 35 98:0 /mnt1 /mnt/a\\040dir rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n" +
      "42 27 0:39 / /tmp/x/vol-1/mnt rw,nosuid,nodev,relatime - fuse.gocryptfs /tmp/x/vol-1/cipher rw,user_id=0\n";
    expect(parseMountInfo(text)).toEqual([
      { mountPoint: "/mnt/a dir", fsType: "ext3", source: "/dev/root" },
      { mountPoint: "/tmp/x/vol-1/mnt", fsType: "fuse.gocryptfs", source: "/tmp/x/vol-1/cipher" },
    ]);
  });
});

describe("plain storage driver", () => {
  let base: string;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "lf-plain-"));
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it("provisions a writable directory, records the size and destroys it idempotently", async () => {
    const driver = await chooseStorageDriver({ baseDir: base, override: "plain" });
    expect(driver.name).toBe("plain");
    expect(driver.encryptsAtRest).toBe(false);
    const id = newVolumeId();
    const vol = await driver.provision(id, 21, undefined);
    expect(vol).toMatchObject({ volumeId: id, sizeInGiB: 21, encryptedAtRest: false });
    expect(vol.mountPath).toBe(join(driver.baseDir, id, "mnt"));
    await writeFile(join(vol.mountPath, "f.txt"), "plain marker");
    expect(await readFile(join(vol.mountPath, "f.txt"), "utf8")).toBe("plain marker");
    expect(JSON.parse(await readFile(join(driver.baseDir, id, "volume.json"), "utf8"))).toMatchObject({ sizeInGiB: 21 });

    await driver.destroy(id);
    expect(await exists(join(driver.baseDir, id))).toBe(false);
    await driver.destroy(id); // idempotent
    expect(await readdir(driver.baseDir)).toEqual([]);
  });

  it("refuses an existing volume, a malformed ID and a bad size", async () => {
    const driver = await chooseStorageDriver({ baseDir: base, override: "plain" });
    const id = newVolumeId();
    await driver.provision(id, 20, undefined);
    await expect(driver.provision(id, 20, undefined)).rejects.toThrow(/already exists/);
    await expect(driver.provision("../escape", 20, undefined)).rejects.toThrow(/Invalid volume ID/);
    await expect(driver.destroy("vol-../../x")).rejects.toThrow(/Invalid volume ID/);
    await expect(driver.provision(newVolumeId(), 0, undefined)).rejects.toThrow(/size/);
  });

  it("cleanupAll deletes volume leftovers and nothing else", async () => {
    const driver = await chooseStorageDriver({ baseDir: base, override: "plain" });
    const a = await driver.provision(newVolumeId(), 20, undefined);
    const b = await driver.provision(newVolumeId(), 20, undefined);
    await writeFile(join(a.mountPath, "data"), "x");
    await mkdir(join(driver.baseDir, ".probe-123456"), { recursive: true });
    await writeFile(join(driver.baseDir, "unrelated.txt"), "keep me");

    const restarted = new PlainDriver(driver.baseDir);
    await restarted.cleanupAll();
    expect(await exists(join(driver.baseDir, a.volumeId))).toBe(false);
    expect(await exists(join(driver.baseDir, b.volumeId))).toBe(false);
    expect((await readdir(driver.baseDir)).sort()).toEqual(["unrelated.txt"]);
  });

  it("creates baseDir when missing", async () => {
    const driver = await chooseStorageDriver({ baseDir: join(base, "deep", "volumes"), override: "plain" });
    expect(await exists(driver.baseDir)).toBe(true);
  });
});

describe("chooseStorageDriver without gocryptfs", () => {
  let base: string;
  let savedPath: string | undefined;
  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), "lf-choose-"));
    savedPath = process.env.PATH;
    // An empty PATH: no gocryptfs, no fusermount.
    process.env.PATH = join(base, "empty-bin");
  });
  afterEach(async () => {
    process.env.PATH = savedPath;
    await rm(base, { recursive: true, force: true });
  });

  it("auto falls back to plain and says why", async () => {
    const reasons: string[] = [];
    const driver = await chooseStorageDriver({ baseDir: join(base, "v"), onFallback: (r) => reasons.push(r) });
    expect(driver.name).toBe("plain");
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/gocryptfs|fuse|Linux/);
  });

  it("override gocryptfs throws a clear error", async () => {
    await expect(chooseStorageDriver({ baseDir: join(base, "v"), override: "gocryptfs" })).rejects.toThrow(/Storage driver 'gocryptfs' is not available: .*(gocryptfs|fuse|Linux)/);
  });
});
