/**
 * Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and the grant
 * tokens every grant-aware operation accepts. Grants take effect immediately (AWS is eventually
 * consistent; tokens exist to bridge that, so they are validated but not needed here).
 */
import { randomBytes } from "node:crypto";
import type {
  CreateGrantRequest,
  CreateGrantResponse,
  GrantListEntry,
  ListGrantsRequest,
  ListGrantsResponse,
  ListRetirableGrantsRequest,
  RetireGrantRequest,
  RevokeGrantRequest,
} from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import type { AuthCheck, OperationDef, RequestContext } from "../types.ts";
import { setKeyResources, type Kms } from "./core.ts";
import { dateKey, indexPageOf, pageOf } from "./paging.ts";
import { grantIsForAwsResource, iamCheck, keyCheck, principalMatches, type Ctx } from "./policy.ts";
import { resolveKey, scopeOf } from "./resolve.ts";
import { checkKeyState, err, GRANT_ID_RE, type GrantConstraintsRecord, type GrantRecord, type KeyRecord, retirableScope } from "./state.ts";

const TOKEN_VERSION = 0x01;

export function invalidGrantToken(): ServiceError {
  return new ServiceError("InvalidGrantTokenException", "The grant token is not valid.", 400);
}

function invalidGrantId(id: string): ServiceError {
  return new ServiceError("InvalidGrantIdException", `Invalid grant ID '${id}'.`, 400);
}

function grantNotFound(id: string): ServiceError {
  return new ServiceError("NotFoundException", `Grant ID ${id} does not exist.`, 400);
}

/** A new, opaque grant token for a grant: version, grant id, a random nonce (base64). */
export function newGrantToken(grantId: string): string {
  return Buffer.concat([Buffer.from([TOKEN_VERSION]), Buffer.from(grantId, "hex"), randomBytes(32)]).toString("base64");
}

/** The grant id a token names; a token KMS did not issue → InvalidGrantTokenException. */
export function parseGrantToken(token: string): string {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(token)) throw invalidGrantToken();
  const b = Buffer.from(token, "base64");
  if (b.length !== 65 || b[0] !== TOKEN_VERSION) throw invalidGrantToken();
  return b.subarray(1, 33).toString("hex");
}

/** GrantTokens are accepted by every grant-aware operation: each must be a token KMS issued. */
export function checkGrantTokens(tokens: string[] | undefined): void {
  for (const t of tokens ?? []) parseGrantToken(t);
}

const COMMON_OPS = ["CreateGrant", "RetireGrant", "DescribeKey"];

/** The grant operations a key of this type supports. */
export function grantOperationsFor(key: KeyRecord): Set<string> {
  const ops = new Set(COMMON_OPS);
  const add = (...o: string[]) => o.forEach((x) => ops.add(x));
  switch (key.keyUsage) {
    case "ENCRYPT_DECRYPT":
      add("Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo");
      if (key.keySpec === "SYMMETRIC_DEFAULT") add("GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext");
      else add("GetPublicKey");
      break;
    case "SIGN_VERIFY":
      add("Sign", "Verify", "GetPublicKey");
      break;
    case "GENERATE_VERIFY_MAC":
      add("GenerateMac", "VerifyMac");
      break;
    case "KEY_AGREEMENT":
      add("DeriveSharedSecret", "GetPublicKey");
      break;
  }
  return ops;
}

function constraintContext(c: GrantConstraintsRecord | undefined): Record<string, string> | undefined {
  if (!c) return undefined;
  const ec = { ...(c.EncryptionContextSubset ?? {}), ...(c.EncryptionContextEquals ?? {}) };
  return Object.keys(ec).length ? ec : undefined;
}

function normConstraints(c: CreateGrantRequest["Constraints"]): GrantConstraintsRecord | undefined {
  if (!c) return undefined;
  const out: GrantConstraintsRecord = {};
  if (c.EncryptionContextSubset) out.EncryptionContextSubset = { ...c.EncryptionContextSubset };
  if (c.EncryptionContextEquals) out.EncryptionContextEquals = { ...c.EncryptionContextEquals };
  return out.EncryptionContextSubset || out.EncryptionContextEquals ? out : undefined;
}

