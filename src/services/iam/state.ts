/**
 * IAM state: users, groups, roles, customer managed policies and access keys per account,
 * kept in memory and persisted one entity per store row. Every change bumps a generation
 * number that invalidates the cached identity-policy sets of principals.
 */
import type { Tag } from "@aws-sdk/client-iam";
import type { Store, WriteOp } from "../../store/store.ts";
import { IndexedMap } from "../../store/ordered-index.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { awsManagedArn, awsManagedPolicies, type AwsManagedPolicy } from "./aws-managed.ts";
import { noSuchEntity, parseIamArn } from "./common.ts";
import type { Sealed } from "./secrets.ts";

export const KIND_USER = "iam.user";
export const KIND_GROUP = "iam.group";
export const KIND_ROLE = "iam.role";
export const KIND_POLICY = "iam.policy";
export const KIND_KEY = "iam.accesskey";
export const KIND_MFA = "iam.mfa";
export const KIND_OIDC = "iam.oidc";
export const KIND_SLR_DELETION = "iam.slrdeletion";
export const KIND_SAML = "iam.saml";

/** An IAM SAML provider: its metadata and what STS verifies assertions with. */
export interface SamlProviderRec {
  /** arn:aws:iam::A:saml-provider/<name> */
  arn: string;
  accountId: string;
  name: string;
  /** the metadata document as uploaded */
  metadata: string;
  entityId: string;
  /** PEM signing certificates from the metadata */
  certificates: string[];
  validUntil?: Date;
  createDate: Date;
  tags: Tag[];
}

/** A DeleteServiceLinkedRole task and its outcome (GetServiceLinkedRoleDeletionStatus). */
export interface SlrDeletionTask {
  id: string;
  accountId: string;
  status: "SUCCEEDED" | "FAILED";
  reason?: string;
  usage?: { region: string; resources: string[] }[];
}

/** An IAM OIDC identity provider: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html */
export interface OidcProviderRec {
  /** arn:aws:iam::A:oidc-provider/<url without its scheme> */
  arn: string;
  accountId: string;
  /** as registered, scheme included (the token's `iss` must equal it) */
  url: string;
  clientIds: string[];
  thumbprints: string[];
  createDate: Date;
  tags: Tag[];
}

/** Inline policies in insertion order: [name, document]. */
export type InlinePolicies = [string, string][];

interface EntityBase {
  id: string;
  accountId: string;
  name: string;
  path: string;
  arn: string;
  createDate: Date;
  inline: InlinePolicies;
  /** managed policy ARNs, in attachment order */
  attached: string[];
}

export interface UserRec extends EntityBase {
  tags: Tag[];
  boundary?: string;
}

export interface GroupRec extends EntityBase {
  /** user ids */
  members: string[];
}

export interface RoleRec extends EntityBase {
  trust: string;
  description?: string;
  maxSessionDuration: number;
  tags: Tag[];
  boundary?: string;
  lastUsed?: { date: Date; region: string };
  /** a service-linked role: the service it belongs to (only that service may change it) */
  serviceLinked?: string;
}

export interface PolicyVersionRec {
  id: string;
  doc: string;
  createDate: Date;
}

export interface PolicyRec {
  id: string;
  accountId: string;
  name: string;
  path: string;
  arn: string;
  description?: string;
  createDate: Date;
  updateDate: Date;
  defaultVersionId: string;
  /** newest last */
  versions: PolicyVersionRec[];
  nextVersion: number;
  tags: Tag[];
}

export interface AccessKeyRec {
  id: string;
  accountId: string;
  /** undefined: the account root's own key */
  userId?: string;
  status: "Active" | "Inactive";
  createDate: Date;
  secret: Sealed;
  lastUsed?: { date: Date; service: string; region: string };
}

/** A virtual MFA device: its seed sealed, assigned to at most one user. */
export interface MfaDeviceRec {
  /** the serial number: arn:aws:iam::ACCOUNT:mfa/<path>name */
  serial: string;
  accountId: string;
  name: string;
  path: string;
  createDate: Date;
  /** the Base32 seed, sealed with the serial number as associated data */
  seed: Sealed;
  tags: Tag[];
  userId?: string;
  enableDate?: Date;
  /** how many steps the device's clock runs ahead of the service clock (set by Enable and Resync) */
  drift: number;
  /** the newest step a code was accepted for: an older or equal one is a replay */
  lastStep: number;
}

