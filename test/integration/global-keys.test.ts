/**
 * The global condition keys the server supplies, end to end: an IAM user's policy allows
 * iam:GetUser only under one condition, and the call (signed with the user's key, over plain
 * HTTP from 127.0.0.1) is allowed exactly when the condition holds for that request.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { IAMClient, GetUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let root: IAMClient;
let asUser: IAMClient;
let userId = "";
const USER = "global-keys";
const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/${USER}`;

beforeAll(async () => {
  s = await startTestServer();
  root = new IAMClient(s.config);
  asUser = new IAMClient(s.configFor(await userWithKey(root, USER)));
  userId = (await root.send(new GetUserCommand({ UserName: USER }))).User!.UserId!;
});
afterAll(() => s?.close());

type Case = [name: string, condition: () => Record<string, Record<string, unknown>>, allowed: boolean];
const cases: Case[] = [
  ["aws:PrincipalArn is the user's ARN", () => ({ StringEquals: { "aws:PrincipalArn": USER_ARN } }), true],
  ["aws:PrincipalArn is another ARN", () => ({ StringEquals: { "aws:PrincipalArn": `arn:aws:iam::${ACCOUNT}:user/other` } }), false],
  ["aws:PrincipalAccount is the account", () => ({ StringEquals: { "aws:PrincipalAccount": ACCOUNT } }), true],
  ["aws:PrincipalType is User", () => ({ StringEquals: { "aws:PrincipalType": "User" } }), true],
  ["aws:PrincipalType is AssumedRole", () => ({ StringEquals: { "aws:PrincipalType": "AssumedRole" } }), false],
  ["aws:userid is the user's unique id", () => ({ StringEquals: { "aws:userid": userId } }), true],
  ["aws:username is the user name", () => ({ StringEquals: { "aws:username": USER } }), true],
  ["aws:username is another name", () => ({ StringEquals: { "aws:username": "someone" } }), false],
  ["aws:RequestedRegion of a global service is us-east-1", () => ({ StringEquals: { "aws:RequestedRegion": "us-east-1" } }), true],
  ["aws:CurrentTime is after 2020", () => ({ DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } }), true],
  ["aws:CurrentTime is before 2020", () => ({ DateLessThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } }), false],
  ["aws:EpochTime is after 2020", () => ({ NumericGreaterThan: { "aws:EpochTime": 1577836800 } }), true],
  ["aws:SourceIp is in 127.0.0.0/8", () => ({ IpAddress: { "aws:SourceIp": "127.0.0.0/8" } }), true],
  ["aws:SourceIp is in 10.0.0.0/8", () => ({ IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }), false],
  ["aws:SecureTransport is false over HTTP", () => ({ Bool: { "aws:SecureTransport": "false" } }), true],
  ["aws:SecureTransport is true", () => ({ Bool: { "aws:SecureTransport": "true" } }), false],
  // Long-term access keys: the MFA key is absent, not false.
  ["aws:MultiFactorAuthPresent is absent for an access key", () => ({ Null: { "aws:MultiFactorAuthPresent": "true" } }), true],
  ["aws:MultiFactorAuthPresent is false", () => ({ Bool: { "aws:MultiFactorAuthPresent": "false" } }), false],
  ["aws:PrincipalIsAWSService is false for a user", () => ({ Bool: { "aws:PrincipalIsAWSService": "false" } }), true],
  ["aws:PrincipalIsAWSService is true", () => ({ Bool: { "aws:PrincipalIsAWSService": "true" } }), false],
];

describe("global condition keys", () => {
  it.each(cases)("%s", async (_name, condition, allowed) => {
    await root.send(new PutUserPolicyCommand({ UserName: USER, PolicyName: "only-if", PolicyDocument: doc([allow("iam:GetUser", USER_ARN, { Condition: condition() })]) }));
    const call = asUser.send(new GetUserCommand({ UserName: USER }));
    if (allowed) expect((await call).User!.UserName).toBe(USER);
    else
      await expectAwsError(
        call,
        "AccessDenied",
        403,
        `User: ${USER_ARN} is not authorized to perform: iam:GetUser on resource: ${USER_ARN} because no identity-based policy allows the iam:GetUser action`,
      );
  });
});
