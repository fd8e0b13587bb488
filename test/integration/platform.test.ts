/** The front door: health, clock, routing, protocol errors, authentication errors. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { signedFetch } from "../support/signed-fetch.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

describe("control endpoints", () => {
  it("answers health with JSON once ready", async () => {
    const r = await fetch(`${s.url}/_localfargate/health`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { status: string; services: Record<string, string> };
    expect(body.status).toBe("ready");
    expect(body.services.sts).toBe("ready");
  });

  it("reads and advances the service clock", async () => {
    const before = Date.parse(((await (await fetch(`${s.url}/_localfargate/clock`)).json()) as { now: string }).now);
    const after = Date.parse(await s.advanceClock(86400));
    expect(after - before).toBeGreaterThanOrEqual(86400_000);
    expect(after - before).toBeLessThan(86400_000 + 60_000);
  });

  it.each([
    ['{"advanceSeconds": -1}', "ValidationException"],
    ['{"advanceSeconds": "1"}', "ValidationException"],
    ["{nope", "SerializationException"],
  ])("refuses a bad clock request %s", async (body, code) => {
    const r = await fetch(`${s.url}/_localfargate/clock`, { method: "POST", body });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { __type: string }).__type).toBe(code);
  });
});

describe("STS through the real SDK", () => {
  it("knows the default credentials as the account root", async () => {
    const sts = new STSClient(s.config);
    const me = await sts.send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe("000000000000");
    expect(me.Arn).toBe("arn:aws:iam::000000000000:root");
    expect(me.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("works in any region", async () => {
    const sts = new STSClient({ ...s.config, region: "ap-southeast-2" });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe("000000000000");
  });

  it("treats a 12-digit access key as that account's root", async () => {
    const sts = new STSClient(s.configFor({ accessKeyId: "111122223333", secretAccessKey: "test" }));
    expect((await sts.send(new GetCallerIdentityCommand({}))).Arn).toBe("arn:aws:iam::111122223333:root");
  });

  it("refuses an unknown access key with InvalidClientTokenId (403)", async () => {
    const sts = new STSClient(s.configFor({ accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x" }));
    const e = await sts.send(new GetCallerIdentityCommand({})).catch((x) => x);
    expect(e.name).toBe("InvalidClientTokenId");
    expect(e.$metadata.httpStatusCode).toBe(403);
    expect(e.message).toBe("The security token included in the request is invalid.");
  });

  it("refuses a wrong secret with SignatureDoesNotMatch (403)", async () => {
    const sts = new STSClient(s.configFor({ accessKeyId: "test", secretAccessKey: "wrong" }));
    const e = await sts.send(new GetCallerIdentityCommand({})).catch((x) => x);
    expect(e.name).toBe("SignatureDoesNotMatch");
    expect(e.$metadata.httpStatusCode).toBe(403);
  });

  it("refuses an unsigned Query request", async () => {
    const r = await fetch(s.url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "Action=GetCallerIdentity&Version=2011-06-15" });
    expect(r.status).toBe(403);
    const text = await r.text();
    expect(text).toContain("<Code>MissingAuthenticationToken</Code>");
    expect(r.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers an unknown Query action with InvalidAction", async () => {
    const r = await signedFetch(s.url, "sts", "Action=NoSuchThing&Version=2011-06-15", { "content-type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("<Code>InvalidAction</Code>");
  });
});

describe("awsJson front door", () => {
  const target = (op: string) => ({ "content-type": "application/x-amz-json-1.1", "x-amz-target": `TrentService.${op}` });

  it("refuses an unsigned JSON request with MissingAuthenticationTokenException", async () => {
    const r = await fetch(s.url, { method: "POST", headers: target("ListKeys"), body: "{}" });
    expect(r.status).toBe(400);
    expect(r.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
    expect(((await r.json()) as { __type: string }).__type).toBe("MissingAuthenticationTokenException");
  });

  it("refuses a wrong signature with InvalidSignatureException", async () => {
    const kms = new KMSClient(s.configFor({ accessKeyId: "test", secretAccessKey: "nope" }));
    const e = await kms.send(new ListKeysCommand({})).catch((x) => x);
    expect(e.name).toBe("InvalidSignatureException");
  });

  it("refuses an unknown key with UnrecognizedClientException", async () => {
    const kms = new KMSClient(s.configFor({ accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "nope" }));
    const e = await kms.send(new ListKeysCommand({})).catch((x) => x);
    expect(e.name).toBe("UnrecognizedClientException");
  });

  it("answers an unknown operation with UnknownOperationException", async () => {
    const r = await signedFetch(s.url, "kms", "{}", target("NoSuchOperation"));
    expect(r.status).toBe(400);
    expect(r.headers.get("x-amzn-errortype")).toBe("UnknownOperationException");
  });

  it("refuses a credential scoped to another service", async () => {
    const r = await signedFetch(s.url, "ecs", "{}", target("ListKeys"));
    expect(r.status).toBe(400);
    const body = (await r.json()) as { __type: string; message: string };
    expect(body.__type).toBe("InvalidSignatureException");
    expect(body.message).toContain("Credential should be scoped to correct service: 'kms'.");
  });

  it("answers malformed JSON with SerializationException, never a 500", async () => {
    const r = await signedFetch(s.url, "kms", "{not json", target("ListKeys"));
    expect(r.status).toBe(400);
    expect(((await r.json()) as { __type: string }).__type).toBe("SerializationException");
  });

  it("refuses an oversized body with 413", async () => {
    const r = await fetch(s.url, { method: "POST", headers: target("ListKeys"), body: "x".repeat(2 * 1024 * 1024) });
    expect(r.status).toBe(413);
  });

  it("sends Date and x-amzn-RequestId on every answer", async () => {
    const r = await signedFetch(s.url, "kms", "{}", target("NoSuchOperation"));
    expect(Date.parse(r.headers.get("date")!)).not.toBeNaN();
    expect(r.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("persistence", () => {
  it("keeps the service clock across a restart", async () => {
    const t = await startTestServer();
    const advanced = Date.parse(await t.advanceClock(30 * 86400));
    await t.stop();
    const again = await startTestServer({ dataDir: t.dataDir });
    try {
      const now = Date.parse(((await (await fetch(`${again.url}/_localfargate/clock`)).json()) as { now: string }).now);
      expect(now).toBeGreaterThanOrEqual(advanced);
      expect(now - advanced).toBeLessThan(60_000);
    } finally {
      await again.close();
    }
  });
});
