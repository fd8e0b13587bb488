/** Starts a real localfargate on a free port with a fresh data dir, for integration tests. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startLocalfargate, type Running, type StartOptions } from "../../src/server/app.ts";

export interface TestServer extends Running {
  dataDir: string;
  /** client config for @aws-sdk/client-* as the default root user */
  config: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
  configFor(creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, region?: string): TestServer["config"];
  /** stops the server, keeping the data dir (for restart tests) */
  stop(): Promise<void>;
  /** stops the server and deletes the data dir */
  close(): Promise<void>;
  advanceClock(seconds: number): Promise<string>;
}

export async function startTestServer(opts: StartOptions & { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "localfargate-test-"));
  const running = await startLocalfargate({ storageDriver: "plain", ...opts, host: "127.0.0.1", port: 0, dataDir });
  const configFor = (credentials: TestServer["config"]["credentials"], region = "us-east-1") => ({ endpoint: running.url, region, credentials });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await running.close();
  };
  return {
    ...running,
    dataDir,
    config: configFor({ accessKeyId: "test", secretAccessKey: "test" }),
    configFor,
    stop,
    async close() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async advanceClock(seconds: number) {
      const res = await fetch(`${running.url}/_localfargate/clock`, { method: "POST", body: JSON.stringify({ advanceSeconds: seconds }) });
      return ((await res.json()) as { now: string }).now;
    },
  };
}

/**
 * One server for a whole test file: started before its tests (then `onStart` makes the file's
 * clients), closed with its data dir after them.
 */
export function useTestServer(onStart: (s: TestServer) => void | Promise<void>, opts?: Parameters<typeof startTestServer>[0]): void {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(opts);
    await onStart(server);
  });
  afterAll(async () => {
    await server?.close();
  });
}
