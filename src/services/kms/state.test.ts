import { describe, it, expect } from "vitest";
import { AliasMap, type AliasRecord } from "./state.ts";

const alias = (name: string, key: string): AliasRecord => ({
  aliasName: `alias/${name}`,
  aliasArn: `arn:aws:kms:us-east-1:111122223333:alias/${name}`,
  accountId: "111122223333",
  region: "us-east-1",
  targetKeyArn: `arn:aws:kms:us-east-1:111122223333:key/${key}`,
  creationDate: new Date(0),
  lastUpdatedDate: new Date(0),
});
const names = (m: AliasMap, key: string) => m.forKey(`arn:aws:kms:us-east-1:111122223333:key/${key}`).map((a) => a.aliasName).sort();

describe("AliasMap", () => {
  it("finds a key's aliases through creation, retargeting and deletion", () => {
    const m = new AliasMap();
    for (const [n, k] of [["a", "k1"], ["b", "k1"], ["c", "k2"]]) m.set(alias(n, k).aliasArn, alias(n, k));
    expect(names(m, "k1")).toEqual(["alias/a", "alias/b"]);
    expect(names(m, "k2")).toEqual(["alias/c"]);
    // UpdateAlias: the same alias ARN now names k2
    m.set(alias("b", "k2").aliasArn, alias("b", "k2"));
    expect(names(m, "k1")).toEqual(["alias/a"]);
    expect(names(m, "k2")).toEqual(["alias/b", "alias/c"]);
    expect(m.delete(alias("a", "k1").aliasArn)).toBe(true);
    expect(m.delete(alias("a", "k1").aliasArn)).toBe(false);
    expect(names(m, "k1")).toEqual([]);
    expect(m.size).toBe(2);
    m.clear();
    expect(names(m, "k2")).toEqual([]);
    expect(m.size).toBe(0);
  });
});
