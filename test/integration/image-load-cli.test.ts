/**
 * `localfargate image load FILE` through the real CLI (bin/localfargate.js) against a running
 * server: the archive lands in the server's image store and GET /_localfargate/images lists it.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectImageTools } from "../../src/fargate/images/tools.ts";
import { BUSYBOX, buildBusyboxImage, type BuiltImage } from "../support/images.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const tools = detectImageTools();
const missing = [!tools.skopeo && "skopeo", !tools.tar && "tar", !BUSYBOX && "busybox-static"].filter(Boolean);
if (missing.length) console.warn(`image load tests skipped: ${missing.join(", ")} not installed (scripts/setup.sh installs them)`);

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/localfargate.js", ...args], { env: { ...process.env, LOCALFARGATE_ENDPOINT: "", ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Listing {
  images: { names: string[]; imageId: string; manifestDigest: string }[];
}

describe.skipIf(missing.length > 0)("localfargate image load", () => {
  let s: TestServer;
  let dir: string;
  let built: BuiltImage;
  const list = async () => (await (await fetch(`${s.url}/_localfargate/images`)).json()) as Listing;

  beforeAll(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), "localfargate-image-load-"));
    built = await buildBusyboxImage(dir);
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads a docker save archive and the server lists it", async () => {
    expect((await list()).images).toEqual([]);
    const r = await cli(["image", "load", built.dockerArchive, "--endpoint", s.url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Loaded image: docker\.io\/localfargate-test\/busybox:1 \(sha256:[a-f0-9]{64}\)\n$/);
    expect((await list()).images).toEqual([
      { names: ["docker.io/localfargate-test/busybox:1"], imageId: expect.stringMatching(/^sha256:/), manifestDigest: expect.stringMatching(/^sha256:/) },
    ]);
  });

  it("loads an OCI archive under --name, finding the server from LOCALFARGATE_ENDPOINT and a relative path", async () => {
    const relativePath = relative(process.cwd(), built.ociArchive);
    expect(relativePath.startsWith("/")).toBe(false);
    const r = await cli(["image", "load", relativePath, "--name", "team/app:v1"], { LOCALFARGATE_ENDPOINT: s.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Loaded image: docker.io/team/app:v1 (${built.configDigest})\n`);
    const images = (await list()).images;
    expect(images.find((i) => i.imageId === built.configDigest)).toEqual({ names: ["docker.io/team/app:v1"], imageId: built.configDigest, manifestDigest: built.manifestDigest });
  });

  it("refuses bad input with a clear message and changes nothing", async () => {
    const before = await list();
    const notTar = join(dir, "notes.txt");
    writeFileSync(notTar, "not an image");
    const cases: [string[], RegExp][] = [
      [["image", "load", notTar], /is not a tar archive/],
      [["image", "load", built.ociArchive], /does not name its image.*--name/],
      [["image", "load", built.ociArchive, "--name", "Bad:Name!"], /invalid image name/],
      [["image", "load", join(dir, "missing.tar")], /cannot read .*ENOENT/],
      [["image", "load", dir], /not a regular file/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...args, "--endpoint", s.url]);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    const usage = await cli(["image", "load", "--endpoint", s.url]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/image load needs the archive/);
    expect(await list()).toEqual(before);
  });

  it("the endpoint validates what it is sent", async () => {
    const post = (body: string) => fetch(`${s.url}/_localfargate/images`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const cases: [string, number, string, RegExp][] = [
      ["{", 400, "SerializationException", /not valid JSON/],
      ["[]", 400, "ValidationException", /JSON object/],
      ["{}", 400, "ValidationException", /path must be/],
      ['{"path":"relative.tar"}', 400, "ValidationException", /must be absolute/],
      ['{"path":"/etc/passwd"}', 400, "ValidationException", /not a tar archive/],
      [`{"path":${JSON.stringify(built.ociArchive)},"names":"x"}`, 400, "ValidationException", /names must be a list/],
    ];
    for (const [body, status, type, message] of cases) {
      const r = await post(body);
      expect(r.status, body).toBe(status);
      const err = (await r.json()) as { __type: string; message: string };
      expect(err.__type, body).toBe(type);
      expect(err.message).toMatch(message);
    }
    expect((await fetch(`${s.url}/_localfargate/images`, { method: "DELETE" })).status).toBe(405);
  });

  it("a damaged names file answers 503 with the reason, not a crash", async () => {
    const other = await startTestServer();
    try {
      mkdirSync(join(other.dataDir, "images"), { recursive: true });
      writeFileSync(join(other.dataDir, "images", "names.json"), "{not json");
      const r = await fetch(`${other.url}/_localfargate/images`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { message: string }).message).toMatch(/image store cannot be opened/);
      expect((await fetch(`${other.url}/_localfargate/health`)).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