/** A child grant (made through a grant for CreateGrant) must be no wider than its parent. */
function noWider(parent: GrantRecord, ops: string[], child: GrantConstraintsRecord | undefined): boolean {
  if (!ops.every((o) => parent.operations.includes(o))) return false;
  const pc = parent.constraints;
  if (!pc) return true;
  if (!child) return false;
  if (pc.EncryptionContextEquals) {
    return !!child.EncryptionContextEquals && !child.EncryptionContextSubset && sameMap(pc.EncryptionContextEquals, child.EncryptionContextEquals);
  }
  if (pc.EncryptionContextSubset) {
    const c = child.EncryptionContextEquals ?? child.EncryptionContextSubset ?? {};
    return Object.entries(pc.EncryptionContextSubset).every(([k, v]) => c[k] === v);
  }
  return true;
}

function sameMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && [...a].sort().join(",") === [...b].sort().join(",");
}

const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|user\/.+|role\/.+|assumed-role\/.+|federated-user\/.+)$/;

function validatePrincipal(member: string, v: string): void {
  if (/^\d{12}$/.test(v) || PRINCIPAL_ARN.test(v) || SERVICE_PRINCIPAL.test(v)) return;
  throw err.validation(`${member} '${v}' is not a valid principal: specify an IAM principal ARN, an AWS account ID or an AWS service principal.`);
}

function entry(g: GrantRecord): GrantListEntry {
  return {
    KeyId: g.keyArn,
    GrantId: g.grantId,
    Name: g.name,
    CreationDate: g.creationDate,
    GranteePrincipal: g.granteePrincipal,
    RetiringPrincipal: g.retiringPrincipal,
    IssuingAccount: `arn:aws:iam::${g.issuingAccount}:root`,
    Operations: [...g.operations] as GrantListEntry["Operations"],
    Constraints: g.constraints ? { ...g.constraints } : undefined,
  };
}

/** RetireGrant: who may retire (docs/kms.md#grants). Returns the check, or throws AccessDenied. */
function retireCheck(ctx: RequestContext, g: GrantRecord): AuthCheck {
  const p = ctx.principal;
  const base: AuthCheck = { action: "kms:RetireGrant", resource: g.keyArn };
  if (principalMatches(p, g.retiringPrincipal) || (g.operations.includes("RetireGrant") && principalMatches(p, g.granteePrincipal))) {
    // the grant itself is the permission; IAM policies can still deny
    return { ...base, grantAllows: () => true };
  }
  if (p.type !== "AWSService" && p.accountId === g.issuingAccount) return base; // the account that created the grant (IAM decides)
  throw new ServiceError(
    "AccessDeniedException",
    `User: ${p.arn} is not authorized to perform: kms:RetireGrant on resource: ${g.keyArn} because it is neither the retiring principal nor a grantee allowed to retire the grant`,
    400,
  );
}

