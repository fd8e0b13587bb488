import { describe, it, expect } from "vitest";
import { defineServiceModule } from "../kernel/service.ts";
import { createApp } from "./app.ts";
import { MODULES } from "./modules.ts";

describe("module composition", () => {
  it("refuses an order in which a module needs what no earlier module provides", async () => {
    const needsIam = defineServiceModule({ name: "needs-iam", needs: ["iam"], create: () => ({}) });
    await expect(createApp({ dataDir: null }, [needsIam])).rejects.toThrow("module needs-iam needs iam, which no earlier module provides");
  });

  it("composes every module in the stated order and gives typed access to what they provide", async () => {
    const { app, shutdown } = await createApp({ dataDir: null, storageDriver: "plain" });
    try {
      expect([...app.services.keys()]).toEqual(["sts", "iam", "s3", "cloudtrail", "kms", "ecs"]);
      expect(app.dueRunners.map((r) => r.name)).toEqual(["sts.sessions", "cloudtrail-delivery", "kms", "fargate"]);
      expect(app.get("iam").state).toBeDefined();
      expect(app.find("serverUrl")).toBeUndefined();
      expect(() => app.get("serverUrl")).toThrow('nothing provides "serverUrl" yet');
      expect(MODULES.map((m) => m.name)).toEqual(["iam-secrets", "sts", "iam", "s3", "cloudtrail", "kms", "ecs"]);
    } finally {
      for (const s of shutdown.reverse()) await s();
      app.store.close();
    }
  });
});
