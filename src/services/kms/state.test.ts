import { describe, it, expect } from "vitest";
import { indexPageOf } from "./paging.ts";
import { AliasMap, KmsState, kmsScope, type AliasRecord, type GrantRecord, type KeyRecord, retirableScope } from "./state.ts";

const alias = (name: string, key: string): AliasRecord => ({
  aliasName: `alias/${name}`,
  aliasArn: `arn:aws:kms:us-east-1:111122223333:alias/${name}`,
  accountId: "111122223333",
  region: "us-east-1",
  targetKeyArn: `arn:aws:kms:us-east-1:111122223333:key/${key}`,
  creationDate: new Date(0),
  lastUpdatedDate: new Date(0),
});
const names = (m: AliasMap, key: string) =>
  m
    .forKey(`arn:aws:kms:us-east-1:111122223333:key/${key}`)
    .map((a) => a.aliasName)
    .sort();

describe("AliasMap", () => {
  it("finds a key's aliases through creation, retargeting and deletion", () => {
    const m = new AliasMap();
    for (const [n, k] of [
      ["a", "k1"],
      ["b", "k1"],
      ["c", "k2"],
    ])
      m.set(alias(n, k).aliasArn, alias(n, k));
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

const keyRec = (account: string, n: number): KeyRecord => {
  const keyId = `${String(n).padStart(8, "0")}-0000-4000-8000-000000000000`;
  return {
    keyId,
    arn: `arn:aws:kms:us-east-1:${account}:key/${keyId}`,
    accountId: account,
    region: "us-east-1",
    // several keys share a millisecond: the key id breaks the tie
    creationDate: new Date(1_700_000_000_000 + Math.floor(n / 3)),
    description: "",
    keyUsage: "ENCRYPT_DECRYPT",
    keySpec: "SYMMETRIC_DEFAULT",
    origin: "AWS_KMS",
    state: "Enabled",
    multiRegion: false,
    policy: "{}",
    tags: [],
    materials: [],
    rotationEnabled: false,
    onDemandRotations: 0,
  };
};

describe("KMS list cost", () => {
  it("a ListKeys page of 10 visits O(10 + log n) keys with 10,000 keys in another account", () => {
    const st = new KmsState();
    for (let i = 0; i < 10_000; i++) st.keys.set(keyRec("222222222222", i).arn, keyRec("222222222222", i));
    // inserted out of creation order: the index still pages in creation order
    for (const i of [...Array(35).keys()].reverse()) st.keys.set(keyRec("111111111111", i).arn, keyRec("111111111111", i));
    const index = st.keys.index("byCreation");

    const seen: string[] = [];
    let marker: string | undefined;
    do {
      st.keys.counter.visited = 0;
      const page = indexPageOf(index, kmsScope("111111111111", "us-east-1"), 10, marker, 100);
      expect(st.keys.counter.visited).toBeLessThanOrEqual(11 + 2 * 14);
      seen.push(...page.items.map((k) => k.keyId));
      marker = page.NextMarker;
      expect(page.Truncated).toBe(marker !== undefined);
    } while (marker);
    expect(seen).toEqual([...Array(35).keys()].map((i) => keyRec("111111111111", i).keyId));

    // deep in the big account: binary search, not a scan
    st.keys.counter.visited = 0;
    const first = indexPageOf(index, kmsScope("222222222222", "us-east-1"), 10, undefined, 100);
    let p = first;
    for (let i = 0; i < 3; i++) p = indexPageOf(index, kmsScope("222222222222", "us-east-1"), 10, p.NextMarker, 100);
    expect(p.items[0].keyId).toBe(keyRec("222222222222", 30).keyId);
    expect(st.keys.counter.visited).toBeLessThanOrEqual(4 * (11 + 2 * 14));
  });

  it("ListGrants and ListRetirableGrants page a key's grants by creation without touching other keys' grants", () => {
    const st = new KmsState();
    const grant = (keyArn: string, n: number, retiring?: string): GrantRecord => ({
      grantId: n.toString(16).padStart(64, "0"),
      keyArn,
      issuingAccount: "111111111111",
      creationDate: new Date(1_700_000_000_000 + n),
      granteePrincipal: "arn:aws:iam::111111111111:root",
      retiringPrincipal: retiring,
      operations: ["Decrypt"],
    });
    for (let i = 0; i < 5_000; i++) st.addGrant(grant("arn:busy", i, "arn:aws:iam::111111111111:role/r"));
    for (let i = 5_000; i < 5_012; i++) st.addGrant(grant("arn:quiet", i));
    st.keys.counter.visited = 0;
    st.grants.counter.visited = 0;
    const page = indexPageOf(st.grants.index("byKey"), "arn:quiet", 10, undefined, 50);
    expect(page.items.map((g) => g.creationDate.getTime() - 1_700_000_000_000)).toEqual([...Array(10).keys()].map((i) => 5_000 + i));
    expect(page.Truncated).toBe(true);
    expect(st.grants.counter.visited).toBeLessThanOrEqual(11);
    expect(st.grantCount("arn:busy")).toBe(5_000);
    st.removeGrant(grant("arn:busy", 7));
    expect(st.grantCount("arn:busy")).toBe(4_999);
    const retirable = indexPageOf(st.grants.index("byRetiringPrincipal"), retirableScope("arn:aws:iam::111111111111:role/r", ""), 3, undefined, 50);
    expect(retirable.items.map((g) => g.creationDate.getTime() - 1_700_000_000_000)).toEqual([0, 1, 2]);
  });
});
