/**
 * AssumeRole and GetSessionToken: who may get temporary credentials, for how long, narrowed by
 * which session policies, and what AWS answers when they may not.
 */
import { deflateRawSync } from "node:zlib";
import type { AssumeRoleRequest, AssumeRoleResponse, GetSessionTokenRequest, GetSessionTokenResponse, Credentials } from "@aws-sdk/client-sts";
import { ServiceError } from "../../kernel/errors.ts";
import { authorizeChecks } from "../../authz/authorize.ts";
import type { AuthCheck, OperationDef, RequestContext } from "../types.ts";
import { validateDocument } from "../iam/common.ts";
import type { IamService } from "../iam/index.ts";
import { consumeMfaCode, verifyMfaCode, type MfaVerification } from "../iam/mfa.ts";
import type { RoleRec } from "../iam/state.ts";
import type { IssuedCredentials, SessionStore } from "./sessions.ts";

export const DEFAULT_ROLE_SESSION = 3600;
export const CHAINED_MAX = 3600;
export const USER_SESSION_DEFAULT = 43200;
export const ROOT_SESSION_MAX = 3600;
/** Plaintext limit for an inline session policy. */
export const SESSION_POLICY_MAX_CHARS = 2048;
/** Size of the packed (compressed) policies and tags that counts as 100% (localfargate's choice). */
export const PACKED_LIMIT_BYTES = 1536;

const ROLE_ARN = /^arn:aws:iam::(\d{12}):role(\/(?:[!-~]+\/)?)([\w+=,.@-]{1,64})$/;

const validation = (m: string) => new ServiceError("ValidationError", m, 400);

/** AWS's AssumeRole denial names neither the policy nor the reason. */
function assumeDenied(ctx: RequestContext, action: string, resource: string): ServiceError {
  return new ServiceError("AccessDenied", `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${resource}`, 403);
}

type VerifiedMfa = Extract<MfaVerification, { ok: true }>;

/**
 * The MFA a GetSessionToken or AssumeRole call presents: none, or a code verified against the
 * caller's own virtual MFA device on the service clock. A device that is not the caller's (or a
 * serial number without a code) cannot be validated; a wrong, stale or reused code is invalid.
 */