/** A policy that applies to an entity, named as the simulator names it. */
export interface NamedPolicy {
  name: string;
  type: "user" | "group" | "role" | "aws-managed" | "user-managed";
  doc: string;
}

/** A managed policy as the handlers see it: customer managed (stored) or AWS managed (built in). */
export type ManagedPolicy = { kind: "customer"; rec: PolicyRec } | { kind: "aws"; rec: AwsManagedPolicy };

const lc = (s: string) => s.toLowerCase();

/** The one scope of a per-account index (the account's maps are already per account). */
export const ACCOUNT_SCOPE = "";

/** The sort key of a managed policy in ListPolicies: name (case-insensitively), then ARN. */
export function policyKey(name: string, arn: string): string {
  return `${lc(name)}\u0000${arn}`;
}

/** Users, groups or roles by lower-cased name, also ordered by it (the List operations' order). */
export class NamedMap<V extends { name: string }> extends IndexedMap<string, V, "byName"> {
  constructor() {
    super({ byName: { scope: () => ACCOUNT_SCOPE, key: (v) => lc(v.name) } });
  }
}

/** Customer managed policies by lower-cased ARN, also ordered by name then ARN (ListPolicies). */
export class PolicyMap extends IndexedMap<string, PolicyRec, "byName"> {
  constructor() {
    super({ byName: { scope: () => ACCOUNT_SCOPE, key: (p) => policyKey(p.name, p.arn) } });
  }
}

/** Access keys by key id, also per (account, user) by creation (ListAccessKeys, the two-key limit). */
export class AccessKeyMap extends IndexedMap<string, AccessKeyRec, "byOwner"> {
  constructor() {
    super({
      byOwner: {
        scope: (k) => ownerScope(k.accountId, k.userId),
        key: (k) => `${String(k.createDate.getTime()).padStart(15, "0")}|${k.id}`,
      },
    });
  }
}

/** The account root's own keys have no user. */
function ownerScope(accountId: string, userId: string | undefined): string {
  return `${accountId}|${userId ?? ""}`;
}

export interface Account {
  id: string;
  users: NamedMap<UserRec>;
  groups: NamedMap<GroupRec>;
  roles: NamedMap<RoleRec>;
  /** customer managed policies by lower-cased ARN */
  policies: PolicyMap;
}

export class IamState {
  private readonly accounts = new Map<string, Account>();
  readonly usersById = new Map<string, UserRec>();
  readonly groupsById = new Map<string, GroupRec>();
  readonly rolesById = new Map<string, RoleRec>();
  readonly keys = new AccessKeyMap();
  /** virtual MFA devices by serial number, ordered per account by name */
  /** wrong MFA codes in a row and the lock-out they caused, by serial number (in memory: a restart forgets them) */
  readonly mfaFailures = new Map<string, { count: number; lockedUntilMs: number }>();
  readonly mfaDevices = new IndexedMap<string, MfaDeviceRec, "byAccount">({ byAccount: { scope: (d) => d.accountId, key: (d) => d.name.toLowerCase() } });
  /** SAML providers by ARN, ordered per account by ARN */
  readonly samlProviders = new IndexedMap<string, SamlProviderRec, "byAccount">({ byAccount: { scope: (o) => o.accountId, key: (o) => o.arn } });
  /** DeleteServiceLinkedRole tasks by id */
  readonly slrDeletions = new Map<string, SlrDeletionTask>();
  /** OIDC identity providers by ARN, ordered per account by ARN */
  readonly oidcProviders = new IndexedMap<string, OidcProviderRec, "byAccount">({ byAccount: { scope: (o) => o.accountId, key: (o) => o.arn } });
  /** bumped on every change; caches compare against it */
  generation = 0;

  constructor(readonly store: Store) {
    for (const u of store.all<UserRec>(KIND_USER)) this.indexUser(u);
    for (const g of store.all<GroupRec>(KIND_GROUP)) this.indexGroup(g);
    for (const r of store.all<RoleRec>(KIND_ROLE)) this.indexRole(r);
    for (const p of store.all<PolicyRec>(KIND_POLICY)) this.account(p.accountId).policies.set(lc(p.arn), p);
    for (const k of store.all<AccessKeyRec>(KIND_KEY)) this.keys.set(k.id, k);
    for (const d of store.all<MfaDeviceRec>(KIND_MFA)) this.mfaDevices.set(d.serial, d);
    for (const o of store.all<OidcProviderRec>(KIND_OIDC)) this.oidcProviders.set(o.arn, o);
    for (const t of store.all<SlrDeletionTask>(KIND_SLR_DELETION)) this.slrDeletions.set(t.id, t);
    for (const p of store.all<SamlProviderRec>(KIND_SAML)) this.samlProviders.set(p.arn, p);
  }

