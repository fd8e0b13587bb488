import { describe, expect, it } from "vitest";
import { circuitBreakerThreshold, historyArnType, serviceDeploymentArn, serviceRevisionArn } from "./service-history.ts";

const SERVICE = "arn:aws:ecs:us-east-1:000000000000:service/prod/web";

describe("service history", () => {
  it("the circuit breaker threshold is half the desired count, rounded up, between 3 and 200", () => {
    expect([0, 1, 6, 7, 25, 399, 400, 5000].map(circuitBreakerThreshold)).toEqual([3, 3, 3, 4, 13, 200, 200, 200]);
  });

  it("names revisions and deployments under the service's cluster and name", () => {
    expect(serviceRevisionArn(SERVICE, "1234567890123456789")).toBe("arn:aws:ecs:us-east-1:000000000000:service-revision/prod/web/1234567890123456789");
    const d = serviceDeploymentArn(SERVICE);
    expect(d).toMatch(/^arn:aws:ecs:us-east-1:000000000000:service-deployment\/prod\/web\/[A-Za-z0-9_-]{8}-[A-Za-z0-9_-]{12}$/);
    expect(historyArnType(d)).toBe("service-deployment");
    expect(historyArnType(serviceRevisionArn(SERVICE, "1"))).toBe("service-revision");
    for (const bad of [SERVICE, "arn:aws:ecs:us-east-1:000000000000:service-deployment/prod/web", "service-deployment/a/b/c", ""]) expect(historyArnType(bad)).toBeUndefined();
  });
});
