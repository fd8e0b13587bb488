/**
 * AssumeRoleWithSAML: an unsigned call whose credential is a signed SAML response
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithSAML.html). `resolve`
 * finds the SAML provider (PrincipalArn) and the role in the same account, verifies the response
 * (saml-assertion.ts), and checks what AWS checks: the issuer is the provider's entity ID, the
 * audience is AWS's sign-in endpoint, the assertion is current (NotBefore / NotOnOrAfter, issued
 * at most five minutes ago), the Role attribute names this role and provider, and a
 * RoleSessionName attribute is present. The trust policy then authorizes
 * `sts:AssumeRoleWithSAML` for `{"Federated": <provider ARN>}` with the SAML condition keys
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml).
 */
import type { AssumeRoleWithSAMLRequest, AssumeRoleWithSAMLResponse } from "@aws-sdk/client-sts";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck, type ResourcePolicyRef } from "../../kernel/operation.ts";
import type { RoleRec, SamlProviderRec } from "../iam/state.ts";
import { cloudTrailExpiration, inOpenAccount, validation } from "./credentials.ts";
import type { StsDeps } from "./deps.ts";
import { issueFederatedSession } from "./federated-session.ts";
import { invalidToken } from "./oidc-token.ts";
import { AWS_AUDIENCES, nameQualifier, ROLE_ATTRIBUTE, SESSION_NAME_ATTRIBUTE, verifySamlResponse, type SamlClaims } from "./saml-assertion.ts";
import { federationDenied } from "./web-identity.ts";

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:[!-~]+\/)?)([\w+=,.@-]{1,64})$/;
const SAML_ARN = /^arn:aws:iam::(\d{12}):saml-provider\/[\w._-]{1,128}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
/** AWS redeems an assertion only within five minutes of its IssueInstant. */
const REDEEM_WITHIN_MS = 5 * 60_000;

export interface ResolvedSaml {
  role: RoleRec;
  trust: ResourcePolicyRef;
  provider: SamlProviderRec;
  claims: SamlClaims;
  sessionName: string;
  qualifier: string;
}

function expired(message: string): ServiceError {
  return new ServiceError("ExpiredTokenException", message, 400);
}

/** The SAML condition keys of a verified assertion. */
export function samlContext(provider: SamlProviderRec, claims: SamlClaims, qualifier: string): NonNullable<AuthCheck["context"]> {
  const ctx: NonNullable<AuthCheck["context"]> = {
    "aws:FederatedProvider": provider.arn,
    "saml:aud": claims.recipient,
    "saml:iss": claims.issuer,
    "saml:sub": claims.subject,
    "saml:sub_type": claims.subjectType,
    "saml:namequalifier": qualifier,
    "saml:doc": `${provider.accountId}/${provider.name}`,
  };
  for (const [name, values] of claims.attributes) {
    // eduPerson and other attributes named by their OID/friendly names stay out; AWS's own are not keys
    if (/^urn:oid:/.test(name) || name.startsWith("https://aws.amazon.com/SAML/Attributes/")) continue;
    if (/^[\w.-]+$/.test(name)) ctx[`saml:${name}`] = values.length === 1 ? values[0] : values;
  }
  return ctx;
}

/** The role/provider pairs of the Role attribute ("role-arn,provider-arn" in either order). */
function rolePairs(claims: SamlClaims): { role: string; provider: string }[] {
  return (claims.attributes.get(ROLE_ATTRIBUTE) ?? []).flatMap((v) => {
    const parts = v.split(",").map((p) => p.trim());
    if (parts.length !== 2) return [];
    const role = parts.find((p) => p.includes(":role/"));
    const provider = parts.find((p) => p.includes(":saml-provider/"));
    return role && provider ? [{ role, provider }] : [];
  });
}

