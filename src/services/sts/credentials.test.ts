import { describe, it, expect } from "vitest";
import { cloudTrailExpiration, packedPolicySize } from "./credentials.ts";

describe("CloudTrail's STS expiration format", () => {
  it("writes 'Mon D, YYYY, h:mm:ss AM/PM' in UTC", () => {
    expect(cloudTrailExpiration(new Date("2020-03-26T22:09:51Z"))).toBe("Mar 26, 2020, 10:09:51 PM");
    expect(cloudTrailExpiration(new Date("2024-01-05T00:03:04Z"))).toBe("Jan 5, 2024, 12:03:04 AM");
    expect(cloudTrailExpiration(new Date("2024-07-15T12:00:00Z"))).toBe("Jul 15, 2024, 12:00:00 PM");
  });
});

describe("packed policy size", () => {
  const small = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }] });

  it("is a small percentage for a small policy and grows with it", () => {
    const a = packedPolicySize(small, [], {});
    expect(a.total).toBeGreaterThan(0);
    expect(a.total).toBeLessThan(15);
    const statements = Array.from({ length: 20 }, (_, i) => ({
      Effect: "Allow",
      Action: `s3:Get${i}${Math.random().toString(36).slice(2)}`,
      Resource: `arn:aws:s3:::bucket-${i}-${Math.random().toString(36).slice(2)}/*`,
    }));
    const b = packedPolicySize(JSON.stringify({ Version: "2012-10-17", Statement: statements }), [], {});
    expect(b.total).toBeGreaterThan(a.total);
  });

  it("ignores whitespace and counts tags separately", () => {
    expect(packedPolicySize(JSON.stringify(JSON.parse(small), null, 8), [], {}).total).toBe(packedPolicySize(small, [], {}).total);
    const t = packedPolicySize(undefined, [], { team: "red", project: "unicorn" });
    expect(t.tags).toBeGreaterThan(0);
    expect(t.total).toBeGreaterThanOrEqual(t.tags);
    expect(packedPolicySize(undefined, [], {})).toEqual({ total: 0, tags: 0 });
  });

  it("passes 100% for policies far beyond the plaintext limit", () => {
    const random = Array.from({ length: 400 }, () => Math.random().toString(36).slice(2)).join("");
    expect(packedPolicySize(JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: random }] }), [], {}).total).toBeGreaterThan(100);
  });
});
