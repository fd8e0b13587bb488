/**
 * Secrets in tasks: container `secrets` from Secrets Manager (with the json-key suffix) and SSM,
 * `environmentFiles` from S3 and `repositoryCredentials`, resolved at launch as the execution
 * role, delivered only as the container's environment; a missing permission or a disabled key
 * stops the task with AWS's ResourceInitializationError.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { ECSClient, CreateClusterCommand, RunTaskCommand, DescribeTasksCommand, RegisterTaskDefinitionCommand, type ContainerDefinition } from "@aws-sdk/client-ecs";
import { IAMClient, CreateRoleCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { KMSClient, CreateKeyCommand, DisableKeyCommand, EnableKeyCommand } from "@aws-sdk/client-kms";
import { SecretsManagerClient, CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { SSMClient, PutParameterCommand } from "@aws-sdk/client-ssm";
import { S3Client, CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startTestServer, type TestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, stopped, waitTask } from "./ecs-helpers.ts";
import { allow, doc, expectAwsError } from "./iam-helpers.ts";
import { lookupAll, recordOf } from "./cloudtrail-helpers.ts";

const CLUSTER = "secrets";
const PASSWORD = "pw-5f3c2a-PLAINTEXT";
const TOKEN = "tok-9e81d0-PLAINTEXT";
const FILE_VALUE = "file-77aa-PLAINTEXT";

let s: TestServer;
let ecs: ECSClient;
let kms: KMSClient;
let iam: IAMClient;
let keyId: string;
let secretArn: string;
let execRole: string;

const trustEcsTasks = doc([{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }]);

async function role(name: string, actions: string[]): Promise<string> {
  const r = (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trustEcsTasks }))).Role!;
  await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: "exec", PolicyDocument: doc([allow(actions)]) }));
  return r.Arn!;
}

/** A shell test that the variable's SHA-256 is the value's, so the value itself is nowhere in the task definition. */
const hashIs = (name: string, value: string) => `test "$(printf %s "$${name}" | sha256sum | cut -d' ' -f1)" = ${createHash("sha256").update(value).digest("hex")}`;

/** A task whose only container checks its environment and exits 0 when every value arrived. */
async function runChecker(family: string, roleArn: string, container: Partial<ContainerDefinition>, script: string) {
  const td = await registerSleeper(ecs, family, [{ name: "app", image: "busybox", command: ["sh", "-c", script], essential: true, ...container }], { executionRoleArn: roleArn });
  const out = await ecs.send(new RunTaskCommand({ cluster: CLUSTER, taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }));
  return waitTask(ecs, CLUSTER, out.tasks![0].taskArn!, stopped);
}

beforeAll(async () => {
  s = await startTestServer();
  ecs = new ECSClient(s.config);
  kms = new KMSClient(s.config);
  iam = new IAMClient(s.config);
  await ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
  keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const sm = new SecretsManagerClient(s.config);
  secretArn = (await sm.send(new CreateSecretCommand({ Name: "db", SecretString: JSON.stringify({ password: PASSWORD, user: "app" }), KmsKeyId: keyId }))).ARN!;
  await sm.send(new CreateSecretCommand({ Name: "registry", SecretString: JSON.stringify({ username: "u", password: "p" }) }));
  await new SSMClient(s.config).send(new PutParameterCommand({ Name: "/app/token", Value: TOKEN, Type: "SecureString" }));
  const s3 = new S3Client({ ...s.config, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: "env-files" }));
  await s3.send(new PutObjectCommand({ Bucket: "env-files", Key: "app.env", Body: `# comment\nFROM_FILE=${FILE_VALUE}\nOVERRIDDEN=from-file\n` }));
  execRole = await role("exec", ["secretsmanager:GetSecretValue", "ssm:GetParameters", "kms:Decrypt", "s3:GetObject"]);
});
afterAll(async () => {
  await s?.close();
});

