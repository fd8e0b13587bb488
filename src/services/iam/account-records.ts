/**
 * What IAM keeps per account beyond its entities: the account password policy, the account
 * alias, the latest credential report, and users' console passwords (login profiles). Persisted
 * one record per account and one per login profile; loaded once per IamState.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from "node:crypto";
import type { RequestContext } from "../../kernel/context.ts";
import type { IamState } from "./state.ts";

export const KIND_ACCOUNT_SETTINGS = "iam.accountsettings";
export const KIND_LOGIN_PROFILE = "iam.loginprofile";

/** The account password policy as UpdateAccountPasswordPolicy sets it (AWS's defaults filled in). */
export interface PasswordPolicyRec {
  minimumPasswordLength: number;
  requireSymbols: boolean;
  requireNumbers: boolean;
  requireUppercaseCharacters: boolean;
  requireLowercaseCharacters: boolean;
  allowUsersToChangePassword: boolean;
  /** days; 0: passwords never expire */
  maxPasswordAge: number;
  /** how many previous passwords may not be reused; 0: no rule */
  passwordReusePrevention: number;
  hardExpiry: boolean;
}

export interface CredentialReportRec {
  generatedAt: Date;
  csv: string;
}

export interface AccountSettingsRec {
  accountId: string;
  passwordPolicy?: PasswordPolicyRec;
  /** at most one, as AWS allows */
  alias?: string;
  report?: CredentialReportRec;
}

/** A user's console password: only its scrypt hash is kept. */
export interface LoginProfileRec {
  userId: string;
  accountId: string;
  createDate: Date;
  passwordLastChanged: Date;
  passwordResetRequired: boolean;
  salt: string;
  hash: string;
  /** earlier passwords' hashes, newest first, for the policy's PasswordReusePrevention */
  previous?: PasswordHash[];
}

export interface PasswordHash {
  salt: string;
  hash: string;
}

/** PasswordReusePrevention's maximum (UpdateAccountPasswordPolicy): how many hashes are kept. */
export const MAX_REMEMBERED_PASSWORDS = 24;

/** A profile's password replaced: the old hash joins the remembered ones. */
export function withNewPassword(p: LoginProfileRec, password: string, now: Date): LoginProfileRec {
  const previous = [{ salt: p.salt, hash: p.hash }, ...(p.previous ?? [])].slice(0, MAX_REMEMBERED_PASSWORDS - 1);
  return { ...p, ...hashPassword(password), previous, passwordLastChanged: now };
}

export class IamAccountRecords {
  private readonly settings = new Map<string, AccountSettingsRec>();
  private readonly profiles = new Map<string, LoginProfileRec>();

  constructor(private readonly state: IamState) {
    for (const s of state.store.all<AccountSettingsRec>(KIND_ACCOUNT_SETTINGS)) this.settings.set(s.accountId, s);
    for (const p of state.store.all<LoginProfileRec>(KIND_LOGIN_PROFILE)) this.profiles.set(p.userId, p);
  }

  /** The account's settings (a fresh, unsaved record when it has none). */
  of(accountId: string): AccountSettingsRec {
    return this.settings.get(accountId) ?? { accountId };
  }

  save(ctx: RequestContext, s: AccountSettingsRec): void {
    this.settings.set(s.accountId, s);
    ctx.writes.push(this.state.store.put(KIND_ACCOUNT_SETTINGS, s.accountId, s));
  }

  /** The account that has this alias, if any (aliases are unique across accounts). */
  aliasOwner(alias: string): string | undefined {
    for (const s of this.settings.values()) if (s.alias === alias) return s.accountId;
    return undefined;
  }

  loginProfile(userId: string): LoginProfileRec | undefined {
    return this.profiles.get(userId);
  }

  saveLoginProfile(ctx: RequestContext, p: LoginProfileRec): void {
    this.profiles.set(p.userId, p);
    ctx.writes.push(this.state.store.put(KIND_LOGIN_PROFILE, p.userId, p));
  }

  deleteLoginProfile(ctx: RequestContext, p: LoginProfileRec): void {
    this.profiles.delete(p.userId);
    ctx.writes.push(this.state.store.del(KIND_LOGIN_PROFILE, p.userId));
  }
}

/** Hashes a password with a fresh salt (scrypt, node:crypto). */
export function hashPassword(password: string): { salt: string; hash: string } {
  const salt = randomBytes(16);
  return { salt: salt.toString("base64"), hash: scryptSync(password, salt, 32).toString("base64") };
}

/**
 * Whether a password is the one a hash was made from (constant-time comparison). scrypt runs on
 * the thread pool: checking a password against many remembered ones does not stall the server.
 */
export async function passwordMatches(h: PasswordHash, password: string): Promise<boolean> {
  const expected = Buffer.from(h.hash, "base64");
  const actual = await new Promise<Buffer>((resolve, reject) => scrypt(password, Buffer.from(h.salt, "base64"), expected.length, (err, key) => (err ? reject(err) : resolve(key))));
  return timingSafeEqual(expected, actual);
}

const records = new WeakMap<IamState, IamAccountRecords>();

/** The account records of an IAM state (one per state, loaded on first use). */
export function accountRecords(state: IamState): IamAccountRecords {
  let r = records.get(state);
  if (!r) {
    r = new IamAccountRecords(state);
    records.set(state, r);
  }
  return r;
}
