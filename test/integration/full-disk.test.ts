/**
 * A full data-dir file system: calls are refused with AWS's retryable 503 before they change
 * anything, health says "degraded" with the reason, and everything works again once space
 * returns. Runs on a real, small tmpfs (needs root to mount; skipped otherwise).
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KMSClient, CreateKeyCommand, ListKeysCommand } from "@aws-sdk/client-kms";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { S3Client, CreateBucketCommand, PutObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../support/server.ts";
import { DISK_RESERVE_BYTES, isDiskFull } from "../../src/store/disk-guard.ts";
import { Store } from "../../src/store/store.ts";
import { AuditLog } from "../../src/audit/log.ts";
import { readFileSync, readdirSync } from "node:fs";

const mountPoint = mkdtempSync(join(tmpdir(), "localfargate-fulldisk-"));
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", mountPoint], { stdio: "ignore" });
  mounted = true;
} catch {
  // not root, or no mount in this sandbox: the suite is skipped
}

const filler = join(mountPoint, "filler");
const free = () => {
  const st = statfsSync(mountPoint);
  return st.bavail * st.bsize;
};
/** Leaves `left` bytes free on the file system. */
function fillLeaving(left: number): void {
  try {
    writeFileSync(filler, Buffer.alloc(Math.max(0, free() - left)));
  } catch (e) {
    // what fit is written: the file system is full
    if ((e as { code?: string }).code !== "ENOSPC") throw e;
  }
}
function unfill(): void {
  unlinkSync(filler);
}

