/**
 * In-process: one operation run through the dispatcher (authorize, handler, CloudTrail record,
 * group commit) without HTTP or SigV4, 16 calls at a time, on a data dir like the server's.
 * The cost of our own per-call work in µs, free of the socket and wrk noise of the HTTP rows.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/server/app.ts";
import { execute, newContext } from "../src/server/dispatcher.ts";
import { decodeJsonInput } from "../src/protocol/aws-json.ts";
import type { Principal } from "../src/kernel/principal.ts";

export interface DispatchResult {
  scenario: string;
  audit: boolean;
  microsPerCall: number;
}

const ROOT = { type: "Root", accountId: "000000000000", arn: "arn:aws:iam::000000000000:root", principalId: "000000000000", accessKeyId: "test" } as Principal;
const META = { region: "us-east-1", principal: ROOT, sourceIp: "127.0.0.1", userAgent: "bench", secureTransport: false, internal: false };

async function measure(seconds: number, call: () => Promise<unknown>): Promise<number> {
  const G = 16;
  for (let i = 0; i < 2000; i += G) await Promise.all(Array.from({ length: G }, call)); // warm up
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await Promise.all(Array.from({ length: G }, call));
    calls += G;
  }
  return ((performance.now() - t0) * 1000) / calls;
}

export async function dispatchScenarios(seconds: number): Promise<DispatchResult[]> {
  const out: DispatchResult[] = [];
  for (const audit of [true, false]) {
    const dataDir = mkdtempSync(join(tmpdir(), "lf-bench-dispatch-"));
    const { app, shutdown } = await createApp({ dataDir, audit, storageDriver: "plain" });
    try {
      const sts = app.services.get("sts")!;
      const kms = app.services.get("kms")!;
      out.push({ scenario: "sts GetCallerIdentity", audit, microsPerCall: await measure(seconds, () => execute(newContext(app, sts, "GetCallerIdentity", META), () => ({}))) });
      const key = (await execute(newContext(app, kms, "CreateKey", META), () => ({}))) as { KeyMetadata: { KeyId: string } };
      const body = Buffer.from(JSON.stringify({ KeyId: key.KeyMetadata.KeyId, Plaintext: Buffer.from("hello world").toString("base64"), EncryptionContext: { purpose: "bench" } }));
      out.push({
        scenario: "kms Encrypt",
        audit,
        microsPerCall: await measure(seconds, () => execute(newContext(app, kms, "Encrypt", META), () => decodeJsonInput(kms.shapes!, "Encrypt", body))),
      });
    } finally {
      for (const s of shutdown.reverse()) await s();
      app.store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return out;
}
