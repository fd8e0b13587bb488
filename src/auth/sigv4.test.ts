import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SignatureV4 } from "@smithy/signature-v4";
import type { HttpRequest, SourceData } from "@smithy/types";
import { EncryptCommand, KMSClient, ListKeysCommand } from "@aws-sdk/client-kms";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  AuthError,
  canonicalPath,
  canonicalRequest,
  checkCredentialScope,
  deriveSigningKey,
  parseAuth,
  SIGNATURE_MISMATCH,
  verifySignature,
  type IncomingSignedRequest,
  type ParsedAuth,
} from "./sigv4.ts";

// ---------------------------------------------------------------------------------------------
// oracle: @smithy/signature-v4 (what every SDK v3 client uses) over node's sha256

class NodeSha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.h = this.init();
  }
  private init(): Hash | Hmac {
    if (this.secret === undefined) return createHash("sha256");
    const key = typeof this.secret === "string" ? this.secret : Buffer.from(this.secret instanceof ArrayBuffer ? new Uint8Array(this.secret) : (this.secret as Uint8Array));
    return createHmac("sha256", key);
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
  reset(): void {
    this.h = this.init();
  }
}

interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}
const CREDS: Creds = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const TEMP: Creds = { accessKeyId: "ASIAIOSFODNN7EXAMPLE", secretAccessKey: "tempsecret/abc+def", sessionToken: "FwoGZXIvYXdzE//////////wEaDLong+Token/=" };
const T0 = Date.UTC(2026, 10, 29, 3, 40, 0); // 20261129T034000Z

function signer(service: string, creds: Creds = CREDS, opts: { region?: string; uriEscapePath?: boolean; applyChecksum?: boolean } = {}) {
  return new SignatureV4({
    service,
    region: opts.region ?? "us-east-1",
    credentials: creds,
    sha256: NodeSha256,
    uriEscapePath: opts.uriEscapePath ?? true,
    applyChecksum: opts.applyChecksum ?? false,
  });
}

function request(r: Partial<HttpRequest> & { path: string }): HttpRequest {
  const hostname = r.hostname ?? "example.amazonaws.com";
  return { method: "POST", protocol: "https:", hostname, query: {}, ...r, headers: { host: hostname, ...r.headers } } as HttpRequest;
}

/** smithy's escapeUri, which its HTTP handlers use to put the query on the wire */
const wireEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());

function wireQuery(query: HttpRequest["query"], reverse = false): string {
  const parts: string[] = [];
  for (const k of Object.keys(query ?? {}).sort()) {
    const v = query![k];
    if (Array.isArray(v)) for (const x of v) parts.push(`${wireEncode(k)}=${wireEncode(x)}`);
    else if (v === null || v === undefined) parts.push(wireEncode(k));
    else parts.push(`${wireEncode(k)}=${wireEncode(v)}`);
  }
  if (reverse) parts.reverse();
  return parts.join("&");
}

/** The request as node's http server hands it over: raw path and query, lower-cased headers. */
function received(r: HttpRequest, opts: { reverseQuery?: boolean; body?: Buffer } = {}): IncomingSignedRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = String(v);
  const body = opts.body ?? (r.body === undefined || r.body === null ? Buffer.alloc(0) : Buffer.from(r.body as string | Uint8Array));
  return { method: r.method, path: r.path, query: wireQuery(r.query, opts.reverseQuery), headers, body };
}

const amzDateOf = (req: IncomingSignedRequest) => {
  const d = String(req.headers["x-amz-date"] ?? new URLSearchParams(req.query).get("X-Amz-Date"));
  return Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15));
};

/** parse + verify, returning the parsed auth (throws AuthError). */
function check(req: IncomingSignedRequest, secret: string, nowMs = amzDateOf(req), skew?: number): ParsedAuth {
  const auth = parseAuth(req);
  if (!auth) throw new Error("no auth");
  verifySignature(req, auth, secret, nowMs, skew);
  return auth;
}

function authErr(fn: () => unknown): AuthError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AuthError) return e;
    throw e;
  }
  throw new Error("expected an AuthError");
}

