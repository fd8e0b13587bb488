/**
 * Verifying an OIDC ID token for AssumeRoleWithWebIdentity
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html):
 * the token names its issuer (`iss`), which must be an IAM OIDC provider of the role's account;
 * its audience must be one of the provider's client IDs; it must not have expired (on the service
 * clock); and its signature must verify against a key of the issuer's JWKS, found through the
 * issuer's discovery document (`<iss>/.well-known/openid-configuration` → `jwks_uri`).
 *
 * Fetches go only where an administrator registered a provider: https, or http for a loopback
 * issuer (whose JWKS must then be on a loopback host too), and only to addresses issuer-fetch.ts
 * allows (never private, link-local or unique-local ones, nor this server's own port). Responses
 * are size- and time-limited, redirects are checked like the first URL, and nothing is cached (a
 * rotated key is seen on the next call).
 */
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";
import { ServiceError } from "../../kernel/errors.ts";
import { isLoopbackHost } from "../iam/oidc-providers.ts";
import type { OidcProviderRec } from "../iam/state.ts";
import { fetchIssuerJson, IssuerFetchError, type IssuerFetchPolicy } from "./issuer-fetch.ts";

/** The asymmetric algorithms AWS accepts for ID tokens (never `none` or an HMAC). */
export const TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"];

/** Where the server itself listens and how names resolve: what the fetch policy needs from the app. */
export type IssuerFetchSetting = Pick<IssuerFetchPolicy, "ownPort" | "resolve">;

export const invalidToken = (message: string) => new ServiceError("InvalidIdentityToken", message, 400);
const communicationError = () =>
  new ServiceError(
    "IDPCommunicationError",
    "The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached. This is often a transient error caused by network conditions.",
    400,
  );
const noVerificationKey = () =>
  invalidToken("Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements");

/** What a token says before it is verified: enough to find its provider. */
export interface UnverifiedToken {
  iss: string;
  claims: JWTPayload;
}

export function readToken(token: string): UnverifiedToken {
  let claims: JWTPayload;
  try {
    decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw invalidToken("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
  }
  if (typeof claims.iss !== "string" || !claims.iss) throw invalidToken("The ID Token provided does not name its issuer (iss).");
  return { iss: claims.iss, claims };
}

/** The audiences of a token that the provider lists as client IDs. */
export function matchingAudience(claims: JWTPayload, provider: OidcProviderRec): string {
  const auds = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  const hit = auds.find((a) => provider.clientIds.includes(a));
  if (hit === undefined) throw invalidToken("Incorrect token audience");
  return hit;
}

/** The expiry check, on the service clock: AWS answers ExpiredTokenException. */
export function checkExpiry(claims: JWTPayload, now: Date): void {
  if (typeof claims.exp !== "number") throw invalidToken("The ID Token provided has no expiration time (exp).");
  if (claims.exp * 1000 <= now.getTime()) {
    throw new ServiceError(
      "ExpiredTokenException",
      `Token expired: current date/time ${Math.floor(now.getTime() / 1000)} must be before the expiration date/time ${claims.exp}`,
      400,
    );
  }
}

/** A URL the provider's documents may be fetched from: https, or http on loopback for a loopback issuer. */
function allowedUrl(raw: unknown, issuer: URL): URL | undefined {
  if (typeof raw !== "string") return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return undefined;
  }
  if (u.username || u.password) return undefined;
  const issuerIsLoopback = isLoopbackHost(issuer.hostname);
  if (isLoopbackHost(u.hostname) !== issuerIsLoopback) return undefined;
  if (u.protocol === "https:") return u;
  if (u.protocol === "http:" && issuerIsLoopback) return u;
  return undefined;
}

/** GETs a JSON document; unreachable or refused is IDPCommunicationError, anything unusable is undefined. */
async function fetchJson(url: URL, issuer: URL, setting: IssuerFetchSetting): Promise<unknown> {
  try {
    return await fetchIssuerJson(url, { ...setting, loopback: isLoopbackHost(issuer.hostname), allowUrl: (u) => allowedUrl(u.href, issuer) !== undefined });
  } catch (e) {
    if (e instanceof IssuerFetchError && e.reason === "unusable") return undefined;
    throw communicationError();
  }
}

/** The issuer's JWKS, through its discovery document. */
async function issuerKeys(issuerUrl: string, setting: IssuerFetchSetting): Promise<JSONWebKeySet> {
  const issuer = new URL(issuerUrl);
  const discoveryUrl = allowedUrl(`${issuerUrl.replace(/\/+$/, "")}/.well-known/openid-configuration`, issuer);
  if (!discoveryUrl) throw noVerificationKey();
  const discovery = (await fetchJson(discoveryUrl, issuer, setting)) as { jwks_uri?: unknown } | undefined;
  const jwksUrl = allowedUrl(discovery?.jwks_uri, issuer);
  if (!jwksUrl) throw noVerificationKey();
  const jwks = (await fetchJson(jwksUrl, issuer, setting)) as JSONWebKeySet | undefined;
  if (!jwks || !Array.isArray(jwks.keys)) throw noVerificationKey();
  return jwks;
}

/** Verifies the signature (and iss, nbf) of a token whose provider, audience and expiry were checked. */
export async function verifySignature(token: string, provider: OidcProviderRec, now: Date, setting: IssuerFetchSetting = {}): Promise<JWTPayload> {
  const jwks = await issuerKeys(provider.url, setting);
  let keys;
  try {
    keys = createLocalJWKSet(jwks);
  } catch {
    throw noVerificationKey();
  }
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: provider.url, algorithms: TOKEN_ALGORITHMS, currentDate: now, clockTolerance: 0 });
    return payload;
  } catch (e) {
    if (e instanceof joseErrors.JWKSNoMatchingKey || e instanceof joseErrors.JWKSMultipleMatchingKeys) throw noVerificationKey();
    if (e instanceof joseErrors.JWTExpired) throw invalidToken("Token expired.");
    if (e instanceof joseErrors.JWTClaimValidationFailed) throw invalidToken(`The ID Token provided failed validation: ${e.claim}`);
    throw invalidToken("The ID Token provided could not be verified: its signature does not match a key of the identity provider.");
  }
}
