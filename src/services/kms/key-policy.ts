/**
 * Key policies and the authorization each KMS operation declares: the default key policy
 * (AWS's exact text, docs/kms.md#authorization), policy validation and the lockout safety check, the AuthCheck for
 * an operation on a key (key policy authoritative, KMS condition keys, grants), and grant
 * matching (grantee, operation, encryption-context constraints).
 */
import { ServiceError } from "../../kernel/errors.ts";
import { compilePolicy, type ContextValue } from "../../policy/index.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck } from "../../kernel/operation.ts";
import type { Principal } from "../../kernel/principal.ts";
import type { GrantRecord, KeyRecord, KmsState } from "./state.ts";

/** The policy KMS attaches when CreateKey has no Policy (exact text AWS returns). */
export function defaultKeyPolicy(accountId: string): string {
  return `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::${accountId}:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`;
}

/** AWS's key policy size quota (32 KB). */
export const MAX_KEY_POLICY_BYTES = 32 * 1024;

function malformed(message: string): ServiceError {
  return new ServiceError("MalformedPolicyDocumentException", message, 400);
}

/** Parses and compiles a key policy; any defect → MalformedPolicyDocumentException. */
export function validateKeyPolicy(doc: string): void {
  if (Buffer.byteLength(doc, "utf8") > MAX_KEY_POLICY_BYTES) {
    throw new ServiceError("LimitExceededException", `Key policy exceeds the maximum size of ${MAX_KEY_POLICY_BYTES} bytes.`, 400);
  }
  try {
    JSON.parse(doc);
  } catch {
    throw malformed("The policy is not valid JSON.");
  }
  try {
    compilePolicy(doc, "resource");
  } catch (e) {
    throw malformed(e instanceof Error && e.message ? e.message : "The policy is not valid.");
  }
}

/**
 * The lockout safety check: the new policy must let the caller make a later PutKeyPolicy call
 * on the key (evaluated with the caller's identity policies, SCPs etc. exactly like a request).
 */
