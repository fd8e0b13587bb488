/**
 * Running one container with crun (https://github.com/containers/crun): detect crun and the host's
 * cgroup layout, run a container in the foreground as a child process (its stdout and stderr are
 * pipes, its exit code is crun's), exec a command in it as a given user (health checks), signal
 * it and delete it. crun's state lives under a directory of ours (`--root`), so what we started
 * is never mixed with other users of crun on the host. docs/ecs-fargate.md, "Container runtime".
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { readMounts, runProgram, which, type MountEntry } from "../storage/system.ts";
import { ULIMIT_NAMES, type EnforceableLimits, type OciConfig, type UlimitName } from "./spec.ts";

export type CgroupMode = "v2" | "v1" | "hybrid" | "none";

export interface LimitSupport {
  enforced: boolean;
  reason: string;
}

/** What this host lets the runtime enforce, with the reason, for health and the docs. */
export interface HostLimits {
  memory: LimitSupport;
  cpu: LimitSupport;
  pids: LimitSupport;
  /** the host's hard nofile limit: a container's nofile is at most this */
  nofile: LimitSupport & { max?: number };
}

export interface CrunHost {
  crun: string;
  /** `unshare`, when crun must run without the hybrid host's cgroup2 mount */
  unshare?: string;
  cgroupMode: CgroupMode;
  /** run every crun call in a private mount namespace with /sys/fs/cgroup/unified unmounted */
  hybridWorkaround: boolean;
  limits: HostLimits;
  /** the host's hard rlimits by ulimit name (absent = unlimited), for the spec's clamping */
  hardLimits: Partial<Record<UlimitName, number>>;
  /** the static init for `initProcessEnabled`, when installed */
  initBinary?: string;
}

export type CrunDetection = { available: true; host: CrunHost } | { available: false; reason: string };

const CGROUP_ROOT = "/sys/fs/cgroup";
const UNIFIED = "/sys/fs/cgroup/unified";
/** How long one crun control call (exec aside) may take before it is killed. */
const CONTROL_TIMEOUT_MS = 30_000;

/** The host's cgroup layout from its mount table. */
export function cgroupModeOf(mounts: MountEntry[]): CgroupMode {
  const at = (p: string) => mounts.filter((m) => m.mountPoint === p);
  if (at(CGROUP_ROOT).some((m) => m.fsType === "cgroup2")) return "v2";
  const v1 = mounts.some((m) => m.fsType === "cgroup" && m.mountPoint.startsWith(CGROUP_ROOT + "/"));
  if (v1) return at(UNIFIED).some((m) => m.fsType === "cgroup2") ? "hybrid" : "v1";
  return "none";
}

const LIMIT_NAMES: Record<string, UlimitName> = {
  "Max cpu time": "cpu",
  "Max file size": "fsize",
  "Max data size": "data",
  "Max stack size": "stack",
  "Max core file size": "core",
  "Max resident set": "rss",
  "Max processes": "nproc",
  "Max open files": "nofile",
  "Max locked memory": "memlock",
  "Max file locks": "locks",
  "Max pending signals": "sigpending",
  "Max msgqueue size": "msgqueue",
  "Max nice priority": "nice",
  "Max realtime priority": "rtprio",
  "Max realtime timeout": "rttime",
};

/** Hard limits from /proc/<pid>/limits text (proc(5)); "unlimited" is left out. */
export function parseHardLimits(text: string): Partial<Record<UlimitName, number>> {
  const out: Partial<Record<UlimitName, number>> = {};
  for (const line of text.split("\n")) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = m ? LIMIT_NAMES[m[1]!] : undefined;
    if (!m || !name || !ULIMIT_NAMES.includes(name) || !/^\d+$/.test(m[3]!)) continue;
    out[name] = Number(m[3]);
  }
  return out;
}

/** Whether this process holds CAP_SYS_RESOURCE (bit 24 of CapEff, capabilities(7)). */
function hasCapSysResource(status: string): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  return m ? (BigInt("0x" + m[1]) & (1n << 24n)) !== 0n : false;
}

async function readText(path: string): Promise<string | undefined> {
  return readFile(path, "utf8").catch(() => undefined);
}

