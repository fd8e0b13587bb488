import { describe, expect, it } from "vitest";
import { Store } from "../../store/store.ts";
import { IamState, type AccessKeyRec } from "./state.ts";

const key = (id: string, accountId: string, userId: string | undefined, t: number): AccessKeyRec => ({
  id,
  accountId,
  userId,
  status: "Active",
  createDate: new Date(t),
  secret: {} as AccessKeyRec["secret"],
});

describe("IamState access keys", () => {
  it("finds a user's keys by creation without walking every key of every account", () => {
    const state = new IamState(new Store(null));
    for (let i = 0; i < 5_000; i++) state.keys.set(`AKIAOTHER${i}`, key(`AKIAOTHER${i}`, "111111111111", `AIDA${i % 50}`, i));
    state.keys.set("AKIAB", key("AKIAB", "222222222222", "AIDAME", 20));
    state.keys.set("AKIAA", key("AKIAA", "222222222222", "AIDAME", 20));
    state.keys.set("AKIAC", key("AKIAC", "222222222222", "AIDAME", 10));
    state.keys.set("AKIAROOT", key("AKIAROOT", "222222222222", undefined, 5));
    expect(state.keysOf("222222222222", "AIDAME").map((k) => k.id)).toEqual(["AKIAC", "AKIAA", "AKIAB"]);
    expect(state.keysOf("222222222222", undefined).map((k) => k.id)).toEqual(["AKIAROOT"]);
    expect(state.keysOf("111111111111", "AIDA7")).toHaveLength(100);
    state.keys.delete("AKIAA");
    expect(state.keysOf("222222222222", "AIDAME").map((k) => k.id)).toEqual(["AKIAC", "AKIAB"]);
  });
});
