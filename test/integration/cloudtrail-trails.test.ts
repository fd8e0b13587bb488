/** Trails: create, read, update, delete, status, event selectors, tags, and their errors. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AddTagsCommand,
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListPublicKeysCommand,
  ListTagsCommand,
  ListTrailsCommand,
  PutEventSelectorsCommand,
  RemoveTagsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from "@aws-sdk/client-cloudtrail";
import { S3Client } from "@aws-sdk/client-s3";
import { createPublicKey } from "node:crypto";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createTrailBucket } from "./cloudtrail-helpers.ts";

let s: TestServer;
let ct: CloudTrailClient;
let west: CloudTrailClient;
const arn = (name: string, region = "us-east-1") => `arn:aws:cloudtrail:${region}:${ACCOUNT}:trail/${name}`;

beforeAll(async () => {
  s = await startTestServer();
  ct = new CloudTrailClient(s.config);
  west = new CloudTrailClient({ ...s.config, region: "us-west-2" });
  const s3 = new S3Client({ ...s.config, forcePathStyle: true });
  await createTrailBucket(s3, "trail-bucket");
  await createTrailBucket(s3, "other-bucket");
});
afterAll(async () => {
  await s?.close();
});

async function fails(p: Promise<unknown>, code: string, status = 400, message?: string | RegExp): Promise<void> {
  const e = (await p.then(
    () => undefined,
    (x) => x,
  )) as { name: string; message: string; $metadata: { httpStatusCode: number } } | undefined;
  expect(e, `expected ${code}`).toBeDefined();
  expect(e!.name).toBe(code);
  expect(e!.$metadata.httpStatusCode).toBe(status);
  if (message) expect(e!.message).toMatch(message);
}

describe("CreateTrail", () => {
  it("creates a trail and answers the trail", async () => {
    const r = await ct.send(
      new CreateTrailCommand({ Name: "crud", S3BucketName: "trail-bucket", S3KeyPrefix: "audit", EnableLogFileValidation: true, TagsList: [{ Key: "team", Value: "sec" }] }),
    );
    expect(r).toMatchObject({
      Name: "crud",
      S3BucketName: "trail-bucket",
      S3KeyPrefix: "audit",
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: false,
      TrailARN: arn("crud"),
      LogFileValidationEnabled: true,
      IsOrganizationTrail: false,
    });
    const { Trail } = await ct.send(new GetTrailCommand({ Name: "crud" }));
    expect(Trail).toEqual({
      Name: "crud",
      S3BucketName: "trail-bucket",
      S3KeyPrefix: "audit",
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: false,
      HomeRegion: "us-east-1",
      TrailARN: arn("crud"),
      LogFileValidationEnabled: true,
      HasCustomEventSelectors: false,
      HasInsightSelectors: false,
      IsOrganizationTrail: false,
    });
    expect((await ct.send(new GetTrailCommand({ Name: arn("crud") }))).Trail!.Name).toBe("crud");
  });

  it("needs an existing bucket", async () => {
    await fails(ct.send(new CreateTrailCommand({ Name: "nobucket", S3BucketName: "missing-bucket" })), "S3BucketDoesNotExistException", 404, /missing-bucket/);
    await fails(ct.send(new CreateTrailCommand({ Name: "badbucket", S3BucketName: "Bad_Bucket" })), "InvalidS3BucketNameException");
  });

  it.each([
    ["ab", /too short/],
    ["-trail", /starts with a letter or number/],
    ["trail-", /ends with a letter or number/],
    ["my trail", /can only contain/],
    ["my--trail", /adjacent/],
    ["10.0.0.1", /IP address/],
  ])("refuses the name %s", async (name, message) => {
    await fails(ct.send(new CreateTrailCommand({ Name: name, S3BucketName: "trail-bucket" })), "InvalidTrailNameException", 400, message);
  });

  it("refuses a name already taken, and multi-Region clashes across regions", async () => {
    await fails(
      ct.send(new CreateTrailCommand({ Name: "crud", S3BucketName: "trail-bucket" })),
      "TrailAlreadyExistsException",
      400,
      `Trail crud already exists for customer: ${ACCOUNT}`,
    );
    // A single-Region trail of the same name may exist in another region…
    await west.send(new CreateTrailCommand({ Name: "crud", S3BucketName: "trail-bucket" }));
    // …but not a multi-Region one.
    await fails(west.send(new CreateTrailCommand({ Name: "crud", S3BucketName: "trail-bucket", IsMultiRegionTrail: true })), "TrailAlreadyExistsException");
    await west.send(new DeleteTrailCommand({ Name: "crud" }));
  });

  it("refuses parameter combinations CloudTrail refuses", async () => {
    await fails(
      ct.send(new CreateTrailCommand({ Name: "combo", S3BucketName: "trail-bucket", IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false })),
      "InvalidParameterCombinationException",
    );
    await fails(ct.send(new CreateTrailCommand({ Name: "combo", S3BucketName: "trail-bucket", S3KeyPrefix: "/lead" })), "InvalidS3PrefixException");
    await fails(
      ct.send(new CreateTrailCommand({ Name: "combo", S3BucketName: "trail-bucket", CloudWatchLogsLogGroupArn: "arn:aws:logs:us-east-1:000000000000:log-group:x:*" })),
      "InvalidParameterCombinationException",
    );
  });

  it("allows five trails per region", async () => {
    const region = new CloudTrailClient({ ...s.config, region: "eu-central-1" });
    for (let i = 1; i <= 5; i++) await region.send(new CreateTrailCommand({ Name: `many${i}`, S3BucketName: "trail-bucket" }));
    await fails(region.send(new CreateTrailCommand({ Name: "many6", S3BucketName: "trail-bucket" })), "MaximumNumberOfTrailsExceededException", 403);
    for (let i = 1; i <= 5; i++) await region.send(new DeleteTrailCommand({ Name: `many${i}` }));
  });
});

describe("another account's bucket and KMS key", () => {
  it("are refused: no bucket or key policy here lets CloudTrail deliver another account's trail", async () => {
    const other = { accessKeyId: "111111111111", secretAccessKey: "test" };
    const otherCt = new CloudTrailClient(s.configFor(other));
    await fails(
      otherCt.send(new CreateTrailCommand({ Name: "theirs", S3BucketName: "trail-bucket" })),
      "InsufficientS3BucketPolicyException",
      403,
      "Incorrect S3 bucket policy is detected for bucket: trail-bucket",
    );
    await createTrailBucket(new S3Client({ ...s.configFor(other), forcePathStyle: true }), "their-bucket");
    const foreignKey = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    await fails(otherCt.send(new CreateTrailCommand({ Name: "theirs", S3BucketName: "their-bucket", KmsKeyId: foreignKey })), "InsufficientEncryptionPolicyException");
    await fails(
      otherCt.send(
        new CreateTrailCommand({ Name: "theirs", S3BucketName: "their-bucket", KmsKeyId: "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab" }),
      ),
      "KmsKeyNotFoundException",
    );
    await otherCt.send(new CreateTrailCommand({ Name: "theirs", S3BucketName: "their-bucket" }));
    await fails(otherCt.send(new UpdateTrailCommand({ Name: "theirs", S3BucketName: "trail-bucket" })), "InsufficientS3BucketPolicyException", 403);
    expect((await otherCt.send(new GetTrailCommand({ Name: "theirs" }))).Trail!.S3BucketName).toBe("their-bucket");
  });
});

describe("reading trails", () => {
  it("DescribeTrails shows home trails and shadow copies of multi-Region trails", async () => {
    await ct.send(new CreateTrailCommand({ Name: "everywhere", S3BucketName: "trail-bucket", IsMultiRegionTrail: true }));
    const east = (await ct.send(new DescribeTrailsCommand({}))).trailList!.map((t) => t.Name).sort();
    expect(east).toEqual(["crud", "everywhere"]);
    const westList = (await west.send(new DescribeTrailsCommand({}))).trailList!;
    expect(westList.map((t) => [t.Name, t.HomeRegion])).toEqual([["everywhere", "us-east-1"]]);
    expect((await west.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList).toEqual([]);
    const named = (await ct.send(new DescribeTrailsCommand({ trailNameList: ["crud", arn("everywhere"), "unknown-trail"] }))).trailList!.map((t) => t.Name).sort();
    expect(named).toEqual(["crud", "everywhere"]);
    await fails(ct.send(new DescribeTrailsCommand({ trailNameList: ["arn:aws:cloudtrail:nope"] })), "CloudTrailARNInvalidException");
    // A shadow trail is readable from another region, but changed only from its home region.
    expect((await west.send(new GetTrailCommand({ Name: "everywhere" }))).Trail!.HomeRegion).toBe("us-east-1");
    await fails(west.send(new StartLoggingCommand({ Name: "everywhere" })), "InvalidHomeRegionException");
    await fails(west.send(new GetTrailCommand({ Name: "crud" })), "TrailNotFoundException", 404);
  });

  it("ListTrails lists every trail of the account with its home region", async () => {
    await west.send(new CreateTrailCommand({ Name: "westonly", S3BucketName: "trail-bucket" }));
    const { Trails } = await ct.send(new ListTrailsCommand({}));
    expect(Trails).toEqual([
      { TrailARN: arn("crud"), Name: "crud", HomeRegion: "us-east-1" },
      { TrailARN: arn("everywhere"), Name: "everywhere", HomeRegion: "us-east-1" },
      { TrailARN: arn("westonly", "us-west-2"), Name: "westonly", HomeRegion: "us-west-2" },
    ]);
    const other = new CloudTrailClient(s.configFor({ accessKeyId: "111122223333", secretAccessKey: "test" }));
    expect((await other.send(new ListTrailsCommand({}))).Trails).toEqual([]);
  });

  it("GetTrail of an unknown trail is TrailNotFoundException", async () => {
    await fails(ct.send(new GetTrailCommand({ Name: "ghost" })), "TrailNotFoundException", 404, `Unknown trail: ghost for the user: ${ACCOUNT}`);
    await fails(ct.send(new GetTrailCommand({ Name: arn("ghost") })), "TrailNotFoundException", 404);
    await fails(ct.send(new GetTrailCommand({ Name: "arn:aws:cloudtrail:us-east-1:bad" })), "CloudTrailARNInvalidException");
  });
});

describe("UpdateTrail and DeleteTrail", () => {
  it("changes what is given and leaves the rest", async () => {
    const r = await ct.send(new UpdateTrailCommand({ Name: "crud", S3BucketName: "other-bucket", S3KeyPrefix: "", EnableLogFileValidation: false }));
    expect(r).toMatchObject({ Name: "crud", S3BucketName: "other-bucket", LogFileValidationEnabled: false, IncludeGlobalServiceEvents: true });
    expect(r.S3KeyPrefix).toBeUndefined();
    await fails(ct.send(new UpdateTrailCommand({ Name: "crud", S3BucketName: "missing-bucket" })), "S3BucketDoesNotExistException", 404);
    await fails(ct.send(new UpdateTrailCommand({ Name: "ghost", S3BucketName: "trail-bucket" })), "TrailNotFoundException", 404);
    const back = await ct.send(new UpdateTrailCommand({ Name: arn("crud"), S3BucketName: "trail-bucket", S3KeyPrefix: "audit", EnableLogFileValidation: true }));
    expect(back).toMatchObject({ S3BucketName: "trail-bucket", S3KeyPrefix: "audit", LogFileValidationEnabled: true });
  });

  it("deletes, after which the trail is gone", async () => {
    await ct.send(new CreateTrailCommand({ Name: "doomed", S3BucketName: "trail-bucket" }));
    await ct.send(new StartLoggingCommand({ Name: "doomed" }));
    await ct.send(new DeleteTrailCommand({ Name: "doomed" }));
    await fails(ct.send(new GetTrailCommand({ Name: "doomed" })), "TrailNotFoundException", 404);
    await fails(ct.send(new DeleteTrailCommand({ Name: "doomed" })), "TrailNotFoundException", 404);
    await fails(west.send(new DeleteTrailCommand({ Name: "everywhere" })), "InvalidHomeRegionException");
  });
});

describe("logging status", () => {
  it("StartLogging / StopLogging / GetTrailStatus", async () => {
    await ct.send(new CreateTrailCommand({ Name: "status", S3BucketName: "trail-bucket" }));
    const before = await ct.send(new GetTrailStatusCommand({ Name: "status" }));
    expect(before.IsLogging).toBe(false);
    expect(before.StartLoggingTime).toBeUndefined();
    await ct.send(new StartLoggingCommand({ Name: "status" }));
    const on = await ct.send(new GetTrailStatusCommand({ Name: arn("status") }));
    expect(on.IsLogging).toBe(true);
    expect(on.StartLoggingTime).toBeInstanceOf(Date);
    expect(on.TimeLoggingStarted).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(on.LatestDeliveryTime).toBeUndefined();
    await s.advanceClock(600);
    const delivered = await ct.send(new GetTrailStatusCommand({ Name: "status" }));
    expect(delivered.LatestDeliveryTime!.getTime()).toBeGreaterThan(on.StartLoggingTime!.getTime());
    expect(delivered.LatestDeliveryAttemptSucceeded).toBe(delivered.LatestDeliveryAttemptTime);
    await ct.send(new StopLoggingCommand({ Name: "status" }));
    const off = await ct.send(new GetTrailStatusCommand({ Name: "status" }));
    expect(off.IsLogging).toBe(false);
    expect(off.StopLoggingTime!.getTime()).toBeGreaterThanOrEqual(off.StartLoggingTime!.getTime());
    expect(off.TimeLoggingStopped).not.toBe("");
    await fails(ct.send(new GetTrailStatusCommand({ Name: "ghost" })), "TrailNotFoundException", 404);
  });
});

describe("event selectors", () => {
  it("default to all management events; classic selectors round-trip with defaults filled in", async () => {
    const def = await ct.send(new GetEventSelectorsCommand({ TrailName: "crud" }));
    expect(def.TrailARN).toBe(arn("crud"));
    expect(def.EventSelectors).toEqual([{ ReadWriteType: "All", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] }]);
    const put = await ct.send(
      new PutEventSelectorsCommand({ TrailName: "crud", EventSelectors: [{ ReadWriteType: "WriteOnly", ExcludeManagementEventSources: ["kms.amazonaws.com"] }] }),
    );
    expect(put.EventSelectors).toEqual([{ ReadWriteType: "WriteOnly", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: ["kms.amazonaws.com"] }]);
    expect((await ct.send(new GetEventSelectorsCommand({ TrailName: arn("crud") }))).EventSelectors).toEqual(put.EventSelectors);
    expect((await ct.send(new GetTrailCommand({ Name: "crud" }))).Trail!.HasCustomEventSelectors).toBe(true);
  });

  it("advanced selectors replace classic ones", async () => {
    const adv = [
      {
        Name: "management, no KMS",
        FieldSelectors: [
          { Field: "eventCategory", Equals: ["Management"] },
          { Field: "eventSource", NotEquals: ["kms.amazonaws.com"] },
        ],
      },
    ];
    const put = await ct.send(new PutEventSelectorsCommand({ TrailName: "crud", AdvancedEventSelectors: adv }));
    expect(put.AdvancedEventSelectors).toEqual(adv);
    expect(put.EventSelectors).toBeUndefined();
    const got = await ct.send(new GetEventSelectorsCommand({ TrailName: "crud" }));
    expect(got.AdvancedEventSelectors).toEqual(adv);
    expect(got.EventSelectors).toBeUndefined();
  });

  it("refuses invalid selectors", async () => {
    await fails(
      ct.send(new PutEventSelectorsCommand({ TrailName: "crud", EventSelectors: [{ ExcludeManagementEventSources: ["s3.amazonaws.com"] }] })),
      "InvalidEventSelectorsException",
    );
    await fails(
      ct.send(
        new PutEventSelectorsCommand({
          TrailName: "crud",
          EventSelectors: [{}],
          AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] }],
        }),
      ),
      "InvalidEventSelectorsException",
    );
    await fails(ct.send(new PutEventSelectorsCommand({ TrailName: "crud" })), "InvalidEventSelectorsException");
    await fails(ct.send(new PutEventSelectorsCommand({ TrailName: "crud", EventSelectors: Array.from({ length: 6 }, () => ({})) })), "InvalidEventSelectorsException");
    await fails(
      ct.send(new PutEventSelectorsCommand({ TrailName: "crud", AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventName", Equals: ["X"] }] }] })),
      "InvalidEventSelectorsException",
    );
    await fails(ct.send(new PutEventSelectorsCommand({ TrailName: "ghost", EventSelectors: [{}] })), "TrailNotFoundException", 404);
  });
});

describe("tags", () => {
  it("adds, lists and removes tags", async () => {
    expect((await ct.send(new ListTagsCommand({ ResourceIdList: [arn("crud")] }))).ResourceTagList).toEqual([
      { ResourceId: arn("crud"), TagsList: [{ Key: "team", Value: "sec" }] },
    ]);
    await ct.send(
      new AddTagsCommand({
        ResourceId: arn("crud"),
        TagsList: [
          { Key: "env", Value: "test" },
          { Key: "team", Value: "platform" },
        ],
      }),
    );
    const tags = (await ct.send(new ListTagsCommand({ ResourceIdList: [arn("crud")] }))).ResourceTagList![0].TagsList;
    expect(tags).toEqual([
      { Key: "team", Value: "platform" },
      { Key: "env", Value: "test" },
    ]);
    await ct.send(new RemoveTagsCommand({ ResourceId: arn("crud"), TagsList: [{ Key: "team" }] }));
    expect((await ct.send(new ListTagsCommand({ ResourceIdList: [arn("crud")] }))).ResourceTagList![0].TagsList).toEqual([{ Key: "env", Value: "test" }]);
  });

  it("refuses bad resources and too many tags", async () => {
    await fails(ct.send(new AddTagsCommand({ ResourceId: "crud", TagsList: [{ Key: "a", Value: "b" }] })), "CloudTrailARNInvalidException");
    await fails(ct.send(new AddTagsCommand({ ResourceId: arn("ghost"), TagsList: [{ Key: "a", Value: "b" }] })), "ResourceNotFoundException");
    await fails(ct.send(new AddTagsCommand({ ResourceId: arn("crud"), TagsList: [{ Key: "aws:reserved", Value: "b" }] })), "InvalidTagParameterException");
    const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await fails(ct.send(new AddTagsCommand({ ResourceId: arn("crud"), TagsList: many })), "TagsLimitExceededException");
  });

  it("tags a trail only from its Regions: its home Region (and, to list, a multi-Region trail's other Regions)", async () => {
    await ct.send(new CreateTrailCommand({ Name: "regional", S3BucketName: "trail-bucket", TagsList: [{ Key: "k", Value: "v" }] }));
    await fails(west.send(new AddTagsCommand({ ResourceId: arn("regional"), TagsList: [{ Key: "k", Value: "changed" }] })), "ResourceNotFoundException");
    await fails(west.send(new RemoveTagsCommand({ ResourceId: arn("regional"), TagsList: [{ Key: "k" }] })), "ResourceNotFoundException");
    await fails(west.send(new ListTagsCommand({ ResourceIdList: [arn("regional")] })), "ResourceNotFoundException");
    await ct.send(new CreateTrailCommand({ Name: "tagged-everywhere", S3BucketName: "trail-bucket", IsMultiRegionTrail: true }));
    await fails(west.send(new AddTagsCommand({ ResourceId: arn("tagged-everywhere"), TagsList: [{ Key: "k", Value: "v" }] })), "InvalidHomeRegionException");
    expect((await west.send(new ListTagsCommand({ ResourceIdList: [arn("tagged-everywhere")] }))).ResourceTagList).toEqual([
      { ResourceId: arn("tagged-everywhere"), TagsList: [] },
    ]);
    expect((await ct.send(new ListTagsCommand({ ResourceIdList: [arn("regional")] }))).ResourceTagList![0].TagsList).toEqual([{ Key: "k", Value: "v" }]);
    await ct.send(new DeleteTrailCommand({ Name: "regional" }));
    await ct.send(new DeleteTrailCommand({ Name: "tagged-everywhere" }));
  });
});

describe("ListPublicKeys", () => {
  it("returns the region's current key as DER PKCS#1 with its fingerprint", async () => {
    const { PublicKeyList } = await ct.send(new ListPublicKeysCommand({}));
    expect(PublicKeyList!.length).toBe(1);
    const k = PublicKeyList![0];
    expect(k.Fingerprint).toMatch(/^[0-9a-f]{32}$/);
    const pub = createPublicKey({ key: Buffer.from(k.Value!), format: "der", type: "pkcs1" });
    expect(pub.asymmetricKeyType).toBe("rsa");
    expect(pub.asymmetricKeyDetails!.modulusLength).toBe(2048);
    expect(k.ValidityEndTime!.getTime() - k.ValidityStartTime!.getTime()).toBe(30 * 86400_000);
    // Regions have their own keys.
    const w = (await west.send(new ListPublicKeysCommand({}))).PublicKeyList!;
    expect(w[0].Fingerprint).not.toBe(k.Fingerprint);
    // A range before any key existed has none.
    expect((await ct.send(new ListPublicKeysCommand({ StartTime: new Date(0), EndTime: new Date(1000) }))).PublicKeyList).toEqual([]);
    await fails(ct.send(new ListPublicKeysCommand({ StartTime: new Date(2000), EndTime: new Date(1000) })), "InvalidTimeRangeException");
  });
});
