/**
 * The CloudTrail event names S3 calls are recorded under, where CloudTrail's differ from the API
 * operation's (docs/s3.md#cloudtrail-event-names): LookupEvents finds them by those names, an
 * advanced event selector's eventName filter matches them, and IAM's ACTION_LEVEL service last
 * accessed report lists S3's management actions by their IAM names, credited from those events.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gunzipSync } from "node:zlib";
import { CloudTrailClient, CreateTrailCommand, PutEventSelectorsCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import {
  CreateBucketCommand,
  DeletePublicAccessBlockCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  GenerateServiceLastAccessedDetailsCommand,
  GetServiceLastAccessedDetailsCommand,
  IAMClient,
  type GetServiceLastAccessedDetailsResponse,
  type TrackedActionLastAccessed,
} from "@aws-sdk/client-iam";
import { startTestServer, type TestServer } from "../support/server.ts";
import type { LooseJson } from "../support/json.ts";
import { createTrailBucket, lookupAll, recordOf } from "./cloudtrail-helpers.ts";
import { ACCOUNT, allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";

let s: TestServer;
let s3: S3Client;
let ct: CloudTrailClient;

beforeAll(async () => {
  s = await startTestServer();
  s3 = new S3Client({ ...s.config, forcePathStyle: true, maxAttempts: 1 });
  ct = new CloudTrailClient(s.config);
});
afterAll(async () => {
  await s?.close();
});

const openBlock = { BlockPublicAcls: false, IgnorePublicAcls: false, BlockPublicPolicy: false, RestrictPublicBuckets: false };

/** The events LookupEvents finds under an event name, for one bucket. */
async function eventsNamed(name: string, bucket: string): Promise<LooseJson[]> {
  return (await lookupAll(ct, "EventName", name)).map(recordOf).filter((r) => (r.requestParameters as LooseJson | null)?.bucketName === bucket);
}

