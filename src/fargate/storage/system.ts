/**
 * Small system helpers shared by the storage drivers: PATH lookup, running a helper program with
 * secret input on stdin, reading the mount table and unmounting FUSE file systems.
 */
import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, readFile, readdir, rm } from "node:fs/promises";
import { delimiter, join, sep } from "node:path";

/** Absolute path of an executable on PATH, or undefined. */
export async function which(program: string, pathEnv: string | undefined = process.env.PATH): Promise<string | undefined> {
  for (const dir of (pathEnv ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      await access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Captured stdout + stderr (only when no output fd was given). */
  output: string;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed; zeroed once the child has exited. */
  stdin?: Buffer;
  /** Send stdout and stderr to this fd instead of capturing them (for programs that daemonize). */
  outputFd?: number;
  timeoutMs?: number;
}

/**
 * Run a program without a shell; never rejects on a non-zero exit, only when the program cannot
 * be started.
 */
export function runProgram(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const out = opts.outputFd ?? "pipe";
    const child = spawn(file, args, { stdio: [opts.stdin ? "pipe" : "ignore", out, out] });
    const chunks: Buffer[] = [];
    child.stdout?.on("data", (c: Buffer) => chunks.push(c));
    child.stderr?.on("data", (c: Buffer) => chunks.push(c));
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    }
    let settled = false;
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      opts.stdin?.fill(0);
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    // With captured pipes wait for "close" (exit + output drained); with an output fd wait for
    // "exit" only, since a daemonized grandchild keeps the fd open.
    child.on(out === "pipe" ? "close" : "exit", (code: number | null, signal: NodeJS.Signals | null) => {
      if (timer) clearTimeout(timer);
      opts.stdin?.fill(0);
      if (settled) return;
      settled = true;
      resolve({ code, signal, output: Buffer.concat(chunks).toString("utf8") });
    });
    if (opts.stdin && child.stdin) {
      child.stdin.on("error", () => {
        // EPIPE when the program exits without reading; its exit code tells the story.
      });
      child.stdin.end(opts.stdin);
    }
  });
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  source: string;
}

/** Decode the octal escapes (\040 etc.) the kernel uses in /proc/self/mountinfo. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 6 || fields.length < dash + 3) continue;
    entries.push({
      mountPoint: unescapeMountField(fields[4]!),
      fsType: fields[dash + 1]!,
      source: unescapeMountField(fields[dash + 2]!),
    });
  }
  return entries;
}

/** The mount table of this process (empty where /proc is not available). */
export async function readMounts(): Promise<MountEntry[]> {
  try {
    return parseMountInfo(await readFile("/proc/self/mountinfo", "utf8"));
  } catch {
    return [];
  }
}

export async function isMounted(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === path);
}

/**
 * Mount points at `dir` or below it, most recently mounted first (the reverse of the mount
 * table's order), so a mount made on top of another one (a FUSE mount whose cipher directory
 * lives on a loop-mounted ext4) is unmounted before the one below it.
 */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  const points = (await readMounts()).map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points.reverse())];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How often, and how far apart, `umount` is retried while the file system is busy (about 5 s). */
const BUSY_RETRIES = 500;
const BUSY_RETRY_MS = 10;

/**
 * Unmount a mount point. FUSE: `fusermount3 -u`, then `fusermount -u`, then lazy variants
 * (`fusermount3 -u -z`, `fusermount -u -z`, `umount -l`) for a busy or dead mount. Other file
 * systems (the loop-mounted ext4 of a sized volume): `umount`, retried while busy, since
 * `fusermount3 -u` returns before the gocryptfs daemon above has closed its files; then
 * `umount -l`. Resolves once the mount point is gone from the mount table; throws if every
 * attempt failed.
 */
export async function unmount(mountPoint: string): Promise<void> {
  const entry = (await readMounts()).find((m) => m.mountPoint === mountPoint);
  if (!entry) return;
  const umount = await which("umount");
  if (!entry.fsType.startsWith("fuse")) {
    const errors: string[] = [];
    for (let i = 0; i < BUSY_RETRIES && umount; i++) {
      const r = await runProgram(umount, [mountPoint], { timeoutMs: 30_000 });
      if (!(await isMounted(mountPoint))) return;
      errors[0] = r.output.trim() || `exit ${r.code ?? r.signal}`;
      await sleep(BUSY_RETRY_MS);
    }
    if (umount) await runProgram(umount, ["-l", mountPoint], { timeoutMs: 30_000 });
    if (!(await isMounted(mountPoint))) return;
    throw new Error(`Could not unmount ${mountPoint}: ${errors.join("; ") || "no umount on PATH"}`);
  }
  const fm3 = await which("fusermount3");
  const fm = await which("fusermount");
  const attempts: [string, string[]][] = [];
  if (fm3) attempts.push([fm3, ["-u", mountPoint]]);
  if (fm) attempts.push([fm, ["-u", mountPoint]]);
  if (fm3) attempts.push([fm3, ["-u", "-z", mountPoint]]);
  if (fm) attempts.push([fm, ["-u", "-z", mountPoint]]);
  if (umount) attempts.push([umount, ["-l", mountPoint]]);
  const errors: string[] = [];
  for (const [file, args] of attempts) {
    try {
      const r = await runProgram(file, args, { timeoutMs: 30_000 });
      if (r.code !== 0) errors.push(`${file} ${args.join(" ")}: ${r.output.trim() || `exit ${r.code ?? r.signal}`}`);
    } catch (e) {
      errors.push(`${file}: ${(e as Error).message}`);
    }
    if (!(await isMounted(mountPoint))) return;
  }
  throw new Error(`Could not unmount ${mountPoint}: ${errors.join("; ") || "no fusermount3, fusermount or umount on PATH"}`);
}

/** Unmount everything at or below `dir`, then delete it. Idempotent. */
export async function unmountAndRemove(dir: string): Promise<void> {
  for (const mp of await mountsUnder(dir)) await unmount(mp);
  await rm(dir, { recursive: true, force: true });
}

/** Names in `dir` (empty when it does not exist). */
export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}
