import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openBlob, openParts, SealError, sealBlob, sealParts } from "./sealing.ts";

const key = randomBytes(32);

function reason(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    if (e instanceof SealError) return e.reason;
    throw e;
  }
  return "opened";
}

describe("sealing parts", () => {
  it("round-trips, with a fresh IV per seal", () => {
    const a = sealParts(key, Buffer.from("secret"), "rec-1");
    const b = sealParts(key, Buffer.from("secret"), "rec-1");
    expect(openParts(key, a, "rec-1").toString()).toBe("secret");
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ct.equals(Buffer.from("secret"))).toBe(false);
    expect(openParts(key, sealParts(key, Buffer.alloc(0), ""), "").length).toBe(0);
  });

  it("does not open under another AAD or key, or after any bit of it changed", () => {
    const s = sealParts(key, Buffer.from("secret"), "rec-1");
    expect(reason(() => openParts(key, s, "rec-2"))).toBe("does-not-open");
    expect(reason(() => openParts(randomBytes(32), s, "rec-1"))).toBe("does-not-open");
    for (const part of ["iv", "ct", "tag"] as const) {
      for (let i = 0; i < s[part].length * 8; i++) {
        const t = { ...s, [part]: Buffer.from(s[part]) };
        t[part][i >> 3] ^= 1 << (i & 7);
        expect(reason(() => openParts(key, t, "rec-1"))).toBe("does-not-open");
      }
    }
  });

  it("refuses a cut IV or tag instead of checking a shorter tag", () => {
    const s = sealParts(key, Buffer.from("secret"), "a");
    for (let n = 0; n < 16; n++) expect(reason(() => openParts(key, { ...s, tag: s.tag.subarray(0, n) }, "a"))).toBe("malformed");
    expect(reason(() => openParts(key, { ...s, iv: s.iv.subarray(0, 8) }, "a"))).toBe("malformed");
    expect(reason(() => openParts(key, { ...s, ct: s.ct.subarray(0, 3) }, "a"))).toBe("does-not-open");
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => sealParts(randomBytes(16), Buffer.from("x"), "a")).toThrow(RangeError);
  });
});

describe("sealing blobs", () => {
  it("round-trips with the version byte first, and refuses other versions, cuts and flips", () => {
    const blob = sealBlob(key, Buffer.from("material"), "label", 7);
    expect(blob[0]).toBe(7);
    expect(blob.length).toBe(1 + 12 + 8 + 16);
    expect(openBlob(key, blob, "label", 7).toString()).toBe("material");
    expect(reason(() => openBlob(key, blob, "label", 1))).toBe("malformed");
    expect(reason(() => openBlob(key, blob, "other", 7))).toBe("does-not-open");
    for (let n = 0; n < 29; n++) expect(reason(() => openBlob(key, blob.subarray(0, n), "label", 7))).toBe("malformed");
    for (let n = 29; n < blob.length; n++) expect(reason(() => openBlob(key, blob.subarray(0, n), "label", 7))).toBe("does-not-open");
    for (let i = 1; i < blob.length; i++) {
      const t = Buffer.from(blob);
      t[i] ^= 0x80;
      expect(reason(() => openBlob(key, t, "label", 7))).toBe("does-not-open");
    }
  });
});
