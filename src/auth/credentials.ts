/**
 * Turns a verified SigV4 request into a principal: the default root credentials, account
 * roots by 12-digit access key, IAM users' access keys and STS sessions.
 */
import { ServiceError } from "../kernel/errors.ts";
import type { AppContext } from "../kernel/context.ts";
import type { CredentialRecord, Principal } from "../kernel/principal.ts";
import { DEFAULT_ACCOUNT_ID, rootPrincipal } from "./principal.ts";
import { AuthError, checkCredentialScope, parseAuth, verifySignature, type IncomingSignedRequest } from "./sigv4.ts";

export type WireFamily = "json" | "query" | "rest";

export type AuthFailure =
  "MissingAuthenticationToken" | "IncompleteSignature" | "UnknownKey" | "TokenWithLongTermKey" | "ExpiredToken" | "SignatureDoesNotMatch" | "RequestExpired" | "PresignedExpired";

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
    case "TokenWithLongTermKey":
      // A long-term key (IAM user, account root) never carries a session token. S3 names the
      // token itself: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
      if (family === "rest") return new ServiceError("InvalidToken", "The provided token is malformed or otherwise invalid.", 400);
      return authError("UnknownKey", family);
    case "PresignedExpired":
      // A presigned URL past X-Amz-Date + X-Amz-Expires (or not yet valid). S3 answers AccessDenied
      // (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html); the other
      // services RequestExpired, HTTP 400, as on their Common Errors pages
      // (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
      if (family === "rest") return new ServiceError("AccessDenied", message ?? "Request has expired", 403);
      return new ServiceError("RequestExpired", message ?? "Request has expired", 400);
    case "ExpiredToken":
      return json
        ? new ServiceError("ExpiredTokenException", "The security token included in the request is expired", 400)
        : new ServiceError("ExpiredToken", "The security token included in the request is expired", 403);
    case "SignatureDoesNotMatch":
    case "RequestExpired":
      return json ? new ServiceError("InvalidSignatureException", message ?? "", 400) : new ServiceError("SignatureDoesNotMatch", message ?? "", 403);
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

/**
 * Whether an account was closed (Organizations CloseAccount). Every credential of a closed
 * account, its root's, its IAM users' and every session of its roles (issued before the closure
 * too), is then refused as one AWS no longer recognizes (docs/organizations.md#closing-an-account).
 */
export function accountClosed(app: AppContext, accountId: string): boolean {
  return app.find("organizations")?.isClosed(accountId) ?? false;
}

/** The AWS error for an AuthError, per protocol family. */
function fromAuthError(e: AuthError, family: WireFamily): ServiceError {
  switch (e.kind) {
    case "MissingAuthenticationToken":
      return authError("MissingAuthenticationToken", family, e.message);
    case "IncompleteSignature":
      return authError("IncompleteSignature", family, e.message);
    case "XAmzContentSHA256Mismatch":
      // S3's own code; elsewhere a body that does not match its declared hash is a bad signature.
      return family === "rest" ? new ServiceError("XAmzContentSHA256Mismatch", e.message, 400) : authError("SignatureDoesNotMatch", family, e.message);
    case "RequestExpired":
      return authError("RequestExpired", family, e.message);
    case "SignatureDoesNotMatch":
      return authError("SignatureDoesNotMatch", family, e.message);
  }
}

/**
 * Authenticates a request: parses its SigV4 auth, checks the credential scope names the service
 * the request was routed to (`expectedService`, its signing name), finds the credentials and
 * verifies the signature; then session expiry on the service clock.
 */
export function authenticate(app: AppContext, req: IncomingSignedRequest, family: WireFamily, expectedService?: string): Authenticated {
  let parsed;
  try {
    parsed = parseAuth(req);
    if (parsed && expectedService) checkCredentialScope(parsed, { service: expectedService });
  } catch (e) {
    if (e instanceof AuthError) throw fromAuthError(e, family);
    throw e;
  }
  if (!parsed) throw authError("MissingAuthenticationToken", family);
  const cred = lookupCredentials(app, parsed.accessKeyId);
  if (!cred || !cred.active) throw authError("UnknownKey", family);
  if (cred.sessionToken !== undefined && parsed.securityToken !== cred.sessionToken) throw authError("UnknownKey", family);
  if (cred.sessionToken === undefined && parsed.securityToken !== undefined) throw authError("TokenWithLongTermKey", family);
  try {
    verifySignature(req, parsed, cred.secretAccessKey, app.clock.realNowMs());
  } catch (e) {
    if (e instanceof AuthError && e.kind === "RequestExpired" && parsed.kind === "presigned") throw authError("PresignedExpired", family, e.message);
    if (e instanceof AuthError) throw fromAuthError(e, family);
    throw e;
  }
  if (cred.expiresAt && cred.expiresAt.getTime() <= app.clock.nowMs()) throw authError("ExpiredToken", family);
  if (accountClosed(app, cred.principal.accountId)) throw authError("UnknownKey", family);
  return { principal: cred.principal, region: parsed.region, signingService: parsed.service };
}
