import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SHARED_USER_WARNING, TASK_UID_BASE, TASK_UID_COUNT, TaskUserPool } from "./task-users.ts";

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
