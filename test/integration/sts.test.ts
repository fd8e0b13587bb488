/** STS through the real @aws-sdk/client-sts: AssumeRole, GetSessionToken, sessions as credentials. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  IAMClient,
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  ListRolesCommand,
  ListUsersCommand,
  PutRolePermissionsBoundaryCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  TagRoleCommand,
  UpdateRoleCommand,
  GetUserCommand,
} from "@aws-sdk/client-iam";
import { STSClient, AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand, type Credentials } from "@aws-sdk/client-sts";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { SignatureV4 } from "@smithy/signature-v4";
import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { Sha256 } from "../support/signed-fetch.ts";
import { ACCOUNT, allow, deny, doc, enableMfa, expectAwsError, trustAccount, trustPrincipal, userWithKey, type Creds } from "./iam-helpers.ts";
import type { LooseJson } from "../support/json.ts";

let s: TestServer;
let iam: IAMClient;
let sts: STSClient;
let rootSts: STSClient;
beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
  rootSts = new STSClient(s.config);
  // The root user cannot assume roles; an administrator user does it here.
  sts = new STSClient(s.configFor(await userWithKey(iam, "sts-admin", doc([allow("*")]))));
});
afterAll(async () => {
  await s?.close();
});

const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const asCreds = (c: Credentials): Creds => ({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! });

/** The service clock (tests may have advanced it). */
async function serverNow(): Promise<number> {
  return Date.parse(((await (await fetch(`${s.url}/_localfargate/clock`)).json()) as { now: string }).now);
}

async function role(name: string, trust: string, policy?: string, extra: { MaxSessionDuration?: number } = {}): Promise<string> {
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust, ...extra }));
  if (policy) await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "inline", PolicyDocument: policy }));
  return roleArn(name);
}

