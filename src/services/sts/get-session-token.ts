/**
 * GetSessionToken: temporary credentials for an IAM user or the root user, with the MFA code they
 * present verified. No policy can refuse it: it only authenticates the caller.
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
 */
import type { GetSessionTokenRequest, GetSessionTokenResponse } from "@aws-sdk/client-sts";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { consumeMfaCode } from "../iam/mfa.ts";
import { cloudTrailExpiration, credentialsOf, presentedMfa, ROOT_SESSION_MAX, USER_SESSION_DEFAULT, type VerifiedMfa } from "./credentials.ts";
import type { StsDeps } from "./deps.ts";
import { refuseFederatedUser } from "./federation-token.ts";

export function getSessionTokenOperation(deps: StsDeps) {
  return defineOperation<GetSessionTokenRequest, GetSessionTokenResponse, { mfa?: VerifiedMfa }>({
    resolve: function resolveSessionCaller(ctx, i) {
      deps.iam().identity.noteKeyUse(ctx);
      refuseFederatedUser(ctx);
      const p = ctx.principal;
      if (p.session || (p.type !== "IAMUser" && p.type !== "Root")) throw new ServiceError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403);
      const mfa = presentedMfa(ctx, deps.iam(), i.SerialNumber, i.TokenCode);
      return mfa ? { mfa } : {};
    },
    authorize: () => null,
    handler: function getSessionToken(ctx, i, { mfa }): GetSessionTokenResponse {
      const p = ctx.principal;
      let duration = i.DurationSeconds ?? (p.type === "Root" ? ROOT_SESSION_MAX : USER_SESSION_DEFAULT);
      if (p.type === "Root") duration = Math.min(duration, ROOT_SESSION_MAX);
      if (mfa) consumeMfaCode(ctx, deps.iam().state, mfa);
      const issued = deps.sessions.issue(ctx, {
        accountId: p.accountId,
        issuer: p.type === "Root" ? "Root" : "IAMUser",
        createdAt: ctx.now,
        expiresAt: new Date(ctx.now.getTime() + duration * 1000),
        mfa: mfa !== undefined,
        ...(mfa ? { mfaAt: ctx.now } : {}),
        ...(p.type === "IAMUser" ? { userId: p.principalId, userArn: p.arn, userName: p.userName } : {}),
      });
      return { Credentials: credentialsOf(issued) };
    },
    audit: {
      responseElements: (o) => ({
        credentials: { accessKeyId: o.Credentials!.AccessKeyId, expiration: cloudTrailExpiration(o.Credentials!.Expiration!) },
      }),
    },
  });
}
