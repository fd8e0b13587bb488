import { describe, expect, it } from "vitest";
import { DEFAULT_FARGATE_VCPU_QUOTA, parseVcpuQuota, quotasFromOptions } from "./quotas.ts";

describe("Fargate vCPU quota options", () => {
  it("defaults to AWS's 6 vCPUs and accepts any non-negative number, fractions included", () => {
    expect(DEFAULT_FARGATE_VCPU_QUOTA).toBe(6);
    expect(quotasFromOptions({})).toEqual({ FARGATE: 6, FARGATE_SPOT: 6 });
    expect(quotasFromOptions({ fargateVcpuQuota: 4000, fargateSpotVcpuQuota: "0.5" })).toEqual({ FARGATE: 4000, FARGATE_SPOT: 0.5 });
    expect(parseVcpuQuota("0", "q")).toBe(0);
    expect(parseVcpuQuota(" 12 ", "q")).toBe(12);
  });

  it("refuses what is not a number of vCPUs", () => {
    for (const bad of ["-1", "abc", "Infinity", "NaN", true, "1e999"]) {
      expect(() => parseVcpuQuota(bad, "--fargate-vcpu-quota")).toThrow(/--fargate-vcpu-quota must be a non-negative number of vCPUs/);
    }
  });
});
