/**
 * The KMS calls Fargate makes for ephemeral storage, through app.invoke so that the key policy
 * (and grants) authorize them and CloudTrail records them like AWS's samples
 * (docs/ecs-fargate.md#ephemeral-storage-the-six-steps).
 */
// The calls go through the FargateKms port (port.ts), which ECS implements with app.invoke.
import type { FargateKms, ServiceCaller } from "./port.ts";

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

function regionalFargate(region: string): string {
  return `fargate.${region}.amazonaws.com`;
}

/**
 * Fargate's launch-time checks: DryRun GenerateDataKeyWithoutPlaintext and DryRun CreateGrant as
 * fargate.amazonaws.com. The first refusal (in that order) is the error that refuses the key.
 */
export async function dryRunChecks(kms: FargateKms, keyArn: string, region: string, account: string, clusterName: string): Promise<void> {
  const as: ServiceCaller = { service: FARGATE_PRINCIPAL, accountId: account, region };
  const ctx = { ...clusterContext(account, clusterName) };
  // The two checks are independent: AWS makes them in the same second; so do we, concurrently.
  const outcomes = await Promise.allSettled([
    kms.generateDataKeyWithoutPlaintextDryRun({ keyArn, encryptionContext: ctx, numberOfBytes: DATA_KEY_BYTES }, as),
    kms.createGrantDryRun({ keyArn, granteePrincipal: regionalFargate(region), operations: ["Decrypt"], encryptionContextSubset: ctx }, as),
  ]);
  for (const o of outcomes) if (o.status === "rejected") throw o.reason;
}

export interface ProvisionedKey {
  encryptedDataKey: Buffer;
  grantId: string;
  grantToken: string;
}

/** Steps 1 and 3: the volume's data key (encrypted) and the Decrypt grant for it. */
export async function createVolumeKey(kms: FargateKms, keyArn: string, region: string, account: string, clusterName: string, volumeId: string): Promise<ProvisionedKey> {
  const as: ServiceCaller = { service: FARGATE_PRINCIPAL, accountId: account, region, invokedBy: EC2_FRONTEND };
  const context = { ...clusterContext(account, clusterName), "aws:ebs:id": volumeId };
  // Independent calls (the grant does not need the data key): made concurrently.
  const [genOutcome, grantOutcome] = await Promise.allSettled([
    kms.generateDataKeyWithoutPlaintext({ keyArn, encryptionContext: context, numberOfBytes: DATA_KEY_BYTES }, as),
    kms.createGrant(
      { keyArn, granteePrincipal: regionalFargate(region), operations: ["Decrypt"], encryptionContextSubset: context, retiringPrincipal: `ec2.${region}.amazonaws.com` },
      as,
    ),
  ]);
  if (genOutcome.status === "rejected") {
    if (grantOutcome.status === "fulfilled") await retireVolumeGrant(kms, keyArn, region, account, grantOutcome.value.grantId).catch(() => undefined);
    throw genOutcome.reason;
  }
  if (grantOutcome.status === "rejected") throw grantOutcome.reason;
  return { encryptedDataKey: genOutcome.value.ciphertextBlob, grantId: grantOutcome.value.grantId, grantToken: grantOutcome.value.grantToken };
}

/** Step 4: Decrypt through the grant, as the grantee. The plaintext stays in memory. */
export async function decryptVolumeKey(
  kms: FargateKms,
  keyArn: string,
  region: string,
  account: string,
  clusterName: string,
  volumeId: string,
  encryptedDataKey: Buffer,
  grantToken: string,
): Promise<Buffer> {
  const out = await kms.decrypt(
    { keyArn, ciphertextBlob: encryptedDataKey, encryptionContext: { ...clusterContext(account, clusterName), "aws:ebs:id": volumeId }, grantTokens: [grantToken] },
    { service: regionalFargate(region), accountId: account, region, invokedBy: FARGATE_PRINCIPAL },
  );
  return out.plaintext;
}

/** Step 6: the grant is retired by the retiring principal when the volume goes away. */
export async function retireVolumeGrant(kms: FargateKms, keyArn: string, region: string, account: string, grantId: string): Promise<void> {
  await kms.retireGrant({ keyArn, grantId }, { service: `ec2.${region}.amazonaws.com`, accountId: account, region, invokedBy: "AWS Internal" });
}