/** Which controllers crun can use for containers, given the cgroup layout it will see. */
async function controllerSupport(mode: CgroupMode, mounts: MountEntry[], isRoot: boolean): Promise<Pick<HostLimits, "memory" | "cpu" | "pids">> {
  const none = (reason: string): Pick<HostLimits, "memory" | "cpu" | "pids"> => ({
    memory: { enforced: false, reason },
    cpu: { enforced: false, reason },
    pids: { enforced: false, reason },
  });
  if (!isRoot) return none("the server is not root: containers run without a cgroup of their own");
  if (mode === "none") return none("no cgroup file system is mounted at /sys/fs/cgroup");
  if (mode === "v2") {
    const controllers = ((await readText(join(CGROUP_ROOT, "cgroup.controllers"))) ?? "").trim().split(/\s+/);
    const one = (c: string): LimitSupport =>
      controllers.includes(c)
        ? { enforced: true, reason: `cgroup v2 controller ${c}` }
        : { enforced: false, reason: `the cgroup v2 controller ${c} is not available at /sys/fs/cgroup` };
    return { memory: one("memory"), cpu: one("cpu"), pids: one("pids") };
  }
  const how = mode === "hybrid" ? "cgroup v1 (hybrid host: crun runs with the cgroup2 mount hidden)" : "cgroup v1";
  const one = (c: string): LimitSupport =>
    mounts.some((m) => m.fsType === "cgroup" && m.mountPoint.startsWith(CGROUP_ROOT + "/") && m.mountPoint.split("/").pop()!.split(",").includes(c))
      ? { enforced: true, reason: `${how} controller ${c}` }
      : { enforced: false, reason: `the cgroup v1 controller ${c} is not mounted under /sys/fs/cgroup` };
  return { memory: one("memory"), cpu: one("cpu"), pids: one("pids") };
}

/** Probe crun, the cgroup layout and the limits this host can enforce. */
export async function detectCrun(): Promise<CrunDetection> {
  if (process.platform !== "linux") return { available: false, reason: "containers need Linux" };
  const crun = await which("crun");
  if (!crun) return { available: false, reason: "crun is not installed (apt-get install crun)" };
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) return { available: false, reason: "running containers needs root (user namespaces and mounts are set up by root)" };
  const mounts = await readMounts();
  const cgroupMode = cgroupModeOf(mounts);
  let hybridWorkaround = false;
  let unshare: string | undefined;
  if (cgroupMode === "hybrid") {
    // crun refuses a hybrid host whose cgroup2 mount has controllers enabled, even with its cgroup
    // manager disabled; hiding that mount in a private mount namespace makes the host pure v1.
    const controllers = ((await readText(join(UNIFIED, "cgroup.controllers"))) ?? "").trim();
    if (controllers !== "") {
      unshare = await which("unshare");
      if (!unshare) return { available: false, reason: "this host mixes cgroup v1 and v2 with controllers on v2 and unshare (util-linux) is missing" };
      hybridWorkaround = true;
    }
  }
  const hardLimits = hasCapSysResource((await readText("/proc/self/status")) ?? "") ? {} : parseHardLimits((await readText("/proc/self/limits")) ?? "");
  const nofileMax = hardLimits.nofile;
  const limits: HostLimits = {
    ...(await controllerSupport(cgroupMode, mounts, isRoot)),
    nofile:
      nofileMax === undefined
        ? { enforced: true, reason: "any nofile limit can be set" }
        : { enforced: true, max: nofileMax, reason: `nofile is at most ${nofileMax}, the server's hard limit (raising it needs CAP_SYS_RESOURCE)` },
  };
  const initBinary = await which("catatonit");
  return { available: true, host: { crun, unshare, cgroupMode, hybridWorkaround, limits, hardLimits, ...(initBinary ? { initBinary } : {}) } };
}

/** The limits a spec may ask the host for. */
export function enforceable(host: CrunHost): EnforceableLimits {
  return { memory: host.limits.memory.enforced, cpu: host.limits.cpu.enforced, pids: host.limits.pids.enforced };
}

export interface ContainerExit {
  /** the container's exit code (128 + n when a signal n ended it) */
  exitCode: number | null;
  /** crun's own error when the container could not be created or started */
  startError?: string;
}

