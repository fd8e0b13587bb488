/**
 * Who may use a key: the key policy is authoritative (IAM policies count only when it
 * delegates to the account), direct key-policy grants, explicit denies, KMS condition keys,
 * cross-account use, and Fargate's service-principal calls authorized by the documented key
 * policy statements (docs/ecs-fargate.md#the-key-policy-fargate-needs).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  UpdateAliasCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListGrantsCommand,
  PutKeyPolicyCommand,
  ScheduleKeyDeletionCommand,
  DisableKeyCommand,
  type KeyMetadata,
} from "@aws-sdk/client-kms";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { servicePrincipal } from "../../src/auth/principal.ts";
import { ServiceError } from "../../src/kernel/errors.ts";
import { createVolumeKey, decryptVolumeKey, dryRunChecks, retireVolumeGrant } from "../../src/fargate/kms-calls.ts";
import { invokeFargateKms } from "../../src/services/ecs/fargate-port.ts";
import { resolveKeyForEcs } from "../../src/services/kms/index.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, REGION, addPrincipal, allow, createKey, deny, doc, expectKmsError, rootStatement, text, trailRecords, utf8 } from "./kms-helpers.ts";

let s: TestServer;
let kms: KMSClient;
beforeAll(async () => {
  s = await startTestServer();
  kms = new KMSClient(s.config);
});
afterAll(async () => {
  await s.close();
});

async function expectInvokeError(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  let e: unknown;
  try {
    await p;
  } catch (x) {
    e = x;
  }
  expect(e).toBeInstanceOf(ServiceError);
  expect((e as ServiceError).code).toBe(code);
  if (message) expect((e as ServiceError).message).toMatch(message);
}

describe("the key policy is authoritative", () => {
  it("an IAM allow works only when the key policy delegates to the account", async () => {
    const alice = addPrincipal(s, "user", "alice", [doc([allow("kms:*")])]);
    const aliceKms = new KMSClient(alice.config);
    const delegating = await createKey(kms);
    await aliceKms.send(new EncryptCommand({ KeyId: delegating.Arn, Plaintext: utf8("ok") }));
    const someRole = `arn:aws:iam::${ACCOUNT}:role/KeyAdmin`;
    const closed = await createKey(kms, {
      Policy: doc([{ Effect: "Allow", Principal: { AWS: someRole }, Action: "kms:*", Resource: "*" }]),
      BypassPolicyLockoutSafetyCheck: true,
    });
    await expectKmsError(
      aliceKms.send(new EncryptCommand({ KeyId: closed.Arn, Plaintext: utf8("no") })),
      "AccessDeniedException",
      `User: ${alice.arn} is not authorized to perform: kms:Encrypt on resource: ${closed.Arn} because no resource-based policy allows the kms:Encrypt action`,
    );
    // the account root is shut out too: the policy does not name the account
    await expectKmsError(kms.send(new DescribeKeyCommand({ KeyId: closed.KeyId })), "AccessDeniedException");
  });

  it("a key policy naming a user grants directly, without any IAM policy", async () => {
    const bob = addPrincipal(s, "user", "bob-direct");
    const bobKms = new KMSClient(bob.config);
    const key = await createKey(kms, {
      Policy: doc([rootStatement(), { Sid: "bob uses", Effect: "Allow", Principal: { AWS: bob.arn }, Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*" }]),
    });
    const enc = await bobKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("direct") }));
    expect(text((await bobKms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext)).toBe("direct");
    await expectKmsError(bobKms.send(new DescribeKeyCommand({ KeyId: key.Arn })), "AccessDeniedException");
    await expectKmsError(bobKms.send(new ScheduleKeyDeletionCommand({ KeyId: key.Arn })), "AccessDeniedException");
  });

  it("a key policy naming a role grants to its sessions", async () => {
    const worker = addPrincipal(s, "role", "kms-worker");
    const key = await createKey(kms, {
      Policy: doc([rootStatement(), { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/kms-worker` }, Action: "kms:GenerateDataKey", Resource: "*" }]),
    });
    const dk = await new KMSClient(worker.config).send(new GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256" }));
    expect(dk.Plaintext).toHaveLength(32);
  });

  it("explicit denies win, in the key policy or in IAM", async () => {
    const carl = addPrincipal(s, "user", "carl", [doc([allow("kms:*")])]);
    const carlKms = new KMSClient(carl.config);
    const key = await createKey(kms, {
      Policy: doc([rootStatement(), { Effect: "Deny", Principal: { AWS: carl.arn }, Action: "kms:Decrypt", Resource: "*" }]),
    });
    const enc = await carlKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") }));
    await expectKmsError(
      carlKms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })),
      "AccessDeniedException",
      `User: ${carl.arn} is not authorized to perform: kms:Decrypt on resource: ${key.Arn} with an explicit deny in a resource-based policy`,
    );
    const denied = (await trailRecords(s, "Decrypt")).find((r) => r.userIdentity?.arn === carl.arn)!;
    expect(denied.errorCode).toBe("AccessDeniedException");
    expect(denied.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: key.Arn }]);
    carl.setPolicies([doc([allow("kms:*"), deny("kms:Encrypt", key.Arn!)])]);
    await expectKmsError(carlKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") })), "AccessDeniedException", /explicit deny in an? identity-based policy/);
  });

  it("evaluates KMS condition keys: encryption context, context keys, caller account, request alias", async () => {
    const eve = addPrincipal(s, "user", "eve");
    const eveKms = new KMSClient(eve.config);
    const key = await createKey(kms, {
      Policy: doc([
        rootStatement(),
        {
          Effect: "Allow",
          Principal: { AWS: eve.arn },
          Action: ["kms:Encrypt", "kms:Decrypt"],
          Resource: "*",
          Condition: { StringEquals: { "kms:EncryptionContext:department": "finance", "kms:CallerAccount": ACCOUNT } },
        },
        {
          Effect: "Allow",
          Principal: { AWS: eve.arn },
          Action: "kms:GenerateDataKey",
          Resource: "*",
          Condition: { "ForAllValues:StringEquals": { "kms:EncryptionContextKeys": ["project"] } },
        },
      ]),
    });
    await eveKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), EncryptionContext: { department: "finance" } }));
    await expectKmsError(eveKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x"), EncryptionContext: { department: "sales" } })), "AccessDeniedException");
    await expectKmsError(eveKms.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") })), "AccessDeniedException");
    await eveKms.send(new GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256", EncryptionContext: { project: "p1" } }));
    await eveKms.send(new GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256" })); // ForAllValues passes with no context
    await expectKmsError(
      eveKms.send(new GenerateDataKeyCommand({ KeyId: key.Arn, KeySpec: "AES_256", EncryptionContext: { project: "p1", other: "x" } })),
      "AccessDeniedException",
    );
  });

  it("kms:ResourceAliases follows the aliases that name the key as they are created, moved and deleted", async () => {
    const mallory = addPrincipal(s, "user", "mallory");
    const asMallory = new KMSClient(mallory.config);
    const policy = doc([
      rootStatement(),
      {
        Effect: "Allow",
        Principal: { AWS: mallory.arn },
        Action: "kms:Encrypt",
        Resource: "*",
        Condition: { "ForAnyValue:StringEquals": { "kms:ResourceAliases": "alias/finance-ra" } },
      },
    ]);
    const key = await createKey(kms, { Policy: policy });
    const other = await createKey(kms, { Policy: policy });
    const encrypt = () => asMallory.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") }));
    await expectKmsError(encrypt(), "AccessDeniedException");
    await kms.send(new CreateAliasCommand({ AliasName: "alias/finance-ra", TargetKeyId: key.KeyId }));
    await kms.send(new CreateAliasCommand({ AliasName: "alias/unrelated-ra", TargetKeyId: key.KeyId }));
    await encrypt();
    await kms.send(new UpdateAliasCommand({ AliasName: "alias/finance-ra", TargetKeyId: other.KeyId }));
    await expectKmsError(encrypt(), "AccessDeniedException");
    await asMallory.send(new EncryptCommand({ KeyId: other.Arn, Plaintext: utf8("x") }));
    await kms.send(new DeleteAliasCommand({ AliasName: "alias/finance-ra" }));
    await expectKmsError(asMallory.send(new EncryptCommand({ KeyId: other.Arn, Plaintext: utf8("x") })), "AccessDeniedException");
  });

  it("a key policy condition on kms:ScheduleKeyDeletionPendingWindowInDays", async () => {
    const key = await createKey(kms, {
      Policy: doc([
        rootStatement(),
        {
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "kms:ScheduleKeyDeletion",
          Resource: "*",
          Condition: { NumericLessThan: { "kms:ScheduleKeyDeletionPendingWindowInDays": "30" } },
        },
      ]),
    });
    await expectKmsError(kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 })), "AccessDeniedException");
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 30 }));
  });

  it("IAM-only operations: CreateKey needs an IAM allow", async () => {
    const frank = addPrincipal(s, "user", "frank");
    await expectKmsError(new KMSClient(frank.config).send(new CreateKeyCommand({})), "AccessDeniedException", /kms:CreateKey on resource: \*/);
    frank.setPolicies([doc([allow("kms:CreateKey")])]);
    const md = (await new KMSClient(frank.config).send(new CreateKeyCommand({}))).KeyMetadata!;
    expect(md.KeyState).toBe("Enabled");
  });
});

