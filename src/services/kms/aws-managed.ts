/**
 * AWS managed keys (`aws/secretsmanager`, `aws/ssm`): KMS creates one per account, Region and
 * service the first time the service needs it, with the alias `alias/aws/<service>` and a key
 * policy that lets every principal of the account use it only through that service
 * (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key and
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
 * AWS rotates them every year.
 */
import { randomUUID } from "node:crypto";
import type { Kms } from "./core.ts";
import { freshMaterial, DAY_MS } from "./keys.ts";
import { aliasArn, keyArn, type AliasRecord, type KeyRecord } from "./state.ts";

export type AwsManagedService = "secretsmanager" | "ssm";

const DESCRIPTIONS: Record<AwsManagedService, string> = {
  secretsmanager: "Default key that protects my Secrets Manager data when no other key is defined",
  ssm: "Default key that protects my SSM parameters when no other key is defined",
};

const SERVICE_NAMES: Record<AwsManagedService, string> = { secretsmanager: "AWS Secrets Manager", ssm: "AWS Systems Manager" };

/** The key policy of an AWS managed key: use only through the service, for callers of the account; metadata for the account. */
export function awsManagedKeyPolicy(service: AwsManagedService, accountId: string, region: string): string {
  const via = `${service}.${region}.amazonaws.com`;
  const who = `Allow access through ${SERVICE_NAMES[service]} for all principals in the account that are authorized to use ${SERVICE_NAMES[service]}`;
  return JSON.stringify(
    {
      Version: "2012-10-17",
      Id: `auto-${service}-1`,
      Statement: [
        {
          Sid: who,
          Effect: "Allow",
          Principal: { AWS: "*" },
          Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
          Resource: "*",
          Condition: { StringEquals: { "kms:CallerAccount": accountId, "kms:ViaService": via } },
        },
        {
          Sid: "Allow direct access to key metadata to the account",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
          Resource: "*",
        },
      ],
    },
    null,
    2,
  );
}

export function awsManagedAlias(service: AwsManagedService): string {
  return `alias/aws/${service}`;
}

/** Creations in flight, per KMS instance (several servers may run in one process, as in tests). */
const creating = new WeakMap<Kms, Map<string, Promise<string>>>();

/**
 * The ARN of the account's AWS managed key for `service` in `region`, created (with its alias)
 * and made durable on first use. Concurrent first uses share one creation.
 */
export function ensureAwsManagedKey(kms: Kms, service: AwsManagedService, accountId: string, region: string): Promise<string> {
  const alias = aliasArn(region, accountId, awsManagedAlias(service));
  const existing = kms.state.aliases.get(alias);
  if (existing) return Promise.resolve(existing.targetKeyArn);
  let inFlight = creating.get(kms);
  if (!inFlight) creating.set(kms, (inFlight = new Map()));
  const pending = inFlight.get(alias);
  if (pending) return pending;
  const made = createAwsManagedKey(kms, service, accountId, region, alias).finally(() => inFlight.delete(alias));
  inFlight.set(alias, made);
  return made;
}

async function createAwsManagedKey(kms: Kms, service: AwsManagedService, accountId: string, region: string, alias: string): Promise<string> {
  const now = kms.app.clock.now();
  const keyId = randomUUID();
  const arn = keyArn(region, accountId, keyId);
  const key: KeyRecord = {
    keyId,
    arn,
    accountId,
    region,
    creationDate: now,
    description: DESCRIPTIONS[service],
    keyUsage: "ENCRYPT_DECRYPT",
    keySpec: "SYMMETRIC_DEFAULT",
    origin: "AWS_KMS",
    state: "Enabled",
    multiRegion: false,
    policy: awsManagedKeyPolicy(service, accountId, region),
    tags: [],
    materials: [],
    rotationEnabled: true,
    rotationPeriodInDays: 365,
    nextRotationDate: new Date(now.getTime() + 365 * DAY_MS),
    onDemandRotations: 0,
    keyManager: "AWS",
  };
  const m = await freshMaterial(kms, key, now);
  key.materials.push(m);
  key.currentMaterialId = m.id;
  const a: AliasRecord = { aliasName: awsManagedAlias(service), aliasArn: alias, accountId, region, targetKeyArn: arn, creationDate: now, lastUpdatedDate: now };
  await kms.app.store.commit([kms.putKey(key), kms.putAlias(a)]);
  kms.state.keys.set(arn, key);
  kms.state.aliases.set(alias, a);
  return arn;
}
