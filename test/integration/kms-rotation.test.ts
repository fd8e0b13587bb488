/** KMS key rotation: automatic (by advancing the service clock), on demand, and the rules around it. */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import {
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { startTestServer, type TestServer } from "../support/server.ts";
import { ACCOUNT, createKey, expectKmsError, text, trailRecords, utf8 } from "./kms-helpers.ts";

const DAY = 86400;
let s: TestServer;
let kms: KMSClient;
beforeAll(async () => {
  s = await startTestServer();
  kms = new KMSClient(s.config);
});
afterAll(async () => {
  await s.close();
});

async function serviceNow(server: TestServer): Promise<number> {
  return Date.parse(((await (await fetch(`${server.url}/_localfargate/clock`)).json()) as { now: string }).now);
}

describe("automatic rotation", () => {
  it("is off by default and turns on with a 365-day default period", async () => {
    const k = await createKey(kms);
    expect(await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }))).toMatchObject({ KeyRotationEnabled: false });
    const now = await serviceNow(s);
    await kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId }));
    const st = await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.Arn }));
    expect(st.KeyRotationEnabled).toBe(true);
    expect(st.RotationPeriodInDays).toBe(365);
    expect(Math.abs(st.NextRotationDate!.getTime() - (now + 365 * DAY * 1000))).toBeLessThan(60_000);
    await kms.send(new DisableKeyRotationCommand({ KeyId: k.KeyId }));
    const off = await kms.send(new GetKeyRotationStatusCommand({ KeyId: k.KeyId }));
    expect(off.KeyRotationEnabled).toBe(false);
    expect(off.NextRotationDate).toBeUndefined();
  });

  it("validates the period", async () => {
    const k = await createKey(kms);
    await expectKmsError(kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 89 })), "ValidationException");
    await expectKmsError(kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 2561 })), "ValidationException");
    await kms.send(new EnableKeyRotationCommand({ KeyId: k.KeyId, RotationPeriodInDays: 2560 }));
  });

  it("rotates when the date passes; new ciphertexts use new material, old ones still decrypt", async () => {
    const own = await startTestServer();
    try {
      const k = new KMSClient(own.config);
      const key = await createKey(k);
      const before = (await k.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId!;
      const old = await k.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("before rotation") }));
      await k.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
      const due = (await k.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).NextRotationDate!;
      await own.advanceClock(89 * DAY);
      expect((await k.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations).toEqual([]);
      await own.advanceClock(DAY + 60);
      const rotations = (await k.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations!;
      expect(rotations).toHaveLength(1);
      expect(rotations[0]).toMatchObject({ KeyId: key.KeyId, RotationType: "AUTOMATIC" });
      expect(rotations[0].RotationDate?.getTime()).toBe(due.getTime());
      const after = (await k.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.CurrentKeyMaterialId!;
      expect(after).not.toBe(before);
      expect(after).toMatch(/^[0-9a-f]{64}$/);
      const next = (await k.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).NextRotationDate!;
      expect(next.getTime()).toBe(due.getTime() + 90 * DAY * 1000);
      const fresh = await k.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("after rotation") }));
      const d1 = await k.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }));
      const d2 = await k.send(new DecryptCommand({ CiphertextBlob: fresh.CiphertextBlob }));
      expect([text(d1.Plaintext), text(d2.Plaintext)]).toEqual(["before rotation", "after rotation"]);
      expect((d1 as { KeyMaterialId?: string }).KeyMaterialId).toBe(before);
      expect((d2 as { KeyMaterialId?: string }).KeyMaterialId).toBe(after);
      const rec = (await trailRecords(own, "RotateKey")).find((r) => r.serviceEventDetails?.keyId === key.KeyId)!;
      expect(rec.eventType).toBe("AwsServiceEvent");
      expect(rec.userIdentity).toEqual({ accountId: ACCOUNT, invokedBy: "AWS Internal" });
      expect(rec.resources).toEqual([{ accountId: ACCOUNT, type: "AWS::KMS::Key", ARN: key.Arn }]);
      // two more periods at once: two more rotations
      await own.advanceClock(180 * DAY);
      expect((await k.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations).toHaveLength(3);
      expect(text((await k.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }))).Plaintext)).toBe("before rotation");
    } finally {
      await own.close();
    }
  });

  it("does not rotate a disabled key until it is enabled again", async () => {
    const own = await startTestServer();
    try {
      const k = new KMSClient(own.config);
      const key = await createKey(k);
      await k.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
      await k.send(new DisableKeyCommand({ KeyId: key.KeyId }));
      await expectKmsError(k.send(new EnableKeyRotationCommand({ KeyId: key.KeyId })), "DisabledException", `${key.Arn} is disabled.`);
      await own.advanceClock(100 * DAY);
      expect((await k.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations).toEqual([]);
      await k.send(new EnableKeyCommand({ KeyId: key.KeyId }));
      await own.advanceClock(1);
      expect((await k.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations).toHaveLength(1);
    } finally {
      await own.close();
    }
  });

  it("is only for symmetric keys with AWS_KMS material", async () => {
    const rsa = await createKey(kms, { KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" });
    await expectKmsError(kms.send(new EnableKeyRotationCommand({ KeyId: rsa.KeyId })), "UnsupportedOperationException");
    await expectKmsError(kms.send(new GetKeyRotationStatusCommand({ KeyId: rsa.KeyId })), "UnsupportedOperationException");
    await expectKmsError(kms.send(new RotateKeyOnDemandCommand({ KeyId: rsa.KeyId })), "UnsupportedOperationException");
    const ext = await createKey(kms, { Origin: "EXTERNAL" });
    const msg = `${ext.Arn} origin is EXTERNAL which is not valid for this operation.`;
    await expectKmsError(kms.send(new EnableKeyRotationCommand({ KeyId: ext.KeyId })), "UnsupportedOperationException", msg);
    await expectKmsError(kms.send(new GetKeyRotationStatusCommand({ KeyId: ext.KeyId })), "UnsupportedOperationException", msg);
    await expectKmsError(kms.send(new RotateKeyOnDemandCommand({ KeyId: ext.KeyId })), "KMSInvalidStateException", `${ext.Arn} is pending import.`);
    const doomed = await createKey(kms);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId }));
    await expectKmsError(kms.send(new EnableKeyRotationCommand({ KeyId: doomed.KeyId })), "KMSInvalidStateException", `${doomed.Arn} is pending deletion.`);
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: doomed.KeyId }))).KeyRotationEnabled).toBe(false);
  });
});

