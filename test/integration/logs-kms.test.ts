/**
 * Log groups under customer managed keys: the key policy must allow logs.<region>.amazonaws.com
 * with the group's encryption context, events are sealed at rest, a disabled or deleted key
 * refuses reads and writes, and the KMS calls appear in CloudTrail as the service's (docs/logs.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  AssociateKmsKeyCommand,
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  DisassociateKmsKeyCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { DisableKeyCommand, EnableKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createKey, doc, expectKmsError, rootStatement, trailRecords } from "./kms-helpers.ts";
import { groupWithStream, put, serverNow } from "./logs-helpers.ts";

const ACCOUNT = "000000000000";
const REGION = "us-east-1";
const groupArn = (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`;
const refused = (name: string) => `The specified KMS key does not exist or is not allowed to be used with Arn '${groupArn(name)}'`;

/** The key policy statement AWS's guide gives CloudWatch Logs, optionally pinned to one group. */
const logsStatement = (group?: string) => ({
  Effect: "Allow",
  Principal: { Service: `logs.${REGION}.amazonaws.com` },
  Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
  Resource: "*",
  ...(group ? { Condition: { ArnEquals: { "kms:EncryptionContext:aws:logs:arn": groupArn(group) } } } : {}),
});

let s: TestServer;
let logs: CloudWatchLogsClient;
let kms: KMSClient;

beforeAll(async () => {
  s = await startTestServer();
  logs = new CloudWatchLogsClient(s.config);
  kms = new KMSClient(s.config);
});
afterAll(() => s?.close());

/** Every byte the store has written (database and write-ahead log), never the lock file. */
function storedBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir)
      .filter((f) => f.startsWith("localfargate.db"))
      .map((f) => readFileSync(join(dir, f))),
  );
}