/** Runs a real SDK v3 client command, capturing the signed request instead of sending it. */
async function captureSdk(make: (handler: unknown) => { send(c: unknown): Promise<unknown> }, command: unknown): Promise<HttpRequest> {
  let captured: HttpRequest | undefined;
  const handler = {
    handle: async (req: HttpRequest) => {
      captured = req;
      throw new Error("captured");
    },
  };
  await expect(make(handler).send(command)).rejects.toThrow("captured");
  return captured!;
}

// ---------------------------------------------------------------------------------------------

describe("AWS SigV4 test suite (aws-sig-v4-test-suite, 20150830T123600Z, us-east-1/service)", () => {
  const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const NOW = Date.UTC(2015, 7, 30, 12, 36, 0);
  const suite = (
    method: string,
    path: string,
    query: string,
    extra: Record<string, string | string[]>,
    signedHeaders: string,
    signature: string,
    body = "",
  ): IncomingSignedRequest => ({
    method,
    path,
    query,
    headers: {
      host: "example.amazonaws.com",
      "x-amz-date": "20150830T123600Z",
      ...extra,
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
    body: Buffer.from(body),
  });
  const VANILLA = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

  it("get-vanilla: canonical request and signature", () => {
    const req = suite("GET", "/", "", {}, "host;x-amz-date", VANILLA);
    const auth = check(req, SECRET, NOW);
    expect(canonicalRequest(req, auth)).toBe(
      "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(auth).toMatchObject({ kind: "header", accessKeyId: "AKIDEXAMPLE", date: "20150830", region: "us-east-1", service: "service", amzDate: "20150830T123600Z" });
    expect(authErr(() => check(req, SECRET + "x", NOW)).message).toBe(SIGNATURE_MISMATCH);
  });

  // Normalised paths (get-slash, get-slash-dot-slash, get-relative, get-relative-relative) canonicalise to "/".
  it.each(["//", "/./", "/example/..", "/example1/example2/../..", "/./example/.."])("normalises %s to / (get-vanilla signature)", (path) => {
    expect(() => check(suite("GET", path, "", {}, "host;x-amz-date", VANILLA), SECRET, NOW)).not.toThrow();
  });

  it.each([
    ["get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", {}, "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"],
    [
      "get-vanilla-query-order-encoded",
      "GET",
      "/",
      "Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
      {},
      "host;x-amz-date",
      "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
    ],
    [
      "get-vanilla-query-unreserved",
      "GET",
      "/",
      "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      {},
      "host;x-amz-date",
      "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
    ],
    ["get-vanilla-utf8-query", "GET", "/", "%E1%88%B4=bar", {}, "host;x-amz-date", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"],
    [
      "get-unreserved",
      "GET",
      "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
      "",
      {},
      "host;x-amz-date",
      "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
    ],
    [
      "get-vanilla-with-session-token",
      "GET",
      "/",
      "",
      { "x-amz-security-token": "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" },
      "host;x-amz-date;x-amz-security-token",
      "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    ],
    [
      "get-header-key-duplicate",
      "GET",
      "/",
      "",
      { "my-header1": ["value2", "value2", "value1"] },
      "host;my-header1;x-amz-date",
      "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
    ],
    [
      "get-header-value-order",
      "GET",
      "/",
      "",
      { "my-header1": ["value4", "value1", "value3", "value2"] },
      "host;my-header1;x-amz-date",
      "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
    ],
    [
      "get-header-value-trim",
      "GET",
      "/",
      "",
      { "my-header1": " value1", "my-header2": ' "a   b   c"' },
      "host;my-header1;my-header2;x-amz-date",
      "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ],
    ["post-vanilla", "POST", "/", "", {}, "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"],
    ["post-vanilla-query", "POST", "/", "Param1=value1", {}, "host;x-amz-date", "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"],
    ["post-header-value-case", "POST", "/", "", { "my-header1": "VALUE1" }, "host;my-header1;x-amz-date", "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"],
  ] as const)("%s", (_name, method, path, query, extra, signed, signature) => {
    const req = suite(method, path, query, extra as Record<string, string | string[]>, signed, signature);
    expect(() => check(req, SECRET, NOW)).not.toThrow();
    const tampered = { ...req, headers: { ...req.headers, host: "example2.amazonaws.com" } };
    expect(authErr(() => check(tampered, SECRET, NOW)).kind).toBe("SignatureDoesNotMatch");
  });

  it("post-x-www-form-urlencoded (declared x-amz-content-sha256 that matches the body)", () => {
    const req = suite(
      "POST",
      "/",
      "",
      {
        "content-type": "application/x-www-form-urlencoded",
        "content-length": "13",
        "x-amz-content-sha256": "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
      },
      "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
      "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
      "Param1=value1",
    );
    expect(() => check(req, SECRET, NOW)).not.toThrow();
    // same declared hash, different body: the signature still matches, the body does not
    const swapped = { ...req, body: Buffer.from("Param1=value2") };
    const e = authErr(() => check(swapped, SECRET, NOW));
    expect([e.kind, e.message]).toEqual(["SignatureDoesNotMatch", SIGNATURE_MISMATCH]);
  });

  it("accepts the Authorization components in any spacing and order", () => {
    const cred = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request";
    for (const authorization of [
      `AWS4-HMAC-SHA256 ${cred},SignedHeaders=host;x-amz-date,Signature=${VANILLA}`,
      `AWS4-HMAC-SHA256   ${cred} ,  SignedHeaders=host;x-amz-date,\tSignature=${VANILLA}`,
      `AWS4-HMAC-SHA256 Signature=${VANILLA}, SignedHeaders=Host;X-Amz-Date, ${cred}`,
    ]) {
      const req = suite("GET", "/", "", {}, "", "");
      req.headers.authorization = authorization;
      expect(check(req, SECRET, NOW).signedHeaders).toEqual(["host", "x-amz-date"]);
    }
  });

  it("SignedHeaders lists shared between requests cannot be altered", () => {
    const a = parseAuth(suite("GET", "/", "", {}, "host;x-amz-date", VANILLA))!;
    const b = parseAuth(suite("GET", "/", "", {}, "host;x-amz-date", VANILLA))!;
    expect(() => a.signedHeaders.push("evil")).toThrow(TypeError);
    expect(b.signedHeaders).toEqual(["host", "x-amz-date"]);
  });

  it("IAM ListUsers example from the SigV4 docs", () => {
    const req: IncomingSignedRequest = {
      method: "GET",
      path: "/",
      query: "Action=ListUsers&Version=2010-05-08",
      headers: {
        host: "iam.amazonaws.com",
        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        "x-amz-date": "20150830T123600Z",
        authorization:
          "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
      },
      body: Buffer.alloc(0),
    };
    expect(() => check(req, SECRET, NOW)).not.toThrow();
  });

  it("S3 keeps the received path as-is (the suite's -unnormalized cases)", () => {
    for (const [wire, canonical] of [
      ["/%E1%88%B4", "/%E1%88%B4"],
      ["/example%20space/", "/example%20space/"],
      ["//example//", "//example//"],
      ["/example/..", "/example/.."],
    ]) {
      expect(canonicalPath(wire, "s3")).toBe(canonical);
    }
    // and everything else double-encodes and normalises
    expect(canonicalPath("/example%20space/", "lambda")).toBe("/example%2520space/");
    expect(canonicalPath("//a/./b/../c//", "lambda")).toBe("/a/c/");
  });

  it("derives the signing key of the AWS docs example", () => {
    expect(deriveSigningKey(SECRET, "20120215", "us-east-1", "iam").toString("hex")).toBe("f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  });
});

describe("requests signed by the real SDK v3 clients", () => {
  it("KMS (awsJson1_1 POST)", async () => {
    const r = await captureSdk(
      (requestHandler) => new KMSClient({ region: "eu-west-1", credentials: CREDS, maxAttempts: 1, requestHandler: requestHandler as never }),
      new EncryptCommand({ KeyId: "alias/my key", Plaintext: Buffer.from("secret data ü") }),
    );
    const req = received(r);
    const auth = check(req, CREDS.secretAccessKey);
    expect(auth).toMatchObject({ kind: "header", region: "eu-west-1", service: "kms", accessKeyId: CREDS.accessKeyId });
    expect(auth.securityToken).toBeUndefined();
    expect(auth.signedHeaders).toContain("x-amz-target");
    // unsigned headers may change on the way, signed ones may not
    expect(() => check({ ...req, headers: { ...req.headers, "user-agent": "proxy/1.0" } }, CREDS.secretAccessKey)).not.toThrow();
    expect(authErr(() => check({ ...req, headers: { ...req.headers, "x-amz-target": "TrentService.Decrypt" } }, CREDS.secretAccessKey)).kind).toBe("SignatureDoesNotMatch");
    expect(authErr(() => check({ ...req, body: Buffer.from(req.body.toString().replace("alias", "alibi")) }, CREDS.secretAccessKey)).message).toBe(SIGNATURE_MISMATCH);
    expect(authErr(() => check(req, "wrong-secret")).kind).toBe("SignatureDoesNotMatch");
  });

  it("KMS ListKeys with temporary credentials (x-amz-security-token signed)", async () => {
    const r = await captureSdk(
      (requestHandler) => new KMSClient({ region: "us-east-1", credentials: TEMP, maxAttempts: 1, requestHandler: requestHandler as never }),
      new ListKeysCommand({}),
    );
    const req = received(r);
    const auth = check(req, TEMP.secretAccessKey);
    expect(auth.securityToken).toBe(TEMP.sessionToken);
    expect(auth.signedHeaders).toContain("x-amz-security-token");
    expect(authErr(() => check({ ...req, headers: { ...req.headers, "x-amz-security-token": "other" } }, TEMP.secretAccessKey)).kind).toBe("SignatureDoesNotMatch");
  });

  it("STS (awsQuery form POST) with a session token", async () => {
    const r = await captureSdk(
      (requestHandler) => new STSClient({ region: "us-east-1", credentials: TEMP, maxAttempts: 1, requestHandler: requestHandler as never }),
      new GetCallerIdentityCommand({}),
    );
    const req = received(r);
    expect(req.body.toString()).toContain("Action=GetCallerIdentity");
    const auth = check(req, TEMP.secretAccessKey);
    expect(auth).toMatchObject({ service: "sts", securityToken: TEMP.sessionToken });
  });

  it("S3 PutObject (odd key, body, x-amz-content-sha256) and ListObjectsV2 (query)", async () => {
    const make = (requestHandler: unknown) =>
      new S3Client({ region: "us-west-2", credentials: CREDS, maxAttempts: 1, forcePathStyle: true, requestHandler: requestHandler as never });
    const put = received(await captureSdk(make, new PutObjectCommand({ Bucket: "bkt", Key: "dir/a b+c ü~(1)!*.txt", Body: Buffer.from("hello s3") })));
    expect(put.path).toContain("%20");
    expect(put.headers["x-amz-content-sha256"]).toBe(createHash("sha256").update("hello s3").digest("hex"));
    expect(check(put, CREDS.secretAccessKey).service).toBe("s3");
    // a different body under the same declared hash: S3's own error
    const e = authErr(() => check({ ...put, body: Buffer.from("hello S3") }, CREDS.secretAccessKey));
    expect([e.kind, e.message]).toEqual(["XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."]);

    const list = received(await captureSdk(make, new ListObjectsV2Command({ Bucket: "bkt", Prefix: "a b/ü+", Delimiter: "/", MaxKeys: 5 })), { reverseQuery: true });
    expect(list.query).toContain("prefix=");
    expect(() => check(list, CREDS.secretAccessKey)).not.toThrow();
    expect(authErr(() => check({ ...list, query: list.query.replace("max-keys=5", "max-keys=6") }, CREDS.secretAccessKey)).kind).toBe("SignatureDoesNotMatch");
  });
});

describe("header-signed requests (smithy SignatureV4 oracle)", () => {
  it("JSON POST with x-amz-content-sha256 added by the signer (applyChecksum)", async () => {
    const body = JSON.stringify({ KeyId: "1234abcd-12ab-34cd-56ef-1234567890ab" });
    const r = await signer("kms", CREDS, { applyChecksum: true }).sign(
      request({ path: "/", headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "TrentService.DescribeKey" }, body }),
      { signingDate: new Date(T0) },
    );
    const req = received(r);
    expect(req.headers["x-amz-content-sha256"]).toBeDefined();
    expect(check(req, CREDS.secretAccessKey, T0).amzDate).toBe("20261129T034000Z");
  });

  it("odd paths and queries: spaces, unicode, reserved characters, repeated keys, empty values, dot segments", async () => {
    const query = {
      "a b": "c d",
      ü: "é/ß",
      rep: ["2", "10", "1"],
      empty: "",
      "x+y": "1+2=3&4",
      "~*'()!": "v~*'()!",
      "X-Amz-Meta": "m",
    };
    const path = "/2015-03-31/functions/my%20fn%C3%BC/./x/../invocations//";
    const r = await signer("lambda").sign(request({ method: "GET", path, query }), { signingDate: new Date(T0) });
    const req = received(r, { reverseQuery: true });
    expect(() => check(req, CREDS.secretAccessKey, T0)).not.toThrow();
    // "+" on the wire is a space, as the service's own query parser reads it
    const plus = await signer("lambda").sign(request({ method: "GET", path: "/", query: { q: "a b" } }), { signingDate: new Date(T0) });
    expect(() => check({ ...received(plus), query: "q=a+b" }, CREDS.secretAccessKey, T0)).not.toThrow();
    // a key without "=" is the key with an empty value
    const bare = await signer("lambda").sign(request({ method: "GET", path: "/", query: { acl: "" } }), { signingDate: new Date(T0) });
    expect(() => check({ ...received(bare), query: "acl" }, CREDS.secretAccessKey, T0)).not.toThrow();
    // any change to path or query breaks it
    for (const tampered of [
      { ...req, path: path.replace("my%20fn", "my%20fm") },
      { ...req, query: req.query.replace("rep=10", "rep=11") },
      { ...req, method: "DELETE" },
    ]) {
      expect(authErr(() => check(tampered, CREDS.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
    }
  });

  it("S3-style: path single-encoded as sent, UNSIGNED-PAYLOAD taken literally", async () => {
    const r = await signer("s3", CREDS, { uriEscapePath: false }).sign(
      request({ method: "PUT", hostname: "bkt.s3.amazonaws.com", path: "/a%20b/%C3%BC//./x", headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" }, body: "anything" }),
      { signingDate: new Date(T0) },
    );
    const req = received(r);
    expect(() => check(req, CREDS.secretAccessKey, T0)).not.toThrow();
    expect(() => check({ ...req, body: Buffer.from("something else") }, CREDS.secretAccessKey, T0)).not.toThrow();
    expect(authErr(() => check({ ...req, path: "/a%20b/%C3%BC/x" }, CREDS.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
  });

  it("repeated headers passed as arrays (req.headersDistinct) join with ','", async () => {
    const r = await signer("service").sign(request({ method: "GET", path: "/", headers: { "x-custom": "a,b" } }), { signingDate: new Date(T0) });
    const req = received(r);
    expect(() => check({ ...req, headers: { ...req.headers, "x-custom": ["a", "  b "] } }, CREDS.secretAccessKey, T0)).not.toThrow();
    // node's own joining of repeated headers (", ") is not what the client signed
    expect(authErr(() => check({ ...req, headers: { ...req.headers, "x-custom": "a, b" } }, CREDS.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
  });

  it("a signing key cached for one secret is not used for another", async () => {
    const a = received(await signer("kms").sign(request({ path: "/", body: "{}" }), { signingDate: new Date(T0) }));
    const other = { accessKeyId: "AKIAOTHER", secretAccessKey: "other-secret" };
    const b = received(await signer("kms", other).sign(request({ path: "/", body: "{}" }), { signingDate: new Date(T0) }));
    for (let i = 0; i < 3; i++) {
      expect(() => check(a, CREDS.secretAccessKey, T0)).not.toThrow();
      expect(() => check(b, other.secretAccessKey, T0)).not.toThrow();
      expect(authErr(() => check(a, other.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
      expect(authErr(() => check(b, CREDS.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
    }
  });

  it("rejects signatures that are not 64 lower-case hex digits", async () => {
    const req = received(await signer("kms").sign(request({ path: "/", body: "{}" }), { signingDate: new Date(T0) }));
    const auth = parseAuth(req)!;
    for (const signature of [auth.signature.toUpperCase(), auth.signature.slice(0, 63), auth.signature + "0", "zz" + auth.signature.slice(2), ""]) {
      expect(authErr(() => verifySignature(req, { ...auth, signature }, CREDS.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
    }
  });
});

describe("clock skew (header-signed)", () => {
  const signedAt = async (ms: number) =>
    received(await signer("sts").sign(request({ path: "/", body: "Action=GetCallerIdentity&Version=2011-06-15" }), { signingDate: new Date(ms) }));

  it("AWS's message for a request more than 15 minutes old", async () => {
    const req = await signedAt(Date.UTC(2022, 0, 27, 0, 14, 27));
    const e = authErr(() => check(req, CREDS.secretAccessKey, Date.UTC(2022, 0, 27, 1, 59, 28)));
    expect(e.kind).toBe("RequestExpired");
    expect(e.message).toBe("Signature expired: 20220127T001427Z is now earlier than 20220127T014428Z (20220127T015928Z - 15 min.)");
  });

  it("±16 minutes fails with the exact wording, ±14 minutes passes, the edge is inclusive", async () => {
    const req = await signedAt(T0);
    const min = 60_000;
    expect(authErr(() => check(req, CREDS.secretAccessKey, T0 + 16 * min)).message).toBe(
      "Signature expired: 20261129T034000Z is now earlier than 20261129T034100Z (20261129T035600Z - 15 min.)",
    );
    expect(authErr(() => check(req, CREDS.secretAccessKey, T0 - 16 * min)).message).toBe(
      "Signature not yet current: 20261129T034000Z is still later than 20261129T033900Z (20261129T032400Z + 15 min.)",
    );
    expect(() => check(req, CREDS.secretAccessKey, T0 + 14 * min)).not.toThrow();
    expect(() => check(req, CREDS.secretAccessKey, T0 - 14 * min)).not.toThrow();
    expect(() => check(req, CREDS.secretAccessKey, T0 + 15 * min)).not.toThrow();
    expect(authErr(() => check(req, CREDS.secretAccessKey, T0 + 15 * min + 1000)).kind).toBe("RequestExpired");
  });

  it("honours a configured window", async () => {
    const req = await signedAt(T0);
    expect(authErr(() => check(req, CREDS.secretAccessKey, T0 + 6 * 60_000, 300)).message).toBe(
      "Signature expired: 20261129T034000Z is now earlier than 20261129T034100Z (20261129T034600Z - 5 min.)",
    );
  });
});

describe("presigned requests", () => {
  const stsGet = (extraHeaders: Record<string, string> = {}) =>
    request({ method: "GET", hostname: "sts.amazonaws.com", path: "/", query: { Action: "GetCallerIdentity", Version: "2011-06-15" }, headers: extraHeaders });

  it("STS GetCallerIdentity presigned (EKS style, extra signed header) without a token", async () => {
    const r = await signer("sts").presign(stsGet({ "x-k8s-aws-id": "my-cluster" }), { signingDate: new Date(T0), expiresIn: 60 });
    const req = received(r, { reverseQuery: true });
    expect(req.headers.authorization).toBeUndefined();
    const auth = check(req, CREDS.secretAccessKey, T0 + 30_000);
    expect(auth).toMatchObject({ kind: "presigned", service: "sts", expiresSeconds: 60, signedHeaders: ["host", "x-k8s-aws-id"] });
    expect(auth.securityToken).toBeUndefined();
    expect(authErr(() => check({ ...req, headers: { ...req.headers, "x-k8s-aws-id": "other" } }, CREDS.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
  });

  it("STS presigned with a session token", async () => {
    const r = await signer("sts", TEMP).presign(stsGet(), { signingDate: new Date(T0), expiresIn: 900 });
    const req = received(r);
    const auth = check(req, TEMP.secretAccessKey, T0);
    expect(auth.securityToken).toBe(TEMP.sessionToken);
    expect(authErr(() => check({ ...req, query: req.query.replace("X-Amz-Security-Token=", "X-Amz-Security-Token=x") }, TEMP.secretAccessKey, T0)).kind).toBe(
      "SignatureDoesNotMatch",
    );
  });

  it("expiry: valid through X-Amz-Date + X-Amz-Expires, then 'Request has expired'", async () => {
    const req = received(await signer("sts").presign(stsGet(), { signingDate: new Date(T0), expiresIn: 300 }));
    expect(() => check(req, CREDS.secretAccessKey, T0 + 300_000)).not.toThrow();
    const e = authErr(() => check(req, CREDS.secretAccessKey, T0 + 301_000));
    expect([e.kind, e.message]).toEqual(["RequestExpired", "Request has expired"]);
    // X-Amz-Date too far in the future
    expect(authErr(() => check(req, CREDS.secretAccessKey, T0 - 16 * 60_000)).message).toBe("Request is not valid yet");
  });

  it("X-Amz-Expires outside 1..604800", async () => {
    const req = received(await signer("sts").presign(stsGet(), { signingDate: new Date(T0), expiresIn: 300 }));
    const withExpires = (v: string) => ({ ...req, query: req.query.replace("X-Amz-Expires=300", `X-Amz-Expires=${v}`) });
    expect(authErr(() => check(withExpires("604801"), CREDS.secretAccessKey, T0))).toMatchObject({
      kind: "IncompleteSignature",
      message: "X-Amz-Expires must be less than a week (in seconds) that is 604800",
    });
    expect(authErr(() => check(withExpires("-1"), CREDS.secretAccessKey, T0))).toMatchObject({ kind: "IncompleteSignature", message: "X-Amz-Expires must be non-negative" });
    expect(authErr(() => check(withExpires("0"), CREDS.secretAccessKey, T0))).toMatchObject({ kind: "RequestExpired", message: "Request has expired" });
    expect(authErr(() => parseAuth(withExpires("soon")))).toMatchObject({ kind: "IncompleteSignature", message: "X-Amz-Expires should be a number" });
    // within range but not the value that was signed
    expect(authErr(() => check(withExpires("604800"), CREDS.secretAccessKey, T0)).kind).toBe("SignatureDoesNotMatch");
  });

  it("S3 presigned as @aws-sdk/s3-request-presigner does it (X-Amz-Content-Sha256=UNSIGNED-PAYLOAD hoisted)", async () => {
    const r = await signer("s3", CREDS, { uriEscapePath: false }).presign(
      request({ method: "PUT", hostname: "bkt.s3.amazonaws.com", path: "/my%20key", headers: { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" } }),
      { signingDate: new Date(T0), expiresIn: 900 },
    );
    const req = received(r, { body: Buffer.from("uploaded later") });
    expect(req.query).toContain("X-Amz-Content-Sha256=UNSIGNED-PAYLOAD");
    expect(() => check(req, CREDS.secretAccessKey, T0)).not.toThrow();
  });

  it("S3 presigned without any content hash (botocore style) signs UNSIGNED-PAYLOAD", async () => {
    const s = new Set(["x-amz-content-sha256"]);
    const r = await signer("s3", CREDS, { uriEscapePath: false }).presign(
      request({ method: "GET", hostname: "bkt.s3.amazonaws.com", path: "/k", headers: { "x-amz-content-sha256": "UNSIGNED-PAYLOAD" } }),
      { signingDate: new Date(T0), expiresIn: 900, unsignableHeaders: s, unhoistableHeaders: s },
    );
    const req = received(r);
    delete req.headers["x-amz-content-sha256"];
    expect(req.query).not.toMatch(/content-sha256/i);
    expect(() => check(req, CREDS.secretAccessKey, T0)).not.toThrow();
  });
});

describe("malformed and missing auth", () => {
  const base = (authorization?: string, extra: Record<string, string> = {}): IncomingSignedRequest => ({
    method: "POST",
    path: "/",
    query: "",
    headers: { host: "kms.us-east-1.amazonaws.com", "x-amz-date": "20261129T034000Z", ...(authorization === undefined ? {} : { authorization }), ...extra },
    body: Buffer.from("{}"),
  });
  const GOOD_CRED = "Credential=AKID/20261129/us-east-1/kms/aws4_request";
  const SIG = "Signature=" + "0".repeat(64);

  it("no auth at all → null", () => {
    expect(parseAuth(base())).toBeNull();
    expect(parseAuth(base("Bearer abc"))).toBeNull();
    expect(parseAuth(base("AWS AKID:sig"))).toBeNull();
    expect(parseAuth({ ...base(), method: "GET", query: "X-Amz-Credential=a&X-Amz-Signature=b" })).toBeNull();
  });

  it("missing parameters: one message listing them all", () => {
    expect(authErr(() => parseAuth(base("AWS4-HMAC-SHA256")))).toMatchObject({
      kind: "IncompleteSignature",
      message:
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256",
    });
    const auth = `AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=host;x-amz-date`;
    expect(authErr(() => parseAuth(base(auth))).message).toBe(`Authorization header requires 'Signature' parameter. Authorization=${auth}`);
    const noDate = { ...base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=host, ${SIG}`) };
    delete noDate.headers["x-amz-date"];
    expect(authErr(() => parseAuth(noDate)).message).toBe(
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=host, ${SIG}`,
    );
  });

  it("a component without '='", () => {
    expect(authErr(() => parseAuth(base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders, ${SIG}`))).message).toBe(
      `'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders, ${SIG}'.`,
    );
  });

  it("bad date, algorithm and credential shape", () => {
    expect(authErr(() => parseAuth(base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=host, ${SIG}`, { "x-amz-date": "2026-11-29T03:40:00Z" })))).toMatchObject({
      kind: "IncompleteSignature",
      message: "Date must be in ISO-8601 'basic format'. Got '2026-11-29T03:40:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
    });
    expect(authErr(() => parseAuth(base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=host, ${SIG}`, { "x-amz-date": "20261329T034000Z" }))).kind).toBe("IncompleteSignature");
    expect(authErr(() => parseAuth(base(`AWS4-HMAC-SHA512 ${GOOD_CRED}, SignedHeaders=host, ${SIG}`))).message).toBe(
      "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
    );
    expect(authErr(() => parseAuth(base(`AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/kms, SignedHeaders=host, ${SIG}`))).message).toBe(
      "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20261129/us-east-1/kms'",
    );
    // trailing slashes are ignored, as AWS does
    expect(parseAuth(base(`AWS4-HMAC-SHA256 ${GOOD_CRED}//, SignedHeaders=host, ${SIG}`))).toMatchObject({ accessKeyId: "AKID", service: "kms" });
  });

  it("the Date header stands in for X-Amz-Date", () => {
    const req = base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=date;host, ${SIG}`, { date: "Sun, 29 Nov 2026 03:40:00 GMT" });
    delete req.headers["x-amz-date"];
    expect(parseAuth(req)!.amzDate).toBe("20261129T034000Z");
  });

  it("scope problems, worded as AWS words them", () => {
    const term = parseAuth(base(`AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/kms/aws5_request, SignedHeaders=host;x-amz-date, ${SIG}`))!;
    expect(authErr(() => verifySignature(base(), term, "s", T0))).toMatchObject({
      kind: "SignatureDoesNotMatch",
      message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
    });
    const day = parseAuth(base(`AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, ${SIG}`))!;
    expect(authErr(() => verifySignature(base(), day, "s", T0)).message).toBe(
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261128' != '20261129', from '20261129T034000Z'.",
    );
    const wrong = parseAuth(base(`AWS4-HMAC-SHA256 Credential=AKID/20261128/eu-west-1/sts/aws4_request, SignedHeaders=host;x-amz-date, ${SIG}`))!;
    expect(authErr(() => checkCredentialScope(wrong, { region: "us-east-1", service: "kms" }))).toMatchObject({
      kind: "SignatureDoesNotMatch",
      message:
        "Credential should be scoped to a valid region, not 'eu-west-1'. Credential should be scoped to correct service: 'kms'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261128' != '20261129', from '20261129T034000Z'.",
    });
    const good = parseAuth(base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=host;x-amz-date, ${SIG}`))!;
    expect(() => checkCredentialScope(good, { region: "us-east-1", service: "kms" })).not.toThrow();
  });

  it("Host must be signed", () => {
    const auth = parseAuth(base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=x-amz-date, ${SIG}`))!;
    expect(authErr(() => verifySignature(base(), auth, "s", T0))).toMatchObject({
      kind: "SignatureDoesNotMatch",
      message: "'Host' must be a 'SignedHeader' in the AWS Authorization.",
    });
  });

  it("both an Authorization header and X-Amz-Algorithm in the query", () => {
    const req = { ...base(`AWS4-HMAC-SHA256 ${GOOD_CRED}, SignedHeaders=host, ${SIG}`), query: "X-Amz-Algorithm=AWS4-HMAC-SHA256" };
    expect(authErr(() => parseAuth(req))).toMatchObject({
      kind: "SignatureDoesNotMatch",
      message: "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
    });
  });

  it("presigned query missing parameters", () => {
    const req = { ...base(), method: "GET", query: "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261129T034000Z&X-Amz-SignedHeaders=host" };
    expect(authErr(() => parseAuth(req))).toMatchObject({
      kind: "IncompleteSignature",
      message: "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters.",
    });
  });
});
