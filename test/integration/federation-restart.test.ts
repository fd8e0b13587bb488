/** A restart keeps OIDC and SAML providers, federated sessions and service-linked role deletion tasks. */
import { afterAll, describe, expect, it } from "vitest";
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  CreateSAMLProviderCommand,
  DeleteServiceLinkedRoleCommand,
  GetOpenIDConnectProviderCommand,
  GetSAMLProviderCommand,
  GetServiceLinkedRoleDeletionStatusCommand,
  IAMClient,
} from "@aws-sdk/client-iam";
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateClusterCommand, ECSClient } from "@aws-sdk/client-ecs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { startTestIssuer, type TestIssuer } from "../support/oidc-issuer.ts";
import { startTestIdp } from "../support/saml-idp.ts";
import { ACCOUNT, doc } from "./iam-helpers.ts";

let server: TestServer | undefined;
let issuer: TestIssuer | undefined;
afterAll(async () => {
  await server?.close();
  await issuer?.close();
});

describe("federation state across a restart", () => {
  it("keeps providers, a web identity session and a deletion task", async () => {
    server = await startTestServer();
    issuer = await startTestIssuer();
    const dataDir = server.dataDir;
    let iam = new IAMClient(server.config);
    const oidc = (await iam.send(new CreateOpenIDConnectProviderCommand({ Url: issuer.url, ClientIDList: ["sts.amazonaws.com"], Tags: [{ Key: "k", Value: "v" }] })))
      .OpenIDConnectProviderArn!;
    const idp = startTestIdp();
    const saml = (await iam.send(new CreateSAMLProviderCommand({ Name: "corp", SAMLMetadataDocument: idp.metadata }))).SAMLProviderArn!;
    await iam.send(
      new CreateRoleCommand({
        RoleName: "ci",
        AssumeRolePolicyDocument: doc([{ Effect: "Allow", Principal: { Federated: oidc }, Action: "sts:AssumeRoleWithWebIdentity" }]),
      }),
    );
    const token = await issuer.token({ sub: "repo:acme/app:main", aud: "sts.amazonaws.com" });
    const out = await new STSClient(server.config).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: `arn:aws:iam::${ACCOUNT}:role/ci`, RoleSessionName: "run", WebIdentityToken: token }),
    );
    await new ECSClient(server.config).send(new CreateClusterCommand({ clusterName: "keep" }));
    const task = (await iam.send(new DeleteServiceLinkedRoleCommand({ RoleName: "AWSServiceRoleForECS" }))).DeletionTaskId!;
    const before = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: oidc }));

    await server.stop();
    server = await startTestServer({ dataDir });
    iam = new IAMClient(server.config);
    const after = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: oidc }));
    expect({ ...after, $metadata: undefined }).toEqual({ ...before, $metadata: undefined });
    expect((await iam.send(new GetSAMLProviderCommand({ SAMLProviderArn: saml }))).SAMLMetadataDocument).toBe(idp.metadata);
    expect((await iam.send(new GetServiceLinkedRoleDeletionStatusCommand({ DeletionTaskId: task }))).Status).toBe("FAILED");
    const creds = { accessKeyId: out.Credentials!.AccessKeyId!, secretAccessKey: out.Credentials!.SecretAccessKey!, sessionToken: out.Credentials!.SessionToken! };
    expect((await new STSClient(server.configFor(creds)).send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/ci/run`);
  });
});