  account(id: string): Account {
    let a = this.accounts.get(id);
    if (!a) {
      a = { id, users: new NamedMap(), groups: new NamedMap(), roles: new NamedMap(), policies: new PolicyMap() };
      this.accounts.set(id, a);
    }
    return a;
  }

  indexUser(u: UserRec): void {
    this.account(u.accountId).users.set(lc(u.name), u);
    this.usersById.set(u.id, u);
  }
  indexGroup(g: GroupRec): void {
    this.account(g.accountId).groups.set(lc(g.name), g);
    this.groupsById.set(g.id, g);
  }
  indexRole(r: RoleRec): void {
    this.account(r.accountId).roles.set(lc(r.name), r);
    this.rolesById.set(r.id, r);
  }

  // ---- lookups that throw AWS's NoSuchEntity ----

  user(accountId: string, name: string): UserRec {
    const u = this.accounts.get(accountId)?.users.get(lc(name));
    if (!u) throw noSuchEntity(`The user with name ${name} cannot be found.`);
    return u;
  }
  findUser(accountId: string, name: string): UserRec | undefined {
    return this.accounts.get(accountId)?.users.get(lc(name));
  }
  group(accountId: string, name: string): GroupRec {
    const g = this.accounts.get(accountId)?.groups.get(lc(name));
    if (!g) throw noSuchEntity(`The group with name ${name} cannot be found.`);
    return g;
  }
  findGroup(accountId: string, name: string): GroupRec | undefined {
    return this.accounts.get(accountId)?.groups.get(lc(name));
  }
  role(accountId: string, name: string): RoleRec {
    const r = this.accounts.get(accountId)?.roles.get(lc(name));
    if (!r) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return r;
  }
  findRole(accountId: string, name: string): RoleRec | undefined {
    return this.accounts.get(accountId)?.roles.get(lc(name));
  }

  /** A managed policy by ARN as seen from `accountId` (its own policies and AWS managed ones). */
  findPolicy(accountId: string, arn: string): ManagedPolicy | undefined {
    const aws = arn.startsWith("arn:aws:iam::aws:policy/") ? awsManagedPolicies().get(arn) : undefined;
    if (aws) return { kind: "aws", rec: aws };
    const parsed = parseIamArn(arn);
    if (!parsed || parsed.kind !== "policy" || parsed.accountId !== accountId) return undefined;
    const rec = this.accounts.get(accountId)?.policies.get(lc(arn));
    return rec ? { kind: "customer", rec } : undefined;
  }

  /** The default version's document of a managed policy, or undefined when it is gone. */
  policyDocument(accountId: string, arn: string): string | undefined {
    const p = this.findPolicy(accountId, arn);
    if (!p) return undefined;
    if (p.kind === "aws") return p.rec.document;
    return p.rec.versions.find((v) => v.id === p.rec.defaultVersionId)?.doc;
  }

  /** Inline policies of an entity, then its attached managed policies (default versions). */
  private entityPolicies(e: EntityBase, type: NamedPolicy["type"], out: NamedPolicy[]): NamedPolicy[] {
    for (const [name, doc] of e.inline) out.push({ name, type, doc });
    for (const arn of e.attached) {
      const p = this.findPolicy(e.accountId, arn);
      const doc = this.policyDocument(e.accountId, arn);
      if (p && doc) out.push({ name: p.rec.name, type: p.kind === "aws" ? "aws-managed" : "user-managed", doc });
    }
    return out;
  }

  /** A user's identity policies: its own, then each of its groups'. */
  policiesOfUser(u: UserRec): NamedPolicy[] {
    const out = this.entityPolicies(u, "user", []);
    for (const g of this.groupsOf(u)) this.entityPolicies(g, "group", out);
    return out;
  }
  policiesOfRole(r: RoleRec): NamedPolicy[] {
    return this.entityPolicies(r, "role", []);
  }
  policiesOfGroup(g: GroupRec): NamedPolicy[] {
    return this.entityPolicies(g, "group", []);
  }

