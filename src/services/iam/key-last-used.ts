/**
 * When, where and with which service an access key was last used: the newer of what IAM and STS
 * note on the key themselves (AccessKeyRec.lastUsed) and the key's newest call to any service in
 * the CloudTrail event store, so a key that only ever called KMS or ECS shows that use
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccessKeyLastUsed.html).
 */
import type { IamEnv, KeyLastUsed } from "./ops.ts";
import type { AccessKeyRec } from "./state.ts";

export async function keysLastUsed(env: IamEnv, keys: readonly AccessKeyRec[]): Promise<Map<string, KeyLastUsed>> {
  const trail = keys.length && env.keyUseInTrail ? await env.keyUseInTrail(keys.map((k) => k.id)) : new Map<string, KeyLastUsed>();
  const out = new Map<string, KeyLastUsed>();
  for (const k of keys) {
    const noted = k.lastUsed ? { date: new Date(k.lastUsed.date), service: k.lastUsed.service, region: k.lastUsed.region } : undefined;
    const seen = trail.get(k.id);
    const newer = noted && seen ? (seen.date.getTime() > noted.date.getTime() ? seen : noted) : (seen ?? noted);
    if (newer) out.set(k.id, newer);
  }
  return out;
}