describe("with real IAM users (the IAM service)", () => {
  async function iamUser(name: string, policy?: string): Promise<{ kms: KMSClient; arn: string }> {
    const iam = new IAMClient(s.config);
    const u = await iam.send(new CreateUserCommand({ UserName: name }));
    if (policy) await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "kms", PolicyDocument: policy }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
    return { kms: new KMSClient(s.configFor({ accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! })), arn: u.User!.Arn! };
  }

  it("an IAM policy counts only when the key policy delegates to the account; a key policy can name the user directly; denies win", async () => {
    const user = await iamUser("kms-iam-user", doc([allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"])]));
    const delegating = await createKey(kms);
    const enc = await user.kms.send(new EncryptCommand({ KeyId: delegating.Arn, Plaintext: utf8("iam") }));
    expect(text((await user.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext)).toBe("iam");
    await expectKmsError(
      user.kms.send(new ScheduleKeyDeletionCommand({ KeyId: delegating.Arn })),
      "AccessDeniedException",
      /because no identity-based policy allows the kms:ScheduleKeyDeletion action/,
    );

    const closed = await createKey(kms, {
      Policy: doc([{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/Admin` }, Action: "kms:*", Resource: "*" }]),
      BypassPolicyLockoutSafetyCheck: true,
    });
    await expectKmsError(
      user.kms.send(new EncryptCommand({ KeyId: closed.Arn, Plaintext: utf8("x") })),
      "AccessDeniedException",
      /because no resource-based policy allows the kms:Encrypt action/,
    );

    const bare = await iamUser("kms-bare-user");
    const direct = await createKey(kms, { Policy: doc([rootStatement(), { Effect: "Allow", Principal: { AWS: bare.arn }, Action: "kms:Encrypt", Resource: "*" }]) });
    await bare.kms.send(new EncryptCommand({ KeyId: direct.Arn, Plaintext: utf8("direct") }));
    await expectKmsError(bare.kms.send(new EncryptCommand({ KeyId: delegating.Arn, Plaintext: utf8("x") })), "AccessDeniedException");

    const denied = await iamUser("kms-denied-user", doc([allow("kms:*"), deny("kms:Decrypt")]));
    const blob = (await denied.kms.send(new EncryptCommand({ KeyId: delegating.Arn, Plaintext: utf8("x") }))).CiphertextBlob;
    await expectKmsError(denied.kms.send(new DecryptCommand({ CiphertextBlob: blob })), "AccessDeniedException", /explicit deny/);
  });
});

describe("cross-account use", () => {
  it("needs the key policy to allow the other account, and the key ARN", async () => {
    const other = new KMSClient(s.configFor({ accessKeyId: "111122223333", secretAccessKey: "test" }));
    const key = await createKey(kms);
    await expectKmsError(other.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("x") })), "AccessDeniedException");
    await kms.send(
      new PutKeyPolicyCommand({
        KeyId: key.KeyId,
        Policy: doc([rootStatement(), { Effect: "Allow", Principal: { AWS: "arn:aws:iam::111122223333:root" }, Action: ["kms:Encrypt", "kms:Decrypt"], Resource: "*" }]),
      }),
    );
    const enc = await other.send(new EncryptCommand({ KeyId: key.Arn, Plaintext: utf8("shared") }));
    expect(text((await other.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext)).toBe("shared");
    // a bare key id names a key in the caller's own account
    await expectKmsError(
      other.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("x") })),
      "NotFoundException",
      `Key 'arn:aws:kms:${REGION}:111122223333:key/${key.KeyId}' does not exist`,
    );
  });
});

describe("Fargate as a service principal (docs/ecs-fargate.md#the-key-policy-fargate-needs)", () => {
  const cluster = "prod";
  const fargatePolicy = (account = ACCOUNT, clusterName = cluster) =>
    doc([
      rootStatement(),
      {
        Sid: "Allow generate data key access for Fargate tasks.",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:GenerateDataKeyWithoutPlainText"],
        Condition: { StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [account], "kms:EncryptionContext:aws:ecs:clusterName": [clusterName] } },
        Resource: "*",
      },
      {
        Sid: "Allow grant creation permission for Fargate tasks.",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:CreateGrant"],
        Condition: {
          StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [account], "kms:EncryptionContext:aws:ecs:clusterName": [clusterName] },
          "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt"] },
        },
        Resource: "*",
      },
      {
        Sid: "Allow describe key permission for cluster operator - CreateCluster and UpdateCluster.",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:role/customer-chosen-role` },
        Action: ["kms:DescribeKey"],
        Resource: "*",
      },
    ]);
  let key: KeyMetadata;
  const fargate = servicePrincipal("fargate.amazonaws.com", ACCOUNT);
  const ctx = { "aws:ecs:clusterAccount": ACCOUNT, "aws:ecs:clusterName": cluster };

  beforeAll(async () => {
    key = await createKey(kms, { Policy: fargatePolicy() });
  });

  it("authorizes the DryRun checks for the right cluster, and refuses another cluster", async () => {
    await dryRunChecks(invokeFargateKms(s.app), key.Arn!, REGION, ACCOUNT, cluster);
    await expectInvokeError(
      dryRunChecks(invokeFargateKms(s.app), key.Arn!, REGION, ACCOUNT, "staging"),
      "AccessDeniedException",
      /fargate\.amazonaws\.com is not authorized to perform: kms:GenerateDataKeyWithoutPlaintext/,
    );
  });

  it("refuses a grant for more than Decrypt (ForAllValues on kms:GrantOperations)", async () => {
    await expectInvokeError(
      s.app.invoke(
        "kms",
        "CreateGrant",
        { KeyId: key.Arn, GranteePrincipal: `fargate.${REGION}.amazonaws.com`, Operations: ["Decrypt", "Encrypt"], Constraints: { EncryptionContextSubset: ctx } },
        { principal: fargate, region: REGION },
      ),
      "AccessDeniedException",
    );
    await expectInvokeError(
      s.app.invoke("kms", "Encrypt", { KeyId: key.Arn, Plaintext: Buffer.from("x"), EncryptionContext: ctx }, { principal: fargate, region: REGION }),
      "AccessDeniedException",
    );
  });

  it("runs the volume key sequence: data key, grant, decrypt through the grant, retire", async () => {
    const vol = "vol-0123456789abcdef0";
    const made = await createVolumeKey(invokeFargateKms(s.app), key.Arn!, REGION, ACCOUNT, cluster, vol);
    expect(made.grantId).toMatch(/^[0-9a-f]{64}$/);
    const grants = (await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants!;
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({
      GranteePrincipal: `fargate.${REGION}.amazonaws.com`,
      RetiringPrincipal: `ec2.${REGION}.amazonaws.com`,
      Operations: ["Decrypt"],
      Constraints: { EncryptionContextSubset: { ...ctx, "aws:ebs:id": vol } },
    });
    const dataKey = await decryptVolumeKey(invokeFargateKms(s.app), key.Arn!, REGION, ACCOUNT, cluster, vol, made.encryptedDataKey, made.grantToken);
    expect(dataKey).toHaveLength(64);
    // the owner sees the same plaintext
    const own = await kms.send(new DecryptCommand({ CiphertextBlob: made.encryptedDataKey, EncryptionContext: { ...ctx, "aws:ebs:id": vol } }));
    expect(Buffer.from(own.Plaintext!).equals(dataKey)).toBe(true);
    // the grant is for this volume only
    await expectInvokeError(
      decryptVolumeKey(invokeFargateKms(s.app), key.Arn!, REGION, ACCOUNT, cluster, "vol-0fffffffffffffff0", made.encryptedDataKey, made.grantToken),
      "AccessDeniedException",
    );
    await retireVolumeGrant(invokeFargateKms(s.app), key.Arn!, REGION, ACCOUNT, made.grantId);
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.KeyId }))).Grants).toEqual([]);
    await expectInvokeError(decryptVolumeKey(invokeFargateKms(s.app), key.Arn!, REGION, ACCOUNT, cluster, vol, made.encryptedDataKey, made.grantToken), "AccessDeniedException");
  });

  it("records Fargate's calls like AWS's samples", async () => {
    const gdk = (await trailRecords(s, "GenerateDataKeyWithoutPlaintext")).filter((r) => r.resources?.[0]?.ARN === key.Arn);
    const dry = gdk.find((r) => r.requestParameters?.dryRun === true && r.requestParameters.encryptionContext["aws:ecs:clusterName"] === cluster)!;
    expect(dry.userIdentity).toEqual({ type: "AWSService", invokedBy: "fargate.amazonaws.com" });
    expect(dry.errorCode).toBe("DryRunOperationException");
    expect(dry.errorMessage).toBe("The request would have succeeded, but the DryRun option is set.");
    const refused = gdk.find((r) => r.requestParameters?.encryptionContext?.["aws:ecs:clusterName"] === "staging")!;
    expect(refused.errorCode).toBe("AccessDeniedException");
    expect(dry.requestParameters).toEqual({ keyId: key.Arn, encryptionContext: ctx, numberOfBytes: 64, dryRun: true });
    expect(dry.resources).toEqual([{ accountId: "AWS Internal", type: "AWS::KMS::Key", ARN: key.Arn }]);
    expect(dry.recipientAccountId).toBe(ACCOUNT);
    const real = gdk.find((r) => !r.errorCode)!;
    expect(real.userIdentity).toEqual({ type: "AWSService", invokedBy: "ec2-frontend-api.amazonaws.com" });
    expect(real.requestParameters.encryptionContext["aws:ebs:id"]).toMatch(/^vol-/);
    const grant = (await trailRecords(s, "CreateGrant")).find((r) => r.resources?.[0]?.ARN === key.Arn && !r.errorCode)!;
    expect(grant.requestParameters).toMatchObject({
      granteePrincipal: `fargate.${REGION}.amazonaws.com`,
      retiringPrincipal: `ec2.${REGION}.amazonaws.com`,
      operations: ["Decrypt"],
    });
    expect(grant.responseElements).toEqual({ grantId: expect.stringMatching(/^[0-9a-f]{64}$/), keyId: key.Arn });
    const retire = (await trailRecords(s, "RetireGrant")).find((r) => r.responseElements?.keyId === key.Arn)!;
    expect(retire.userIdentity).toEqual({ type: "AWSService", invokedBy: "AWS Internal" });
    expect(retire.requestParameters).toBeNull();
    expect(retire.additionalEventData.grantId).toMatch(/^[0-9a-f]{64}$/);
  });

  it("fails Fargate's calls on a disabled key with KMS's error", async () => {
    const k = await createKey(kms, { Policy: fargatePolicy() });
    await kms.send(new DisableKeyCommand({ KeyId: k.KeyId }));
    await expectInvokeError(dryRunChecks(invokeFargateKms(s.app), k.Arn!, REGION, ACCOUNT, cluster), "DisabledException", new RegExp(`^${k.Arn} is disabled\\.$`));
  });
});

describe("resolveKeyForEcs", () => {
  it("resolves ids and ARNs in the given account and region, or throws NotFoundException", async () => {
    const key = await createKey(kms, { MultiRegion: true });
    expect(resolveKeyForEcs(s.app, ACCOUNT, REGION, key.KeyId!)).toEqual({
      arn: key.Arn,
      keySpec: "SYMMETRIC_DEFAULT",
      keyUsage: "ENCRYPT_DECRYPT",
      multiRegion: true,
      state: "Enabled",
    });
    expect(resolveKeyForEcs(s.app, ACCOUNT, REGION, key.Arn!).arn).toBe(key.Arn);
    expect(() => resolveKeyForEcs(s.app, ACCOUNT, "eu-west-1", key.KeyId!)).toThrow(/does not exist/);
    expect(() => resolveKeyForEcs(s.app, ACCOUNT, REGION, "junk")).toThrow("Invalid keyId 'junk'");
  });
});
