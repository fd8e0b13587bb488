/**
 * AssumeRole: the role is resolved once (in the caller's view: a malformed ARN is a
 * ValidationError, a missing role AWS's reasonless AccessDenied), the trust policy authorizes,
 * and the handler issues the session. https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
 */
import type { AssumeRoleRequest, AssumeRoleResponse } from "@aws-sdk/client-sts";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck, type ResourcePolicyRef } from "../../kernel/operation.ts";
import { validateDocument } from "../iam/common.ts";
import { consumeMfaCode } from "../iam/mfa.ts";
import type { RoleRec } from "../iam/state.ts";
import {
  assumeDenied,
  CHAINED_MAX,
  cloudTrailExpiration,
  credentialsOf,
  DEFAULT_ROLE_SESSION,
  checkPackedSize,
  sessionPolicyArns,
  inOpenAccount,
  presentedMfa,
  resolveRole,
  SESSION_POLICY_MAX_CHARS,
  validation,
  type VerifiedMfa,
} from "./credentials.ts";
import type { StsDeps } from "./deps.ts";
import { refuseFederatedUser } from "./federation-token.ts";

/** The role asked for and the MFA code the caller presented (verified, not yet consumed). */
export interface ResolvedAssumeRole {
  role: RoleRec;
  trust: ResourcePolicyRef;
  mfa?: VerifiedMfa;
}

function tagsOf(i: AssumeRoleRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of i.Tags ?? []) out[t.Key!] = t.Value ?? "";
  return out;
}

