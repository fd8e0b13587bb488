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

describe("S3Storage versions", () => {
  it("makes each object of a data dir from before versioning its key's null version, readable as before", () => {
    const store = new Store(null);
    store.db.exec("CREATE TABLE s3_objects (bucket TEXT NOT NULL, key TEXT NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (bucket, key))");
    const meta = { key: "old.txt", size: 3, etag: '"x"', lastModified: new Date(0).toISOString(), contentType: "text/plain", metadata: {} };
    store.db.prepare("INSERT INTO s3_objects VALUES (?, ?, ?, ?)").run("b", "old.txt", JSON.stringify(meta), Buffer.from("old"));
    store.commitNow([store.put("s3.bucket", "b", { name: "b", ownerAccountId: "000000000000", region: "us-east-1", creationDate: new Date(0) })]);
    const storage = new S3Storage(store);
    expect(storage.head("b", "old.txt")).toMatchObject({ key: "old.txt", versionId: "null", contentType: "text/plain" });
    expect(storage.body("b", "old.txt")?.toString()).toBe("old");
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 's3_objects'").get()).toBeUndefined();
    expect(S3Storage.hasSealedBodies(store)).toBe(false);
  });

  it("seals new bodies: the stored bytes are not the content and do not open as another key's", () => {
    const store = new Store(null);
    const storage = new S3Storage(store);
    storage.createBucket({ name: "b", ownerAccountId: "000000000000", region: "us-east-1", creationDate: new Date(0) });
    const a = storage.putObject("b", "a", Buffer.from("alpha"), new Date(0));
    const c = storage.putObject("b", "c", Buffer.from("gamma"), new Date(0));
    store.commitNow([...a.writes, ...c.writes]);
    expect(S3Storage.hasSealedBodies(store)).toBe(true);
    const raw = store.db.prepare("SELECT body FROM s3_object_versions WHERE key = 'a'").get() as { body: Buffer };
    expect(raw.body.includes(Buffer.from("alpha"))).toBe(false);
    expect(storage.body("b", "a")?.toString()).toBe("alpha");
    // a sealed body moved under another key does not open
    store.db.prepare("UPDATE s3_object_versions SET body = ? WHERE key = 'c'").run(raw.body);
    expect(() => storage.body("b", "c")).toThrow();
  });
});

describe("S3Storage version ids", () => {
  it("are 32 letters, digits, '.' and '_', never starting with '-' (a CLI would read it as an option)", () => {
    const storage = new S3Storage(new Store(null));
    storage.createBucket({ name: "b", ownerAccountId: "000000000000", region: "us-east-1", creationDate: new Date(0) });
    storage.setBucketConfig("b", "versioning", { Status: "Enabled" });
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) ids.add(storage.putObject("b", "k", Buffer.from("x"), new Date(0)).meta.versionId);
    expect(ids.size).toBe(500);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9._]{32}$/);
  });
});
