import { describe, it, expect } from "vitest";
import { ServiceError } from "../kernel/errors.ts";
import { decodeJsonInput, encodeJsonError, encodeJsonOutput } from "./aws-json.ts";
import { decodeQueryInput, encodeQueryError, encodeQueryOutput } from "./aws-query.ts";
import { kmsShapes } from "./shapes/kms.gen.ts";
import { iamShapes } from "./shapes/iam.gen.ts";
import { stsShapes } from "./shapes/sts.gen.ts";

const json = (o: unknown) => Buffer.from(JSON.stringify(o));
function errorOf(f: () => unknown): ServiceError {
  try {
    f();
  } catch (e) {
    if (e instanceof ServiceError) return e;
    throw e;
  }
  throw new Error("expected a ServiceError");
}

describe("awsJson1_1 decoding", () => {
  it("decodes blobs to Buffers and keeps maps' keys", () => {
    const input = decodeJsonInput(kmsShapes, "Encrypt", json({ KeyId: "k", Plaintext: Buffer.from("hi").toString("base64"), EncryptionContext: { Purpose: "x" } }));
    expect(Buffer.isBuffer(input.Plaintext)).toBe(true);
    expect((input.Plaintext as Buffer).toString()).toBe("hi");
    expect(input.EncryptionContext).toEqual({ Purpose: "x" });
  });

  it("counts string lengths in code points, a surrogate pair as one", () => {
    // TagValue: 0 to 256 characters
    const tag = (v: string) => json({ KeyId: "k", Tags: [{ TagKey: "k", TagValue: v }] });
    const ok = "😀".repeat(256);
    expect(decodeJsonInput(kmsShapes, "TagResource", tag(ok)).Tags).toEqual([{ TagKey: "k", TagValue: ok }]);
    expect(errorOf(() => decodeJsonInput(kmsShapes, "TagResource", tag(ok + "😀"))).message).toMatch(/Member must have length less than or equal to 256/);
    // a lone surrogate counts as one character
    expect(decodeJsonInput(kmsShapes, "TagResource", tag("\ud800".repeat(256))).Tags).toHaveLength(1);
    expect(errorOf(() => decodeJsonInput(kmsShapes, "TagResource", tag("\ud800".repeat(257)))).message).toMatch(/less than or equal to 256/);
  });

  it("accepts an empty body as {}", () => {
    expect(decodeJsonInput(kmsShapes, "ListKeys", Buffer.alloc(0))).toEqual({});
  });

  it("reports a missing required member in AWS's words", () => {
    const e = errorOf(() => decodeJsonInput(kmsShapes, "Encrypt", json({ Plaintext: "aGk=" })));
    expect(e.code).toBe("ValidationException");
    expect(e.message).toBe("1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null");
  });

  it("collects every constraint failure", () => {
    const e = errorOf(() => decodeJsonInput(kmsShapes, "GenerateRandom", json({ NumberOfBytes: 0, CustomKeyStoreId: "" })));
    expect(e.message).toMatch(/^2 validation errors detected: /);
    expect(e.message).toContain("Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1");
  });

  it("leaves sensitive blob values out of the message", () => {
    const big = Buffer.alloc(4097).toString("base64");
    const e = errorOf(() => decodeJsonInput(kmsShapes, "Encrypt", json({ KeyId: "k", Plaintext: big })));
    expect(e.message).toBe("1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
  });

  it("checks enums with the value set", () => {
    const e = errorOf(() => decodeJsonInput(kmsShapes, "CreateKey", json({ KeySpec: "AES_512" })));
    expect(e.message).toContain("Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [");
  });

  it("names nested list members as AWS does", () => {
    const e = errorOf(() => decodeJsonInput(kmsShapes, "CreateKey", json({ Tags: [{ TagKey: "k".repeat(129), TagValue: "v" }] })));
    expect(e.message).toContain("at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128");
  });

  it.each([
    ["not json", "{nope"],
    ["an array", "[1]"],
    ["a string", '"x"'],
  ])("refuses %s with SerializationException", (_n, body) => {
    const e = errorOf(() => decodeJsonInput(kmsShapes, "ListKeys", Buffer.from(body)));
    expect(e.code).toBe("SerializationException");
    expect(e.status).toBe(400);
  });

  it("refuses wrong types with SerializationException", () => {
    expect(errorOf(() => decodeJsonInput(kmsShapes, "ListKeys", json({ Limit: "10" }))).code).toBe("SerializationException");
    expect(errorOf(() => decodeJsonInput(kmsShapes, "ListKeys", json({ Limit: 1.5 }))).code).toBe("SerializationException");
    expect(errorOf(() => decodeJsonInput(kmsShapes, "Encrypt", json({ KeyId: 5, Plaintext: "aGk=" }))).code).toBe("SerializationException");
    expect(errorOf(() => decodeJsonInput(kmsShapes, "Encrypt", json({ KeyId: "k", Plaintext: "not base64!" }))).code).toBe("SerializationException");
    expect(errorOf(() => decodeJsonInput(kmsShapes, "Encrypt", json({ KeyId: "k", Plaintext: "aGk=", EncryptionContext: ["a"] }))).code).toBe("SerializationException");
  });

  it("encodes Buffers as base64 and Dates as epoch seconds", () => {
    const out = JSON.parse(encodeJsonOutput({ CiphertextBlob: Buffer.from("abc"), CreationDate: new Date(1500), Nested: [{ B: Buffer.from("x") }] }).toString());
    expect(out).toEqual({ CiphertextBlob: "YWJj", CreationDate: 1.5, Nested: [{ B: "eA==" }] });
  });

  it("encodes errors with __type and message", () => {
    const body = JSON.parse(encodeJsonError(new ServiceError("NotFoundException", "gone")).toString());
    expect(body).toEqual({ __type: "NotFoundException", message: "gone" });
  });
});

describe("awsQuery", () => {
  it("decodes lists and nested members", () => {
    const p = new URLSearchParams(
      "Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn:aws:iam::000000000000:user/a&ActionNames.member.1=s3:Get&ActionNames.member.2=kms:Encrypt&ContextEntries.member.1.ContextKeyName=aws:x&ContextEntries.member.1.ContextKeyType=string&ContextEntries.member.1.ContextKeyValues.member.1=v",
    );
    const input = decodeQueryInput(iamShapes, "SimulatePrincipalPolicy", p);
    expect(input.ActionNames).toEqual(["s3:Get", "kms:Encrypt"]);
    expect(input.ContextEntries).toEqual([{ ContextKeyName: "aws:x", ContextKeyType: "string", ContextKeyValues: ["v"] }]);
  });

  it("converts integers and validates ranges", () => {
    const input = decodeQueryInput(stsShapes, "AssumeRole", new URLSearchParams("RoleArn=arn:aws:iam::000000000000:role/r1&RoleSessionName=s1&DurationSeconds=900"));
    expect(input.DurationSeconds).toBe(900);
    const e = errorOf(() => decodeQueryInput(stsShapes, "AssumeRole", new URLSearchParams("RoleArn=arn:aws:iam::000000000000:role/r1&RoleSessionName=s1&DurationSeconds=10")));
    expect(e.code).toBe("ValidationError");
    expect(e.message).toBe("1 validation error detected: Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900");
  });

  it("reports patterns in AWS's words", () => {
    const e = errorOf(() => decodeQueryInput(iamShapes, "CreateUser", new URLSearchParams("UserName=bad name")));
    expect(e.message).toMatch(/^1 validation error detected: Value 'bad name' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: /);
  });

  it("encodes output with members, lists and timestamps", () => {
    const xml = encodeQueryOutput(
      iamShapes,
      "ListUsers",
      { Users: [{ Path: "/", UserName: "a&b", UserId: "AIDA", Arn: "arn", CreateDate: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)) }], IsTruncated: false },
      "rid",
    ).toString();
    expect(xml).toBe(
      '<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult><Users><member><Path>/</Path><UserName>a&amp;b</UserName><UserId>AIDA</UserId><Arn>arn</Arn><CreateDate>2026-01-02T03:04:05Z</CreateDate></member></Users><IsTruncated>false</IsTruncated></ListUsersResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ListUsersResponse>\n',
    );
  });

  it("encodes errors as ErrorResponse", () => {
    const xml = encodeQueryError(iamShapes, new ServiceError("NoSuchEntity", "The user with name x cannot be found.", 404), "rid").toString();
    expect(xml).toContain("<Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The user with name x cannot be found.</Message></Error><RequestId>rid</RequestId>");
  });
});
