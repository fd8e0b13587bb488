/**
 * ChangePassword through @aws-sdk/client-iam: only an IAM user with a login profile, the old
 * password checked (and guessing it stopped), the account password policy with
 * AllowUsersToChangePassword, PasswordReusePrevention and HardExpiry, and PasswordResetRequired
 * cleared by a change.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  IAMClient,
  ChangePasswordCommand,
  CreateLoginProfileCommand,
  CreateRoleCommand,
  DeleteAccountPasswordPolicyCommand,
  GetLoginProfileCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccountPasswordPolicyCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { lookupAll } from "./cloudtrail-helpers.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, deny, doc, expectAwsError, trustAccount, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let iam: IAMClient;
beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

/** A user with an access key and a console password, as an IAM client of its own. */
async function userWithPassword(name: string, password: string, opts: { policy?: string; resetRequired?: boolean } = {}): Promise<IAMClient> {
  const creds = await userWithKey(iam, name, opts.policy);
  await iam.send(new CreateLoginProfileCommand({ UserName: name, Password: password, PasswordResetRequired: opts.resetRequired ?? false }));
  return new IAMClient(s.configFor(creds));
}

const mayChange = (name: string) => doc([allow("iam:ChangePassword", `arn:aws:iam::${ACCOUNT}:user/${name}`)]);

