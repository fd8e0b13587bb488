/** POST /_localfargate/clock validates before it changes or saves anything; a bad saved offset cannot brick a data dir. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { startTestServer, type TestServer } from "../support/server.ts";
import { Store } from "../../src/store/store.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

const clockNow = async (srv: TestServer) => ((await (await fetch(`${srv.url}/_localfargate/clock`)).json()) as { now: string }).now;
const savedOffset = (srv: TestServer) => srv.app.store.getMeta("clock.offsetMs");

describe("clock advance validation", () => {
  it.each([
    ['{"advanceSeconds": 1e15}', /at most 3155760000/],
    ['{"advanceSeconds": 1e300}', /at most/],
    ['{"advanceSeconds": 3155760001}', /at most/],
    ['{"advanceSeconds": -1}', /non-negative/],
    ['{"advanceSeconds": -0.5}', /non-negative/],
    ['{"advanceSeconds": "60"}', /non-negative number/],
    ['{"advanceSeconds": null}', /non-negative number/],
    ['{"advanceSeconds": [1]}', /non-negative number/],
    ["{}", /non-negative number/],
  ])("refuses %s with 400 ValidationException and changes nothing", async (body, message) => {
    const before = savedOffset(s);
    const r = await fetch(`${s.url}/_localfargate/clock`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(r.status).toBe(400);
    const err = (await r.json()) as { __type: string; message: string };
    expect(err.__type).toBe("ValidationException");
    expect(err.message).toMatch(message);
    expect(savedOffset(s)).toBe(before);
    expect((await fetch(`${s.url}/_localfargate/health`)).status).toBe(200);
  });

  it.each(["NaN", "Infinity", "1e15x", "null", "[]", '"1"'])("refuses the body %s with 400 SerializationException", async (body) => {
    const r = await fetch(`${s.url}/_localfargate/clock`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { __type: string }).__type).toBe("SerializationException");
  });

  it("refuses an advance that would pass year 9999, though each step is within 100 years", async () => {
    const own = await startTestServer();
    try {
      let refused: Response | undefined;
      for (let i = 0; i < 90 && !refused; i++) {
        const r = await fetch(`${own.url}/_localfargate/clock`, { method: "POST", body: JSON.stringify({ advanceSeconds: 3155760000 }) });
        if (r.status !== 200) refused = r;
      }
      expect(refused?.status).toBe(400);
      expect(((await refused!.json()) as { message: string }).message).toMatch(/past 9999-12-31T23:59:59.999Z/);
      expect(new Date(await clockNow(own)).getUTCFullYear()).toBeLessThanOrEqual(9999);
      const sts = new STSClient(own.config);
      expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe("000000000000");
      expect((await fetch(`${own.url}/_localfargate/health`)).status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it("still advances by a valid amount", async () => {
    const before = Date.parse(await clockNow(s));
    const after = Date.parse(await s.advanceClock(3600));
    expect(after - before).toBeGreaterThanOrEqual(3600_000);
  });
});

describe("a data dir with a bad saved offset starts", () => {
  it.each(["1e18", "NaN", "-5", "abc", "", "1.5e300"])("saved offset %j is ignored with a warning", async (saved) => {
    const dataDir = mkdtempSync(join(tmpdir(), "localfargate-test-"));
    try {
      const store = new Store(dataDir);
      store.commitNow([store.setMeta("clock.offsetMs", saved)]);
      store.close();
      const srv = await startTestServer({ dataDir });
      try {
        expect((await fetch(`${srv.url}/_localfargate/health`)).status).toBe(200);
        expect(Math.abs(Date.parse(await clockNow(srv)) - Date.now())).toBeLessThan(3600_000);
        const sts = new STSClient(srv.config);
        expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe("000000000000");
      } finally {
        await srv.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
