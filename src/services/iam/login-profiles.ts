/**
 * The account password policy (Get/Update/DeleteAccountPasswordPolicy) and users' console
 * passwords (Create/Get/Update/DeleteLoginProfile), each new password checked against the
 * policy, or against AWS's default policy when the account has none
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html).
 * Only a password's scrypt hash is kept; requests' passwords are never logged.
 */
import type {
  CreateLoginProfileRequest,
  CreateLoginProfileResponse,
  DeleteLoginProfileRequest,
  GetAccountPasswordPolicyResponse,
  GetLoginProfileRequest,
  GetLoginProfileResponse,
  LoginProfile,
  PasswordPolicy,
  UpdateAccountPasswordPolicyRequest,
  UpdateLoginProfileRequest,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { accountRecords, hashPassword, withNewPassword, type LoginProfileRec, type PasswordPolicyRec } from "./account-records.ts";
import { alreadyExists, noSuchEntity, validationError } from "./common.ts";
import {
  authorizeOnAnyResource,
  authorizeOnImplicitUser,
  authorizeOnUser,
  existing,
  iamResolvers,
  implicitUserRequired,
  type EntityRef,
  type IamEnv,
  type ImplicitUser,
} from "./ops.ts";
import type { UserRec } from "./state.ts";

type LoginOperation =
  | "GetAccountPasswordPolicy"
  | "UpdateAccountPasswordPolicy"
  | "DeleteAccountPasswordPolicy"
  | "CreateLoginProfile"
  | "GetLoginProfile"
  | "UpdateLoginProfile"
  | "DeleteLoginProfile";

export const passwordViolation = (message: string) => new ServiceError("PasswordPolicyViolation", message, 400);

/** UpdateAccountPasswordPolicy's defaults for members a request leaves out (API_UpdateAccountPasswordPolicy). */
export function passwordPolicyFrom(i: UpdateAccountPasswordPolicyRequest): PasswordPolicyRec {
  return {
    minimumPasswordLength: i.MinimumPasswordLength ?? 8,
    requireSymbols: i.RequireSymbols ?? false,
    requireNumbers: i.RequireNumbers ?? false,
    requireUppercaseCharacters: i.RequireUppercaseCharacters ?? false,
    requireLowercaseCharacters: i.RequireLowercaseCharacters ?? false,
    allowUsersToChangePassword: i.AllowUsersToChangePassword ?? false,
    maxPasswordAge: i.MaxPasswordAge ?? 0,
    passwordReusePrevention: i.PasswordReusePrevention ?? 0,
    hardExpiry: i.HardExpiry ?? false,
  };
}

export function passwordPolicyView(p: PasswordPolicyRec): PasswordPolicy {
  return {
    MinimumPasswordLength: p.minimumPasswordLength,
    RequireSymbols: p.requireSymbols,
    RequireNumbers: p.requireNumbers,
    RequireUppercaseCharacters: p.requireUppercaseCharacters,
    RequireLowercaseCharacters: p.requireLowercaseCharacters,
    AllowUsersToChangePassword: p.allowUsersToChangePassword,
    ExpirePasswords: p.maxPasswordAge > 0,
    ...(p.maxPasswordAge > 0 ? { MaxPasswordAge: p.maxPasswordAge } : {}),
    ...(p.passwordReusePrevention > 0 ? { PasswordReusePrevention: p.passwordReusePrevention } : {}),
    ...(p.maxPasswordAge > 0 ? { HardExpiry: p.hardExpiry } : {}),
  };
}

const SYMBOL = /[!@#$%^&*()_+\-=[\]{}|']/;

/**
 * A new password against the account's policy; without one, AWS's default: at least 8
 * characters with three of uppercase, lowercase, numbers and symbols, and not the account's
 * id or alias.
 */
export function checkPassword(policy: PasswordPolicyRec | undefined, password: string, account: { id: string; alias?: string }): void {
  const upper = /[A-Z]/.test(password);
  const lower = /[a-z]/.test(password);
  const number = /[0-9]/.test(password);
  const symbol = SYMBOL.test(password);
  if (!policy) {
    if (password.length < 8) throw passwordViolation("Password should have a minimum length of 8");
    if ([upper, lower, number, symbol].filter(Boolean).length < 3) {
      throw passwordViolation("Password should have at least three of: uppercase letters, lowercase letters, numbers, symbols");
    }
    if (password === account.id || (account.alias !== undefined && password === account.alias)) {
      throw passwordViolation("Password should not be the account's ID or alias");
    }
    return;
  }
  if (password.length < policy.minimumPasswordLength) throw passwordViolation(`Password should have a minimum length of ${policy.minimumPasswordLength}`);
  if (policy.requireUppercaseCharacters && !upper) throw passwordViolation("Password should have at least one uppercase letter");
  if (policy.requireLowercaseCharacters && !lower) throw passwordViolation("Password should have at least one lowercase letter");
  if (policy.requireNumbers && !number) throw passwordViolation("Password should have at least one number");
  if (policy.requireSymbols && !symbol) throw passwordViolation("Password should have at least one symbol");
}

/**
 * The user a login profile call acts on: the named one, or the calling IAM user. The root
 * user's console password is not managed through the API, so root must name a user.
 */
function profileOwner(who: ImplicitUser): UserRec {
  const u = implicitUserRequired(who);
  if (!u) throw validationError("Must specify userName when calling with non-User credentials");
  return u;
}

function loginProfileView(u: UserRec, p: LoginProfileRec): LoginProfile {
  return { UserName: u.name, CreateDate: p.createDate, PasswordResetRequired: p.passwordResetRequired };
}

export function loginProfileOperations(env: IamEnv): OperationTable<LoginOperation> {
  const records = accountRecords(env.state);
  const resolve = iamResolvers(env);
  /** The user's login profile, or IAM's NoSuchEntity for a user without one. */
  const profileOf = (u: UserRec): LoginProfileRec => {
    const p = records.loginProfile(u.id);
    if (!p) throw noSuchEntity(`Login Profile for User ${u.name} cannot be found.`);
    return p;
  };
  const check = (account: string, password: string) => {
    const s = records.of(account);
    checkPassword(s.passwordPolicy, password, { id: account, ...(s.alias ? { alias: s.alias } : {}) });
  };

  return {
    GetAccountPasswordPolicy: defineOperation<object, GetAccountPasswordPolicyResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function getAccountPasswordPolicy(_ctx, _i, account) {
        const policy = records.of(account).passwordPolicy;
        if (!policy) throw noSuchEntity(`The Password Policy with domain name ${account} cannot be found.`);
        return { PasswordPolicy: passwordPolicyView(policy) };
      },
    }),

    UpdateAccountPasswordPolicy: defineOperation<UpdateAccountPasswordPolicyRequest, object, string>({
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function updateAccountPasswordPolicy(ctx, i, account) {
        records.save(ctx, { ...records.of(account), passwordPolicy: passwordPolicyFrom(i) });
        return {};
      },
    }),

    DeleteAccountPasswordPolicy: defineOperation<object, object, string>({
      resolve: resolve.account,
      authorize: authorizeOnAnyResource,
      handler: function deleteAccountPasswordPolicy(ctx, _i, account) {
        const s = records.of(account);
        if (!s.passwordPolicy) throw noSuchEntity(`The account policy with name PasswordPolicy cannot be found.`);
        const { passwordPolicy: _gone, ...rest } = s;
        records.save(ctx, rest);
        return {};
      },
    }),

    CreateLoginProfile: defineOperation<CreateLoginProfileRequest, CreateLoginProfileResponse, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function createLoginProfile(ctx, i, ref) {
        const u = profileOwner(ref);
        if (records.loginProfile(u.id)) throw alreadyExists(`Login Profile for user ${u.name} already exists.`);
        if (i.Password === undefined) throw new ServiceError("ValidationError", "Password is required when creating a login profile.", 400);
        check(ref.account, i.Password);
        const p: LoginProfileRec = {
          userId: u.id,
          accountId: ref.account,
          createDate: ctx.now,
          passwordLastChanged: ctx.now,
          passwordResetRequired: i.PasswordResetRequired ?? false,
          ...hashPassword(i.Password),
        };
        records.saveLoginProfile(ctx, p);
        return { LoginProfile: loginProfileView(u, p) };
      },
    }),

    GetLoginProfile: defineOperation<GetLoginProfileRequest, GetLoginProfileResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function getLoginProfile(_ctx, _i, ref) {
        const u = profileOwner(ref);
        const p = profileOf(u);
        return { LoginProfile: loginProfileView(u, p) };
      },
    }),

    UpdateLoginProfile: defineOperation<UpdateLoginProfileRequest, object, EntityRef<UserRec>>({
      resolve: resolve.user,
      authorize: authorizeOnUser,
      handler: function updateLoginProfile(ctx, i, ref) {
        const u = existing(ref);
        const p = profileOf(u);
        const next: LoginProfileRec = { ...p };
        if (i.Password !== undefined) {
          check(ref.account, i.Password);
          Object.assign(next, withNewPassword(p, i.Password, ctx.now));
        }
        if (i.PasswordResetRequired !== undefined) next.passwordResetRequired = i.PasswordResetRequired;
        records.saveLoginProfile(ctx, next);
        return {};
      },
    }),

    DeleteLoginProfile: defineOperation<DeleteLoginProfileRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function deleteLoginProfile(ctx, _i, ref) {
        const u = profileOwner(ref);
        const p = profileOf(u);
        records.deleteLoginProfile(ctx, p);
        return {};
      },
    }),
  };
}
