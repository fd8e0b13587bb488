/**
 * The local image store under the data dir (`<data dir>/images/`): one OCI image layout shared by
 * every image (`layout/`, blobs stored once by digest), and `names.json`, which maps image names
 * (normalised, src/fargate/images/refs.ts) to the image they name. An image is tagged in the layout
 * by its config digest (`sha256-<hex>`, the image ID), because `skopeo` rewrites the manifest of a
 * `docker save` archive (a `repo@sha256:` name matches the manifest digest in the store).
 *
 * Images arrive with `skopeo copy` from an OCI archive, a `docker save` archive
 * (`localfargate image load`), and on a lookup miss from a local Podman store
 * (`containers-storage:`) or Docker daemon (`docker-daemon:`) when the machine has one, else
 * from the registry the name names (src/fargate/images/registry.ts). A pulled image is kept by
 * digest: a name with a digest is served from the store; a tag that came from a registry is
 * re-resolved with the registry at each pull, as ECS pulls at each task start, and copied only
 * when it names an image the store does not have.
 * A name found nowhere gives the stop reason Amazon ECS gives for an image that does not exist
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_cannot_pull_image.html).
 */
import { createHash, randomUUID } from "node:crypto";
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { InvalidImageRefError, parseImageRef, type ImageRef } from "./refs.ts";
import { detectImageTools, firstLine, runTool, type ImageTools } from "./tools.ts";
import { INSPECT_TIMEOUT, PULL_TIMEOUT, inspectOptions, mayPull, pullFailureReason, registryPullsFromEnv, sourceOptions, type RegistryPulls } from "./registry.ts";

export interface StoredImage {
  /** `sha256:<hex>` of the image config: the image ID, and its tag in the layout */
  readonly configDigest: string;
  /** `sha256:<hex>` of the manifest in the store */
  readonly manifestDigest: string;
  /** normalised names, e.g. `docker.io/library/busybox:1.36` */
  readonly names: readonly string[];
}

/** What an image asks its container to run with (the OCI image config's `config`). */
export interface ImageRunConfig {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
}

export type LookupResult = { readonly found: true; readonly ref: ImageRef; readonly image: StoredImage } | { readonly found: false; readonly stopReason: string };

/** A load the caller got wrong (not an archive, no name, tool missing): the message says why. */
export class ImageLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageLoadError";
  }
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const MAX_JSON = 4 * 1024 * 1024;
const NAMES_FILE = "names.json";

interface NamesEntry {
  manifestDigest: string;
  names: string[];
  /** the manifest digests a registry served this image under (a `repo@sha256:` name matches them) */
  registryDigests?: string[];
  /** names that came from a registry: their tag is re-resolved at each pull */
  pulledNames?: string[];
}

interface NamesFile {
  version: 1;
  images: Record<string, NamesEntry>;
}

interface LayoutIndex {
  schemaVersion: number;
  manifests: { mediaType?: string; digest: string; size: number; annotations?: Record<string, string> }[];
}

const REF_NAME = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME = "io.containerd.image.name";

/** AWS's stop reason for an image that no source has. */
export function cannotPullStopReason(normalized: string): string {
  return `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${normalized}: ${normalized}: not found`;
}

