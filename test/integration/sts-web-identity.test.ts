/**
 * IAM OIDC providers and STS AssumeRoleWithWebIdentity with a local issuer (a loopback HTTP
 * server with a discovery document and a JWKS) and tokens signed in the test: a CI pipeline's
 * OIDC role, end to end, and every way a token can be wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AddClientIDToOpenIDConnectProviderCommand,
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
  ListOpenIDConnectProviderTagsCommand,
  PutRolePolicyCommand,
  RemoveClientIDFromOpenIDConnectProviderCommand,
  TagOpenIDConnectProviderCommand,
  UntagOpenIDConnectProviderCommand,
  UpdateOpenIDConnectProviderThumbprintCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { generateKeyPair, UnsecuredJWT } from "jose";
import { startTestServer, type TestServer } from "../support/server.ts";
import { startTestIssuer, type TestIssuer } from "../support/oidc-issuer.ts";
import { ACCOUNT, allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let iam: IAMClient;
let sts: STSClient;
let issuer: TestIssuer;
let providerArn: string;
const ROLE = "ci-deploy";
const roleArn = `arn:aws:iam::${ACCOUNT}:role/${ROLE}`;

/** Stands in for DNS: the names the SSRF tests use resolve here and nowhere else. */
const NAMES: Record<string, string> = { "private-idp.example": "10.0.0.1", "task-endpoint.example": "169.254.170.2", "ula-idp.example": "fd00::1", "rebind.example": "127.0.0.1" };
const resolveHost = async (hostname: string) => {
  const address = NAMES[hostname];
  if (!address) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  return [{ address, family: address.includes(":") ? 6 : 4 }];
};

beforeAll(async () => {
  s = await startTestServer({ resolveHost });
  iam = new IAMClient(s.config);
  sts = new STSClient(s.config);
  issuer = await startTestIssuer();
  const p = await iam.send(new CreateOpenIDConnectProviderCommand({ Url: issuer.url, ClientIDList: ["sts.amazonaws.com"], Tags: [{ Key: "team", Value: "ci" }] }));
  providerArn = p.OpenIDConnectProviderArn!;
  const trust = doc([
    {
      Effect: "Allow",
      Principal: { Federated: providerArn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { [`${issuer.host}:aud`]: "sts.amazonaws.com" }, StringLike: { [`${issuer.host}:sub`]: "repo:acme/app:*" } },
    },
  ]);
  await iam.send(new CreateRoleCommand({ RoleName: ROLE, AssumeRolePolicyDocument: trust }));
  await iam.send(new PutRolePolicyCommand({ RoleName: ROLE, PolicyName: "keys", PolicyDocument: doc([allow("kms:ListKeys")]) }));
});
afterAll(async () => {
  await s?.close();
  await issuer?.close();
});

const assume = (token: string, extra: Partial<{ RoleArn: string; RoleSessionName: string; DurationSeconds: number }> = {}) =>
  sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: "run-42", WebIdentityToken: token, ...extra }));

