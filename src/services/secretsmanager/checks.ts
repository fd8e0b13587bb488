/**
 * What Secrets Manager operations authorize and validate: `secretsmanager:<Action>` on the
 * secret's ARN with its resource policy (a resource-based policy, not authoritative on its own
 * for callers of the owning account) and its tags as resource tags
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html);
 * and the input rules AWS checks beyond the model's shapes.
 */
import type { Tag } from "@aws-sdk/client-secrets-manager";
import type { AuthCheck } from "../../kernel/operation.ts";
import { checkTagKeys, checkTags, requestTagContext, type TagRules } from "../../kernel/tags.ts";
import type { ContextValue } from "../../policy/index.ts";
import { err, type SecretTarget } from "./state.ts";

export function secretCheck(action: string, t: SecretTarget, context: Record<string, ContextValue | undefined> = {}): AuthCheck {
  const s = t.secret;
  return {
    action: `secretsmanager:${action}`,
    resource: t.arn,
    resourcePolicy: s?.policy ? { document: s.policy, kind: "resource", ownerAccountId: t.accountId, authoritative: false } : undefined,
    resourceTags: s ? Object.fromEntries(s.tags.map((x) => [x.Key!, x.Value ?? ""])) : undefined,
    // Secrets Manager also names the secret's tags under its own prefix (secretsmanager:ResourceTag/<key>)
    context: { "secretsmanager:SecretId": t.arn, ...Object.fromEntries((s?.tags ?? []).map((x) => [`secretsmanager:ResourceTag/${x.Key}`, x.Value ?? ""])), ...context },
  };
}

export function anyResourceCheck(action: string, context: Record<string, ContextValue | undefined> = {}): AuthCheck {
  return { action: `secretsmanager:${action}`, resource: "*", context };
}

/** The resolved target of a call that needs the secret to exist. */
export function existing(t: SecretTarget) {
  if (!t.secret) throw err.notFound();
  return t.secret;
}

/** A secret that is scheduled for deletion refuses everything but Describe, Restore, Delete and policies. */
export function live(t: SecretTarget) {
  const s = existing(t);
  if (s.deletedDate) throw err.markedForDeletion();
  return s;
}

const NAME_RE = /^[a-zA-Z0-9/_+=.@-]+$/;

export function checkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw err.invalidParameter("Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!");
  }
}

export function checkOneValue(i: { SecretString?: string; SecretBinary?: Uint8Array }): void {
  if (i.SecretString !== undefined && i.SecretBinary !== undefined) {
    throw err.invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
}

export const MAX_TAGS = 50;

export const SECRETS_TAG_RULES: TagRules<Tag> = {
  shape: { key: (t) => t.Key!, value: (t) => t.Value, make: (Key, Value) => ({ Key, Value: Value ?? "" }) },
  max: MAX_TAGS,
  requestCount: "merged",
  errors: {
    tooMany: () => err.invalidRequest(`The request failed because you exceeded the maximum of ${MAX_TAGS} tags on the secret.`),
    reserved: (k) => err.invalidParameter(`Invalid tag key: tag keys can't start with "aws:" (${k}).`),
    duplicate: (k) => err.invalidParameter(`Invalid tag: the tag key ${k} is given more than once.`),
  },
};

export function checkSecretTags(tags: Tag[] | undefined): void {
  for (const t of tags ?? []) {
    if (typeof t.Key !== "string" || t.Key.length === 0) throw err.invalidParameter("You must specify a Key for each tag.");
  }
  checkTags(SECRETS_TAG_RULES, tags);
}

export function checkSecretTagKeys(keys: string[] | undefined): void {
  checkTagKeys(SECRETS_TAG_RULES, keys);
}

export function requestTags(tags: Tag[] | undefined): Record<string, string | string[]> {
  return requestTagContext(SECRETS_TAG_RULES, tags);
}