  policyArnOf(p: ManagedPolicy): string {
    return p.kind === "aws" ? awsManagedArn(p.rec) : p.rec.arn;
  }

  users(accountId: string): UserRec[] {
    return [...(this.accounts.get(accountId)?.users.values() ?? [])];
  }
  groups(accountId: string): GroupRec[] {
    return [...(this.accounts.get(accountId)?.groups.values() ?? [])];
  }
  roles(accountId: string): RoleRec[] {
    return [...(this.accounts.get(accountId)?.roles.values() ?? [])];
  }
  /** The account's maps (with their ordered indexes), if it has any IAM entity yet. */
  existingAccount(accountId: string): Account | undefined {
    return this.accounts.get(accountId);
  }
  customerPolicies(accountId: string): PolicyRec[] {
    return [...(this.accounts.get(accountId)?.policies.values() ?? [])];
  }

  groupsOf(u: UserRec): GroupRec[] {
    return this.groups(u.accountId).filter((g) => g.members.includes(u.id));
  }

  keysOf(accountId: string, userId: string | undefined): AccessKeyRec[] {
    return this.keys.index("byOwner").all(ownerScope(accountId, userId));
  }

  /** A virtual MFA device of the account by serial number. */
  findMfaDevice(accountId: string, serial: string): MfaDeviceRec | undefined {
    const d = this.mfaDevices.get(serial);
    return d && d.accountId === accountId ? d : undefined;
  }

  /** The account's virtual MFA devices in name order (names are unique ignoring case). */
  mfaDevicesOf(accountId: string): MfaDeviceRec[] {
    return this.mfaDevices.index("byAccount").all(accountId);
  }

  /** The MFA devices assigned to a user. */
  mfaDevicesOfUser(u: UserRec): MfaDeviceRec[] {
    return this.mfaDevicesOf(u.accountId).filter((d) => d.userId === u.id);
  }

  /** Entities of the account that have the policy attached, and those using it as boundary. */
  usage(accountId: string, arn: string): { users: UserRec[]; groups: GroupRec[]; roles: RoleRec[]; boundaryUsers: UserRec[]; boundaryRoles: RoleRec[] } {
    const key = lc(arn);
    const has = (e: EntityBase) => e.attached.some((a) => lc(a) === key);
    const users = this.users(accountId);
    const roles = this.roles(accountId);
    return {
      users: users.filter(has),
      groups: this.groups(accountId).filter(has),
      roles: roles.filter(has),
      boundaryUsers: users.filter((u) => u.boundary !== undefined && lc(u.boundary) === key),
      boundaryRoles: roles.filter((r) => r.boundary !== undefined && lc(r.boundary) === key),
    };
  }

  // ---- persistence: every change goes through these, with the request's writes ----

  private changed(ctx: RequestContext | undefined, op: WriteOp): void {
    this.generation++;
    if (ctx) ctx.writes.push(op);
  }

  saveUser(ctx: RequestContext, u: UserRec): void {
    this.changed(ctx, this.store.put(KIND_USER, u.id, u));
  }
  saveGroup(ctx: RequestContext, g: GroupRec): void {
    this.changed(ctx, this.store.put(KIND_GROUP, g.id, g));
  }
  saveRole(ctx: RequestContext, r: RoleRec): void {
    this.changed(ctx, this.store.put(KIND_ROLE, r.id, r));
  }
  savePolicy(ctx: RequestContext, p: PolicyRec): void {
    this.changed(ctx, this.store.put(KIND_POLICY, p.id, p));
  }
  saveKey(ctx: RequestContext, k: AccessKeyRec): void {
    this.changed(ctx, this.store.put(KIND_KEY, k.id, k));
  }