export interface RunningContainer {
  id: string;
  /** crun's pid (the container's process is its child) */
  pid: number | undefined;
  stdout: Readable;
  stderr: Readable;
  /** resolves when the container has exited and crun has removed it */
  exited: Promise<ContainerExit>;
}

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class Crun {
  constructor(
    readonly host: CrunHost,
    /** crun's state directory (`crun --root`); created on first use */
    readonly stateDir: string,
  ) {}

  /**
   * The same crun with its state elsewhere. crun copies each container's config.json (with its
   * environment, secrets included) into its state directory: a task's containers keep theirs on
   * the task's encrypted volume (oci-launcher.ts).
   */
  withStateDir(stateDir: string): Crun {
    return new Crun(this.host, stateDir);
  }

  private command(args: string[]): { file: string; argv: string[] } {
    const crunArgs = [`--root=${this.stateDir}`, ...(this.host.cgroupMode === "none" ? ["--cgroup-manager=disabled"] : ["--cgroup-manager=cgroupfs"]), ...args];
    if (this.host.hybridWorkaround && this.host.unshare) {
      // $0 is crun, "$@" its arguments: no value passes through the shell's parser.
      return { file: this.host.unshare, argv: ["-m", "--propagation", "slave", "sh", "-c", `umount ${UNIFIED} && exec "$0" "$@"`, this.host.crun, ...crunArgs] };
    }
    return { file: this.host.crun, argv: crunArgs };
  }

  private checkId(id: string): void {
    if (!ID_PATTERN.test(id)) throw new Error(`invalid container id ${JSON.stringify(id)}`);
  }

  /**
   * Write the bundle (config.json) and start the container in the foreground. crun's own errors
   * go to a log file in the bundle, so the container's stderr stays the container's. With
   * `output`, the container writes to those file descriptors directly (stdout and stderr are then
   * empty streams); otherwise they are pipes. With `pidFile`, crun writes the container's host
   * pid there once the container exists.
   */
  async run(id: string, bundleDir: string, config: OciConfig, output?: { stdout: number; stderr: number }, pidFile?: string): Promise<RunningContainer> {
    this.checkId(id);
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    await mkdir(bundleDir, { recursive: true, mode: 0o700 });
    await writeFile(join(bundleDir, "config.json"), JSON.stringify(config), { mode: 0o600 });
    const log = join(bundleDir, "crun.log");
    await rm(log, { force: true });
    const { file, argv } = this.command([`--log=${log}`, "--log-format=json", "run", `--bundle=${bundleDir}`, ...(pidFile ? [`--pid-file=${pidFile}`] : []), id]);
    const child: ChildProcess = spawn(file, argv, { stdio: ["ignore", output?.stdout ?? "pipe", output?.stderr ?? "pipe"] });
    const exited = new Promise<ContainerExit>((resolve) => {
      let done = false;
      const finish = async (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
        if (done) return;
        done = true;
        const startError = spawnError ? spawnError.message : await crunError(log);
        const exitCode = code ?? (signal ? 128 + signalNumber(signal) : null);
        resolve(startError ? { exitCode, startError } : { exitCode });
      };
      child.on("error", (e) => void finish(null, null, e));
      child.on("close", (code, signal) => void finish(code, signal));
    });
    const empty = () => Readable.from([]);
    return { id, pid: child.pid, stdout: child.stdout ?? empty(), stderr: child.stderr ?? empty(), exited };
  }

  /**
   * Run `argv` in the container as `user` (crun exec runs as root otherwise). At the deadline the
   * command is killed inside the container too (by the pid crun records), so a hung health check
   * leaves nothing behind; its output is kept up to EXEC_OUTPUT_LIMIT bytes.
   */
  async exec(id: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    this.checkId(id);
    if (argv.length === 0) throw new Error("exec needs a command");
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    const pidFile = join(this.stateDir, `exec-${id}-${randomBytes(6).toString("hex")}.pid`);
    let flags: string[];
    if (opts.process) {
      const spec = { ...opts.process.spec, terminal: false, user: opts.user, args: argv, ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) };
      await writeFile(opts.process.file, JSON.stringify(spec), { mode: 0o600, flag: "wx" });
      flags = [`--process=${opts.process.file}`, `--pid-file=${pidFile}`];
    } else {
      flags = [`--user=${opts.user.uid}:${opts.user.gid}`, `--pid-file=${pidFile}`, ...(opts.cwd ? [`--cwd=${opts.cwd}`] : []), ...(opts.env ?? []).map((e) => `--env=${e}`)];
    }
    const { file, argv: full } = this.command(["exec", ...flags, id, ...(opts.process ? [] : argv)]);
    try {
      return await new Promise<ExecResult>((resolve, reject) => {
        const child = spawn(file, full, { stdio: ["ignore", "pipe", "pipe"] });
        const chunks: Buffer[] = [];
        let size = 0;
        const collect = (c: Buffer) => {
          if (size >= EXEC_OUTPUT_LIMIT) return;
          chunks.push(c.subarray(0, EXEC_OUTPUT_LIMIT - size));
          size += c.length;
        };
        child.stdout.on("data", collect);
        child.stderr.on("data", collect);
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          void killByPidFile(pidFile).finally(() => child.kill("SIGKILL"));
        }, opts.timeoutMs);
        child.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ exitCode: timedOut ? null : code, output: Buffer.concat(chunks).toString("utf8"), timedOut });
        });
      });
    } finally {
      await rm(pidFile, { force: true });
      if (opts.process) await rm(opts.process.file, { force: true });
    }
  }

  /** Send `signal` to the container's init process; false when there is no such container running. */
  async kill(id: string, signal: NodeJS.Signals): Promise<boolean> {
    this.checkId(id);
    const { file, argv } = this.command(["kill", id, signal]);
    const r = await runProgram(file, argv, { timeoutMs: CONTROL_TIMEOUT_MS });
    return r.code === 0;
  }

  /** Remove the container (killing what is left of it); idempotent. */
  async delete(id: string): Promise<void> {
    this.checkId(id);
    const { file, argv } = this.command(["delete", "--force", id]);
    const r = await runProgram(file, argv, { timeoutMs: CONTROL_TIMEOUT_MS });
    if (r.code !== 0 && !/does not exist|No such file/i.test(r.output)) throw new Error(`crun delete ${id}: ${r.output.trim() || `exit ${r.code ?? r.signal}`}`);
  }

  /**
   * Remove an empty cgroup directory crun left as the parent of containers' cgroups (crun removes
   * a container's own cgroup on delete, not the directories above it), in every hierarchy.
   * Returns the directories that could not be removed (still in use).
   */
  async removeCgroup(cgroupPath: string): Promise<string[]> {
    if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(cgroupPath) || cgroupPath.split("/").some((p) => p === "." || p === ".."))
      throw new Error(`invalid cgroup path ${JSON.stringify(cgroupPath)}`);
    const roots =
      this.host.cgroupMode === "v2"
        ? [CGROUP_ROOT]
        : (await readMounts()).filter((m) => m.fsType === "cgroup" && m.mountPoint.startsWith(CGROUP_ROOT + "/")).map((m) => m.mountPoint);
    const left: string[] = [];
    for (const root of roots) {
      const dir = root + cgroupPath;
      try {
        await rmdir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") left.push(dir);
      }
    }
    return left;
  }

  /** The ids crun knows under our state directory. */
  async list(): Promise<string[]> {
    const { file, argv } = this.command(["list", "--quiet"]);
    const r = await runProgram(file, argv, { timeoutMs: CONTROL_TIMEOUT_MS });
    if (r.code !== 0) return [];
    return r.output.split("\n").filter((l) => ID_PATTERN.test(l.trim()));
  }
}

