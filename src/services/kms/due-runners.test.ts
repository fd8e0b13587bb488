/**
 * KMS's due work (replicas becoming Enabled, deletions) commits one key at a time; requests run
 * between those commits, and each key must be taken as it is when its turn comes.
 */
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../kernel/context.ts";
import { Kms } from "./core.ts";
import { runDueDeletions } from "./keys.ts";
import { runDueReplicas } from "./multi-region.ts";
import { rotationOperations, runDueRotations } from "./rotation.ts";
import type { Resolved } from "./resolve.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { KeyRecord } from "./state.ts";

/** A Kms on a store whose commit first lets `meanwhile` run (a request between two commits of a due run). */
function kmsWithStore(meanwhile: (kms: Kms, commits: number) => void): { kms: Kms; written: unknown[][] } {
  const written: unknown[][] = [];
  const store = {
    put: (kind: string, id: string, value: unknown) => () => void written.push(["put", kind, id, value]),
    del: (kind: string, id: string) => () => void written.push(["del", kind, id]),
    async commit(ops: (() => void)[]) {
      await Promise.resolve();
      meanwhile(kms, written.length);
      for (const op of ops) op();
    },
  };
  const kms: Kms = new Kms({ store } as unknown as AppContext, { seal: (b: Buffer) => b, open: (b: Buffer) => b, secret: Buffer.alloc(32) } as never, {
    maxGrantsPerKey: 1,
    onDemandRotationLimit: 1,
  });
  return { kms, written };
}

function creatingReplica(region: string): KeyRecord {
  return {
    keyId: "mrk-1234abcd12ab34cd56ef1234567890ab",
    arn: `arn:aws:kms:${region}:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab`,
    accountId: "111122223333",
    region,
    creationDate: new Date(0),
    description: "",
    keyUsage: "ENCRYPT_DECRYPT",
    keySpec: "SYMMETRIC_DEFAULT",
    origin: "AWS_KMS",
    state: "Creating",
    readyAt: new Date(1000),
    multiRegion: true,
    multiRegionKeyType: "REPLICA",
    policy: "{}",
    tags: [],
    materials: [],
    rotationEnabled: false,
    onDemandRotations: 0,
  } as KeyRecord;
}

describe("runDueReplicas", () => {
  it("enables each replica as it is now, not as it was when the run began", async () => {
    const second = creatingReplica("eu-west-1");
    // while the first replica's write is committed, a request changes the second one (a primary's
    // EnableKeyRotation, which its replicas follow)
    const { kms, written } = kmsWithStore((kms, commits) => {
      if (commits === 0) kms.state.keys.set(second.arn, { ...kms.state.keys.get(second.arn)!, rotationEnabled: true });
    });
    kms.state.keys.set(creatingReplica("us-west-2").arn, creatingReplica("us-west-2"));
    kms.state.keys.set(second.arn, second);
    await runDueReplicas(kms, 2000);
    const now = kms.state.keys.get(second.arn)!;
    expect(now.state).toBe("Enabled");
    expect(now.rotationEnabled).toBe(true);
    expect(written.find((w) => w[2] === second.arn)?.[3]).toMatchObject({ rotationEnabled: true });
  });

  it("does not delete a key whose deletion was cancelled while an earlier key was being deleted", async () => {
    const pending = (region: string): KeyRecord =>
      ({ ...creatingReplica(region), multiRegion: false, multiRegionKeyType: undefined, state: "PendingDeletion", deletionDate: new Date(1000) }) as KeyRecord;
    const second = pending("eu-west-1");
    const { kms, written } = kmsWithStore((kms, commits) => {
      // CancelKeyDeletion on the second key, answered before the run reaches it
      if (commits === 0) kms.state.keys.set(second.arn, { ...second, state: "Disabled", deletionDate: undefined });
    });
    kms.state.keys.set(pending("us-west-2").arn, pending("us-west-2"));
    kms.state.keys.set(second.arn, second);
    await runDueDeletions(kms, 2000);
    expect(kms.state.keys.get(second.arn)?.state).toBe("Disabled");
    expect(written.filter((w) => w[0] === "del").map((w) => w[2])).toEqual([pending("us-west-2").arn]);
  });
});

/** A symmetric key whose automatic rotation fell due at 1000 ms. */
function rotatingKey(): KeyRecord {
  return {
    ...creatingReplica("us-west-2"),
    keyId: "1234abcd-12ab-34cd-56ef-1234567890ab",
    arn: "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    multiRegion: false,
    multiRegionKeyType: undefined,
    state: "Enabled",
    readyAt: undefined,
    rotationEnabled: true,
    rotationPeriodInDays: 90,
    nextRotationDate: new Date(1000),
  } as KeyRecord;
}