function presentedMfa(ctx: RequestContext, iam: IamService, serial: string | undefined, code: string | undefined): VerifiedMfa | undefined {
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

/** AssumeRole verifies the code while authorizing (the trust policy sees it) and records it once the call succeeds. */
const verifiedForRequest = new WeakMap<RequestContext, VerifiedMfa>();

function resolveRole(iam: IamService, arn: string): RoleRec | undefined {
  const m = ROLE_ARN.exec(arn);
  if (!m) throw validation("Request ARN is invalid");
  const role = iam.state.findRole(m[1], m[3]);
  return role && role.arn === arn ? role : undefined;
}

/** "Mar 26, 2020, 10:09:51 PM": how CloudTrail writes STS credential expirations. */
export function cloudTrailExpiration(d: Date): string {
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const h = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${months[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? "AM" : "PM"}`;
}

function credentialsOf(c: IssuedCredentials): Credentials {
  return { AccessKeyId: c.rec.id, SecretAccessKey: c.secretAccessKey, SessionToken: c.sessionToken, Expiration: c.rec.expiresAt };
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
  const tagText = Object.entries(tags).map(([k, v]) => `${k}=${v}`).join("\n");
  const all = [minified, policyArns.join("\n"), tagText].filter((x) => x.length).join("\u0000");
  const pct = (s: string) => (s.length ? Math.ceil((deflateRawSync(Buffer.from(s)).length * 100) / PACKED_LIMIT_BYTES) : 0);
  return { total: pct(all), tags: pct(tagText) };
}

function tagsOf(i: AssumeRoleRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of i.Tags ?? []) out[t.Key!] = t.Value ?? "";
  return out;
}

export function assumeRoleOperation(iam: () => IamService, sessions: SessionStore): OperationDef<AssumeRoleRequest, AssumeRoleResponse> {
  return {
    authorize(ctx, i) {
      const svc = iam();
      svc.identity.noteKeyUse(ctx);
      // The root user (its long-term keys or a root session) can never assume a role:
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use.html
      if (ctx.principal.type === "Root") throw new ServiceError("AccessDenied", "Roles may not be assumed by root accounts.", 403);
      const role = resolveRole(svc, i.RoleArn!);
      if (!role) throw assumeDenied(ctx, "sts:AssumeRole", i.RoleArn!);
      const trust = { document: role.trust, kind: "trust" as const, ownerAccountId: role.accountId, authoritative: true };
      const mfa = presentedMfa(ctx, svc, i.SerialNumber, i.TokenCode);
      const context: AuthCheck["context"] = { "sts:RoleSessionName": i.RoleSessionName! };
      if (mfa) {
        verifiedForRequest.set(ctx, mfa);
        context["aws:MultiFactorAuthPresent"] = true;
        context["aws:MultiFactorAuthAge"] = 0;
      }
      if (i.ExternalId !== undefined) context["sts:ExternalId"] = i.ExternalId;
      if (i.SourceIdentity !== undefined) context["sts:SourceIdentity"] = i.SourceIdentity;
      const checks: AuthCheck[] = [{ action: "sts:AssumeRole", resource: role.arn, resourcePolicy: trust, context }];
      if (i.Tags?.length) {
        const tagContext: AuthCheck["context"] = { ...context, "aws:TagKeys": i.Tags.map((t) => t.Key!) };
        for (const t of i.Tags) tagContext[`aws:RequestTag/${t.Key}`] = t.Value ?? "";
        if (i.TransitiveTagKeys?.length) tagContext["sts:TransitiveTagKeys"] = i.TransitiveTagKeys;
        checks.push({ action: "sts:TagSession", resource: role.arn, resourcePolicy: trust, context: tagContext });
      }
      if (i.SourceIdentity !== undefined) checks.push({ action: "sts:SetSourceIdentity", resource: role.arn, resourcePolicy: trust, context });
      for (const check of checks) {
        try {
          authorizeChecks(ctx, [check]);
        } catch (e) {
          if (e instanceof ServiceError && e.code === "AccessDenied") throw assumeDenied(ctx, check.action, role.arn);
          throw e;
        }
      }
      return null;
    },

    handler(ctx, i) {
      const svc = iam();
      const role = resolveRole(svc, i.RoleArn!);
      if (!role) throw assumeDenied(ctx, "sts:AssumeRole", i.RoleArn!);
      const duration = i.DurationSeconds ?? DEFAULT_ROLE_SESSION;
      if (ctx.principal.session && duration > CHAINED_MAX) {
        throw validation("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
      }
      if (duration > role.maxSessionDuration) throw validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
      if (i.Policy !== undefined) {
        if (i.Policy.length > SESSION_POLICY_MAX_CHARS) {
          throw validation(`1 validation error detected: Value '${i.Policy}' at 'policy' failed to satisfy constraint: Member must have length less than or equal to ${SESSION_POLICY_MAX_CHARS}`);
        }
        validateDocument(i.Policy, "session");
      }
      const policyArns = (i.PolicyArns ?? []).map((d) => d.arn!).filter((a) => a !== undefined);
      for (const arn of policyArns) {
        if (!svc.state.findPolicy(role.accountId, arn)) throw new ServiceError("MalformedPolicyDocument", `Policy ${arn} does not exist or is not attachable.`, 400);
      }
      // Transitive tags of the calling session pass on to the next one in the chain.
      const inherited: Record<string, string> = {};
      const callerSession = ctx.principal.accessKeyId ? sessions.get(ctx.principal.accessKeyId) : undefined;
      for (const k of callerSession?.transitiveTagKeys ?? []) {
        const v = callerSession?.tags?.[k];
        if (v !== undefined) inherited[k] = v;
      }
      const requestTags = tagsOf(i);
      const tags = { ...inherited, ...requestTags };
      const packed = packedPolicySize(i.Policy, policyArns, requestTags);
      if (packed.total > 100) {
        throw new ServiceError(
          "PackedPolicyTooLarge",
          packed.tags > 100 ? `Packed size of session tags consumes ${packed.tags}% of allotted space.` : `Packed policy consumes ${packed.total}% of allotted space, please use smaller policy.`,
          400,
        );
      }
      const transitive = [...new Set([...(callerSession?.transitiveTagKeys ?? []), ...(i.TransitiveTagKeys ?? [])])];
      const mfa = verifiedForRequest.get(ctx);
      if (mfa) consumeMfaCode(ctx, svc.state, mfa);
      const mfaAt = mfa ? ctx.now : ctx.principal.session?.mfaAuthenticated ? ctx.principal.session.mfaAuthenticatedAt : undefined;
      const issued = sessions.issue(ctx, {
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
      svc.noteRoleUse(ctx, role);
      ctx.audit.resources = [{ ARN: role.arn, accountId: role.accountId, type: "AWS::IAM::Role" }];
      const out: AssumeRoleResponse = {
        Credentials: credentialsOf(issued),
        AssumedRoleUser: { AssumedRoleId: `${role.id}:${i.RoleSessionName}`, Arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${i.RoleSessionName}` },
      };
      if (i.Policy !== undefined || policyArns.length || i.Tags?.length) out.PackedPolicySize = packed.total;
      if (issued.rec.sourceIdentity) out.SourceIdentity = issued.rec.sourceIdentity;
      return out;
    },

    responseElements: (o) => ({
      credentials: { accessKeyId: o.Credentials!.AccessKeyId, expiration: cloudTrailExpiration(o.Credentials!.Expiration!) },
      assumedRoleUser: { assumedRoleId: o.AssumedRoleUser!.AssumedRoleId, arn: o.AssumedRoleUser!.Arn },
      ...(o.PackedPolicySize !== undefined ? { packedPolicySize: o.PackedPolicySize } : {}),
      ...(o.SourceIdentity ? { sourceIdentity: o.SourceIdentity } : {}),
    }),
  };
}

export function getSessionTokenOperation(iam: () => IamService, sessions: SessionStore): OperationDef<GetSessionTokenRequest, GetSessionTokenResponse> {
  return {
    // No policy can refuse GetSessionToken: it only authenticates the caller.
    authorize(ctx) {
      iam().identity.noteKeyUse(ctx);
      return null;
    },
    handler(ctx, i) {
      const p = ctx.principal;
      if (p.session) throw new ServiceError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403);
      if (p.type !== "IAMUser" && p.type !== "Root") throw new ServiceError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403);
      const mfa = presentedMfa(ctx, iam(), i.SerialNumber, i.TokenCode);
      let duration = i.DurationSeconds ?? (p.type === "Root" ? ROOT_SESSION_MAX : USER_SESSION_DEFAULT);
      if (p.type === "Root") duration = Math.min(duration, ROOT_SESSION_MAX);
      if (mfa) consumeMfaCode(ctx, iam().state, mfa);
      const issued = sessions.issue(ctx, {
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
    responseElements: (o) => ({
      credentials: { accessKeyId: o.Credentials!.AccessKeyId, expiration: cloudTrailExpiration(o.Credentials!.Expiration!) },
    }),
  };
}