describe("IAM OIDC providers", () => {
  it("creates, reads, lists, changes and deletes a provider as IAM does", async () => {
    expect(providerArn).toBe(`arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer.host}`);
    const got = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }));
    expect(got.Url).toBe(issuer.host);
    expect(got.ClientIDList).toEqual(["sts.amazonaws.com"]);
    expect(got.ThumbprintList).toEqual([]);
    expect(got.CreateDate).toBeInstanceOf(Date);
    expect(got.Tags).toEqual([{ Key: "team", Value: "ci" }]);
    const list = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    expect(list.OpenIDConnectProviderList).toEqual([{ Arn: providerArn }]);

    await expectAwsError(iam.send(new CreateOpenIDConnectProviderCommand({ Url: issuer.url, ClientIDList: ["x"] })), "EntityAlreadyExistsException", 409);

    const other = await iam.send(new CreateOpenIDConnectProviderCommand({ Url: "https://token.example.com/path", ThumbprintList: ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"] }));
    const arn = other.OpenIDConnectProviderArn!;
    expect(arn).toBe(`arn:aws:iam::${ACCOUNT}:oidc-provider/token.example.com/path`);
    await iam.send(new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: "app-1" }));
    await iam.send(new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: "app-1" }));
    await iam.send(new AddClientIDToOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: "app-2" }));
    await iam.send(new RemoveClientIDFromOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: "app-1" }));
    await iam.send(new RemoveClientIDFromOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, ClientID: "never-there" }));
    await iam.send(new UpdateOpenIDConnectProviderThumbprintCommand({ OpenIDConnectProviderArn: arn, ThumbprintList: ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] }));
    await iam.send(
      new TagOpenIDConnectProviderCommand({
        OpenIDConnectProviderArn: arn,
        Tags: [
          { Key: "a", Value: "1" },
          { Key: "b", Value: "2" },
        ],
      }),
    );
    await iam.send(new UntagOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn, TagKeys: ["a"] }));
    expect((await iam.send(new ListOpenIDConnectProviderTagsCommand({ OpenIDConnectProviderArn: arn }))).Tags).toEqual([{ Key: "b", Value: "2" }]);
    const after = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    expect(after.ClientIDList).toEqual(["app-2"]);
    expect(after.ThumbprintList).toEqual(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]);

    await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    await expectAwsError(
      iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
      "NoSuchEntityException",
      404,
      `OpenIDConnect Provider not found for arn ${arn}`,
    );
  });

  it("refuses URLs that are not https (http only on loopback), bad thumbprints and malformed ARNs", async () => {
    for (const Url of ["http://token.example.com", "ftp://127.0.0.1", "https://example.com/?q=1", "https://user:pw@example.com", "not a url"]) {
      await expectAwsError(iam.send(new CreateOpenIDConnectProviderCommand({ Url, ClientIDList: ["a"] })), "InvalidInputException", 400);
    }
    await expectAwsError(
      iam.send(new CreateOpenIDConnectProviderCommand({ Url: "https://t.example.com", ThumbprintList: ["zz99a48a9960b14926bb7f3b02e22da2b0ab7280"] })),
      "InvalidInputException",
      400,
    );
    await expectAwsError(
      iam.send(new CreateOpenIDConnectProviderCommand({ Url: "https://t.example.com", ThumbprintList: Array.from({ length: 6 }, (_, i) => String(i).repeat(40)) })),
      "LimitExceededException",
      409,
    );
    await expectAwsError(iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: `arn:aws:iam::${ACCOUNT}:role/nope` })), "InvalidInputException", 400);
    // another account's provider is refused before anything about it is told
    const other = new IAMClient(s.configFor({ accessKeyId: "111111111111", secretAccessKey: "test" }));
    await expectAwsError(other.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn })), "AccessDenied", 403);
    expect((await other.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList).toEqual([]);
  });

  it("needs iam:CreateOpenIDConnectProvider on the provider ARN", async () => {
    const creds = await userWithKey(iam, "no-oidc", doc([allow("iam:GetOpenIDConnectProvider")]));
    const u = new IAMClient(s.configFor(creds));
    await expectAwsError(
      u.send(new CreateOpenIDConnectProviderCommand({ Url: "https://denied.example.com", ClientIDList: ["a"] })),
      "AccessDenied",
      403,
      /iam:CreateOpenIDConnectProvider on resource: arn:aws:iam::000000000000:oidc-provider\/denied\.example\.com/,
    );
    expect((await u.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: providerArn }))).Url).toBe(issuer.host);
  });
});

