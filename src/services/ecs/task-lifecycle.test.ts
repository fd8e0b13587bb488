import { describe, expect, it } from "vitest";
import type { Task } from "@aws-sdk/client-ecs";
import { advance, recordContainer, requestStop, taskHealth } from "./task-lifecycle.ts";

const T0 = new Date("2026-01-01T00:00:00Z");
const T1 = new Date("2026-01-01T00:00:05Z");

function provisioning(): Task {
  return {
    lastStatus: "PROVISIONING",
    desiredStatus: "RUNNING",
    version: 1,
    attachments: [{ id: "a", type: "ElasticNetworkInterface", status: "PRECREATED" }],
    containers: [{ name: "app", lastStatus: "PENDING" }],
  };
}

describe("the task lifecycle", () => {
  it("moves forward only, recording what each step records and incrementing version", () => {
    const t = provisioning();
    expect(advance(t, "PENDING", T0)).toBe(true);
    expect(t).toMatchObject({ lastStatus: "PENDING", connectivity: "CONNECTED", connectivityAt: T0, version: 2 });
    expect(t.attachments![0].status).toBe("ATTACHED");
    expect(advance(t, "RUNNING", T1)).toBe(true);
    expect(t).toMatchObject({ lastStatus: "RUNNING", startedAt: T1, version: 3 });
    // a step back (or the same step again) changes nothing
    expect(advance(t, "PENDING", T1)).toBe(false);
    expect(advance(t, "RUNNING", T1)).toBe(false);
    expect(t).toMatchObject({ lastStatus: "RUNNING", version: 3 });
  });

  it("skips what a task never reached: a failed start goes from PROVISIONING to DEPROVISIONING and STOPPED", () => {
    const t = provisioning();
    expect(advance(t, "DEPROVISIONING", T0)).toBe(true);
    expect(t.containers![0].lastStatus).toBe("STOPPED");
    expect(t.executionStoppedAt).toEqual(T0);
    expect(advance(t, "STOPPED", T1)).toBe(true);
    expect(t).toMatchObject({ lastStatus: "STOPPED", stoppedAt: T1, version: 3 });
    expect(t.attachments![0].status).toBe("DELETED");
  });

  it("keeps the first stop request's code and reason", () => {
    const t = provisioning();
    expect(requestStop(t, "UserInitiated", "first", T0)).toBe(true);
    expect(requestStop(t, "EssentialContainerExited", "second", T1)).toBe(false);
    expect(t).toMatchObject({ desiredStatus: "STOPPED", stopCode: "UserInitiated", stoppedReason: "first", stoppingAt: T0 });
  });

  it("records a container's reported state, and ignores a container the task does not have", () => {
    const t = provisioning();
    expect(recordContainer(t, "abc", { name: "app", lastStatus: "STOPPED", exitCode: 3, reason: "boom", pid: 42 })).toBe(true);
    expect(t.containers![0]).toMatchObject({ lastStatus: "STOPPED", exitCode: 3, reason: "boom", runtimeId: "abc-app-42" });
    expect(recordContainer(t, "abc", { name: "other", lastStatus: "RUNNING" })).toBe(false);
  });
});

describe("the task's health", () => {
  const hc = { command: ["CMD", "true"] };
  const task = (health: Record<string, string | undefined>): Task => ({
    containers: Object.entries(health).map(([name, healthStatus]) => ({ name, healthStatus: healthStatus as "HEALTHY" | undefined })),
  });

  it("follows the essential containers with a health check: UNHEALTHY over UNKNOWN over HEALTHY", () => {
    const defs = [
      { name: "a", essential: true, healthCheck: hc },
      { name: "b", essential: true, healthCheck: hc },
      { name: "side", essential: false, healthCheck: hc },
      { name: "plain", essential: true },
    ];
    expect(taskHealth(task({ a: "HEALTHY", b: "HEALTHY", side: "UNHEALTHY", plain: "UNKNOWN" }), defs)).toBe("HEALTHY");
    expect(taskHealth(task({ a: "HEALTHY", b: "UNKNOWN", side: "HEALTHY" }), defs)).toBe("UNKNOWN");
    expect(taskHealth(task({ a: "UNHEALTHY", b: "UNKNOWN" }), defs)).toBe("UNHEALTHY");
  });

  it("falls back to non-essential containers only when no essential container has a health check; none at all is UNKNOWN", () => {
    const defs = [
      { name: "main", essential: true },
      { name: "side", essential: false, healthCheck: hc },
    ];
    expect(taskHealth(task({ main: "UNKNOWN", side: "UNHEALTHY" }), defs)).toBe("UNHEALTHY");
    expect(taskHealth(task({ main: "UNKNOWN", side: "HEALTHY" }), defs)).toBe("HEALTHY");
    expect(taskHealth(task({ main: "HEALTHY" }), [{ name: "main", essential: true }])).toBe("UNKNOWN");
  });

  it("records a container's reported health on the task", () => {
    const t = provisioning();
    expect(recordContainer(t, "id", { name: "app", lastStatus: "RUNNING", healthStatus: "HEALTHY" })).toBe(true);
    expect(t.containers![0]).toMatchObject({ lastStatus: "RUNNING", healthStatus: "HEALTHY" });
  });
});
