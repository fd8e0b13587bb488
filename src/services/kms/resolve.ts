/**
 * KeyId resolution as KMS does it: key ID, key ARN, alias name or alias ARN (where the
 * operation accepts aliases), relative to the caller's account and the request's region.
 *
 *   - malformed value                       → NotFoundException "Invalid keyId '<v>'"
 *   - ARN for another region                → NotFoundException "Invalid arn <arn region>"
 *   - well-formed id/ARN with no key        → NotFoundException "Key '<key arn>' does not exist"
 *   - alias that does not exist             → NotFoundException "Alias <alias arn> is not found."
 *   - key of another account, for an operation with no cross-account use (cross-account.ts)
 *                                           → NotFoundException "Key '<key arn>' does not exist"
 */
import type { RequestContext } from "../../kernel/context.ts";
import { namingKeys } from "./core.ts";
import { allowsCrossAccountUse } from "./cross-account.ts";
import { aliasArn, err, isKeyId, keyArn, KMS_ARN_RE, type AliasRecord, type KeyRecord, type KmsState } from "./state.ts";

export interface Resolved {
  key: KeyRecord;
  /** the alias name when the caller named the key by alias (kms:RequestAlias) */
  alias?: string;
}

export interface Scope {
  accountId: string;
  region: string;
}

export function scopeOf(ctx: RequestContext): Scope {
  return { accountId: ctx.principal.accountId, region: ctx.region };
}

/**
 * The key a KeyId names in the caller's account and the request's Region; a key ARN (or alias
 * ARN) of another account only where the call's operation has cross-account use.
 */
export function keyOf(state: KmsState, ctx: RequestContext, value: string, opts: { aliases: boolean }): Resolved {
  const r = resolveKey(state, scopeOf(ctx), value, opts);
  if (r.key.accountId !== ctx.principal.accountId && !allowsCrossAccountUse(ctx.operation)) {
    // an alias ARN of another account is not found as an alias: its key's ARN stays unsaid
    throw r.alias ? err.aliasNotFound(value.trim()) : err.notFoundKey(r.key.arn);
  }
  return r;
}

/** keyOf, and the key is the call's CloudTrail resource from here on (core.ts `namingKeys`). */
export function namedKey(state: KmsState, ctx: RequestContext, value: string, opts: { aliases: boolean }): Resolved {
  const r = keyOf(state, ctx, value, opts);
  return namingKeys(ctx, r, r.key);
}

/** Resolves a KeyId; `aliases: false` for operations that take only a key ID or key ARN. */
export function resolveKey(state: KmsState, scope: Scope, value: string, opts: { aliases: boolean }): Resolved {
  const v = value.trim();
  if (v.startsWith("arn:")) {
    const m = KMS_ARN_RE.exec(v);
    if (!m) throw err.invalidKeyId(value);
    const [, , region, , type, rest] = m;
    if (type === "alias") {
      if (!opts.aliases) throw err.invalidKeyId(value);
      if (region !== scope.region) throw err.invalidArnRegion(region);
      const alias = state.aliases.get(v);
      if (!alias) throw err.aliasNotFound(v);
      return { key: aliasTarget(state, alias), alias: alias.aliasName };
    }
    if (!isKeyId(rest)) throw err.invalidKeyId(value);
    if (region !== scope.region) throw err.invalidArnRegion(region);
    const key = state.keys.get(v);
    if (!key) throw err.notFoundKey(v);
    return { key };
  }
  if (v.startsWith("alias/")) {
    if (!opts.aliases) throw err.invalidKeyId(value);
    const arn = aliasArn(scope.region, scope.accountId, v);
    const alias = state.aliases.get(arn);
    if (!alias) throw err.aliasNotFound(arn);
    return { key: aliasTarget(state, alias), alias: alias.aliasName };
  }
  if (!isKeyId(v)) throw err.invalidKeyId(value);
  const arn = keyArn(scope.region, scope.accountId, v);
  const key = state.keys.get(arn);
  if (!key) throw err.notFoundKey(arn);
  return { key };
}

function aliasTarget(state: KmsState, alias: AliasRecord): KeyRecord {
  const key = state.keys.get(alias.targetKeyArn);
  if (!key) throw err.notFoundKey(alias.targetKeyArn);
  return key;
}
