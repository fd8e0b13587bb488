/**
 * The end of a closed account's post-closure period: 90 days after CloseAccount the account is
 * closed permanently and leaves its organization, with its place, policy attachments, tags and
 * delegations (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_close.html).
 * It stays closed: its principals are still refused (docs/organizations.md#closing-an-account).
 */
import type { DueRunner } from "../../kernel/context.ts";
import type { Store, WriteOp } from "../../store/store.ts";
import { POST_CLOSURE_MS } from "./model.ts";
import type { OrganizationsState } from "./state.ts";
import { forgetTarget } from "./structure.ts";

export function postClosureRunner(state: OrganizationsState, store: Store): DueRunner {
  return {
    name: "organizations",
    async runDue(nowMs) {
      const writes: WriteOp[] = [];
      for (const org of state.byId.values()) {
        const leaving = org.accounts.filter((a) => a.closedAt !== undefined && a.closedAt + POST_CLOSURE_MS <= nowMs);
        if (leaving.length === 0) continue;
        for (const { id, closedAt } of leaving) {
          // the closure outlives the organization's record of the account
          state.close({ writes }, id, closedAt!);
          org.accounts = org.accounts.filter((a) => a.id !== id);
          forgetTarget(org, id);
          org.delegatedAdmins = org.delegatedAdmins.filter((d) => d.accountId !== id);
        }
        state.save({ writes }, org);
      }
      if (writes.length) await store.commit(writes);
    },
  };
}
