/**
 * Reading and ending host processes through /proc (Linux). A pid alone does not identify a
 * process across a restart, since the kernel reuses pids: a process is identified by its pid and
 * its start time (field 22 of /proc/<pid>/stat, clock ticks since boot), which never changes for
 * a process and differs for any later process given the same pid (proc(5)).
 */
import { readFileSync, readdirSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { basename } from "node:path";

export interface HostProcess {
  pid: number;
  /** process group id */
  pgid: number;
  /** kernel start time (ticks since boot): with the pid, the process's identity */
  startTime: string;
  /** one-letter state; "Z" (zombie) and "X" (dead) count as gone */
  state: string;
  /** real, effective, saved and file-system uids */
  uids: number[];
  argv: string[];
}

/** The process's start time, or undefined when there is no such process (or no /proc). */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.startTime;
}

function readStat(pid: number): ReturnType<typeof parseStat> {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined;
  }
}

function parseStat(text: string): { pgid: number; startTime: string; state: string } | undefined {
  // The command name (field 2) is in parentheses and may itself contain ") ": split after the last one.
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const state = rest[0];
  const pgid = Number(rest[2]);
  const startTime = rest[19];
  if (!state || !Number.isInteger(pgid) || !startTime || !/^\d+$/.test(startTime)) return undefined;
  return { pgid, startTime, state };
}

function parseUids(status: string): number[] {
  const line = status.split("\n").find((l) => l.startsWith("Uid:"));
  return line ? line.slice(4).trim().split(/\s+/).map(Number) : [];
}

function parseArgv(raw: string): string[] {
  return raw.split("\0").filter((s, i, all) => s !== "" || i < all.length - 1);
}

const readOrEmpty = (path: string) => readFile(path, "utf8").catch(() => "");

function isProcessDir(name: string): boolean {
  return /^\d+$/.test(name) && Number(name) !== process.pid;
}

/**
 * Every live process of the host except this one (empty where /proc is not available). Read
 * asynchronously: a scan reads three files per process and must not hold up requests.
 */
export async function listHostProcesses(): Promise<HostProcess[]> {
  let names: string[];
  try {
    names = (await readdir("/proc")).filter(isProcessDir);
  } catch {
    return [];
  }
  const found = await Promise.all(
    names.map(async (name): Promise<HostProcess | undefined> => {
      const [statText, status, cmdline] = await Promise.all([readOrEmpty(`/proc/${name}/stat`), readOrEmpty(`/proc/${name}/status`), readOrEmpty(`/proc/${name}/cmdline`)]);
      const stat = parseStat(statText);
      if (!stat || stat.state === "Z" || stat.state === "X") return undefined;
      return { pid: Number(name), ...stat, uids: parseUids(status), argv: parseArgv(cmdline) };
    }),
  );
  return found.filter((p): p is HostProcess => p !== undefined);
}

/** Every uid some live process holds (real, effective, saved or file-system), read at once. */
export function uidsInUse(): Set<number> {
  const uids = new Set<number>();
  let names: string[];
  try {
    names = readdirSync("/proc").filter(isProcessDir);
  } catch {
    return uids;
  }
  for (const name of names) {
    try {
      for (const u of parseUids(readFileSync(`/proc/${name}/status`, "utf8"))) uids.add(u);
    } catch {
      // exited meanwhile
    }
  }
  return uids;
}

/** True when the process `pid` is alive and is the one that started at `startTime`. */
export function isSameProcess(pid: number, startTime: string): boolean {
  const stat = readStat(pid);
  return stat !== undefined && stat.startTime === startTime && stat.state !== "Z" && stat.state !== "X";
}

/** A gocryptfs daemon whose command line names a path under `dir`. */
export function isGocryptfsUnder(p: HostProcess, dir: string): boolean {
  const prefix = dir.endsWith("/") ? dir : dir + "/";
  return p.argv.length > 0 && basename(p.argv[0]!) === "gocryptfs" && p.argv.some((a) => a.startsWith(prefix));
}

const POLL_MS = 100;
/** SIGTERM, then this many polls before SIGKILL (about 3 s). */
const TERM_POLLS = 30;
/** Polls after SIGKILL before giving up (about 5 s). */
const KILL_POLLS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * End every process `select` picks (re-evaluated on each poll, so children forked meanwhile are
 * caught too): SIGTERM, then SIGKILL for those still alive (at once with `{ graceful: false }`,
 * for processes that had their SIGTERM already). Resolves with the pids that could not be ended
 * (empty when all are gone).
 */
export async function endProcesses(select: (p: HostProcess) => boolean, opts: { graceful?: boolean } = {}): Promise<number[]> {
  let targets = (await listHostProcesses()).filter(select);
  if (targets.length === 0) return [];
  const termPolls = opts.graceful === false ? 0 : TERM_POLLS;
  if (termPolls > 0) for (const p of targets) signal(p.pid, "SIGTERM");
  for (let i = 0; i < termPolls; i++) {
    await sleep(POLL_MS);
    targets = (await listHostProcesses()).filter(select);
    if (targets.length === 0) return [];
    // Processes that appeared after the first round get their SIGTERM too.
    for (const p of targets) signal(p.pid, "SIGTERM");
  }
  for (let i = 0; i < KILL_POLLS; i++) {
    for (const p of targets) signal(p.pid, "SIGKILL");
    await sleep(POLL_MS);
    targets = (await listHostProcesses()).filter(select);
    if (targets.length === 0) return [];
  }
  return targets.map((p) => p.pid);
}
