/**
 * Policy documents stay cheap to evaluate: wildcard patterns that a backtracking matcher takes
 * minutes over are decided at once, and every kind of document is held to AWS's size quota.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateRoleCommand, CreateUserCommand, GetUserCommand, IAMClient, PutUserPolicyCommand, UpdateAssumeRolePolicyCommand } from "@aws-sdk/client-iam";
import { CreateKeyCommand, DescribeKeyCommand, KMSClient, PutKeyPolicyCommand } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { allow, deny, doc, expectAwsError, trustAccount, userWithKey, ACCOUNT } from "./iam-helpers.ts";
import { expectKmsError, rootStatement } from "./kms-helpers.ts";

/** The pattern a backtracking matcher spends minutes on against any ARN. */
const PATHOLOGICAL = "arn:*?*?*?*?*?*?*?*?#";

let server: TestServer;
let iam: IAMClient;
let kms: KMSClient;

beforeAll(async () => {
  server = await startTestServer();
  // The SDKs retry LimitExceededException as throttling; one attempt is enough here.
  iam = new IAMClient({ ...server.config, maxAttempts: 1 });
  kms = new KMSClient({ ...server.config, maxAttempts: 1 });
});
afterAll(async () => server?.close());

describe("pathological wildcard patterns", () => {
  it("a key policy statement with the pattern is evaluated at once", async () => {
    const policy = doc([rootStatement(), { Effect: "Deny", Principal: "*", Action: "kms:DescribeKey", Resource: PATHOLOGICAL }]);
    const key = await kms.send(new CreateKeyCommand({ Policy: policy }));
    const d = await kms.send(new DescribeKeyCommand({ KeyId: key.KeyMetadata!.KeyId }));
    expect(d.KeyMetadata!.KeyState).toBe("Enabled");
  });

  it("an IAM policy with the pattern (in Resource and in StringLike) is evaluated at once", async () => {
    const name = "pathological-pattern-user-with-a-long-name";
    const creds = await userWithKey(
      iam,
      name,
      doc([allow("iam:GetUser", "*"), deny("iam:GetUser", PATHOLOGICAL), deny("iam:GetUser", "*", { Condition: { StringLike: { "aws:username": "*?*?*?*?*?*?*?*?#" } } })]),
    );
    const asUser = new IAMClient(server.configFor(creds));
    expect((await asUser.send(new GetUserCommand({}))).User!.UserName).toBe(name);
  });
});

describe("policy size quotas", () => {
  const padded = (n: number) =>
    doc([
      rootStatement(),
      {
        Sid: "pad",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: "kms:DescribeKey",
        Resource: "*",
        Condition: { StringEquals: { "kms:CallerAccount": "x".repeat(n) } },
      },
    ]);

  it("KMS refuses a key policy over 32 KB with LimitExceededException, on CreateKey and PutKeyPolicy", async () => {
    const big = padded(33_000);
    expect(Buffer.byteLength(big)).toBeGreaterThan(32_768);
    await expectKmsError(kms.send(new CreateKeyCommand({ Policy: big })), "LimitExceededException");
    const key = await kms.send(new CreateKeyCommand({}));
    await expectKmsError(kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyMetadata!.KeyId, PolicyName: "default", Policy: big })), "LimitExceededException");
    // Just under the quota is accepted.
    const fits = padded(32_768 - padded(0).length);
    expect(Buffer.byteLength(fits)).toBe(32_768);
    await kms.send(new PutKeyPolicyCommand({ KeyId: key.KeyMetadata!.KeyId, PolicyName: "default", Policy: fits }));
  });

  it("IAM refuses a role trust policy over 2,048 characters (whitespace not counted)", async () => {
    const big = doc(
      Array.from({ length: 30 }, (_, n) => ({ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/some-long-user-name-${n}` }, Action: "sts:AssumeRole" })),
    );
    expect(big.replace(/\s+/g, "").length).toBeGreaterThan(2048);
    await expectAwsError(
      iam.send(new CreateRoleCommand({ RoleName: "big-trust", AssumeRolePolicyDocument: big })),
      "LimitExceededException",
      409,
      "Cannot exceed quota for ACLSizePerRole: 2048",
    );
    await iam.send(new CreateRoleCommand({ RoleName: "small-trust", AssumeRolePolicyDocument: trustAccount() }));
    await expectAwsError(
      iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "small-trust", PolicyDocument: big })),
      "LimitExceededException",
      409,
      "Cannot exceed quota for ACLSizePerRole: 2048",
    );
    // Whitespace does not count: the same small policy, pretty-printed past 2,048 characters, fits.
    const spaced = trustAccount().replace("{", `{${" ".repeat(3000)}`);
    expect(spaced.length).toBeGreaterThan(2048);
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: "small-trust", PolicyDocument: spaced }));
  });

  it("an oversized inline policy is refused before it is parsed", async () => {
    await iam.send(new CreateUserCommand({ UserName: "big-and-broken" }));
    const broken = `{"Version":"2012-10-17","Statement":[${"x".repeat(3000)}`;
    await expectAwsError(
      iam.send(new PutUserPolicyCommand({ UserName: "big-and-broken", PolicyName: "p", PolicyDocument: broken })),
      "LimitExceededException",
      409,
      "Maximum policy size of 2048 bytes exceeded for user big-and-broken",
    );
  });

  it("STS refuses a session policy over 2,048 characters", async () => {
    const role = await iam.send(new CreateRoleCommand({ RoleName: "session-quota", AssumeRolePolicyDocument: trustAccount() }));
    const creds = await userWithKey(iam, "session-caller", doc([allow("sts:AssumeRole")]));
    const asUser = new STSClient(server.configFor(creds));
    const big = doc([allow(Array.from({ length: 150 }, (_, n) => `s3:GetObject${n}`))]);
    expect(big.length).toBeGreaterThan(2048);
    await expectAwsError(
      asUser.send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn, RoleSessionName: "sess", Policy: big })),
      "ValidationError",
      400,
      /at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048$/,
    );
  });
});