describe("S3 calls CloudTrail records under another event name", () => {
  it("Put/Get/DeletePublicAccessBlock are PutBucketPublicAccessBlock, GetBucketPublicAccessBlock, DeleteBucketPublicAccessBlock", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "names-pab" }));
    await s3.send(new PutPublicAccessBlockCommand({ Bucket: "names-pab", PublicAccessBlockConfiguration: openBlock }));
    await s3.send(new GetPublicAccessBlockCommand({ Bucket: "names-pab" }));
    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: "names-pab" }));
    // a refused or failed call is recorded under the same name
    await expectAwsError(s3.send(new GetPublicAccessBlockCommand({ Bucket: "names-pab" })), "NoSuchPublicAccessBlockConfiguration", 404);

    const put = await eventsNamed("PutBucketPublicAccessBlock", "names-pab");
    expect(put).toHaveLength(1);
    expect(put[0]).toMatchObject({ eventSource: "s3.amazonaws.com", eventName: "PutBucketPublicAccessBlock", readOnly: false, eventCategory: "Management" });
    const get = await eventsNamed("GetBucketPublicAccessBlock", "names-pab");
    expect(get.map((r) => r.errorCode ?? null).sort()).toEqual(["NoSuchPublicAccessBlockConfiguration", null]);
    expect(await eventsNamed("DeleteBucketPublicAccessBlock", "names-pab")).toHaveLength(1);
    for (const apiName of ["PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock"]) expect(await eventsNamed(apiName, "names-pab")).toEqual([]);
  });

  it("GetBucketLifecycleConfiguration is GetBucketLifecycle and GetBucketNotificationConfiguration is GetBucketNotification", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "names-config" }));
    await expectAwsError(s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "names-config" })), "NoSuchLifecycleConfiguration", 404);
    await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: "names-config" }));
    const lifecycle = await eventsNamed("GetBucketLifecycle", "names-config");
    expect(lifecycle).toHaveLength(1);
    expect(lifecycle[0]).toMatchObject({ errorCode: "NoSuchLifecycleConfiguration", readOnly: true });
    expect(await eventsNamed("GetBucketNotification", "names-config")).toHaveLength(1);
    expect(await eventsNamed("GetBucketLifecycleConfiguration", "names-config")).toEqual([]);
    expect(await eventsNamed("GetBucketNotificationConfiguration", "names-config")).toEqual([]);
  });

  it("keeps the API's name where CloudTrail uses it (GetBucketEncryption, GetObjectLockConfiguration, ListBuckets)", async () => {
    await s3.send(new CreateBucketCommand({ Bucket: "names-same" }));
    await s3.send(new GetBucketEncryptionCommand({ Bucket: "names-same" }));
    await expectAwsError(s3.send(new GetObjectLockConfigurationCommand({ Bucket: "names-same" })), "ObjectLockConfigurationNotFoundError", 404);
    expect(await eventsNamed("GetBucketEncryption", "names-same")).toHaveLength(1);
    expect(await eventsNamed("GetObjectLockConfiguration", "names-same")).toHaveLength(1);
  });

  it("records ListObjectsV2 as the data event ListObjects (list-type 2), which an eventName selector on ListObjects delivers", async () => {
    await createTrailBucket(s3, "names-trail");
    await ct.send(new CreateTrailCommand({ Name: "names-trail", S3BucketName: "names-trail" }));
    await ct.send(
      new PutEventSelectorsCommand({
        TrailName: "names-trail",
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: "eventCategory", Equals: ["Data"] },
              { Field: "eventSource", Equals: ["s3.amazonaws.com"] },
              { Field: "eventName", Equals: ["ListObjects"] },
            ],
          },
        ],
      }),
    );
    await ct.send(new StartLoggingCommand({ Name: "names-trail" }));
    await s3.send(new CreateBucketCommand({ Bucket: "names-listed" }));
    await s3.send(new PutObjectCommand({ Bucket: "names-listed", Key: "a.txt", Body: "a" }));
    await s3.send(new ListObjectsV2Command({ Bucket: "names-listed" }));
    await s3.send(new ListObjectsCommand({ Bucket: "names-listed" }));
    await s.advanceClock(600);

    const records: LooseJson[] = [];
    const list = await s3.send(new ListObjectsV2Command({ Bucket: "names-trail", Prefix: "AWSLogs/" }));
    for (const c of list.Contents ?? []) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: "names-trail", Key: c.Key }))).Body!.transformToByteArray();
      records.push(...(JSON.parse(gunzipSync(body).toString()) as { Records: LooseJson[] }).Records);
    }
    const listings = records.filter((r) => (r.requestParameters as LooseJson).bucketName === "names-listed");
    expect(listings.map((r) => r.eventName)).toEqual(["ListObjects", "ListObjects"]);
    expect(listings.map((r) => (r.requestParameters as LooseJson)["list-type"] ?? null)).toEqual(["2", null]);
    expect(listings.every((r) => r.eventCategory === "Data" && r.managementEvent === false)).toBe(true);
    expect(records.some((r) => r.eventName === "ListObjectsV2")).toBe(false);
  });
});

