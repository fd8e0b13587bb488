/**
 * A customer managed key of one account used by another, as AWS documents
 * (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html):
 * the key policy names the other account, that account's IAM policy allows the key's ARN, and
 * then the other account encrypts with it and its clusters use it for Fargate ephemeral storage.
 * Without the IAM policy (for an IAM user) or without the key policy, it is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateClusterCommand, ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import { allow, doc, expectAwsError, userWithKey, type Creds } from "./iam-helpers.ts";
import { NETWORK, registerSleeper, running, waitTask } from "./ecs-helpers.ts";

const OWNER = "000000000000";
const USER_ACCOUNT = "666666666666";
const CLUSTER = "shared-key";

let s: TestServer;
let keyArn: string;
let user: Creds;
const rootB: Creds = { accessKeyId: USER_ACCOUNT, secretAccessKey: "test" };

/** The owner's key: its own account, the other account (use and DescribeKey), and Fargate for the other account's cluster. */
function sharedKeyPolicy(): string {
  const ctx = { "kms:EncryptionContext:aws:ecs:clusterAccount": [USER_ACCOUNT], "kms:EncryptionContext:aws:ecs:clusterName": [CLUSTER] };
  return doc([
    { Sid: "Owner", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${OWNER}:root` }, Action: "kms:*", Resource: "*" },
    {
      Sid: "External account",
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${USER_ACCOUNT}:root` },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
      Resource: "*",
    },
    {
      Sid: "Fargate data keys",
      Effect: "Allow",
      Principal: { Service: "fargate.amazonaws.com" },
      Action: "kms:GenerateDataKeyWithoutPlaintext",
      Resource: "*",
      Condition: { StringEquals: ctx },
    },
    {
      Sid: "Fargate grants",
      Effect: "Allow",
      Principal: { Service: "fargate.amazonaws.com" },
      Action: "kms:CreateGrant",
      Resource: "*",
      Condition: { StringEquals: ctx, "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt"] } },
    },
  ]);
}

beforeAll(async () => {
  s = await startTestServer();
  keyArn = (await new KMSClient(s.config).send(new CreateKeyCommand({ Policy: sharedKeyPolicy() }))).KeyMetadata!.Arn!;
  user = await userWithKey(new IAMClient(s.configFor(rootB)), "ops");
});
afterAll(async () => {
  await s?.close();
});

describe("a key shared with another account", () => {
  it("needs the other account's IAM policy as well as the key policy", async () => {
    const kms = new KMSClient(s.configFor(user));
    await expectAwsError(
      kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from("x") })),
      "AccessDeniedException",
      400,
      /because no identity-based policy allows the kms:Encrypt action$/,
    );
    await new IAMClient(s.configFor(rootB)).send(
      new PutUserPolicyCommand({
        UserName: "ops",
        PolicyName: "shared-key",
        PolicyDocument: doc([allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"], keyArn)]),
      }),
    );
    const ct = await kms.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from("secret") }));
    expect(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }))).Plaintext!).toString()).toBe("secret");
  });

  it("is refused to an account the key policy does not name", async () => {
    await expectAwsError(
      new KMSClient(s.configFor({ accessKeyId: "777777777777", secretAccessKey: "test" })).send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from("x") })),
      "AccessDeniedException",
      400,
      /because no resource-based policy allows the kms:Encrypt action$/,
    );
  });

  it("encrypts the other account's Fargate tasks' ephemeral storage", async () => {
    const ecs = new ECSClient(s.configFor(rootB));
    const cluster = await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER, configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: keyArn } } }));
    expect(cluster.cluster!.configuration!.managedStorageConfiguration!.fargateEphemeralStorageKmsKeyId).toBe(keyArn);
    const td = await registerSleeper(ecs, "shared");
    const task = (await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0];
    const up = await waitTask(ecs, CLUSTER, task.taskArn!, running);
    expect(up.fargateEphemeralStorage?.kmsKeyId).toBe(keyArn);
    // another cluster name is not in the key policy's Fargate statements
    await expectAwsError(
      ecs.send(new CreateClusterCommand({ clusterName: "other", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: keyArn } } })),
      "ClientException",
      400,
      /does not allow Fargate/,
    );
  });
});
