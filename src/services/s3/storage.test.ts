import { describe, expect, it } from "vitest";
import { Store } from "../../store/store.ts";
import { compareKeys, firstPastPrefix, S3Storage } from "./storage.ts";

describe("S3Storage key order", () => {
  it("keeps the listing order current on put and delete without re-sorting the bucket", () => {
    const storage = new S3Storage(new Store(null));
    storage.createBucket({ name: "b", ownerAccountId: "000000000000", region: "us-east-1", creationDate: new Date(0) });
    const now = new Date(0);
    for (const k of ["m", "c", "x", "a/1", "a/2"]) storage.putObject("b", k, Buffer.from(k), now);
    const keys = storage.sortedKeys("b");
    expect(keys).toEqual(["a/1", "a/2", "c", "m", "x"]);
    // the same array is kept in order from here on
    for (const k of ["b", "\u{1F600}", "\uE000", "a/0", "m"]) storage.putObject("b", k, Buffer.from(k), now);
    storage.deleteObject("b", "c", now);
    storage.deleteObject("b", "nope", now);
    expect(storage.sortedKeys("b")).toBe(keys);
    expect(keys).toEqual(["a/0", "a/1", "a/2", "b", "m", "x", "\uE000", "\u{1F600}"]);
    expect([...keys].sort(compareKeys)).toEqual(keys);
  });

  it("finds the first key past a common prefix by binary search", () => {
    const keys = ["a", "a/1", "a/2", "a/3", "a0", "b"];
    expect(firstPastPrefix(keys, "a/")).toBe(4);
    expect(firstPastPrefix(keys, "a")).toBe(5);
    expect(firstPastPrefix(keys, "c")).toBe(6);
    expect(firstPastPrefix(keys, "0")).toBe(0);
  });
});
