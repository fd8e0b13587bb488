import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineServiceModule } from "../kernel/service.ts";
import { StartupError } from "../store/startup-error.ts";
import { createApp, startLocalfargate } from "./app.ts";
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
      expect(app.dueRunners.map((r) => r.name)).toEqual(["sts.sessions", "organizations", "cloudtrail-delivery", "kms", "secretsmanager", "logs retention", "ecs"]);
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

  it("answers health while a module finishes its ready work, and completes the start only after it", async () => {
    const statuses: number[] = [];
    const slow = defineServiceModule({
      name: "slow",
      needs: [],
      create: (app) => ({
        // done only once the server has answered health: a start that waited for it first never would
        ready: (async () => {
          for (let i = 0; i < 2000; i++) {
            const url = app.find("serverUrl");
            if (url) {
              const r = await fetch(`${url}/_localfargate/health`);
              statuses.push(r.status);
              if (r.status === 200) return;
            }
            await new Promise((r) => setTimeout(r, 5));
          }
          throw new Error("health never answered 200 while the module was finishing");
        })(),
      }),
    });
    const running = await startLocalfargate({ dataDir: null, port: 0 }, [slow]);
    try {
      expect(statuses.at(-1)).toBe(200);
    } finally {
      await running.close();
    }
  });

  it("a module whose ready work fails refuses the start after listening, closes the port and releases the data dir lock", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-app-"));
    const closed: string[] = [];
    let url: string | undefined;
    const fails = defineServiceModule({
      name: "fails",
      needs: [],
      create: (app) => ({
        shutdown: () => void closed.push("fails"),
        ready: (async () => {
          while (!app.find("serverUrl")) await new Promise((r) => setTimeout(r, 5));
          url = app.find("serverUrl");
          throw new StartupError("Container runtime 'crun' is not available: crun is not installed");
        })(),
      }),
    });
    try {
      await expect(startLocalfargate({ dataDir: dir, port: 0 }, [fails])).rejects.toThrow("Container runtime 'crun' is not available");
      expect(closed).toEqual(["fails"]);
      await expect(fetch(`${url}/_localfargate/health`)).rejects.toThrow();
      const again = await createApp({ dataDir: dir }, []);
      expect(again.lock).toBeDefined();
      for (const s of again.shutdown.reverse()) await s();
      again.app.store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
