import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StartupError } from "./startup-error.ts";
import { DataDirLock, readOwner } from "./lock.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("DataDirLock", () => {
  it("lets one holder in, names it to the next, and is free again once released", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-lock-"));
    dirs.push(dir);
    const first = DataDirLock.acquire(dir);
    first.setAddress("127.0.0.1:4612");
    expect(readOwner(dir)).toEqual({ pid: process.pid, address: "127.0.0.1:4612" });
    let refused: unknown;
    try {
      DataDirLock.acquire(dir);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(StartupError);
    expect((refused as Error).message).toBe(
      `data dir ${dir} is in use by another localfargate server (pid ${process.pid}, listening on 127.0.0.1:4612); stop that server first, or start this one with another --data-dir (and --port)`,
    );
    first.release();
    expect(readdirSync(dir).sort()).toEqual(["localfargate.lock"]);
    const second = DataDirLock.acquire(dir);
    expect(readOwner(dir)).toEqual({ pid: process.pid, address: undefined });
    second.release();
  });

  it("names a lock file that is not one and says how to recover", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-lock-"));
    dirs.push(dir);
    writeFileSync(join(dir, "localfargate.lock"), "x".repeat(512));
    expect(() => DataDirLock.acquire(dir)).toThrow(`${join(dir, "localfargate.lock")} is not the lock file localfargate makes`);
    expect(readFileSync(join(dir, "localfargate.lock"), "utf8")).toBe("x".repeat(512));
  });
});
