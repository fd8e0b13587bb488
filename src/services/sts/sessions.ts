/**
 * STS sessions: temporary credentials (ASIA… key, secret, session token) issued by AssumeRole
 * and GetSessionToken. Kept in memory, persisted in the store (secrets sealed), looked up by
 * the authenticator on every request made with them. Expiry is checked by the authenticator on
 * the service clock (ExpiredToken); long-expired sessions are purged by a due runner.
 */
import { randomBytes } from "node:crypto";
import type { Store } from "../../store/store.ts";
import type { DueRunner, RequestContext } from "../../kernel/context.ts";
import type { CredentialProvider, CredentialRecord, Principal } from "../../kernel/principal.ts";
import { newId, newSecret } from "../iam/common.ts";
import type { SessionLookup } from "../iam/identity.ts";
import type { Sealed, SecretSealer } from "../iam/secrets.ts";

export const KIND_SESSION = "sts.session";
/** Expired sessions still answer ExpiredToken for this long, then they are forgotten. */
export const EXPIRED_RETENTION_MS = 90 * 86400_000;

export interface SessionRec {
  id: string;
  accountId: string;
  secret: Sealed;
  token: Sealed;
  issuer: "Role" | "IAMUser" | "Root";
  createdAt: Date;
  expiresAt: Date;
  mfa: boolean;
  /** when the MFA code was verified (this call's, or the calling session's when chained) */
  mfaAt?: Date;
  /** AssumeRole */
  roleArn?: string;
  roleId?: string;
  roleName?: string;
  sessionName?: string;
  policy?: string;
  policyArns?: string[];
  tags?: Record<string, string>;
  transitiveTagKeys?: string[];
  sourceIdentity?: string;
  /** AssumeRoleWithWebIdentity / AssumeRoleWithSAML: the identity provider's ARN */
  federatedProvider?: string;
  /** GetFederationToken: the federated user's name (the issuer is the IAM user or root below) */
  federatedName?: string;
  /** GetSessionToken and GetFederationToken by an IAM user */
  userId?: string;
  userArn?: string;
  userName?: string;
}

export interface IssuedCredentials {
  rec: SessionRec;
  secretAccessKey: string;
  sessionToken: string;
}

/** A long opaque token: version byte, the key id and random bytes, base64. */
function newSessionToken(id: string): string {
  return Buffer.concat([Buffer.from([1]), Buffer.from(id), randomBytes(288)]).toString("base64");
}

export class SessionStore implements CredentialProvider, SessionLookup, DueRunner {
  readonly name = "sts.sessions";
  private readonly sessions = new Map<string, SessionRec>();
  private readonly records = new Map<string, CredentialRecord>();

  constructor(
    private readonly store: Store,
    private readonly sealer: SecretSealer,
  ) {
    for (const s of store.all<SessionRec>(KIND_SESSION)) this.sessions.set(s.id, s);
  }

  /** Creates a session; its write goes with the request's transaction. */
  issue(ctx: RequestContext, fields: Omit<SessionRec, "id" | "secret" | "token">): IssuedCredentials {
    const id = newId("ASIA");
    const secretAccessKey = newSecret();
    const sessionToken = newSessionToken(id);
    const rec: SessionRec = { id, secret: this.sealer.seal(secretAccessKey, id), token: this.sealer.seal(sessionToken, id), ...fields };
    this.sessions.set(id, rec);
    ctx.writes.push(this.store.put(KIND_SESSION, id, rec));
    return { rec, secretAccessKey, sessionToken };
  }

  get(id: string): SessionRec | undefined {
    return this.sessions.get(id);
  }

  lookup(accessKeyId: string): CredentialRecord | undefined {
    if (!accessKeyId.startsWith("ASIA")) return undefined;
    const cached = this.records.get(accessKeyId);
    if (cached) return cached;
    const s = this.sessions.get(accessKeyId);
    if (!s) return undefined;
    const rec: CredentialRecord = {
      secretAccessKey: this.sealer.open(s.secret, s.id),
      sessionToken: this.sealer.open(s.token, s.id),
      principal: principalOf(s),
      expiresAt: s.expiresAt,
      active: true,
    };
    this.records.set(accessKeyId, rec);
    return rec;
  }

  sessionTags(accessKeyId: string): Record<string, string> | undefined {
    const t = this.sessions.get(accessKeyId)?.tags;
    return t && Object.keys(t).length ? t : undefined;
  }

  async runDue(nowMs: number): Promise<void> {
    const gone: string[] = [];
    for (const s of this.sessions.values()) if (s.expiresAt.getTime() + EXPIRED_RETENTION_MS <= nowMs) gone.push(s.id);
    if (!gone.length) return;
    for (const id of gone) {
      this.sessions.delete(id);
      this.records.delete(id);
    }
    await this.store.commit(gone.map((id) => this.store.del(KIND_SESSION, id)));
  }
}

export function principalOf(s: SessionRec): Principal {
  const session: NonNullable<Principal["session"]> = {
    issuerArn: s.issuer === "Role" ? s.roleArn! : s.issuer === "IAMUser" ? s.userArn! : `arn:aws:iam::${s.accountId}:root`,
    issuerType: s.issuer,
    createdAt: s.createdAt,
    expiresAt: s.expiresAt,
    // Only a verified code counts: a session recorded with MFA but no verification time is not.
    mfaAuthenticated: s.mfa && s.mfaAt !== undefined,
  };
  if (session.mfaAuthenticated) session.mfaAuthenticatedAt = s.mfaAt;
  if (s.federatedName !== undefined) {
    // GetFederationToken: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html
    if (s.issuer === "IAMUser") session.issuerId = s.userId;
    session.policy = s.policy;
    if (s.policyArns?.length) session.policyArns = s.policyArns;
    return {
      type: "FederatedUser",
      accountId: s.accountId,
      arn: `arn:aws:sts::${s.accountId}:federated-user/${s.federatedName}`,
      principalId: `${s.accountId}:${s.federatedName}`,
      accessKeyId: s.id,
      session,
    };
  }
  if (s.issuer === "Role") {
    Object.assign(session, { roleArn: s.roleArn, roleId: s.roleId, roleName: s.roleName, sessionName: s.sessionName });
    if (s.federatedProvider) session.federatedProvider = s.federatedProvider;
    if (s.policy) session.policy = s.policy;
    if (s.policyArns?.length) session.policyArns = s.policyArns;
    return {
      type: "AssumedRole",
      accountId: s.accountId,
      arn: `arn:aws:sts::${s.accountId}:assumed-role/${s.roleName}/${s.sessionName}`,
      principalId: `${s.roleId}:${s.sessionName}`,
      accessKeyId: s.id,
      session,
    };
  }
  if (s.issuer === "IAMUser") {
    return { type: "IAMUser", accountId: s.accountId, arn: s.userArn!, principalId: s.userId!, userName: s.userName, accessKeyId: s.id, session };
  }
  return { type: "Root", accountId: s.accountId, arn: `arn:aws:iam::${s.accountId}:root`, principalId: s.accountId, accessKeyId: s.id, session };
}
