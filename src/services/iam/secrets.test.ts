import { describe, expect, it } from "vitest";
import { SecretSealer } from "./secrets.ts";

describe("SecretSealer (IAM and STS secrets at rest)", () => {
  const sealer = new SecretSealer(null);

  it("opens what it sealed only under the same record id", () => {
    const s = sealer.seal("wJalrXUtnFEMI/K7MDENG", "AKIAEXAMPLE");
    expect(sealer.open(s, "AKIAEXAMPLE")).toBe("wJalrXUtnFEMI/K7MDENG");
    expect(() => sealer.open(s, "AKIAOTHER")).toThrow();
  });

  it("refuses a sealed secret whose tag was cut short instead of checking fewer tag bytes", () => {
    const s = sealer.seal("secret", "id");
    const tag = Buffer.from(s.tag, "base64");
    for (const n of [4, 8, 12, 15]) expect(() => sealer.open({ ...s, tag: tag.subarray(0, n).toString("base64") }, "id")).toThrow();
  });

  it("refuses a changed ciphertext", () => {
    const s = sealer.seal("secret", "id");
    const ct = Buffer.from(s.ct, "base64");
    ct[0] ^= 1;
    expect(() => sealer.open({ ...s, ct: ct.toString("base64") }, "id")).toThrow();
  });
});
