/** With the gocryptfs driver, what a task writes is ciphertext on disk and unreadable once the task stopped. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { KMSClient } from "@aws-sdk/client-kms";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { probeGocryptfs } from "../../src/fargate/storage/index.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { startTestServer, type TestServer } from "../support/server.ts";
import { createFargateKey, NETWORK, registerSleeper, running, stopped, waitTask } from "./ecs-helpers.ts";

const probeDir = mkdtempSync(join(tmpdir(), "lf-probe-"));
const available = (await probeGocryptfs(probeDir)).available;
rmSync(probeDir, { recursive: true, force: true });

let server: TestServer;
beforeAll(async () => {
  if (available) server = await startTestServer({ storageDriver: "gocryptfs" });
});
afterAll(async () => {
  await server?.close();
});

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

describe.skipIf(!available)("gocryptfs storage driver", () => {
  it("keeps the task's bytes encrypted on disk and gone after stop", async () => {
    const ecs = new ECSClient(server.config);
    const kms = new KMSClient(server.config);
    expect(server.app.health.storage).toMatchObject({ driver: "gocryptfs", encryptedAtRest: true });
    const key = await createFargateKey(kms, "crypt");
    await ecs.send(new CreateClusterCommand({ clusterName: "crypt", configuration: { managedStorageConfiguration: { fargateEphemeralStorageKmsKeyId: key.arn } } }));
    const marker = "LOCALFARGATE-MARKER-" + "5b1c7f0e";
    const td = await registerSleeper(ecs, "crypt-app", [
      { name: "writer", image: "busybox", command: ["sh", "-c", `for i in 1 2 3 4 5 6 7 8; do echo ${marker} >> secret.txt; done; sync; sleep 300`], stopTimeout: 2 },
    ]);
    const t0 = (await ecs.send(new RunTaskCommand({ cluster: "crypt", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0];
    await waitTask(ecs, "crypt", t0.taskArn!, running);
    const rec = (server.app.get("ecs") as { tasks: Map<string, { storage: { mountPath?: string; volumeId?: string } }> }).tasks.get(t0.taskArn!)!;
    const mount = rec.storage.mountPath!;
    // wait until the writer has written (through the mount, in plaintext)
    for (let i = 0; i < 400 && !(existsSync(join(mount, "secret.txt")) && readFileSync(join(mount, "secret.txt"), "utf8").split("\n").length > 8); i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(readFileSync(join(mount, "secret.txt"), "utf8")).toContain(marker);
    const volumeRoot = join(server.dataDir, "volumes", rec.storage.volumeId!);
    const cipherFiles = walk(join(volumeRoot, "cipher"));
    expect(cipherFiles.length).toBeGreaterThan(0);
    for (const f of cipherFiles) expect(readFileSync(f).includes(Buffer.from(marker))).toBe(false);
    await ecs.send(new StopTaskCommand({ cluster: "crypt", task: t0.taskArn! }));
    await waitTask(ecs, "crypt", t0.taskArn!, stopped);
    expect(existsSync(volumeRoot)).toBe(false);
    for (const f of walk(join(server.dataDir, "volumes"))) expect(readFileSync(f).includes(Buffer.from(marker))).toBe(false);
  });
});
