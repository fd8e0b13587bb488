/**
 * IAM SAML providers and STS AssumeRoleWithSAML with a key pair and assertions signed in the test
 * (xml-crypto): the signature, the issuer, the audience, the validity window, the Role and
 * RoleSessionName attributes, the SAML condition keys in the trust policy, and signature wrapping.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateRoleCommand,
  CreateSAMLProviderCommand,
  DeleteSAMLProviderCommand,
  GetSAMLProviderCommand,
  IAMClient,
  ListSAMLProvidersCommand,
  UpdateSAMLProviderCommand,
} from "@aws-sdk/client-iam";
import { AssumeRoleWithSAMLCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { startTestIdp, type AssertionOptions, type TestIdp } from "../support/saml-idp.ts";
import { ACCOUNT, doc, expectAwsError } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let iam: IAMClient;
let sts: STSClient;
let idp: TestIdp;
let providerArn: string;
const ROLE = "saml-admins";
const roleArn = `arn:aws:iam::${ACCOUNT}:role/${ROLE}`;

beforeAll(async () => {
  s = await startTestServer();
  iam = new IAMClient(s.config);
  sts = new STSClient(s.config);
  idp = startTestIdp();
  providerArn = (await iam.send(new CreateSAMLProviderCommand({ Name: "corp-idp", SAMLMetadataDocument: idp.metadata }))).SAMLProviderArn!;
  const trust = doc([
    {
      Effect: "Allow",
      Principal: { Federated: providerArn },
      Action: "sts:AssumeRoleWithSAML",
      Condition: { StringEquals: { "SAML:aud": "https://signin.aws.amazon.com/saml", "saml:sub_type": "persistent" }, StringLike: { "saml:sub": "*@corp.example.com" } },
    },
  ]);
  await iam.send(new CreateRoleCommand({ RoleName: ROLE, AssumeRolePolicyDocument: trust }));
});
afterAll(async () => {
  await s?.close();
});

const good = (extra: Partial<AssertionOptions> = {}): AssertionOptions => ({
  subject: "alice@corp.example.com",
  roles: [`${roleArn},${providerArn}`],
  sessionName: "alice",
  ...extra,
});
const assume = (assertion: string, extra: Partial<{ RoleArn: string; PrincipalArn: string }> = {}) =>
  sts.send(new AssumeRoleWithSAMLCommand({ RoleArn: roleArn, PrincipalArn: providerArn, SAMLAssertion: assertion, ...extra }));

describe("IAM SAML providers", () => {
  it("creates, reads, lists, updates and deletes a provider", async () => {
    expect(providerArn).toBe(`arn:aws:iam::${ACCOUNT}:saml-provider/corp-idp`);
    const got = await iam.send(new GetSAMLProviderCommand({ SAMLProviderArn: providerArn }));
    expect(got.SAMLMetadataDocument).toBe(idp.metadata);
    expect(got.CreateDate).toBeInstanceOf(Date);
    const other = (await iam.send(new CreateSAMLProviderCommand({ Name: "second", SAMLMetadataDocument: idp.metadata }))).SAMLProviderArn!;
    expect((await iam.send(new ListSAMLProvidersCommand({}))).SAMLProviderList!.map((p) => p.Arn).sort()).toEqual([providerArn, other].sort());
    await expectAwsError(iam.send(new CreateSAMLProviderCommand({ Name: "second", SAMLMetadataDocument: idp.metadata })), "EntityAlreadyExistsException", 409);
    expect((await iam.send(new UpdateSAMLProviderCommand({ SAMLProviderArn: other, SAMLMetadataDocument: idp.metadata }))).SAMLProviderArn).toBe(other);
    await iam.send(new DeleteSAMLProviderCommand({ SAMLProviderArn: other }));
    await expectAwsError(iam.send(new DeleteSAMLProviderCommand({ SAMLProviderArn: other })), "NoSuchEntityException", 404);
    await expectAwsError(iam.send(new GetSAMLProviderCommand({ SAMLProviderArn: other })), "NoSuchEntityException", 404);
  });

  it("refuses metadata that is not SAML metadata, a DTD, and encryption it does not offer", async () => {
    const padding = "x".repeat(1000);
    await expectAwsError(
      iam.send(new CreateSAMLProviderCommand({ Name: "bad", SAMLMetadataDocument: `<notmetadata>${padding}</notmetadata>` })),
      "InvalidInputException",
      400,
      "Could not parse metadata",
    );
    await expectAwsError(
      iam.send(new CreateSAMLProviderCommand({ Name: "bad", SAMLMetadataDocument: `<!DOCTYPE x [<!ENTITY e "${padding}">]>${idp.metadata}` })),
      "InvalidInputException",
      400,
    );
    await expectAwsError(
      iam.send(
        new CreateSAMLProviderCommand({
          Name: "bad",
          SAMLMetadataDocument: idp.metadata.replace(/<ds:X509Certificate>([^<]+)/, (_m, c: string) => `<ds:X509Certificate>${"#".repeat(c.length)}`),
        }),
      ),
      "InvalidInputException",
      400,
    );
    await expectAwsError(
      iam.send(new CreateSAMLProviderCommand({ Name: "bad", SAMLMetadataDocument: idp.metadata, AssertionEncryptionMode: "Required" })),
      "InvalidInputException",
      400,
    );
  });
});

describe("AssumeRoleWithSAML", () => {
  it("exchanges a signed assertion for the role's session, with the SAML user in CloudTrail", async () => {
    const out = await assume(idp.response(good()));
    expect(out.AssumedRoleUser!.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE}/alice`);
    expect(out.Subject).toBe("alice@corp.example.com");
    expect(out.SubjectType).toBe("persistent");
    expect(out.Issuer).toBe(idp.entityId);
    expect(out.Audience).toBe("https://signin.aws.amazon.com/saml");
    expect(out.NameQualifier).toMatch(/^[A-Za-z0-9+/]{27}=$/);
    const creds = { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! };
    expect((await new STSClient(s.configFor(creds)).send(new GetCallerIdentityCommand({}))).Arn).toBe(out.AssumedRoleUser!.Arn);
    const rec = (await lookupAll(new CloudTrailClient(s.config), "EventName", "AssumeRoleWithSAML")).map(recordOf).find((r) => !r.errorCode)!;
    expect(rec.userIdentity).toEqual({
      type: "SAMLUser",
      principalId: `${out.NameQualifier}:alice@corp.example.com`,
      userName: "alice@corp.example.com",
      identityProvider: out.NameQualifier,
    });
    expect(rec.requestParameters).toEqual({ roleArn, principalArn: providerArn });
    expect(rec.resources).toEqual([
      { ARN: roleArn, accountId: ACCOUNT, type: "AWS::IAM::Role" },
      { ARN: providerArn, accountId: ACCOUNT, type: "AWS::IAM::SAMLProvider" },
    ]);
  });

  it("refuses an assertion changed after signing, or signed by another key", async () => {
    const tampered = idp.signedXml(good()).replace("alice@corp.example.com", "mallory@corp.example.com");
    await expectAwsError(assume(Buffer.from(tampered).toString("base64")), "InvalidIdentityTokenException", 400, /signature/);
    await expectAwsError(assume(idp.responseSignedByStranger(good())), "InvalidIdentityTokenException", 400, /signature/);
    await expectAwsError(assume("bm90IHhtbA=="), "InvalidIdentityTokenException", 400);
  });

  it("believes only the signed assertion (signature wrapping)", async () => {
    const signed = idp.signedXml(good());
    // an unsigned assertion for another subject inserted before the signed one
    const evil = `<saml:Assertion ID="_evil" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${idp.entityId}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">root@corp.example.com</saml:NameID></saml:Subject></saml:Assertion>`;
    const wrapped = signed.replace(/(<samlp:Status>.*?<\/samlp:Status>)/, `$1${evil}`);
    expect(wrapped).toContain("_evil");
    const out = await assume(Buffer.from(wrapped).toString("base64"));
    expect(out.Subject).toBe("alice@corp.example.com");
  });

  it("checks issuer, audience, validity, the Role attribute and RoleSessionName", async () => {
    await expectAwsError(assume(idp.response(good({ issuer: "https://other-idp.example.com" }))), "InvalidIdentityTokenException", 400, /Issuer/);
    await expectAwsError(assume(idp.response(good({ audience: "https://elsewhere.example.com" }))), "InvalidIdentityTokenException", 400, /audience/);
    await expectAwsError(assume(idp.response(good({ issuedAt: -3600, notOnOrAfter: -60 }))), "ExpiredTokenException", 400);
    await expectAwsError(assume(idp.response(good({ issuedAt: -600 }))), "ExpiredTokenException", 400, "Token must be redeemed within 5 minutes of issuance");
    await expectAwsError(
      assume(idp.response(good({ roles: [`arn:aws:iam::${ACCOUNT}:role/other,${providerArn}`] }))),
      "AccessDenied",
      403,
      "Not authorized to perform sts:AssumeRoleWithSAML",
    );
    await expectAwsError(assume(idp.response(good({ sessionName: undefined }))), "InvalidIdentityTokenException", 400, "RoleSessionName is required in AuthnResponse");
    // the provider and the role pair may come in either order
    expect((await assume(idp.response(good({ roles: [`${providerArn},${roleArn}`] })))).Subject).toBe("alice@corp.example.com");
  });

  it("applies the SAML condition keys of the trust policy", async () => {
    await expectAwsError(assume(idp.response(good({ subject: "eve@evil.example.com" }))), "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithSAML");
    await expectAwsError(assume(idp.response(good({ recipient: "https://other.example.com/saml" }))), "AccessDenied", 403);
  });

  it("refuses an unknown provider and a provider of another account", async () => {
    await expectAwsError(assume(idp.response(good()), { PrincipalArn: `arn:aws:iam::${ACCOUNT}:saml-provider/nope` }), "InvalidIdentityTokenException", 400);
    await expectAwsError(assume(idp.response(good()), { PrincipalArn: `arn:aws:iam::111122223333:saml-provider/corp-idp` }), "AccessDenied", 403);
  });
});
