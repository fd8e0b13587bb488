import { describe, expect, it } from "vitest";
import { ScopedIndex } from "./ordered-index.ts";
import { pageIndex, pageList, tokenFor, tokenPosition, type PageTokens } from "./paging.ts";

class BadToken extends Error {}
const after: PageTokens = { prefix: "t1:", invalid: () => new BadToken("bad"), resume: "after" };
const at: PageTokens = { ...after, prefix: "t2:", resume: "at" };

function index(keys: string[]): ScopedIndex<string> {
  const idx = new ScopedIndex<string>();
  for (const k of keys) idx.set("s", k, k.toUpperCase());
  return idx;
}

/** Every item of a list, page by page, following the tokens. */
function walk(page: (token: string | undefined) => { items: string[]; next?: string }): string[][] {
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const p = page(token);
    pages.push(p.items);
    token = p.next;
  } while (token !== undefined && pages.length < 20);
  return pages;
}

describe("paging over an ordered index", () => {
  const idx = index(["a", "b", "c", "d", "e"]);
  for (const tokens of [after, at]) {
    it(`pages through every entry once with ${tokens.resume} tokens`, () => {
      expect(walk((t) => pageIndex(tokens, idx, "s", t, 2))).toEqual([["A", "B"], ["C", "D"], ["E"]]);
    });
  }

  it("names the last item returned (after) or the first of the next page (at)", () => {
    expect(tokenPosition(after, pageIndex(after, idx, "s", undefined, 2).next)).toBe("b");
    expect(tokenPosition(at, pageIndex(at, idx, "s", undefined, 2).next)).toBe("c");
  });

  it("keeps a page boundary when entries before it are removed", () => {
    const live = index(["a", "b", "c", "d"]);
    const first = pageIndex(after, live, "s", undefined, 2);
    live.delete("s", "a");
    expect(pageIndex(after, live, "s", first.next, 2).items).toEqual(["C", "D"]);
  });

  it("answers an empty page for a missing index or scope, and passes filter and descending", () => {
    expect(pageIndex(after, undefined, "s", undefined, 5)).toEqual({ items: [] });
    expect(pageIndex(after, idx, "other", undefined, 5)).toEqual({ items: [] });
    expect(pageIndex(after, idx, "s", undefined, 2, { descending: true }).items).toEqual(["E", "D"]);
    expect(pageIndex(after, idx, "s", undefined, 5, { filter: (v) => v !== "C" }).items).toEqual(["A", "B", "D", "E"]);
  });
});

describe("paging over a sorted list", () => {
  const items = ["a", "b", "c", "d", "e"];
  for (const tokens of [after, at]) {
    it(`pages through every item once with ${tokens.resume} tokens`, () => {
      expect(walk((t) => pageList(tokens, items, (x) => x, t, 2))).toEqual([["a", "b"], ["c", "d"], ["e"]]);
      expect(pageList(tokens, items, (x) => x, undefined, 5)).toEqual({ items });
    });
  }

  it("gives sortKey the item's place, for lists keyed by position", () => {
    const key = (_: string, i: number) => String(i).padStart(4, "0");
    expect(walk((t) => pageList(at, ["x", "y", "z"], key, t, 2))).toEqual([["x", "y"], ["z"]]);
  });

  it("answers an empty last page when the token is past the end", () => {
    expect(pageList(after, items, (x) => x, tokenFor(after, "zz"), 2)).toEqual({ items: [] });
  });
});

describe("page tokens", () => {
  it("refuse, with the service's own error, tokens of another prefix, garbage and the empty string", () => {
    const foreign = tokenFor(at, "b");
    for (const bad of [foreign, "not a token!", "", "%%%", Buffer.from("t1").toString("base64url")]) {
      expect(() => pageIndex(after, index(["a"]), "s", bad, 1)).toThrow(BadToken);
      expect(() => pageList(after, ["a"], (x) => x, bad, 1)).toThrow(BadToken);
    }
  });

  it("round-trip keys with separators and non-ASCII characters", () => {
    expect(tokenPosition(after, tokenFor(after, "acct|us-east-1|ü/1"))).toBe("acct|us-east-1|ü/1");
    expect(tokenPosition(after, undefined)).toBeUndefined();
  });
});
