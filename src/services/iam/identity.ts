/**
 * What IAM gives the rest of localfargate: access keys → principals (CredentialProvider), and
 * a principal's identity-side policies (IdentityPolicyProvider): user, group and role
 * policies, the permissions boundary, session policies and principal tags. Both are cached
 * and invalidated by IAM's generation number, since they run on every authorized request.
 */
import type { IdentityPolicies, IdentityPolicyProvider, RequestContext } from "../../kernel/context.ts";
import type { CredentialProvider, CredentialRecord, Principal } from "../../kernel/principal.ts";
import { rootPrincipal } from "../../auth/principal.ts";
import type { SecretSealer } from "./secrets.ts";
import { tagMap } from "./common.ts";
import { KIND_KEY, type IamState, type RoleRec, type UserRec } from "./state.ts";

/** What IAM needs to know about an STS session beyond the principal (`app.get("sts")`). */
export interface SessionLookup {
  sessionTags(accessKeyId: string): Record<string, string> | undefined;
}

const CACHE_LIMIT = 50_000;

export class IamIdentity implements IdentityPolicyProvider, CredentialProvider {
  private readonly policyCache = new Map<string, { gen: number; value: IdentityPolicies }>();
  private readonly credCache = new Map<string, { gen: number; value: CredentialRecord | undefined }>();
  private readonly secrets = new Map<string, string>();

  constructor(
    private readonly state: IamState,
    private readonly sealer: SecretSealer,
    private readonly sessions: () => SessionLookup | undefined,
  ) {}

  // ---- CredentialProvider: IAM access keys ----

  lookup(accessKeyId: string): CredentialRecord | undefined {
    if (!accessKeyId.startsWith("AKIA")) return undefined;
    const gen = this.state.generation;
    const hit = this.credCache.get(accessKeyId);
    if (hit && hit.gen === gen) return hit.value;
    const value = this.build(accessKeyId);
    if (this.credCache.size > CACHE_LIMIT) this.credCache.clear();
    this.credCache.set(accessKeyId, { gen, value });
    return value;
  }

  private build(accessKeyId: string): CredentialRecord | undefined {
    const k = this.state.keys.get(accessKeyId);
    if (!k) return undefined;
    let secret = this.secrets.get(k.id);
    if (secret === undefined) {
      secret = this.sealer.open(k.secret, k.id);
      this.secrets.set(k.id, secret);
    }
    let principal: Principal;
    if (k.userId === undefined) principal = rootPrincipal(k.accountId, k.id);
    else {
      const u = this.state.usersById.get(k.userId);
      if (!u) return undefined;
      principal = { type: "IAMUser", accountId: u.accountId, arn: u.arn, principalId: u.id, userName: u.name, accessKeyId: k.id };
    }
    return { secretAccessKey: secret, principal, active: k.status === "Active" };
  }

  // ---- IdentityPolicyProvider ----

  policiesFor(p: Principal): IdentityPolicies {
    const key = cacheKey(p);
    if (key === undefined) return this.compute(p);
    const gen = this.state.generation;
    const hit = this.policyCache.get(key);
    if (hit && hit.gen === gen) return hit.value;
    const value = this.compute(p);
    if (this.policyCache.size > CACHE_LIMIT) this.policyCache.clear();
    this.policyCache.set(key, { gen, value });
    return value;
  }

  private compute(p: Principal): IdentityPolicies {
    if (p.type === "IAMUser") {
      const u = this.state.usersById.get(p.principalId);
      if (!u) return { identity: [] };
      return this.forUser(u);
    }
    if (p.type === "AssumedRole" && p.session?.roleId) {
      const r = this.state.rolesById.get(p.session.roleId);
      if (!r) return { identity: [] };
      const out = this.forRole(r);
      const session: string[] = [];
      if (p.session.policy) session.push(p.session.policy);
      for (const arn of p.session.policyArns ?? []) {
        const d = this.state.policyDocument(r.accountId, arn);
        if (d) session.push(d);
      }
      if (p.session.policy || p.session.policyArns?.length) out.session = session;
      const tags = p.accessKeyId ? this.sessions()?.sessionTags(p.accessKeyId) : undefined;
      if (tags) out.principalTags = { ...out.principalTags, ...tags };
      return out;
    }
    if (p.type === "FederatedUser" && p.session) {
      // GetFederationToken: the issuer's permissions (all, for the root user) ∩ the session policies
      const s = p.session;
      let out: IdentityPolicies;
      if (s.issuerType === "Root") out = { identity: [ALLOW_ALL] };
      else {
        const u = s.issuerId ? this.state.usersById.get(s.issuerId) : undefined;
        out = u && u.arn === s.issuerArn ? this.forUser(u) : { identity: [] };
      }
      const session: string[] = [];
      if (s.policy) session.push(s.policy);
      for (const arn of s.policyArns ?? []) {
        const d = this.state.policyDocument(p.accountId, arn);
        if (d) session.push(d);
      }
      out.session = session;
      const tags = p.accessKeyId ? this.sessions()?.sessionTags(p.accessKeyId) : undefined;
      if (tags) out.principalTags = { ...out.principalTags, ...tags };
      return out;
    }
    return { identity: [] };
  }

  /** A user's own inline and attached policies, then each group's. */
  private forUser(u: UserRec): IdentityPolicies {
    const out: IdentityPolicies = { identity: this.state.policiesOfUser(u).map((p) => p.doc) };
    if (u.boundary) out.boundary = this.state.policyDocument(u.accountId, u.boundary) ?? DENY_ALL;
    if (u.tags.length) out.principalTags = tagMap(u.tags);
    return out;
  }

  private forRole(r: RoleRec): IdentityPolicies {
    const out: IdentityPolicies = { identity: this.state.policiesOfRole(r).map((p) => p.doc) };
    if (r.boundary) out.boundary = this.state.policyDocument(r.accountId, r.boundary) ?? DENY_ALL;
    if (r.tags.length) out.principalTags = tagMap(r.tags);
    return out;
  }

  /** Access key last used: recorded for the IAM and STS calls a key makes. */
  noteKeyUse(ctx: RequestContext): void {
    const id = ctx.principal.accessKeyId;
    if (!id || !id.startsWith("AKIA") || ctx.internal) return;
    const k = this.state.keys.get(id);
    if (!k) return;
    const region = ctx.service.globalRegion ?? ctx.region;
    const prev = k.lastUsed;
    k.lastUsed = { date: ctx.now, service: ctx.service.name, region };
    if (!prev || prev.service !== k.lastUsed.service || prev.region !== region || ctx.now.getTime() - prev.date.getTime() >= 3600_000) {
      ctx.writes.push(this.state.store.put(KIND_KEY, k.id, k));
    }
  }
}

const ALLOW_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

/** A boundary whose policy has vanished allows nothing. */
const DENY_ALL = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] });

function cacheKey(p: Principal): string | undefined {
  if (p.type === "IAMUser") return `u:${p.principalId}`;
  if (p.type === "AssumedRole" || p.type === "FederatedUser") return p.accessKeyId ? `s:${p.accessKeyId}` : undefined;
  return undefined;
}