describe("GetCallerIdentity", () => {
  it("names the root user, an IAM user and a role session", async () => {
    expect(await rootSts.send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:root`, UserId: ACCOUNT });
    const creds = await userWithKey(iam, "who");
    const me = await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/who`);
    expect(me.UserId).toMatch(/^AIDA[A-Z0-9]{17}$/);
  });

  it("works when an explicit deny covers everything", async () => {
    const creds = await userWithKey(iam, "denied-all", doc([deny("*")]));
    expect((await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/denied-all`);
  });
});

describe("AssumeRole", () => {
  it("issues ASIA credentials for a role that trusts the account; the session acts as the role", async () => {
    const arn = await role("app", trustAccount(), doc([allow("iam:GetRole")]));
    const before = await serverNow();
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "my-session" }));
    const c = r.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    expect(c.SecretAccessKey).toHaveLength(40);
    expect(c.SessionToken!.length).toBeGreaterThan(300);
    const expiresIn = c.Expiration!.getTime() - before;
    expect(expiresIn).toBeGreaterThan(3590_000);
    expect(expiresIn).toBeLessThan(3700_000);
    const roleId = (await iam.send(new GetRoleCommand({ RoleName: "app" }))).Role!.RoleId!;
    expect(r.AssumedRoleUser).toEqual({ AssumedRoleId: `${roleId}:my-session`, Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app/my-session` });
    expect(r.PackedPolicySize).toBeUndefined();

    const session = asCreds(c);
    const me = await new STSClient(s.configFor(session)).send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({ Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app/my-session`, UserId: `${roleId}:my-session`, Account: ACCOUNT });
    const asRole = new IAMClient(s.configFor(session));
    expect((await asRole.send(new GetRoleCommand({ RoleName: "app" }))).Role!.RoleName).toBe("app");
    await expectAwsError(
      asRole.send(new ListUsersCommand({})),
      "AccessDenied",
      403,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/app/my-session is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::${ACCOUNT}:user/ because no identity-based policy allows the iam:ListUsers action`,
    );
    const used = (await iam.send(new GetRoleCommand({ RoleName: "app" }))).Role!.RoleLastUsed!;
    expect(used.LastUsedDate).toBeInstanceOf(Date);
    expect(used.Region).toBe("us-east-1");
  });

  it("an IAM user needs sts:AssumeRole in its own policies when the trust policy names the account", async () => {
    const arn = await role("acct-trust", trustAccount());
    const creds = await userWithKey(iam, "needs-policy");
    const user = new STSClient(s.configFor(creds));
    await expectAwsError(
      user.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session" })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${ACCOUNT}:user/needs-policy is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    );
    await iam.send(new PutUserPolicyCommand({ UserName: "needs-policy", PolicyName: "assume", PolicyDocument: doc([allow("sts:AssumeRole", arn)]) }));
    const ok = await user.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session" }));
    expect(ok.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/acct-trust/ss-session`);
  });

  it("a trust policy naming the user allows it directly; others are refused", async () => {
    const trusted = await userWithKey(iam, "trusted");
    const other = await userWithKey(iam, "untrusted", doc([allow("sts:AssumeRole")]));
    const arn = await role("named-trust", trustPrincipal(`arn:aws:iam::${ACCOUNT}:user/trusted`));
    expect((await new STSClient(s.configFor(trusted)).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ok" }))).Credentials).toBeDefined();
    await expectAwsError(
      new STSClient(s.configFor(other)).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "no" })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${ACCOUNT}:user/untrusted is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    );
    // The root user is not named either.
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "root" })), "AccessDenied", 403);
  });

  it("honours trust conditions (ExternalId) and explicit denies", async () => {
    const arn = await role(
      "ext-id",
      doc([
        { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "sts:AssumeRole", Condition: { StringEquals: { "sts:ExternalId": "secret-123" } } },
        { Effect: "Deny", Principal: { AWS: "*" }, Action: "sts:AssumeRole", Condition: { StringLike: { "sts:RoleSessionName": "blocked-*" } } },
      ]),
    );
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "xx-session" })), "AccessDenied", 403);
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "xx-session", ExternalId: "wrong" })), "AccessDenied", 403);
    expect((await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "xx-session", ExternalId: "secret-123" }))).Credentials).toBeDefined();
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "blocked-1", ExternalId: "secret-123" })), "AccessDenied", 403);
  });

  it("refuses a role that does not exist with AccessDenied, and a malformed ARN with ValidationError", async () => {
    const arn = roleArn("does-not-exist");
    await expectAwsError(
      sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session" })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${ACCOUNT}:user/sts-admin is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
    );
    await expectAwsError(
      sts.send(new AssumeRoleCommand({ RoleArn: "arn:aws:iam::000000000000:user/someone", RoleSessionName: "ss-session" })),
      "ValidationError",
      400,
      "Request ARN is invalid",
    );
  });

  it("validates RoleSessionName and DurationSeconds", async () => {
    const arn = await role("durations", trustAccount());
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "bad name" })), "ValidationError", 400, /roleSessionName.*regular expression pattern/);
    await expectAwsError(
      sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session", DurationSeconds: 899 })),
      "ValidationError",
      400,
      /Member must have value greater than or equal to 900/,
    );
    await expectAwsError(
      sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session", DurationSeconds: 7200 })),
      "ValidationError",
      400,
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
    await iam.send(new UpdateRoleCommand({ RoleName: "durations", MaxSessionDuration: 7200 }));
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session", DurationSeconds: 7200 }));
    expect(r.Credentials!.Expiration!.getTime() - (await serverNow())).toBeGreaterThan(7100_000);
    const short = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session", DurationSeconds: 900 }));
    expect(short.Credentials!.Expiration!.getTime() - (await serverNow())).toBeLessThan(1000_000);
  });

  it("limits role chaining to one hour", async () => {
    const first = await role("chain-1", trustAccount(), doc([allow("sts:AssumeRole")]));
    const second = await role("chain-2", trustAccount(), undefined, { MaxSessionDuration: 7200 });
    const c1 = (await sts.send(new AssumeRoleCommand({ RoleArn: first, RoleSessionName: "one" }))).Credentials!;
    const chained = new STSClient(s.configFor(asCreds(c1)));
    await expectAwsError(
      chained.send(new AssumeRoleCommand({ RoleArn: second, RoleSessionName: "two", DurationSeconds: 7200 })),
      "ValidationError",
      400,
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
    const c2 = await chained.send(new AssumeRoleCommand({ RoleArn: second, RoleSessionName: "two" }));
    expect(c2.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/chain-2/two`);
  });

  it("a session policy narrows what the role allows", async () => {
    const arn = await role("narrow", trustAccount(), doc([allow(["iam:ListUsers", "iam:ListRoles"])]));
    const full = new IAMClient(s.configFor(asCreds((await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "full" }))).Credentials!)));
    await full.send(new ListUsersCommand({}));
    await full.send(new ListRolesCommand({}));

    const r = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "narrow", Policy: doc([allow("iam:ListUsers")]) }));
    expect(r.PackedPolicySize).toBeGreaterThan(0);
    expect(r.PackedPolicySize).toBeLessThan(100);
    const narrow = new IAMClient(s.configFor(asCreds(r.Credentials!)));
    await narrow.send(new ListUsersCommand({}));
    await expectAwsError(
      narrow.send(new ListRolesCommand({})),
      "AccessDenied",
      403,
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/narrow/narrow is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::${ACCOUNT}:role/ because no session policy allows the iam:ListRoles action`,
    );
    // A session policy cannot grant more than the role has.
    const wide = new IAMClient(
      s.configFor(asCreds((await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "wide", Policy: doc([allow("iam:*")]) }))).Credentials!)),
    );
    await expectAwsError(wide.send(new GetRoleCommand({ RoleName: "narrow" })), "AccessDenied", 403);
  });

  it("managed session policies (PolicyArns) narrow too", async () => {
    const arn = await role("narrow-arns", trustAccount(), doc([allow(["iam:ListUsers", "iam:ListRoles"])]));
    const pol = (await iam.send(new CreatePolicyCommand({ PolicyName: "session-list-roles", PolicyDocument: doc([allow("iam:ListRoles")]) }))).Policy!.Arn!;
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session", PolicyArns: [{ arn: pol }] }));
    const c = new IAMClient(s.configFor(asCreds(r.Credentials!)));
    await c.send(new ListRolesCommand({}));
    await expectAwsError(c.send(new ListUsersCommand({})), "AccessDenied", 403, /because no session policy allows the iam:ListUsers action/);
  });

  it("refuses a malformed session policy", async () => {
    const arn = await role("bad-session", trustAccount());
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session", Policy: "{not json" })), "MalformedPolicyDocumentException", 400);
  });

  it("session tags need sts:TagSession and become principal tags", async () => {
    const noTag = await role("no-tag-session", trustAccount());
    await expectAwsError(
      sts.send(new AssumeRoleCommand({ RoleArn: noTag, RoleSessionName: "ss-session", Tags: [{ Key: "team", Value: "red" }] })),
      "AccessDenied",
      403,
      `User: arn:aws:iam::${ACCOUNT}:user/sts-admin is not authorized to perform: sts:TagSession on resource: ${noTag}`,
    );
    const arn = await role(
      "tag-session",
      doc([{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["sts:AssumeRole", "sts:TagSession"] }]),
      doc([allow("iam:ListUsers", "*", { Condition: { StringEquals: { "aws:PrincipalTag/team": "red" } } })]),
    );
    await iam.send(new TagRoleCommand({ RoleName: "tag-session", Tags: [{ Key: "team", Value: "blue" }] }));
    const red = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "red", Tags: [{ Key: "team", Value: "red" }] }));
    expect(red.PackedPolicySize).toBeGreaterThan(0);
    await new IAMClient(s.configFor(asCreds(red.Credentials!))).send(new ListUsersCommand({}));
    // Without session tags the role's own tag (blue) applies.
    const blue = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "blue" }));
    await expectAwsError(new IAMClient(s.configFor(asCreds(blue.Credentials!))).send(new ListUsersCommand({})), "AccessDenied", 403);
  });

  it("the role's boundary applies to its sessions", async () => {
    const arn = await role("bounded", trustAccount());
    await iam.send(new AttachRolePolicyCommand({ RoleName: "bounded", PolicyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }));
    const boundary = (await iam.send(new CreatePolicyCommand({ PolicyName: "bounded-b", PolicyDocument: doc([allow("iam:ListRoles")]) }))).Policy!.Arn!;
    await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName: "bounded", PermissionsBoundary: boundary }));
    const c = new IAMClient(s.configFor(asCreds((await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ss-session" }))).Credentials!)));
    await c.send(new ListRolesCommand({}));
    await expectAwsError(c.send(new ListUsersCommand({})), "AccessDenied", 403, /because no permissions boundary allows the iam:ListUsers action/);
  });
});

describe("cross-account AssumeRole", () => {
  it("needs the other account's trust policy and, for an IAM user, its own policy", async () => {
    const other = "111122223333";
    const iamB = new IAMClient(s.configFor({ accessKeyId: other, secretAccessKey: "test" }));
    await iamB.send(new CreateRoleCommand({ RoleName: "partner", AssumeRolePolicyDocument: trustAccount(ACCOUNT) }));
    await iamB.send(new PutRolePolicyCommand({ RoleName: "partner", PolicyName: "p", PolicyDocument: doc([allow("iam:ListRoles")]) }));
    const arn = `arn:aws:iam::${other}:role/partner`;
    // Account B's IAM is separate: account A does not see the role.
    await expectAwsError(iam.send(new GetRoleCommand({ RoleName: "partner" })), "NoSuchEntityException", 404);

    const r = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "from-a" }));
    expect(r.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${other}:assumed-role/partner/from-a`);
    const session = asCreds(r.Credentials!);
    expect((await new STSClient(s.configFor(session)).send(new GetCallerIdentityCommand({}))).Account).toBe(other);
    const roles = await new IAMClient(s.configFor(session)).send(new ListRolesCommand({}));
    expect(roles.Roles!.map((x) => x.RoleName)).toEqual(["partner"]);

    const creds = await userWithKey(iam, "cross-user");
    await expectAwsError(new STSClient(s.configFor(creds)).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "user" })), "AccessDenied", 403);
    await iam.send(new PutUserPolicyCommand({ UserName: "cross-user", PolicyName: "x", PolicyDocument: doc([allow("sts:AssumeRole", arn)]) }));
    expect((await new STSClient(s.configFor(creds)).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "user" }))).Credentials).toBeDefined();
    // A trust policy of account B that does not name account A refuses it.
    await iamB.send(new CreateRoleCommand({ RoleName: "private", AssumeRolePolicyDocument: trustAccount(other) }));
    await expectAwsError(sts.send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${other}:role/private`, RoleSessionName: "nope" })), "AccessDenied", 403);
  });
});

describe("session expiry on the service clock", () => {
  it("answers ExpiredToken once the session has expired", async () => {
    const arn = await role("expiring", trustAccount());
    const r = await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "short", DurationSeconds: 900 }));
    const session = new STSClient(s.configFor(asCreds(r.Credentials!)));
    expect((await session.send(new GetCallerIdentityCommand({}))).Arn).toContain("assumed-role/expiring/short");
    await s.advanceClock(600);
    await session.send(new GetCallerIdentityCommand({}));
    await s.advanceClock(301);
    await expectAwsError(session.send(new GetCallerIdentityCommand({})), "ExpiredToken", 403, "The security token included in the request is expired");
  });
});

describe("authentication failures", () => {
  it("an unknown access key is InvalidClientTokenId 403", async () => {
    await expectAwsError(
      new STSClient(s.configFor({ accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x".repeat(40) })).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      403,
      "The security token included in the request is invalid.",
    );
  });

  it("a wrong secret is SignatureDoesNotMatch 403", async () => {
    const creds = await userWithKey(iam, "wrong-secret");
    const err = await expectAwsError(
      new STSClient(s.configFor({ accessKeyId: creds.accessKeyId, secretAccessKey: "y".repeat(40) })).send(new GetCallerIdentityCommand({})),
      "SignatureDoesNotMatch",
      403,
    );
    expect(err.message).toMatch(/signature we calculated does not match/);
  });

  it("a session key with a token that is not its own is InvalidClientTokenId", async () => {
    const arn = await role("token-check", trustAccount());
    const a = (await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "aa-session" }))).Credentials!;
    const b = (await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "bb-session" }))).Credentials!;
    await expectAwsError(
      new STSClient(s.configFor({ accessKeyId: a.AccessKeyId!, secretAccessKey: a.SecretAccessKey!, sessionToken: b.SessionToken! })).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      403,
    );
    await expectAwsError(
      new STSClient(s.configFor({ accessKeyId: a.AccessKeyId!, secretAccessKey: a.SecretAccessKey! })).send(new GetCallerIdentityCommand({})),
      "InvalidClientTokenId",
      403,
    );
  });
});

describe("identity edge cases", () => {
  it("the root user cannot assume a role, with its keys or a root session", async () => {
    const arn = await role("root-target", trustAccount());
    const message = "Roles may not be assumed by root accounts.";
    await expectAwsError(rootSts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "rs" })), "AccessDenied", 403, message);
    await expectAwsError(
      new STSClient(s.configFor({ accessKeyId: "111122223333", secretAccessKey: "test" })).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "rs" })),
      "AccessDenied",
      403,
      message,
    );
    const rootSession = asCreds((await rootSts.send(new GetSessionTokenCommand({}))).Credentials!);
    await expectAwsError(new STSClient(s.configFor(rootSession)).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "rs" })), "AccessDenied", 403, message);
  });

  it("a long-term key sent with any session token is InvalidClientTokenId", async () => {
    const user = await userWithKey(iam, "token-on-long-term");
    for (const creds of [{ accessKeyId: "test", secretAccessKey: "test" }, { accessKeyId: "111122223333", secretAccessKey: "test" }, user]) {
      const withToken = new STSClient(s.configFor({ ...creds, sessionToken: "FwoGZXIvYXdzEJr//////////wEaDM" }));
      await expectAwsError(withToken.send(new GetCallerIdentityCommand({})), "InvalidClientTokenId", 403, "The security token included in the request is invalid.");
      // Without the token the same key works.
      await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}));
    }
    // The JSON services name it UnrecognizedClientException, HTTP 400.
    const kms = new KMSClient(s.configFor({ accessKeyId: "test", secretAccessKey: "test", sessionToken: "not-a-session" }));
    await expectAwsError(kms.send(new ListKeysCommand({})), "UnrecognizedClientException", 400, "The security token included in the request is invalid.");
  });
});

describe("presigned GetCallerIdentity", () => {
  async function presignedCall(creds: Creds, signingDate?: Date): Promise<Response> {
    const url = new URL(s.url);
    const signer = new SignatureV4({ service: "sts", region: "us-east-1", credentials: creds, sha256: Sha256 });
    const req = await signer.presign(
      {
        method: "GET",
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: "/",
        query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
        headers: { host: url.host },
      },
      { expiresIn: 60, signingDate },
    );
    const qs = new URLSearchParams(req.query as Record<string, string>).toString();
    return fetch(`${s.url}/?${qs}`, { method: "GET" });
  }

  it("answers a presigned GET as the signer (EKS/Vault-style identity proof)", async () => {
    const creds = await userWithKey(iam, "presigner");
    const res = await presignedCall(creds);
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toContain("<GetCallerIdentityResponse");
    expect(xml).toContain(`<Arn>arn:aws:iam::${ACCOUNT}:user/presigner</Arn>`);
  });

  it("answers RequestExpired once the URL has expired", async () => {
    const creds = await userWithKey(iam, "presigner-late");
    const res = await presignedCall(creds, new Date(Date.now() - 120_000));
    expect(res.status).toBe(400);
    const xml = await res.text();
    expect(xml).toContain("<Code>RequestExpired</Code>");
    expect(xml).toContain("<Message>Request has expired</Message>");
  });

  it("works with session credentials (X-Amz-Security-Token) and refuses a tampered signature", async () => {
    const arn = await role("presigned-role", trustAccount());
    const c = asCreds((await sts.send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "ps" }))).Credentials!);
    const res = await presignedCall(c);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`assumed-role/presigned-role/ps`);
    const bad = await presignedCall({ ...c, secretAccessKey: "z".repeat(40) });
    expect(bad.status).toBe(403);
    expect(await bad.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
  });
});

describe("GetSessionToken", () => {
  it("gives an IAM user 12-hour credentials that act as the user", async () => {
    const creds = await userWithKey(iam, "gst-user", doc([allow("iam:GetUser")]));
    const before = await serverNow();
    const r = await new STSClient(s.configFor(creds)).send(new GetSessionTokenCommand({}));
    const c = r.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z0-9]{16}$/);
    const life = c.Expiration!.getTime() - before;
    expect(life).toBeGreaterThan(43190_000);
    expect(life).toBeLessThan(43300_000);
    const me = await new STSClient(s.configFor(asCreds(c))).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(`arn:aws:iam::${ACCOUNT}:user/gst-user`);
    // Without MFA, these credentials cannot call IAM.
    await expectAwsError(new IAMClient(s.configFor(asCreds(c))).send(new GetUserCommand({})), "InvalidClientTokenId", 403);
    // With MFA they can, within the user's own policies.
    const device = await enableMfa(iam, s.url, "gst-user");
    const mfa = (await new STSClient(s.configFor(creds)).send(new GetSessionTokenCommand({ SerialNumber: device.serial, TokenCode: await device.code() }))).Credentials!;
    expect((await new IAMClient(s.configFor(asCreds(mfa))).send(new GetUserCommand({}))).User!.UserName).toBe("gst-user");
    await expectAwsError(new IAMClient(s.configFor(asCreds(mfa))).send(new ListUsersCommand({})), "AccessDenied", 403);
    // Session credentials cannot get another session token.
    await expectAwsError(new STSClient(s.configFor(asCreds(c))).send(new GetSessionTokenCommand({})), "AccessDenied", 403, "Cannot call GetSessionToken with session credentials");
  });

  it("honours DurationSeconds; the account root gets at most one hour", async () => {
    const creds = await userWithKey(iam, "gst-duration");
    const r = await new STSClient(s.configFor(creds)).send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
    expect(r.Credentials!.Expiration!.getTime() - (await serverNow())).toBeLessThan(1000_000);
    await expectAwsError(new STSClient(s.configFor(creds)).send(new GetSessionTokenCommand({ DurationSeconds: 129601 })), "ValidationError", 400, /less than or equal to 129600/);
    const root = await rootSts.send(new GetSessionTokenCommand({ DurationSeconds: 7200 }));
    expect(root.Credentials!.Expiration!.getTime() - (await serverNow())).toBeLessThanOrEqual(3601_000);
    expect(root.Credentials!.Expiration!.getTime() - (await serverNow())).toBeGreaterThan(3500_000);
    expect((await new STSClient(s.configFor(asCreds(root.Credentials!))).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
  });
});

describe("CloudTrail records of IAM and STS calls", () => {
  const recordsOf = async (eventName: string) => {
    const r = await new CloudTrailClient(s.config).send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }] }));
    return r.Events!.map((e) => JSON.parse(e.CloudTrailEvent!) as LooseJson);
  };

  it("logs IAM in us-east-1 without secrets, and AssumeRole with the role and CloudTrail's expiration form", async () => {
    const creds = await userWithKey(iam, "audited", doc([allow("sts:AssumeRole")]));
    const keyEvent = (await recordsOf("CreateAccessKey")).find((e) => e.requestParameters?.userName === "audited")!;
    expect(keyEvent).toMatchObject({
      eventSource: "iam.amazonaws.com",
      awsRegion: "us-east-1",
      responseElements: { accessKey: { accessKeyId: creds.accessKeyId, userName: "audited", status: "Active" } },
    });
    expect(JSON.stringify(keyEvent)).not.toContain(creds.secretAccessKey);

    const arn = await role("audited-role", trustAccount());
    const out = await new STSClient(s.configFor(creds, "eu-west-1")).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "audit", DurationSeconds: 900 }));
    const e = (
      await new CloudTrailClient({ ...s.config, region: "eu-west-1" }).send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "AssumeRole" }] }),
      )
    )
      .Events!.map((x) => JSON.parse(x.CloudTrailEvent!) as LooseJson)
      .find((x) => x.requestParameters?.roleSessionName === "audit")!;
    expect(e).toMatchObject({
      eventSource: "sts.amazonaws.com",
      awsRegion: "eu-west-1",
      userIdentity: { type: "IAMUser", userName: "audited", accessKeyId: creds.accessKeyId },
      requestParameters: { roleArn: arn, roleSessionName: "audit", durationSeconds: 900 },
      responseElements: { credentials: { accessKeyId: out.Credentials!.AccessKeyId }, assumedRoleUser: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/audited-role/audit` } },
      resources: [{ ARN: arn, accountId: ACCOUNT, type: "AWS::IAM::Role" }],
    });
    expect(e.responseElements.credentials.expiration).toMatch(/^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
    expect(JSON.stringify(e)).not.toContain(out.Credentials!.SecretAccessKey);
    expect(JSON.stringify(e)).not.toContain(out.Credentials!.SessionToken);
  });

  it("logs a denied AssumeRole with AccessDenied", async () => {
    const creds = await userWithKey(iam, "audited-denied");
    const arn = await role("audited-denied-role", trustAccount());
    await expectAwsError(new STSClient(s.configFor(creds)).send(new AssumeRoleCommand({ RoleArn: arn, RoleSessionName: "nope" })), "AccessDenied", 403);
    const e = (await recordsOf("AssumeRole")).find((x) => x.requestParameters?.roleSessionName === "nope")!;
    expect(e).toMatchObject({
      errorCode: "AccessDenied",
      errorMessage: `User: arn:aws:iam::${ACCOUNT}:user/audited-denied is not authorized to perform: sts:AssumeRole on resource: ${arn}`,
      responseElements: null,
    });
  });
});
