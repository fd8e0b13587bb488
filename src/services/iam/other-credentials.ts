/**
 * Service-specific credentials: a user name and password IAM generates for one service
 * (CodeCommit over HTTPS Git, Amazon Keyspaces), or an API key alias and secret (Amazon Bedrock,
 * CloudWatch Logs), at most two per user and service
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateServiceSpecificCredential.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_service-specific-creds.html).
 * The password or secret is returned only by Create and Reset; it is kept sealed and never
 * logged (docs/iam-sts.md, "Service-specific credentials").
 */
import { randomBytes } from "node:crypto";
import type {
  CreateServiceSpecificCredentialRequest,
  CreateServiceSpecificCredentialResponse,
  DeleteServiceSpecificCredentialRequest,
  ListServiceSpecificCredentialsRequest,
  ListServiceSpecificCredentialsResponse,
  ResetServiceSpecificCredentialRequest,
  ResetServiceSpecificCredentialResponse,
  ServiceSpecificCredential,
  ServiceSpecificCredentialMetadata,
  UpdateServiceSpecificCredentialRequest,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { credentialRecords, type ServiceCredentialRec } from "./credential-records.ts";
import { invalidInput, limitExceeded, newId, noSuchEntity, paginate, settableStatus } from "./common.ts";
import {
  authorizeOnImplicitUser,
  authorizeOnUser,
  existing,
  iamChecks,
  iamResolvers,
  implicitUserRequired,
  loggedResponse,
  type EntityRef,
  type IamEnv,
  type ImplicitUser,
} from "./ops.ts";
import type { UserRec } from "./state.ts";

/** Service-specific credentials per user and service (IAM and AWS STS quotas). */
export const MAX_CREDENTIALS_PER_SERVICE = 2;

/** The services IAM issues credentials for: a user name and password, or an API key (alias and secret) that may expire. */
const SERVICES: Readonly<Record<string, "password" | "apiKey">> = {
  "codecommit.amazonaws.com": "password",
  "cassandra.amazonaws.com": "password",
  "bedrock.amazonaws.com": "apiKey",
  "logs.amazonaws.com": "apiKey",
};

const DAY_MS = 86_400_000;

type ServiceCredentialOperation =
  "CreateServiceSpecificCredential" | "ListServiceSpecificCredentials" | "ResetServiceSpecificCredential" | "UpdateServiceSpecificCredential" | "DeleteServiceSpecificCredential";

function supportedService(name: string): "password" | "apiKey" {
  const kind = Object.hasOwn(SERVICES, name) ? SERVICES[name] : undefined;
  if (!kind) throw new ServiceError("NotSupportedService", `No such service ${name} is supported for Service-Specific Credentials`, 404);
  return kind;
}

/** A fresh password (44 characters, as CodeCommit's) or API key secret. */
function newSecret(kind: "password" | "apiKey"): string {
  return randomBytes(kind === "password" ? 33 : 48).toString("base64");
}

function statusAt(c: ServiceCredentialRec, nowMs: number): "Active" | "Inactive" | "Expired" {
  return c.expirationDate && new Date(c.expirationDate).getTime() <= nowMs ? "Expired" : c.status;
}

function metadata(c: ServiceCredentialRec, u: UserRec, nowMs: number): ServiceSpecificCredentialMetadata {
  const apiKey = SERVICES[c.serviceName] === "apiKey";
  return {
    UserName: u.name,
    Status: statusAt(c, nowMs),
    ...(apiKey ? { ServiceCredentialAlias: c.login } : { ServiceUserName: c.login }),
    CreateDate: new Date(c.createDate),
    ...(c.expirationDate ? { ExpirationDate: new Date(c.expirationDate) } : {}),
    ServiceSpecificCredentialId: c.id,
    ServiceName: c.serviceName,
  };
}

/** The credential with its secret in clear: only Create and Reset answer this. */
function withSecret(c: ServiceCredentialRec, u: UserRec, secret: string, nowMs: number): ServiceSpecificCredential {
  const apiKey = SERVICES[c.serviceName] === "apiKey";
  return { ...metadata(c, u, nowMs), ...(apiKey ? { ServiceCredentialSecret: secret } : { ServicePassword: secret }) } as ServiceSpecificCredential;
}

export function otherCredentialOperations(env: IamEnv): OperationTable<ServiceCredentialOperation> {
  const { state, sealer } = env;
  const records = credentialRecords(state);
  const resolve = iamResolvers(env);
  const nowMs = (ctx: RequestContext) => ctx.now.getTime();

  /** The credential of the named (or calling) user; another user's or account's id is not found. */
  const credentialOf = (who: ImplicitUser, id: string): { c: ServiceCredentialRec; u: UserRec } => {
    const u = implicitUserRequired(who);
    const c = u ? records.serviceCredentialsOf(u.accountId, u.id).find((x) => x.id === id) : undefined;
    if (!u || !c) throw noSuchEntity(`No such credential ${id} exists`);
    return { c, u };
  };

  return {
    CreateServiceSpecificCredential: defineOperation<CreateServiceSpecificCredentialRequest, CreateServiceSpecificCredentialResponse, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      audit: { responseElements: loggedResponse },
      handler: function createServiceSpecificCredential(ctx, i, ref) {
        const u = existing(ref);
        const kind = supportedService(i.ServiceName!);
        if (i.CredentialAgeDays !== undefined && kind !== "apiKey") {
          throw invalidInput("CredentialAgeDays is valid only for Bedrock and CloudWatch Logs API keys.");
        }
        const held = records.serviceCredentialsOf(u.accountId, u.id).filter((c) => c.serviceName === i.ServiceName);
        if (held.length >= MAX_CREDENTIALS_PER_SERVICE) {
          throw limitExceeded(`Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: ${MAX_CREDENTIALS_PER_SERVICE}`);
        }
        const id = newId("ACCA");
        const secret = newSecret(kind);
        const c: ServiceCredentialRec = {
          id,
          accountId: u.accountId,
          userId: u.id,
          serviceName: i.ServiceName!,
          login: kind === "password" ? `${u.name}-at-${u.accountId}` : `${u.name}+${id.slice(-4).toLowerCase()}-at-${u.accountId}`,
          secret: sealer.seal(secret, id),
          status: "Active",
          createDate: ctx.now,
          ...(i.CredentialAgeDays !== undefined ? { expirationDate: new Date(nowMs(ctx) + i.CredentialAgeDays * DAY_MS) } : {}),
        };
        records.saveServiceCredential(ctx, c);
        return { ServiceSpecificCredential: withSecret(c, u, secret, nowMs(ctx)) };
      },
    }),

    ListServiceSpecificCredentials: defineOperation<ListServiceSpecificCredentialsRequest, ListServiceSpecificCredentialsResponse, ImplicitUser>({
      readOnly: true,
      resolve: function resolveCredentialOwner(ctx, i) {
        if (i.AllUsers && i.UserName !== undefined) throw invalidInput("UserName and AllUsers cannot be specified together.");
        return resolve.implicitUser(ctx, i);
      },
      authorize: function authorizeCredentialListing(ctx, i, who) {
        // every user's: on all of the account's users
        return i.AllUsers ? iamChecks(ctx, `arn:aws:iam::${who.account}:user/*`) : authorizeOnImplicitUser(ctx, i, who);
      },
      handler: function listServiceSpecificCredentials(ctx, i, who) {
        if (i.ServiceName !== undefined) supportedService(i.ServiceName);
        const user = i.AllUsers ? undefined : implicitUserRequired(who);
        // the account root has none of its own: they belong to IAM users
        const all = i.AllUsers ? records.serviceCredentialsOf(who.account) : user ? records.serviceCredentialsOf(who.account, user.id) : [];
        const listed = all.filter((c) => i.ServiceName === undefined || c.serviceName === i.ServiceName);
        const page = paginate(listed, (_c, n) => String(n).padStart(6, "0"), i.Marker, i.MaxItems);
        const byId = new Map(state.users(who.account).map((u) => [u.id, u]));
        const items = page.items.flatMap((c) => {
          const u = byId.get(c.userId);
          return u ? [metadata(c, u, nowMs(ctx))] : [];
        });
        return { ServiceSpecificCredentials: items, IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    ResetServiceSpecificCredential: defineOperation<ResetServiceSpecificCredentialRequest, ResetServiceSpecificCredentialResponse, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      audit: { responseElements: loggedResponse },
      handler: function resetServiceSpecificCredential(ctx, i, who) {
        const { c, u } = credentialOf(who, i.ServiceSpecificCredentialId!);
        const secret = newSecret(SERVICES[c.serviceName] ?? "password");
        const next = { ...c, secret: sealer.seal(secret, c.id) };
        records.saveServiceCredential(ctx, next);
        return { ServiceSpecificCredential: withSecret(next, u, secret, nowMs(ctx)) };
      },
    }),

    UpdateServiceSpecificCredential: defineOperation<UpdateServiceSpecificCredentialRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function updateServiceSpecificCredential(ctx, i, who) {
        const status = settableStatus(i.Status);
        const { c } = credentialOf(who, i.ServiceSpecificCredentialId!);
        records.saveServiceCredential(ctx, { ...c, status });
        return {};
      },
    }),

    DeleteServiceSpecificCredential: defineOperation<DeleteServiceSpecificCredentialRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function deleteServiceSpecificCredential(ctx, i, who) {
        records.deleteServiceCredential(ctx, credentialOf(who, i.ServiceSpecificCredentialId!).c);
        return {};
      },
    }),
  };
}
