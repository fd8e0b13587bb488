/**
 * ChangePassword: an IAM user changes their own console password
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ChangePassword.html,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_user-change-own.html).
 * The account password policy's AllowUsersToChangePassword lets every IAM user do so without
 * an identity policy allowing iam:ChangePassword (an explicit Deny still refuses); the new
 * password must satisfy the policy, including PasswordReusePrevention; a successful change clears
 * PasswordResetRequired. docs/iam-sts.md lists the errors and the choices where AWS's are not public.
 */
import type { ChangePasswordRequest } from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { accountRecords, passwordMatches, withNewPassword } from "./account-records.ts";
import { limitExceeded, noSuchEntity } from "./common.ts";
import { checkPassword, passwordViolation } from "./login-profiles.ts";
import { beginIamCall, iamChecks, type IamEnv } from "./ops.ts";
import type { UserRec } from "./state.ts";

/** Wrong old passwords in a row before the user's password changes are refused for a while. */
export const MAX_FAILED_PASSWORD_CHANGES = 5;
export const PASSWORD_CHANGE_LOCKOUT_MS = 15 * 60_000;

/** The caller of ChangePassword: an IAM user (found), or another kind of principal. */
interface Caller {
  account: string;
  arn: string;
  user?: UserRec;
}

const DAY_MS = 86_400_000;

export function passwordChangeOperations(env: IamEnv): OperationTable<"ChangePassword"> {
  const { state } = env;
  const records = accountRecords(state);
  /** Kept in memory: a restart forgets failed attempts (as with MFA codes). */
  const failures = new Map<string, { count: number; lockedUntilMs: number }>();

  return {
    ChangePassword: defineOperation<ChangePasswordRequest, object, Caller>({
      resolve: function resolvePasswordCaller(ctx: RequestContext): Caller {
        const account = beginIamCall(env, ctx);
        const p = ctx.principal;
        const user = p.type === "IAMUser" ? state.usersById.get(p.principalId) : undefined;
        return { account, arn: user?.arn ?? p.arn, ...(user ? { user } : {}) };
      },
      authorize: function authorizeChangePassword(ctx, _i, caller) {
        const [check] = iamChecks(ctx, caller.arn, { tags: caller.user?.tags });
        // AllowUsersToChangePassword: every IAM user may change their own password.
        const allowed = () => caller.user !== undefined && records.of(caller.account).passwordPolicy?.allowUsersToChangePassword === true;
        return [{ ...check, grantAllows: allowed }];
      },
      handler: async function changePassword(ctx, i, caller) {
        const u = caller.user;
        if (!u)
          throw new ServiceError("InvalidUserType", "Only IAM users can change their password with ChangePassword; the root user's password is not changed through the API.", 400);
        const profile = records.loginProfile(u.id);
        if (!profile) throw noSuchEntity(`Login Profile for User ${u.name} cannot be found.`);
        const nowMs = ctx.now.getTime();
        // Every attempt counts as a failure until its old password is found right, so attempts
        // sent in parallel cannot get past the lock-out together.
        const f = failures.get(u.id) ?? { count: 0, lockedUntilMs: 0 };
        if (nowMs < f.lockedUntilMs) throw limitExceeded("Too many attempts to change the password with a wrong old password. Try again later.");
        f.count++;
        if (f.count >= MAX_FAILED_PASSWORD_CHANGES) Object.assign(f, { count: 0, lockedUntilMs: nowMs + PASSWORD_CHANGE_LOCKOUT_MS });
        failures.set(u.id, f);

        const reuse = records.of(caller.account).passwordPolicy?.passwordReusePrevention ?? 0;
        const oldIsRight = await passwordMatches(profile, i.OldPassword!);
        const reused = reuse > 0 && (await Promise.all([profile, ...(profile.previous ?? [])].slice(0, reuse).map((h) => passwordMatches(h, i.NewPassword!)))).some(Boolean);

        if (!oldIsRight) throw new ServiceError("AccessDenied", "The old password is not correct.", 403);
        failures.delete(u.id);
        if (records.loginProfile(u.id) !== profile) {
          throw new ServiceError("EntityTemporarilyUnmodifiable", `The login profile of user ${u.name} changed while its password was being changed. Try again.`, 409);
        }
        const settings = records.of(caller.account);
        const policy = settings.passwordPolicy;
        if (policy?.hardExpiry && policy.maxPasswordAge > 0 && nowMs >= new Date(profile.passwordLastChanged).getTime() + policy.maxPasswordAge * DAY_MS) {
          throw new ServiceError("AccessDenied", "The password has expired and the account password policy (HardExpiry) requires an administrator to reset it.", 403);
        }
        checkPassword(policy, i.NewPassword!, { id: caller.account, ...(settings.alias ? { alias: settings.alias } : {}) });
        if (reused) throw passwordViolation(`Password should not be one of the ${reuse} previous passwords.`);
        records.saveLoginProfile(ctx, { ...withNewPassword(profile, i.NewPassword!, ctx.now), passwordResetRequired: false });
        return {};
      },
    }),
  };
}
