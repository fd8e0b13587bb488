/**
 * Pulls from a registry with the real skopeo: a tiny OCI distribution registry on 127.0.0.1
 * (node:http) serves images built by test/support/images.ts. Pulled images are kept by digest,
 * a tag is re-resolved at each pull, and failures read as ECS's CannotPullContainerError.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageStore, cannotPullStopReason } from "../../src/fargate/images/store.ts";
import { isLoopbackRegistry, mayPull } from "../../src/fargate/images/registry.ts";
import { parseImageRef } from "../../src/fargate/images/refs.ts";
import { detectImageTools } from "../../src/fargate/images/tools.ts";
import { BUSYBOX, buildBusyboxImage, type BuiltImage } from "../support/images.ts";

const tools = detectImageTools();
const missing = [!tools.skopeo && "skopeo", !tools.tar && "tar", !BUSYBOX && "busybox-static"].filter(Boolean);
if (missing.length) console.warn(`images-registry tests skipped: ${missing.join(", ")} not installed (scripts/setup.sh installs them)`);

const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** A read-only registry: blobs from OCI layouts, tags set by the test, some repositories private. */
class TestRegistry {
  readonly blobs = new Map<string, Buffer>();
  readonly tags = new Map<string, string>(); // "repo:tag" → manifest digest
  readonly private = new Set<string>();
  readonly requests: string[] = [];
  private server!: Server;
  host = "";

