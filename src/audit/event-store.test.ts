import { afterEach, describe, it, expect } from "vitest";
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { AuditStore, eventRowWriter, INDEX_FILE, logLine, summarize, usernameOf } from "./event-store.ts";
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

  it("pages newest first through every event of a scope, without repeats", async () => {
    const { store } = filled();
    const seen: number[] = [];
    let before: { t: number; s: number } | undefined;
    for (;;) {
      const page = await store.lookup({ account: "111122223333", region: "us-east-1", startMs: 0, endMs: base + 1e9, before, limit: 7 });
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

  type LookupKey = NonNullable<Parameters<AuditStore["lookup"]>[0]["attribute"]>["key"];
  it("filters by each attribute and keeps data events and other regions out", async () => {
    const { store } = filled();
    const q = (key: LookupKey, value: string) =>
      store.lookup({ account: "111122223333", region: "us-east-1", attribute: { key, value }, startMs: 0, endMs: base + 1e9, limit: 50 });
    expect((await q("EventName", "Decrypt")).length).toBe(15);
    expect((await q("ReadOnly", "true")).length).toBe(15);
    expect((await q("ReadOnly", "false")).length).toBe(15);
    expect((await q("Username", "root")).length).toBe(30);
    expect((await q("AccessKeyId", "AKIAROOT")).length).toBe(30);
    expect((await q("EventSource", "kms.amazonaws.com")).length).toBe(30);
    expect((await q("ResourceType", "AWS::KMS::Key")).length).toBe(30);
    expect((await q("ResourceName", "arn:aws:kms:us-east-1:111122223333:key/k0")).length).toBe(6);
    expect((await q("EventName", "GetObject")).length).toBe(0);
    const one = (await q("EventName", "CreateKey"))[0];
    expect((await q("EventId", one.eventId)).map((e) => e.seq)).toEqual([one.seq]);
    expect((await store.lookup({ account: "111122223333", region: "eu-west-1", startMs: 0, endMs: base + 1e9, limit: 50 })).length).toBe(1);
    expect((await store.lookup({ account: "999999999999", region: "us-east-1", startMs: 0, endMs: base + 1e9, limit: 50 })).length).toBe(0);
  });

  it("honours the time range (inclusive at both ends)", async () => {
    const { store } = filled();
    const r = await store.lookup({ account: "111122223333", region: "us-east-1", startMs: base + 2000, endMs: base + 3000, limit: 50 });
    expect(r.length).toBe(6);
    expect(r.every((e) => e.eventTimeMs >= base + 2000 && e.eventTimeMs <= base + 3000)).toBe(true);
  });

  it("lists every event after a sequence number, data events included", () => {
    const { store } = filled();
    expect(store.after(0, 1000).length).toBe(32);
    expect(store.after(store.maxSeq() - 2, 1000).length).toBe(2);
  });

  it("stores service events with the AWS Internal caller and no request id", async () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const r = buildServiceEventRecord(
      { accountId: "111122223333", region: "us-east-1", eventSource: "kms.amazonaws.com", eventName: "RotateKey", serviceEventDetails: { keyId: "k1" } },
      new Date(base),
    );
    commit(db, [store.insert(r, "111122223333", "us-east-1")]);
    const [e] = await store.lookup({ account: "111122223333", region: "us-east-1", attribute: { key: "EventName", value: "RotateKey" }, startMs: 0, endMs: base + 1, limit: 5 });
    const stored = JSON.parse(e.record);
    expect(stored.userIdentity).toEqual({ accountId: "111122223333", invokedBy: "AWS Internal" });
    expect(stored.eventType).toBe("AwsServiceEvent");
    expect(stored.requestID).toBeUndefined();
    expect(stored.sourceIPAddress).toBe("AWS Internal");
    expect(stored.serviceEventDetails).toEqual({ keyId: "k1" });
    expect(e.username).toBeNull();
  });
});

