/**
 * GetFederationToken (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html):
 * temporary credentials for a federated user, asked for by an IAM user (or the root user) with
 * long-term keys. The session may do only what both the caller's identity policies and the
 * session policies passed here allow; without a session policy it may do nothing. Its credentials
 * cannot call IAM, nor STS other than GetCallerIdentity.
 *
 * GetAccessKeyInfo (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetAccessKeyInfo.html):
 * the account an access key belongs to.
 */
import type { GetAccessKeyInfoRequest, GetAccessKeyInfoResponse, GetFederationTokenRequest, GetFederationTokenResponse } from "@aws-sdk/client-sts";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { validateDocument } from "../iam/common.ts";
import { cloudTrailExpiration, credentialsOf, checkPackedSize, sessionPolicyArns, ROOT_SESSION_MAX, USER_SESSION_DEFAULT, validation } from "./credentials.ts";
import type { StsDeps } from "./deps.ts";

/** Federated users may call no STS operation but GetCallerIdentity. */
export function refuseFederatedUser(ctx: RequestContext): void {
  if (ctx.principal.type === "FederatedUser") {
    throw new ServiceError("AccessDenied", `User: ${ctx.principal.arn} is not authorized to perform: sts:${ctx.operation} with federated user credentials`, 403);
  }
}

export function getFederationTokenOperation(deps: StsDeps) {
  return defineOperation<GetFederationTokenRequest, GetFederationTokenResponse, { arn: string }>({
    resolve: function resolveFederationCaller(ctx, i) {
      deps.iam().identity.noteKeyUse(ctx);
      refuseFederatedUser(ctx);
      const p = ctx.principal;
      if (p.session || (p.type !== "IAMUser" && p.type !== "Root")) throw new ServiceError("AccessDenied", "Cannot call GetFederationToken with session credentials", 403);
      return { arn: `arn:aws:sts::${p.accountId}:federated-user/${i.Name}` };
    },
    authorize: function authorizeGetFederationToken(_ctx, i, { arn }) {
      const checks: AuthCheck[] = [{ action: "sts:GetFederationToken", resource: arn }];
      if (i.Tags?.length) {
        const context: AuthCheck["context"] = { "aws:TagKeys": i.Tags.map((t) => t.Key!) };
        for (const t of i.Tags) context[`aws:RequestTag/${t.Key}`] = t.Value ?? "";
        checks.push({ action: "sts:TagSession", resource: arn, context });
      }
      return checks;
    },
    handler: function getFederationToken(ctx, i, { arn }): GetFederationTokenResponse {
      const p = ctx.principal;
      const iam = deps.iam();
      let duration = i.DurationSeconds ?? USER_SESSION_DEFAULT;
      if (p.type === "Root") duration = Math.min(duration, ROOT_SESSION_MAX);
      if (i.Policy !== undefined) validateDocument(i.Policy, "session");
      const policyArns = sessionPolicyArns(iam, p.accountId, i.PolicyArns);
      const tags: Record<string, string> = {};
      for (const t of i.Tags ?? []) {
        if (Object.keys(tags).some((k) => k.toLowerCase() === t.Key!.toLowerCase())) {
          throw validation("Duplicate tag keys found. Please note that Tag keys are case insensitive.");
        }
        tags[t.Key!] = t.Value ?? "";
      }
      const packedSize = checkPackedSize(i.Policy, policyArns, tags);
      const issued = deps.sessions.issue(ctx, {
        accountId: p.accountId,
        issuer: p.type === "Root" ? "Root" : "IAMUser",
        createdAt: ctx.now,
        expiresAt: new Date(ctx.now.getTime() + duration * 1000),
        mfa: false,
        federatedName: i.Name!,
        ...(p.type === "IAMUser" ? { userId: p.principalId, userArn: p.arn, userName: p.userName } : {}),
        ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
        ...(policyArns.length ? { policyArns } : {}),
        ...(Object.keys(tags).length ? { tags } : {}),
      });
      const out: GetFederationTokenResponse = {
        Credentials: credentialsOf(issued),
        FederatedUser: { FederatedUserId: `${p.accountId}:${i.Name}`, Arn: arn },
      };
      if (i.Policy !== undefined || policyArns.length || i.Tags?.length) out.PackedPolicySize = packedSize;
      return out;
    },
    audit: {
      responseElements: (o) => ({
        credentials: { accessKeyId: o.Credentials!.AccessKeyId, expiration: cloudTrailExpiration(o.Credentials!.Expiration!) },
        federatedUser: { federatedUserId: o.FederatedUser!.FederatedUserId, arn: o.FederatedUser!.Arn },
        ...(o.PackedPolicySize !== undefined ? { packedPolicySize: o.PackedPolicySize } : {}),
      }),
    },
  });
}

export function getAccessKeyInfoOperation(deps: StsDeps) {
  return defineOperation<GetAccessKeyInfoRequest, GetAccessKeyInfoResponse>({
    readOnly: true,
    authorize: function authorizeGetAccessKeyInfo(ctx) {
      deps.iam().identity.noteKeyUse(ctx);
      return [{ action: "sts:GetAccessKeyInfo", resource: "*" }];
    },
    handler: function getAccessKeyInfo(ctx, i) {
      const id = i.AccessKeyId!;
      const account = deps.accountOfKey(id);
      if (account === undefined) throw validation(`The access key ID ${id} is not known to this server.`);
      return { Account: account };
    },
  });
}
