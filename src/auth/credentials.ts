/**
 * Turns a verified SigV4 request into a principal: the default root credentials, account
 * roots by 12-digit access key, IAM users' access keys and STS sessions.
 */
import { ServiceError } from "../errors.ts";
import type { AppContext, CredentialRecord, Principal } from "../services/types.ts";
import { DEFAULT_ACCOUNT_ID, rootPrincipal } from "./principal.ts";
import { AuthError, parseAuth, verifySignature, type IncomingSignedRequest } from "./sigv4.ts";

export type WireFamily = "json" | "query" | "rest";

export type AuthFailure = "MissingAuthenticationToken" | "IncompleteSignature" | "UnknownKey" | "ExpiredToken" | "SignatureDoesNotMatch" | "RequestExpired";

/** AWS's error for each authentication failure, per protocol family. */
export function authError(kind: AuthFailure, family: WireFamily, message?: string): ServiceError {
  const json = family !== "query";
  switch (kind) {
    case "MissingAuthenticationToken":
      return json
        ? new ServiceError("MissingAuthenticationTokenException", message ?? "Missing Authentication Token", 400)
        : new ServiceError("MissingAuthenticationToken", message ?? "Request is missing Authentication Token", 403);
    case "IncompleteSignature":
      return new ServiceError(json ? "IncompleteSignatureException" : "IncompleteSignature", message ?? "Incomplete signature", 400);
    case "UnknownKey":
      return json
        ? new ServiceError("UnrecognizedClientException", "The security token included in the request is invalid.", 400)
        : new ServiceError("InvalidClientTokenId", "The security token included in the request is invalid.", 403);
    case "ExpiredToken":
      return json
        ? new ServiceError("ExpiredTokenException", "The security token included in the request is expired", 400)
        : new ServiceError("ExpiredToken", "The security token included in the request is expired", 403);
    case "SignatureDoesNotMatch":
    case "RequestExpired":
      return json
        ? new ServiceError("InvalidSignatureException", message ?? "", 400)
        : new ServiceError("SignatureDoesNotMatch", message ?? "", 403);
  }
}

export interface Authenticated {
  principal: Principal;
  region: string;
  signingService: string;
}

export const DEFAULT_ACCESS_KEY = "test";
export const DEFAULT_SECRET = "test";

function builtInCredentials(accessKeyId: string): CredentialRecord | undefined {
  if (accessKeyId === DEFAULT_ACCESS_KEY) return { secretAccessKey: DEFAULT_SECRET, principal: rootPrincipal(DEFAULT_ACCOUNT_ID, accessKeyId), active: true };
  // As in other local emulators: a 12-digit access key id is the root user of that account.
  if (/^\d{12}$/.test(accessKeyId)) return { secretAccessKey: DEFAULT_SECRET, principal: rootPrincipal(accessKeyId, accessKeyId), active: true };
  return undefined;
}

export function lookupCredentials(app: AppContext, accessKeyId: string): CredentialRecord | undefined {
  for (const p of app.credentialProviders) {
    const r = p.lookup(accessKeyId);
    if (r) return r;
  }
  return builtInCredentials(accessKeyId);
}

export function authenticate(app: AppContext, req: IncomingSignedRequest, family: WireFamily): Authenticated {
  let parsed;
  try {
    parsed = parseAuth(req);
  } catch (e) {
    if (e instanceof AuthError) throw authError(e.kind === "MissingAuthenticationToken" ? "MissingAuthenticationToken" : "IncompleteSignature", family, e.message);
    throw e;
  }
  if (!parsed) throw authError("MissingAuthenticationToken", family);
  const cred = lookupCredentials(app, parsed.accessKeyId);
  if (!cred || !cred.active) throw authError("UnknownKey", family);
  if (cred.sessionToken !== undefined && parsed.securityToken !== cred.sessionToken) throw authError("UnknownKey", family);
  try {
    verifySignature(req, parsed, cred.secretAccessKey, app.clock.realNowMs());
  } catch (e) {
    if (e instanceof AuthError) {
      if (e.kind === "IncompleteSignature") throw authError("IncompleteSignature", family, e.message);
      throw authError(e.kind === "RequestExpired" ? "RequestExpired" : "SignatureDoesNotMatch", family, e.message);
    }
    throw e;
  }
  if (cred.expiresAt && cred.expiresAt.getTime() <= app.clock.nowMs()) throw authError("ExpiredToken", family);
  return { principal: cred.principal, region: parsed.region, signingService: parsed.service };
}
