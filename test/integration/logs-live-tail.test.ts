/**
 * StartLiveTail through @aws-sdk/client-cloudwatch-logs: the event stream (sessionStart, then
 * sessionUpdate events with what is put after the session started), stream filters and filter
 * patterns, AWS's errors for bad input, and the connection closed when the client aborts
 * (docs/logs.md#live-tail).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  StartLiveTailCommand,
  type LiveTailSessionLogEvent,
  type StartLiveTailCommandInput,
  type StartLiveTailResponseStream,
} from "@aws-sdk/client-cloudwatch-logs";
import { startTestServer, type TestServer } from "../support/server.ts";
import { IAMClient } from "@aws-sdk/client-iam";
import { DisableKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { allow, doc, expectAwsError, userWithKey } from "./iam-helpers.ts";
import { createKey, rootStatement, trailRecords } from "./kms-helpers.ts";
import { eventsAt, groupWithStream, put, serverNow } from "./logs-helpers.ts";

const ACCOUNT = "000000000000";
const arn = (name: string, region = "us-east-1", account = ACCOUNT) => `arn:aws:logs:${region}:${account}:log-group:${name}`;
let s: TestServer;
let logs: CloudWatchLogsClient;

beforeAll(async () => {
  s = await startTestServer();
  // the SDK sends StartLiveTail to its `streaming-`/`stream-` host prefix even with a custom endpoint: a local endpoint needs the prefix off
  logs = new CloudWatchLogsClient({ ...s.config, disableHostPrefix: true });
});
afterAll(() => s?.close());

/** A running session: its stream, read in the background, and the way to end it. */
async function tail(input: StartLiveTailCommandInput, client = logs) {
  const abort = new AbortController();
  const out = await client.send(new StartLiveTailCommand(input), { abortSignal: abort.signal });
  const seen: StartLiveTailResponseStream[] = [];
  let waiters: (() => void)[] = [];
  const done = (async () => {
    try {
      for await (const e of out.responseStream!) {
        seen.push(e);
        for (const w of waiters.splice(0)) w();
      }
    } catch (e) {
      if (!abort.signal.aborted) throw e;
    }
  })();
  /** Waits until `pred` holds for what has arrived (each update comes within a second). */
  const until = async (pred: (seen: StartLiveTailResponseStream[]) => boolean) => {
    while (!pred(seen)) await Promise.race([new Promise<void>((r) => waiters.push(r)), done]);
  };
  const events = () => seen.flatMap((e) => e.sessionUpdate?.sessionResults ?? []);
  return { seen, until, events, done, stop: () => abort.abort(), reset: () => (waiters = []) };
}

const messages = (events: LiveTailSessionLogEvent[]) => events.map((e) => e.message);

