/** Shared set-up of the Organizations integration tests: the management account's admin, new member accounts and the way into them. */
import { expect } from "vitest";
import * as ORG from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { IAMClient } from "@aws-sdk/client-iam";
import type { TestServer } from "../support/server.ts";
import { allow, doc, expectAwsError, userWithKey, type Creds } from "./iam-helpers.ts";

/** An IAM user of the management account allowed everything (a root user cannot assume roles). */
export function orgAdmin(s: TestServer): Promise<Creds> {
  return userWithKey(new IAMClient(s.config), "org-admin", doc([allow("*")]));
}

/** CreateAccount, answered IN_PROGRESS as AWS does, then SUCCEEDED: the new account's id. */
export async function createMemberAccount(org: ORG.OrganizationsClient, name: string, email: string): Promise<string> {
  const started = await org.send(new ORG.CreateAccountCommand({ AccountName: name, Email: email }));
  expect(started.CreateAccountStatus!.State).toBe("IN_PROGRESS");
  const status = await org.send(new ORG.DescribeCreateAccountStatusCommand({ CreateAccountRequestId: started.CreateAccountStatus!.Id }));
  expect(status.CreateAccountStatus!.State).toBe("SUCCEEDED");
  return status.CreateAccountStatus!.AccountId!;
}

/** Credentials in a member account through its OrganizationAccountAccessRole, from the management account's admin. */
export async function intoMember(s: TestServer, admin: Creds, account: string): Promise<Creds> {
  const sts = new STSClient(s.configFor(admin));
  const c = (await sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`, RoleSessionName: "ops" }))).Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken };
}

/** Expects an Organizations error with the given code, status and `Reason` member. */
export async function expectReason(p: Promise<unknown>, code: string, status: number, reason: string): Promise<void> {
  const e = (await expectAwsError(p, code, status)) as Error & { Reason?: string };
  expect(e.Reason).toBe(reason);
}