  /** Saves a device; assigning or unassigning one changes what MFA a user has (generation bump). */
  saveMfaDevice(ctx: RequestContext, d: MfaDeviceRec): void {
    this.mfaDevices.set(d.serial, d);
    this.changed(ctx, this.store.put(KIND_MFA, d.serial, d));
  }
  /** Records the step of an accepted code; not a change of identity: no generation bump. */
  noteMfaStep(ctx: RequestContext, d: MfaDeviceRec, step: number): void {
    d.lastStep = step;
    ctx.writes.push(this.store.put(KIND_MFA, d.serial, d));
  }
  saveSlrDeletion(ctx: RequestContext, t: SlrDeletionTask): void {
    this.slrDeletions.set(t.id, t);
    ctx.writes.push(this.store.put(KIND_SLR_DELETION, t.id, t));
  }
  saveSamlProvider(ctx: RequestContext, p: SamlProviderRec): void {
    this.samlProviders.set(p.arn, p);
    ctx.writes.push(this.store.put(KIND_SAML, p.arn, p));
  }
  deleteSamlProvider(ctx: RequestContext, p: SamlProviderRec): void {
    this.samlProviders.delete(p.arn);
    ctx.writes.push(this.store.del(KIND_SAML, p.arn));
  }
  /** A SAML provider of the account by ARN. */
  findSamlProvider(accountId: string, arn: string): SamlProviderRec | undefined {
    const p = this.samlProviders.get(arn);
    return p && p.accountId === accountId ? p : undefined;
  }
  saveOidcProvider(ctx: RequestContext, o: OidcProviderRec): void {
    this.oidcProviders.set(o.arn, o);
    ctx.writes.push(this.store.put(KIND_OIDC, o.arn, o));
  }
  deleteOidcProvider(ctx: RequestContext, o: OidcProviderRec): void {
    this.oidcProviders.delete(o.arn);
    ctx.writes.push(this.store.del(KIND_OIDC, o.arn));
  }
  /** An OIDC provider of the account by ARN. */
  findOidcProvider(accountId: string, arn: string): OidcProviderRec | undefined {
    const o = this.oidcProviders.get(arn);
    return o && o.accountId === accountId ? o : undefined;
  }

  deleteMfaDevice(ctx: RequestContext, d: MfaDeviceRec): void {
    this.mfaDevices.delete(d.serial);
    this.mfaFailures.delete(d.serial);
    this.changed(ctx, this.store.del(KIND_MFA, d.serial));
  }

  addUser(ctx: RequestContext, u: UserRec): void {
    this.indexUser(u);
    this.saveUser(ctx, u);
  }
  addGroup(ctx: RequestContext, g: GroupRec): void {
    this.indexGroup(g);
    this.saveGroup(ctx, g);
  }
  addRole(ctx: RequestContext, r: RoleRec): void {
    this.indexRole(r);
    this.saveRole(ctx, r);
  }
  addPolicy(ctx: RequestContext, p: PolicyRec): void {
    this.account(p.accountId).policies.set(lc(p.arn), p);
    this.savePolicy(ctx, p);
  }
  addKey(ctx: RequestContext, k: AccessKeyRec): void {
    this.keys.set(k.id, k);
    this.saveKey(ctx, k);
  }

  renameUser(ctx: RequestContext, u: UserRec, newName: string | undefined, newPath: string | undefined, arn: (u: UserRec) => string): void {
    const a = this.account(u.accountId);
    a.users.delete(lc(u.name));
    if (newName !== undefined) u.name = newName;
    if (newPath !== undefined) u.path = newPath;
    u.arn = arn(u);
    a.users.set(lc(u.name), u);
    this.saveUser(ctx, u);
  }

  deleteUser(ctx: RequestContext, u: UserRec): void {
    this.account(u.accountId).users.delete(lc(u.name));
    this.usersById.delete(u.id);
    this.changed(ctx, this.store.del(KIND_USER, u.id));
  }
  deleteGroup(ctx: RequestContext, g: GroupRec): void {
    this.account(g.accountId).groups.delete(lc(g.name));
    this.groupsById.delete(g.id);
    this.changed(ctx, this.store.del(KIND_GROUP, g.id));
  }
  deleteRole(ctx: RequestContext, r: RoleRec): void {
    this.account(r.accountId).roles.delete(lc(r.name));
    this.rolesById.delete(r.id);
    this.changed(ctx, this.store.del(KIND_ROLE, r.id));
  }
  deletePolicy(ctx: RequestContext, p: PolicyRec): void {
    this.account(p.accountId).policies.delete(lc(p.arn));
    this.changed(ctx, this.store.del(KIND_POLICY, p.id));
  }
  deleteKey(ctx: RequestContext, k: AccessKeyRec): void {
    this.keys.delete(k.id);
    this.changed(ctx, this.store.del(KIND_KEY, k.id));
  }
}