describe("lookup indexing after the fact", () => {
  const q = { account: "111122223333", region: "us-east-1", startMs: 0, endMs: Date.parse("2030-01-01T00:00:00Z"), limit: 10 };
  const count = (db: Database.Database, table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  function fileDb(): Database.Database {
    const dir = mkdtempSync(join(tmpdir(), "lf-audit-"));
    dirs.push(dir);
    const db = new Database(join(dir, "localfargate.db"));
    db.pragma("journal_mode = WAL");
    return db;
  }

  it("writes only the event row in the request's transaction; a lookup indexes what is committed", async () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const r = record({ eventName: "Encrypt" });
    commit(db, [store.insert(r, "111122223333", "us-east-1")]);
    expect(count(db, "audit_events")).toBe(1);
    expect(count(db, "audit_lookup")).toBe(0);
    expect((await store.lookup({ ...q, attribute: { key: "EventId", value: String(r.eventID) } })).map((e) => e.eventId)).toEqual([r.eventID]);
    expect(count(db, "audit_lookup")).toBeGreaterThan(0);
  });

  it("never indexes an event whose transaction rolled back", async () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const lost = record({ eventName: "Encrypt" });
    expect(() =>
      commit(db, [
        store.insert(lost, "111122223333", "us-east-1"),
        () => {
          throw new Error("write failed");
        },
      ]),
    ).toThrow("write failed");
    const kept = record({ eventName: "Decrypt" });
    commit(db, [store.insert(kept, "111122223333", "us-east-1")]);
    expect((await store.lookup(q)).map((e) => e.eventId)).toEqual([kept.eventID]);
    expect(await store.lookup({ ...q, attribute: { key: "EventName", value: "Encrypt" } })).toEqual([]);
  });

  it("with a data dir, indexes on its own thread into audit-index.db, and a restart resumes from its watermark", async () => {
    const db = fileDb();
    const store = new AuditStore(db);
    const first = record({ eventName: "Encrypt" });
    commit(db, [store.insert(first, "111122223333", "us-east-1")]);
    expect((await store.lookup({ ...q, attribute: { key: "EventName", value: "Encrypt" } })).map((e) => e.eventId)).toEqual([first.eventID]);
    await store.close();
    const index = new Database(join(dirname(db.name), INDEX_FILE), { readonly: true });
    expect((index.prepare("SELECT seq FROM audit_indexed").get() as { seq: number }).seq).toBe(1);
    expect(count(index, "audit_lookup")).toBe(7); // all, id, name, read-only, user, source, access key (no resources)
    index.close();
    // events committed while no index thread ran (a crash) are indexed by the next one
    const second = record({ eventName: "Encrypt", resources: [{ ARN: "arn:aws:kms:us-east-1:111122223333:key/k1", type: "AWS::KMS::Key" }] });
    db.prepare(
      "INSERT INTO audit_events (scope, event_time, management, read_only, event_id, event_name, event_source, username, access_key_id, resources, record) VALUES (1, ?, 1, 0, ?, 'Encrypt', 'kms.amazonaws.com', 'root', NULL, ?, ?)",
    ).run(
      Date.parse("2026-01-01T00:00:01Z"),
      second.eventID,
      JSON.stringify([{ ResourceType: "AWS::KMS::Key", ResourceName: "arn:aws:kms:us-east-1:111122223333:key/k1" }]),
      JSON.stringify(second),
    );
    const again = new AuditStore(db);
    expect((await again.lookup({ ...q, attribute: { key: "EventName", value: "Encrypt" } })).map((e) => e.eventId)).toEqual([second.eventID, first.eventID]);
    expect((await again.lookup({ ...q, attribute: { key: "ResourceName", value: "arn:aws:kms:us-east-1:111122223333:key/k1" } })).map((e) => e.eventId)).toEqual([second.eventID]);
    await again.close();
    db.close();
  });

  it("indexes IAM users' and role sessions' events by the user's or role's ARN, in every Region, data events included", async () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const user = "arn:aws:iam::111122223333:user/team/alice";
    const role = "arn:aws:iam::111122223333:role/ops";
    const asUser = { type: "IAMUser", principalId: "AIDAALICE", arn: user, accountId: "111122223333", userName: "alice" };
    const asRole = {
      type: "AssumedRole",
      principalId: "AROAOPS:nightly",
      arn: "arn:aws:sts::111122223333:assumed-role/ops/nightly",
      accountId: "111122223333",
      sessionContext: { sessionIssuer: { type: "Role", principalId: "AROAOPS", arn: role, accountId: "111122223333", userName: "ops" } },
    };
    commit(db, [
      store.insert(record({ userIdentity: asUser, eventTime: "2026-01-01T00:00:00Z" }), "111122223333", "us-east-1"),
      store.insert(record({ userIdentity: asUser, eventTime: "2026-01-02T00:00:00Z" }), "111122223333", "eu-west-1"),
      store.insert(record({ userIdentity: asUser, eventTime: "2026-01-03T00:00:00Z", eventName: "Decrypt", managementEvent: false }), "111122223333", "eu-west-1"),
      store.insert(record({ userIdentity: asRole, eventTime: "2026-01-04T00:00:00Z", eventSource: "ecs.amazonaws.com", eventName: "ListClusters" }), "111122223333", "ap-south-1"),
      store.insert(record({ eventTime: "2026-01-05T00:00:00Z" }), "111122223333", "us-east-1"),
    ]);
    const rows = (await store.principalActivity([user, role], 0)).map((a) => [a.entity, a.eventSource, a.eventName, a.region, new Date(a.lastMs).toISOString()]);
    expect(rows.sort()).toEqual(
      [
        [user, "kms.amazonaws.com", "CreateKey", "us-east-1", "2026-01-01T00:00:00.000Z"],
        [user, "kms.amazonaws.com", "CreateKey", "eu-west-1", "2026-01-02T00:00:00.000Z"],
        [user, "kms.amazonaws.com", "Decrypt", "eu-west-1", "2026-01-03T00:00:00.000Z"],
        [role, "ecs.amazonaws.com", "ListClusters", "ap-south-1", "2026-01-04T00:00:00.000Z"],
      ].sort(),
    );
    expect(await store.principalActivity([user], Date.parse("2026-01-02T12:00:00Z"))).toHaveLength(1);
    // the principal attribute is not one LookupEvents can ask for, and only the root's event remains for "root"
    expect((await store.lookup({ ...q, attribute: { key: "Username", value: "root" } })).length).toBe(1);
  });

  it("re-derives an index written before principals were indexed", async () => {
    const db = fileDb();
    const store = new AuditStore(db);
    const user = "arn:aws:iam::111122223333:user/bob";
    commit(db, [store.insert(record({ userIdentity: { type: "IAMUser", arn: user, accountId: "111122223333", userName: "bob" } }), "111122223333", "us-east-1")]);
    await store.indexed();
    await store.close();
    // what an earlier version left: no principal rows, no layout version, the watermark at the end
    const index = new Database(join(dirname(db.name), INDEX_FILE));
    index.exec("DELETE FROM audit_lookup WHERE attr = 9; DROP TABLE audit_index_layout;");
    index.close();
    const again = new AuditStore(db);
    expect((await again.principalActivity([user], 0)).map((a) => a.eventName)).toEqual(["CreateKey"]);
    await again.close();
    db.close();
  });

  it("with a data dir, takes the records of calls that change nothing through the audit log", async () => {
    const db = fileDb();
    const store = new AuditStore(db);
    expect(store.logs).toBe(true);
    const logged = record({ eventName: "Encrypt", readOnly: true });
    await store.append(logged, "111122223333", "us-east-1");
    // durable in the log; a lookup waits until the index thread stored and indexed it
    expect((await store.lookup({ ...q, attribute: { key: "ReadOnly", value: "true" } })).map((e) => e.eventId)).toEqual([logged.eventID]);
    const another = record({ eventName: "Decrypt", readOnly: true });
    await store.append(another, "111122223333", "us-east-1");
    // readers that need every event at once (trail delivery) wait until the log is stored
    await store.indexed();
    expect(store.after(0, 10).map((e) => e.eventId)).toEqual([logged.eventID, another.eventID]);
    expect(store.maxSeq()).toBe(2);
    await store.close();
    db.close();
  });

  it("encodes a log line that stores the same row as the transaction path, whatever the names hold", () => {
    const db = new Database(":memory:");
    new AuditStore(db);
    const r = record({ eventName: "Encrypt", resources: [{ ARN: "arn:aws:kms:us-east-1:111122223333:key/k1", type: "AWS::KMS::Key" }] });
    const line = logLine(r, "111122223333", "odd\tregion\nname");
    expect(line).not.toContain("\n");
    eventRowWriter(db, "main")(line);
    const row = db
      .prepare("SELECT s.region, e.event_name, e.username, e.access_key_id, e.resources, e.record FROM audit_events e JOIN audit_scopes s ON s.id = e.scope")
      .get() as Record<string, string>;
    expect(row).toEqual({
      region: "odd\tregion\nname",
      event_name: "Encrypt",
      username: "root",
      access_key_id: "AKIAROOT",
      resources: JSON.stringify([{ ResourceType: "AWS::KMS::Key", ResourceName: "arn:aws:kms:us-east-1:111122223333:key/k1" }]),
      record: JSON.stringify(r),
    });
  });

  it("starts the index thread again if it dies; the calls waiting on it fail, later ones are answered", async () => {
    const db = fileDb();
    const store = new AuditStore(db);
    const first = record({ eventName: "Decrypt", readOnly: true });
    await store.append(first, "111122223333", "us-east-1");
    const thread = store.indexThread!;
    await thread.crashForTest();
    await expect(store.lookup(q)).rejects.toThrow(/index thread stopped/);
    const second = record({ eventName: "Encrypt", readOnly: true });
    await store.append(second, "111122223333", "us-east-1");
    await new Promise((r) => setTimeout(r, 1100));
    expect(thread.starts).toBe(2);
    expect((await store.lookup(q)).map((e) => e.eventId).sort()).toEqual([first.eventID, second.eventID].sort());
    await store.close();
    db.close();
  });

  it("forgets the scope ids of a batch that rolled back, so a line never lands in another region", () => {
    const db = new Database(":memory:");
    const store = new AuditStore(db);
    const write = eventRowWriter(db, "main");
    const line = logLine(record({ eventName: "Encrypt" }), "111122223333", "eu-north-1");
    expect(() =>
      db.transaction(() => {
        write(line);
        throw new Error("disk full");
      })(),
    ).toThrow("disk full");
    write.forget!(); // what LogIngester does when its batch fails
    // meanwhile the request thread stores a call of another region: it may get the same scope id
    commit(db, [store.insert(record({ eventName: "Decrypt" }), "111122223333", "ap-south-1")]);
    db.transaction(() => write(line))();
    const rows = db.prepare("SELECT e.event_name, s.region FROM audit_events e JOIN audit_scopes s ON s.id = e.scope ORDER BY e.seq").all();
    expect(rows).toEqual([
      { event_name: "Decrypt", region: "ap-south-1" },
      { event_name: "Encrypt", region: "eu-north-1" },
    ]);
  });

  it("moves an index kept in localfargate.db by earlier versions into audit-index.db", async () => {
    const db = fileDb();
    db.exec(`CREATE TABLE audit_lookup (scope INTEGER NOT NULL, attr INTEGER NOT NULL, value TEXT NOT NULL, event_time INTEGER NOT NULL,
      seq INTEGER NOT NULL, PRIMARY KEY (scope, attr, value, event_time, seq)) WITHOUT ROWID;
      CREATE TABLE audit_indexed (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
      INSERT INTO audit_indexed VALUES (1, 1);`);
    const store = new AuditStore(db);
    const r = record({ eventName: "Decrypt" });
    commit(db, [store.insert(r, "111122223333", "us-east-1")]);
    expect((db.prepare("SELECT name FROM main.sqlite_master WHERE name IN ('audit_lookup', 'audit_indexed', 'audit_events_by_time')").all() as unknown[]).length).toBe(0);
    expect((await store.lookup({ ...q, attribute: { key: "EventName", value: "Decrypt" } })).map((e) => e.eventId)).toEqual([r.eventID]);
    await store.close();
    db.close();
  });
});
