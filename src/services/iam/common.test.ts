import { describe, it, expect } from "vitest";
import { encodeDocument, iamArn, mergeTags, newId, newSecret, paginate, paginateIndex, parseIamArn, policySize } from "./common.ts";
import { ACCOUNT_SCOPE, NamedMap } from "./state.ts";
import { SecretSealer } from "./secrets.ts";

describe("identifiers", () => {
  it("makes AWS-shaped ids, key ids and secrets", () => {
    expect(newId("AIDA")).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(newId("AKIA")).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(newSecret()).toMatch(/^[A-Za-z0-9+/]{40}$/);
    expect(new Set(Array.from({ length: 100 }, () => newId("AROA"))).size).toBe(100);
  });

  it("builds and parses ARNs with paths", () => {
    expect(iamArn("123456789012", "user", "/a/b/", "bob")).toBe("arn:aws:iam::123456789012:user/a/b/bob");
    expect(parseIamArn("arn:aws:iam::123456789012:policy/a/b/p")).toEqual({ accountId: "123456789012", kind: "policy", path: "/a/b/", name: "p" });
    expect(parseIamArn("arn:aws:iam::aws:policy/service-role/X")).toMatchObject({ accountId: "aws", path: "/service-role/", name: "X" });
    expect(parseIamArn("arn:aws:s3:::bucket")).toBeUndefined();
  });
});

describe("policy documents", () => {
  it("encodes per RFC 3986, as IAM returns documents", () => {
    expect(encodeDocument('{"Action": "s3:*"}')).toBe("%7B%22Action%22%3A%20%22s3%3A%2A%22%7D");
    expect(encodeDocument("!'()~-._")).toBe("%21%27%28%29~-._");
    const d = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }, null, 2);
    expect(decodeURIComponent(encodeDocument(d))).toBe(d);
  });

  it("counts size without whitespace", () => {
    expect(policySize('{ "a" :\n\t"b" }')).toBe(9);
  });
});

describe("paging", () => {
  const items = ["a", "b", "c", "d", "e"];
  it("walks pages with an opaque marker", () => {
    const p1 = paginate(items, (x) => x, undefined, 2);
    expect(p1).toMatchObject({ items: ["a", "b"], IsTruncated: true });
    const p2 = paginate(items, (x) => x, p1.Marker, 2);
    expect(p2.items).toEqual(["c", "d"]);
    const p3 = paginate(items, (x) => x, p2.Marker, 2);
    expect(p3).toEqual({ items: ["e"], IsTruncated: false });
  });

  it("keeps its place when earlier items disappear", () => {
    const p1 = paginate(items, (x) => x, undefined, 2);
    expect(paginate(["c", "d", "e"], (x) => x, p1.Marker, 2).items).toEqual(["c", "d"]);
  });

  it("refuses a marker it did not make", () => {
    expect(() => paginate(items, (x) => x, "bm9wZQ", 2)).toThrow(/Invalid Marker/);
  });
});

describe("tags", () => {
  it("replaces case-insensitively and caps at 50", () => {
    expect(mergeTags([{ Key: "Env", Value: "a" }], [{ Key: "env", Value: "b" }], "User")).toEqual([{ Key: "env", Value: "b" }]);
    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    expect(() => mergeTags(fifty, [{ Key: "one-more", Value: "v" }], "Role")).toThrow("Cannot exceed quota for TagsPerRole: 50");
    expect(() =>
      mergeTags(
        [],
        [
          { Key: "a", Value: "1" },
          { Key: "A", Value: "2" },
        ],
        "User",
      ),
    ).toThrow(/Duplicate tag keys/);
  });
});

describe("secret sealing", () => {
  it("round-trips and binds the sealed value to its id", () => {
    const s = new SecretSealer(null);
    const sealed = s.seal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AKIAEXAMPLE");
    expect(JSON.stringify(sealed)).not.toContain("wJalr");
    expect(s.open(sealed, "AKIAEXAMPLE")).toBe("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    expect(() => s.open(sealed, "AKIAOTHER")).toThrow();
  });
});

describe("paginateIndex", () => {
  it("a page deep into 10,000 users visits O(page + log n) of them", () => {
    const users = new NamedMap<{ name: string; path: string }>();
    for (let i = 0; i < 10_000; i++) users.set(`u${i}`, { name: `U${String(i).padStart(5, "0")}`, path: i % 2 ? "/" : "/even/" });
    const first = paginateIndex(users.index("byName"), ACCOUNT_SCOPE, undefined, 10);
    expect(first.items.map((u) => u.name)[0]).toBe("U00000");
    let page = first;
    for (let i = 0; i < 500; i++) page = paginateIndex(users.index("byName"), ACCOUNT_SCOPE, page.Marker, 10);
    users.counter.visited = 0;
    page = paginateIndex(users.index("byName"), ACCOUNT_SCOPE, page.Marker, 10);
    expect(page.items[0].name).toBe("U05010");
    expect(page.IsTruncated).toBe(true);
    expect(users.counter.visited).toBeLessThanOrEqual(11 + 14);
    const even = paginateIndex(users.index("byName"), ACCOUNT_SCOPE, undefined, 3, (u) => u.path === "/even/");
    expect(even.items.map((u) => u.name)).toEqual(["U00000", "U00002", "U00004"]);
  });
});