describe("log groups under customer managed keys", () => {
  it("a key whose policy does not allow CloudWatch Logs is refused, and no group is made", async () => {
    const key = await createKey(kms);
    await expectKmsError(logs.send(new CreateLogGroupCommand({ logGroupName: "/no-policy", kmsKeyId: key.Arn })), "AccessDeniedException", refused("/no-policy"));
    expect((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/no-policy" }))).logGroups).toEqual([]);
    // a key policy pinned to another group's ARN refuses this one
    const pinned = await createKey(kms, { Policy: doc([rootStatement(), logsStatement("/other")]) });
    await expectKmsError(logs.send(new CreateLogGroupCommand({ logGroupName: "/pinned", kmsKeyId: pinned.Arn })), "AccessDeniedException", refused("/pinned"));
    // a key ID is not an ARN, and a key that does not exist is refused the same way
    await expectKmsError(logs.send(new CreateLogGroupCommand({ logGroupName: "/by-id", kmsKeyId: pinned.KeyId })), "AccessDeniedException", refused("/by-id"));
    await expectKmsError(
      logs.send(new CreateLogGroupCommand({ logGroupName: "/missing", kmsKeyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-0000-0000-000000000000` })),
      "AccessDeniedException",
      refused("/missing"),
    );
  });

  it("events are sealed at rest, read back through the key, and KMS calls are the service's in CloudTrail", async () => {
    const key = await createKey(kms, { Policy: doc([rootStatement(), logsStatement("/secure")]) });
    await groupWithStream(logs, "/secure", "s", key.Arn);
    await groupWithStream(logs, "/plain", "s");
    const d = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/secure" }));
    expect(d.logGroups![0].kmsKeyId).toBe(key.Arn);
    const now = await serverNow(s.url);
    await put(logs, "/secure", "s", [{ timestamp: now, message: "secret-marker-7f3a9c" }]);
    await put(logs, "/plain", "s", [{ timestamp: now, message: "plain-marker-7f3a9c" }]);
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/secure", logStreamName: "s" }));
    expect(got.events!.map((e) => e.message)).toEqual(["secret-marker-7f3a9c"]);
    const bytes = storedBytes(s.dataDir);
    expect(bytes.includes(Buffer.from("plain-marker-7f3a9c"))).toBe(true);
    expect(bytes.includes(Buffer.from("secret-marker-7f3a9c"))).toBe(false);
    const gen = (await trailRecords(s, "GenerateDataKey")).find((r) => r.requestParameters?.encryptionContext?.["aws:logs:arn"] === groupArn("/secure"));
    expect(gen).toBeDefined();
    expect(gen!.userIdentity.type).toBe("AWSService");
    expect(gen!.userIdentity.invokedBy).toBe("logs.amazonaws.com");
    expect(gen!.requestParameters.keyId).toBe(key.Arn);
    expect(gen!.resources[0].ARN).toBe(key.Arn);
    // management calls are recorded; the calls that carry log data are not (their text would leave the key's protection)
    const created = (await trailRecords(s, "CreateLogGroup")).find((r) => r.requestParameters?.logGroupName === "/secure");
    expect(created).toMatchObject({
      eventSource: "logs.amazonaws.com",
      requestParameters: { kmsKeyId: key.Arn },
      resources: [{ ARN: groupArn("/secure"), type: "AWS::Logs::LogGroup" }],
    });
    expect(await trailRecords(s, "PutLogEvents")).toEqual([]);
    expect(await trailRecords(s, "GetLogEvents")).toEqual([]);
  });

  it("a disabled key refuses writes and reads until it is enabled again", async () => {
    const key = await createKey(kms, { Policy: doc([rootStatement(), logsStatement()]) });
    await groupWithStream(logs, "/toggle", "s", key.Arn);
    const now = await serverNow(s.url);
    await put(logs, "/toggle", "s", [{ timestamp: now, message: "before" }]);
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectKmsError(put(logs, "/toggle", "s", [{ timestamp: now, message: "during" }]), "AccessDeniedException", refused("/toggle"));
    await expectKmsError(logs.send(new GetLogEventsCommand({ logGroupName: "/toggle", logStreamName: "s" })), "AccessDeniedException", refused("/toggle"));
    await expectKmsError(logs.send(new FilterLogEventsCommand({ logGroupName: "/toggle" })), "AccessDeniedException", refused("/toggle"));
    await expectKmsError(logs.send(new AssociateKmsKeyCommand({ logGroupName: "/toggle", kmsKeyId: key.Arn })), "AccessDeniedException", refused("/toggle"));
    await kms.send(new EnableKeyCommand({ KeyId: key.KeyId }));
    await put(logs, "/toggle", "s", [{ timestamp: now, message: "after" }]);
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/toggle", logStreamName: "s", startFromHead: true }));
    expect(got.events!.map((e) => e.message)).toEqual(["before", "after"]);
  });

  it("after DisassociateKmsKey new events are not sealed, old ones still need the key; a deleted key loses them", async () => {
    const key = await createKey(kms, { Policy: doc([rootStatement(), logsStatement()]) });
    await groupWithStream(logs, "/dis", "s");
    await logs.send(new AssociateKmsKeyCommand({ logGroupName: "/dis", kmsKeyId: key.Arn }));
    const now = await serverNow(s.url);
    await put(logs, "/dis", "s", [{ timestamp: now, message: "sealed-one" }]);
    await logs.send(new DisassociateKmsKeyCommand({ logGroupName: "/dis" }));
    expect((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/dis" }))).logGroups![0].kmsKeyId).toBeUndefined();
    await put(logs, "/dis", "s", [{ timestamp: now + 1, message: "plain-one" }]);
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/dis", logStreamName: "s", startFromHead: true }));
    expect(got.events!.map((e) => e.message)).toEqual(["sealed-one", "plain-one"]);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
    await expectKmsError(logs.send(new GetLogEventsCommand({ logGroupName: "/dis", logStreamName: "s" })), "AccessDeniedException", refused("/dis"));
    await s.advanceClock(8 * 86400);
    await expectKmsError(logs.send(new FilterLogEventsCommand({ logGroupName: "/dis" })), "AccessDeniedException", refused("/dis"));
  });
});

describe("AssociateKmsKey's inputs", () => {
  it("takes a group by name or by ARN, not both, and no query-result resources", async () => {
    const key = await createKey(kms, { Policy: doc([rootStatement(), logsStatement()]) });
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/assoc" }));
    await logs.send(new AssociateKmsKeyCommand({ resourceIdentifier: groupArn("/assoc"), kmsKeyId: key.Arn }));
    expect((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/assoc" }))).logGroups![0].kmsKeyId).toBe(key.Arn);
    await expectKmsError(
      logs.send(new AssociateKmsKeyCommand({ logGroupName: "/assoc", resourceIdentifier: groupArn("/assoc"), kmsKeyId: key.Arn })),
      "InvalidParameterException",
      "logGroupName and resourceIdentifier are mutually exclusive parameters.",
    );
    await expectKmsError(
      logs.send(new AssociateKmsKeyCommand({ resourceIdentifier: `arn:aws:logs:${REGION}:${ACCOUNT}:query-result:*`, kmsKeyId: key.Arn })),
      "InvalidParameterException",
      /query-result keys are not supported/,
    );
    await expectKmsError(
      logs.send(new AssociateKmsKeyCommand({ logGroupName: "/assoc-none", kmsKeyId: key.Arn })),
      "ResourceNotFoundException",
      "The specified log group does not exist.",
    );
    await expectKmsError(logs.send(new DisassociateKmsKeyCommand({})), "InvalidParameterException", "Either logGroupName or resourceIdentifier must be specified.");
  });
});

describe("after a restart", () => {
  it("sealed events are opened with KMS Decrypt as logs.<region>.amazonaws.com, and a revoked policy refuses them", async () => {
    const t = await startTestServer();
    try {
      const c = new CloudWatchLogsClient(t.config);
      const k = new KMSClient(t.config);
      const key = await createKey(k, { Policy: doc([rootStatement(), logsStatement()]) });
      await groupWithStream(c, "/restart", "s", key.Arn);
      await put(c, "/restart", "s", [{ timestamp: await serverNow(t.url), message: "survives" }]);
      await t.stop();
      const again = await startTestServer({ dataDir: t.dataDir });
      try {
        const c2 = new CloudWatchLogsClient(again.config);
        const got = await c2.send(new GetLogEventsCommand({ logGroupName: "/restart", logStreamName: "s" }));
        expect(got.events!.map((e) => e.message)).toEqual(["survives"]);
        const dec = (await trailRecords(again, "Decrypt")).find((r) => r.requestParameters?.encryptionContext?.["aws:logs:arn"] === groupArn("/restart"));
        expect(dec?.userIdentity.invokedBy).toBe("logs.amazonaws.com");
        // the data key is kept five minutes; then the key policy is asked again
        await new KMSClient(again.config).send(
          new (await import("@aws-sdk/client-kms")).PutKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: "default", Policy: doc([rootStatement()]) }),
        );
        await again.advanceClock(6 * 60);
        await expectKmsError(c2.send(new GetLogEventsCommand({ logGroupName: "/restart", logStreamName: "s" })), "AccessDeniedException", refused("/restart"));
      } finally {
        await again.close();
      }
    } finally {
      await t.close();
    }
  });
});
