/**
 * Names and paths from the wire never reach a 5xx: operation names that are Object.prototype
 * members, malformed percent-escapes on the task metadata endpoint.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { KMSClient, ListKeysCommand, CreateKeyCommand } from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { signedFetch } from "../support/signed-fetch.ts";

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.close();
});

const PROTOTYPE_NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"];

describe("operation names are looked up as own properties", () => {
  it.each(PROTOTYPE_NAMES)("X-Amz-Target TrentService.%s → 400 UnknownOperationException", async (op) => {
    const r = await signedFetch(s.url, "kms", "{}", { "content-type": "application/x-amz-json-1.1", "x-amz-target": `TrentService.${op}` });
    expect(r.status).toBe(400);
    expect(r.headers.get("x-amzn-errortype")).toBe("UnknownOperationException");
  });

  it.each(PROTOTYPE_NAMES)("STS Action=%s → 400 InvalidAction", async (op) => {
    const r = await signedFetch(s.url, "sts", `Action=${op}&Version=2011-06-15`, { "content-type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("<Code>InvalidAction</Code>");
  });

  it.each(PROTOTYPE_NAMES)("IAM Action=%s → 400 InvalidAction", async (op) => {
    const r = await signedFetch(s.url, "iam", `Action=${op}&Version=2010-05-08`, { "content-type": "application/x-www-form-urlencoded" });
    expect(r.status).toBe(400);
    expect(await r.text()).toContain("<Code>InvalidAction</Code>");
  });

  it("still serves real operations", async () => {
    const out = await new KMSClient(s.config).send(new ListKeysCommand({}));
    expect(out.Keys).toBeDefined();
  });
});

describe("map keys from the wire are kept as keys", () => {
  const kmsCall = (op: string, body: string) => signedFetch(s.url, "kms", body, { "content-type": "application/x-amz-json-1.1", "x-amz-target": `TrentService.${op}` });

  it("an encryption context key __proto__ binds the ciphertext like any other key", async () => {
    const keyId = (await new KMSClient(s.config).send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const enc = await kmsCall("Encrypt", `{"KeyId":"${keyId}","Plaintext":"YQ==","EncryptionContext":{"__proto__":"x","a":"b"}}`);
    expect(enc.status).toBe(200);
    const blob = ((await enc.json()) as { CiphertextBlob: string }).CiphertextBlob;
    const without = await kmsCall("Decrypt", `{"CiphertextBlob":"${blob}","EncryptionContext":{"a":"b"}}`);
    expect(without.status).toBe(400);
    expect(without.headers.get("x-amzn-errortype")).toBe("InvalidCiphertextException");
    const withIt = await kmsCall("Decrypt", `{"CiphertextBlob":"${blob}","EncryptionContext":{"a":"b","__proto__":"x"}}`);
    expect(withIt.status).toBe(200);
    expect(((await withIt.json()) as { Plaintext: string }).Plaintext).toBe("YQ==");
  });
});

describe("task metadata endpoint paths", () => {
  it.each(["%E0%A4%A", "%", "%zz", "abc%E0%A4%A/task"])("a malformed escape %s is a 400, not a 500", async (seg) => {
    const r = await fetch(`${s.url}/_localfargate/metadata/v4/${seg}/x`);
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/percent-encoding/);
  });

  it("an unknown token is still a 404", async () => {
    const r = await fetch(`${s.url}/_localfargate/metadata/v4/nope/x`);
    expect(r.status).toBe(404);
  });
});