describe("ChangePassword", () => {
  it("changes the caller's password, checks the old one and clears PasswordResetRequired", async () => {
    const me = await userWithPassword("pw-changer", "First-Password-1", { policy: mayChange("pw-changer"), resetRequired: true });
    await expectAwsError(
      me.send(new ChangePasswordCommand({ OldPassword: "Wrong-Password-1", NewPassword: "Second-Password-2" })),
      "AccessDenied",
      403,
      "The old password is not correct.",
    );
    expect((await iam.send(new GetLoginProfileCommand({ UserName: "pw-changer" }))).LoginProfile!.PasswordResetRequired).toBe(true);
    await me.send(new ChangePasswordCommand({ OldPassword: "First-Password-1", NewPassword: "Second-Password-2" }));
    expect((await iam.send(new GetLoginProfileCommand({ UserName: "pw-changer" }))).LoginProfile!.PasswordResetRequired).toBe(false);
    // the old password no longer is the password; the new one is
    await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "First-Password-1", NewPassword: "Third-Password-3" })), "AccessDenied", 403);
    await me.send(new ChangePasswordCommand({ OldPassword: "Second-Password-2", NewPassword: "Third-Password-3" }));
  });

  it("keeps both passwords out of CloudTrail", async () => {
    const me = await userWithPassword("pw-audited", "Audited-Old-Secret-1", { policy: mayChange("pw-audited") });
    await me.send(new ChangePasswordCommand({ OldPassword: "Audited-Old-Secret-1", NewPassword: "Audited-New-Secret-2" }));
    const events = await lookupAll(new CloudTrailClient(s.config), "EventName", "ChangePassword");
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(e.CloudTrailEvent).not.toMatch(/Audited-(Old|New)-Secret/);
  });

  it("holds the new password to the default rules, or the account's policy and its reuse prevention", async () => {
    const me = await userWithPassword("pw-policy", "Policy-Start-1", { policy: mayChange("pw-policy") });
    await expectAwsError(
      me.send(new ChangePasswordCommand({ OldPassword: "Policy-Start-1", NewPassword: "short" })),
      "PasswordPolicyViolationException",
      400,
      "Password should have a minimum length of 8",
    );
    await iam.send(new UpdateAccountPasswordPolicyCommand({ MinimumPasswordLength: 12, RequireNumbers: true, PasswordReusePrevention: 2 }));
    try {
      await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "Policy-Start-1", NewPassword: "no-numbers-here" })), "PasswordPolicyViolationException", 400);
      await expectAwsError(
        me.send(new ChangePasswordCommand({ OldPassword: "Policy-Start-1", NewPassword: "Policy-Start-1" })),
        "PasswordPolicyViolationException",
        400,
        "Password should not be one of the 2 previous passwords.",
      );
      await me.send(new ChangePasswordCommand({ OldPassword: "Policy-Start-1", NewPassword: "policy-second-2" }));
      // the one before is still remembered (two passwords), the one before that is not
      await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "policy-second-2", NewPassword: "Policy-Start-1" })), "PasswordPolicyViolationException", 400);
      await me.send(new ChangePasswordCommand({ OldPassword: "policy-second-2", NewPassword: "policy-third-33" }));
      await me.send(new ChangePasswordCommand({ OldPassword: "policy-third-33", NewPassword: "Policy-Start-1" }));
    } finally {
      await iam.send(new DeleteAccountPasswordPolicyCommand({}));
    }
  });

  it("needs iam:ChangePassword unless the policy allows users to change their password; an explicit Deny still refuses", async () => {
    const me = await userWithPassword("pw-allowed", "Allowed-Start-1");
    await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "Allowed-Start-1", NewPassword: "Allowed-Next-2" })), "AccessDenied", 403);
    await iam.send(new UpdateAccountPasswordPolicyCommand({ AllowUsersToChangePassword: true }));
    try {
      await me.send(new ChangePasswordCommand({ OldPassword: "Allowed-Start-1", NewPassword: "Allowed-Next-2" }));
      await iam.send(new PutUserPolicyCommand({ UserName: "pw-allowed", PolicyName: "no-change", PolicyDocument: doc([deny("iam:ChangePassword")]) }));
      await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "Allowed-Next-2", NewPassword: "Allowed-Third-3" })), "AccessDenied", 403);
    } finally {
      await iam.send(new DeleteAccountPasswordPolicyCommand({}));
    }
  });

  it("refuses after an expired password under HardExpiry", async () => {
    const me = await userWithPassword("pw-expired", "Expiring-Start-1", { policy: mayChange("pw-expired") });
    await iam.send(new UpdateAccountPasswordPolicyCommand({ MaxPasswordAge: 1, HardExpiry: true }));
    try {
      await s.advanceClock(2 * 86_400);
      await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "Expiring-Start-1", NewPassword: "Expiring-Next-2" })), "AccessDenied", 403, /HardExpiry/);
      await iam.send(new UpdateAccountPasswordPolicyCommand({ MaxPasswordAge: 1, HardExpiry: false }));
      await me.send(new ChangePasswordCommand({ OldPassword: "Expiring-Start-1", NewPassword: "Expiring-Next-2" }));
    } finally {
      await iam.send(new DeleteAccountPasswordPolicyCommand({}));
    }
  });

  it("stops guessing the old password after five wrong ones", async () => {
    const me = await userWithPassword("pw-guessed", "Guessed-Start-1", { policy: mayChange("pw-guessed") });
    for (let n = 0; n < 5; n++) {
      await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: `Guess-${n}-aaaa`, NewPassword: "Guessed-Next-2" })), "AccessDenied", 403);
    }
    await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "Guessed-Start-1", NewPassword: "Guessed-Next-2" })), "LimitExceededException", 409);
    await s.advanceClock(16 * 60);
    await me.send(new ChangePasswordCommand({ OldPassword: "Guessed-Start-1", NewPassword: "Guessed-Next-2" }));
  });

  it("counts wrong old passwords sent in parallel before any of them is checked", async () => {
    const me = await userWithPassword("pw-parallel", "Parallel-Start-1", { policy: mayChange("pw-parallel") });
    const answers = await Promise.allSettled(
      Array.from({ length: 12 }, (_, n) => me.send(new ChangePasswordCommand({ OldPassword: `Parallel-Guess-${n}`, NewPassword: "Parallel-Next-2" }))),
    );
    const names = answers.map((a) => (a.status === "rejected" ? (a.reason as Error).name : "ok"));
    expect(names.filter((n) => n === "AccessDenied")).toHaveLength(5);
    expect(names.filter((n) => n === "LimitExceededException")).toHaveLength(7);
    await expectAwsError(me.send(new ChangePasswordCommand({ OldPassword: "Parallel-Start-1", NewPassword: "Parallel-Next-2" })), "LimitExceededException", 409);
  });

  it("is only for IAM users with a login profile: InvalidUserType for the root user and roles", async () => {
    await expectAwsError(iam.send(new ChangePasswordCommand({ OldPassword: "Root-Password-1", NewPassword: "Root-Password-2" })), "InvalidUserTypeException", 400);
    await iam.send(new CreateRoleCommand({ RoleName: "pw-role", AssumeRolePolicyDocument: trustAccount() }));
    await iam.send(new PutRolePolicyCommand({ RoleName: "pw-role", PolicyName: "all", PolicyDocument: doc([allow("*")]) }));
    const assumer = await userWithKey(iam, "pw-assumer", doc([allow("sts:AssumeRole")]));
    const session = await new STSClient(s.configFor(assumer)).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/pw-role`, RoleSessionName: "pw" }));
    const role = new IAMClient(
      s.configFor({ accessKeyId: session.Credentials!.AccessKeyId!, secretAccessKey: session.Credentials!.SecretAccessKey!, sessionToken: session.Credentials!.SessionToken! }),
    );
    await expectAwsError(role.send(new ChangePasswordCommand({ OldPassword: "Role-Password-1", NewPassword: "Role-Password-2" })), "InvalidUserTypeException", 400);

    const creds = await userWithKey(iam, "pw-no-profile", mayChange("pw-no-profile"));
    await expectAwsError(
      new IAMClient(s.configFor(creds)).send(new ChangePasswordCommand({ OldPassword: "None-Password-1", NewPassword: "None-Password-2" })),
      "NoSuchEntityException",
      404,
      "Login Profile for User pw-no-profile cannot be found.",
    );
  });
});
