import { describe, it, expect } from "vitest";
import Database from "better-sqlite3";
import { AuditStore, summarize, usernameOf } from "./store.ts";
import { buildServiceEventRecord } from "./record.ts";

function record(over: Record<string, unknown>): Record<string, unknown> {
  return {
    eventVersion: "1.08",
    userIdentity: { type: "Root", principalId: "111122223333", arn: "arn:aws:iam::111122223333:root", accountId: "111122223333", accessKeyId: "AKIAROOT" },
    eventTime: "2026-01-01T00:00:00Z",
    eventSource: "kms.amazonaws.com",
    eventName: "CreateKey",
    awsRegion: "us-east-1",
    eventID: crypto.randomUUID(),
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: "111122223333",
    eventCategory: "Management",
    ...over,
  };
}

function commit(db: Database.Database, ops: ((db: Database.Database) => void)[]): void {
  db.transaction(() => ops.forEach((op) => op(db)))();
}

describe("usernameOf", () => {
  it("is root for the root user, the user name for IAM users and the session name for roles", () => {
    expect(usernameOf({ type: "Root", arn: "arn:aws:iam::1:root" })).toBe("root");
    expect(usernameOf({ type: "IAMUser", userName: "alice" })).toBe("alice");
    expect(usernameOf({ type: "AssumedRole", arn: "arn:aws:sts::111122223333:assumed-role/Admin/my-session" })).toBe("my-session");
    expect(usernameOf({ type: "AWSService", invokedBy: "fargate.amazonaws.com" })).toBeNull();
    expect(usernameOf({ accountId: "1", invokedBy: "AWS Internal" })).toBeNull();
  });
});

describe("summarize", () => {
  it("reads the lookup columns from the record", () => {
    const s = summarize(record({ resources: [{ ARN: "arn:aws:kms:us-east-1:111122223333:key/k1", accountId: "111122223333", type: "AWS::KMS::Key" }] }));
    expect(s.username).toBe("root");
    expect(s.accessKeyId).toBe("AKIAROOT");
    expect(s.resources).toEqual([{ ResourceType: "AWS::KMS::Key", ResourceName: "arn:aws:kms:us-east-1:111122223333:key/k1" }]);
    expect(s.eventTimeMs).toBe(Date.parse("2026-01-01T00:00:00Z"));
    expect(s.management).toBe(true);
  });
});

