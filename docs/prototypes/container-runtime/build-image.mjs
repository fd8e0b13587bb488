// Builds a busybox OCI image layout (and an oci-archive tar of it) with no registry.
// usage: node build-image.mjs OUTDIR   -> OUTDIR/layout/ and OUTDIR/image.oci.tar
import { createRequire } from "node:module";
import { createHash } from "node:crypto";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
const require = createRequire(import.meta.url);
const tar = require("tar-stream");

const out = process.argv[2] ?? "img";
const layout = join(out, "layout");
mkdirSync(join(layout, "blobs/sha256"), { recursive: true });

function collect(pack) {
  return new Promise((res, rej) => {
    const bufs = [];
    pack.on("data", (b) => bufs.push(b));
    pack.on("end", () => res(Buffer.concat(bufs)));
    pack.on("error", rej);
  });
}
const sha = (b) => createHash("sha256").update(b).digest("hex");
function blob(buf) {
  const d = sha(buf);
  writeFileSync(join(layout, "blobs/sha256", d), buf);
  return { digest: `sha256:${d}`, size: buf.length };
}

const busybox = readFileSync("/bin/busybox");
const mtime = new Date(0);
const pack = tar.pack();
const done = collect(pack);
const dir = (name, mode = 0o755, uid = 0) => pack.entry({ name, type: "directory", mode, uid, gid: uid, mtime });
dir("bin/");
dir("tmp/", 0o1777);
dir("etc/");
dir("home/");
dir("home/app/", 0o755, 1000);
dir("www/");
dir("proc/");
dir("sys/");
dir("dev/");
pack.entry({ name: "bin/busybox", mode: 0o755, mtime }, busybox);
for (const app of [
  "sh",
  "ls",
  "cat",
  "df",
  "id",
  "wget",
  "nc",
  "sleep",
  "httpd",
  "echo",
  "env",
  "mount",
  "ps",
  "grep",
  "touch",
  "dd",
  "pwd",
  "hostname",
  "ip",
  "ifconfig",
  "whoami",
  "true",
  "false",
])
  pack.entry({ name: `bin/${app}`, type: "symlink", linkname: "busybox", mtime });
pack.entry({ name: "etc/passwd", mode: 0o644, mtime }, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
pack.entry({ name: "etc/group", mode: 0o644, mtime }, "root:x:0:\napp:x:1000:\n");
pack.entry({ name: "www/index.html", mode: 0o644, mtime }, "hello from the image\n");
pack.finalize();
const layerTar = await done;
const layerGz = gzipSync(layerTar);
const layer = blob(layerGz);
const config = {
  architecture: "amd64",
  os: "linux",
  config: { Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo hello from $GREETING_NAME; id; pwd"], Env: ["PATH=/bin", "GREETING_NAME=image"], WorkingDir: "/home/app", User: "1000" },
  rootfs: { type: "layers", diff_ids: [`sha256:${sha(layerTar)}`] },
  history: [{ created_by: "build-image.mjs" }],
};
const cfg = blob(Buffer.from(JSON.stringify(config)));
const manifest = {
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", ...cfg },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
};
const man = blob(Buffer.from(JSON.stringify(manifest)));
writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
writeFileSync(
  join(layout, "index.json"),
  JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: manifest.mediaType, ...man, annotations: { "org.opencontainers.image.ref.name": "latest" } }] }),
);
// oci-archive = tar of the layout
const ap = tar.pack();
const adone = collect(ap);
const { readdirSync } = await import("node:fs");
ap.entry({ name: "oci-layout", mtime }, readFileSync(join(layout, "oci-layout")));
ap.entry({ name: "index.json", mtime }, readFileSync(join(layout, "index.json")));
for (const f of readdirSync(join(layout, "blobs/sha256"))) ap.entry({ name: `blobs/sha256/${f}`, mtime }, readFileSync(join(layout, "blobs/sha256", f)));
ap.finalize();
writeFileSync(join(out, "image.oci.tar"), await adone);
console.log(JSON.stringify({ manifest: man.digest, layerBytes: layer.size, archive: join(out, "image.oci.tar") }));
