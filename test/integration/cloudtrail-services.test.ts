/** CloudTrail with the real IAM, STS and KMS: principals from IAM and STS, KMS events in history and trails. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gunzipSync } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, PutEventSelectorsCommand, StartLoggingCommand, StopLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateKeyCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createTrailBucket, lookupAll, recordOf } from "./cloudtrail-helpers.ts";

let s: TestServer;
let ct: CloudTrailClient;

beforeAll(async () => {
  s = await startTestServer();
  ct = new CloudTrailClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

describe("principals from IAM and STS", () => {
  it("records an IAM user, then the role session it assumes", async () => {
    const iam = new IAMClient(s.config);
    await iam.send(new CreateUserCommand({ UserName: "carol" }));
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "carol",
        PolicyName: "assume",
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] }),
      }),
    );
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "carol" }))).AccessKey!;
    const role = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: "Inspector",
          AssumeRolePolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/carol` }, Action: "sts:AssumeRole" }],
          }),
        }),
      )
    ).Role!;
    const carol = new STSClient(s.configFor({ accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! }));
    const me = await carol.send(new GetCallerIdentityCommand({}));
    const assumed = await carol.send(new AssumeRoleCommand({ RoleArn: role.Arn, RoleSessionName: "inspection" }));
    const c = assumed.Credentials!;
    const session = new STSClient(s.configFor({ accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! }));
    const viaRole = await session.send(new GetCallerIdentityCommand({}));

    const records = (await lookupAll(ct, "EventName", "GetCallerIdentity")).map(recordOf);
    const userRec = records.find((r) => r.requestID === me.$metadata.requestId)!;
    expect(userRec.userIdentity).toEqual({
      type: "IAMUser",
      principalId: me.UserId,
      arn: `arn:aws:iam::${ACCOUNT}:user/carol`,
      accountId: ACCOUNT,
      accessKeyId: key.AccessKeyId,
      userName: "carol",
    });
    const roleRec = records.find((r) => r.requestID === viaRole.$metadata.requestId)!;
    expect(roleRec.userIdentity).toMatchObject({
      type: "AssumedRole",
      principalId: `${role.RoleId}:inspection`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Inspector/inspection`,
      accountId: ACCOUNT,
      accessKeyId: c.AccessKeyId,
      sessionContext: {
        sessionIssuer: { type: "Role", principalId: role.RoleId, arn: role.Arn, accountId: ACCOUNT, userName: "Inspector" },
        attributes: { mfaAuthenticated: "false" },
      },
    });
    expect(roleRec.userIdentity.sessionContext.attributes.creationDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await lookupAll(ct, "Username", "inspection")).map((e) => recordOf(e).requestID)).toContain(viaRole.$metadata.requestId);
    expect((await lookupAll(ct, "Username", "carol")).map((e) => recordOf(e).requestID)).toContain(me.$metadata.requestId);
    expect((await lookupAll(ct, "AccessKeyId", c.AccessKeyId!)).map((e) => e.EventName)).toContain("GetCallerIdentity");
    // The IAM calls themselves are in history (IAM is global: recorded in us-east-1).
    const created = (await lookupAll(ct, "EventName", "CreateUser")).map(recordOf);
    expect(created.some((r) => r.eventSource === "iam.amazonaws.com" && r.awsRegion === "us-east-1")).toBe(true);
  });
});

describe("KMS events", () => {
  it("are in event history by key ARN, and a trail can exclude them", async () => {
    const s3 = new S3Client({ ...s.config, forcePathStyle: true });
    await createTrailBucket(s3, "kms-all");
    await createTrailBucket(s3, "kms-none");
    await ct.send(new CreateTrailCommand({ Name: "kms-all", S3BucketName: "kms-all" }));
    await ct.send(new CreateTrailCommand({ Name: "kms-none", S3BucketName: "kms-none" }));
    await ct.send(
      new PutEventSelectorsCommand({
        TrailName: "kms-none",
        EventSelectors: [{ ReadWriteType: "All", IncludeManagementEvents: true, ExcludeManagementEventSources: ["kms.amazonaws.com"] }],
      }),
    );
    await ct.send(new StartLoggingCommand({ Name: "kms-all" }));
    await ct.send(new StartLoggingCommand({ Name: "kms-none" }));

    const kms = new KMSClient(s.config);
    const key = (await kms.send(new CreateKeyCommand({ Description: "audited" }))).KeyMetadata!;
    const enc = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from("secret"), EncryptionContext: { purpose: "audit" } }));
    const byKey = await lookupAll(ct, "ResourceName", key.Arn!);
    const names = byKey.map((e) => e.EventName);
    expect(names).toContain("Encrypt");
    const encRec = byKey.map(recordOf).find((r) => r.requestID === enc.$metadata.requestId)!;
    expect(encRec).toMatchObject({ eventSource: "kms.amazonaws.com", readOnly: true, resources: [{ type: "AWS::KMS::Key", ARN: key.Arn }] });
    expect(JSON.stringify(encRec)).not.toContain(Buffer.from("secret").toString("base64"));
    expect(byKey.find((e) => e.EventName === "Encrypt")!.Resources).toContainEqual({ ResourceType: "AWS::KMS::Key", ResourceName: key.Arn });

    await s.advanceClock(600);
    const sources = async (bucket: string) => {
      const out: string[] = [];
      for (const o of (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []) {
        const body = gunzipSync(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }))).Body!.transformToByteArray()));
        out.push(...(JSON.parse(body.toString()).Records as { eventSource: string }[]).map((r) => r.eventSource));
      }
      return out;
    };
    expect(await sources("kms-all")).toContain("kms.amazonaws.com");
    const none = await sources("kms-none");
    expect(none).not.toContain("kms.amazonaws.com");
    expect(none).toContain("cloudtrail.amazonaws.com");
    await ct.send(new StopLoggingCommand({ Name: "kms-all" }));
    await ct.send(new StopLoggingCommand({ Name: "kms-none" }));
  });
});
