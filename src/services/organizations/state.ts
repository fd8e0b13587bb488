/**
 * Every organization in memory, persisted one record per organization with the call's writes,
 * and the index from an account to its organization (an account belongs to at most one).
 */
import type { RequestContext } from "../../kernel/context.ts";
import type { Store } from "../../store/store.ts";
import { CLOSED_ACCOUNT_KIND, ORG_KIND, type AccountRec, type ClosedAccountRec, type OrgRec } from "./model.ts";

export class OrganizationsState {
  readonly byId = new Map<string, OrgRec>();
  private readonly byAccount = new Map<string, OrgRec>();
  /** every closed account, when it was closed (in its organization or since gone from it) */
  private readonly closed = new Map<string, number>();
  /** bumped on every change; what is derived from the organizations (policy levels) compares against it */
  generation = 0;

  constructor(private readonly store: Store) {
    for (const org of store.all<OrgRec>(ORG_KIND)) this.index(org);
    for (const c of store.all<ClosedAccountRec>(CLOSED_ACCOUNT_KIND)) this.closed.set(c.accountId, c.closedAt);
    // accounts closed by a version that kept the closure only in the organization's record
    for (const org of this.byId.values()) for (const a of org.accounts) if (a.closedAt !== undefined && !this.closed.has(a.id)) this.closed.set(a.id, a.closedAt);
  }

  /** Whether an account has been closed: its principals may no longer call AWS. */
  isClosed(accountId: string): boolean {
    return this.closed.has(accountId);
  }

  /** Records an account's closure with the call's writes (the organization's record notes it too). */
  close(ctx: Pick<RequestContext, "writes">, accountId: string, at: number): void {
    this.closed.set(accountId, at);
    ctx.writes.push(this.store.put(CLOSED_ACCOUNT_KIND, accountId, { accountId, closedAt: at } satisfies ClosedAccountRec));
  }

  private index(org: OrgRec): void {
    this.byId.set(org.id, org);
    for (const a of org.accounts) this.byAccount.set(a.id, org);
  }

  /** The organization an account belongs to. */
  orgOf(accountId: string): OrgRec | undefined {
    return this.byAccount.get(accountId);
  }

  accountIn(org: OrgRec, accountId: string): AccountRec | undefined {
    return org.accounts.find((a) => a.id === accountId);
  }

  /** Whether any organization holds an account with this email (emails are unique across AWS). */
  emailInUse(email: string): boolean {
    const lower = email.toLowerCase();
    for (const org of this.byId.values()) {
      if (org.managementEmail.toLowerCase() === lower) return true;
      for (const a of org.accounts) if (a.email.toLowerCase() === lower) return true;
    }
    return false;
  }

  /** Stores the organization with the call's writes and re-indexes its accounts. */
  save(ctx: Pick<RequestContext, "writes">, org: OrgRec): void {
    this.generation++;
    for (const [id, o] of this.byAccount) if (o.id === org.id && !org.accounts.some((a) => a.id === id)) this.byAccount.delete(id);
    this.index(org);
    ctx.writes.push(this.store.put(ORG_KIND, org.id, org));
  }

  remove(ctx: RequestContext, org: OrgRec): void {
    this.generation++;
    this.byId.delete(org.id);
    for (const a of org.accounts) if (this.byAccount.get(a.id)?.id === org.id) this.byAccount.delete(a.id);
    ctx.writes.push(this.store.del(ORG_KIND, org.id));
  }
}
