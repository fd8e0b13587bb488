/** The image store with the real skopeo, tar and umoci; skipped (with the reason) where they are missing. */
import { execFileSync, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageLoadError, ImageStore, cannotPullStopReason } from "../../src/fargate/images/store.ts";
import { detectImageTools, findExecutable } from "../../src/fargate/images/tools.ts";
import { unpackImage } from "../../src/fargate/images/unpack.ts";
import { BUSYBOX, buildBusyboxImage, type BuiltImage } from "../support/images.ts";

const tools = detectImageTools();
const missing = [!tools.skopeo && "skopeo", !tools.tar && "tar", !tools.umoci && "umoci", !BUSYBOX && "busybox-static"].filter(Boolean);
if (missing.length) console.warn(`images-store tests skipped: ${missing.join(", ")} not installed (scripts/setup.sh installs them)`);

describe.skipIf(missing.length > 0)("image store", () => {
  let dir: string;
  let built: BuiltImage;
  let root: string;
  let store: ImageStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "localfargate-images-"));
    built = await buildBusyboxImage(dir);
    root = join(dir, "data", "images");
    store = new ImageStore(root, { ...tools, containersStorage: false, dockerDaemon: false });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("builds the same image every time (deterministic digests)", async () => {
    mkdirSync(join(dir, "again"));
    const again = await buildBusyboxImage(join(dir, "again"));
    expect(again.manifestDigest).toBe(built.manifestDigest);
    expect(again.configDigest).toBe(built.configDigest);
  });

  it("refuses an OCI archive that names no image unless a name is given", async () => {
    await expect(store.load(built.ociArchive)).rejects.toThrow(/does not name its image.*--name/);
    expect(store.list()).toEqual([]);
    const [img] = await store.load(built.ociArchive, ["team/busybox:oci"]);
    expect(img).toEqual({ configDigest: built.configDigest, manifestDigest: built.manifestDigest, names: ["docker.io/team/busybox:oci"] });
  });

  it("loads a docker save archive by its RepoTags", async () => {
    const [img] = await store.load(built.dockerArchive);
    // skopeo rewrites a docker save image's config and manifest as OCI: a new image ID
    expect(img.configDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(img.names).toEqual(["docker.io/localfargate-test/busybox:1"]);
    expect(store.list()).toHaveLength(2);
    // loading it again changes nothing
    expect(await store.load(built.dockerArchive)).toEqual([img]);
    expect(store.list()).toHaveLength(2);
  });

  it("moves a name to the image loaded last, as docker load does", async () => {
    const [img] = await store.load(built.ociArchive, ["localfargate-test/busybox:moving"]);
    expect(img.names).toEqual(["docker.io/localfargate-test/busybox:moving", "docker.io/team/busybox:oci"]);
    const [docker] = await store.load(built.dockerArchive, ["localfargate-test/busybox:moving"]);
    expect(docker.names).toEqual(["docker.io/localfargate-test/busybox:1", "docker.io/localfargate-test/busybox:moving"]);
    expect(store.list().find((i) => i.configDigest === built.configDigest)?.names).toEqual(["docker.io/team/busybox:oci"]);
  });

  it("finds images by name and by digest, and answers AWS's stop reason otherwise", () => {
    const byTag = store.lookup("docker.io/team/busybox:oci");
    expect(byTag.found && byTag.image.configDigest).toBe(built.configDigest);
    expect(store.lookup("localfargate-test/busybox:1").found).toBe(true);
    // an OCI archive keeps its manifest digest, so the name pinned by digest finds it
    const pinned = store.lookup(`team/busybox@${built.manifestDigest}`);
    expect(pinned.found && pinned.image.configDigest).toBe(built.configDigest);
    // the digest of another repository's image does not match
    expect(store.lookup(`other/busybox@${built.manifestDigest}`).found).toBe(false);
    expect(store.lookup("localfargate-test/busybox:2")).toEqual({
      found: false,
      stopReason:
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/localfargate-test/busybox:2: docker.io/localfargate-test/busybox:2: not found",
    });
    expect(store.lookup("Upper/Case")).toMatchObject({ found: false, stopReason: expect.stringContaining("invalid reference format") });
    expect(cannotPullStopReason("docker.io/library/busybox:latest")).toContain(
      "failed to resolve ref docker.io/library/busybox:latest: docker.io/library/busybox:latest: not found",
    );
  });

  it("resolve answers the stop reason when no local engine has the image", async () => {
    expect(await store.resolve("nothere")).toEqual({ found: false, stopReason: cannotPullStopReason("docker.io/library/nothere:latest") });
  });

  it("parses the image's run configuration", () => {
    const found = store.lookup("localfargate-test/busybox:1");
    if (!found.found) throw new Error("not found");
    expect(store.runConfig(found.image)).toEqual({ entrypoint: built.config.Entrypoint, cmd: built.config.Cmd, env: built.config.Env, workingDir: "/home/app", user: "1000" });
  });

  it("keeps its names across a restart", () => {
    const reopened = new ImageStore(root, tools);
    expect(reopened.list()).toEqual(store.list());
  });

  it("unpacks the rootfs with ownership shifted by the id map", async () => {
    const found = store.lookup("localfargate-test/busybox:1");
    if (!found.found) throw new Error("not found");
    const rootfs = join(dir, "bundle", "rootfs");
    mkdirSync(join(dir, "bundle"));
    let t = 0;
    const { ms } = await unpackImage(store, found.image, rootfs, {
      uidMap: { containerId: 0, hostId: 200000, size: 65536 },
      gidMap: { containerId: 0, hostId: 200000, size: 65536 },
      realNowMs: () => (t += 5),
    });
    expect(ms).toBe(5);
    expect(readFileSync(join(rootfs, "etc/image-marker"), "utf8")).toBe("localfargate test image\n");
    expect(statSync(join(rootfs, "bin/busybox")).uid).toBe(200000);
    expect(statSync(join(rootfs, "home/app")).uid).toBe(201000);
    await expect(unpackImage(store, found.image, rootfs)).rejects.toThrow("already exists");
    await expect(unpackImage(store, found.image, join(dir, "bundle", "r2"), { uidMap: { containerId: 0, hostId: -1, size: 1 } })).rejects.toThrow("whole numbers");
  });

  it("refuses what is not an image archive, changing nothing", async () => {
    const before = store.list();
    const notTar = join(dir, "not.tar");
    writeFileSync(notTar, "hello");
    await expect(store.load(notTar)).rejects.toThrow("is not a tar archive");
    await expect(store.load("relative.tar")).rejects.toThrow("must be absolute");
    await expect(store.load(join(dir, "missing.tar"))).rejects.toThrow("ENOENT");
    await expect(store.load(dir)).rejects.toThrow("is not a regular file");
    await expect(store.load(built.dockerArchive, ["Bad Name"])).rejects.toThrow(ImageLoadError);
    // a tar without manifest.json or index.json
    mkdirSync(join(dir, "plain"));
    writeFileSync(join(dir, "plain", "a.txt"), "a");
    const plainTar = join(dir, "plain.tar");
    execFileSync("tar", ["-cf", plainTar, "-C", join(dir, "plain"), "a.txt"]);
    await expect(store.load(plainTar)).rejects.toThrow("neither a docker save archive");
    expect(store.list()).toEqual(before);
  });
});

