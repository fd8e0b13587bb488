import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineServiceModule } from "../kernel/service.ts";
import { StartupError } from "../store/startup-error.ts";
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
      expect([...app.services.keys()]).toEqual(["sts", "iam", "organizations", "s3", "cloudtrail", "kms", "secretsmanager", "ssm", "cloudwatchlogs", "ecs"]);
      expect(app.dueRunners.map((r) => r.name)).toEqual(["sts.sessions", "cloudtrail-delivery", "kms", "secretsmanager", "logs retention", "ecs"]);
      expect(app.get("iam").state).toBeDefined();
      expect(app.scps).toBeDefined();
      expect(app.find("serverUrl")).toBeUndefined();
      expect(() => app.get("serverUrl")).toThrow('nothing provides "serverUrl" yet');
      expect(MODULES.map((m) => m.name)).toEqual(["iam-secrets", "sts", "iam", "organizations", "s3", "cloudtrail", "kms", "secretsmanager", "ssm", "logs", "ecs"]);
    } finally {
      for (const s of shutdown.reverse()) await s();
      app.store.close();
    }
  });

  it("a module that refuses the start runs the earlier modules' shutdown and releases the data dir lock", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-app-"));
    const closed: string[] = [];
    const first = defineServiceModule({ name: "first", needs: [], create: () => ({ shutdown: () => void closed.push("first") }) });
    const refuses = defineServiceModule({
      name: "refuses",
      needs: [],
      create: () => {
        throw new StartupError("credentials.key does not open the stored secrets");
      },
    });
    try {
      await expect(createApp({ dataDir: dir }, [first, refuses])).rejects.toThrow("credentials.key does not open the stored secrets");
      expect(closed).toEqual(["first"]);
      // the same data dir starts again: the refused start left no lock behind
      const again = await createApp({ dataDir: dir }, []);
      expect(again.lock).toBeDefined();
      for (const s of again.shutdown.reverse()) await s();
      again.app.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