let s: TestServer;
const once = { maxAttempts: 1 };
beforeAll(async () => {
  if (!mounted) return;
  s = await startTestServer({ dataDir: join(mountPoint, "data") });
});
afterAll(async () => {
  if (s) await s.stop();
  if (mounted) execFileSync("umount", [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});

const health = async () => {
  const r = await fetch(`${s.url}/_localfargate/health`);
  return { status: r.status, body: (await r.json()) as { status: string; reason?: string; services: Record<string, string> } };
};

describe.skipIf(!mounted)("a full data-dir file system", () => {
  it("refuses calls with a retryable 503 before they change anything, says degraded, and recovers", async () => {
    const kms = new KMSClient({ ...s.config, ...once });
    const s3 = new S3Client({ ...s.config, ...once, forcePathStyle: true });
    await kms.send(new CreateKeyCommand({}));
    await s3.send(new CreateBucketCommand({ Bucket: "full-disk" }));
    const keysBefore = (await kms.send(new ListKeysCommand({}))).Keys!.length;
    expect((await health()).body.status).toBe("ready");

    fillLeaving(DISK_RESERVE_BYTES / 2);

    // awsJson (KMS)
    const e1 = await kms.send(new CreateKeyCommand({})).catch((x) => x);
    expect(e1.name).toBe("ServiceUnavailable");
    expect(e1.$metadata.httpStatusCode).toBe(503);
    expect(e1.message).toBe("The request has failed due to a temporary failure of the server.");
    // awsQuery (STS): even a read is refused (its CloudTrail record must be written)
    const e2 = await new STSClient({ ...s.config, ...once }).send(new GetCallerIdentityCommand({})).catch((x) => x);
    expect(e2.name).toBe("ServiceUnavailable");
    expect(e2.$metadata.httpStatusCode).toBe(503);
    // S3's REST XML
    const e3 = await s3.send(new PutObjectCommand({ Bucket: "full-disk", Key: "k", Body: "v" })).catch((x) => x);
    expect(e3.name).toBe("ServiceUnavailable");
    expect(e3.$metadata.httpStatusCode).toBe(503);
    // the SDK retries it: three attempts with the default strategy
    const e4 = await new KMSClient(s.config).send(new CreateKeyCommand({})).catch((x) => x);
    expect(e4.$metadata.httpStatusCode).toBe(503);
    expect(e4.$metadata.attempts).toBe(3);

    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body.status).toBe("degraded");
    expect(h.body.reason).toMatch(/bytes free, less than the \d+ localfargate keeps in reserve/);
    expect(h.body.services.kms).toBe("degraded");

    // the control clock cannot move either, and says why
    const offset = s.app.store.getMeta("clock.offsetMs");
    const c = await fetch(`${s.url}/_localfargate/clock`, { method: "POST", body: '{"advanceSeconds": 60}' });
    expect(c.status).toBe(503);
    expect(((await c.json()) as { __type: string }).__type).toBe("ServiceUnavailable");
    expect(s.app.store.getMeta("clock.offsetMs")).toBe(offset);

    unfill();

    expect((await health()).body.status).toBe("ready");
    expect((await kms.send(new ListKeysCommand({}))).Keys!.length).toBe(keysBefore);
    await kms.send(new CreateKeyCommand({}));
    expect((await kms.send(new ListKeysCommand({}))).Keys!.length).toBe(keysBefore + 1);
    await s3.send(new PutObjectCommand({ Bucket: "full-disk", Key: "k", Body: "v" }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: "full-disk" }))).Contents!.map((o) => o.Key)).toEqual(["k"]);
  });

  it("refuses an S3 object too large for the room left, storing nothing, while smaller calls go on", async () => {
    const s3 = new S3Client({ ...s.config, ...once, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: "big-object" }));
    fillLeaving(DISK_RESERVE_BYTES + 4 * 1024 * 1024);
    try {
      const e = await s3.send(new PutObjectCommand({ Bucket: "big-object", Key: "big", Body: Buffer.alloc(3 * 1024 * 1024, 1) })).catch((x) => x);
      expect(e.name).toBe("ServiceUnavailable");
      expect(e.$metadata.httpStatusCode).toBe(503);
      expect((await s3.send(new ListObjectsV2Command({ Bucket: "big-object" }))).Contents ?? []).toEqual([]);
      expect((await health()).body.status).toBe("ready");
    } finally {
      unfill();
    }
    await s3.send(new PutObjectCommand({ Bucket: "big-object", Key: "big", Body: Buffer.alloc(3 * 1024 * 1024, 1) }));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: "big-object" }))).Contents!.map((o) => o.Key)).toEqual(["big"]);
  });

  it("starts on a full disk as degraded, keeping every object, and recovers", async () => {
    await s.stop();
    fillLeaving(DISK_RESERVE_BYTES / 2);
    let again: TestServer | undefined;
    try {
      again = await startTestServer({ dataDir: join(mountPoint, "data") });
      const r = await fetch(`${again.url}/_localfargate/health`);
      expect(r.status).toBe(503);
      expect(((await r.json()) as { status: string }).status).toBe("degraded");
      unfill();
      expect((await fetch(`${again.url}/_localfargate/health`)).status).toBe(200);
      const objects = await new S3Client({ ...again.config, forcePathStyle: true }).send(new ListObjectsV2Command({ Bucket: "full-disk" }));
      expect(objects.Contents!.map((o) => o.Key)).toEqual(["k"]);
    } finally {
      await again?.stop();
    }
  });

  it("names SQLite's and the file system's out-of-space errors as such", async () => {
    const store = new Store(join(mountPoint, "raw-store"));
    try {
      fillLeaving(64 * 1024);
      let caught: unknown;
      try {
        store.commitNow([store.put("blob", "x", { data: "x".repeat(1024 * 1024) })]);
      } catch (e) {
        caught = e;
      }
      expect((caught as { code?: string }).code).toBe("SQLITE_FULL");
      expect(isDiskFull(caught)).toBe(true);
      expect(store.disk.problem()).toMatch(/bytes free/);
      expect(store.get("blob", "x")).toBeUndefined();
    } finally {
      unfill();
      store.close();
    }
  });

  it("an audit log write cut short by ENOSPC leaves no torn line behind", async () => {
    const dir = join(mountPoint, "raw-log");
    const log = new AuditLog(dir);
    try {
      await log.append("first");
      fillLeaving(0);
      const big = "y".repeat(256 * 1024);
      const e = await log.append(big).catch((x) => x);
      expect((e as { code?: string }).code).toBe("ENOSPC");
      unfill();
      await log.append("second");
      const seg = readdirSync(dir).filter((f) => f.endsWith(".log"));
      expect(readFileSync(join(dir, seg[seg.length - 1]), "utf8")).toBe("first\nsecond\n");
    } finally {
      log.close();
    }
  });
});