describe("secrets delivered to the container", () => {
  it("resolves Secrets Manager (json key), SSM and S3 env files as the execution role, into the environment only", async () => {
    // the command holds only hashes of the values: the task definition is stored as it is given
    const script = [
      hashIs("PW", PASSWORD),
      hashIs("TOKEN", TOKEN),
      hashIs("TOKEN_BY_ARN", TOKEN),
      hashIs("FROM_FILE", FILE_VALUE),
      `test "$OVERRIDDEN" = from-environment`,
      hashIs("WHOLE", JSON.stringify({ password: PASSWORD, user: "app" })),
    ].join(" && ");
    const t = await runChecker(
      "with-secrets",
      execRole,
      {
        secrets: [
          { name: "PW", valueFrom: `${secretArn}:password::` },
          { name: "WHOLE", valueFrom: secretArn },
          { name: "TOKEN", valueFrom: "/app/token" },
          { name: "TOKEN_BY_ARN", valueFrom: "arn:aws:ssm:us-east-1:000000000000:parameter/app/token" },
        ],
        environment: [{ name: "OVERRIDDEN", value: "from-environment" }],
        environmentFiles: [{ value: "arn:aws:s3:::env-files/app.env", type: "s3" }],
        repositoryCredentials: { credentialsParameter: secretArn.replace(/:secret:db-.*/, ":secret:registry") },
      },
      script,
    );
    expect(t.stoppedReason).toBe("Essential container in task exited");
    expect(t.containers![0].exitCode).toBe(0);
    // never in DescribeTasks, never on disk in plaintext
    const described = JSON.stringify(await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [t.taskArn!] })));
    for (const v of [PASSWORD, TOKEN, FILE_VALUE]) expect(described).not.toContain(v);
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
    for (const f of walk(s.dataDir)) {
      if (f.endsWith("localfargate.lock")) continue;
      const bytes = readFileSync(f);
      // (the env file's own value is in the S3 object the test stored, where its owner put it)
      for (const v of [PASSWORD, TOKEN]) expect(bytes.includes(v), `${v} in ${f}`).toBe(false);
    }
    // CloudTrail: the execution role's session read the secret, and KMS decrypted through Secrets Manager for it
    const events = (await lookupAll(new CloudTrailClient(s.config))).map(recordOf);
    const read = events.find((e) => e.eventName === "GetSecretValue" && e.requestParameters?.secretId === secretArn)!;
    expect(read.userIdentity.arn).toBe(`arn:aws:sts::000000000000:assumed-role/exec/${t.taskArn!.split("/").pop()}`);
    const decrypt = events.find((e) => e.eventName === "Decrypt" && e.requestParameters?.encryptionContext?.SecretARN === secretArn && e.userIdentity.type === "AssumedRole");
    expect(decrypt).toBeDefined();
  });
});

describe("refusals stop the task with AWS's ResourceInitializationError", () => {
  it("an execution role without kms:Decrypt on the secret's customer managed key", async () => {
    const noKms = await role("exec-no-kms", ["secretsmanager:GetSecretValue"]);
    const t = await runChecker("no-kms", noKms, { secrets: [{ name: "PW", valueFrom: secretArn }] }, "exit 0");
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toBe(
      `ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret ${secretArn} from secrets manager: AccessDeniedException: Access to KMS is not allowed status code: 400`,
    );
    expect(t.containers![0].exitCode).toBeUndefined();
  });

  it("an execution role without ssm:GetParameters", async () => {
    const noSsm = await role("exec-no-ssm", ["secretsmanager:GetSecretValue", "kms:Decrypt"]);
    const t = await runChecker("no-ssm", noSsm, { secrets: [{ name: "TOKEN", valueFrom: "/app/token" }] }, "exit 0");
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(
      /^ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time\(s\): AccessDeniedException: .*ssm:GetParameters/,
    );
  });

  it("a parameter that does not exist", async () => {
    const t = await runChecker("missing-param", execRole, { secrets: [{ name: "X", valueFrom: "/app/missing" }] }, "exit 0");
    expect(t.stoppedReason).toBe(
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: /app/missing",
    );
  });

  it("a disabled key", async () => {
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    try {
      const t = await runChecker("disabled-key", execRole, { secrets: [{ name: "PW", valueFrom: secretArn }] }, "exit 0");
      expect(t.stopCode).toBe("TaskFailedToStart");
      expect(t.stoppedReason).toMatch(/^ResourceInitializationError: unable to pull secrets or registry auth: .*DecryptionFailure: /);
    } finally {
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    }
  });

  it("an environment file the role may not read", async () => {
    const noS3 = await role("exec-no-s3", ["secretsmanager:GetSecretValue", "kms:Decrypt"]);
    const t = await runChecker("no-s3", noS3, { environmentFiles: [{ value: "arn:aws:s3:::env-files/app.env", type: "s3" }] }, "exit 0");
    expect(t.stoppedReason).toMatch(/^ResourceInitializationError: failed to download env files: .*AccessDenied/);
  });

  it("a missing json key", async () => {
    const t = await runChecker("no-key", execRole, { secrets: [{ name: "PW", valueFrom: `${secretArn}:nope::` }] }, "exit 0");
    expect(t.stoppedReason).toBe(
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: retrieved secret from Secrets Manager did not contain json key nope",
    );
  });

  it("a role ECS may not assume", async () => {
    const r = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: "not-for-ecs",
          AssumeRolePolicyDocument: doc([{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::000000000000:root" }, Action: "sts:AssumeRole" }]),
        }),
      )
    ).Role!;
    const t = await runChecker("bad-trust", r.Arn!, { secrets: [{ name: "PW", valueFrom: secretArn }] }, "exit 0");
    expect(t.stopCode).toBe("TaskFailedToStart");
    expect(t.stoppedReason).toMatch(/^ResourceInitializationError: unable to pull secrets or registry auth: .*unable to assume the task execution role/);
  });

  it("a task definition with secrets needs an execution role", async () => {
    await expectAwsError(
      ecs.send(
        new RegisterTaskDefinitionCommand({
          family: "no-role",
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: "256",
          memory: "512",
          containerDefinitions: [{ name: "app", image: "busybox", secrets: [{ name: "PW", valueFrom: secretArn }] }],
        }),
      ),
      "ClientException",
      400,
      "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
    );
  });
});
