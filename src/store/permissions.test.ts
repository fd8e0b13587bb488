import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tightenDataDir } from "./permissions.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o777;

describe("tightenDataDir", () => {
  it("makes directories 0700 and files 0600, leaves what is inside a volume alone, and follows a linked data dir", () => {
    const base = mkdtempSync(join(tmpdir(), "lf-perm-"));
    dirs.push(base);
    const real = join(base, "real");
    mkdirSync(join(real, "audit-log"), { recursive: true });
    mkdirSync(join(real, "volumes", "vol-1"), { recursive: true });
    writeFileSync(join(real, "localfargate.db"), "");
    writeFileSync(join(real, "audit-log", "seg"), "");
    writeFileSync(join(real, "volumes", "vol-1", "task-file"), "");
    for (const p of [real, join(real, "audit-log"), join(real, "volumes"), join(real, "volumes", "vol-1")]) chmodSync(p, 0o755);
    for (const p of [join(real, "localfargate.db"), join(real, "audit-log", "seg"), join(real, "volumes", "vol-1", "task-file")]) chmodSync(p, 0o644);
    const link = join(base, "link");
    symlinkSync(real, link);

    tightenDataDir(link);

    expect(mode(real)).toBe(0o700);
    expect(mode(join(real, "audit-log"))).toBe(0o700);
    expect(mode(join(real, "volumes"))).toBe(0o700);
    expect(mode(join(real, "localfargate.db"))).toBe(0o600);
    expect(mode(join(real, "audit-log", "seg"))).toBe(0o600);
    expect(mode(join(real, "volumes", "vol-1"))).toBe(0o755);
    expect(mode(join(real, "volumes", "vol-1", "task-file"))).toBe(0o644);
  });
});