describe("StartLiveTail", () => {
  it("starts with sessionStart and streams events put after it began", async () => {
    await groupWithStream(logs, "/tail/app", "web-1");
    const now = await serverNow(s.url);
    await put(logs, "/tail/app", "web-1", eventsAt(now, ["before the session"]));
    const t = await tail({ logGroupIdentifiers: [arn("/tail/app")] });
    await t.until((seen) => seen.length >= 1);
    expect(t.seen[0].sessionStart).toMatchObject({ logGroupIdentifiers: [arn("/tail/app")], logEventFilterPattern: "" });
    expect(t.seen[0].sessionStart!.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    await put(logs, "/tail/app", "web-1", eventsAt(await serverNow(s.url), ["first", "second"]));
    await t.until(() => t.events().length >= 2);
    expect(messages(t.events())).toEqual(["first", "second"]);
    expect(t.events()[0]).toMatchObject({ logStreamName: "web-1", logGroupIdentifier: `${ACCOUNT}:/tail/app` });
    expect(t.events()[0].ingestionTime).toBeGreaterThan(0);
    const update = t.seen.find((e) => e.sessionUpdate?.sessionResults?.length)!;
    expect(update.sessionUpdate!.sessionMetadata).toEqual({ sampled: false });
    t.stop();
    await t.done;
    // a management event naming the group; the streamed events are not in it
    const records = await trailRecords(s, "StartLiveTail");
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(records)).toContain(arn("/tail/app"));
    expect(JSON.stringify(records)).not.toContain("second");
  });

  it("sends empty updates every second while nothing is ingested", async () => {
    await groupWithStream(logs, "/tail/quiet", "s");
    const t = await tail({ logGroupIdentifiers: ["/tail/quiet"] });
    await t.until((seen) => seen.filter((e) => e.sessionUpdate).length >= 2);
    expect(t.seen.filter((e) => e.sessionUpdate).every((e) => e.sessionUpdate!.sessionResults!.length === 0)).toBe(true);
    t.stop();
    await t.done;
  });

  it("applies logStreamNamePrefixes, logStreamNames and the filter pattern", async () => {
    await groupWithStream(logs, "/tail/filtered", "api-1");
    await logs.send(new CreateLogStreamCommand({ logGroupName: "/tail/filtered", logStreamName: "worker-1" }));
    const byPrefix = await tail({ logGroupIdentifiers: [arn("/tail/filtered")], logStreamNamePrefixes: ["api-"], logEventFilterPattern: "ERROR" });
    const byName = await tail({ logGroupIdentifiers: [arn("/tail/filtered")], logStreamNames: ["worker-1"] });
    await byPrefix.until((seen) => seen.length >= 1);
    await byName.until((seen) => seen.length >= 1);
    const now = await serverNow(s.url);
    await put(logs, "/tail/filtered", "api-1", eventsAt(now, ["INFO fine", "ERROR broken"]));
    await put(logs, "/tail/filtered", "worker-1", eventsAt(now, ["ERROR in worker", "worker ok"]));
    await byPrefix.until(() => byPrefix.events().length >= 1);
    await byName.until(() => byName.events().length >= 2);
    // one more update after the events: nothing else arrives for either
    const n = byPrefix.seen.length;
    await byPrefix.until((seen) => seen.length >= n + 1);
    expect(messages(byPrefix.events())).toEqual(["ERROR broken"]);
    expect(messages(byName.events())).toEqual(["ERROR in worker", "worker ok"]);
    byPrefix.stop();
    byName.stop();
    await Promise.all([byPrefix.done, byName.done]);
  });

  it("refuses bad input and unknown groups with AWS's errors", async () => {
    await groupWithStream(logs, "/tail/errors", "s");
    const send = (input: StartLiveTailCommandInput) => logs.send(new StartLiveTailCommand(input));
    await expectAwsError(send({ logGroupIdentifiers: [] }), "InvalidParameterException", 400, /logGroupIdentifiers/);
    await expectAwsError(send({ logGroupIdentifiers: Array.from({ length: 11 }, (_, i) => arn(`/g${i}`)) }), "InvalidParameterException", 400, /logGroupIdentifiers/);
    await expectAwsError(
      send({ logGroupIdentifiers: [arn("/tail/errors")], logStreamNames: ["s"], logStreamNamePrefixes: ["s"] }),
      "InvalidParameterException",
      400,
      "logStreamNames and logStreamNamePrefixes are mutually exclusive parameters.",
    );
    await expectAwsError(send({ logGroupIdentifiers: [arn("/tail/errors"), arn("/tail/app")], logStreamNames: ["s"] }), "InvalidParameterException", 400, /Only one log group/);
    await expectAwsError(send({ logGroupIdentifiers: [`${arn("/tail/errors")}:*`] }), "InvalidParameterException", 400, /Member must satisfy regular expression pattern/);
    await expectAwsError(send({ logGroupIdentifiers: [arn("/tail/missing")] }), "ResourceNotFoundException", 400, "The specified log group does not exist.");
    await expectAwsError(send({ logGroupIdentifiers: [arn("/tail/errors", "eu-west-1")] }), "ResourceNotFoundException", 400, "The specified log group does not exist.");
    await expectAwsError(send({ logGroupIdentifiers: [arn("/tail/errors")], logEventFilterPattern: '{ $.a = "' }), "InvalidParameterException", 400, /filter pattern/i);
  });

  it("holds one of the account's 15 sessions until the client aborts, then closes the connection and frees it", async () => {
    // a Region of its own: the limit is per account and Region, and the other tests' sessions are in us-east-1
    const west = new CloudWatchLogsClient({ ...s.config, region: "us-west-2", disableHostPrefix: true });
    await groupWithStream(west, "/tail/abort", "s");
    const input = { logGroupIdentifiers: [arn("/tail/abort", "us-west-2")] };
    const first = await tail(input, west);
    const others = await Promise.all(Array.from({ length: 14 }, () => tail(input, west)));
    await expectAwsError(west.send(new StartLiveTailCommand(input)), "LimitExceededException", 400, /concurrent Live Tail sessions/);
    first.stop();
    await first.done;
    // the server learns of the closed connection asynchronously: the freed slot is taken once it has
    let again: Awaited<ReturnType<typeof tail>> | undefined;
    while (!again) again = await tail(input, west).catch((e: Error) => (e.name === "LimitExceededException" ? undefined : Promise.reject(e)));
    await expectAwsError(west.send(new StartLiveTailCommand(input)), "LimitExceededException", 400, /concurrent Live Tail sessions/);
    for (const t of [again, ...others]) t.stop();
    await Promise.all([again, ...others].map((t) => t.done));
  });

  it("is authorized per log group with logs:StartLiveTail", async () => {
    await groupWithStream(logs, "/tail/team/a", "s");
    await groupWithStream(logs, "/tail/other", "s");
    const creds = await userWithKey(new IAMClient(s.config), "tailer", doc([allow("logs:StartLiveTail", arn("/tail/team/*"))]));
    const user = new CloudWatchLogsClient({ ...s.configFor(creds), disableHostPrefix: true });
    await expectAwsError(
      user.send(new StartLiveTailCommand({ logGroupIdentifiers: [arn("/tail/team/a"), arn("/tail/other")] })),
      "AccessDeniedException",
      400,
      `User: arn:aws:iam::${ACCOUNT}:user/tailer is not authorized to perform: logs:StartLiveTail on resource: ${arn("/tail/other")} because no identity-based policy allows the logs:StartLiveTail action`,
    );
    const t = await tail({ logGroupIdentifiers: [arn("/tail/team/a")] }, user);
    await t.until((seen) => seen.length >= 1);
    expect(t.seen[0].sessionStart).toBeDefined();
    t.stop();
    await t.done;
  });

  it("streams a group under a customer managed key, and ends with SessionStreamingException once the key is disabled", async () => {
    const kms = new KMSClient(s.config);
    const statement = {
      Effect: "Allow",
      Principal: { Service: "logs.us-east-1.amazonaws.com" },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
    };
    const key = await createKey(kms, { Policy: doc([rootStatement(), statement]) });
    await groupWithStream(logs, "/tail/secure", "s", key.Arn);
    const t = await tail({ logGroupIdentifiers: [arn("/tail/secure")] });
    await t.until((seen) => seen.length >= 1);
    await put(logs, "/tail/secure", "s", eventsAt(await serverNow(s.url), ["sealed at rest"]));
    await t.until(() => t.events().length >= 1);
    expect(messages(t.events())).toEqual(["sealed at rest"]);
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expect(t.done).rejects.toMatchObject({
      name: "SessionStreamingException",
      message: `The specified KMS key does not exist or is not allowed to be used with Arn '${arn("/tail/secure")}'`,
    });
    await expectAwsError(
      logs.send(new StartLiveTailCommand({ logGroupIdentifiers: [arn("/tail/secure")] })),
      "AccessDeniedException",
      400,
      `The specified KMS key does not exist or is not allowed to be used with Arn '${arn("/tail/secure")}'`,
    );
  });

  // last: it moves the service clock three hours on
  it("ends with SessionTimeoutException after three hours on the service clock", async () => {
    await groupWithStream(logs, "/tail/long", "s");
    const t = await tail({ logGroupIdentifiers: [arn("/tail/long")] });
    await t.until((seen) => seen.length >= 1);
    await s.advanceClock(3 * 3600);
    await expect(t.done).rejects.toMatchObject({ name: "SessionTimeoutException" });
  });
});

describe("a server stopping with Live Tail sessions open", () => {
  it("closes their connections and stops cleanly", async () => {
    const own = await startTestServer();
    const client = new CloudWatchLogsClient({ ...own.config, disableHostPrefix: true });
    await groupWithStream(client, "/tail/shutdown", "s");
    const t = await tail({ logGroupIdentifiers: [arn("/tail/shutdown")] }, client);
    await t.until((seen) => seen.length >= 1);
    await own.close();
    // the stream ends (cut short: the SDK may report the connection's end as an error)
    await t.done.catch(() => undefined);
    expect(t.seen[0].sessionStart).toBeDefined();
  });
});
