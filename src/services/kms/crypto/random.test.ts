import { describe, expect, it } from "vitest";
import { ServiceError } from "../../../kernel/errors.ts";
import { dataKeyLength, generateDataKey, generateRandom, secureRandomBytes } from "./random.ts";

function validationError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ServiceError);
    expect((e as ServiceError).code).toBe("ValidationException");
    expect((e as ServiceError).status).toBe(400);
    return (e as ServiceError).message;
  }
  throw new Error("expected a ValidationException");
}

describe("generateRandom", () => {
  it("returns the requested number of bytes, differently each time", () => {
    for (const n of [1, 12, 44, 91, 1024]) expect(generateRandom(n).length).toBe(n);
    expect(generateRandom(32).equals(generateRandom(32))).toBe(false);
  });

  it("uses AWS's messages for a missing or out-of-range NumberOfBytes", () => {
    expect(validationError(() => generateRandom())).toBe("NumberOfBytes is required.");
    expect(validationError(() => generateRandom(0))).toBe(
      "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    expect(validationError(() => generateRandom(1025))).toBe(
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
    expect(validationError(() => generateRandom(1.5))).toMatch(/numberOfBytes/);
  });
});

describe("generateDataKey", () => {
  it("sizes keys by KeySpec or NumberOfBytes", () => {
    expect(generateDataKey("AES_256").length).toBe(32);
    expect(generateDataKey("AES_128").length).toBe(16);
    expect(generateDataKey(undefined, 1).length).toBe(1);
    expect(generateDataKey(undefined, 1024).length).toBe(1024);
    expect(dataKeyLength("AES_256")).toBe(32);
    expect(generateDataKey("AES_256").equals(generateDataKey("AES_256"))).toBe(false);
  });

  it("requires exactly one of KeySpec and NumberOfBytes", () => {
    expect(validationError(() => generateDataKey())).toBe("Please specify either number of bytes or key spec.");
    expect(validationError(() => generateDataKey("AES_256", 32))).toBe("Please specify either number of bytes or key spec.");
  });

  it("validates the range and the KeySpec enum", () => {
    expect(validationError(() => generateDataKey(undefined, 0))).toBe(
      "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    expect(validationError(() => generateDataKey(undefined, 1025))).toBe(
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
    expect(validationError(() => generateDataKey("AES_512"))).toBe(
      "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
    );
    expect(validationError(() => generateDataKey("constructor"))).toMatch(/enum value set/);
  });
});

describe("secureRandomBytes", () => {
  it("never hands out the same bytes twice, across pool refills, and its buffers are the caller's own", () => {
    const seen = new Set<string>();
    const all: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const b = secureRandomBytes(12);
      expect(b).toHaveLength(12);
      seen.add(b.toString("hex"));
      all.push(b);
    }
    expect(seen.size).toBe(2000);
    const first = all[0].toString("hex");
    // refills the pool several times: a view of the pool would change
    for (let i = 0; i < 1000; i++) secureRandomBytes(32);
    expect(all[0].toString("hex")).toBe(first);
    expect(secureRandomBytes(1024)).toHaveLength(1024);
  });

  it("is not all zeros (the pool is wiped after use, never handed out unfilled)", () => {
    let zeros = 0;
    for (let i = 0; i < 500; i++) if (secureRandomBytes(16).every((x) => x === 0)) zeros++;
    expect(zeros).toBe(0);
  });
});
