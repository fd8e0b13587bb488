/**
 * Containers as host processes (docs/ecs-fargate.md#containers, "host" runtime): each container's
 * main process is a child of the server in its own process group, so everything it forks is
 * signalled with it.
 *   - argv = entryPoint ++ command, run without a shell; a container with neither idles (a real
 *     process with a pid) until it is stopped;
 *   - cwd = the task volume, or workingDirectory inside it (created, owned by the task's user;
 *     a symbolic link on the way is refused); env = PATH of the server (a host "image" needs one)
 *     + baseEnv + the container's environment, nothing else of the server's environment;
 *   - user: the task's own uid/gid when one is given (the directory is entered before the uid
 *     is switched, so the volume is the cwd even where its parents are closed to that uid);
 *   - exit codes as Docker reports them: the process's code, or 128 + signal number.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chownSync, lstatSync, mkdirSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { forwardOutput, outputStdio, type ContainerEnd, type ContainerLauncher, type ContainerOutput, type LaunchOutcome } from "./container-launcher.ts";
import type { ContainerSpec } from "./containers.ts";

export interface HostLauncherOptions {
  volumePath: string;
  /** e.g. ECS_CONTAINER_METADATA_URI_V4; the container's environment overrides it. */
  baseEnv: Record<string, string>;
  /** The unprivileged user the processes run as; default: the server's own user. */
  user?: { uid: number; gid: number };
}

/** What a container without entryPoint and command runs: a real, idle process. */
const IDLE_ARGV = [process.execPath, "-e", "setInterval(() => {}, 1 << 30)"];

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number | undefined {
  if (code !== null) return code;
  if (signal) {
    const n = osConstants.signals[signal];
    if (typeof n === "number") return 128 + n;
  }
  return undefined;
}

function cannotStartReason(program: string, err: NodeJS.ErrnoException): string {
  const what = err.code === "ENOENT" ? `exec: "${program}": executable file not found in $PATH` : err.code === "EACCES" ? `exec: "${program}": permission denied` : err.message;
  return `CannotStartContainerError: unable to start container process: ${what}`;
}

function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Create `target` (inside `root`) one level at a time, each new directory owned by `user`;
 * refuses a symbolic link or a non-directory on the way, so an earlier container of the task
 * cannot point the creation, or the cwd, outside the volume.
 */
export function makeWorkingDirectory(root: string, target: string, user: { uid: number; gid: number } | undefined): void {
  let current = resolve(root);
  for (const part of relative(current, target).split(/[\\/]/).filter(Boolean)) {
    current = join(current, part);
    let st;
    try {
      st = lstatSync(current);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      mkdirSync(current, { mode: 0o755 });
      if (user) chownSync(current, user.uid, user.gid);
      continue;
    }
    if (st.isSymbolicLink()) throw new Error(`workingDirectory '${relative(root, current)}' is a symbolic link`);
    if (!st.isDirectory()) throw new Error(`workingDirectory '${relative(root, current)}' is not a directory`);
  }
}

/** The container's cwd: the volume root, or workingDirectory inside it. Throws if it escapes. */
export function resolveWorkingDirectory(volumePath: string, workingDirectory: string | undefined): string {
  const root = resolve(volumePath);
  if (!workingDirectory) return root;
  if (isAbsolute(workingDirectory) && isInside(root, resolve(workingDirectory))) return resolve(workingDirectory);
  const target = resolve(join(root, workingDirectory));
  if (!isInside(root, target)) {
    throw new Error(`workingDirectory '${workingDirectory}' is outside the task volume`);
  }
  return target;
}

interface Running {
  child: ChildProcess;
  cwd: string;
  env: Record<string, string>;
}

export class HostLauncher implements ContainerLauncher {
  readonly runtime = "host";
  private readonly running = new Map<string, Running>();

  constructor(private readonly opts: HostLauncherOptions) {}

  async start(spec: ContainerSpec, output: ContainerOutput): Promise<LaunchOutcome> {
    const argv = [...(spec.entryPoint ?? []), ...(spec.command ?? [])];
    const [program, ...args] = argv.length > 0 ? argv : IDLE_ARGV;
    let cwd: string;
    try {
      cwd = resolveWorkingDirectory(this.opts.volumePath, spec.workingDirectory);
      makeWorkingDirectory(this.opts.volumePath, cwd, this.opts.user);
    } catch (e) {
      return { ok: false, reason: `CannotStartContainerError: ${(e as Error).message}` };
    }
    const env = this.environment(spec);
    let child: ChildProcess;
    try {
      child = spawn(program!, args, { cwd, env, stdio: ["ignore", ...outputStdio(output)], detached: true, ...this.userOption() });
    } catch (e) {
      // Synchronous refusals (e.g. a NUL byte in an argument or variable).
      return { ok: false, reason: cannotStartReason(program!, e as NodeJS.ErrnoException) };
    }
    forwardOutput(output, child.stdout, child.stderr);
    const outcome = await new Promise<{ ok: true } | { ok: false; err: NodeJS.ErrnoException }>((res) => {
      child.once("spawn", () => res({ ok: true }));
      child.once("error", (err) => res({ ok: false, err }));
    });
    if (!outcome.ok) return { ok: false, reason: cannotStartReason(program!, outcome.err) };
    child.on("error", () => {
      // Errors after the spawn (a failed kill) change nothing: the exit event reports the end.
    });
    this.running.set(spec.name, { child, cwd, env });
    const exited = new Promise<ContainerEnd>((res) => {
      child.once("exit", (code, signal) => {
        // The main process is gone: like a container's PID namespace, take the rest of its group down.
        this.signalGroup(child, "SIGKILL");
        this.running.delete(spec.name);
        const exitCode = exitCodeOf(code, signal);
        res(exitCode === undefined ? {} : { exitCode });
      });
    });
    return { ok: true, container: { pid: child.pid, exited } };
  }

  signal(container: string, signal: "SIGTERM" | "SIGKILL"): void {
    const r = this.running.get(container);
    if (r) this.signalGroup(r.child, signal);
  }

  exec(container: string, argv: string[], timeoutMs: number): Promise<number | null> {
    const r = this.running.get(container);
    if (!r || argv.length === 0) return Promise.resolve(null);
    return new Promise((resolveExit) => {
      let child: ChildProcess;
      try {
        child = spawn(argv[0]!, argv.slice(1), { cwd: r.cwd, env: r.env, stdio: "ignore", detached: true, ...this.userOption() });
      } catch {
        resolveExit(null);
        return;
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        this.signalGroup(child, "SIGKILL");
      }, timeoutMs);
      child.once("error", () => {
        clearTimeout(timer);
        resolveExit(null);
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        this.signalGroup(child, "SIGKILL");
        resolveExit(timedOut ? null : (exitCodeOf(code, signal) ?? null));
      });
    });
  }

  private environment(spec: ContainerSpec): Record<string, string> {
    const env: Record<string, string> = {};
    if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
    return Object.assign(env, this.opts.baseEnv, spec.environment);
  }

  private userOption(): { uid?: number; gid?: number } {
    return this.opts.user ? { uid: this.opts.user.uid, gid: this.opts.user.gid } : {};
  }

  private signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: the whole group is already gone.
    }
  }
}
