/**
 * What every localfargate server on this host shares (docs/ecs-fargate.md#what-servers-on-one-host-share):
 * the routes a bridge subnet is chosen against, and net.ipv4.ip_forward. Both are guarded by one
 * exclusive lock, an flock(2) on `<dir>/lock`, held through the kernel so a crashed holder never
 * leaves it stale. Node has no flock call, so the flock(1) program takes the lock on a descriptor
 * this process opened and passes to it: the lock belongs to the open file description, outlives
 * the program and ends when this process closes the file or dies.
 *
 * Forwarding is reference-counted: each server that needs it leaves a marker `<dir>/forwarding/<name>`
 * with its pid and the kernel start time of that pid; the first records the value it found in
 * `<dir>/ip_forward.before`, and the last one to stop puts that value back. A marker whose process
 * is gone (or whose pid now belongs to another process) counts for nothing and is removed.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, lstat, mkdir, open, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IP_FORWARD, readIpForwarding, writeIpForwarding } from "./outbound.ts";

/** `/run/localfargate/network`: on tmpfs, so it is gone after a reboot, as the settings it records are. */
export const HOST_STATE_DIR = join(existsSync("/run") ? "/run" : tmpdir(), "localfargate", "network");

/** How long a server waits for another to finish choosing its subnet or changing forwarding. */
const LOCK_WAIT_SECONDS = 60;
const USER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface HostNetworkStateOptions {
  dir?: string;
  /** The flock(1) program. */
  flock: string;
  /** The forwarding switch; tests pass a plain file. */
  ipForwardPath?: string;
}

export class HostNetworkState {
  readonly dir: string;
  private readonly flock: string;
  private readonly ipForwardPath: string;

  constructor(opts: HostNetworkStateOptions) {
    this.dir = opts.dir ?? HOST_STATE_DIR;
    this.flock = opts.flock;
    this.ipForwardPath = opts.ipForwardPath ?? IP_FORWARD;
  }

  /** Runs `fn` holding the host-wide lock (not reentrant: `fn` must not take it again). */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.ensureDir();
    const file = join(this.dir, "lock");
    const fh = await open(file, "a", 0o600);
    try {
      await takeLock(this.flock, fh.fd, file);
      return await fn();
    } finally {
      // closing the only descriptor of the open file description releases the lock
      await fh.close();
    }
  }

  /**
   * `user` needs forwarding on: records the value found when no live server has yet, marks `user`,
   * turns forwarding on. Returns the value found before the first live server turned it on.
   */
  async acquireForwarding(user: string): Promise<string> {
    checkUser(user);
    return this.exclusive(async () => {
      const others = await this.liveUsers(user);
      let before = await this.recorded();
      const now = await readIpForwarding(this.ipForwardPath);
      // A record no live server holds is a crashed server's: kept while forwarding is still on,
      // replaced once something else has turned it off.
      if (before === undefined || (others.length === 0 && now !== "1")) {
        before = now;
        await writeFile(this.recordFile, `${before}\n`, { mode: 0o600 });
      }
      await mkdir(this.markerDir, { recursive: true, mode: 0o700 });
      await writeFile(join(this.markerDir, user), `${process.pid} ${await startTime(process.pid)}\n`, { mode: 0o600 });
      if (now !== "1") await writeIpForwarding("1", this.ipForwardPath);
      return before;
    });
  }

  /**
   * `user` no longer needs forwarding: its marker goes, and when no live server is left the value
   * recorded by the first is put back. Returns whether it was put back.
   */
  async releaseForwarding(user: string): Promise<boolean> {
    checkUser(user);
    return this.exclusive(async () => {
      await rm(join(this.markerDir, user), { force: true });
      if ((await this.liveUsers(user)).length) return false;
      const before = await this.recorded();
      if (before === undefined) return false;
      if (before === "0") await writeIpForwarding("0", this.ipForwardPath);
      await rm(this.recordFile, { force: true });
      return true;
    });
  }

  private get markerDir(): string {
    return join(this.dir, "forwarding");
  }

  private get recordFile(): string {
    return join(this.dir, "ip_forward.before");
  }

  private async recorded(): Promise<string | undefined> {
    const v = (await readFile(this.recordFile, "utf8").catch(() => "")).trim();
    return v === "0" || v === "1" ? v : undefined;
  }

  /** Markers of live processes other than `user`'s; the others' markers are removed. */
  private async liveUsers(user: string): Promise<string[]> {
    const names = await readdir(this.markerDir).catch(() => [] as string[]);
    const live: string[] = [];
    for (const name of names) {
      if (name === user) continue;
      const file = join(this.markerDir, name);
      const [pid, start] = (await readFile(file, "utf8").catch(() => "")).trim().split(" ");
      if (pid && /^\d+$/.test(pid) && start !== undefined && (await startTime(Number(pid))) === start) live.push(name);
      else await rm(file, { force: true });
    }
    return live;
  }

  /**
   * Root's own directory, checked before anything in it is used: a directory (not a link) of this
   * uid in a parent no other user can write to (which the /tmp fallback could otherwise be).
   */
  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const uid = process.getuid?.();
    for (const d of [join(this.dir, ".."), this.dir]) {
      const st = await lstat(d);
      if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
        throw new Error(`${d} must be a directory of uid ${uid} that no other user can write to`);
      }
      if (d === this.dir && (st.mode & 0o077) !== 0) await chmod(d, 0o700);
    }
  }
}

function checkUser(user: string): void {
  if (!USER.test(user)) throw new Error(`Invalid network user name ${JSON.stringify(user)}`);
}

/** The kernel start time of `pid` (field 22 of /proc/<pid>/stat), or undefined when it is gone. */
export async function startTime(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  // the command name (field 2) may hold spaces and parentheses: count from the last ")"
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
}

/** flock(1) locks the descriptor handed to it as its fd 3, waiting up to LOCK_WAIT_SECONDS. */
function takeLock(flock: string, fd: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(flock, ["--exclusive", "--timeout", String(LOCK_WAIT_SECONDS), "3"], { stdio: ["ignore", "ignore", "pipe", fd] });
    const err: Buffer[] = [];
    child.stderr?.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else {
        const why = Buffer.concat(err).toString("utf8").trim() || `exit ${code ?? signal}`;
        reject(new Error(`The host network lock ${file} was not free within ${LOCK_WAIT_SECONDS} s (another localfargate server holds it): ${why}`));
      }
    });
  });
}