const podman = findExecutable("podman");
if (!podman) console.warn("containers-storage import test skipped: podman is not installed");

describe.skipIf(missing.length > 0 || !podman || !tools.containersStorage)("image store: a local Podman store", () => {
  let dir: string;
  const name = `localhost/lf-images-test-${randomUUID().slice(0, 8)}:1`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "localfargate-images-podman-"));
    const built = await buildBusyboxImage(dir, { dockerTag: name, marker: name });
    execFileSync(podman as string, ["load", "--quiet", "--input", built.dockerArchive], { stdio: "ignore" });
  });
  afterAll(() => {
    spawnSync(podman as string, ["rmi", "--force", name], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies an image the store lacks from containers-storage on resolve, then finds it locally", async () => {
    const store = new ImageStore(join(dir, "images"), { ...tools, dockerDaemon: false });
    expect(store.lookup(name).found).toBe(false);
    const resolved = await store.resolve(name);
    expect(resolved.found).toBe(true);
    if (!resolved.found) return;
    expect(resolved.image.names).toEqual([name]);
    expect(store.runConfig(resolved.image).user).toBe("1000");
    expect(store.lookup(name).found).toBe(true);
    // without a local engine the same name is AWS's stop reason
    const without = new ImageStore(join(dir, "images-2"), { ...tools, containersStorage: false, dockerDaemon: false });
    expect(await without.resolve(name)).toEqual({ found: false, stopReason: cannotPullStopReason(name) });
  });
});