describe("on-demand rotation", () => {
  it("rotates now, lists the rotation, keeps the schedule, and old ciphertexts decrypt", async () => {
    const key = await createKey(kms);
    const old = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("v1") }));
    const r = await kms.send(new RotateKeyOnDemandCommand({ KeyId: key.Arn }));
    expect(r.KeyId).toBe(key.KeyId);
    const rot = (await kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId }))).Rotations!;
    expect(rot).toHaveLength(1);
    expect(rot[0].RotationType).toBe("ON_DEMAND");
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).KeyRotationEnabled).toBe(false);
    const fresh = await kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: utf8("v2") }));
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: old.CiphertextBlob }))).Plaintext)).toBe("v1");
    expect(text((await kms.send(new DecryptCommand({ CiphertextBlob: fresh.CiphertextBlob }))).Plaintext)).toBe("v2");
  });

  it("allows 25 on-demand rotations per key, then LimitExceededException", async () => {
    const key = await createKey(kms);
    for (let i = 0; i < 25; i++) await kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
    await expectKmsError(
      kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })),
      "LimitExceededException",
      `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.Arn}`,
    );
    const p1 = await kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 20 }));
    expect(p1.Rotations).toHaveLength(20);
    expect(p1.Truncated).toBe(true);
    const p2 = await kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 20, Marker: p1.NextMarker }));
    expect(p2.Rotations).toHaveLength(5);
    expect(p2.Truncated).toBe(false);
    expect(new Set([...p1.Rotations!, ...p2.Rotations!].map((x) => x.KeyMaterialId)).size).toBe(25);
  });

  it("follows the key-state table", async () => {
    const key = await createKey(kms);
    await kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
    await expectKmsError(kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })), "DisabledException", `${key.Arn} is disabled.`);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId }));
    await expectKmsError(kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })), "KMSInvalidStateException", `${key.Arn} is pending deletion.`);
  });
});