export function assumeRoleOperation(deps: StsDeps) {
  return defineOperation<AssumeRoleRequest, AssumeRoleResponse, ResolvedAssumeRole>({
    resolve: function resolveAssumeRole(ctx, i) {
      const iam = deps.iam();
      iam.identity.noteKeyUse(ctx);
      refuseFederatedUser(ctx);
      // The root user (its long-term keys or a root session) can never assume a role:
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use.html
      if (ctx.principal.type === "Root") throw new ServiceError("AccessDenied", "Roles may not be assumed by root accounts.", 403);
      const role = inOpenAccount(ctx, resolveRole(iam, i.RoleArn!));
      if (!role) throw assumeDenied(ctx, "sts:AssumeRole", i.RoleArn!);
      // the code is verified before the trust policy is evaluated: the policy sees aws:MultiFactorAuthPresent
      const mfa = presentedMfa(ctx, iam, i.SerialNumber, i.TokenCode);
      return { role, trust: { document: role.trust, kind: "trust", ownerAccountId: role.accountId, authoritative: true }, ...(mfa ? { mfa } : {}) };
    },

    authorize: function authorizeAssumeRole(ctx, i, { role, trust, mfa }) {
      const context: AuthCheck["context"] = { "sts:RoleSessionName": i.RoleSessionName! };
      if (mfa) {
        context["aws:MultiFactorAuthPresent"] = true;
        context["aws:MultiFactorAuthAge"] = 0;
      }
      if (i.ExternalId !== undefined) context["sts:ExternalId"] = i.ExternalId;
      if (i.SourceIdentity !== undefined) context["sts:SourceIdentity"] = i.SourceIdentity;
      const check = (action: string, checkContext: AuthCheck["context"]): AuthCheck => ({
        action,
        resource: role.arn,
        resourcePolicy: trust,
        context: checkContext,
        denied: () => assumeDenied(ctx, action, role.arn),
      });
      const checks = [check("sts:AssumeRole", context)];
      if (i.Tags?.length) {
        const tagContext: AuthCheck["context"] = { ...context, "aws:TagKeys": i.Tags.map((t) => t.Key!) };
        for (const t of i.Tags) tagContext[`aws:RequestTag/${t.Key}`] = t.Value ?? "";
        if (i.TransitiveTagKeys?.length) tagContext["sts:TransitiveTagKeys"] = i.TransitiveTagKeys;
        checks.push(check("sts:TagSession", tagContext));
      }
      if (i.SourceIdentity !== undefined) checks.push(check("sts:SetSourceIdentity", context));
      return checks;
    },

    handler: function assumeRole(ctx: RequestContext, i, { role, mfa }): AssumeRoleResponse {
      const iam = deps.iam();
      const duration = i.DurationSeconds ?? DEFAULT_ROLE_SESSION;
      if (ctx.principal.session && duration > CHAINED_MAX) {
        throw validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
      }
      // Credentials AWS services vend for a role (ECS task roles last six hours) are not bound by
      // its MaxSessionDuration: https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateRole.html
      // and https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
      if (duration > role.maxSessionDuration && ctx.principal.type !== "AWSService") {
        throw validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
      }
      if (i.Policy !== undefined) {
        if (i.Policy.length > SESSION_POLICY_MAX_CHARS) {
          throw validation(
            `1 validation error detected: Value '${i.Policy}' at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${SESSION_POLICY_MAX_CHARS}`,
          );
        }
        validateDocument(i.Policy, "session");
      }
      const policyArns = sessionPolicyArns(iam, role.accountId, i.PolicyArns);
      // Transitive tags of the calling session pass on to the next one in the chain.
      const inherited: Record<string, string> = {};
      const callerSession = ctx.principal.accessKeyId ? deps.sessions.get(ctx.principal.accessKeyId) : undefined;
      for (const k of callerSession?.transitiveTagKeys ?? []) {
        const v = callerSession?.tags?.[k];
        if (v !== undefined) inherited[k] = v;
      }
      const requestTags = tagsOf(i);
      const tags = { ...inherited, ...requestTags };
      const packedSize = checkPackedSize(i.Policy, policyArns, requestTags);
      const transitive = [...new Set([...(callerSession?.transitiveTagKeys ?? []), ...(i.TransitiveTagKeys ?? [])])];
      if (mfa) consumeMfaCode(ctx, iam.state, mfa);
      const mfaAt = mfa ? ctx.now : ctx.principal.session?.mfaAuthenticated ? ctx.principal.session.mfaAuthenticatedAt : undefined;
      const issued = deps.sessions.issue(ctx, {
        accountId: role.accountId,
        issuer: "Role",
        createdAt: ctx.now,
        expiresAt: new Date(ctx.now.getTime() + duration * 1000),
        mfa: mfaAt !== undefined,
        ...(mfaAt ? { mfaAt } : {}),
        roleArn: role.arn,
        roleId: role.id,
        roleName: role.name,
        sessionName: i.RoleSessionName!,
        ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
        ...(policyArns.length ? { policyArns } : {}),
        ...(Object.keys(tags).length ? { tags } : {}),
        ...(transitive.length ? { transitiveTagKeys: transitive } : {}),
        ...(i.SourceIdentity !== undefined ? { sourceIdentity: i.SourceIdentity } : callerSession?.sourceIdentity ? { sourceIdentity: callerSession.sourceIdentity } : {}),
      });
      iam.noteRoleUse(ctx, role);
      const out: AssumeRoleResponse = {
        Credentials: credentialsOf(issued),
        AssumedRoleUser: { AssumedRoleId: `${role.id}:${i.RoleSessionName}`, Arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${i.RoleSessionName}` },
      };
      if (i.Policy !== undefined || policyArns.length || i.Tags?.length) out.PackedPolicySize = packedSize;
      if (issued.rec.sourceIdentity) out.SourceIdentity = issued.rec.sourceIdentity;
      return out;
    },

    audit: {
      resources: (_ctx, _i, { role }) => [{ ARN: role.arn, accountId: role.accountId, type: "AWS::IAM::Role" }],
      responseElements: (o) => ({
        credentials: { accessKeyId: o.Credentials!.AccessKeyId, expiration: cloudTrailExpiration(o.Credentials!.Expiration!) },
        assumedRoleUser: { assumedRoleId: o.AssumedRoleUser!.AssumedRoleId, arn: o.AssumedRoleUser!.Arn },
        ...(o.PackedPolicySize !== undefined ? { packedPolicySize: o.PackedPolicySize } : {}),
        ...(o.SourceIdentity ? { sourceIdentity: o.SourceIdentity } : {}),
      }),
    },
  });
}
