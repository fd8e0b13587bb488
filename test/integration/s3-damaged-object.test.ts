/**
 * An object body that was changed on disk (in the data dir's database) no longer opens: S3
 * answers its own InternalError (500, "We encountered an internal error. Please try again."),
 * the server logs why, and keeps serving every other object (docs/s3.md#a-damaged-object).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import Database from "better-sqlite3";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { s3Fails } from "./s3-helpers.ts";

let s: TestServer;
let s3: S3Client;
let dataDir: string;

/** Flips one byte of the stored body, in the database file, while no server has it open. */
function tamper(bucket: string, key: string): void {
  const db = new Database(join(dataDir, "localfargate.db"));
  try {
    const row = db.prepare("SELECT body FROM s3_object_versions WHERE bucket = ? AND key = ?").get(bucket, key) as { body: Buffer };
    const body = Buffer.from(row.body);
    body[body.length - 20] ^= 0x01;
    db.prepare("UPDATE s3_object_versions SET body = ? WHERE bucket = ? AND key = ?").run(body, bucket, key);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  const first = await startTestServer();
  dataDir = first.dataDir;
  const c = new S3Client({ ...first.config, forcePathStyle: true });
  await c.send(new CreateBucketCommand({ Bucket: "damaged" }));
  const key = (await new KMSClient(first.config).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  await c.send(new PutObjectCommand({ Bucket: "damaged", Key: "sse-s3.txt", Body: "x".repeat(100) }));
  await c.send(new PutObjectCommand({ Bucket: "damaged", Key: "sse-kms.txt", Body: "y".repeat(100), ServerSideEncryption: "aws:kms", SSEKMSKeyId: key }));
  await c.send(new PutObjectCommand({ Bucket: "damaged", Key: "intact.txt", Body: "still here" }));
  await first.stop();
  tamper("damaged", "sse-s3.txt");
  tamper("damaged", "sse-kms.txt");
  s = await startTestServer({ dataDir });
  s3 = new S3Client({ ...s.config, forcePathStyle: true, maxAttempts: 1 });
});
afterAll(async () => {
  await s?.close();
});

describe("a stored body that fails authentication", () => {
  it.each(["sse-s3.txt", "sse-kms.txt"])("%s: GetObject answers S3's InternalError (500) and logs the reason", async (key) => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      await s3Fails(s3.send(new GetObjectCommand({ Bucket: "damaged", Key: key })), "InternalError", 500, "We encountered an internal error. Please try again.");
      const lines = logged.mock.calls.map((a) => a.map(String).join(" ")).join("\n");
      expect(lines).toContain(`damaged/${key}`);
      expect(lines).toMatch(/does not open|fails authentication/);
    } finally {
      logged.mockRestore();
    }
  });

  it("the object's metadata and every other object are still served", async () => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: "damaged", Key: "sse-s3.txt" }));
    expect(head.ContentLength).toBe(100);
    const intact = await s3.send(new GetObjectCommand({ Bucket: "damaged", Key: "intact.txt" }));
    expect(await intact.Body!.transformToString()).toBe("still here");
  });
});
