/**
 * The session a federated caller gets from AssumeRoleWithWebIdentity or AssumeRoleWithSAML once
 * its token or assertion is accepted: the role's session, limited by the session policies, named
 * for the provider that vouched for the caller.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_request.html
 */
import type { AssumedRoleUser, Credentials, PolicyDescriptorType } from "@aws-sdk/client-sts";
import type { RequestContext } from "../../kernel/context.ts";
import { validateDocument } from "../iam/common.ts";
import type { RoleRec } from "../iam/state.ts";
import { checkPackedSize, credentialsOf, DEFAULT_ROLE_SESSION, sessionPolicyArns, validation } from "./credentials.ts";
import type { StsDeps } from "./deps.ts";

export interface FederatedSessionRequest {
  DurationSeconds?: number;
  Policy?: string;
  PolicyArns?: PolicyDescriptorType[];
}

export interface FederatedSession {
  Credentials: Credentials;
  AssumedRoleUser: AssumedRoleUser;
  /** only when session policies were given, as AWS answers */
  PackedPolicySize?: number;
}

export function issueFederatedSession(deps: StsDeps, ctx: RequestContext, role: RoleRec, providerArn: string, sessionName: string, i: FederatedSessionRequest): FederatedSession {
  const iam = deps.iam();
  const duration = i.DurationSeconds ?? DEFAULT_ROLE_SESSION;
  if (duration > role.maxSessionDuration) throw validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  if (i.Policy !== undefined) validateDocument(i.Policy, "session");
  const policyArns = sessionPolicyArns(iam, role.accountId, i.PolicyArns);
  const packedSize = checkPackedSize(i.Policy, policyArns, {});
  const issued = deps.sessions.issue(ctx, {
    accountId: role.accountId,
    issuer: "Role",
    createdAt: ctx.now,
    expiresAt: new Date(ctx.now.getTime() + duration * 1000),
    mfa: false,
    roleArn: role.arn,
    roleId: role.id,
    roleName: role.name,
    sessionName,
    federatedProvider: providerArn,
    ...(i.Policy !== undefined ? { policy: i.Policy } : {}),
    ...(policyArns.length ? { policyArns } : {}),
  });
  iam.noteRoleUse(ctx, role);
  return {
    Credentials: credentialsOf(issued),
    AssumedRoleUser: { AssumedRoleId: `${role.id}:${sessionName}`, Arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}` },
    ...(i.Policy !== undefined || policyArns.length ? { PackedPolicySize: packedSize } : {}),
  };
}