function layoutTag(configDigest: string): string {
  return `sha256-${configDigest.slice("sha256:".length)}`;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ImageLoadError(`${what} is not valid JSON`);
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

const openStores = new Map<string, ImageStore>();

export class ImageStore {
  /**
   * The one store of a directory in this process: the control endpoint (`localfargate image
   * load`) and the task runtime must see the same names.
   */
  static shared(root: string): ImageStore {
    const key = resolve(root);
    let store = openStores.get(key);
    if (!store) {
      store = new ImageStore(key);
      openStores.set(key, store);
    }
    return store;
  }

  readonly layoutDir: string;
  private readonly namesPath: string;
  private readonly tmpDir: string;
  private names: NamesFile;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly root: string,
    readonly tools: ImageTools = detectImageTools(),
    /** which registries a lookup miss may pull from */
    readonly registryPulls: RegistryPulls = registryPullsFromEnv(),
  ) {
    this.layoutDir = join(root, "layout");
    this.namesPath = join(root, NAMES_FILE);
    this.tmpDir = join(root, "tmp");
    mkdirSync(root, { recursive: true, mode: 0o700 });
    rmSync(this.tmpDir, { recursive: true, force: true });
    this.names = this.readNames();
  }

  /** Every stored image with its names. */
  list(): StoredImage[] {
    return Object.entries(this.names.images).map(([configDigest, e]) => ({ configDigest, manifestDigest: e.manifestDigest, names: [...e.names] }));
  }

  /** Finds an image in the store only (no copying). */
  lookup(image: string): LookupResult {
    let ref: ImageRef;
    try {
      ref = parseImageRef(image);
    } catch (e) {
      if (e instanceof InvalidImageRefError) return { found: false, stopReason: `CannotPullContainerError: failed to resolve ref ${image}: invalid reference format` };
      throw e;
    }
    const hit = this.list().find((img) => matches(img, this.names.images[img.configDigest].registryDigests, ref));
    return hit ? { found: true, ref, image: hit } : { found: false, stopReason: cannotPullStopReason(ref.normalized) };
  }

  /**
   * Finds an image in the store, else copies it from a local Podman store or Docker daemon when
   * the machine has one, else pulls it from its registry; a tag pulled from a registry before is
   * asked of the registry again. A name found nowhere, or a pull that fails, answers AWS's
   * CannotPullContainerError text.
   */
  async resolve(image: string): Promise<LookupResult> {
    const local = this.lookup(image);
    let ref: ImageRef;
    try {
      ref = parseImageRef(image);
    } catch {
      return local;
    }
    if (local.found && (ref.digest !== undefined || !this.wasPulled(ref.normalized))) return local;
    if (local.found) return this.serialize(() => this.pull(ref));
    const sources: string[] = [];
    if (this.tools.containersStorage) sources.push(`containers-storage:${ref.normalized}`);
    // the Docker daemon transport takes name:tag only
    if (this.tools.dockerDaemon && ref.digest === undefined) sources.push(`docker-daemon:${ref.normalized}`);
    for (const source of sources) {
      const copied = await this.serialize(() => this.copyIn(source, [ref.normalized]).catch(() => undefined));
      if (copied) {
        const again = this.lookup(image);
        if (again.found) return again;
      }
    }
    if (this.tools.skopeo && mayPull(ref, this.registryPulls)) return this.serialize(() => this.pull(ref));
    return local;
  }

  private wasPulled(name: string): boolean {
    return Object.values(this.names.images).some((e) => e.pulledNames?.includes(name));
  }

  /**
   * Pulls `ref` from its registry into the store, by digest: a tag is first resolved to the
   * digest the registry serves it under now, and nothing is copied when the store has that image.
   */
  private async pull(ref: ImageRef): Promise<LookupResult> {
    const skopeo = this.tools.skopeo as string;
    let digest = ref.digest;
    if (digest === undefined) {
      const raw = await runTool(skopeo, [...INSPECT_TIMEOUT, "inspect", "--raw", ...inspectOptions(ref), `docker://${ref.normalized}`], { maxOutput: MAX_JSON });
      if (raw.code !== 0) return { found: false, stopReason: pullFailureReason(ref, raw.stderr) };
      digest = `sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`;
    }
    const cached = Object.entries(this.names.images).find(([, e]) => e.manifestDigest === digest || e.registryDigests?.includes(digest));
    let configDigest: string;
    if (cached) {
      configDigest = cached[0];
    } else {
      try {
        configDigest = (await this.copyIn(`docker://${ref.registry}/${ref.repository}@${digest}`, [], sourceOptions(ref), PULL_TIMEOUT)).configDigest;
      } catch (e) {
        if (e instanceof ImageLoadError) return { found: false, stopReason: pullFailureReason(ref, e.message) };
        throw e;
      }
    }
    this.recordPull(configDigest, ref.normalized, digest, ref.digest === undefined);
    const image = this.list().find((img) => img.configDigest === configDigest)!;
    return { found: true, ref, image };
  }

  /** Names the pulled image `name` (moving the name, as a pull does) and remembers the registry's digest. */
  private recordPull(configDigest: string, name: string, registryDigest: string, byTag: boolean): void {
    const images = this.names.images;
    for (const [id, e] of Object.entries(images)) {
      if (id === configDigest) continue;
      e.names = e.names.filter((n) => n !== name);
      if (e.pulledNames) e.pulledNames = e.pulledNames.filter((n) => n !== name);
    }
    const entry = images[configDigest];
    entry.names = [...new Set([...entry.names, name])].sort();
    if (registryDigest !== entry.manifestDigest) entry.registryDigests = [...new Set([...(entry.registryDigests ?? []), registryDigest])];
    if (byTag) entry.pulledNames = [...new Set([...(entry.pulledNames ?? []), name])].sort();
    this.writeAtomic(this.namesPath, JSON.stringify(this.names, null, 1));
  }

  /** The image's run configuration (Entrypoint, Cmd, Env, WorkingDir, User). */
  runConfig(image: StoredImage): ImageRunConfig {
    const raw = parseJson(this.readBlob(image.configDigest).toString("utf8"), "the image config");
    const config = (raw as { config?: unknown }).config;
    const c = (config !== null && typeof config === "object" ? config : {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    return {
      ...(isStringArray(c.Entrypoint) ? { entrypoint: c.Entrypoint } : {}),
      ...(isStringArray(c.Cmd) ? { cmd: c.Cmd } : {}),
      env: isStringArray(c.Env) ? c.Env : [],
      ...(str(c.WorkingDir) ? { workingDir: str(c.WorkingDir) } : {}),
      ...(str(c.User) ? { user: str(c.User) } : {}),
    };
  }

  /** `<layout dir>:<tag>`, the image as `umoci --image` names it. */
  umociImage(image: StoredImage): string {
    return `${this.layoutDir}:${layoutTag(image.configDigest)}`;
  }

  /**
   * Adds the images of a `docker save` or OCI archive (an absolute path to a regular file the
   * server can read), named by the archive's tags and `extraNames`. Answers the images loaded.
   */
  load(file: string, extraNames: readonly string[] = []): Promise<StoredImage[]> {
    return this.serialize(() => this.loadNow(file, extraNames));
  }

  private async loadNow(file: string, extraNames: readonly string[]): Promise<StoredImage[]> {
    if (!isAbsolute(file)) throw new ImageLoadError(`the archive path must be absolute, not ${JSON.stringify(file)}`);
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (e) {
      throw new ImageLoadError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      if (!fstatSync(fd).isFile()) throw new ImageLoadError(`${file} is not a regular file`);
    } finally {
      closeSync(fd);
    }
    const extra = extraNames.map((n) => normalizedName(n, "--name"));
    if (!this.tools.skopeo || !this.tools.tar) throw new ImageLoadError("loading images needs skopeo and tar on this machine (scripts/setup.sh installs them)");
    // skopeo reads "transport:path:reference", so the archive is handed over under a plain name
    const work = join(this.tmpDir, randomUUID());
    mkdirSync(work, { recursive: true, mode: 0o700 });
    try {
      const archive = join(work, "archive.tar");
      symlinkSync(file, archive);
      const listing = await runTool(this.tools.tar, ["-tf", archive]);
      if (listing.code !== 0) throw new ImageLoadError(`${file} is not a tar archive (a docker save or OCI archive): ${firstLine(listing.stderr)}`);
      const members = new Set(
        listing.stdout
          .toString("utf8")
          .split("\n")
          .map((m) => m.replace(/^\.\//, "")),
      );
      const plan = members.has("manifest.json") ? await this.dockerPlan(archive) : members.has("index.json") && members.has("oci-layout") ? await this.ociPlan(archive) : undefined;
      if (!plan) throw new ImageLoadError(`${file} is neither a docker save archive (manifest.json) nor an OCI archive (oci-layout, index.json)`);
      if (plan.length === 0) throw new ImageLoadError(`${file} holds no image`);
      if (plan.length > 1 && extra.length > 0) throw new ImageLoadError(`${file} holds ${plan.length} images; --name names one image`);
      for (const p of plan)
        if (p.names.length === 0 && extra.length === 0) throw new ImageLoadError(`${file} does not name its image (no tag in the archive): give it a name with --name NAME`);
      const loaded: StoredImage[] = [];
      for (const p of plan) loaded.push(await this.copyIn(p.source, [...p.names, ...extra]));
      return loaded;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }

  private async extractJson(archive: string, member: string): Promise<unknown> {
    const r = await runTool(this.tools.tar as string, ["-xOf", archive, member], { maxOutput: MAX_JSON });
    if (r.code !== 0) throw new ImageLoadError(`cannot read ${member} from the archive: ${firstLine(r.stderr)}`);
    return parseJson(r.stdout.toString("utf8"), `the archive's ${member}`);
  }

  private async dockerPlan(archive: string): Promise<{ source: string; names: string[] }[]> {
    const manifest = await this.extractJson(archive, "manifest.json");
    if (!Array.isArray(manifest)) throw new ImageLoadError("the archive's manifest.json is not a list of images");
    return manifest.map((entry, i) => {
      const tags = (entry as { RepoTags?: unknown }).RepoTags;
      return { source: `docker-archive:${archive}:@${i}`, names: (isStringArray(tags) ? tags : []).map((t) => normalizedName(t, "the archive's RepoTags")) };
    });
  }

  private async ociPlan(archive: string): Promise<{ source: string; names: string[] }[]> {
    const index = (await this.extractJson(archive, "index.json")) as Partial<LayoutIndex>;
    if (!Array.isArray(index?.manifests)) throw new ImageLoadError("the archive's index.json has no manifests");
    const entries = index.manifests;
    return entries.flatMap((m) => {
      const a = (m?.annotations ?? {}) as Record<string, unknown>;
      const refName = typeof a[REF_NAME] === "string" ? a[REF_NAME] : undefined;
      const full = typeof a[CONTAINERD_NAME] === "string" ? a[CONTAINERD_NAME] : refName !== undefined && /[/:]/.test(refName) ? refName : undefined;
      const names = full !== undefined ? [normalizedName(full, "the archive's image name")] : [];
      if (entries.length === 1) return [{ source: `oci-archive:${archive}`, names }];
      // several images: skopeo picks one by its ref name
      return refName !== undefined && /^[A-Za-z0-9._:/@-]+$/.test(refName) ? [{ source: `oci-archive:${archive}:${refName}`, names }] : [];
    });
  }

  /** Copies one image into the layout under a temporary tag, then tags it by its config digest. */
  private async copyIn(source: string, names: readonly string[], options: readonly string[] = [], globalOptions: readonly string[] = []): Promise<StoredImage> {
    const skopeo = this.tools.skopeo;
    if (!skopeo) throw new ImageLoadError("skopeo is not installed (scripts/setup.sh installs it)");
    const tmpTag = `import-${randomUUID()}`;
    const r = await runTool(skopeo, [...globalOptions, "copy", "--quiet", ...options, source, `oci:${this.layoutDir}:${tmpTag}`]);
    if (r.code !== 0) {
      this.untag(tmpTag);
      throw new ImageLoadError(`copying the image failed: ${firstLine(r.stderr).replace(/^time="[^"]*" level=\w+ msg=/, "")}`);
    }
    const index = this.readLayoutIndex();
    const entry = index.manifests.find((m) => m.annotations?.[REF_NAME] === tmpTag);
    if (!entry || !DIGEST.test(entry.digest)) throw new Error(`skopeo left no ${tmpTag} in ${this.layoutDir}`);
    const manifest = parseJson(this.readBlob(entry.digest).toString("utf8"), "the stored manifest") as { config?: { digest?: unknown } };
    const configDigest = manifest.config?.digest;
    if (typeof configDigest !== "string" || !DIGEST.test(configDigest)) throw new ImageLoadError("the image's manifest names no sha256 config");
    const tag = layoutTag(configDigest);
    index.manifests = [...index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag && m !== entry), { ...entry, annotations: { ...entry.annotations, [REF_NAME]: tag } }];
    this.writeAtomic(join(this.layoutDir, "index.json"), JSON.stringify(index));
    // a name names one image: loading it again moves it, as `docker load` does
    const images = this.names.images;
    for (const e of Object.values(images)) e.names = e.names.filter((n) => !names.includes(n));
    const prior = images[configDigest];
    images[configDigest] = {
      ...prior,
      manifestDigest: entry.digest,
      names: [...new Set([...(prior?.names ?? []), ...names])].sort(),
    };
    // a name loaded from an archive or a local engine is not re-resolved with a registry
    for (const e of Object.values(images)) if (e.pulledNames) e.pulledNames = e.pulledNames.filter((n) => !names.includes(n));
    this.writeAtomic(this.namesPath, JSON.stringify(this.names, null, 1));
    return { configDigest, manifestDigest: entry.digest, names: [...images[configDigest].names] };
  }

  private untag(tag: string): void {
    try {
      const index = this.readLayoutIndex();
      index.manifests = index.manifests.filter((m) => m.annotations?.[REF_NAME] !== tag);
      this.writeAtomic(join(this.layoutDir, "index.json"), JSON.stringify(index));
    } catch {
      // no layout yet
    }
  }

  private readBlob(digest: string): Buffer {
    if (!DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return readFileSync(join(this.layoutDir, "blobs", "sha256", digest.slice("sha256:".length)));
  }

  private readLayoutIndex(): LayoutIndex {
    const parsed = JSON.parse(readFileSync(join(this.layoutDir, "index.json"), "utf8")) as LayoutIndex;
    if (!Array.isArray(parsed.manifests)) throw new Error(`${this.layoutDir}/index.json has no manifests list`);
    return parsed;
  }

  private readNames(): NamesFile {
    let text: string;
    try {
      text = readFileSync(this.namesPath, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, images: {} };
      throw e;
    }
    const parsed = JSON.parse(text) as NamesFile;
    if (parsed?.version !== 1 || parsed.images === null || typeof parsed.images !== "object") throw new Error(`${this.namesPath} is not an image names file`);
    return parsed;
  }

  private writeAtomic(path: string, text: string): void {
    const tmp = `${path}.${randomUUID()}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

function normalizedName(name: string, where: string): string {
  try {
    return parseImageRef(name).normalized;
  } catch (e) {
    if (e instanceof InvalidImageRefError) throw new ImageLoadError(`${where}: ${e.message}`);
    throw e;
  }
}

function matches(image: StoredImage, registryDigests: readonly string[] | undefined, ref: ImageRef): boolean {
  if (ref.digest === undefined) return image.names.includes(ref.normalized);
  if (image.manifestDigest !== ref.digest && !registryDigests?.includes(ref.digest)) return false;
  return image.names.some((n) => {
    const named = parseImageRef(n);
    return named.registry === ref.registry && named.repository === ref.repository;
  });
}