export function assumeRoleWithSamlOperation(deps: StsDeps) {
  return defineOperation<AssumeRoleWithSAMLRequest, AssumeRoleWithSAMLResponse, ResolvedSaml>({
    resolve: function resolveSaml(ctx, i) {
      const iam = deps.iam();
      const m = ROLE_ARN.exec(i.RoleArn!);
      const p = SAML_ARN.exec(i.PrincipalArn!);
      if (!m || !p) {
        ctx.audit.skip = true;
        throw validation("Request ARN is invalid");
      }
      const account = m[1];
      ctx.audit.resources = [
        { ARN: i.RoleArn!, accountId: account, type: "AWS::IAM::Role" },
        { ARN: i.PrincipalArn!, accountId: p[1], type: "AWS::IAM::SAMLProvider" },
      ];
      if (p[1] !== account) throw federationDenied("sts:AssumeRoleWithSAML");
      const provider = iam.state.findSamlProvider(account, i.PrincipalArn!);
      if (!provider) throw invalidToken(`SAML provider ${i.PrincipalArn} does not exist in the role's account.`);
      if (provider.validUntil && provider.validUntil.getTime() <= ctx.now.getTime()) throw invalidToken("The SAML provider's metadata has expired (validUntil).");
      const claims = verifySamlResponse(i.SAMLAssertion!, provider);
      const qualifier = nameQualifier(claims.issuer, provider);
      ctx.audit.userIdentity = { type: "SAMLUser", principalId: `${qualifier}:${claims.subject}`, userName: claims.subject, identityProvider: qualifier };
      if (claims.issuer !== provider.entityId) throw invalidToken(`Issuer ${claims.issuer} is not the entity ID of ${provider.arn}`);
      if (!claims.audiences.some((a) => AWS_AUDIENCES.includes(a))) throw invalidToken(`The SAML assertion's audience must include ${AWS_AUDIENCES[0]}`);
      const now = ctx.now.getTime();
      if (claims.notBefore && claims.notBefore.getTime() > now) throw invalidToken("The SAML assertion is not yet valid (NotBefore).");
      if (claims.notOnOrAfter && claims.notOnOrAfter.getTime() <= now) throw expired("The SAML assertion has expired (NotOnOrAfter).");
      if (claims.issueInstant && claims.issueInstant.getTime() + REDEEM_WITHIN_MS <= now) throw expired("Token must be redeemed within 5 minutes of issuance");
      const sessionName = claims.attributes.get(SESSION_NAME_ATTRIBUTE)?.[0];
      if (sessionName === undefined) throw invalidToken("RoleSessionName is required in AuthnResponse");
      if (!SESSION_NAME.test(sessionName)) throw invalidToken(`Invalid RoleSessionName in AuthnResponse: ${sessionName}`);
      if (!rolePairs(claims).some((r) => r.role === i.RoleArn && r.provider === i.PrincipalArn)) throw federationDenied("sts:AssumeRoleWithSAML");
      const role = inOpenAccount(ctx, iam.state.findRole(account, m[3]));
      if (!role || role.arn !== i.RoleArn) throw federationDenied("sts:AssumeRoleWithSAML");
      return { role, trust: { document: role.trust, kind: "trust", ownerAccountId: role.accountId, authoritative: true }, provider, claims, sessionName, qualifier };
    },
    authorize: function authorizeAssumeRoleWithSaml(_ctx, _i, { role, trust, provider, claims, qualifier }) {
      return [
        {
          action: "sts:AssumeRoleWithSAML",
          resource: role.arn,
          resourcePolicy: trust,
          federatedPrincipal: provider.arn,
          context: samlContext(provider, claims, qualifier),
          denied: () => federationDenied("sts:AssumeRoleWithSAML"),
        },
      ];
    },
    handler: function assumeRoleWithSaml(ctx: RequestContext, i, { role, provider, claims, sessionName, qualifier }): AssumeRoleWithSAMLResponse {
      const session = issueFederatedSession(deps, ctx, role, provider.arn, sessionName, i);
      return {
        Credentials: session.Credentials,
        AssumedRoleUser: session.AssumedRoleUser,
        Subject: claims.subject,
        SubjectType: claims.subjectType,
        Issuer: claims.issuer,
        Audience: claims.recipient,
        NameQualifier: qualifier,
        ...(session.PackedPolicySize !== undefined ? { PackedPolicySize: session.PackedPolicySize } : {}),
      };
    },
    audit: {
      // the assertion is a credential: never recorded
      requestParameters: (i) => ({
        roleArn: i.RoleArn,
        principalArn: i.PrincipalArn,
        ...(i.DurationSeconds !== undefined ? { durationSeconds: i.DurationSeconds } : {}),
        ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
      }),
      responseElements: (o) => ({
        credentials: { accessKeyId: o.Credentials!.AccessKeyId, expiration: cloudTrailExpiration(o.Credentials!.Expiration!) },
        assumedRoleUser: { assumedRoleId: o.AssumedRoleUser!.AssumedRoleId, arn: o.AssumedRoleUser!.Arn },
        subject: o.Subject,
        subjectType: o.SubjectType,
        issuer: o.Issuer,
        audience: o.Audience,
        nameQualifier: o.NameQualifier,
        ...(o.PackedPolicySize !== undefined ? { packedPolicySize: o.PackedPolicySize } : {}),
      }),
    },
  });
}
