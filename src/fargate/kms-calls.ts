/**
 * The KMS calls Fargate makes for ephemeral storage, through app.invoke so that the key policy
 * (and grants) authorize them and CloudTrail records them like AWS's samples
 * (docs/ecs-fargate.md#ephemeral-storage-the-six-steps).
 */
import { servicePrincipal } from "../auth/principal.ts";
import { ServiceError } from "../kernel/errors.ts";
import type { AppContext } from "../kernel/context.ts";

export const FARGATE_PRINCIPAL = "fargate.amazonaws.com";
export const EC2_FRONTEND = "ec2-frontend-api.amazonaws.com";
export const DATA_KEY_BYTES = 64;

export interface ClusterContext {
  "aws:ecs:clusterAccount": string;
  "aws:ecs:clusterName": string;
}

export function clusterContext(account: string, clusterName: string): ClusterContext {
  return { "aws:ecs:clusterAccount": account, "aws:ecs:clusterName": clusterName };
}

function isDryRunPass(e: unknown): boolean {
  return e instanceof ServiceError && e.code === "DryRunOperationException";
}

/**
 * Fargate's launch-time checks: DryRun GenerateDataKeyWithoutPlaintext and DryRun CreateGrant as
 * fargate.amazonaws.com. DryRunOperationException means the call would have succeeded; any
 * other outcome (including success, which would mean KMS ignored DryRun) is returned as the
 * error that refuses the key.
 */
export async function dryRunChecks(app: AppContext, keyArn: string, region: string, account: string, clusterName: string): Promise<void> {
  const principal = servicePrincipal(FARGATE_PRINCIPAL, account);
  const ctx = clusterContext(account, clusterName);
  const calls: [string, Record<string, unknown>][] = [
    ["GenerateDataKeyWithoutPlaintext", { KeyId: keyArn, EncryptionContext: ctx, NumberOfBytes: DATA_KEY_BYTES, DryRun: true }],
    [
      "CreateGrant",
      {
        KeyId: keyArn,
        GranteePrincipal: `fargate.${region}.amazonaws.com`,
        Operations: ["Decrypt"],
        Constraints: { EncryptionContextSubset: ctx },
        DryRun: true,
      },
    ],
  ];
  // The two checks are independent: AWS makes them in the same second; so do we, concurrently.
  const outcomes = await Promise.allSettled(calls.map(([op, input]) => app.invoke("kms", op, input, { principal, region })));
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    if (o.status === "rejected") {
      if (isDryRunPass(o.reason)) continue;
      throw o.reason;
    }
    throw new ServiceError("KMSInternalException", `KMS answered the DryRun ${calls[i][0]} without DryRunOperationException`, 500);
  }
}

export interface ProvisionedKey {
  encryptedDataKey: Buffer;
  grantId: string;
  grantToken: string;
}

/** Steps 1 and 3: the volume's data key (encrypted) and the Decrypt grant for it. */
export async function createVolumeKey(app: AppContext, keyArn: string, region: string, account: string, clusterName: string, volumeId: string): Promise<ProvisionedKey> {
  const principal = servicePrincipal(FARGATE_PRINCIPAL, account, EC2_FRONTEND);
  const context = { ...clusterContext(account, clusterName), "aws:ebs:id": volumeId };
  // Independent calls (the grant does not need the data key): made concurrently.
  const [genOutcome, grantOutcome] = await Promise.allSettled([
    app.invoke<{ CiphertextBlob: Uint8Array; KeyId: string }>(
      "kms",
      "GenerateDataKeyWithoutPlaintext",
      { KeyId: keyArn, EncryptionContext: context, NumberOfBytes: DATA_KEY_BYTES },
      { principal, region },
    ),
    app.invoke<{ GrantId: string; GrantToken: string }>(
      "kms",
      "CreateGrant",
      {
        KeyId: keyArn,
        GranteePrincipal: `fargate.${region}.amazonaws.com`,
        Operations: ["Decrypt"],
        Constraints: { EncryptionContextSubset: context },
        RetiringPrincipal: `ec2.${region}.amazonaws.com`,
      },
      { principal, region },
    ),
  ]);
  if (genOutcome.status === "rejected") {
    if (grantOutcome.status === "fulfilled") await retireVolumeGrant(app, keyArn, region, account, grantOutcome.value.GrantId).catch(() => undefined);
    throw genOutcome.reason;
  }
  if (grantOutcome.status === "rejected") throw grantOutcome.reason;
  const gen = genOutcome.value;
  const grant = grantOutcome.value;
  return { encryptedDataKey: Buffer.from(gen.CiphertextBlob), grantId: grant.GrantId, grantToken: grant.GrantToken };
}

/** Step 4: Decrypt through the grant, as the grantee. The plaintext stays in memory. */
export async function decryptVolumeKey(app: AppContext, keyArn: string, region: string, account: string, clusterName: string, volumeId: string, encryptedDataKey: Buffer, grantToken: string): Promise<Buffer> {
  const grantee = `fargate.${region}.amazonaws.com`;
  const out = await app.invoke<{ Plaintext: Uint8Array }>(
    "kms",
    "Decrypt",
    {
      KeyId: keyArn,
      CiphertextBlob: encryptedDataKey,
      EncryptionContext: { ...clusterContext(account, clusterName), "aws:ebs:id": volumeId },
      GrantTokens: [grantToken],
    },
    { principal: servicePrincipal(grantee, account, FARGATE_PRINCIPAL), region },
  );
  return Buffer.from(out.Plaintext);
}

/** Step 6: the grant is retired by the retiring principal when the volume goes away. */
export async function retireVolumeGrant(app: AppContext, keyArn: string, region: string, account: string, grantId: string): Promise<void> {
  await app.invoke("kms", "RetireGrant", { KeyId: keyArn, GrantId: grantId }, { principal: servicePrincipal(`ec2.${region}.amazonaws.com`, account, "AWS Internal"), region });
}
