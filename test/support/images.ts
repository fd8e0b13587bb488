/**
 * Builds a small busybox image at test time, with no registry and no engine: one gzip layer with
 * the host's static busybox and its applet links, `/etc/passwd` with `app:1000`, and an image
 * config with Entrypoint, Cmd, Env, WorkingDir and User. Every timestamp is 0, so the digests
 * depend only on the busybox binary and the options.
 * Written as an OCI archive (a tar of an OCI image layout) and as a `docker save` archive.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink";
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
}
interface TarPack {
  entry(header: TarEntry, body?: Buffer | string): void;
  finalize(): void;
  on(event: "data", listener: (chunk: Buffer) => void): void;
  on(event: "end", listener: () => void): void;
  on(event: "error", listener: (e: Error) => void): void;
}
const tar = createRequire(import.meta.url)("tar-stream") as { pack(): TarPack };

/** Where the tests find a static busybox (Debian's busybox-static). */
export const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p));

export interface ImageConfigOptions {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface BuiltImage {
  /** the OCI archive (`oci-archive:`) */
  ociArchive: string;
  /** the same image as a `docker save` tar (`docker-archive:`), tagged with `dockerTag` */
  dockerArchive: string;
  dockerTag: string;
  /** digest of the OCI manifest */
  manifestDigest: string;
  /** digest of the image config (the image ID) */
  configDigest: string;
  config: Required<ImageConfigOptions>;
}

export const DEFAULT_CONFIG: Required<ImageConfigOptions> = {
  Entrypoint: ["/bin/sh", "-c"],
  Cmd: ["echo hello from $GREETING_NAME; id; pwd"],
  Env: ["PATH=/bin", "GREETING_NAME=image"],
  WorkingDir: "/home/app",
  User: "1000",
};

const APPLETS = ["sh", "ls", "cat", "df", "id", "wget", "nc", "sleep", "httpd", "echo", "env", "ps", "grep", "touch", "pwd", "whoami", "true", "false"];
const EPOCH = new Date(0);
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

function packToBuffer(fill: (pack: TarPack) => void): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on("data", (c) => chunks.push(c));
    pack.on("end", () => resolve(Buffer.concat(chunks)));
    pack.on("error", reject);
  });
  fill(pack);
  pack.finalize();
  return done;
}

function rootfsLayer(busybox: Buffer, marker: string): Promise<Buffer> {
  return packToBuffer((pack) => {
    const dir = (name: string, mode = 0o755, uid = 0) => pack.entry({ name, type: "directory", mode, uid, gid: uid, mtime: EPOCH });
    for (const d of ["bin/", "etc/", "home/", "proc/", "sys/", "dev/"]) dir(d);
    dir("tmp/", 0o1777);
    dir("home/app/", 0o755, 1000);
    pack.entry({ name: "bin/busybox", mode: 0o755, mtime: EPOCH }, busybox);
    for (const applet of APPLETS) pack.entry({ name: `bin/${applet}`, type: "symlink", linkname: "busybox", mtime: EPOCH });
    pack.entry({ name: "etc/passwd", mode: 0o644, mtime: EPOCH }, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
    pack.entry({ name: "etc/group", mode: 0o644, mtime: EPOCH }, "root:x:0:\napp:x:1000:\n");
    pack.entry({ name: "etc/image-marker", mode: 0o644, mtime: EPOCH }, `${marker}\n`);
  });
}

/**
 * Writes `<dir>/image.oci.tar` and `<dir>/image.docker.tar`. `marker` (in /etc/image-marker)
 * makes different images from the same busybox.
 */
export async function buildBusyboxImage(dir: string, options: { config?: ImageConfigOptions; marker?: string; dockerTag?: string } = {}): Promise<BuiltImage> {
  if (!BUSYBOX) throw new Error("no static busybox on this machine (apt-get install busybox-static)");
  const config = { ...DEFAULT_CONFIG, ...options.config };
  const layerTar = await rootfsLayer(readFileSync(BUSYBOX), options.marker ?? "localfargate test image");
  const layerGz = gzipSync(layerTar, { level: 6 });
  const configJson = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config,
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(layerTar)}`] },
      history: [{ created_by: "test/support/images.ts" }],
    }),
  );
  const configDigest = `sha256:${sha256(configJson)}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: configJson.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${sha256(layerGz)}`, size: layerGz.length }],
    }),
  );
  const manifestDigest = `sha256:${sha256(manifest)}`;
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: manifestDigest, size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "latest" } },
    ],
  });
  const blobs: [string, Buffer][] = [
    [configDigest, configJson],
    [`sha256:${sha256(layerGz)}`, layerGz],
    [manifestDigest, manifest],
  ];
  const ociArchive = join(dir, "image.oci.tar");
  writeFileSync(
    ociArchive,
    await packToBuffer((pack) => {
      pack.entry({ name: "oci-layout", mtime: EPOCH }, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
      pack.entry({ name: "index.json", mtime: EPOCH }, index);
      pack.entry({ name: "blobs/", type: "directory", mtime: EPOCH });
      pack.entry({ name: "blobs/sha256/", type: "directory", mtime: EPOCH });
      for (const [digest, body] of blobs) pack.entry({ name: `blobs/sha256/${digest.slice(7)}`, mtime: EPOCH }, body);
    }),
  );
  // `docker save`: manifest.json naming the config, the repo tags and the uncompressed layers
  const dockerTag = options.dockerTag ?? "localfargate-test/busybox:1";
  const dockerArchive = join(dir, "image.docker.tar");
  const configName = `${configDigest.slice(7)}.json`;
  const layerName = `${sha256(layerTar)}/layer.tar`;
  writeFileSync(
    dockerArchive,
    await packToBuffer((pack) => {
      pack.entry({ name: configName, mtime: EPOCH }, configJson);
      pack.entry({ name: `${sha256(layerTar)}/`, type: "directory", mtime: EPOCH });
      pack.entry({ name: layerName, mtime: EPOCH }, layerTar);
      pack.entry({ name: "manifest.json", mtime: EPOCH }, JSON.stringify([{ Config: configName, RepoTags: [dockerTag], Layers: [layerName] }]));
    }),
  );
  return { ociArchive, dockerArchive, dockerTag, manifestDigest, configDigest, config };
}