describe("AssumeRoleWithWebIdentity", () => {
  it("gives a CI pipeline's token the role's session, with the web identity in CloudTrail", async () => {
    const token = await issuer.token({ sub: "repo:acme/app:ref:refs/heads/main", aud: "sts.amazonaws.com" });
    const out = await assume(token, { DurationSeconds: 900 });
    expect(out.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/run-42`);
    expect(out.SubjectFromWebIdentityToken).toBe("repo:acme/app:ref:refs/heads/main");
    expect(out.Provider).toBe(issuer.url);
    expect(out.Audience).toBe("sts.amazonaws.com");
    expect(out.Credentials!.AccessKeyId).toMatch(/^ASIA/);
    const creds = { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! };
    const me = await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(out.AssumedRoleUser!.Arn);
    await new KMSClient(s.configFor(creds)).send(new ListKeysCommand({}));
    expect(issuer.requests).toContain("/.well-known/openid-configuration");
    expect(issuer.requests).toContain("/jwks");

    const ct = new CloudTrailClient(s.config);
    const rec = (await lookupAll(ct, "EventName", "AssumeRoleWithWebIdentity")).map(recordOf).find((r) => !r.errorCode)!;
    expect(rec.userIdentity).toEqual({
      type: "WebIdentityUser",
      principalId: `${issuer.host}:sts.amazonaws.com:repo:acme/app:ref:refs/heads/main`,
      userName: "repo:acme/app:ref:refs/heads/main",
      identityProvider: issuer.host,
    });
    expect(rec.recipientAccountId).toBe(ACCOUNT);
    expect(rec.requestParameters).toEqual({ roleArn, roleSessionName: "run-42", durationSeconds: 900 });
    expect(JSON.stringify(rec)).not.toContain(token);
    expect(rec.responseElements.assumedRoleUser.arn).toBe(out.AssumedRoleUser!.Arn);
    const listed = (await lookupAll(ct, "EventName", "ListKeys")).map(recordOf).find((r) => r.userIdentity.arn === out.AssumedRoleUser!.Arn)!;
    expect(listed.userIdentity.type).toBe("AssumedRole");
    expect(listed.userIdentity.sessionContext.webIdFederationData).toEqual({ federatedProvider: providerArn, attributes: {} });
  });

  it("refuses a subject the trust policy does not allow, with AWS's reasonless AccessDenied", async () => {
    const token = await issuer.token({ sub: "repo:evil/app:ref:refs/heads/main", aud: "sts.amazonaws.com" });
    await expectAwsError(assume(token), "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    // a role that does not exist is refused the same way
    const good = await issuer.token({ sub: "repo:acme/app:ref:refs/heads/main", aud: "sts.amazonaws.com" });
    await expectAwsError(assume(good, { RoleArn: `arn:aws:iam::${ACCOUNT}:role/nope` }), "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  });

  it("refuses a token for another audience, an expired one and one from an unknown issuer", async () => {
    await expectAwsError(assume(await issuer.token({ sub: "repo:acme/app:x", aud: "someone-else" })), "InvalidIdentityTokenException", 400, "Incorrect token audience");
    const past = Math.floor(Date.now() / 1000) - 60;
    await expectAwsError(
      assume(await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com", iat: past - 600, exp: past })),
      "ExpiredTokenException",
      400,
      /^Token expired/,
    );
    await expectAwsError(
      assume(await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com", iss: "https://unknown.example.com" })),
      "InvalidIdentityTokenException",
      400,
      "No OpenIDConnect provider found in your account for https://unknown.example.com",
    );
  });

  it("verifies the signature: another key, alg none and a garbled token are refused", async () => {
    const { privateKey } = await generateKeyPair("RS256");
    await expectAwsError(assume(await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com" }, { key: privateKey })), "InvalidIdentityTokenException", 400);
    const unsigned = new UnsecuredJWT({ iss: issuer.url, sub: "repo:acme/app:x", aud: "sts.amazonaws.com", exp: Math.floor(Date.now() / 1000) + 300 }).encode();
    await expectAwsError(assume(unsigned), "InvalidIdentityTokenException", 400);
    await expectAwsError(assume("not.a.jwt"), "InvalidIdentityTokenException", 400, /not a valid JWT/);
    // a key id the issuer does not publish
    await expectAwsError(
      assume(await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com" }, { kid: "other" })),
      "InvalidIdentityTokenException",
      400,
      /Couldn't retrieve verification key/,
    );
  });

  it("answers IDPCommunicationError when the issuer fails and never follows a JWKS off loopback", async () => {
    const token = await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com" });
    issuer.serve.status = 503;
    await expectAwsError(assume(token), "IDPCommunicationErrorException", 400);
    issuer.serve.status = undefined;
    issuer.serve.discovery = { issuer: issuer.url, jwks_uri: "https://jwks.example.com/keys" };
    await expectAwsError(assume(token), "InvalidIdentityTokenException", 400, /Couldn't retrieve verification key/);
    issuer.serve.discovery = undefined;
    expect((await assume(token)).AssumedRoleUser!.Arn).toMatch(/assumed-role\/ci-deploy\/run-42$/);
  });

  it("never fetches the issuer's documents from the server's own port", async () => {
    const token = await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com" });
    for (const jwks_uri of [`${s.url}/jwks`, `http://localhost:${s.port}/jwks`, `http://[::1]:${s.port}/jwks`]) {
      issuer.serve.discovery = { issuer: issuer.url, jwks_uri };
      await expectAwsError(assume(token), "IDPCommunicationErrorException", 400);
    }
    issuer.serve.discovery = undefined;
    // an issuer that is the server itself
    await iam.send(new CreateOpenIDConnectProviderCommand({ Url: s.url, ClientIDList: ["sts.amazonaws.com"] }));
    const self = await issuer.token({ iss: s.url, sub: "repo:acme/app:x", aud: "sts.amazonaws.com" });
    await expectAwsError(assume(self, { RoleArn: roleArn }), "IDPCommunicationErrorException", 400);
  });

  it("never fetches from private, link-local or unique-local addresses, whatever the issuer's name", async () => {
    const issuers = [
      "https://10.0.0.1",
      "https://169.254.170.2",
      "https://[::ffff:169.254.170.2]",
      "https://[fd00::1]/idp",
      "https://private-idp.example",
      "https://task-endpoint.example/v2",
      "https://ula-idp.example",
      // a public name that resolves to loopback (DNS rebinding)
      "https://rebind.example",
    ];
    for (const Url of issuers) {
      await iam.send(new CreateOpenIDConnectProviderCommand({ Url, ClientIDList: ["sts.amazonaws.com"] }));
      const token = await issuer.token({ iss: Url, sub: "repo:acme/app:x", aud: "sts.amazonaws.com" });
      await expectAwsError(assume(token), "IDPCommunicationErrorException", 400);
    }
    // a loopback issuer's discovery document may not send the JWKS fetch there either
    const token = await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com" });
    issuer.serve.discovery = { issuer: issuer.url, jwks_uri: "https://private-idp.example/jwks" };
    await expectAwsError(assume(token), "InvalidIdentityTokenException", 400, /Couldn't retrieve verification key/);
    issuer.serve.discovery = undefined;
    expect((await assume(token)).AssumedRoleUser!.Arn).toMatch(/assumed-role\/ci-deploy\/run-42$/);
  });

  it("refuses a session longer than the role allows", async () => {
    const token = await issuer.token({ sub: "repo:acme/app:x", aud: "sts.amazonaws.com" });
    await expectAwsError(assume(token, { DurationSeconds: 7200 }), "ValidationError", 400, /MaxSessionDuration/);
  });
});

describe("unsigned STS calls", () => {
  it("are routed to STS by Action and answered in STS's XML error format", async () => {
    const body = new URLSearchParams({ Action: "AssumeRoleWithWebIdentity", Version: "2011-06-15", RoleArn: roleArn, RoleSessionName: "x1", WebIdentityToken: "garbage" });
    const res = await fetch(`${s.url}/`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).toContain("<ErrorResponse");
    expect(text).toContain("https://sts.amazonaws.com/doc/2011-06-15/");
    expect(text).toContain("<Code>InvalidIdentityToken</Code>");
    // other STS operations still need a signature, and say so in STS's format
    const who = await fetch(`${s.url}/`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=GetCallerIdentity&Version=2011-06-15" });
    expect(who.status).toBe(403);
    expect(await who.text()).toContain("<Code>MissingAuthenticationToken</Code>");
  });
});
