/**
 * A task's containers as OCI containers run by crun (docs/ecs-fargate.md, "Container runtime").
 * Before the first container starts (the task's PENDING step) every container's image is found
 * in the image store (or copied in from a local Podman/Docker store), unpacked onto the task's
 * encrypted volume with its ownership shifted into the task's host id range, and turned into an
 * OCI config: the image's entrypoint, command, environment, working directory and user with the
 * container definition's settings applied, mount/PID/IPC/UTS/user namespaces of its own and the
 * task's network namespace (awsvpc), shared by every container of the task.
 */
import { randomBytes } from "node:crypto";
import { access, chmod, chown, mkdir, open, realpath, rm, writeFile } from "node:fs/promises";
import { join, relative, isAbsolute } from "node:path";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { forwardOutput, type ContainerEnd, type ContainerLauncher, type ContainerOutput, type LaunchOutcome } from "../container-launcher.ts";
import type { ContainerSpec } from "../containers.ts";
import type { ImageStore } from "../images/store.ts";
import { unpackImage } from "../images/unpack.ts";
import { TASK_ID_RANGE_SIZE } from "../task-users.ts";
import { runProgram, unmountAndRemove, which } from "../storage/system.ts";
import { enforceable, type Crun } from "./crun.ts";
import { buildSpec, ContainerSpecError, type ImageConfig, type OciConfig } from "./spec.ts";

/** An image no source has: the task stops with this reason (CannotPullContainerError: …). */
export class ImagePullError extends Error {
  constructor(readonly stopReason: string) {
    super(stopReason);
    this.name = "ImagePullError";
  }
}

export interface OciTaskOptions {
  /** the task id (32 hex characters) */
  taskId: string;
  /** the task's volume, where the root file systems are unpacked */
  volumePath: string;
  /**
   * A directory outside the data dir whose parents every user may enter: crun reaches the root
   * file systems through a bind mount of the task's containers directory here, because it sets
   * them up as root of the task's user namespace, which may not enter the data dir.
   */
  bundlesDir: string;
  /** the task's network namespace (awsvpc) */
  netnsPath: string;
  /** the /etc/resolv.conf every container gets (the task network's nameservers) */
  resolvConf?: string;
  /** first host id of the task's range: container id 0 (root) is this host id */
  hostIdBase: number;
  containers: ContainerDefinition[];
  /** the task's cpu units and memory MiB */
  task: { cpu?: number; memory?: number };
  /** the environment every container gets under its own (the image's and the definition's override it) */
  baseEnv: Record<string, string>;
}

interface Prepared {
  id: string;
  bundle: string;
  config: OciConfig;
  user: { uid: number; gid: number };
}

/** crun's cgroup for a container: one directory per task under `/localfargate`. */
export function cgroupOf(taskId: string, index: number): string {
  return `/localfargate/${taskId}/c${index}`;
}

/** Resolves once `path` exists (crun's pid file appears within milliseconds of the start) or `stop()` holds. */
async function waitForFile(path: string, stop: () => boolean): Promise<void> {
  for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
    if (
      stop() ||
      (await access(path).then(
        () => true,
        () => false,
      ))
    )
      return;
    await new Promise((r) => setTimeout(r, delay));
  }
}

async function bindMount(source: string, target: string): Promise<void> {
  const mount = await which("mount");
  if (!mount) throw new Error("the mount command (util-linux) is not on PATH");
  const r = await runProgram(mount, ["--bind", source, target], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`mount --bind ${source} ${target}: ${r.output.trim() || `exit ${r.code ?? r.signal}`}`);
}

