import { createDecipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ServiceError } from "../../../kernel/errors.ts";
import {
  canonicalContext,
  FIXED_OVERHEAD,
  IV_BYTES,
  materialIdFromHex,
  materialIdHex,
  newMaterialId,
  openSymmetric,
  parseCiphertext,
  sealSymmetric,
  TAG_BYTES,
} from "./ciphertext.ts";

const ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER_ARN = "arn:aws:kms:us-east-1:111122223333:key/0000abcd-12ab-34cd-56ef-1234567890ab";

function expectInvalidCiphertext(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ServiceError);
  const e = caught as ServiceError;
  expect(e.code).toBe("InvalidCiphertextException");
  expect(e.message).toBe("");
  expect(e.status).toBe(400);
}

describe("material ids", () => {
  it("are 32 random bytes with a 64-hex API form that round-trips", () => {
    const a = newMaterialId();
    const b = newMaterialId();
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(false);
    const hex = materialIdHex(a);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(materialIdFromHex(hex)!.equals(a)).toBe(true);
  });

  it("rejects ids that are not 64 lower-case hex digits", () => {
    expect(materialIdFromHex("ab")).toBeUndefined();
    expect(materialIdFromHex("A".repeat(64))).toBeUndefined();
    expect(materialIdFromHex("g".repeat(64))).toBeUndefined();
  });
});

describe("canonicalContext", () => {
  it("is empty for an absent or empty context", () => {
    expect(canonicalContext().length).toBe(0);
    expect(canonicalContext({}).length).toBe(0);
  });

  it("sorts pairs by key and length-prefixes every key and value", () => {
    const enc = canonicalContext({ b: "2", a: "xyz" });
    expect(enc.toString("hex")).toBe("00000001" + "61" + "00000003" + "78797a" + "00000001" + "62" + "00000001" + "32");
    expect(canonicalContext({ a: "xyz", b: "2" }).equals(enc)).toBe(true);
  });

  it("distinguishes contexts that plain concatenation would confuse", () => {
    expect(canonicalContext({ ab: "c" }).equals(canonicalContext({ a: "bc" }))).toBe(false);
    expect(canonicalContext({ a: "" }).equals(canonicalContext({}))).toBe(false);
  });

  it("sorts by UTF-16 code units and encodes UTF-8", () => {
    // code units: "Z" 0x5A < "a" 0x61 < "é" 0xE9 < "😀" 0xD83D (high surrogate) < "！" 0xFF01;
    // by code point the emoji (U+1F600) would sort last
    const enc = canonicalContext({ "！": "0", é: "1", a: "2", Z: "3", "😀": "4" });
    const keysInOrder: string[] = [];
    let off = 0;
    while (off < enc.length) {
      const kl = enc.readUInt32BE(off);
      keysInOrder.push(enc.subarray(off + 4, off + 4 + kl).toString("utf8"));
      off += 4 + kl;
      off += 4 + enc.readUInt32BE(off);
    }
    expect(keysInOrder).toEqual(["Z", "a", "é", "😀", "！"]);
    expect(enc.includes(Buffer.from("é", "utf8"))).toBe(true);
  });
});