export function lockoutCheck(ctx: RequestContext, key: Pick<KeyRecord, "arn" | "accountId">, policy: string): void {
  try {
    ctx.app.simulateAuthorization(ctx, [
      { action: "kms:PutKeyPolicy", resource: key.arn, resourcePolicy: { document: policy, kind: "resource", ownerAccountId: key.accountId, authoritative: true } },
    ]);
  } catch (e) {
    if (e instanceof ServiceError && (e.code === "AccessDeniedException" || e.code === "AccessDenied")) {
      throw malformed("The new key policy will not allow you to update the key policy in the future.");
    }
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// condition keys

export type Ctx = Record<string, ContextValue | undefined>;

export function encryptionContextKeys(ec: Record<string, string> | undefined): Ctx {
  const out: Ctx = {};
  const keys = Object.keys(ec ?? {});
  for (const k of keys) out[`kms:EncryptionContext:${k}`] = ec![k];
  if (keys.length) out["kms:EncryptionContextKeys"] = keys;
  return out;
}

/** kms:GrantIsForAWSResource: true only when an AWS service makes the call. */
export function grantIsForAwsResource(ctx: RequestContext): boolean {
  return ctx.principal.type === "AWSService" || !!ctx.viaService;
}

/**
 * kms:ViaService names the calling service's regional endpoint ("ecs.us-west-2.amazonaws.com"):
 * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
 */
export function viaServiceEndpoint(ctx: RequestContext): string | undefined {
  const via = ctx.viaService;
  if (!via) return undefined;
  const name = via.endsWith(".amazonaws.com") ? via.slice(0, -".amazonaws.com".length) : via;
  return `${name}.${ctx.region}.amazonaws.com`;
}

function keyContext(ctx: RequestContext, state: KmsState, key: KeyRecord, alias: string | undefined): Ctx {
  const aliases = state.aliasesForKey(key.arn).map((a) => a.aliasName);
  return {
    "kms:CallerAccount": ctx.principal.accountId,
    "kms:ViaService": viaServiceEndpoint(ctx),
    "kms:KeySpec": key.keySpec,
    "kms:KeyUsage": key.keyUsage,
    "kms:KeyOrigin": key.origin,
    "kms:MultiRegion": key.multiRegion,
    "kms:MultiRegionKeyType": key.multiRegion ? (key.multiRegionKeyType ?? "PRIMARY") : undefined,
    "kms:RequestAlias": alias,
    "kms:ResourceAliases": aliases.length ? aliases : undefined,
  };
}

export interface KeyCheckOptions {
  /** the key named by alias: kms:RequestAlias */
  alias?: string;
  /** operation-specific condition keys */
  context?: Ctx;
  /** the request's encryption context (condition keys and grant constraints) */
  encryptionContext?: Record<string, string>;
  /** the grant operation that may authorize this call (absent: grants never do) */
  grantOperation?: string;
  /** further test a matching grant must pass (CreateGrant: the child grant is no wider) */
  grantFilter?: (g: GrantRecord) => boolean;
}

/** The AuthCheck for `kms:<action>` on a key: key policy authoritative, grants as a third way. */
export function keyCheck(ctx: RequestContext, state: KmsState, key: KeyRecord, action: string, o: KeyCheckOptions = {}): AuthCheck {
  // The condition keys and tags are built only if a policy looks one up (authorize.ts).
  return {
    action: `kms:${action}`,
    resource: key.arn,
    resourcePolicy: { document: key.policy, kind: "resource", ownerAccountId: key.accountId, authoritative: true },
    get context(): Ctx {
      return { ...keyContext(ctx, state, key, o.alias), ...encryptionContextKeys(o.encryptionContext), ...(o.context ?? {}) };
    },
    get resourceTags(): Record<string, string> {
      const tags: Record<string, string> = {};
      for (const t of key.tags) if (t.TagKey !== undefined) tags[t.TagKey] = t.TagValue ?? "";
      return tags;
    },
    grantAllows: o.grantOperation ? () => grantsAllow(state, ctx.principal, key, o.grantOperation!, o.encryptionContext, o.grantFilter) : undefined,
  };
}

/** The AuthCheck for an IAM-only action (resource "*"): CreateKey, ListKeys, ListAliases, GenerateRandom... */
export function iamCheck(action: string, context?: Ctx, resource = "*"): AuthCheck {
  return { action: `kms:${action}`, resource, context };
}

// ---------------------------------------------------------------------------------------------
// grants

/** The names a grant's GranteePrincipal / RetiringPrincipal may use for this caller. */
export function principalNames(p: Principal): string[] {
  if (p.type === "AWSService") return [p.arn];
  const names = [p.arn];
  if (p.type === "AssumedRole" && p.session?.roleArn) names.push(p.session.roleArn);
  if (p.type === "Root") names.push(p.accountId);
  return names;
}

export function principalMatches(p: Principal, name: string | undefined): boolean {
  if (!name) return false;
  return principalNames(p).includes(name);
}

/** Does the request's encryption context satisfy the grant's constraints? */
export function constraintsSatisfied(g: GrantRecord, ec: Record<string, string> | undefined): boolean {
  const c = g.constraints;
  if (!c) return true;
  const req = ec ?? {};
  if (c.EncryptionContextEquals) {
    const want = c.EncryptionContextEquals;
    const wk = Object.keys(want);
    const rk = Object.keys(req);
    if (wk.length !== rk.length) return false;
    for (const k of wk) if (req[k] !== want[k]) return false;
  }
  if (c.EncryptionContextSubset) {
    for (const [k, v] of Object.entries(c.EncryptionContextSubset)) if (req[k] !== v) return false;
  }
  return true;
}

/** Operations whose requests carry an encryption context; constraints are ignored for the others. */
const EC_OPERATIONS = new Set([
  "Encrypt",
  "Decrypt",
  "ReEncryptFrom",
  "ReEncryptTo",
  "GenerateDataKey",
  "GenerateDataKeyWithoutPlaintext",
  "GenerateDataKeyPair",
  "GenerateDataKeyPairWithoutPlaintext",
]);

export function grantsAllow(
  state: KmsState,
  p: Principal,
  key: KeyRecord,
  operation: string,
  ec: Record<string, string> | undefined,
  filter?: (g: GrantRecord) => boolean,
): boolean {
  for (const g of state.grantsForKey(key.arn)) {
    if (!g.operations.includes(operation)) continue;
    if (!principalMatches(p, g.granteePrincipal)) continue;
    if (EC_OPERATIONS.has(operation) && !constraintsSatisfied(g, ec)) continue;
    if (filter && !filter(g)) continue;
    return true;
  }
  return false;
}