describe("IAM service last accessed ACTION_LEVEL for S3", () => {
  /** service clock readings around each call */
  const at: Record<string, { before: number; after: number }> = {};
  const serverNow = async () => Date.parse(((await (await fetch(`${s.url}/_localfargate/clock`)).json()) as { now: string }).now);
  async function timed(name: string, call: () => Promise<unknown>): Promise<void> {
    const before = await serverNow();
    await call();
    at[name] = { before, after: await serverNow() };
  }
  function expectAt(d: Date | undefined, name: string): void {
    expect(d, name).toBeInstanceOf(Date);
    expect(d!.getTime()).toBeGreaterThanOrEqual(at[name].before - 1000);
    expect(d!.getTime()).toBeLessThanOrEqual(at[name].after + 1000);
  }
  async function report(arn: string): Promise<GetServiceLastAccessedDetailsResponse> {
    const iam = new IAMClient(s.config);
    const { JobId } = await iam.send(new GenerateServiceLastAccessedDetailsCommand({ Arn: arn, Granularity: "ACTION_LEVEL" }));
    const end = performance.now() + 60_000;
    for (;;) {
      const out = await iam.send(new GetServiceLastAccessedDetailsCommand({ JobId }));
      if (out.JobStatus === "COMPLETED") return out;
      if (performance.now() > end) throw new Error("the job never completed");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it("lists S3's management actions by their IAM names, each credited from the calls authorized as it", async () => {
    const iam = new IAMClient(s.config);
    const creds = await userWithKey(iam, "s3-admin", doc([allow("s3:*")]));
    const user = new S3Client({ ...s.configFor(creds), forcePathStyle: true, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: "names-tracked" }));
    await s3.send(new PutObjectCommand({ Bucket: "names-tracked", Key: "k", Body: "v" }));
    await timed("list-buckets", () => user.send(new ListBucketsCommand({})));
    await timed("get-encryption", () => user.send(new GetBucketEncryptionCommand({ Bucket: "names-tracked" })));
    await timed("get-lifecycle", () => expectAwsError(user.send(new GetBucketLifecycleConfigurationCommand({ Bucket: "names-tracked" })), "NoSuchLifecycleConfiguration", 404));
    await timed("put-pab", () => user.send(new PutPublicAccessBlockCommand({ Bucket: "names-tracked", PublicAccessBlockConfiguration: openBlock })));
    await s.advanceClock(60);
    // DeletePublicAccessBlock is authorized as s3:PutBucketPublicAccessBlock: it is that action's latest use
    await timed("delete-pab", () => user.send(new DeletePublicAccessBlockCommand({ Bucket: "names-tracked" })));
    await timed("get-pab", () => expectAwsError(user.send(new GetPublicAccessBlockCommand({ Bucket: "names-tracked" })), "NoSuchPublicAccessBlockConfiguration", 404));
    // data events: no action last accessed information
    await user.send(new ListObjectsV2Command({ Bucket: "names-tracked" }));
    await user.send(new GetObjectCommand({ Bucket: "names-tracked", Key: "k" }));

    const out = await report(`arn:aws:iam::${ACCOUNT}:user/s3-admin`);
    const tracked = out.ServicesLastAccessed!.find((x) => x.ServiceNamespace === "s3")!.TrackedActionsLastAccessed!;
    const actions: Record<string, TrackedActionLastAccessed> = Object.fromEntries(tracked.map((a) => [a.ActionName!, a]));
    const names = Object.keys(actions);
    expect(names).toEqual([...names].sort());
    for (const name of [
      "ListAllMyBuckets",
      "GetBucketPublicAccessBlock",
      "PutBucketPublicAccessBlock",
      "GetEncryptionConfiguration",
      "PutEncryptionConfiguration",
      "GetLifecycleConfiguration",
      "GetBucketNotification",
      "GetBucketObjectLockConfiguration",
      "PutBucketObjectLockConfiguration",
      "GetBucketPolicy",
      "CreateBucket",
      "GetAccountPublicAccessBlock",
    ])
      expect(names, name).toContain(name);
    // operation names that are not IAM actions, and data-event actions, are not listed
    for (const name of [
      "PutPublicAccessBlock",
      "GetPublicAccessBlock",
      "DeletePublicAccessBlock",
      "GetBucketEncryption",
      "DeleteBucketEncryption",
      "GetBucketLifecycleConfiguration",
      "GetObjectLockConfiguration",
      "ListBuckets",
      "ListBucket",
      "ListBucketVersions",
      "GetObject",
      "GetObjectAcl",
      "HeadBucket",
    ])
      expect(names, name).not.toContain(name);

    const entity = `arn:aws:iam::${ACCOUNT}:user/s3-admin`;
    expectAt(actions.ListAllMyBuckets.LastAccessedTime, "list-buckets");
    expect(actions.ListAllMyBuckets).toMatchObject({ LastAccessedEntity: entity, LastAccessedRegion: "us-east-1" });
    expectAt(actions.GetEncryptionConfiguration.LastAccessedTime, "get-encryption");
    expectAt(actions.GetLifecycleConfiguration.LastAccessedTime, "get-lifecycle");
    expectAt(actions.PutBucketPublicAccessBlock.LastAccessedTime, "delete-pab");
    expectAt(actions.GetBucketPublicAccessBlock.LastAccessedTime, "get-pab");
    expect(actions.PutEncryptionConfiguration.LastAccessedTime).toBeUndefined();
    expect(actions.GetBucketNotification.LastAccessedTime).toBeUndefined();
  });
});
