/**
 * What AssumeRole and GetSessionToken share: session limits, the MFA a caller presents, the
 * credentials they answer with and how CloudTrail writes them.
 */
import { deflateRawSync } from "node:zlib";
import type { Credentials } from "@aws-sdk/client-sts";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { IamService } from "../iam/index.ts";
import { verifyMfaCode, type MfaVerification } from "../iam/mfa.ts";
import type { RoleRec } from "../iam/state.ts";
import type { IssuedCredentials } from "./sessions.ts";

export const DEFAULT_ROLE_SESSION = 3600;
export const CHAINED_MAX = 3600;
export const USER_SESSION_DEFAULT = 43200;
export const ROOT_SESSION_MAX = 3600;
/** Plaintext limit for an inline session policy. */
export const SESSION_POLICY_MAX_CHARS = 2048;
/** Size of the packed (compressed) policies and tags that counts as 100% (localfargate's choice). */
export const PACKED_LIMIT_BYTES = 1536;

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:[!-~]+\/)?)([\w+=,.@-]{1,64})$/;

export const validation = (m: string) => new ServiceError("ValidationError", m, 400);

/** AWS's AssumeRole denial names neither the policy nor the reason. */
export function assumeDenied(ctx: RequestContext, action: string, resource: string): ServiceError {
  return new ServiceError("AccessDenied", `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${resource}`, 403);
}

export type VerifiedMfa = Extract<MfaVerification, { ok: true }>;

/**
 * The MFA a GetSessionToken or AssumeRole call presents: none, or a code verified against the
 * caller's own virtual MFA device on the service clock. A device that is not the caller's (or a
 * serial number without a code) cannot be validated; a wrong, stale or reused code is invalid.
 */
export function presentedMfa(ctx: RequestContext, iam: IamService, serial: string | undefined, code: string | undefined): VerifiedMfa | undefined {
  if (serial === undefined && code === undefined) return undefined;
  const p = ctx.principal;
  const userId = p.type === "IAMUser" ? p.principalId : undefined;
  const v: MfaVerification =
    serial === undefined || code === undefined
      ? { ok: false, reason: "unknown-device" }
      : verifyMfaCode(iam.state, iam.sealer, p.accountId, userId, serial, code, ctx.now.getTime());
  if (v.ok) return v;
  throw new ServiceError(
    "AccessDenied",
    v.reason === "invalid-code" ? "MultiFactorAuthentication failed with invalid MFA one time pass code." : "MultiFactorAuthentication failed, unable to validate MFA code.",
    403,
  );
}

export function resolveRole(iam: IamService, arn: string): RoleRec | undefined {
  const m = ROLE_ARN.exec(arn);
  if (!m) throw validation("Request ARN is invalid");
  const role = iam.state.findRole(m[1], m[3]);
  return role && role.arn === arn ? role : undefined;
}

/**
 * A role in a closed account (Organizations CloseAccount) cannot be assumed: it answers as a
 * role that is not there, AWS's AccessDenied (docs/organizations.md#closing-an-account).
 */
export function inOpenAccount(ctx: RequestContext, role: RoleRec | undefined): RoleRec | undefined {
  return role && ctx.app.find("organizations")?.isClosed(role.accountId) ? undefined : role;
}

/** "Mar 26, 2020, 10:09:51 PM": how CloudTrail writes STS credential expirations. */
export function cloudTrailExpiration(d: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const h = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${months[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? "AM" : "PM"}`;
}

export function credentialsOf(c: IssuedCredentials): Credentials {
  return { AccessKeyId: c.rec.id, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.rec.expiresAt };
}

/** A session's managed policy ARNs (PolicyArns), each of which must name a policy the account can attach. */
export function sessionPolicyArns(iam: { state: { findPolicy(accountId: string, arn: string): unknown } }, accountId: string, input: { arn?: string }[] | undefined): string[] {
  const arns = (input ?? []).map((d) => d.arn).filter((a): a is string => a !== undefined);
  for (const arn of arns) {
    if (!iam.state.findPolicy(accountId, arn)) throw new ServiceError("MalformedPolicyDocument", `Policy ${arn} does not exist or is not attachable.`, 400);
  }
  return arns;
}

/** Refuses a session whose policy, policy ARNs and tags take more than the packed space; answers the percentage used. */
export function checkPackedSize(policy: string | undefined, policyArns: string[], tags: Record<string, string>): number {
  const packed = packedPolicySize(policy, policyArns, tags);
  if (packed.total > 100) {
    throw new ServiceError(
      "PackedPolicyTooLarge",
      packed.tags > 100
        ? `Packed size of session tags consumes ${packed.tags}% of allotted space.`
        : `Packed policy consumes ${packed.total}% of allotted space, please use smaller policy.`,
      400,
    );
  }
  return packed.total;
}

/** Percentage of the packed-policy space the session policy, policy ARNs and tags use. */
export function packedPolicySize(policy: string | undefined, policyArns: string[], tags: Record<string, string>): { total: number; tags: number } {
  let minified = policy ?? "";
  if (policy) {
    try {
      minified = JSON.stringify(JSON.parse(policy));
    } catch {
      minified = policy.replace(/\s+/g, "");
    }
  }
  const tagText = Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n");
  const all = [minified, policyArns.join("\n"), tagText].filter((x) => x.length).join("\u0000");
  const pct = (s: string) => (s.length ? Math.ceil((deflateRawSync(Buffer.from(s)).length * 100) / PACKED_LIMIT_BYTES) : 0);
  return { total: pct(all), tags: pct(tagText) };
}