// Making new material is asynchronous: the code below a call to a due runner or handler runs while
// it waits, as a request answered in the meantime would.
describe("rotation while its new material is made", () => {
  it("does not rotate a key whose rotation was disabled meanwhile, nor bring its rotation back", async () => {
    const key = rotatingKey();
    const { kms, written } = kmsWithStore(() => {});
    kms.state.keys.set(key.arn, key);
    const run = runDueRotations(kms, 2000);
    // DisableKeyRotation
    kms.state.keys.set(key.arn, { ...key, rotationEnabled: false, rotationPeriodInDays: undefined, nextRotationDate: undefined });
    await run;
    const now = kms.state.keys.get(key.arn)!;
    expect(now.rotationEnabled).toBe(false);
    expect(now.nextRotationDate).toBeUndefined();
    expect(now.materials).toEqual([]);
    expect(written).toEqual([]);
    expect(kms.state.openMaterial.size).toBe(0);
  });

  it("does not rotate a key disabled or scheduled for deletion meanwhile", async () => {
    for (const change of [{ state: "Disabled" }, { state: "PendingDeletion", deletionDate: new Date(9000) }] as Partial<KeyRecord>[]) {
      const key = rotatingKey();
      const { kms, written } = kmsWithStore(() => {});
      kms.state.keys.set(key.arn, key);
      const run = runDueRotations(kms, 2000);
      kms.state.keys.set(key.arn, { ...key, ...change });
      await run;
      expect(kms.state.keys.get(key.arn)).toMatchObject({ ...change, materials: [] });
      expect(written).toEqual([]);
    }
  });

  it("rotates a key whose description and policy changed meanwhile, and keeps both", async () => {
    const key = rotatingKey();
    const { kms, written } = kmsWithStore(() => {});
    kms.state.keys.set(key.arn, key);
    const run = runDueRotations(kms, 2000);
    kms.state.keys.set(key.arn, { ...key, description: "changed", policy: '{"Version":"2012-10-17"}' });
    await run;
    const now = kms.state.keys.get(key.arn)!;
    expect(now).toMatchObject({ description: "changed", policy: '{"Version":"2012-10-17"}', rotationEnabled: true });
    expect(now.materials).toHaveLength(1);
    expect(now.currentMaterialId).toBe(now.materials[0]!.id);
    expect(now.nextRotationDate!.getTime()).toBe(1000 + 90 * 86_400_000);
    expect(written.find((w) => w[2] === key.arn)?.[3]).toMatchObject({ description: "changed", currentMaterialId: now.materials[0]!.id });
  });

  it("keeps the rotations done and a change made while a later rotation's material was made", async () => {
    const key = rotatingKey();
    const { kms, written } = kmsWithStore(() => {});
    kms.state.keys.set(key.arn, key);
    // material is sealed just before its wait ends: the second sealing stands for a request answered then
    let sealed = 0;
    Object.assign(kms, {
      sealer: {
        ...kms.sealer,
        seal(b: Buffer) {
          if (++sealed === 2) kms.state.keys.set(key.arn, { ...kms.state.keys.get(key.arn)!, rotationEnabled: false, nextRotationDate: undefined, description: "changed" });
          return b;
        },
      },
    });
    // two rotations are due
    await runDueRotations(kms, 1000 + 90 * 86_400_000 + 1);
    const now = kms.state.keys.get(key.arn)!;
    expect(now).toMatchObject({ rotationEnabled: false, description: "changed" });
    expect(now.materials).toHaveLength(1);
    expect(written.filter((w) => w[2] === key.arn).map((w) => w[3])).toEqual([now]);
  });

  it("RotateKeyOnDemand refuses a key disabled meanwhile and leaves it disabled", async () => {
    const key = { ...rotatingKey(), rotationEnabled: false, nextRotationDate: undefined };
    const { kms } = kmsWithStore(() => {});
    kms.state.keys.set(key.arn, key);
    const ctx = { now: new Date(5000), writes: [] } as unknown as RequestContext;
    const op = rotationOperations(kms).RotateKeyOnDemand;
    const call = op.handler(ctx, { KeyId: key.arn }, { key } as Resolved);
    // DisableKey
    kms.state.keys.set(key.arn, { ...key, state: "Disabled" });
    await expect(call).rejects.toMatchObject({ code: "DisabledException" });
    expect(kms.state.keys.get(key.arn)).toMatchObject({ state: "Disabled", materials: [], onDemandRotations: 0 });
    expect(ctx.writes).toEqual([]);
  });

  it("RotateKeyOnDemand keeps a description changed meanwhile", async () => {
    const key = rotatingKey();
    const { kms } = kmsWithStore(() => {});
    kms.state.keys.set(key.arn, key);
    const ctx = { now: new Date(5000), writes: [] } as unknown as RequestContext;
    const call = rotationOperations(kms).RotateKeyOnDemand.handler(ctx, { KeyId: key.arn }, { key } as Resolved);
    kms.state.keys.set(key.arn, { ...key, description: "changed" });
    await call;
    expect(kms.state.keys.get(key.arn)).toMatchObject({ description: "changed", onDemandRotations: 1, rotationEnabled: true });
    expect(kms.state.keys.get(key.arn)!.materials).toHaveLength(1);
  });
});
