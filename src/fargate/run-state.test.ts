import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isSameProcess, listHostProcesses, processStartTime } from "./host-processes.ts";
import { endRecordedProcesses, readRunState, RUN_STATE_FILE, RunStateFile } from "./run-state.ts";
import { TASK_UID_BASE } from "./task-users.ts";

const hasProc = existsSync("/proc/self/stat");
const isRoot = process.getuid?.() === 0;

/** A detached shell (its own process group) with a background child; resolves with the shell's pid. */
async function detachedGroup(opts: { uid?: number } = {}): Promise<number> {
  const child = spawn("sh", ["-c", "sleep 600 & exec sleep 600"], { detached: true, stdio: "ignore", ...(opts.uid ? { uid: opts.uid, gid: opts.uid } : {}) });
  child.unref();
  await new Promise((r) => child.once("spawn", r));
  // Wait until the background sleep exists too (seconds, on a loaded host).
  const end = performance.now() + 60_000;
  while ((await listHostProcesses()).filter((p) => p.pgid === child.pid).length < 2) {
    if (performance.now() > end) throw new Error(`the background sleep of process group ${child.pid} never started`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return child.pid!;
}

describe.skipIf(!hasProc)("run state: what the next start ends", () => {
  let root: string;
  const started: number[] = [];
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-runstate-"));
  });
  afterEach(async () => {
    for (const pgid of started.splice(0)) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await rm(root, { recursive: true, force: true });
  });

  it("records pid and start time, and ends the recorded process group (leader and children)", async () => {
    const pid = await detachedGroup();
    started.push(pid);
    const members = (await listHostProcesses()).filter((p) => p.pgid === pid);
    expect(members).toHaveLength(2);
    const rs = new RunStateFile(root, undefined);
    rs.addProcess(pid);
    expect(JSON.parse(await readFile(join(root, RUN_STATE_FILE), "utf8"))).toEqual({ processes: [{ pid, startTime: processStartTime(pid) }] });
    expect(await endRecordedProcesses(root)).toEqual([]);
    for (const m of members) expect(isSameProcess(m.pid, m.startTime)).toBe(false);
  });

  it("never signals a process whose pid was reused (the start time differs)", async () => {
    const pid = await detachedGroup();
    started.push(pid);
    await writeFile(join(root, RUN_STATE_FILE), JSON.stringify({ processes: [{ pid, startTime: "1" }] }));
    expect(await endRecordedProcesses(root)).toEqual([]);
    expect(isSameProcess(pid, processStartTime(pid)!)).toBe(true);
  });

  it("ignores a uid outside the task range, a malformed file and a missing one", async () => {
    await writeFile(join(root, RUN_STATE_FILE), JSON.stringify({ uid: 0, processes: [{ pid: 1, startTime: "x" }, { pid: "2" }] }));
    expect(readRunState(root)).toEqual({ processes: [] });
    await writeFile(join(root, RUN_STATE_FILE), JSON.stringify({ uid: 1000, processes: [{ pid: 1, startTime: "5" }] }));
    expect(readRunState(root)).toEqual({ processes: [] });
    await writeFile(join(root, RUN_STATE_FILE), "{not json");
    expect(readRunState(root)).toBeUndefined();
    expect(await endRecordedProcesses(root)).toEqual([]);
    await rm(join(root, RUN_STATE_FILE));
    expect(await endRecordedProcesses(root)).toEqual([]);
  });

  it.skipIf(!isRoot)("ends every process of the task's uid, also one that left the recorded group", async () => {
    const uid = TASK_UID_BASE + 65_000;
    const escaped = await detachedGroup({ uid });
    started.push(escaped);
    new RunStateFile(root, uid);
    expect(readRunState(root)).toEqual({ uid, processes: [] });
    const before = (await listHostProcesses()).filter((p) => p.uids.includes(uid));
    expect(before).toHaveLength(2);
    expect(await endRecordedProcesses(root)).toEqual([]);
    for (const p of before) expect(isSameProcess(p.pid, p.startTime)).toBe(false);
  });
});
