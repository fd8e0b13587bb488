/** Audit records are committed before the response: they survive restarts and a killed server. */
import { afterAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { gunzipSync } from "node:zlib";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { startTestServer } from "../support/server.ts";
import { createTrailBucket, lookupAll, recordOf } from "./cloudtrail-helpers.ts";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts `localfargate start` as a child process on a free port; resolves with its URL. */
function startChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["bin/localfargate.js", "start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain"], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

const creds = { accessKeyId: "test", secretAccessKey: "test" };

describe("durability", () => {
  it("keeps every record, and a logging trail's digest chain, across a restart", async () => {
    const s = await startTestServer();
    dirs.push(s.dataDir);
    const sts = new STSClient(s.config);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await sts.send(new GetCallerIdentityCommand({}))).$metadata.requestId!);
    const s3 = new S3Client({ ...s.config, forcePathStyle: true });
    await createTrailBucket(s3, "restart");
    const ct = new CloudTrailClient(s.config);
    await ct.send(new CreateTrailCommand({ Name: "restart", S3BucketName: "restart", EnableLogFileValidation: true }));
    await ct.send(new StartLoggingCommand({ Name: "restart" }));
    await s.advanceClock(3700);
    await s.stop();

    const again = await startTestServer({ dataDir: s.dataDir });
    try {
      const ct2 = new CloudTrailClient(again.config);
      const found = (await lookupAll(ct2, "EventName", "GetCallerIdentity")).map((e) => recordOf(e).requestID);
      for (const id of ids) expect(found).toContain(id);
      await new STSClient(again.config).send(new GetCallerIdentityCommand({}));
      await again.advanceClock(3700);
      const s3b = new S3Client({ ...again.config, forcePathStyle: true });
      const digests = ((await s3b.send(new ListObjectsV2Command({ Bucket: "restart", Prefix: "AWSLogs/000000000000/CloudTrail-Digest/" }))).Contents ?? [])
        .map((c) => c.Key!)
        .sort();
      expect(digests.length).toBe(2);
      const read = async (k: string) =>
        JSON.parse(gunzipSync(Buffer.from(await (await s3b.send(new GetObjectCommand({ Bucket: "restart", Key: k }))).Body!.transformToByteArray())).toString());
      const [first, second] = [await read(digests[0]), await read(digests[1])];
      expect(second.previousDigestS3Object).toBe(digests[0]);
      // Same region key before and after the restart.
      expect(second.digestPublicKeyFingerprint).toBe(first.digestPublicKeyFingerprint);
    } finally {
      await again.stop();
    }
  });

  it("keeps every answered call's record when the server is killed (SIGKILL)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "localfargate-kill-"));
    dirs.push(dataDir);
    const first = await startChild(dataDir);
    const sts = new STSClient({ endpoint: first.url, region: "us-east-1", credentials: creds });
    const ids = await Promise.all(Array.from({ length: 25 }, async () => (await sts.send(new GetCallerIdentityCommand({}))).$metadata.requestId!));
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));

    const second = await startChild(dataDir);
    try {
      const ct = new CloudTrailClient({ endpoint: second.url, region: "us-east-1", credentials: creds });
      const found = new Set((await lookupAll(ct, "EventName", "GetCallerIdentity")).map((e) => recordOf(e).requestID));
      for (const id of ids) expect(found.has(id), `record of ${id}`).toBe(true);
    } finally {
      second.child.kill("SIGTERM");
      await new Promise((r) => second.child.once("exit", r));
    }
  });
});
