import { describe, expect, it } from "vitest";
import { IndexedMap, SortedRun, positionFromToken, positionToken } from "./ordered-index.ts";

interface Rec {
  id: string;
  account: string;
  name: string;
  n: number;
}

const byAccount = () =>
  new IndexedMap<string, Rec, "byName">({
    byName: { scope: (r) => r.account, key: (r) => r.name },
  });

describe("SortedRun", () => {
  it("keeps keys sorted whatever the insert order, replaces equal keys and deletes", () => {
    const run = new SortedRun<number>();
    const keys = Array.from({ length: 500 }, (_, i) => `k${String((i * 7919) % 500).padStart(4, "0")}`);
    keys.forEach((k, i) => run.set(k, i));
    run.set("k0003", -1);
    expect(run.size).toBe(500);
    expect(run.get("k0003")).toBe(-1);
    expect(run.delete("k0004")).toBe(true);
    expect(run.delete("k0004")).toBe(false);
    const all = run.page({ limit: 1000 });
    expect(all.items.length).toBe(499);
    expect(all.nextKey).toBeUndefined();
    const sortedKeys = [...keys].filter((k) => k !== "k0004").sort();
    expect(all.lastKey).toBe(sortedKeys[sortedKeys.length - 1]);
  });

  it("pages after, from and descending by position", () => {
    const run = new SortedRun<string>();
    for (const k of ["a", "c", "e", "g"]) run.set(k, k);
    expect(run.page({ limit: 2 })).toEqual({ items: ["a", "c"], lastKey: "c", nextKey: "e" });
    expect(run.page({ after: "c", limit: 2 }).items).toEqual(["e", "g"]);
    expect(run.page({ after: "b", limit: 2 }).items).toEqual(["c", "e"]);
    expect(run.page({ from: "c", limit: 2 }).items).toEqual(["c", "e"]);
    expect(run.page({ after: "g", limit: 2 })).toEqual({ items: [], lastKey: undefined, nextKey: undefined });
    expect(run.page({ descending: true, limit: 3 })).toEqual({ items: ["g", "e", "c"], lastKey: "c", nextKey: "a" });
    expect(run.page({ descending: true, after: "e", limit: 3 }).items).toEqual(["c", "a"]);
    expect(run.page({ descending: true, from: "e", limit: 3 }).items).toEqual(["e", "c", "a"]);
    expect(run.page({ filter: (v) => v !== "c", limit: 2 })).toEqual({ items: ["a", "e"], lastKey: "e", nextKey: "g" });
  });

  it("pages within a prefix by binary search, both ways, without visiting other keys", () => {
    const counter = { visited: 0 };
    const run = new SortedRun<string>(counter);
    for (const k of ["a", "ab", "abc", "abd", "ac", "b", "ba"]) run.set(k, k);
    for (let i = 0; i < 1000; i++) run.set(`z${i}`, `z${i}`);
    counter.visited = 0;
    expect(run.page({ prefix: "ab", limit: 10 }).items).toEqual(["ab", "abc", "abd"]);
    expect(counter.visited).toBeLessThanOrEqual(3 + 11);
    expect(run.page({ prefix: "ab", limit: 2 })).toEqual({ items: ["ab", "abc"], lastKey: "abc", nextKey: "abd" });
    expect(run.page({ prefix: "ab", after: "abc", limit: 2 }).items).toEqual(["abd"]);
    expect(run.page({ prefix: "ab", descending: true, limit: 10 }).items).toEqual(["abd", "abc", "ab"]);
    expect(run.page({ prefix: "ab", descending: true, after: "abd", limit: 10 }).items).toEqual(["abc", "ab"]);
    expect(run.page({ prefix: "b", from: "a", limit: 10 }).items).toEqual(["b", "ba"]);
    expect(run.page({ prefix: "c", limit: 10 }).items).toEqual([]);
  });
});

describe("IndexedMap", () => {
  it("a page of 10 in a small scope visits O(10 + log n) entries however large the other scopes", () => {
    const m = byAccount();
    for (let i = 0; i < 10_000; i++) m.set(`b${i}`, { id: `b${i}`, account: "B", name: `n${String(i).padStart(6, "0")}`, n: i });
    for (let i = 0; i < 50; i++) m.set(`a${i}`, { id: `a${i}`, account: "A", name: `n${String(i).padStart(6, "0")}`, n: i });
    const idx = m.index("byName");

    m.counter.visited = 0;
    const first = idx.page("A", { limit: 10 });
    expect(first.items.map((r) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`));
    expect(m.counter.visited).toBeLessThanOrEqual(11);

    // a later page in the big scope: binary search to the position, then the page
    m.counter.visited = 0;
    const mid = idx.page("B", { after: "n005000", limit: 10 });
    expect(mid.items[0].id).toBe("b5001");
    expect(m.counter.visited).toBeLessThanOrEqual(11 + 2 * Math.ceil(Math.log2(10_001)));
  });

  it("moves an entry whose record changed in place, and forgets deleted entries", () => {
    const m = byAccount();
    const r: Rec = { id: "x", account: "A", name: "m", n: 0 };
    m.set("x", r);
    m.set("y", { id: "y", account: "A", name: "z", n: 1 });
    r.name = "a";
    r.account = "C";
    m.set("x", r);
    const idx = m.index("byName");
    expect(idx.all("A").map((v) => v.id)).toEqual(["y"]);
    expect(idx.all("C").map((v) => v.id)).toEqual(["x"]);
    m.delete("y");
    expect(idx.all("A")).toEqual([]);
    expect(idx.size("A")).toBe(0);
    m.clear();
    expect(idx.all("C")).toEqual([]);
  });

  it("leaves entries whose scope is undefined out of that index", () => {
    const m = new IndexedMap<string, Rec, "active">({ active: { scope: (r) => (r.n > 0 ? r.account : undefined), key: (r) => r.name } });
    m.set("1", { id: "1", account: "A", name: "a", n: 0 });
    m.set("2", { id: "2", account: "A", name: "b", n: 1 });
    expect(
      m
        .index("active")
        .all("A")
        .map((r) => r.id),
    ).toEqual(["2"]);
    expect(m.size).toBe(2);
  });
});

describe("position tokens", () => {
  it("round-trip and refuse foreign prefixes and garbage", () => {
    const t = positionToken("lfx1:", "key|ü");
    expect(positionFromToken("lfx1:", t)).toBe("key|ü");
    expect(positionFromToken("other:", t)).toBeUndefined();
    expect(positionFromToken("lfx1:", "not a token!")).toBeUndefined();
    expect(positionFromToken("lfx1:", "")).toBeUndefined();
  });
});
