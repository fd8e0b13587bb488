/**
 * What a running task leaves on disk so that the next start can end it after a crash: the file
 * `<volumes>/<volumeId>/processes.json`, beside the volume's mount point (never inside it, where
 * the task could rewrite it), holding the task's uid (when it has one of its own) and the pid and
 * kernel start time of each container's main process (the leader of its process group).
 * The next start ends every process of that uid and every process group whose leader is still
 * the recorded process (host-processes.ts), before it unmounts and deletes the volume.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { endProcesses, isSameProcess, processStartTime, type HostProcess } from "./host-processes.ts";
import { TASK_UID_BASE, TASK_UID_COUNT } from "./task-users.ts";

export const RUN_STATE_FILE = "processes.json";

export interface RecordedProcess {
  pid: number;
  startTime: string;
}

export interface RunState {
  uid?: number;
  processes: RecordedProcess[];
}

/** Records a task's processes as they start; every write replaces the file atomically. */
export class RunStateFile {
  private readonly state: RunState;
  readonly path: string;

  constructor(volumeRoot: string, uid: number | undefined) {
    this.path = join(volumeRoot, RUN_STATE_FILE);
    this.state = uid === undefined ? { processes: [] } : { uid, processes: [] };
    this.write();
  }

  addProcess(pid: number): void {
    const startTime = processStartTime(pid);
    if (startTime === undefined) return; // already gone, or no /proc: nothing to find later
    this.state.processes.push({ pid, startTime });
    this.write();
  }

  private write(): void {
    const tmp = this.path + ".tmp";
    writeFileSync(tmp, JSON.stringify(this.state) + "\n", { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

function isPid(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n > 1;
}

function isTaskUid(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= TASK_UID_BASE && n < TASK_UID_BASE + TASK_UID_COUNT;
}

/** The run state of a volume directory, or undefined when there is none or it is unreadable. */
export function readRunState(volumeRoot: string): RunState | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(volumeRoot, RUN_STATE_FILE), "utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const o = parsed as { uid?: unknown; processes?: unknown };
  const processes = Array.isArray(o.processes)
    ? o.processes.filter((p): p is RecordedProcess => isPid((p as RecordedProcess)?.pid) && typeof (p as RecordedProcess)?.startTime === "string")
    : [];
  // Only a uid from the task range is obeyed: never root's or a host account's.
  return isTaskUid(o.uid) ? { uid: o.uid, processes } : { processes };
}

/**
 * End the processes a previous run of the volume's task left: those of its own uid, and the
 * process groups whose leader is still the recorded process. Resolves with pids that survived.
 */
export async function endRecordedProcesses(volumeRoot: string): Promise<number[]> {
  const rs = readRunState(volumeRoot);
  if (!rs) return [];
  const groups = new Set(rs.processes.filter((p) => isSameProcess(p.pid, p.startTime)).map((p) => p.pid));
  const select = (p: HostProcess) => (rs.uid !== undefined && p.uids.includes(rs.uid)) || groups.has(p.pgid);
  return endProcesses(select);
}
