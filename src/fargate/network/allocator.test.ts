import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AddressAllocator } from "./allocator.ts";

const names = (slot: number) => ({ netns: `lf-n${slot}`, hostVeth: `lfh${slot.toString(16)}` });

describe("task address allocator", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-alloc-"));
    file = join(dir, "network", "allocations.json");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("hands out the lowest free slot and persists it before returning, readable only by the owner", async () => {
    const a = await AddressAllocator.open(file);
    await a.setSubnet("10.89.0.0/16");
    expect((await a.allocate("t1", names)).slot).toBe(0);
    expect((await a.allocate("t2", names)).slot).toBe(1);
    await a.release("t1");
    expect((await a.allocate("t3", names)).slot).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(await readFile(file, "utf8")) as { subnet: string; tasks: Record<string, { slot: number }> };
    expect(saved.subnet).toBe("10.89.0.0/16");
    expect(Object.fromEntries(Object.entries(saved.tasks).map(([k, v]) => [k, v.slot]))).toEqual({ t2: 1, t3: 0 });
  });

  it("after a restart does not hand out an address a previous run still holds", async () => {
    const first = await AddressAllocator.open(file);
    await first.setSubnet("10.89.0.0/16");
    await first.allocate("old1", names);
    await first.allocate("old2", names);
    const second = await AddressAllocator.open(file);
    expect(second.subnet).toBe("10.89.0.0/16");
    expect(second.get("old2")).toEqual({ slot: 1, ...names(1) });
    expect((await second.allocate("new", names)).slot).toBe(2);
  });

  it("refuses a second network for one task and a subnet change while addresses are held", async () => {
    const a = await AddressAllocator.open(file);
    await a.setSubnet("10.89.0.0/16");
    await a.allocate("t1", names);
    await expect(a.allocate("t1", names)).rejects.toThrow(/already has a network/);
    await expect(a.setSubnet("10.90.0.0/16")).rejects.toThrow(/still held/);
    await a.release("t1");
    await a.setSubnet("10.90.0.0/16");
    expect(a.subnet).toBe("10.90.0.0/16");
  });

  it("refuses a damaged file rather than guessing, and ignores malformed entries and prototype keys", async () => {
    await writeFile(join(dir, "bad.json"), "{not json");
    await expect(AddressAllocator.open(join(dir, "bad.json"))).rejects.toThrow(/not valid JSON/);
    await writeFile(
      join(dir, "odd.json"),
      JSON.stringify({ subnet: "10.89.0.0/16", tasks: { ok: { slot: 3, netns: "lf-ok", hostVeth: "lfh3" }, neg: { slot: -1, netns: "x", hostVeth: "y" }, str: "x" } }),
    );
    const a = await AddressAllocator.open(join(dir, "odd.json"));
    expect(a.entries().map(([k]) => k)).toEqual(["ok"]);
    expect(a.get("__proto__")).toBeUndefined();
    expect(a.get("constructor")).toBeUndefined();
  });
});
