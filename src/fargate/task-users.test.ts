import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SHARED_USER_WARNING, TASK_ID_RANGE_BASE, TASK_ID_RANGE_COUNT, TASK_ID_RANGE_SIZE, TASK_UID_BASE, TASK_UID_COUNT, TaskIdRangePool, TaskUserPool } from "./task-users.ts";

describe("TaskUserPool", () => {
  it("without root gives no user and says why", () => {
    const pool = new TaskUserPool(false);
    expect(pool.allocate()).toBeUndefined();
    expect(pool.describe()).toEqual({ users: "server", warning: SHARED_USER_WARNING });
  });

  it("gives each task a distinct uid (= gid) in the task range and does not hand a released one straight back", () => {
    const pool = new TaskUserPool(true);
    expect(pool.describe()).toEqual({ users: "per-task", uidRange: [TASK_UID_BASE, TASK_UID_BASE + TASK_UID_COUNT - 1] });
    const a = pool.allocate()!;
    const b = pool.allocate()!;
    expect(a.uid).not.toBe(b.uid);
    for (const u of [a, b]) {
      expect(u.gid).toBe(u.uid);
      expect(u.uid).toBeGreaterThanOrEqual(TASK_UID_BASE);
      expect(u.uid).toBeLessThan(TASK_UID_BASE + TASK_UID_COUNT);
    }
    pool.release(a);
    const c = pool.allocate()!;
    expect([a.uid, b.uid]).not.toContain(c.uid);
  });

  it.skipIf(process.getuid?.() !== 0)("skips a uid a live process holds", async () => {
    const holder = spawn("sleep", ["600"], { uid: TASK_UID_BASE, gid: TASK_UID_BASE, stdio: "ignore" });
    await new Promise((r) => holder.once("spawn", r));
    try {
      expect(new TaskUserPool(true, 0).allocate()!.uid).not.toBe(TASK_UID_BASE);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it.skipIf(process.getuid?.() !== 0)("skips a uid a process took after the pool's first allocation (another server's task)", async () => {
    const pool = new TaskUserPool(true, 0);
    const first = pool.allocate()!;
    const holder = spawn("sleep", ["600"], { uid: first.uid + 1, gid: first.uid + 1, stdio: "ignore" });
    await new Promise((r) => holder.once("spawn", r));
    try {
      expect(pool.allocate()!.uid).not.toBe(first.uid + 1);
    } finally {
      holder.kill("SIGKILL");
    }
  });

  it("starts at a random place in the range, so two servers rarely reach for the same uid", () => {
    const starts = new Set(Array.from({ length: 8 }, () => new TaskUserPool(true).allocate()?.uid));
    expect(starts.size).toBeGreaterThan(1);
  });
});

describe("TaskIdRangePool", () => {
  it("gives each task its own 65,536 host ids above 2^31, and the last range ends below 2^32 - 1", () => {
    const pool = new TaskIdRangePool(TASK_ID_RANGE_COUNT - 1);
    const last = pool.allocate();
    expect(last).toBe(TASK_ID_RANGE_BASE + (TASK_ID_RANGE_COUNT - 1) * TASK_ID_RANGE_SIZE);
    expect(last + TASK_ID_RANGE_SIZE - 1).toBeLessThan(2 ** 32 - 1);
    const next = pool.allocate(); // wraps to the first range
    expect(next).toBe(TASK_ID_RANGE_BASE);
    expect(TaskIdRangePool.contains(next, next + TASK_ID_RANGE_SIZE - 1)).toBe(true);
    expect(TaskIdRangePool.contains(next, next + TASK_ID_RANGE_SIZE)).toBe(false);
    expect(TaskIdRangePool.contains(next, next - 1)).toBe(false);
  });

  it("never hands out a range twice while it is held, and moves on past a released one", () => {
    const pool = new TaskIdRangePool(5);
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(pool.allocate());
    expect(seen.size).toBe(50);
    const again = new TaskIdRangePool(TASK_ID_RANGE_COUNT - 1);
    const first = again.allocate();
    again.release(first);
    // the next allocation starts after the last one handed out; the released range comes back later
    expect(again.allocate()).toBe(TASK_ID_RANGE_BASE);
  });

  it.skipIf(process.getuid?.() !== 0)("skips a range a live process holds an id of", async () => {
    const held = TASK_ID_RANGE_BASE + 7 * TASK_ID_RANGE_SIZE + 1000;
    // Node's spawn takes int32 ids only: setpriv (util-linux) switches to one above 2^31.
    const holder = spawn("setpriv", [`--reuid=${held}`, `--regid=${held}`, "--clear-groups", "sleep", "600"], { stdio: "ignore" });
    await new Promise((r) => holder.once("spawn", r));
    try {
      // setpriv switches ids before it runs sleep: wait for that, however long a loaded host takes
      const end = performance.now() + 60_000;
      while (!readFileSync(`/proc/${holder.pid}/status`, "utf8").includes(String(held))) {
        if (performance.now() > end) throw new Error(`setpriv never took the ids ${held}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(new TaskIdRangePool(7).allocate()).toBe(TASK_ID_RANGE_BASE + 8 * TASK_ID_RANGE_SIZE);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
