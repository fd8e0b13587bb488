import { describe, it, expect } from "vitest";
import { base32Decode, base32Encode, codeAt, findStep, newSeed, otpauthUri, stepAt } from "./totp.ts";

describe("TOTP", () => {
  // RFC 6238 appendix B, SHA-1 seed "12345678901234567890"; the 6 low digits of the 8-digit values.
  const seed = Buffer.from("12345678901234567890");
  it.each([
    [59, "287082"],
    [1111111109, "081804"],
    [1111111111, "050471"],
    [1234567890, "005924"],
    [2000000000, "279037"],
    [20000000000, "353130"],
  ])("at %i s the code is %s", (t, code) => {
    expect(codeAt(seed, stepAt(t * 1000))).toBe(code);
  });

  it("8-digit codes match RFC 6238", () => {
    expect(codeAt(seed, stepAt(59_000), 8)).toBe("94287082");
  });

  it("finds the step of a code within a window", () => {
    const s = stepAt(1111111111_000);
    expect(findStep(seed, "050471", s - 1, s + 1)).toBe(s);
    expect(findStep(seed, "050471", s + 1, s + 3)).toBeUndefined();
  });
});

describe("Base32", () => {
  it("encodes RFC 4648 test vectors", () => {
    expect(base32Encode(Buffer.from("foobar"))).toBe("MZXW6YTBOI");
    expect(base32Encode(Buffer.from("f"))).toBe("MY");
    expect(base32Decode("MZXW6YTBOI")!.toString()).toBe("foobar");
    expect(base32Decode("mzxw6ytboi======")!.toString()).toBe("foobar");
    expect(base32Decode("MZ1")).toBeUndefined();
  });
  it("new seeds are 64 characters and round-trip", () => {
    const s = newSeed();
    expect(s).toMatch(/^[A-Z2-7]{64}$/);
    expect(base32Encode(base32Decode(s)!)).toBe(s);
  });
  it("builds the otpauth URI", () => {
    expect(otpauthUri("Amazon Web Services", "dev", "000000000000", "ABC")).toBe(
      "otpauth://totp/Amazon%20Web%20Services:dev@000000000000?secret=ABC&issuer=Amazon%20Web%20Services",
    );
  });
});
