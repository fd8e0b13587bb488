/**
 * CloudWatch Logs through @aws-sdk/client-cloudwatch-logs: groups, streams, events, filters,
 * paging, retention on the service clock, tags, and AWS's errors for bad input (docs/logs.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  DeleteLogStreamCommand,
  DeleteRetentionPolicyCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  ListTagsForResourceCommand,
  ListTagsLogGroupCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
  TagLogGroupCommand,
  TagResourceCommand,
  UntagLogGroupCommand,
  UntagResourceCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { IAMClient } from "@aws-sdk/client-iam";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";
import { eventsAt, groupWithStream, put, serverNow } from "./logs-helpers.ts";

const ACCOUNT = "000000000000";
const r0Token = (r: { nextToken?: string }) => r.nextToken!;
let s: TestServer;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  s = await startTestServer();
  logs = new CloudWatchLogsClient(s.config);
});
afterAll(() => s?.close());

describe("log groups", () => {
  it("are created, described with their ARNs, and refused twice", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/app/web", tags: { team: "web" }, logGroupClass: "STANDARD" }));
    const d = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/app/web" }));
    expect(d.logGroups).toHaveLength(1);
    const g = d.logGroups![0];
    expect(g).toMatchObject({
      logGroupName: "/app/web",
      arn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/web:*`,
      logGroupArn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/web`,
      logGroupClass: "STANDARD",
      storedBytes: 0,
    });
    expect(g.creationTime).toBeGreaterThan(0);
    await expectAwsError(logs.send(new CreateLogGroupCommand({ logGroupName: "/app/web" })), "ResourceAlreadyExistsException", 400, "The specified log group already exists");
  });

  it("refuse bad names and unknown groups with AWS's errors", async () => {
    await expectAwsError(logs.send(new CreateLogGroupCommand({ logGroupName: "bad name" })), "InvalidParameterException", 400, /Member must satisfy regular expression pattern/);
    await expectAwsError(logs.send(new DeleteLogGroupCommand({ logGroupName: "/nope" })), "ResourceNotFoundException", 400, "The specified log group does not exist.");
  });

  it("page through DescribeLogGroups by prefix and by pattern, not both", async () => {
    for (let i = 0; i < 5; i++) await logs.send(new CreateLogGroupCommand({ logGroupName: `/page/g${i}` }));
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const r = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/page/", limit: 2, nextToken }));
      names.push(...r.logGroups!.map((g) => g.logGroupName!));
      nextToken = r.nextToken;
    } while (nextToken);
    expect(names).toEqual(["/page/g0", "/page/g1", "/page/g2", "/page/g3", "/page/g4"]);
    const p = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePattern: "G3" }));
    expect(p.logGroups!.map((g) => g.logGroupName)).toEqual(["/page/g3"]);
    await expectAwsError(logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/a", logGroupNamePattern: "b" })), "InvalidParameterException", 400, /mutually exclusive/);
    await expectAwsError(logs.send(new DescribeLogGroupsCommand({ nextToken: "garbage" })), "InvalidParameterException", 400, "The specified nextToken is invalid.");
  });

  it("take only AWS's retention periods", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/ret" }));
    await expectAwsError(
      logs.send(new PutRetentionPolicyCommand({ logGroupName: "/ret", retentionInDays: 2 })),
      "InvalidParameterException",
      400,
      /Member must satisfy enum value set: \[1, 3, 5, 7, 14/,
    );
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: "/ret", retentionInDays: 7 }));
    expect((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ret" }))).logGroups![0].retentionInDays).toBe(7);
    await logs.send(new DeleteRetentionPolicyCommand({ logGroupName: "/ret" }));
    expect((await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ret" }))).logGroups![0].retentionInDays).toBeUndefined();
  });
});

describe("tags", () => {
  it("by ARN and by name, with the 50-tag limit and reserved keys refused", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/tags" }));
    const arn = `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/tags`;
    await logs.send(new TagResourceCommand({ resourceArn: arn, tags: { a: "1", b: "2" } }));
    await logs.send(new TagLogGroupCommand({ logGroupName: "/tags", tags: { c: "3" } }));
    await logs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ["a"] }));
    await logs.send(new UntagLogGroupCommand({ logGroupName: "/tags", tags: ["c"] }));
    expect((await logs.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual({ b: "2" });
    expect((await logs.send(new ListTagsLogGroupCommand({ logGroupName: "/tags" }))).tags).toEqual({ b: "2" });
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, "v"]));
    await expectAwsError(logs.send(new TagResourceCommand({ resourceArn: arn, tags: many })), "TooManyTagsException", 400, /no more than 50 tags/);
    await expectAwsError(logs.send(new TagResourceCommand({ resourceArn: arn, tags: { "aws:x": "1" } })), "InvalidParameterException", 400, /reserved/);
    await expectAwsError(logs.send(new ListTagsForResourceCommand({ resourceArn: `${arn}-gone` })), "ResourceNotFoundException", 400);
    expect((await logs.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual({ b: "2" });
  });
});

describe("streams and events", () => {
  it("PutLogEvents stores events that GetLogEvents reads back in both directions", async () => {
    await groupWithStream(logs, "/ev", "s1");
    const now = await serverNow(s.url);
    const r = await put(logs, "/ev", "s1", eventsAt(now, ["one", "two", "three", "four", "five"]));
    expect(r.rejectedLogEventsInfo).toBeUndefined();
    expect(r.nextSequenceToken).toMatch(/^\d+$/);
    const tail = await logs.send(new GetLogEventsCommand({ logGroupName: "/ev", logStreamName: "s1", limit: 2 }));
    expect(tail.events!.map((e) => e.message)).toEqual(["four", "five"]);
    const back = await logs.send(new GetLogEventsCommand({ logGroupName: "/ev", logStreamName: "s1", limit: 2, nextToken: tail.nextBackwardToken }));
    expect(back.events!.map((e) => e.message)).toEqual(["two", "three"]);
    const head = await logs.send(new GetLogEventsCommand({ logGroupName: "/ev", logStreamName: "s1", startFromHead: true, limit: 3 }));
    expect(head.events!.map((e) => e.message)).toEqual(["one", "two", "three"]);
    const rest = await logs.send(new GetLogEventsCommand({ logGroupName: "/ev", logStreamName: "s1", nextToken: head.nextForwardToken }));
    expect(rest.events!.map((e) => e.message)).toEqual(["four", "five"]);
    // at the end, the forward token comes back unchanged: the way callers know to stop
    const end = await logs.send(new GetLogEventsCommand({ logGroupName: "/ev", logStreamName: "s1", nextToken: rest.nextForwardToken }));
    expect(end.events).toEqual([]);
    expect(end.nextForwardToken).toBe(rest.nextForwardToken);
    // events put later appear after the token
    await put(logs, "/ev", "s1", eventsAt(now + 10, ["six"]));
    const more = await logs.send(new GetLogEventsCommand({ logGroupName: "/ev", logStreamName: "s1", nextToken: end.nextForwardToken }));
    expect(more.events!.map((e) => e.message)).toEqual(["six"]);
    // startTime is inclusive, endTime exclusive, in both directions
    const window = { logGroupName: "/ev", logStreamName: "s1", startTime: now - 3, endTime: now - 1 };
    expect((await logs.send(new GetLogEventsCommand({ ...window, startFromHead: true }))).events!.map((e) => e.message)).toEqual(["two", "three"]);
    expect((await logs.send(new GetLogEventsCommand(window))).events!.map((e) => e.message)).toEqual(["two", "three"]);
    const st = (await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ev" }))).logStreams![0];
    expect(st).toMatchObject({
      logStreamName: "s1",
      firstEventTimestamp: now - 4,
      lastEventTimestamp: now + 10,
      arn: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/ev:log-stream:s1`,
    });
    await expectAwsError(
      logs.send(new GetLogEventsCommand({ logGroupName: "/ev", logStreamName: "s1", nextToken: "f/123" })),
      "InvalidParameterException",
      400,
      "The specified nextToken is invalid.",
    );
  });

  it("PutLogEvents refuses batches that break AWS's rules and rejects events out of its window", async () => {
    await groupWithStream(logs, "/rules", "s");
    const now = await serverNow(s.url);
    await expectAwsError(
      put(logs, "/rules", "s", [
        { timestamp: now, message: "b" },
        { timestamp: now - 1, message: "a" },
      ]),
      "InvalidParameterException",
      400,
      /chronological order/,
    );
    await expectAwsError(
      put(logs, "/rules", "s", [
        { timestamp: now - 25 * 3600_000, message: "a" },
        { timestamp: now, message: "b" },
      ]),
      "InvalidParameterException",
      400,
      /span more than 24 hours/,
    );
    const big = "x".repeat(100_000);
    await expectAwsError(
      put(
        logs,
        "/rules",
        "s",
        Array.from({ length: 11 }, () => ({ timestamp: now, message: big })),
      ),
      "InvalidParameterException",
      400,
      "Upload too large: 1100286 bytes exceeds limit of 1048576",
    );
    // exactly 1,048,576 bytes counted AWS's way is accepted (the wire body is larger)
    const quarter = "y".repeat(262_144 - 26);
    const full = await put(
      logs,
      "/rules",
      "s",
      Array.from({ length: 4 }, () => ({ timestamp: now - 1, message: quarter })),
    );
    expect(full.rejectedLogEventsInfo).toBeUndefined();
    await logs.send(new DeleteLogStreamCommand({ logGroupName: "/rules", logStreamName: "s" }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: "/rules", logStreamName: "s" }));
    await expectAwsError(put(logs, "/rules", "nope", [{ timestamp: now, message: "a" }]), "ResourceNotFoundException", 400, "The specified log stream does not exist.");
    await expectAwsError(put(logs, "/nope", "s", [{ timestamp: now, message: "a" }]), "ResourceNotFoundException", 400, "The specified log group does not exist.");
    const old = now - 15 * 86400_000;
    const r = await put(logs, "/rules", "s", [
      { timestamp: old, message: "too old" },
      { timestamp: now, message: "kept" },
      { timestamp: now + 3 * 3600_000, message: "too new" },
    ]).catch(() => undefined);
    // a batch spanning more than 24 hours is refused whole; send the window cases one by one
    expect(r).toBeUndefined();
    const tooOld = await put(logs, "/rules", "s", [
      { timestamp: old, message: "too old" },
      { timestamp: old + 1, message: "too old 2" },
    ]);
    expect(tooOld.rejectedLogEventsInfo).toEqual({ tooOldLogEventEndIndex: 2 });
    const tooNew = await put(logs, "/rules", "s", [
      { timestamp: now, message: "kept" },
      { timestamp: now + 3 * 3600_000, message: "too new" },
    ]);
    expect(tooNew.rejectedLogEventsInfo).toEqual({ tooNewLogEventStartIndex: 1 });
    // a sequence token is accepted and ignored, as AWS does today
    await put(logs, "/rules", "s", [{ timestamp: now, message: "with token" }]);
    await logs.send(new PutLogEventsCommand({ logGroupName: "/rules", logStreamName: "s", sequenceToken: "1234", logEvents: [{ timestamp: now, message: "any token" }] }));
    const got = await logs.send(new GetLogEventsCommand({ logGroupName: "/rules", logStreamName: "s", startFromHead: true }));
    expect(got.events!.map((e) => e.message)).toEqual(["kept", "with token", "any token"]);
  });

  it("events older than the group's retention are rejected as expired", async () => {
    await groupWithStream(logs, "/exp", "s");
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: "/exp", retentionInDays: 1 }));
    const now = await serverNow(s.url);
    const r = await put(logs, "/exp", "s", [{ timestamp: now - 2 * 86400_000, message: "expired" }]);
    expect(r.rejectedLogEventsInfo).toEqual({ expiredLogEventEndIndex: 1 });
  });

  it("DescribeLogStreams orders by name or last event time, descending, with paging", async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: "/streams" }));
    const now = await serverNow(s.url);
    for (const [name, at] of [
      ["b", 3],
      ["a", 1],
      ["c", 2],
    ] as const) {
      await logs.send(new CreateLogStreamCommand({ logGroupName: "/streams", logStreamName: name }));
      await put(logs, "/streams", name, [{ timestamp: now - 100 + at, message: name }]);
    }
    await expectAwsError(
      logs.send(new CreateLogStreamCommand({ logGroupName: "/streams", logStreamName: "a" })),
      "ResourceAlreadyExistsException",
      400,
      "The specified log stream already exists",
    );
    const byName: string[] = [];
    let nextToken: string | undefined;
    do {
      const r = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/streams", limit: 1, nextToken }));
      byName.push(...r.logStreams!.map((x) => x.logStreamName!));
      nextToken = r.nextToken;
    } while (nextToken);
    expect(byName).toEqual(["a", "b", "c"]);
    const byTime = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/streams", orderBy: "LastEventTime", descending: true }));
    expect(byTime.logStreams!.map((x) => x.logStreamName)).toEqual(["b", "c", "a"]);
    // a newer event moves a stream to the front of the LastEventTime order; pages follow it
    await put(logs, "/streams", "a", [{ timestamp: now - 50, message: "newest" }]);
    const walked: string[] = [];
    let token: string | undefined;
    do {
      const r = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/streams", orderBy: "LastEventTime", descending: true, limit: 1, nextToken: token }));
      walked.push(...r.logStreams!.map((x) => x.logStreamName!));
      token = r.nextToken;
    } while (token);
    expect(walked).toEqual(["a", "b", "c"]);
    expect((await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/streams", logStreamNamePrefix: "b" }))).logStreams!.map((x) => x.logStreamName)).toEqual(["b"]);
    await expectAwsError(
      logs.send(
        new DescribeLogStreamsCommand({
          logGroupName: "/streams",
          nextToken: r0Token(await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/streams", limit: 1 }))),
          orderBy: "LastEventTime",
        }),
      ),
      "InvalidParameterException",
      400,
      "The specified nextToken is invalid.",
    );
    await expectAwsError(
      logs.send(new DescribeLogStreamsCommand({ logGroupName: "/streams", orderBy: "LastEventTime", logStreamNamePrefix: "a" })),
      "InvalidParameterException",
      400,
      "Cannot order by LastEventTime with a logStreamNamePrefix.",
    );
    await logs.send(new DeleteLogStreamCommand({ logGroupName: "/streams", logStreamName: "a" }));
    const left = await logs.send(new DescribeLogStreamsCommand({ logGroupIdentifier: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/streams` }));
    expect(left.logStreams!.map((x) => x.logStreamName)).toEqual(["b", "c"]);
  });
});

describe("FilterLogEvents", () => {
  it("interleaves streams, applies the pattern, and pages", async () => {
    await groupWithStream(logs, "/filter", "web");
    await logs.send(new CreateLogStreamCommand({ logGroupName: "/filter", logStreamName: "worker" }));
    const now = await serverNow(s.url);
    await put(logs, "/filter", "web", [
      { timestamp: now - 50, message: "ERROR disk full" },
      { timestamp: now - 30, message: JSON.stringify({ level: "WARN", latency: 900 }) },
      { timestamp: now - 10, message: "INFO ok" },
    ]);
    await put(logs, "/filter", "worker", [
      { timestamp: now - 40, message: "ERROR retrying job" },
      { timestamp: now - 20, message: JSON.stringify({ level: "ERROR", latency: 12 }) },
    ]);
    const all = await logs.send(new FilterLogEventsCommand({ logGroupName: "/filter" }));
    expect(all.events!.map((e) => e.logStreamName)).toEqual(["web", "worker", "web", "worker", "web"]);
    expect(new Set(all.events!.map((e) => e.eventId)).size).toBe(5);
    const msgs = async (filterPattern: string, extra: object = {}) =>
      (await logs.send(new FilterLogEventsCommand({ logGroupName: "/filter", filterPattern, ...extra }))).events!.map((e) => e.message);
    expect(await msgs("ERROR -retrying -level")).toEqual(["ERROR disk full"]);
    // terms match the raw text, JSON events included
    expect(await msgs("ERROR -disk")).toEqual(["ERROR retrying job", JSON.stringify({ level: "ERROR", latency: 12 })]);
    expect(await msgs('"disk full"')).toEqual(["ERROR disk full"]);
    expect(await msgs("?INFO ?retrying")).toEqual(["ERROR retrying job", "INFO ok"]);
    expect(await msgs("{ $.latency > 100 }")).toEqual([JSON.stringify({ level: "WARN", latency: 900 })]);
    expect(await msgs('{ $.level = "ERROR" || $.level = "WARN" }')).toHaveLength(2);
    expect(await msgs("", { logStreamNames: ["worker"] })).toEqual(["ERROR retrying job", JSON.stringify({ level: "ERROR", latency: 12 })]);
    expect(await msgs("", { startTime: now - 30, endTime: now - 20 })).toHaveLength(2);
    const paged: string[] = [];
    let nextToken: string | undefined;
    do {
      const r = await logs.send(new FilterLogEventsCommand({ logGroupName: "/filter", limit: 2, nextToken }));
      paged.push(...r.events!.map((e) => e.message!));
      nextToken = r.nextToken;
    } while (nextToken);
    expect(paged).toEqual(all.events!.map((e) => e.message));
    await expectAwsError(
      logs.send(new FilterLogEventsCommand({ logGroupName: "/filter", filterPattern: "{ $.a = }" })),
      "InvalidParameterException",
      400,
      "Invalid filter pattern",
    );
    await expectAwsError(
      logs.send(new FilterLogEventsCommand({ logGroupName: "/filter", logStreamNames: ["web"], logStreamNamePrefix: "w" })),
      "InvalidParameterException",
      400,
      /mutually exclusive/,
    );
    await expectAwsError(logs.send(new FilterLogEventsCommand({ logGroupName: "/nope" })), "ResourceNotFoundException", 400);
  });
});

describe("following a group as aws logs tail --follow does", () => {
  it("polls FilterLogEvents from the last timestamp seen; event ids are stable, so repeats can be dropped", async () => {
    await groupWithStream(logs, "/follow", "a");
    await logs.send(new CreateLogStreamCommand({ logGroupName: "/follow", logStreamName: "b" }));
    const now = await serverNow(s.url);
    await put(logs, "/follow", "a", [{ timestamp: now - 5, message: "a1" }]);
    await put(logs, "/follow", "b", [{ timestamp: now - 5, message: "b1" }]);
    const seen = new Map<string, string>();
    let since = now - 60_000;
    const poll = async () => {
      const r = await logs.send(new FilterLogEventsCommand({ logGroupName: "/follow", startTime: since }));
      const fresh = r.events!.filter((e) => !seen.has(e.eventId!));
      for (const e of r.events!) {
        if (seen.has(e.eventId!)) expect(seen.get(e.eventId!)).toBe(e.message);
        seen.set(e.eventId!, e.message!);
        since = Math.max(since, e.timestamp!);
      }
      return fresh.map((e) => e.message);
    };
    expect(await poll()).toEqual(["a1", "b1"]);
    expect(await poll()).toEqual([]);
    await put(logs, "/follow", "b", [{ timestamp: now - 5, message: "b2" }]);
    await put(logs, "/follow", "a", [{ timestamp: now, message: "a2" }]);
    expect(await poll()).toEqual(["b2", "a2"]);
    expect(await poll()).toEqual([]);
  });
});

describe("retention on the service clock", () => {
  it("deletes events older than the retention period once the clock passes it", async () => {
    await groupWithStream(logs, "/retained", "s");
    const now = await serverNow(s.url);
    await put(logs, "/retained", "s", [{ timestamp: now - 1000, message: "old" }]);
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: "/retained", retentionInDays: 1 }));
    await put(logs, "/retained", "s", [{ timestamp: now, message: "new" }]);
    await s.advanceClock(86400 - 100);
    const before = await logs.send(new GetLogEventsCommand({ logGroupName: "/retained", logStreamName: "s", startFromHead: true }));
    expect(before.events!.map((e) => e.message)).toEqual(["old", "new"]);
    await s.advanceClock(200);
    const after = await logs.send(new GetLogEventsCommand({ logGroupName: "/retained", logStreamName: "s", startFromHead: true }));
    expect(after.events!.map((e) => e.message)).toEqual([]);
  });
});

describe("authorization", () => {
  it("IAM policies decide on the log group and stream ARNs, with aws:ResourceTag and aws:RequestTag", async () => {
    const creds = await userWithKey(
      new IAMClient(s.config),
      "logs-writer",
      doc([
        allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams"], `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/team/*`),
        allow("logs:PutLogEvents", `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/team/*:log-stream:app-*`),
        allow("logs:GetLogEvents", "*", { Condition: { StringEquals: { "aws:ResourceTag/team": "blue" } } }),
        allow("logs:TagResource", "*", { Condition: { StringEquals: { "aws:RequestTag/team": "blue" } } }),
      ]),
    );
    const user = new CloudWatchLogsClient(s.configFor(creds));
    const denied = (action: string, resource: string) =>
      `User: arn:aws:iam::${ACCOUNT}:user/logs-writer is not authorized to perform: logs:${action} on resource: ${resource} because no identity-based policy allows the logs:${action} action`;
    await user.send(new CreateLogGroupCommand({ logGroupName: "/team/a" }));
    await expectAwsError(
      user.send(new CreateLogGroupCommand({ logGroupName: "/other" })),
      "AccessDeniedException",
      400,
      denied("CreateLogGroup", `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/other`),
    );
    await user.send(new CreateLogStreamCommand({ logGroupName: "/team/a", logStreamName: "app-1" }));
    await user.send(new CreateLogStreamCommand({ logGroupName: "/team/a", logStreamName: "db-1" }));
    const now = await serverNow(s.url);
    await put(user, "/team/a", "app-1", [{ timestamp: now, message: "allowed" }]);
    await expectAwsError(
      put(user, "/team/a", "db-1", [{ timestamp: now, message: "refused" }]),
      "AccessDeniedException",
      400,
      /logs:PutLogEvents on resource: .*log-group:\/team\/a:log-stream:db-1/,
    );
    await expectAwsError(user.send(new DescribeLogGroupsCommand({})), "AccessDeniedException", 400);
    // a group the user may not read until it carries the tag the policy asks for
    await expectAwsError(user.send(new GetLogEventsCommand({ logGroupName: "/team/a", logStreamName: "app-1" })), "AccessDeniedException", 400);
    const arn = `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/team/a`;
    await expectAwsError(user.send(new TagResourceCommand({ resourceArn: arn, tags: { team: "red" } })), "AccessDeniedException", 400);
    await user.send(new TagResourceCommand({ resourceArn: arn, tags: { team: "blue" } }));
    const got = await user.send(new GetLogEventsCommand({ logGroupName: "/team/a", logStreamName: "app-1" }));
    expect(got.events!.map((e) => e.message)).toEqual(["allowed"]);
    // a group that does not exist is refused before it is looked up: no way to probe names
    await expectAwsError(user.send(new DeleteLogGroupCommand({ logGroupName: "/team/a" })), "AccessDeniedException", 400);
    await expectAwsError(user.send(new DeleteLogGroupCommand({ logGroupName: "/no/such/group" })), "AccessDeniedException", 400);
  });
});

describe("persistence", () => {
  it("groups, streams and events survive a restart", async () => {
    const t = await startTestServer();
    const c = new CloudWatchLogsClient(t.config);
    await groupWithStream(c, "/keep", "s");
    const now = await serverNow(t.url);
    await put(c, "/keep", "s", eventsAt(now, ["a", "b"]));
    await t.stop();
    const again = await startTestServer({ dataDir: t.dataDir });
    try {
      const c2 = new CloudWatchLogsClient(again.config);
      const got = await c2.send(new GetLogEventsCommand({ logGroupName: "/keep", logStreamName: "s", startFromHead: true }));
      expect(got.events!.map((e) => e.message)).toEqual(["a", "b"]);
    } finally {
      await again.close();
    }
  });
});
