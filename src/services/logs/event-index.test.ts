import { describe, expect, it } from "vitest";
import { EventIndex } from "./event-index.ts";

const key = (n: number) => String(n).padStart(8, "0");

/** The same answers as one sorted array, for keys inserted in any order. */
describe("EventIndex", () => {
  const n = 3000;
  const order = Array.from({ length: n }, (_, i) => (i * 7919) % n); // a permutation of 0..n-1
  const idx = new EventIndex<number>();
  for (const v of order) idx.set(key(v * 2), v * 2);

  it("keeps every entry once, in key order", () => {
    expect(idx.size).toBe(n);
    expect(idx.page({ limit: n + 1 }).items).toEqual(Array.from({ length: n }, (_, i) => i * 2));
    idx.set(key(10), 10);
    expect(idx.size).toBe(n);
  });

  it("pages from, after and below a key, with filters", () => {
    expect(idx.page({ from: key(1001), limit: 3 }).items).toEqual([1002, 1004, 1006]);
    expect(idx.page({ from: key(1002), limit: 2 }).items).toEqual([1002, 1004]);
    expect(idx.page({ after: key(1002), limit: 2 }).items).toEqual([1004, 1006]);
    expect(idx.page({ after: key(1002), descending: true, limit: 3 }).items).toEqual([1000, 998, 996]);
    expect(idx.page({ after: key(1001), descending: true, limit: 1 }).items).toEqual([1000]);
    expect(idx.page({ descending: true, limit: 2 }).items).toEqual([(n - 1) * 2, (n - 2) * 2]);
    expect(idx.page({ after: key(0), descending: true, limit: 2 }).items).toEqual([]);
    expect(idx.page({ after: key(99999), descending: true, limit: 1 }).items).toEqual([(n - 1) * 2]);
    expect(idx.page({ from: key(99999), limit: 1 }).items).toEqual([]);
    expect(idx.page({ from: key(0), limit: 3, filter: (v) => v % 3 === 0 }).items).toEqual([0, 6, 12]);
    let looked = 0;
    const upTo = idx.page({ from: key(100), before: key(106), limit: 100, filter: () => (looked++, true) }).items;
    expect(upTo).toEqual([100, 102, 104]);
    expect(looked).toBe(3);
  });

  it("deletes", () => {
    for (let v = 0; v < 1000; v += 2) expect(idx.delete(key(v))).toBe(true);
    expect(idx.delete(key(0))).toBe(false);
    expect(idx.size).toBe(n - 500);
    expect(idx.page({ limit: 2 }).items).toEqual([1000, 1002]);
    expect(idx.page({ after: key(1000), descending: true, limit: 2 }).items).toEqual([]);
  });
});
