/** Secrets and SecureString parameters survive a restart and still decrypt; AWS managed keys are made once. */
import { describe, it, expect, afterAll } from "vitest";
import { SecretsManagerClient, CreateSecretCommand, GetSecretValueCommand, DeleteSecretCommand, DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { SSMClient, PutParameterCommand, GetParameterCommand } from "@aws-sdk/client-ssm";
import { KMSClient, ListAliasesCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { expectAwsError } from "./iam-helpers.ts";

let s: TestServer | undefined;
afterAll(async () => {
  await s?.close();
});

describe("secrets at rest across a restart", () => {
  it("keeps secrets, versions, parameters and scheduled deletions, and decrypts them after the restart", async () => {
    s = await startTestServer();
    const sm = new SecretsManagerClient(s.config);
    await sm.send(new CreateSecretCommand({ Name: "kept", SecretString: "before-restart" }));
    await sm.send(new CreateSecretCommand({ Name: "doomed", SecretString: "x" }));
    await sm.send(new DeleteSecretCommand({ SecretId: "doomed", RecoveryWindowInDays: 7 }));
    await new SSMClient(s.config).send(new PutParameterCommand({ Name: "/kept", Value: "secure-before", Type: "SecureString" }));
    const dataDir = s.dataDir;
    await s.stop();
    s = await startTestServer({ dataDir });
    const sm2 = new SecretsManagerClient(s.config);
    expect((await sm2.send(new GetSecretValueCommand({ SecretId: "kept" }))).SecretString).toBe("before-restart");
    expect((await new SSMClient(s.config).send(new GetParameterCommand({ Name: "/kept", WithDecryption: true }))).Parameter!.Value).toBe("secure-before");
    expect((await sm2.send(new DescribeSecretCommand({ SecretId: "doomed" }))).DeletedDate).toBeDefined();
    await s.advanceClock(8 * 86400);
    await expectAwsError(sm2.send(new DescribeSecretCommand({ SecretId: "doomed" })), "ResourceNotFoundException", 400);
  });

  it("concurrent first uses in a Region create one AWS managed key", async () => {
    const west = s!.configFor({ accessKeyId: "test", secretAccessKey: "test" }, "eu-west-1");
    const sm = new SecretsManagerClient(west);
    await Promise.all(Array.from({ length: 6 }, (_, n) => sm.send(new CreateSecretCommand({ Name: `c${n}`, SecretString: "v" }))));
    const kms = new KMSClient(west);
    expect((await kms.send(new ListAliasesCommand({}))).Aliases!.filter((a) => a.AliasName === "alias/aws/secretsmanager")).toHaveLength(1);
    expect((await kms.send(new ListKeysCommand({}))).Keys).toHaveLength(1);
  });
});
