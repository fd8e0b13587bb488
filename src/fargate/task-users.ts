/**
 * The unprivileged users task processes run as (docs/ecs-fargate.md, "What a task process runs
 * as"). When the server runs as root on Linux, every task gets a uid and gid of its own from
 * the range TASK_UID_BASE.., never one that /etc/passwd or /etc/group names or that any process
 * holds when the task starts (another localfargate server on this machine, with another data dir,
 * allocates from the same range: each server starts at a random place in it and skips every uid a
 * live process holds, so stopping one server's task never touches another's). The uid owns the
 * task's volume (mode 0700), so no other task, and nothing but root, can read it. Without root no uid can be switched: tasks run as the server's user, and
 * /_localfargate/health says so.
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { uidsInUse } from "./host-processes.ts";

export const TASK_UID_BASE = 200_000;
export const TASK_UID_COUNT = 65_536;

export interface TaskUser {
  uid: number;
  gid: number;
}

export type TaskIsolation = { users: "per-task"; uidRange: [number, number] } | { users: "server"; warning: string };

export const SHARED_USER_WARNING =
  "task processes run as the server's own user (the server is not root, so it cannot switch users): they can read the data dir and other tasks' volumes";

function idsIn(file: string): Set<number> {
  const ids = new Set<number>();
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const id = Number(line.split(":")[2]);
      if (line && Number.isInteger(id)) ids.add(id);
    }
  } catch {
    // No such file: nothing is taken.
  }
  return ids;
}

export class TaskUserPool {
  private readonly inUse = new Set<number>();
  private next: number;

  /**
   * `enabled`: whether uids can be switched (default: running as root on Linux); `start`: where in
   * the range the first allocation looks (random by default).
   */
  constructor(
    readonly enabled: boolean = process.platform === "linux" && process.getuid?.() === 0,
    start: number = randomInt(TASK_UID_COUNT),
  ) {
    this.next = start % TASK_UID_COUNT;
  }

  describe(): TaskIsolation {
    return this.enabled ? { users: "per-task", uidRange: [TASK_UID_BASE, TASK_UID_BASE + TASK_UID_COUNT - 1] } : { users: "server", warning: SHARED_USER_WARNING };
  }

  /** A uid/gid no other task, account or process uses; undefined when users cannot be switched. */
  allocate(): TaskUser | undefined {
    if (!this.enabled) return undefined;
    const taken = new Set<number>([...idsIn("/etc/passwd"), ...idsIn("/etc/group"), ...uidsInUse()]);
    for (let i = 0; i < TASK_UID_COUNT; i++) {
      const uid = TASK_UID_BASE + ((this.next + i) % TASK_UID_COUNT);
      if (this.inUse.has(uid) || taken.has(uid)) continue;
      this.inUse.add(uid);
      this.next = (this.next + i + 1) % TASK_UID_COUNT;
      return { uid, gid: uid };
    }
    throw new Error(`no free task uid left in ${TASK_UID_BASE}-${TASK_UID_BASE + TASK_UID_COUNT - 1}`);
  }

  /** Only once no process of the user is left: a uid a survivor still holds is never reused. */
  release(user: TaskUser | undefined): void {
    if (user) this.inUse.delete(user.uid);
  }
}

/** First host id of the ranges that OCI containers' user namespaces map to (above every normal uid). */
export const TASK_ID_RANGE_BASE = 2 ** 31;
/** Ids per range: a container sees uids and gids 0–65535. */
export const TASK_ID_RANGE_SIZE = 65_536;
/** Ranges available (the last id, 2^32 - 1, is never used: it means "no id"). */
export const TASK_ID_RANGE_COUNT = 32_767;

/**
 * Host id ranges for containers' user namespaces (docs/ecs-fargate.md, "What a task process runs
 * as"): each task of the crun runtime gets 65,536 host ids of its own, so root inside a container
 * is an unprivileged host id, and no two tasks share one. A range any live process holds an id of
 * (another localfargate server on this machine) is skipped.
 */
export class TaskIdRangePool {
  private readonly inUse = new Set<number>();
  private next: number;

  constructor(start: number = randomInt(TASK_ID_RANGE_COUNT)) {
    this.next = start % TASK_ID_RANGE_COUNT;
  }

  /** The first host id of a free range. */
  allocate(): number {
    const held = [...uidsInUse()].filter((u) => u >= TASK_ID_RANGE_BASE);
    for (let i = 0; i < TASK_ID_RANGE_COUNT; i++) {
      const slot = (this.next + i) % TASK_ID_RANGE_COUNT;
      const base = TASK_ID_RANGE_BASE + slot * TASK_ID_RANGE_SIZE;
      if (this.inUse.has(base) || held.some((u) => u >= base && u < base + TASK_ID_RANGE_SIZE)) continue;
      this.inUse.add(base);
      this.next = (slot + 1) % TASK_ID_RANGE_COUNT;
      return base;
    }
    throw new Error("no free host id range left for a container user namespace");
  }

  /** Whether `uid` lies in the range starting at `base`. */
  static contains(base: number, uid: number): boolean {
    return uid >= base && uid < base + TASK_ID_RANGE_SIZE;
  }

  /** Only once no process holds an id of the range. */
  release(base: number | undefined): void {
    if (base !== undefined) this.inUse.delete(base);
  }
}
