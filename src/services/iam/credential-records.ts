/**
 * The credentials IAM keeps beside users' access keys: server certificates (per account), signing
 * certificates (per user, or the account root's own), SSH public keys and service-specific
 * credentials (per user). Persisted
 * one record each; loaded once per IamState. A server certificate's private key is kept sealed
 * (src/services/iam/secrets.ts) and never returned; so is a service-specific credential's password,
 * returned only by the call that generates it.
 */
import type { Tag } from "@aws-sdk/client-iam";
import type { RequestContext } from "../../kernel/context.ts";
import type { Sealed } from "./secrets.ts";
import type { IamState } from "./state.ts";

export const KIND_SERVER_CERT = "iam.servercert";
export const KIND_SIGNING_CERT = "iam.signingcert";
export const KIND_SSH_KEY = "iam.sshkey";
export const KIND_SERVICE_CREDENTIAL = "iam.servicecredential";

export interface ServerCertRec {
  /** ASCA… */
  id: string;
  accountId: string;
  name: string;
  path: string;
  arn: string;
  body: string;
  chain?: string;
  /** the PEM private key, sealed with the certificate id as associated data */
  privateKey: Sealed;
  uploadDate: Date;
  expiration: Date;
  tags: Tag[];
}

export interface SigningCertRec {
  id: string;
  accountId: string;
  /** undefined: the account root's own certificate */
  userId?: string;
  body: string;
  /** SHA-256 of the certificate's DER: the same certificate uploaded twice is a duplicate */
  sha256: string;
  status: "Active" | "Inactive";
  uploadDate: Date;
}

export interface SshKeyRec {
  /** APKA… */
  id: string;
  accountId: string;
  userId: string;
  /** the key as `ssh-rsa <base64 of the SSH wire encoding>` */
  body: string;
  /** MD5 of the SSH wire encoding, colon-separated hex */
  fingerprint: string;
  status: "Active" | "Inactive";
  uploadDate: Date;
}

export interface ServiceCredentialRec {
  /** ACCA… */
  id: string;
  accountId: string;
  userId: string;
  /** e.g. codecommit.amazonaws.com */
  serviceName: string;
  /** ServiceUserName (CodeCommit, Keyspaces) or ServiceCredentialAlias (Bedrock, CloudWatch Logs API keys) */
  login: string;
  /** the password or API key secret, sealed with the credential id as associated data */
  secret: Sealed;
  status: "Active" | "Inactive";
  createDate: Date;
  expirationDate?: Date;
}

const byUpload = <T extends { uploadDate: Date; id: string }>(a: T, b: T) =>
  new Date(a.uploadDate).getTime() - new Date(b.uploadDate).getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class IamCredentialRecords {
  private readonly serverCerts = new Map<string, ServerCertRec>();
  private readonly signingCerts = new Map<string, SigningCertRec>();
  private readonly sshKeys = new Map<string, SshKeyRec>();
  private readonly serviceCredentials = new Map<string, ServiceCredentialRec>();

  constructor(private readonly state: IamState) {
    for (const c of state.store.all<ServerCertRec>(KIND_SERVER_CERT)) this.serverCerts.set(c.id, c);
    for (const c of state.store.all<SigningCertRec>(KIND_SIGNING_CERT)) this.signingCerts.set(c.id, c);
    for (const k of state.store.all<SshKeyRec>(KIND_SSH_KEY)) this.sshKeys.set(k.id, k);
    for (const c of state.store.all<ServiceCredentialRec>(KIND_SERVICE_CREDENTIAL)) this.serviceCredentials.set(c.id, c);
  }

  // ---- server certificates ----

  /** The account's server certificates by name (case-insensitively), then id. */
  serverCertsOf(accountId: string): ServerCertRec[] {
    return [...this.serverCerts.values()]
      .filter((c) => c.accountId === accountId)
      .sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : a.id < b.id ? -1 : 1));
  }

  /** Server certificate names are unique in an account regardless of case. */
  findServerCert(accountId: string, name: string): ServerCertRec | undefined {
    const lower = name.toLowerCase();
    for (const c of this.serverCerts.values()) if (c.accountId === accountId && c.name.toLowerCase() === lower) return c;
    return undefined;
  }

  saveServerCert(ctx: RequestContext, c: ServerCertRec): void {
    this.serverCerts.set(c.id, c);
    ctx.writes.push(this.state.store.put(KIND_SERVER_CERT, c.id, c));
  }

  deleteServerCert(ctx: RequestContext, c: ServerCertRec): void {
    this.serverCerts.delete(c.id);
    ctx.writes.push(this.state.store.del(KIND_SERVER_CERT, c.id));
  }

  // ---- signing certificates ----

  /** A user's (or, with no user, the account root's) signing certificates in upload order. */
  signingCertsOf(accountId: string, userId: string | undefined): SigningCertRec[] {
    return [...this.signingCerts.values()].filter((c) => c.accountId === accountId && c.userId === userId).sort(byUpload);
  }

  signingCertsOfAccount(accountId: string): SigningCertRec[] {
    return [...this.signingCerts.values()].filter((c) => c.accountId === accountId);
  }

  saveSigningCert(ctx: RequestContext, c: SigningCertRec): void {
    this.signingCerts.set(c.id, c);
    ctx.writes.push(this.state.store.put(KIND_SIGNING_CERT, c.id, c));
  }

  deleteSigningCert(ctx: RequestContext, c: SigningCertRec): void {
    this.signingCerts.delete(c.id);
    ctx.writes.push(this.state.store.del(KIND_SIGNING_CERT, c.id));
  }

  // ---- SSH public keys ----

  sshKeysOf(accountId: string, userId: string): SshKeyRec[] {
    return [...this.sshKeys.values()].filter((k) => k.accountId === accountId && k.userId === userId).sort(byUpload);
  }

  saveSshKey(ctx: RequestContext, k: SshKeyRec): void {
    this.sshKeys.set(k.id, k);
    ctx.writes.push(this.state.store.put(KIND_SSH_KEY, k.id, k));
  }

  deleteSshKey(ctx: RequestContext, k: SshKeyRec): void {
    this.sshKeys.delete(k.id);
    ctx.writes.push(this.state.store.del(KIND_SSH_KEY, k.id));
  }

  // ---- service-specific credentials ----

  /** An account's service-specific credentials (of one user when `userId` is given), oldest first. */
  serviceCredentialsOf(accountId: string, userId?: string): ServiceCredentialRec[] {
    return [...this.serviceCredentials.values()]
      .filter((c) => c.accountId === accountId && (userId === undefined || c.userId === userId))
      .sort((a, b) => new Date(a.createDate).getTime() - new Date(b.createDate).getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  saveServiceCredential(ctx: RequestContext, c: ServiceCredentialRec): void {
    this.serviceCredentials.set(c.id, c);
    ctx.writes.push(this.state.store.put(KIND_SERVICE_CREDENTIAL, c.id, c));
  }

  deleteServiceCredential(ctx: RequestContext, c: ServiceCredentialRec): void {
    this.serviceCredentials.delete(c.id);
    ctx.writes.push(this.state.store.del(KIND_SERVICE_CREDENTIAL, c.id));
  }
}

const records = new WeakMap<IamState, IamCredentialRecords>();

/** The credential records of an IAM state (one per state, loaded on first use). */
export function credentialRecords(state: IamState): IamCredentialRecords {
  let r = records.get(state);
  if (!r) {
    r = new IamCredentialRecords(state);
    records.set(state, r);
  }
  return r;
}
