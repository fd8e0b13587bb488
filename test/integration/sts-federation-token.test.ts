/** STS GetFederationToken (federated users: the caller's permissions ∩ the session policy) and GetAccessKeyInfo. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IAMClient, ListUsersCommand } from "@aws-sdk/client-iam";
import {
  AssumeRoleCommand,
  GetAccessKeyInfoCommand,
  GetCallerIdentityCommand,
  GetFederationTokenCommand,
  GetSessionTokenCommand,
  STSClient,
  type Credentials,
} from "@aws-sdk/client-sts";
import { CreateKeyCommand, KMSClient, ListAliasesCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, allow, deny, doc, expectAwsError, userWithKey, type Creds } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let iam: IAMClient;
let userCreds: Creds;
let userSts: STSClient;
const asCreds = (c: Credentials): Creds => ({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! });

beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
  // the broker: may list keys and aliases and create keys, never list users
  userCreds = await userWithKey(iam, "broker", doc([allow(["kms:ListKeys", "kms:ListAliases", "kms:CreateKey", "sts:GetFederationToken"]), deny("kms:ListAliases")]));
  userSts = new STSClient(s.configFor(userCreds));
});
afterAll(async () => {
  await s?.close();
});

describe("GetFederationToken", () => {
  it("gives a federated user what both the broker's policies and the session policy allow", async () => {
    const out = await userSts.send(
      new GetFederationTokenCommand({ Name: "bob", Policy: doc([allow(["kms:ListKeys", "kms:ListAliases", "iam:ListUsers"])]), DurationSeconds: 3600 }),
    );
    expect(out.FederatedUser).toEqual({ FederatedUserId: `${ACCOUNT}:bob`, Arn: `arn:aws:sts::${ACCOUNT}:federated-user/bob` });
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA/);
    expect(out.PackedPolicySize).toBeGreaterThan(0);
    const creds = asCreds(out.Credentials!);
    const me = await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({ Arn: `arn:aws:sts::${ACCOUNT}:federated-user/bob`, UserId: `${ACCOUNT}:bob`, Account: ACCOUNT });
    const kms = new KMSClient(s.configFor(creds));
    await kms.send(new ListKeysCommand({}));
    // the session policy does not allow it
    await expectAwsError(kms.send(new CreateKeyCommand({})), "AccessDeniedException", 400, /federated-user\/bob is not authorized to perform: kms:CreateKey/);
    // the broker's own policy denies it
    await expectAwsError(kms.send(new ListAliasesCommand({})), "AccessDeniedException", 400);
    // federated users never call IAM, nor STS beyond GetCallerIdentity
    await expectAwsError(new IAMClient(s.configFor(creds)).send(new ListUsersCommand({})), "InvalidClientTokenId", 403);
    await expectAwsError(new STSClient(s.configFor(creds)).send(new GetSessionTokenCommand({})), "AccessDenied", 403);
    await expectAwsError(
      new STSClient(s.configFor(creds)).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/any`, RoleSessionName: "x1" })),
      "AccessDenied",
      403,
    );

    const ct = new CloudTrailClient(s.config);
    const listed = (await lookupAll(ct, "EventName", "ListKeys")).map(recordOf).find((r) => r.userIdentity.type === "FederatedUser")!;
    expect(listed.userIdentity).toMatchObject({
      type: "FederatedUser",
      principalId: `${ACCOUNT}:bob`,
      arn: `arn:aws:sts::${ACCOUNT}:federated-user/bob`,
      accountId: ACCOUNT,
      accessKeyId: creds.accessKeyId,
      sessionContext: { sessionIssuer: { type: "IAMUser", arn: `arn:aws:iam::${ACCOUNT}:user/broker`, userName: "broker", accountId: ACCOUNT } },
    });
    const issued = (await lookupAll(ct, "EventName", "GetFederationToken")).map(recordOf).find((r) => !r.errorCode)!;
    expect(issued.responseElements.federatedUser.arn).toBe(`arn:aws:sts::${ACCOUNT}:federated-user/bob`);
    expect(JSON.stringify(issued)).not.toContain(creds.secretAccessKey);
  });

  it("without a session policy, the federated user may do nothing", async () => {
    const out = await userSts.send(new GetFederationTokenCommand({ Name: "nobody" }));
    await expectAwsError(new KMSClient(s.configFor(asCreds(out.Credentials!))).send(new ListKeysCommand({})), "AccessDeniedException", 400);
  });

  it("is refused to session credentials, to callers without sts:GetFederationToken and for bad names or policies", async () => {
    const session = await userSts.send(new GetSessionTokenCommand({}));
    await expectAwsError(
      new STSClient(s.configFor(asCreds(session.Credentials!))).send(new GetFederationTokenCommand({ Name: "bob" })),
      "AccessDenied",
      403,
      "Cannot call GetFederationToken with session credentials",
    );
    const plain = await userWithKey(iam, "plain", doc([allow("kms:ListKeys")]));
    await expectAwsError(
      new STSClient(s.configFor(plain)).send(new GetFederationTokenCommand({ Name: "bob" })),
      "AccessDenied",
      403,
      /is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::000000000000:federated-user\/bob/,
    );
    await expectAwsError(userSts.send(new GetFederationTokenCommand({ Name: "b" })), "ValidationError", 400);
    await expectAwsError(userSts.send(new GetFederationTokenCommand({ Name: "bob", Policy: "{not json" })), "MalformedPolicyDocumentException", 400);
  });

  it("the root user may ask for one, for at most an hour", async () => {
    const out = await new STSClient(s.config).send(new GetFederationTokenCommand({ Name: "rooted", Policy: doc([allow("kms:ListKeys")]), DurationSeconds: 129600 }));
    expect(out.Credentials!.Expiration!.getTime() - Date.now()).toBeLessThanOrEqual(3600_000 + 5000);
    await new KMSClient(s.configFor(asCreds(out.Credentials!))).send(new ListKeysCommand({}));
  });
});

describe("GetAccessKeyInfo", () => {
  it("names the account of an IAM user's key and a session's key", async () => {
    const sts = new STSClient(s.config);
    expect((await sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: userCreds.accessKeyId }))).Account).toBe(ACCOUNT);
    const session = await userSts.send(new GetSessionTokenCommand({}));
    expect((await sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: session.Credentials!.AccessKeyId }))).Account).toBe(ACCOUNT);
    // the model's 16-character minimum: the built-in 12-digit root keys are too short to ask about
    await expectAwsError(sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: "123456789012" })), "ValidationError", 400);
    await expectAwsError(sts.send(new GetAccessKeyInfoCommand({ AccessKeyId: "AKIAUNKNOWNKEY000000" })), "ValidationError", 400);
    const noPermission = await userWithKey(iam, "no-info", doc([allow("kms:ListKeys")]));
    await expectAwsError(new STSClient(s.configFor(noPermission)).send(new GetAccessKeyInfoCommand({ AccessKeyId: userCreds.accessKeyId })), "AccessDenied", 403);
  });
});
