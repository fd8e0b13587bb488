import { describe, expect, it } from "vitest";
import { checkTagKeys, checkTags, mergeTags, removeTags, requestTagContext, tagRecord, type TagRules } from "./tags.ts";

interface T {
  k: string;
  v?: string;
}

class Refused extends Error {}
const refuse = (why: string) => () => new Refused(why);

function rules(over: Partial<TagRules<T>> = {}): TagRules<T> {
  return {
    shape: { key: (t) => t.k, value: (t) => t.v, make: (k, v) => ({ k, v }) },
    max: 3,
    requestCount: "last",
    errors: {
      tooMany: refuse("tooMany"),
      emptyKey: refuse("emptyKey"),
      keyTooLong: refuse("keyTooLong"),
      valueTooLong: refuse("valueTooLong"),
      reserved: (key) => new Refused(`reserved ${key}`),
      duplicate: (key) => new Refused(`duplicate ${key}`),
    },
    ...over,
  };
}

const why = (call: () => unknown): string => {
  try {
    call();
  } catch (e) {
    if (e instanceof Refused) return e.message;
    throw e;
  }
  return "accepted";
};

describe("checkTags", () => {
  it("accepts good tags and no tags", () => {
    expect(why(() => checkTags(rules(), [{ k: "a", v: "1" }, { k: "b" }]))).toBe("accepted");
    expect(why(() => checkTags(rules(), undefined))).toBe("accepted");
    expect(why(() => checkTags(rules(), [{ k: "x".repeat(128), v: "y".repeat(256) }]))).toBe("accepted");
  });

  it("refuses each bad tag with the service's error", () => {
    expect(why(() => checkTags(rules(), [{ k: "" }]))).toBe("emptyKey");
    expect(why(() => checkTags(rules(), [{ k: "x".repeat(129) }]))).toBe("keyTooLong");
    expect(why(() => checkTags(rules(), [{ k: "a", v: "y".repeat(257) }]))).toBe("valueTooLong");
    expect(why(() => checkTags(rules(), [{ k: "AWS:owner" }]))).toBe("reserved AWS:owner");
    expect(why(() => checkTags(rules(), [{ k: "a" }, { k: "a" }]))).toBe("duplicate a");
  });

  it("compares keys case-insensitively only when the service does", () => {
    expect(why(() => checkTags(rules(), [{ k: "Env" }, { k: "env" }]))).toBe("accepted");
    expect(why(() => checkTags(rules({ caseInsensitiveKeys: true }), [{ k: "Env" }, { k: "env" }]))).toBe("duplicate env");
  });

  it("counts a request first, last or only once merged, as the service does", () => {
    const four = [{ k: "a" }, { k: "b" }, { k: "c" }, { k: "aws:d" }];
    expect(why(() => checkTags(rules({ requestCount: "first" }), four))).toBe("tooMany");
    expect(why(() => checkTags(rules({ requestCount: "last" }), four))).toBe("reserved aws:d");
    expect(why(() => checkTags(rules({ requestCount: "last" }), four.slice(0, 3).concat({ k: "e" })))).toBe("tooMany");
    expect(why(() => checkTags(rules({ requestCount: "merged" }), four.slice(0, 3).concat({ k: "e" })))).toBe("accepted");
  });

  it("skips a rule whose error the service does not give", () => {
    const lax = rules({ errors: { tooMany: refuse("tooMany") } });
    expect(why(() => checkTags(lax, [{ k: "" }, { k: "aws:x" }, { k: "aws:x" }]))).toBe("accepted");
    expect(why(() => checkTagKeys(lax, ["aws:x"]))).toBe("accepted");
  });
});

describe("merge, remove and condition keys", () => {
  it("replaces a key in its place, adds new ones, and refuses more than max in all", () => {
    expect(
      mergeTags(
        rules(),
        [
          { k: "a", v: "1" },
          { k: "b", v: "2" },
        ],
        [{ k: "a", v: "3" }, { k: "c" }],
      ),
    ).toEqual([{ k: "a", v: "3" }, { k: "b", v: "2" }, { k: "c" }]);
    expect(why(() => mergeTags(rules(), [{ k: "a" }, { k: "b" }, { k: "c" }], [{ k: "d" }]))).toBe("tooMany");
    expect(mergeTags(rules(), [{ k: "a" }, { k: "b" }, { k: "c" }], [{ k: "c", v: "new" }])).toHaveLength(3);
  });

  it("merges and removes case-insensitively where keys are, the new spelling winning", () => {
    const ci = rules({ caseInsensitiveKeys: true });
    expect(mergeTags(ci, [{ k: "Env", v: "a" }], [{ k: "env", v: "b" }])).toEqual([{ k: "env", v: "b" }]);
    expect(removeTags(ci, [{ k: "Env" }, { k: "x" }], ["ENV"])).toEqual([{ k: "x" }]);
    expect(removeTags(rules(), [{ k: "Env" }, { k: "x" }], ["ENV"])).toEqual([{ k: "Env" }, { k: "x" }]);
  });

  it("refuses removing reserved keys only", () => {
    expect(why(() => checkTagKeys(rules(), ["a", "aws:b"]))).toBe("reserved aws:b");
    expect(why(() => checkTagKeys(rules(), undefined))).toBe("accepted");
  });

  it("gives aws:RequestTag, aws:TagKeys and resource tag maps, missing values as empty strings", () => {
    expect(requestTagContext(rules(), [{ k: "a", v: "1" }, { k: "b" }])).toEqual({ "aws:RequestTag/a": "1", "aws:RequestTag/b": "", "aws:TagKeys": ["a", "b"] });
    expect(requestTagContext(rules(), [])).toEqual({});
    expect(tagRecord(rules(), [{ k: "a", v: "1" }, { k: "b" }])).toEqual({ a: "1", b: "" });
  });
});