describe("sealSymmetric / parseCiphertext / openSymmetric", () => {
  const material = randomBytes(32);
  const id = newMaterialId();

  it("has the documented layout", () => {
    const pt = Buffer.from("hello world");
    const blob = sealSymmetric(ARN, id, material, pt);
    const arnLen = Buffer.byteLength(ARN);
    expect(blob.length).toBe(FIXED_OVERHEAD + arnLen + pt.length);
    expect(blob[0]).toBe(1);
    expect(blob[1]).toBe(arnLen);
    expect(blob.subarray(2, 2 + arnLen).toString()).toBe(ARN);
    expect(blob.subarray(2 + arnLen, 34 + arnLen).equals(id)).toBe(true);
    // decrypt by hand from the documented layout: AAD = header (everything before the IV)
    const h = 34 + arnLen;
    const d = createDecipheriv("aes-256-gcm", material, blob.subarray(h, h + IV_BYTES));
    d.setAAD(blob.subarray(0, h));
    d.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    expect(Buffer.concat([d.update(blob.subarray(h + IV_BYTES, blob.length - TAG_BYTES)), d.final()]).toString()).toBe("hello world");
  });

  it("round-trips, with and without context, and names key and material", () => {
    for (const pt of [Buffer.alloc(0), Buffer.from([0]), randomBytes(4096)]) {
      const blob = sealSymmetric(ARN, id, material, pt);
      expect(openSymmetric(blob, material).equals(pt)).toBe(true);
      expect(openSymmetric(blob, material, {}).equals(pt)).toBe(true);
      const parsed = parseCiphertext(blob);
      expect(parsed.keyArn).toBe(ARN);
      expect(parsed.materialId.equals(id)).toBe(true);
    }
    const ctx = { "aws:ecs:clusterAccount": "111122223333", "aws:ecs:clusterName": "prod" };
    const blob = sealSymmetric(ARN, id, material, Buffer.from("secret"), ctx);
    expect(openSymmetric(blob, material, ctx).toString()).toBe("secret");
  });

  it("uses a fresh IV every time", () => {
    const a = sealSymmetric(ARN, id, material, Buffer.from("same"));
    const b = sealSymmetric(ARN, id, material, Buffer.from("same"));
    expect(a.equals(b)).toBe(false);
  });

  it("accepts the context in any pair order but requires an exact match", () => {
    const blob = sealSymmetric(ARN, id, material, Buffer.from("x"), { a: "1", b: "2", c: "3" });
    expect(openSymmetric(blob, material, { c: "3", a: "1", b: "2" }).toString()).toBe("x");
    expectInvalidCiphertext(() => openSymmetric(blob, material));
    expectInvalidCiphertext(() => openSymmetric(blob, material, {}));
    expectInvalidCiphertext(() => openSymmetric(blob, material, { a: "1", b: "2" }));
    expectInvalidCiphertext(() => openSymmetric(blob, material, { a: "1", b: "2", c: "3", d: "4" }));
    expectInvalidCiphertext(() => openSymmetric(blob, material, { a: "1", b: "2", c: "4" }));
    expectInvalidCiphertext(() => openSymmetric(blob, material, { A: "1", b: "2", c: "3" }));
    const plain = sealSymmetric(ARN, id, material, Buffer.from("y"));
    expectInvalidCiphertext(() => openSymmetric(plain, material, { a: "1" }));
  });

  it("rejects every single-byte modification", () => {
    const blob = sealSymmetric(ARN, id, material, Buffer.from("tamper me"), { k: "v" });
    for (let i = 0; i < blob.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const t = Buffer.from(blob);
        t[i] ^= flip;
        expectInvalidCiphertext(() => openSymmetric(t, material, { k: "v" }));
      }
    }
  });

  it("rejects every truncation and extension without crashing", () => {
    const blob = sealSymmetric(ARN, id, material, Buffer.from("truncate me"));
    for (let n = 0; n < blob.length; n++) {
      const t = blob.subarray(0, n);
      expectInvalidCiphertext(() => openSymmetric(t, material));
      // parsing alone must never throw anything but InvalidCiphertext either
      try {
        parseCiphertext(t);
      } catch (e) {
        expect((e as ServiceError).code).toBe("InvalidCiphertextException");
      }
    }
    expectInvalidCiphertext(() => openSymmetric(Buffer.concat([blob, Buffer.from([0])]), material));
  });

  it("parseCiphertext rejects bad versions, empty ARNs and non-UTF-8 ARNs", () => {
    const blob = sealSymmetric(ARN, id, material, Buffer.from("x"));
    const v2 = Buffer.from(blob);
    v2[0] = 2;
    expectInvalidCiphertext(() => parseCiphertext(v2));
    expectInvalidCiphertext(() => parseCiphertext(Buffer.alloc(0)));
    expectInvalidCiphertext(() => parseCiphertext(Buffer.from([1, 0, ...randomBytes(80)])));
    const bad = Buffer.from(blob);
    bad[2] = 0xff;
    expectInvalidCiphertext(() => parseCiphertext(bad));
    // random garbage of many lengths
    for (let n = 0; n < 200; n++) {
      const g = randomBytes(n);
      try {
        openSymmetric(g, material);
        throw new Error("garbage decrypted");
      } catch (e) {
        expect((e as ServiceError).code).toBe("InvalidCiphertextException");
      }
    }
  });

  it("rejects the wrong material", () => {
    const blob = sealSymmetric(ARN, id, material, Buffer.from("x"));
    expectInvalidCiphertext(() => openSymmetric(blob, randomBytes(32)));
  });

  it("binds the header: a blob re-labelled with another key ARN or material id fails", () => {
    const blob = sealSymmetric(ARN, id, material, Buffer.from("x"));
    const arnLen = Buffer.byteLength(ARN);
    const relabelled = Buffer.concat([Buffer.from([1, Buffer.byteLength(OTHER_ARN)]), Buffer.from(OTHER_ARN), blob.subarray(2 + arnLen)]);
    expect(parseCiphertext(relabelled).keyArn).toBe(OTHER_ARN);
    expectInvalidCiphertext(() => openSymmetric(relabelled, material));
    const otherId = Buffer.from(blob);
    newMaterialId().copy(otherId, 2 + arnLen);
    expectInvalidCiphertext(() => openSymmetric(otherId, material));
  });

  it("supports rotation: each blob names the material that sealed it", () => {
    const m1 = { id: newMaterialId(), key: randomBytes(32) };
    const m2 = { id: newMaterialId(), key: randomBytes(32) };
    const materials = new Map([m1, m2].map((m) => [materialIdHex(m.id), m.key]));
    const before = sealSymmetric(ARN, m1.id, m1.key, Buffer.from("before rotation"));
    const after = sealSymmetric(ARN, m2.id, m2.key, Buffer.from("after rotation"));
    for (const [blob, text] of [
      [before, "before rotation"],
      [after, "after rotation"],
    ] as const) {
      const { materialId } = parseCiphertext(blob);
      const key = materials.get(materialIdHex(materialId))!;
      expect(openSymmetric(blob, key).toString()).toBe(text);
    }
    expect(materialIdHex(parseCiphertext(before).materialId)).toBe(materialIdHex(m1.id));
    expect(materialIdHex(parseCiphertext(after).materialId)).toBe(materialIdHex(m2.id));
    expectInvalidCiphertext(() => openSymmetric(before, m2.key));
    expectInvalidCiphertext(() => openSymmetric(after, m1.key));
  });

  it("stays within the 6144-byte CiphertextBlob limit for a 4096-byte plaintext", () => {
    const longArn = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-" + "a".repeat(32);
    expect(sealSymmetric(longArn, id, material, randomBytes(4096)).length).toBeLessThanOrEqual(6144);
  });

  it("refuses programming errors loudly (bad material or ARN sizes)", () => {
    expect(() => sealSymmetric(ARN, id, randomBytes(16), Buffer.from("x"))).toThrow(/32 bytes/);
    expect(() => sealSymmetric("", id, material, Buffer.from("x"))).toThrow(/1-255/);
    expect(() => sealSymmetric("a".repeat(256), id, material, Buffer.from("x"))).toThrow(/1-255/);
    expect(() => sealSymmetric(ARN, randomBytes(31), material, Buffer.from("x"))).toThrow(/32 bytes/);
  });
});