  addLayout(dir: string): void {
    for (const name of execFileSync("ls", [join(dir, "blobs/sha256")], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)) {
      this.blobs.set(`sha256:${name}`, readFileSync(join(dir, "blobs/sha256", name)));
    }
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      const send = (status: number, body: Buffer | string, headers: Record<string, string> = {}) => {
        const buf = Buffer.from(body);
        res.writeHead(status, { "Content-Length": String(buf.length), "Docker-Distribution-Api-Version": "registry/2.0", ...headers });
        res.end(req.method === "HEAD" ? undefined : buf);
      };
      const error = (status: number, code: string) => send(status, JSON.stringify({ errors: [{ code, message: code.toLowerCase() }] }), { "Content-Type": "application/json" });
      const url = req.url ?? "";
      if (url === "/v2/") return send(200, "{}", { "Content-Type": "application/json" });
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url);
      if (!m) return error(404, "NAME_UNKNOWN");
      const [, repo, kind, reference] = m;
      if (this.private.has(repo)) return error(401, "UNAUTHORIZED");
      const digest = reference.startsWith("sha256:") ? reference : this.tags.get(`${repo}:${reference}`);
      const body = digest ? this.blobs.get(digest) : undefined;
      if (!digest || !body) return error(404, kind === "manifests" ? "MANIFEST_UNKNOWN" : "BLOB_UNKNOWN");
      send(200, body, { "Content-Type": kind === "manifests" ? MANIFEST : "application/octet-stream", "Docker-Content-Digest": digest });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  blobFetches(): number {
    return this.requests.filter((r) => r.startsWith("GET") && r.includes("/blobs/")).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe("which registries are reached", () => {
  it("loopback registries only, when pulls are kept on this machine; Amazon ECR never", () => {
    expect(isLoopbackRegistry("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackRegistry("127.200.1.9")).toBe(true);
    expect(isLoopbackRegistry("localhost:5000")).toBe(true);
    expect(isLoopbackRegistry("[::1]:5000")).toBe(true);
    expect(isLoopbackRegistry("127.0.0.1.example:5000")).toBe(false);
    expect(isLoopbackRegistry("docker.io")).toBe(false);
    expect(isLoopbackRegistry("10.0.0.1:5000")).toBe(false);
    expect(mayPull(parseImageRef("busybox"), "loopback")).toBe(false);
    expect(mayPull(parseImageRef("busybox"), "all")).toBe(true);
    expect(mayPull(parseImageRef("127.0.0.1:5000/app"), "loopback")).toBe(true);
    expect(mayPull(parseImageRef("127.0.0.1:5000/app"), "off")).toBe(false);
    expect(mayPull(parseImageRef("localhost/app"), "all")).toBe(false);
    expect(mayPull(parseImageRef("localhost:5000/app"), "all")).toBe(true);
    expect(mayPull(parseImageRef("123456789012.dkr.ecr.us-east-1.amazonaws.com/app"), "all")).toBe(false);
  });
});

describe.skipIf(missing.length > 0)("pulls from a registry", () => {
  let dir: string;
  let a: BuiltImage;
  let b: BuiltImage;
  let registry: TestRegistry;
  let store: ImageStore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "localfargate-registry-"));
    registry = new TestRegistry();
    for (const [name, marker] of [
      ["a", "image a"],
      ["b", "image b"],
    ] as const) {
      const d = join(dir, name);
      mkdirSync(join(d, "layout"), { recursive: true });
      const built = await buildBusyboxImage(d, { marker });
      execFileSync("tar", ["-xf", built.ociArchive, "-C", join(d, "layout")]);
      registry.addLayout(join(d, "layout"));
      if (name === "a") a = built;
      else b = built;
    }
    await registry.start();
    registry.tags.set("team/app:v1", a.manifestDigest);
    registry.private.add("team/secret");
    store = new ImageStore(join(dir, "data", "images"), { ...tools, containersStorage: false, dockerDaemon: false }, "loopback");
  });
  afterAll(async () => {
    await registry?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("pulls a tag into the store, by digest", async () => {
    const name = `${registry.host}/team/app:v1`;
    const r = await store.resolve(name);
    expect(r).toMatchObject({ found: true, image: { configDigest: a.configDigest, manifestDigest: a.manifestDigest, names: [name] } });
    expect(registry.blobFetches()).toBeGreaterThan(0);
    expect(store.runConfig((r as { image: Parameters<ImageStore["runConfig"]>[0] }).image).user).toBe("1000");
  });

  it("does not pull again an image it has; the tag is asked of the registry at each pull", async () => {
    const before = registry.requests.length;
    const blobs = registry.blobFetches();
    const r = await store.resolve(`${registry.host}/team/app:v1`);
    expect(r).toMatchObject({ found: true, image: { configDigest: a.configDigest } });
    expect(registry.blobFetches()).toBe(blobs);
    expect(registry.requests.slice(before).some((q) => q.includes("/manifests/v1"))).toBe(true);
  });

  it("a name with a digest is served from the store without asking the registry", async () => {
    const before = registry.requests.length;
    const r = await store.resolve(`${registry.host}/team/app@${a.manifestDigest}`);
    expect(r).toMatchObject({ found: true, image: { configDigest: a.configDigest } });
    expect(registry.requests.length).toBe(before);
  });

  it("a tag moved in the registry pulls the image it names now", async () => {
    registry.tags.set("team/app:v1", b.manifestDigest);
    const blobs = registry.blobFetches();
    const r = await store.resolve(`${registry.host}/team/app:v1`);
    expect(r).toMatchObject({ found: true, image: { configDigest: b.configDigest, names: [`${registry.host}/team/app:v1`] } });
    expect(registry.blobFetches()).toBeGreaterThan(blobs);
    // the earlier image stays in the store: its digest is served without copying a blob again
    expect(store.list().find((i) => i.configDigest === a.configDigest)?.names).toEqual([]);
    const after = registry.blobFetches();
    expect(await store.resolve(`${registry.host}/team/app@${a.manifestDigest}`)).toMatchObject({ found: true, image: { configDigest: a.configDigest } });
    expect(registry.blobFetches()).toBe(after);
    // the store kept every blob once
    const stored = execFileSync("ls", [join(store.layoutDir, "blobs/sha256")], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean);
    for (const digest of stored)
      expect(
        createHash("sha256")
          .update(readFileSync(join(store.layoutDir, "blobs/sha256", digest)))
          .digest("hex"),
      ).toBe(digest);
  });

  it("an image the registry does not have: ECS's not-found reason", async () => {
    const r = await store.resolve(`${registry.host}/team/app:nope`);
    expect(r).toEqual({ found: false, stopReason: cannotPullStopReason(`${registry.host}/team/app:nope`) });
  });

  it("a repository that needs credentials: ECS's access-denied reason", async () => {
    const name = `${registry.host}/team/secret:v1`;
    const r = await store.resolve(name);
    expect(r).toEqual({
      found: false,
      stopReason: `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${name}: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`,
    });
  });

  it("a registry that cannot be reached: ECS's request failure", async () => {
    const host = `127.0.0.1:${await closedPort()}`;
    const r = await store.resolve(`${host}/team/app:v1`);
    expect(r.found).toBe(false);
    expect((r as { stopReason: string }).stopReason).toMatch(
      new RegExp(
        `^CannotPullContainerError: pull image manifest has been retried 5 time\\(s\\): failed to resolve ref ${host}/team/app:v1: failed to do request: Head "http://${host}/v2/team/app/manifests/v1": .*connection refused`,
      ),
    );
  });

  it("a registry that is not on loopback is not reached when pulls are kept on this machine", async () => {
    const r = await store.resolve("registry.invalid:5000/team/app:v1");
    expect(r).toEqual({ found: false, stopReason: cannotPullStopReason("registry.invalid:5000/team/app:v1") });
  });

  it("a name loaded from an archive is served from the store, never re-resolved", async () => {
    const name = `${registry.host}/team/loaded:v1`;
    await store.load(a.ociArchive, [name]);
    const before = registry.requests.length;
    expect(await store.resolve(name)).toMatchObject({ found: true, image: { configDigest: a.configDigest } });
    expect(registry.requests.length).toBe(before);
  });

  it("the pulled names survive a restart", async () => {
    const again = new ImageStore(store.root, { ...tools, containersStorage: false, dockerDaemon: false }, "loopback");
    const before = registry.requests.length;
    const blobs = registry.blobFetches();
    expect(await again.resolve(`${registry.host}/team/app:v1`)).toMatchObject({ found: true, image: { configDigest: b.configDigest } });
    expect(registry.requests.length).toBeGreaterThan(before);
    expect(registry.blobFetches()).toBe(blobs);
  });
});
