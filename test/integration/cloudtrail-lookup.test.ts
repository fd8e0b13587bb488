/** Every call becomes a CloudTrail record in AWS's shape; LookupEvents filters, pages and keeps 90 days. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloudTrailClient, CreateTrailCommand, GetTrailCommand, LookupEventsCommand, type LookupAttributeKey } from "@aws-sdk/client-cloudtrail";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { servicePrincipal } from "../../src/auth/principal.ts";
import { recordServiceEvent } from "../../src/audit/sink.ts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, addTestPrincipals, createTrailBucket, lookupAll, recordOf } from "./cloudtrail-helpers.ts";
import type { LooseJson } from "../support/json.ts";

let s: TestServer;
let ct: CloudTrailClient;
let sts: STSClient;
let who: ReturnType<typeof addTestPrincipals>;

beforeAll(async () => {
  s = await startTestServer();
  ct = new CloudTrailClient(s.config);
  sts = new STSClient(s.config);
  who = addTestPrincipals(s);
});
afterAll(async () => {
  await s?.close();
});

async function recordForRequest(requestId: string, eventName: string, client = ct): Promise<LooseJson> {
  const events = await lookupAll(client, "EventName", eventName);
  const hit = events.map(recordOf).find((r) => r.requestID === requestId);
  expect(hit, `record of request ${requestId}`).toBeDefined();
  return hit!;
}

const KEY_ORDER = [
  "eventVersion",
  "userIdentity",
  "eventTime",
  "eventSource",
  "eventName",
  "awsRegion",
  "sourceIPAddress",
  "userAgent",
  "errorCode",
  "errorMessage",
  "requestParameters",
  "responseElements",
  "additionalEventData",
  "requestID",
  "eventID",
  "readOnly",
  "resources",
  "eventType",
  "managementEvent",
  "recipientAccountId",
  "serviceEventDetails",
  "sharedEventID",
  "eventCategory",
];
function expectAwsKeyOrder(r: Record<string, unknown>): void {
  const keys = Object.keys(r);
  const ordered = KEY_ORDER.filter((k) => keys.includes(k));
  expect(keys).toEqual(ordered);
}

describe("records", () => {
  it("root: userIdentity Root with its access key, Username root", async () => {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    const r = await recordForRequest(out.$metadata.requestId!, "GetCallerIdentity");
    expect(r.userIdentity).toEqual({ type: "Root", principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT, accessKeyId: "test" });
    expect(r).toMatchObject({
      eventVersion: "1.08",
      eventSource: "sts.amazonaws.com",
      eventName: "GetCallerIdentity",
      awsRegion: "us-east-1",
      sourceIPAddress: "127.0.0.1",
      requestParameters: null,
      responseElements: null,
      readOnly: true,
      eventType: "AwsApiCall",
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      eventCategory: "Management",
    });
    expect(r.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(r.eventID).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.userAgent).toContain("aws-sdk-js");
    expect(r.errorCode).toBeUndefined();
    expectAwsKeyOrder(r);
    const [e] = (await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: r.eventID }] }))).Events!;
    expect(e).toMatchObject({
      EventId: r.eventID,
      EventName: "GetCallerIdentity",
      ReadOnly: "true",
      Username: "root",
      AccessKeyId: "test",
      EventSource: "sts.amazonaws.com",
      Resources: [],
    });
    expect(e.EventTime).toEqual(new Date(r.eventTime));
  });

  it("IAM user: userIdentity IAMUser, Username is the user name", async () => {
    const out = await new STSClient(who.user).send(new GetCallerIdentityCommand({}));
    const r = await recordForRequest(out.$metadata.requestId!, "GetCallerIdentity");
    expect(r.userIdentity).toEqual({
      type: "IAMUser",
      principalId: "AIDAALICEEXAMPLE0001",
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
      accessKeyId: "AKIAALICEEXAMPLE0001",
      userName: "alice",
    });
    const byUser = await lookupAll(ct, "Username", "alice");
    expect(byUser.some((e) => recordOf(e).requestID === out.$metadata.requestId)).toBe(true);
  });

  it("assumed role: userIdentity AssumedRole with sessionContext, Username is the session name", async () => {
    const out = await new STSClient(who.role).send(new GetCallerIdentityCommand({}));
    const r = await recordForRequest(out.$metadata.requestId!, "GetCallerIdentity");
    expect(r.userIdentity).toEqual({
      type: "AssumedRole",
      principalId: "AROAAUDITOREXAMPLE01:audit-session",
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Auditor/audit-session`,
      accountId: ACCOUNT,
      accessKeyId: "ASIAAUDITOREXAMPLE01",
      sessionContext: {
        sessionIssuer: { type: "Role", principalId: "AROAAUDITOREXAMPLE01", arn: `arn:aws:iam::${ACCOUNT}:role/Auditor`, accountId: ACCOUNT, userName: "Auditor" },
        webIdFederationData: {},
        attributes: { creationDate: "2026-01-02T03:04:05Z", mfaAuthenticated: "false" },
      },
    });
    const [e] = (await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: r.eventID }] }))).Events!;
    expect(e.Username).toBe("audit-session");
    expect(e.AccessKeyId).toBe("ASIAAUDITOREXAMPLE01");
  });

  it("AWS service calls made in-process: userIdentity AWSService with invokedBy", async () => {
    await s.app.invoke("sts", "GetCallerIdentity", {}, { principal: servicePrincipal("fargate.amazonaws.com", ACCOUNT), region: "us-east-1" });
    const events = (await lookupAll(ct, "EventName", "GetCallerIdentity")).map(recordOf);
    const r = events.find((x) => x.userIdentity.type === "AWSService");
    expect(r).toBeDefined();
    expect(r!.userIdentity).toEqual({ type: "AWSService", invokedBy: "fargate.amazonaws.com" });
    expect(r!.sourceIPAddress).toBe("fargate.amazonaws.com");
    expect(r!.userAgent).toBe("fargate.amazonaws.com");
    expect(r!.recipientAccountId).toBe(ACCOUNT);
    expect(r!.sharedEventID).toBe(r!.eventID);
    expectAwsKeyOrder(r!);
  });

  it("service events (KMS rotation, deletion): AwsServiceEvent, AWS Internal, no requestID", async () => {
    const keyArn = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    await recordServiceEvent(s.app, {
      accountId: ACCOUNT,
      region: "us-east-1",
      eventSource: "kms.amazonaws.com",
      eventName: "RotateKey",
      resources: [{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: keyArn }],
      serviceEventDetails: { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" },
    });
    const [e] = await lookupAll(ct, "ResourceName", keyArn);
    const r = recordOf(e);
    expect(r).toMatchObject({
      userIdentity: { accountId: ACCOUNT, invokedBy: "AWS Internal" },
      eventSource: "kms.amazonaws.com",
      eventName: "RotateKey",
      sourceIPAddress: "AWS Internal",
      userAgent: "AWS Internal",
      requestParameters: null,
      responseElements: null,
      readOnly: false,
      eventType: "AwsServiceEvent",
      managementEvent: true,
      recipientAccountId: ACCOUNT,
      serviceEventDetails: { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab" },
      eventCategory: "Management",
    });
    expect(Object.keys(r.userIdentity)).toEqual(["accountId", "invokedBy"]);
    expect(r.requestID).toBeUndefined();
    expectAwsKeyOrder(r);
    expect(e.Resources).toEqual([{ ResourceType: "AWS::KMS::Key", ResourceName: keyArn }]);
    expect(e.Username).toBeUndefined();
  });

  it("failed calls carry errorCode and errorMessage, responseElements null", async () => {
    const err = await ct.send(new GetTrailCommand({ Name: "no-such-trail" })).catch((x) => x);
    expect(err.name).toBe("TrailNotFoundException");
    const r = await recordForRequest(err.$metadata.requestId, "GetTrail");
    expect(r.errorCode).toBe("TrailNotFoundException");
    expect(r.errorMessage).toBe(`Unknown trail: no-such-trail for the user: ${ACCOUNT}`);
    expect(r.requestParameters).toEqual({ name: "no-such-trail" });
    expect(r.responseElements).toBeNull();
    expectAwsKeyOrder(r);
  });

  it("denied calls are recorded with AccessDenied", async () => {
    // alice has no policies: an IAM user without policies is denied everything.
    const err = await new CloudTrailClient(who.user).send(new CreateTrailCommand({ Name: "denied-trail", S3BucketName: "nope-bucket" })).catch((x) => x);
    expect(err.name).toBe("AccessDeniedException");
    const r = await recordForRequest(err.$metadata.requestId, "CreateTrail");
    expect(r.errorCode).toBe("AccessDeniedException");
    expect(r.errorMessage).toContain(`arn:aws:iam::${ACCOUNT}:user/alice`);
    expect(r.errorMessage).toContain("cloudtrail:CreateTrail");
    expect(r.userIdentity.userName).toBe("alice");
  });
});

describe("LookupEvents", () => {
  it("filters on every lookup attribute", async () => {
    const s3 = new S3Client({ ...s.config, forcePathStyle: true });
    await createTrailBucket(s3, "lookup-attrs");
    const created = await ct.send(new CreateTrailCommand({ Name: "attrs", S3BucketName: "lookup-attrs" }));
    const rec = await recordForRequest(created.$metadata.requestId!, "CreateTrail");
    const arn = created.TrailARN!;
    const has = async (key: LookupAttributeKey, value: string) => (await lookupAll(ct, key, value)).some((e) => e.EventId === rec.eventID);
    expect(await has("EventId", rec.eventID)).toBe(true);
    expect(await has("EventName", "CreateTrail")).toBe(true);
    expect(await has("ReadOnly", "false")).toBe(true);
    expect(await has("ReadOnly", "true")).toBe(false);
    expect(await has("Username", "root")).toBe(true);
    expect(await has("ResourceType", "AWS::CloudTrail::Trail")).toBe(true);
    expect(await has("ResourceName", arn)).toBe(true);
    expect(await has("EventSource", "cloudtrail.amazonaws.com")).toBe(true);
    expect(await has("AccessKeyId", "test")).toBe(true);
    expect(await has("EventSource", "sts.amazonaws.com")).toBe(false);
    expect(await has("EventName", "createtrail")).toBe(false);
    // Every filter returns only matching events.
    for (const e of await lookupAll(ct, "ReadOnly", "true")) expect(e.ReadOnly).toBe("true");
    for (const e of await lookupAll(ct, "EventSource", "s3.amazonaws.com")) expect(e.EventSource).toBe("s3.amazonaws.com");
    expect(rec.resources).toEqual([{ ARN: arn, accountId: ACCOUNT, type: "AWS::CloudTrail::Trail" }]);
    expect(rec.responseElements).toMatchObject({ name: "attrs", s3BucketName: "lookup-attrs", trailARN: arn });
  });

  it("shows S3 bucket calls but not object-level data events", async () => {
    const s3 = new S3Client({ ...s.config, forcePathStyle: true });
    await createTrailBucket(s3, "lookup-data");
    await s3.send(new PutObjectCommand({ Bucket: "lookup-data", Key: "k", Body: "v" }));
    await s3.send(new GetObjectCommand({ Bucket: "lookup-data", Key: "k" }));
    const creates = (await lookupAll(ct, "EventName", "CreateBucket")).map(recordOf).filter((r) => r.requestParameters.bucketName === "lookup-data");
    expect(creates.length).toBe(1);
    expect(creates[0].resources).toEqual([{ ARN: "arn:aws:s3:::lookup-data", accountId: ACCOUNT, type: "AWS::S3::Bucket" }]);
    expect(await lookupAll(ct, "EventName", "PutObject")).toEqual([]);
    expect(await lookupAll(ct, "EventName", "GetObject")).toEqual([]);
  });

  it("pages newest first with NextToken, every event exactly once", async () => {
    const role = new STSClient(who.role);
    for (let i = 0; i < 23; i++) await role.send(new GetCallerIdentityCommand({}));
    const ids: string[] = [];
    const times: number[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const r = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "AccessKeyId", AttributeValue: "ASIAAUDITOREXAMPLE01" }], MaxResults: 5, NextToken }));
      expect(r.Events!.length).toBeLessThanOrEqual(5);
      ids.push(...r.Events!.map((e) => e.EventId!));
      times.push(...r.Events!.map((e) => e.EventTime!.getTime()));
      NextToken = r.NextToken;
      pages++;
    } while (NextToken);
    expect(ids.length).toBeGreaterThanOrEqual(24);
    expect(new Set(ids).size).toBe(ids.length);
    expect(pages).toBe(Math.ceil(ids.length / 5));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThanOrEqual(times[i - 1]);
    // Default page size is 50.
    const all = await ct.send(new LookupEventsCommand({}));
    expect(all.Events!.length).toBe(50);
    expect(all.NextToken).toBeDefined();
  });

  it("binds NextToken to the request's parameters", async () => {
    const first = await ct.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "GetCallerIdentity" }], MaxResults: 1 }));
    expect(first.NextToken).toBeDefined();
    const other = await ct
      .send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateTrail" }], MaxResults: 1, NextToken: first.NextToken }))
      .catch((x) => x);
    expect(other.name).toBe("InvalidNextTokenException");
    const garbage = await ct.send(new LookupEventsCommand({ NextToken: "not-a-token" })).catch((x) => x);
    expect(garbage.name).toBe("InvalidNextTokenException");
    expect(garbage.$metadata.httpStatusCode).toBe(400);
    const same = await ct.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "GetCallerIdentity" }], MaxResults: 1, NextToken: first.NextToken }),
    );
    expect(same.Events![0].EventId).not.toBe(first.Events![0].EventId);
  });

  it.each([
    [
      "two lookup attributes",
      {
        LookupAttributes: [
          { AttributeKey: "EventName", AttributeValue: "a" },
          { AttributeKey: "Username", AttributeValue: "b" },
        ],
      },
      "InvalidLookupAttributesException",
    ],
    ["an unknown attribute key", { LookupAttributes: [{ AttributeKey: "Colour", AttributeValue: "blue" }] }, "InvalidLookupAttributesException"],
    ["a 2001-character value", { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "x".repeat(2001) }] }, "InvalidLookupAttributesException"],
    ["MaxResults 0", { MaxResults: 0 }, "InvalidMaxResultsException"],
    ["MaxResults 51", { MaxResults: 51 }, "InvalidMaxResultsException"],
    ["StartTime after EndTime", { StartTime: new Date(Date.UTC(2026, 1, 2)), EndTime: new Date(Date.UTC(2026, 1, 1)) }, "InvalidTimeRangeException"],
    ["EventCategory management", { EventCategory: "management" }, "InvalidEventCategoryException"],
  ])("refuses %s with %s", async (_label, input, code) => {
    const e = await ct.send(new LookupEventsCommand(input as never)).catch((x) => x);
    expect(e.name).toBe(code);
    expect(e.$metadata.httpStatusCode).toBe(400);
    expect(e.message).not.toBe("");
  });

  it("has no Insights events", async () => {
    expect((await ct.send(new LookupEventsCommand({ EventCategory: "insight" }))).Events).toEqual([]);
  });

  it("keeps regions apart", async () => {
    const west = new CloudTrailClient({ ...s.config, region: "us-west-2" });
    const out = await new STSClient({ ...s.config, region: "us-west-2" }).send(new GetCallerIdentityCommand({}));
    const westIds = (await lookupAll(west, "EventName", "GetCallerIdentity")).map((e) => recordOf(e).requestID);
    expect(westIds).toContain(out.$metadata.requestId);
    const eastIds = (await lookupAll(ct, "EventName", "GetCallerIdentity")).map((e) => recordOf(e).requestID);
    expect(eastIds).not.toContain(out.$metadata.requestId);
  });

  it("filters by StartTime and EndTime (inclusive)", async () => {
    const a = await sts.send(new GetCallerIdentityCommand({}));
    const ra = await recordForRequest(a.$metadata.requestId!, "GetCallerIdentity");
    await s.advanceClock(120);
    const b = await sts.send(new GetCallerIdentityCommand({}));
    const rb = await recordForRequest(b.$metadata.requestId!, "GetCallerIdentity");
    const ta = new Date(ra.eventTime);
    const tb = new Date(rb.eventTime);
    const ids = async (range: { StartTime?: Date; EndTime?: Date }) => (await lookupAll(ct, "EventName", "GetCallerIdentity", range)).map((e) => e.EventId);
    const early = await ids({ EndTime: new Date(ta.getTime() + 60_000) });
    expect(early).toContain(ra.eventID);
    expect(early).not.toContain(rb.eventID);
    const late = await ids({ StartTime: new Date(ta.getTime() + 60_000) });
    expect(late).toContain(rb.eventID);
    expect(late).not.toContain(ra.eventID);
    const exact = await ids({ StartTime: tb, EndTime: tb });
    expect(exact).toContain(rb.eventID);
  });

  it("only keeps 90 days on the service clock", async () => {
    const before = await lookupAll(ct, "Username", "alice");
    expect(before.length).toBeGreaterThan(0);
    await s.advanceClock(91 * 86400);
    expect(await lookupAll(ct, "Username", "alice")).toEqual([]);
    expect(await lookupAll(ct, "Username", "alice", { StartTime: new Date(0) })).toEqual([]);
    const out = await new STSClient(who.user).send(new GetCallerIdentityCommand({}));
    const after = await lookupAll(ct, "Username", "alice");
    expect(after.map((e) => recordOf(e).requestID)).toEqual([out.$metadata.requestId]);
  });
});