export interface ExecOptions {
  user: { uid: number; gid: number };
  env?: string[];
  cwd?: string;
  timeoutMs: number;
  /**
   * The whole process (user, environment, cwd, capabilities, rlimits) as an OCI process spec,
   * written to `file` for crun to read (`--process`) instead of flags: an environment on crun's
   * command line would be readable by every local user in /proc. `file` belongs on the task's
   * encrypted volume (the container's bundle); it is removed once crun has ended.
   */
  process?: { spec: OciConfig["process"]; file: string };
}

export interface ExecResult {
  /** null when the deadline passed */
  exitCode: number | null;
  output: string;
  timedOut: boolean;
}

/** The most output an exec keeps (a health check's output is only for diagnosis). */
export const EXEC_OUTPUT_LIMIT = 64 * 1024;

/** SIGKILL the process whose host pid crun wrote to `pidFile`, if it did. */
async function killByPidFile(pidFile: string): Promise<void> {
  const text = (await readText(pidFile))?.trim();
  if (!text || !/^\d+$/.test(text)) return;
  try {
    process.kill(Number(text), "SIGKILL");
  } catch {
    // already gone
  }
}

/** crun's last error from its JSON log, if it wrote one. */
async function crunError(log: string): Promise<string | undefined> {
  const text = await readText(log);
  if (!text) return undefined;
  let last: string | undefined;
  for (const line of text.split("\n")) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === "error" && entry.msg) last = entry.msg;
    } catch {
      // a partial line
    }
  }
  return last;
}

function signalNumber(signal: NodeJS.Signals): number {
  return osConstants.signals[signal] ?? 0;
}
