/**
 * AWS managed keys (`aws/secretsmanager`, `aws/ssm`): KMS creates one per account, Region and
 * service the first time the service needs it, with the alias `alias/aws/<service>` and a key
 * policy that lets every principal of the account use it only through that service
 * (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#aws-managed-key and
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html).
 * AWS rotates them every year. The key and its policy are aws-managed-keys.ts's, as for the key
 * behind any predefined alias.
 */
import type { Kms } from "./core.ts";
import { awsManagedKeyRecord } from "./aws-managed-keys.ts";
import { freshMaterial } from "./keys.ts";
import { aliasArn, type AliasRecord } from "./state.ts";

export type AwsManagedService = "secretsmanager" | "ssm";

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
  const key = awsManagedKeyRecord(accountId, region, awsManagedAlias(service), now);
  const arn = key.arn;
  const m = await freshMaterial(kms, key, now);
  key.materials.push(m);
  key.currentMaterialId = m.id;
  const a: AliasRecord = { aliasName: awsManagedAlias(service), aliasArn: alias, accountId, region, targetKeyArn: arn, creationDate: now, lastUpdatedDate: now };
  await kms.app.store.commit([kms.putKey(key), kms.putAlias(a)]);
  kms.state.keys.set(arn, key);
  kms.state.aliases.set(alias, a);
  return arn;
}
