/**
 * KMS's due work (replicas becoming Enabled, deletions) commits one key at a time; requests run
 * between those commits, and each key must be taken as it is when its turn comes.
 */
import { describe, expect, it } from "vitest";
import type { AppContext } from "../../kernel/context.ts";
import { Kms } from "./core.ts";
import { runDueDeletions } from "./keys.ts";
import { runDueReplicas } from "./multi-region.ts";
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
