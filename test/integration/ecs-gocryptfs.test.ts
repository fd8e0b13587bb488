/** With the gocryptfs driver, what a task writes is ciphertext on disk and unreadable once the task stopped. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, ECSClient, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { KMSClient } from "@aws-sdk/client-kms";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { probeGocryptfs } from "../../src/fargate/storage/index.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { startTestServer, type TestServer } from "../support/server.ts";
import { diskUsage, sparseFileIncludes } from "../support/sparse-file.ts";
import { isMounted } from "../../src/fargate/storage/system.ts";
import { loopDevicesBackedUnder } from "../../src/fargate/storage/ext4-volume.ts";
import { createFargateKey, NETWORK, registerSleeper, running, stopped, waitFor, waitTask } from "./ecs-helpers.ts";

const probeDir = mkdtempSync(join(tmpdir(), "lf-probe-"));
const probe = await probeGocryptfs(probeDir);
const available = probe.available;
const sized = probe.available && probe.ext4 !== undefined;
rmSync(probeDir, { recursive: true, force: true });

let server: TestServer;
beforeAll(async () => {
  if (available) server = await startTestServer({ storageDriver: "gocryptfs" });
});
afterAll(async () => {
  await server?.close();
});

/** Files under dir, except the plaintext mount `mnt` and the sparse image (searched with sparseFileIncludes). */
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const n of readdirSync(dir)) {
    if (n === "mnt" || n === "volume.img") continue;
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
    await waitFor("the writer's eight lines", async () => existsSync(join(mount, "secret.txt")) && readFileSync(join(mount, "secret.txt"), "utf8").split("\n").length > 8);
    expect(readFileSync(join(mount, "secret.txt"), "utf8")).toContain(marker);
    const volumeRoot = join(server.dataDir, "volumes", rec.storage.volumeId!);
    const cipherFiles = walk(volumeRoot).filter((f) => f.includes("/cipher/"));
    expect(cipherFiles.length).toBeGreaterThan(0);
    for (const f of cipherFiles) expect(readFileSync(f).includes(Buffer.from(marker))).toBe(false);
    await ecs.send(new StopTaskCommand({ cluster: "crypt", task: t0.taskArn! }));
    await waitTask(ecs, "crypt", t0.taskArn!, stopped);
    expect(existsSync(volumeRoot)).toBe(false);
    for (const f of walk(join(server.dataDir, "volumes"))) expect(readFileSync(f).includes(Buffer.from(marker))).toBe(false);
  });
});

/**
 * Runs a task whose container writes the size of the file system of its working directory
 * (`stat -f`, the statfs(2) that `df` reports) and a marker into its working volume. (`df -k .`
 * itself cannot run in host-process mode: it looks the mount point up by its absolute path, which
 * the task's user may not traverse, by design, since it lies in the data dir.)
 */
async function runDfTask(family: string, sizeInGiB: number | undefined, marker: string) {
  const ecs = new ECSClient(server.config);
  const td = await registerSleeper(
    ecs,
    family,
    [{ name: "df", image: "busybox", command: ["sh", "-c", `stat -f -c '%b %S' . > df.txt 2>&1; echo ${marker} > marker.txt; sync; sleep 300`], stopTimeout: 2 }],
    sizeInGiB ? { ephemeralStorage: { sizeInGiB } } : {},
  );
  const t0 = (await ecs.send(new RunTaskCommand({ cluster: "sized", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0]!;
  const t = await waitTask(ecs, "sized", t0.taskArn!, running);
  const rec = (server.app.get("ecs") as { tasks: Map<string, { storage: { mountPath?: string; volumeId?: string } }> }).tasks.get(t0.taskArn!)!;
  const mount = rec.storage.mountPath!;
  await waitFor("the df task's marker", async () => existsSync(join(mount, "marker.txt")));
  const df = readFileSync(join(mount, "df.txt"), "utf8");
  return { ecs, task: t, mount, df, volumeRoot: join(server.dataDir, "volumes", rec.storage.volumeId!) };
}

/** Total size in bytes from `stat -f -c '%b %S'` (blocks, fundamental block size). */
function statfsTotal(out: string): number {
  const [blocks, size] = out.trim().split(/\s+/).map(Number);
  return blocks! * size!;
}

describe.skipIf(!sized)("gocryptfs storage driver: the task's volume is as large as ephemeralStorage", () => {
  beforeAll(async () => {
    const ecs = new ECSClient(server.config);
    await ecs.send(new CreateClusterCommand({ clusterName: "sized" }));
  });

  it.each([
    [undefined, 20],
    [50, 50],
  ])(
    "a task with ephemeralStorage %s sees a %i GiB file system (statfs, and df of the mount); the marker is not in the backing file; stop removes mounts and file",
    async (requested, size) => {
      expect(server.app.health.storage).toMatchObject({ driver: "gocryptfs", sizedVolumes: true });
      const marker = "LOCALFARGATE-SIZED-" + String(size) + "-9c2e41d7";
      const { ecs, task, df, mount, volumeRoot } = await runDfTask(`sized-${size}`, requested, marker);
      expect(task.ephemeralStorage?.sizeInGiB).toBe(size);
      expect(df, df).toMatch(/^\d+ \d+\n$/);
      expect(statfsTotal(df)).toBeGreaterThan(size * 1024 ** 3 * 0.95); // ext4's own metadata takes a little
      expect(statfsTotal(df)).toBeLessThanOrEqual(size * 1024 ** 3);
      // df of the mount names the file system "ephemeral", not the host's cipher path, and agrees.
      const hostDf = execFileSync("df", ["-k", mount], { encoding: "utf8" }).trim().split("\n").at(-1)!.split(/\s+/);
      expect(hostDf[0]).toBe("ephemeral");
      expect(Number(hostDf[1]) * 1024).toBe(statfsTotal(df));

      const image = join(volumeRoot, "volume.img");
      expect(readFileSync(join(mount, "marker.txt"), "utf8")).toBe(marker + "\n");
      execFileSync("sync");
      expect(sparseFileIncludes(image, Buffer.from("gocryptfs.diriv"))).toBe(true); // the search does see the image's data
      expect(sparseFileIncludes(image, Buffer.from(marker))).toBe(false);
      expect(diskUsage(image)).toBeLessThan(10 * 1024 * 1024);

      await ecs.send(new StopTaskCommand({ cluster: "sized", task: task.taskArn! }));
      await waitTask(ecs, "sized", task.taskArn!, stopped);
      expect(await isMounted(mount)).toBe(false);
      expect(await isMounted(join(volumeRoot, "ext4"))).toBe(false);
      expect(await loopDevicesBackedUnder(volumeRoot)).toEqual([]);
      expect(existsSync(image)).toBe(false);
      expect(existsSync(volumeRoot)).toBe(false);
    },
  );
});