/** Reads a file of the unpacked image only if it resolves inside the rootfs (an image's symlink must not reach the host). */
async function readInside(rootfs: string, path: string, limit = 1024 * 1024): Promise<string | undefined> {
  try {
    const real = await realpath(join(rootfs, path));
    const rel = relative(await realpath(rootfs), real);
    if (rel.startsWith("..") || isAbsolute(rel)) return undefined;
    const fh = await open(real, "r");
    try {
      if (!(await fh.stat()).isFile()) return undefined;
      const buf = Buffer.alloc(limit);
      const { bytesRead } = await fh.read(buf, 0, limit, 0);
      return buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
}

function imageConfigOf(store: ImageStore, image: Parameters<ImageStore["runConfig"]>[0]): ImageConfig {
  const rc = store.runConfig(image);
  return {
    ...(rc.entrypoint ? { Entrypoint: [...rc.entrypoint] } : {}),
    ...(rc.cmd ? { Cmd: [...rc.cmd] } : {}),
    Env: [...rc.env],
    ...(rc.workingDir ? { WorkingDir: rc.workingDir } : {}),
    ...(rc.user ? { User: rc.user } : {}),
  };
}

/**
 * crun's state directory of a task (`crun --root`), beside its bundles on the task's encrypted
 * volume: crun keeps a copy of each container's config.json there, environment and secrets
 * included, so it must never be a plaintext directory.
 */
export function taskStateDir(bundlesDir: string, taskId: string): string {
  return join(bundlesDir, taskId, "crun");
}

export class OciTaskLauncher implements ContainerLauncher {
  readonly runtime = "crun";
  private readonly prepared = new Map<string, Prepared>();
  private readonly running = new Set<string>();

  private readonly bindDir: string;
  /** crun with this task's state directory */
  private readonly crun: Crun;

  constructor(
    crun: Crun,
    private readonly images: ImageStore,
    private readonly opts: OciTaskOptions,
  ) {
    this.bindDir = join(opts.bundlesDir, opts.taskId);
    this.crun = crun.withStateDir(taskStateDir(opts.bundlesDir, opts.taskId));
  }

  /**
   * Finds, unpacks and configures every container of the task. Throws ImagePullError for an
   * image no source has, ContainerSpecError for a definition that cannot start as given; call
   * cleanup() afterwards in any case.
   */
  async prepare(realNowMs?: () => number): Promise<void> {
    const { crun, images, opts } = this;
    // crun sets up the root file system as root of the task's user namespace (host id
    // hostIdBase), which must be able to enter every directory on the way to it.
    const inVolume = join(opts.volumePath, ".localfargate", "containers");
    await mkdir(inVolume, { recursive: true, mode: 0o700 });
    for (const dir of [join(opts.volumePath, ".localfargate"), inVolume]) await chown(dir, opts.hostIdBase, opts.hostIdBase);
    const root = this.bindDir;
    await mkdir(root, { mode: 0o700 });
    await bindMount(inVolume, root);
    // crun's state (copies of the configs) on the volume too, for root only.
    await mkdir(this.crun.stateDir, { mode: 0o700 });
    const idMap = { containerId: 0, hostId: opts.hostIdBase, size: TASK_ID_RANGE_SIZE };
    for (const [index, def] of opts.containers.entries()) {
      const name = def.name!;
      const found = await images.resolve(def.image ?? "");
      if (!found.found) throw new ImagePullError(found.stopReason);
      const bundle = join(root, `c${index}`);
      await mkdir(bundle, { mode: 0o700 });
      await chown(bundle, opts.hostIdBase, opts.hostIdBase);
      const rootfs = join(bundle, "rootfs");
      await unpackImage(images, found.image, rootfs, { uidMap: idMap, gidMap: idMap, ...(realNowMs ? { realNowMs } : {}) });
      // The container's "/" is owned by its root and open to its users, as Docker makes it.
      await chown(rootfs, opts.hostIdBase, opts.hostIdBase);
      await chmod(rootfs, 0o755);
      const [passwd, group] = await Promise.all([readInside(rootfs, "etc/passwd"), readInside(rootfs, "etc/group")]);
      let mounts: { source: string; destination: string; readonly: boolean }[] = [];
      if (opts.resolvConf !== undefined) {
        const resolvConf = join(bundle, "resolv.conf");
        await writeFile(resolvConf, opts.resolvConf, { mode: 0o644 });
        await chown(resolvConf, opts.hostIdBase, opts.hostIdBase);
        // readable by every user of the container, whatever the server's umask
        await chmod(resolvConf, 0o644);
        mounts = [{ source: resolvConf, destination: "/etc/resolv.conf", readonly: true }];
      }
      const env = Object.entries(opts.baseEnv).map(([k, v]) => ({ name: k, value: v }));
      const spec = buildSpec({
        image: imageConfigOf(images, found.image),
        container: { ...def, environment: [...env, ...(def.environment ?? [])] },
        task: opts.task,
        rootfs,
        netnsPath: opts.netnsPath,
        idMap: { hostId: opts.hostIdBase, size: TASK_ID_RANGE_SIZE },
        ...(passwd !== undefined ? { passwd } : {}),
        ...(group !== undefined ? { group } : {}),
        hostname: `ip-${opts.taskId.slice(0, 8)}`,
        mounts,
        hostHardLimits: crun.host.hardLimits,
        enforce: enforceable(crun.host),
        ...(crun.host.initBinary ? { initBinary: crun.host.initBinary } : {}),
        ...(crun.host.cgroupMode !== "none" ? { cgroupsPath: cgroupOf(opts.taskId, index) } : {}),
      });
      this.prepared.set(name, { id: `lf-${opts.taskId}-c${index}`, bundle, config: spec.config, user: { uid: spec.user.uid, gid: spec.user.gid } });
    }
  }

  async start(spec: ContainerSpec, output: ContainerOutput): Promise<LaunchOutcome> {
    const p = this.prepared.get(spec.name);
    if (!p) return { ok: false, reason: `CannotStartContainerError: container '${spec.name}' was not prepared` };
    const pidFile = join(this.crun.stateDir, `${p.id}.pid`);
    let running;
    try {
      await rm(pidFile, { force: true });
      running = await this.crun.run(p.id, p.bundle, p.config, "onData" in output ? undefined : output, pidFile);
      forwardOutput(output, running.stdout, running.stderr);
    } catch (e) {
      return { ok: false, reason: `CannotStartContainerError: ${(e as Error).message}` };
    }
    this.running.add(spec.name);
    const exited = running.exited.then((end): ContainerEnd => {
      this.running.delete(spec.name);
      void rm(pidFile, { force: true }).catch(() => undefined);
      if (end.startError) return { reason: `CannotStartContainerError: ${end.startError}` };
      return end.exitCode === null ? {} : { exitCode: end.exitCode };
    });
    // Started once crun has written the container's pid; crun failing first means it never ran.
    let ended = false;
    void exited.then(() => (ended = true));
    const first = await Promise.race([waitForFile(pidFile, () => ended).then(() => undefined), exited]);
    if (first?.reason !== undefined) return { ok: false, reason: first.reason };
    return { ok: true, container: { ...(running.pid !== undefined ? { pid: running.pid } : {}), exited } };
  }

  signal(container: string, signal: "SIGTERM" | "SIGKILL"): void {
    const p = this.prepared.get(container);
    if (!p || !this.running.has(container)) return;
    void this.crun.kill(p.id, signal).catch(() => false);
  }

  async exec(container: string, argv: string[], timeoutMs: number): Promise<number | null> {
    const p = this.prepared.get(container);
    if (!p || !this.running.has(container) || argv.length === 0) return null;
    // The container's whole process spec (its environment may hold secrets) goes to crun in a file
    // in the bundle, on the task's encrypted volume, never on a command line.
    const file = join(p.bundle, `exec-${randomBytes(8).toString("hex")}.json`);
    const r = await this.crun.exec(p.id, argv, { user: p.user, timeoutMs, process: { spec: p.config.process, file } }).catch(() => undefined);
    return r?.exitCode ?? null;
  }

  /** After every container has exited: remove what crun keeps of them and their cgroups. */
  async cleanup(): Promise<void> {
    for (const [, p] of this.prepared) await this.crun.delete(p.id).catch(() => undefined);
    await unmountAndRemove(this.bindDir).catch((e: Error) => console.error(`[localfargate] ${this.bindDir} not removed: ${e.message}`));
    if (this.crun.host.cgroupMode !== "none") {
      for (let index = 0; index < this.prepared.size; index++) await this.crun.removeCgroup(cgroupOf(this.opts.taskId, index)).catch(() => undefined);
      await this.crun.removeCgroup(`/localfargate/${this.opts.taskId}`).catch(() => undefined);
    }
  }
}

export { ContainerSpecError };
