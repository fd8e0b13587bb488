import { describe, it, expect } from "vitest";
import { DiskGuard, isDiskFull } from "./disk-guard.ts";

describe("DiskGuard", () => {
  it("refuses below the reserve and clears once space returns", () => {
    let free = 100;
    const g = new DiskGuard("/data", 1000, () => free);
    expect(g.problem()).toMatch(/100 bytes free, less than the 1000/);
    free = 5000;
    expect(g.problem()).toBeUndefined();
    expect(g.problem(3000)).toBeUndefined();
    expect(g.problem(4500)).toMatch(/too few to store 4500 more bytes/);
  });

  it("remembers a failed write while free space cannot be read", () => {
    let fail = true;
    const g = new DiskGuard("/data", 10, () => {
      if (fail) throw Object.assign(new Error("statfs failed"), { code: "EIO" });
      return 1e9;
    });
    expect(g.problem()).toBeUndefined();
    expect(g.noteFailure(Object.assign(new Error("database or disk is full"), { code: "SQLITE_FULL" }))).toBe(true);
    expect(g.problem()).toMatch(/SQLITE_FULL/);
    fail = false;
    expect(g.problem()).toBeUndefined();
  });

  it("far above the reserve, measures once every 65 calls; near it, on every call", () => {
    let measured = 0;
    let free = 4 * 1024 ** 3;
    const g = new DiskGuard("/data", 1000, () => (measured++, free));
    for (let i = 0; i < 65; i++) expect(g.problem()).toBeUndefined();
    expect(measured).toBe(1);
    free = 500;
    expect(g.problem()).toMatch(/500 bytes free/);
    expect(measured).toBe(2);
    free = 2000;
    for (let i = 0; i < 3; i++) expect(g.problem()).toBeUndefined();
    expect(measured).toBe(5);
  });

  it("a call bringing a body, or a remembered failure, is always measured", () => {
    let measured = 0;
    const g = new DiskGuard("/data", 1000, () => (measured++, 4 * 1024 ** 3));
    g.problem();
    g.problem(10);
    expect(measured).toBe(2);
    g.noteFailure(Object.assign(new Error("disk full"), { code: "ENOSPC" }));
    g.problem();
    expect(measured).toBe(3);
  });

  it("knows which errors mean no space", () => {
    for (const code of ["SQLITE_FULL", "ENOSPC", "EDQUOT"]) expect(isDiskFull(Object.assign(new Error(), { code }))).toBe(true);
    for (const e of [new Error("x"), Object.assign(new Error(), { code: "EACCES" }), null, undefined, "ENOSPC"]) expect(isDiskFull(e)).toBe(false);
    expect(new DiskGuard("/d", 1, () => 0).noteFailure(new Error("other"))).toBe(false);
  });

  it("an in-memory store is never short of disk", () => {
    expect(new DiskGuard(null, 1e18, () => 0).problem()).toBeUndefined();
  });
});