export function grantOperations(kms: Kms): Record<string, OperationDef> {
  const { state } = kms;

  function grantFromRetireInput(ctx: RequestContext, input: RetireGrantRequest): GrantRecord {
    if (input.GrantToken !== undefined) {
      const id = parseGrantToken(input.GrantToken);
      if (input.GrantId !== undefined && input.GrantId !== id) throw invalidGrantId(input.GrantId);
      const g = state.grants.get(id);
      // a grant token is honoured only in its key's Region (KMS is a Regional service)
      if (!g || state.keys.get(g.keyArn)?.region !== ctx.region) throw grantNotFound(id);
      return g;
    }
    if (input.KeyId === undefined || input.GrantId === undefined) {
      throw err.validation("Either a GrantToken or both KeyId and GrantId must be specified.");
    }
    const { key } = resolveKey(state, scopeOf(ctx), input.KeyId, { aliases: false });
    if (!GRANT_ID_RE.test(input.GrantId)) throw invalidGrantId(input.GrantId);
    const g = state.grants.get(input.GrantId);
    if (!g || g.keyArn !== key.arn) throw grantNotFound(input.GrantId);
    return g;
  }

  function createGrantContext(ctx: RequestContext, input: CreateGrantRequest): Ctx {
    const c = input.Constraints;
    return {
      "kms:GrantOperations": [...(input.Operations ?? [])],
      "kms:GranteePrincipal": input.GranteePrincipal,
      "kms:RetiringPrincipal": input.RetiringPrincipal,
      "kms:GrantIsForAWSResource": grantIsForAwsResource(ctx),
      "kms:GrantConstraintType": c?.EncryptionContextEquals ? "EncryptionContextEquals" : c?.EncryptionContextSubset ? "EncryptionContextSubset" : undefined,
    };
  }

  return {
    CreateGrant: {
      readOnly: false,
      authorize(ctx, input: CreateGrantRequest) {
        checkGrantTokens(input.GrantTokens);
        const { key } = resolveKey(state, scopeOf(ctx), input.KeyId!, { aliases: false });
        const ops = input.Operations ?? [];
        const constraints = normConstraints(input.Constraints);
        return keyCheck(ctx, state, key, "CreateGrant", {
          context: createGrantContext(ctx, input),
          encryptionContext: constraintContext(constraints),
          grantOperation: "CreateGrant",
          grantFilter: (parent) => noWider(parent, ops, constraints),
        });
      },
      handler(ctx, input: CreateGrantRequest): CreateGrantResponse {
        const { key } = resolveKey(state, scopeOf(ctx), input.KeyId!, { aliases: false });
        setKeyResources(ctx, key);
        checkKeyState(key, "use");
        const ops = [...new Set(input.Operations ?? [])];
        if (ops.length === 0) throw err.validation("1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1");
        const supported = grantOperationsFor(key);
        const bad = ops.filter((o) => !supported.has(o));
        if (bad.length) {
          throw err.validation(`Grant operations [${bad.join(", ")}] are not supported for a KMS key with KeySpec ${key.keySpec} and KeyUsage ${key.keyUsage}.`);
        }
        validatePrincipal("GranteePrincipal", input.GranteePrincipal!);
        if (input.RetiringPrincipal !== undefined) validatePrincipal("RetiringPrincipal", input.RetiringPrincipal);
        const constraints = normConstraints(input.Constraints);
        if (constraints?.EncryptionContextEquals && constraints.EncryptionContextSubset) {
          throw err.validation("A grant can have either an EncryptionContextEquals or an EncryptionContextSubset constraint, not both.");
        }
        if (constraints && key.keySpec !== "SYMMETRIC_DEFAULT") {
          throw err.validation("Encryption context grant constraints are supported only on symmetric encryption KMS keys.");
        }
        // Name idempotency: the same name and parameters return the original grant, with a new token.
        if (input.Name !== undefined) {
          for (const g of state.grantsForKey(key.arn)) {
            if (
              g.name === input.Name &&
              g.granteePrincipal === input.GranteePrincipal &&
              g.retiringPrincipal === input.RetiringPrincipal &&
              sameList(g.operations, ops) &&
              JSON.stringify(g.constraints ?? null) === JSON.stringify(constraints ?? null)
            ) {
              if (input.DryRun) throw err.dryRun();
              return { GrantId: g.grantId, GrantToken: newGrantToken(g.grantId) };
            }
          }
        }
        if (state.grantCount(key.arn) >= kms.options.maxGrantsPerKey) {
          throw new ServiceError("LimitExceededException", `The request was rejected because the KMS key ${key.arn} already has the maximum number of grants (${kms.options.maxGrantsPerKey}).`, 400);
        }
        if (input.DryRun) throw err.dryRun();
        const g: GrantRecord = {
          grantId: randomBytes(32).toString("hex"),
          keyArn: key.arn,
          issuingAccount: key.accountId,
          name: input.Name,
          creationDate: ctx.now,
          granteePrincipal: input.GranteePrincipal!,
          retiringPrincipal: input.RetiringPrincipal,
          operations: ops,
          constraints,
        };
        state.addGrant(g);
        ctx.writes.push(kms.putGrant(g));
        return { GrantId: g.grantId, GrantToken: newGrantToken(g.grantId) };
      },
      responseElements: (out: CreateGrantResponse, _in, ctx) => ({ grantId: out.GrantId, keyId: ctx.audit.resources?.[0]?.ARN }),
    },

    ListGrants: {
      readOnly: true,
      authorize(ctx, input: ListGrantsRequest) {
        const { key } = resolveKey(state, scopeOf(ctx), input.KeyId!, { aliases: false });
        return keyCheck(ctx, state, key, "ListGrants", { context: { "kms:GrantIsForAWSResource": grantIsForAwsResource(ctx) } });
      },
      handler(ctx, input: ListGrantsRequest): ListGrantsResponse {
        const { key } = resolveKey(state, scopeOf(ctx), input.KeyId!, { aliases: false });
        setKeyResources(ctx, key);
        if (input.Limit !== undefined && input.Limit > 100) {
          throw err.validation(`1 validation error detected: Value '${input.Limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100`);
        }
        if (input.GrantId !== undefined && !GRANT_ID_RE.test(input.GrantId)) throw invalidGrantId(input.GrantId);
        const grantee = input.GranteePrincipal === undefined ? undefined : (g: GrantRecord) => g.granteePrincipal === input.GranteePrincipal;
        let page;
        if (input.GrantId !== undefined) {
          // one grant at most: look it up rather than walk the key's grants
          const g = state.grants.get(input.GrantId);
          const list = g && g.keyArn === key.arn && (!grantee || grantee(g)) ? [g] : [];
          page = pageOf(list, (x) => dateKey(x.creationDate, x.grantId), input.Limit, input.Marker, 50);
        } else {
          page = indexPageOf(state.grants.index("byKey"), key.arn, input.Limit, input.Marker, 50, grantee);
        }
        return { Grants: page.items.map(entry), NextMarker: page.NextMarker, Truncated: page.Truncated };
      },
    },

    ListRetirableGrants: {
      readOnly: true,
      authorize: () => iamCheck("ListRetirableGrants"),
      handler(ctx, input: ListRetirableGrantsRequest): ListGrantsResponse {
        const rp = input.RetiringPrincipal!;
        const p = ctx.principal;
        const account = /^\d{12}$/.test(rp) ? rp : /^arn:[^:]+:(iam|sts)::(\d{12}):/.exec(rp)?.[2];
        if (account === undefined ? p.type !== "AWSService" || p.arn !== rp : account !== p.accountId) {
          throw err.validation(`RetiringPrincipal '${rp}' must be a principal in your AWS account.`);
        }
        if (input.Limit !== undefined && input.Limit > 100) {
          throw err.validation(`1 validation error detected: Value '${input.Limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100`);
        }
        const page = indexPageOf(state.grants.index("byRetiringPrincipal"), retirableScope(rp, ctx.region), input.Limit, input.Marker, 50);
        return { Grants: page.items.map(entry), NextMarker: page.NextMarker, Truncated: page.Truncated };
      },
    },

    RetireGrant: {
      readOnly: false,
      authorize(ctx, input: RetireGrantRequest) {
        return retireCheck(ctx, grantFromRetireInput(ctx, input));
      },
      handler(ctx, input: RetireGrantRequest) {
        const g = grantFromRetireInput(ctx, input);
        const key = state.keys.get(g.keyArn);
        if (key) setKeyResources(ctx, key);
        ctx.audit.requestParameters = null;
        ctx.audit.additionalEventData = { grantId: g.grantId };
        if (input.DryRun) throw err.dryRun();
        state.removeGrant(g);
        ctx.writes.push(kms.delGrant(g.grantId));
        ctx.audit.responseElements = { keyId: g.keyArn };
        return {};
      },
      requestParameters: () => null,
    },

    RevokeGrant: {
      readOnly: false,
      authorize(ctx, input: RevokeGrantRequest) {
        const { key } = resolveKey(state, scopeOf(ctx), input.KeyId!, { aliases: false });
        return keyCheck(ctx, state, key, "RevokeGrant", { context: { "kms:GrantIsForAWSResource": grantIsForAwsResource(ctx) } });
      },
      handler(ctx, input: RevokeGrantRequest) {
        const { key } = resolveKey(state, scopeOf(ctx), input.KeyId!, { aliases: false });
        setKeyResources(ctx, key);
        if (!GRANT_ID_RE.test(input.GrantId!)) throw invalidGrantId(input.GrantId!);
        const g = state.grants.get(input.GrantId!);
        if (!g || g.keyArn !== key.arn) throw grantNotFound(input.GrantId!);
        if (input.DryRun) throw err.dryRun();
        state.removeGrant(g);
        ctx.writes.push(kms.delGrant(g.grantId));
        return {};
      },
    },
  };
}


