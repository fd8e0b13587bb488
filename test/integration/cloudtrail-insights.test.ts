/** CloudTrail Insights selectors on trails (Put/GetInsightSelectors), GetTrail's HasInsightSelectors, and ListTrails' paging. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CloudTrailClient,
  CreateTrailCommand,
  GetInsightSelectorsCommand,
  GetTrailCommand,
  ListTrailsCommand,
  PutInsightSelectorsCommand,
  type InsightType,
} from "@aws-sdk/client-cloudtrail";
import { S3Client } from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createTrailBucket } from "./cloudtrail-helpers.ts";
import { expectAwsError } from "./iam-helpers.ts";

let s: TestServer;
let ct: CloudTrailClient;
const arn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/insightful`;

beforeAll(async () => {
  s = await startTestServer();
  ct = new CloudTrailClient(s.config);
  await createTrailBucket(new S3Client({ ...s.config, forcePathStyle: true }), "insights-bucket");
  await ct.send(new CreateTrailCommand({ Name: "insightful", S3BucketName: "insights-bucket" }));
});
afterAll(async () => {
  await s?.close();
});

describe("Insights selectors", () => {
  it("are not enabled on a new trail", async () => {
    await expectAwsError(ct.send(new GetInsightSelectorsCommand({ TrailName: "insightful" })), "InsightNotEnabledException", 400, `Trail ${arn} does not have Insights enabled.`);
    expect((await ct.send(new GetTrailCommand({ Name: "insightful" }))).Trail?.HasInsightSelectors).toBe(false);
  });

  it("are set, read by name or ARN, shown by GetTrail, and turned off by an empty list", async () => {
    const put = await ct.send(
      new PutInsightSelectorsCommand({ TrailName: "insightful", InsightSelectors: [{ InsightType: "ApiCallRateInsight" }, { InsightType: "ApiErrorRateInsight" }] }),
    );
    expect(put).toMatchObject({ TrailARN: arn, InsightSelectors: [{ InsightType: "ApiCallRateInsight" }, { InsightType: "ApiErrorRateInsight" }] });
    const got = await ct.send(new GetInsightSelectorsCommand({ TrailName: arn }));
    expect(got.InsightSelectors).toEqual([{ InsightType: "ApiCallRateInsight" }, { InsightType: "ApiErrorRateInsight" }]);
    expect((await ct.send(new GetTrailCommand({ Name: "insightful" }))).Trail?.HasInsightSelectors).toBe(true);

    await ct.send(new PutInsightSelectorsCommand({ TrailName: "insightful", InsightSelectors: [] }));
    await expectAwsError(ct.send(new GetInsightSelectorsCommand({ TrailName: "insightful" })), "InsightNotEnabledException", 400);
    expect((await ct.send(new GetTrailCommand({ Name: "insightful" }))).Trail?.HasInsightSelectors).toBe(false);
  });

  it("refuses unknown or repeated types and missing trails, changing nothing", async () => {
    await expectAwsError(
      ct.send(new PutInsightSelectorsCommand({ TrailName: "insightful", InsightSelectors: [{ InsightType: "Bogus" as InsightType }] })),
      "ValidationException",
      400,
    );
    await expectAwsError(
      ct.send(new PutInsightSelectorsCommand({ TrailName: "insightful", InsightSelectors: [{ InsightType: "ApiCallRateInsight" }, { InsightType: "ApiCallRateInsight" }] })),
      "InvalidInsightSelectorsException",
      400,
    );
    await expectAwsError(ct.send(new GetInsightSelectorsCommand({ TrailName: "insightful" })), "InsightNotEnabledException", 400);
    await expectAwsError(
      ct.send(new PutInsightSelectorsCommand({ TrailName: "no-such-trail", InsightSelectors: [{ InsightType: "ApiCallRateInsight" }] })),
      "TrailNotFoundException",
      404,
    );
    await expectAwsError(ct.send(new GetInsightSelectorsCommand({ EventDataStore: "eds" })), "InvalidParameterCombinationException", 400);
  });

  it("are changed only in the trail's home Region", async () => {
    await ct.send(new CreateTrailCommand({ Name: "everywhere", S3BucketName: "insights-bucket", IsMultiRegionTrail: true }));
    const west = new CloudTrailClient({ ...s.config, region: "us-west-2" });
    const everywhere = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/everywhere`;
    const put = west.send(new PutInsightSelectorsCommand({ TrailName: everywhere, InsightSelectors: [{ InsightType: "ApiCallRateInsight" }] }));
    await expectAwsError(put, "InvalidHomeRegionException", 400);
    await expectAwsError(west.send(new GetInsightSelectorsCommand({ TrailName: everywhere })), "InsightNotEnabledException", 400);
  });
});

describe("ListTrails paging", () => {
  it("pages with NextToken past 50 trails, each trail once, and refuses a token it did not issue", async () => {
    const regions = [
      "eu-west-1",
      "eu-west-2",
      "eu-west-3",
      "eu-central-1",
      "eu-north-1",
      "ap-south-1",
      "ap-northeast-1",
      "ap-northeast-2",
      "ap-southeast-1",
      "ap-southeast-2",
      "ca-central-1",
    ];
    for (const region of regions) {
      const regional = new CloudTrailClient({ ...s.config, region });
      for (let n = 0; n < 5; n++) await regional.send(new CreateTrailCommand({ Name: `paged-${n}`, S3BucketName: "insights-bucket" }));
    }
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await ct.send(new ListTrailsCommand({ NextToken: token }));
      seen.push(...page.Trails!.map((t) => t.TrailARN!));
      token = page.NextToken;
      pages++;
    } while (token);
    expect(pages).toBe(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(regions.length * 5 + 2);
    await expectAwsError(ct.send(new ListTrailsCommand({ NextToken: "not-a-token" })), "InvalidNextTokenException", 400);
  });
});
