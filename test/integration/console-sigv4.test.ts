/**
 * The console's browser SigV4 signer (console/sigv4.ts, WebCrypto) is accepted by the server's
 * verification, for POST bodies and for GET query strings (the task output endpoint is a signed
 * GET), with and without a session token, and a wrong secret is refused as AWS does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sign, type Credentials } from "../../console/sigv4.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

async function call(
  method: "GET" | "POST",
  query: URLSearchParams,
  body: string,
  creds: Credentials,
  service: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const host = new URL(s.url).host;
  const signed = await sign({ method, path: "/", query, headers, body, service, region: "us-east-1", host, nowMs: Date.now() }, creds);
  const res = await fetch(`${s.url}/${query.size ? `?${query}` : ""}`, { method, headers: signed, body: method === "POST" ? body : undefined });
  return { status: res.status, text: await res.text() };
}

const root = { accessKeyId: "test", secretAccessKey: "test" };

describe("the console's SigV4 signer", () => {
  it("signs a GET whose query needs encoding (Query protocol STS)", async () => {
    const q = new URLSearchParams({ Action: "GetCallerIdentity", Version: "2011-06-15", "X-Odd": "a b*c'(d)!~" });
    const r = await call("GET", q, "", root, "sts");
    expect(r.status).toBe(200);
    expect(r.text).toContain("<Arn>arn:aws:iam::000000000000:root</Arn>");
  });

  it("signs a JSON POST, and with an assumed role's session token", async () => {
    const json = { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.ListKeys" };
    expect((await call("POST", new URLSearchParams(), "{}", root, "kms", json)).status).toBe(200);
    const created = await call(
      "POST",
      new URLSearchParams(),
      new URLSearchParams({ Action: "GetSessionToken", Version: "2011-06-15" }).toString(),
      { accessKeyId: "111111111111", secretAccessKey: "test" },
      "sts",
      {
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      },
    );
    // the root user of an account may call GetSessionToken
    expect(created.status).toBe(200);
    const pick = (tag: string) => new RegExp(`<${tag}>([^<]+)</${tag}>`).exec(created.text)![1];
    const session = { accessKeyId: pick("AccessKeyId"), secretAccessKey: pick("SecretAccessKey"), sessionToken: pick("SessionToken") };
    const r = await call("POST", new URLSearchParams(), "{}", session, "kms", json);
    expect(r.status).toBe(200);
  });

  it("is refused with a wrong secret, as AWS refuses it", async () => {
    const r = await call("POST", new URLSearchParams(), "{}", { accessKeyId: "test", secretAccessKey: "nope" }, "kms", {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "TrentService.ListKeys",
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain("InvalidSignatureException");
  });
});
