/**
 * AssumeRoleWithWebIdentity: an unsigned call whose credential is an OIDC ID token
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
 * `resolve` finds the role, the token's IAM OIDC provider in the role's account and verifies the
 * token (audience, expiry, signature: oidc-token.ts); the role's trust policy then authorizes
 * `sts:AssumeRoleWithWebIdentity` for the `{"Federated": <provider ARN>}` principal with the
 * token's claims as condition keys (`<provider>:sub`, `:aud`, `:amr`…:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif).
 */
import type { AssumeRoleWithWebIdentityRequest, AssumeRoleWithWebIdentityResponse } from "@aws-sdk/client-sts";
import type { JWTPayload } from "jose";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck, type ResourcePolicyRef } from "../../kernel/operation.ts";
import { oidcProviderArn } from "../iam/oidc-providers.ts";
import type { OidcProviderRec, RoleRec } from "../iam/state.ts";
import { cloudTrailExpiration, inOpenAccount, validation } from "./credentials.ts";
import type { StsDeps } from "./deps.ts";
import { issueFederatedSession } from "./federated-session.ts";
import { checkExpiry, invalidToken, matchingAudience, readToken, verifySignature, type IssuerFetchSetting } from "./oidc-token.ts";

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:[!-~]+\/)?)([\w+=,.@-]{1,64})$/;

export interface ResolvedWebIdentity {
  role: RoleRec;
  trust: ResourcePolicyRef;
  provider: OidcProviderRec;
  audience: string;
  claims: JWTPayload;
}

/** AWS's refusal names no reason. */
export const federationDenied = (action: string) => new ServiceError("AccessDenied", `Not authorized to perform ${action}`, 403);

/** The provider's name in condition keys: its URL without the scheme. */
export function providerKeyPrefix(provider: OidcProviderRec): string {
  return provider.url.replace(/^https?:\/\//, "");
}

/** The web identity condition keys of a verified token. */
export function webIdentityContext(provider: OidcProviderRec, audience: string, claims: JWTPayload): NonNullable<AuthCheck["context"]> {
  const p = providerKeyPrefix(provider);
  const ctx: NonNullable<AuthCheck["context"]> = { "aws:FederatedProvider": provider.arn, [`${p}:aud`]: audience };
  if (typeof claims.sub === "string") ctx[`${p}:sub`] = claims.sub;
  const auds = typeof claims.aud === "string" ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
  ctx[`${p}:oaud`] = auds;
  const amr = claims.amr;
  if (typeof amr === "string" || (Array.isArray(amr) && amr.every((a) => typeof a === "string"))) ctx[`${p}:amr`] = amr as string | string[];
  if (typeof claims.azp === "string") ctx[`${p}:azp`] = claims.azp;
  if (typeof claims.email === "string") ctx[`${p}:email`] = claims.email;
  return ctx;
}

/** The server's own port (never an issuer) and the resolver a test may put in place of DNS. */
function issuerFetchSetting(ctx: RequestContext): IssuerFetchSetting {
  const url = ctx.app.find("serverUrl");
  const port = url ? Number(new URL(url).port) : ctx.app.options.port;
  return { ...(port ? { ownPort: port } : {}), ...(ctx.app.options.resolveHost ? { resolve: ctx.app.options.resolveHost } : {}) };
}

export function assumeRoleWithWebIdentityOperation(deps: StsDeps) {
  return defineOperation<AssumeRoleWithWebIdentityRequest, AssumeRoleWithWebIdentityResponse, ResolvedWebIdentity>({
    resolve: async function resolveWebIdentity(ctx, i) {
      const iam = deps.iam();
      const m = ROLE_ARN.exec(i.RoleArn!);
      if (!m) {
        // no account to record the refusal in
        ctx.audit.skip = true;
        throw validation("Request ARN is invalid");
      }
      const account = m[1];
      ctx.audit.resources = [{ ARN: i.RoleArn!, accountId: account, type: "AWS::IAM::Role" }];
      if (i.ProviderId !== undefined) throw validation("ProviderId is only for OAuth 2.0 access tokens from Login with Amazon or Facebook, which localfargate does not support.");
      const token = readToken(i.WebIdentityToken!);
      const provider = iam.state.findOidcProvider(account, oidcProviderArn(account, token.iss));
      if (!provider || provider.url !== token.iss) throw invalidToken(`No OpenIDConnect provider found in your account for ${token.iss}`);
      const audience = matchingAudience(token.claims, provider);
      const host = providerKeyPrefix(provider);
      ctx.audit.userIdentity = {
        type: "WebIdentityUser",
        principalId: `${host}:${audience}:${String(token.claims.sub ?? "")}`,
        userName: String(token.claims.sub ?? ""),
        identityProvider: host,
      };
      checkExpiry(token.claims, ctx.now);
      const claims = await verifySignature(i.WebIdentityToken!, provider, ctx.now, issuerFetchSetting(ctx));
      if (typeof claims.sub !== "string" || claims.sub.length < 6 || claims.sub.length > 255) {
        throw invalidToken("The ID Token provided has no valid subject (sub): 6 to 255 characters.");
      }
      const role = inOpenAccount(ctx, iam.state.findRole(account, m[3]));
      if (!role || role.arn !== i.RoleArn) throw federationDenied("sts:AssumeRoleWithWebIdentity");
      return { role, trust: { document: role.trust, kind: "trust", ownerAccountId: role.accountId, authoritative: true }, provider, audience, claims };
    },
    authorize: function authorizeAssumeRoleWithWebIdentity(_ctx, i, { role, trust, provider, audience, claims }) {
      return [
        {
          action: "sts:AssumeRoleWithWebIdentity",
          resource: role.arn,
          resourcePolicy: trust,
          federatedPrincipal: provider.arn,
          context: { ...webIdentityContext(provider, audience, claims), "sts:RoleSessionName": i.RoleSessionName! },
          denied: () => federationDenied("sts:AssumeRoleWithWebIdentity"),
        },
      ];
    },
    handler: function assumeRoleWithWebIdentity(ctx: RequestContext, i, { role, provider, audience, claims }): AssumeRoleWithWebIdentityResponse {
      const session = issueFederatedSession(deps, ctx, role, provider.arn, i.RoleSessionName!, i);
      return {
        Credentials: session.Credentials,
        SubjectFromWebIdentityToken: claims.sub,
        AssumedRoleUser: session.AssumedRoleUser,
        Provider: provider.url,
        Audience: audience,
        ...(session.PackedPolicySize !== undefined ? { PackedPolicySize: session.PackedPolicySize } : {}),
      };
    },
    audit: {
      // the token is a credential: never recorded
      requestParameters: (i) => ({
        roleArn: i.RoleArn,
        roleSessionName: i.RoleSessionName,
        ...(i.DurationSeconds !== undefined ? { durationSeconds: i.DurationSeconds } : {}),
        ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
        ...(i.PolicyArns?.length ? { policyArns: i.PolicyArns.map((p) => ({ arn: p.arn })) } : {}),
      }),
      responseElements: (o) => ({
        credentials: { accessKeyId: o.Credentials!.AccessKeyId, expiration: cloudTrailExpiration(o.Credentials!.Expiration!) },
        subjectFromWebIdentityToken: o.SubjectFromWebIdentityToken,
        assumedRoleUser: { assumedRoleId: o.AssumedRoleUser!.AssumedRoleId, arn: o.AssumedRoleUser!.Arn },
        provider: o.Provider,
        audience: o.Audience,
        ...(o.PackedPolicySize !== undefined ? { packedPolicySize: o.PackedPolicySize } : {}),
      }),
    },
  });
}
