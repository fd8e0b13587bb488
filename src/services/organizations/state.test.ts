import { describe, expect, it } from "vitest";
import { Store } from "../../store/store.ts";
import { ORG_KIND, POST_CLOSURE_MS, type AccountRec, type OrgRec } from "./model.ts";
import { postClosureRunner } from "./post-closure.ts";
import { OrganizationsState } from "./state.ts";

const account = (id: string, closedAt?: number): AccountRec => ({
  id,
  arn: `arn:aws:organizations::111111111111:account/o-abcdefghij/${id}`,
  name: id,
  email: `${id}@example.com`,
  parentId: "r-abcd",
  joinedMethod: "CREATED",
  joinedAt: 0,
  ...(closedAt === undefined ? {} : { closedAt }),
});

/** An organization stored as a version without closure records kept it: the closure only in the account's record. */
function storeWithOlderClosure(): Store {
  const store = new Store(null);
  const org = {
    id: "o-abcdefghij",
    managementAccountId: "111111111111",
    accounts: [account("111111111111"), account("222222222222", 1000), account("333333333333")],
    ous: [],
    attachments: [],
    tags: [],
    delegatedAdmins: [],
  } as unknown as OrgRec;
  store.commitNow([store.put(ORG_KIND, org.id, org)]);
  return store;
}

describe("OrganizationsState", () => {
  it("treats an account closed before closures had their own record as closed, and keeps it closed once it leaves", async () => {
    const store = storeWithOlderClosure();
    const state = new OrganizationsState(store);
    expect(state.isClosed("222222222222")).toBe(true);
    expect(state.isClosed("333333333333")).toBe(false);

    await postClosureRunner(state, store).runDue(1000 + POST_CLOSURE_MS);
    expect(state.orgOf("222222222222")).toBeUndefined();
    // a fresh load (a restart) still knows the account is closed, from its own record now
    const reloaded = new OrganizationsState(store);
    expect(reloaded.isClosed("222222222222")).toBe(true);
    expect(reloaded.orgOf("333333333333")?.id).toBe("o-abcdefghij");
  });
});
