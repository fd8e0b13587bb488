/**
 * LookupEvents over a large event history: stores N CloudTrail records (default 1,000,000) in a
 * fresh data dir, then measures filtered LookupEvents (every lookup attribute, with and without
 * a time range, first page and a later page) in-process (the handler over SQLite) and over
 * HTTP with the real SDK client. Prints a table and writes bench/results/lookup-events-<time>.json.
 * Not a test: a perf check (target: p99 < 50 ms for a filtered page).
 *
 *   node --import tsx bench/lookup-events.ts [--events 1000000] [--queries 400] [--keep]
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { newEventId } from "../src/audit/event-id.ts";
import { CloudTrailClient, LookupEventsCommand, type LookupAttributeKey } from "@aws-sdk/client-cloudtrail";
import { Store } from "../src/store/store.ts";
import { AuditStore } from "../src/audit/event-store.ts";
import { lookupEvents } from "../src/services/cloudtrail/lookup.ts";
import { startLocalfargate } from "../src/server/app.ts";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const EVENTS = arg("events", 1_000_000);
const QUERIES = arg("queries", 400);
const KEEP = process.argv.includes("--keep");
const ACCOUNT = "000000000000";
const REGIONS = ["us-east-1", "eu-west-1"];
const DAY = 86400_000;

// A deterministic generator, so runs are comparable.
let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];

const SOURCES: Record<string, [string, boolean][]> = {
  "kms.amazonaws.com": [
    ["Decrypt", true],
    ["Encrypt", true],
    ["GenerateDataKey", true],
    ["GenerateDataKeyWithoutPlaintext", true],
    ["DescribeKey", true],
    ["CreateGrant", false],
    ["RetireGrant", false],
    ["CreateKey", false],
    ["ScheduleKeyDeletion", false],
  ],
  "ecs.amazonaws.com": [
    ["RunTask", false],
    ["DescribeTasks", true],
    ["StopTask", false],
    ["CreateCluster", false],
    ["ListClusters", true],
  ],
  "sts.amazonaws.com": [
    ["AssumeRole", false],
    ["GetCallerIdentity", true],
  ],
  "iam.amazonaws.com": [
    ["CreateUser", false],
    ["GetUser", true],
    ["PutUserPolicy", false],
    ["ListRoles", true],
  ],
  "cloudtrail.amazonaws.com": [
    ["LookupEvents", true],
    ["DescribeTrails", true],
    ["CreateTrail", false],
  ],
};
const SOURCE_NAMES = Object.keys(SOURCES);
const KEYS = Array.from({ length: 2000 }, () => randomUUIDFrom());
const USERS = Array.from({ length: 200 }, (_, i) => `user${i}`);
const SESSIONS = Array.from({ length: 100 }, (_, i) => `session-${i}`);

function randomUUIDFrom(): string {
  const h = () =>
    Math.floor(rnd() * 0x10000)
      .toString(16)
      .padStart(4, "0");
  return `${h()}${h()}-${h()}-${h()}-${h()}-${h()}${h()}${h()}`;
}

function makeRecord(timeMs: number, region: string): Record<string, unknown> {
  const source = pick(SOURCE_NAMES);
  const [name, readOnly] = pick(SOURCES[source]);
  const who = rnd();
  let userIdentity: Record<string, unknown>;
  if (who < 0.2) userIdentity = { type: "Root", principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT, accessKeyId: "test" };
  else if (who < 0.7) {
    const u = pick(USERS);
    userIdentity = {
      type: "IAMUser",
      principalId: `AIDA${u.toUpperCase()}`,
      arn: `arn:aws:iam::${ACCOUNT}:user/${u}`,
      accountId: ACCOUNT,
      accessKeyId: `AKIA${u.toUpperCase().padEnd(16, "0")}`,
      userName: u,
    };
  } else {
    const sname = pick(SESSIONS);
    userIdentity = {
      type: "AssumedRole",
      principalId: `AROAEXAMPLE:${sname}`,
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Ops/${sname}`,
      accountId: ACCOUNT,
      accessKeyId: `ASIA${sname.toUpperCase().replace(/-/g, "").padEnd(16, "0")}`,
      sessionContext: {
        sessionIssuer: { type: "Role", principalId: "AROAEXAMPLE", arn: `arn:aws:iam::${ACCOUNT}:role/Ops`, accountId: ACCOUNT, userName: "Ops" },
        webIdFederationData: {},
        attributes: { creationDate: new Date(timeMs - 600_000).toISOString().replace(/\.\d+Z$/, "Z"), mfaAuthenticated: "false" },
      },
    };
  }
  const key = source === "kms.amazonaws.com" ? `arn:aws:kms:${region}:${ACCOUNT}:key/${pick(KEYS)}` : undefined;
  return {
    eventVersion: "1.08",
    userIdentity,
    eventTime: new Date(timeMs).toISOString().replace(/\.\d+Z$/, "Z"),
    eventSource: source,
    eventName: name,
    awsRegion: region,
    sourceIPAddress: "203.0.113.10",
    userAgent: "aws-cli/1.45.11 Python/3.11.7 Linux/6 botocore/1.43.11",
    requestParameters: key ? { keyId: key, encryptionContext: { "aws:ecs:clusterName": "prod", "aws:ecs:clusterAccount": ACCOUNT } } : null,
    responseElements: null,
    requestID: randomUUID(),
    eventID: newEventId(timeMs),
    readOnly,
    ...(key ? { resources: [{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: key }] } : {}),
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: "Management",
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

interface Row {
  path: "in-process" | "http";
  query: string;
  n: number;
  p50ms: number;
  p99ms: number;
  maxms: number;
  avgEvents: number;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "lf-bench-lookup-"));
  const rows: Row[] = [];
  try {
    // --- fill ---------------------------------------------------------------------------------
    const store = new Store(dataDir);
    const audit = new AuditStore(store.db);
    const nowMs = Date.now();
    const t0 = performance.now();
    const BATCH = 20_000;
    const eventIds: string[] = [];
    for (let done = 0; done < EVENTS; done += BATCH) {
      const ops = [];
      for (let i = done; i < Math.min(EVENTS, done + BATCH); i++) {
        // Spread over the last 89 days, oldest first (as they would arrive).
        const t = nowMs - 89 * DAY + Math.floor((i / EVENTS) * 89 * DAY);
        const r = makeRecord(t, rnd() < 0.8 ? REGIONS[0] : REGIONS[1]);
        if (i % 9973 === 0) eventIds.push(r.eventID as string);
        ops.push(audit.insert(r, ACCOUNT, r.awsRegion as string));
      }
      store.commitNow(ops);
      await audit.indexed(); // the server's index thread indexes as events arrive; do it per batch here
      if ((done / BATCH) % 10 === 0) process.stdout.write(`\rstored ${done + Math.min(BATCH, EVENTS - done)} events`);
    }
    const fillSeconds = (performance.now() - t0) / 1000;
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    store.db.exec("ANALYZE");
    const dbBytes = readdirSync(dataDir)
      .filter((f) => f.startsWith("localfargate.db") || f.startsWith("audit-index.db"))
      .reduce((a, f) => a + statSync(join(dataDir, f)).size, 0);
    console.log(`\rstored ${EVENTS} events in ${fillSeconds.toFixed(1)} s (${Math.round(EVENTS / fillSeconds)} events/s); database ${(dbBytes / 1e9).toFixed(2)} GB`);

    // --- the queries ----------------------------------------------------------------------------
    type Q = { name: string; make: () => { key?: LookupAttributeKey; value?: string; start?: Date; end?: Date; pages?: number } };
    const queries: Q[] = [
      { name: "no filter", make: () => ({}) },
      { name: "EventId", make: () => ({ key: "EventId", value: pick(eventIds) }) },
      { name: "EventName (common)", make: () => ({ key: "EventName", value: "Decrypt" }) },
      { name: "EventName (rare)", make: () => ({ key: "EventName", value: "ScheduleKeyDeletion" }) },
      { name: "ReadOnly=false", make: () => ({ key: "ReadOnly", value: "false" }) },
      { name: "Username (IAM user)", make: () => ({ key: "Username", value: pick(USERS) }) },
      { name: "Username (session)", make: () => ({ key: "Username", value: pick(SESSIONS) }) },
      { name: "ResourceType", make: () => ({ key: "ResourceType", value: "AWS::KMS::Key" }) },
      { name: "ResourceName (one key)", make: () => ({ key: "ResourceName", value: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${pick(KEYS)}` }) },
      { name: "EventSource", make: () => ({ key: "EventSource", value: pick(SOURCE_NAMES) }) },
      { name: "AccessKeyId", make: () => ({ key: "AccessKeyId", value: `AKIA${pick(USERS).toUpperCase().padEnd(16, "0")}` }) },
      { name: "no match", make: () => ({ key: "EventName", value: "NoSuchEvent" }) },
      {
        name: "EventName + 1-day range",
        make: () => {
          const start = new Date(nowMs - Math.floor(rnd() * 80 + 2) * DAY);
          return { key: "EventName", value: "RunTask", start, end: new Date(start.getTime() + DAY) };
        },
      },
      { name: "Username, 3rd page", make: () => ({ key: "Username", value: pick(USERS), pages: 3 }) },
    ];

    // In-process: the LookupEvents handler over the store.
    for (const q of queries) {
      const times: number[] = [];
      let total = 0;
      for (let i = 0; i < QUERIES; i++) {
        const p = q.make();
        const req = { ...(p.key ? { LookupAttributes: [{ AttributeKey: p.key, AttributeValue: p.value! }] } : {}), StartTime: p.start, EndTime: p.end };
        const t = performance.now();
        let NextToken: string | undefined;
        let res;
        for (let page = 0; page < (p.pages ?? 1); page++) {
          res = await lookupEvents(audit, ACCOUNT, "us-east-1", nowMs, { ...req, NextToken });
          NextToken = res.NextToken;
          if (!NextToken) break;
        }
        times.push(performance.now() - t);
        total += res!.Events!.length;
      }
      rows.push({
        path: "in-process",
        query: q.name,
        n: QUERIES,
        p50ms: round(pct(times, 50)),
        p99ms: round(pct(times, 99)),
        maxms: round(Math.max(...times)),
        avgEvents: Math.round(total / QUERIES),
      });
    }
    await audit.close();
    store.close();

    // Over HTTP: a real server on this data dir and the SDK client.
    const running = await startLocalfargate({ host: "127.0.0.1", port: 0, dataDir, storageDriver: "plain" });
    try {
      const ct = new CloudTrailClient({ endpoint: running.url, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
      const httpQueries = Math.max(50, Math.floor(QUERIES / 2));
      for (const q of queries) {
        const times: number[] = [];
        let total = 0;
        for (let i = 0; i < httpQueries; i++) {
          const p = q.make();
          const input = { ...(p.key ? { LookupAttributes: [{ AttributeKey: p.key, AttributeValue: p.value! }] } : {}), StartTime: p.start, EndTime: p.end };
          const t = performance.now();
          let NextToken: string | undefined;
          let res;
          for (let page = 0; page < (p.pages ?? 1); page++) {
            res = await ct.send(new LookupEventsCommand({ ...input, NextToken }));
            NextToken = res.NextToken;
            if (!NextToken) break;
          }
          times.push(performance.now() - t);
          total += res!.Events!.length;
        }
        rows.push({
          path: "http",
          query: q.name,
          n: httpQueries,
          p50ms: round(pct(times, 50)),
          p99ms: round(pct(times, 99)),
          maxms: round(Math.max(...times)),
          avgEvents: Math.round(total / httpQueries),
        });
      }
    } finally {
      await running.close();
    }

    // --- report -------------------------------------------------------------------------------
    console.log(`\nLookupEvents over ${EVENTS.toLocaleString("en")} stored events (page = up to 50 events; "3rd page" times all three pages)\n`);
    const header = ["path", "query", "n", "p50 ms", "p99 ms", "max ms", "events/page"];
    const lines = rows.map((r) => [r.path, r.query, String(r.n), r.p50ms.toFixed(2), r.p99ms.toFixed(2), r.maxms.toFixed(2), String(r.avgEvents)]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (l: string[]) => l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
    console.log(fmt(header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const l of lines) console.log(fmt(l));
    const worstHttp = Math.max(...rows.filter((r) => r.path === "http").map((r) => r.p99ms / (r.query.includes("3rd page") ? 3 : 1)));
    console.log(`\nworst per-page p99 over HTTP: ${worstHttp.toFixed(2)} ms (target < 50 ms)`);
    const result = { when: new Date().toISOString(), events: EVENTS, fillSeconds: round(fillSeconds), databaseBytes: dbBytes, rows, worstHttpPageP99ms: round(worstHttp) };
    const dir = join(process.cwd(), "bench", "results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `lookup-events-${result.when.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(JSON.stringify(result));
    console.log(`written to ${file}`);
  } finally {
    if (KEEP) console.log(`data dir kept: ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