describe("AuditStore", () => {
  const base = Date.parse("2026-01-01T00:00:00Z");
  function filled() {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const ops = [];
    for (let i = 0; i < 30; i++) {
      ops.push(
        store.insert(
          record({
            eventTime: new Date(base + Math.floor(i / 3) * 1000).toISOString().replace(".000Z", "Z"),
            eventName: i % 2 ? "Decrypt" : "CreateKey",
            readOnly: i % 2 === 1,
            resources: [{ ARN: `arn:aws:kms:us-east-1:111122223333:key/k${i % 5}`, accountId: "111122223333", type: "AWS::KMS::Key" }],
          }),
          "111122223333",
          "us-east-1",
        ),
      );
    }
    ops.push(store.insert(record({ eventName: "Decrypt" }), "111122223333", "eu-west-1"));
    ops.push(store.insert(record({ eventName: "GetObject", managementEvent: false, eventCategory: "Data" }), "111122223333", "us-east-1"));
    commit(db, ops);
    return { db, store };
  }

  it("pages newest first through every event of a scope, without repeats", () => {
    const { store } = filled();
    const seen: number[] = [];
    let before: { t: number; s: number } | undefined;
    for (;;) {
      const page = store.lookup({ account: "111122223333", region: "us-east-1", startMs: 0, endMs: base + 1e9, before, limit: 7 });
      if (page.length === 0) break;
      for (let i = 1; i < page.length; i++) {
        const a = page[i - 1];
        const b = page[i];
        expect(a.eventTimeMs > b.eventTimeMs || (a.eventTimeMs === b.eventTimeMs && a.seq > b.seq)).toBe(true);
      }
      seen.push(...page.map((e) => e.seq));
      const last = page[page.length - 1];
      before = { t: last.eventTimeMs, s: last.seq };
    }
    expect(seen.length).toBe(30);
    expect(new Set(seen).size).toBe(30);
  });

  it("filters by each attribute and keeps data events and other regions out", () => {
    const { store } = filled();
    const q = (key: any, value: string) => store.lookup({ account: "111122223333", region: "us-east-1", attribute: { key, value }, startMs: 0, endMs: base + 1e9, limit: 50 });
    expect(q("EventName", "Decrypt").length).toBe(15);
    expect(q("ReadOnly", "true").length).toBe(15);
    expect(q("ReadOnly", "false").length).toBe(15);
    expect(q("Username", "root").length).toBe(30);
    expect(q("AccessKeyId", "AKIAROOT").length).toBe(30);
    expect(q("EventSource", "kms.amazonaws.com").length).toBe(30);
    expect(q("ResourceType", "AWS::KMS::Key").length).toBe(30);
    expect(q("ResourceName", "arn:aws:kms:us-east-1:111122223333:key/k0").length).toBe(6);
    expect(q("EventName", "GetObject").length).toBe(0);
    const one = q("EventName", "CreateKey")[0];
    expect(q("EventId", one.eventId).map((e) => e.seq)).toEqual([one.seq]);
    expect(store.lookup({ account: "111122223333", region: "eu-west-1", startMs: 0, endMs: base + 1e9, limit: 50 }).length).toBe(1);
    expect(store.lookup({ account: "999999999999", region: "us-east-1", startMs: 0, endMs: base + 1e9, limit: 50 }).length).toBe(0);
  });

  it("honours the time range (inclusive at both ends)", () => {
    const { store } = filled();
    const r = store.lookup({ account: "111122223333", region: "us-east-1", startMs: base + 2000, endMs: base + 3000, limit: 50 });
    expect(r.length).toBe(6);
    expect(r.every((e) => e.eventTimeMs >= base + 2000 && e.eventTimeMs <= base + 3000)).toBe(true);
  });

  it("lists every event after a sequence number, data events included", () => {
    const { store } = filled();
    expect(store.after(0, 1000).length).toBe(32);
    expect(store.after(store.maxSeq() - 2, 1000).length).toBe(2);
  });

  it("stores service events with the AWS Internal caller and no request id", () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const r = buildServiceEventRecord(
      { accountId: "111122223333", region: "us-east-1", eventSource: "kms.amazonaws.com", eventName: "RotateKey", serviceEventDetails: { keyId: "k1" } },
      new Date(base),
    );
    commit(db, [store.insert(r, "111122223333", "us-east-1")]);
    const [e] = store.lookup({ account: "111122223333", region: "us-east-1", attribute: { key: "EventName", value: "RotateKey" }, startMs: 0, endMs: base + 1, limit: 5 });
    const stored = JSON.parse(e.record);
    expect(stored.userIdentity).toEqual({ accountId: "111122223333", invokedBy: "AWS Internal" });
    expect(stored.eventType).toBe("AwsServiceEvent");
    expect(stored.requestID).toBeUndefined();
    expect(stored.sourceIPAddress).toBe("AWS Internal");
    expect(stored.serviceEventDetails).toEqual({ keyId: "k1" });
    expect(e.username).toBeNull();
  });
});

describe("deferred lookup indexing", () => {
  it("indexes after the request commit, and a restart indexes what a crash left behind", () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const r = record({ eventName: "Encrypt" });
    commit(db, [store.insert(r, "111122223333", "us-east-1")]);
    // The event row is durable at once; its lookup rows are only queued.
    expect((db.prepare("SELECT COUNT(*) AS n FROM audit_events").get() as { n: number }).n).toBe(1);
    expect((db.prepare("SELECT COUNT(*) AS n FROM audit_lookup").get() as { n: number }).n).toBe(0);
    // A "crash": a new store on the same database finds the event past the watermark.
    const again = new AuditStore(db);
    expect((db.prepare("SELECT COUNT(*) AS n FROM audit_lookup").get() as { n: number }).n).toBeGreaterThan(0);
    const q = { account: "111122223333", region: "us-east-1", startMs: 0, endMs: Date.parse("2030-01-01T00:00:00Z"), limit: 10 };
    expect(again.lookup({ ...q, attribute: { key: "EventName", value: "Encrypt" } }).map((e) => e.eventId)).toEqual([r.eventID]);
  });

  it("flushes queued rows before an attribute lookup reads them", () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const r = record({ eventName: "Decrypt" });
    commit(db, [store.insert(r, "111122223333", "us-east-1")]);
    const q = { account: "111122223333", region: "us-east-1", startMs: 0, endMs: Date.parse("2030-01-01T00:00:00Z"), limit: 10 };
    expect(store.lookup({ ...q, attribute: { key: "EventId", value: String(r.eventID) } })).toHaveLength(1);
  });
});
