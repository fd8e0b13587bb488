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
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type AuthCheck } from "../../kernel/operation.ts";
import { keyResources, type Kms, type NoOutput } from "./core.ts";
import { dateKey, indexPageOf, pageOf } from "./paging.ts";
import { grantIsForAwsResource, iamCheck, keyCheck, principalMatches, type Ctx } from "./key-policy.ts";
import { keyOf, namedKey, type Resolved } from "./resolve.ts";
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

function grantFromRetireInput(kms: Kms, ctx: RequestContext, input: RetireGrantRequest): GrantRecord {
  const { state } = kms;
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
  const { key } = keyOf(state, ctx, input.KeyId, { aliases: false });
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

function createGrantOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<CreateGrantRequest, CreateGrantResponse, Resolved>({
    readOnly: false,
    resolve(ctx, i) {
      checkGrantTokens(i.GrantTokens);
      return namedKey(state, ctx, i.KeyId!, { aliases: false });
    },
    authorize(ctx, i, { key }) {
      const ops = i.Operations ?? [];
      const constraints = normConstraints(i.Constraints);
      return [
        keyCheck(ctx, state, key, "CreateGrant", {
          context: createGrantContext(ctx, i),
          encryptionContext: constraintContext(constraints),
          grantOperation: "CreateGrant",
          grantFilter: (parent) => noWider(parent, ops, constraints),
        }),
      ];
    },
    handler: function createGrant(ctx, i, { key }) {
      checkKeyState(key, "use");
      const ops = [...new Set(i.Operations ?? [])];
      if (ops.length === 0)
        throw err.validation("1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1");
      const supported = grantOperationsFor(key);
      const bad = ops.filter((o) => !supported.has(o));
      if (bad.length) {
        throw err.validation(`Grant operations [${bad.join(", ")}] are not supported for a KMS key with KeySpec ${key.keySpec} and KeyUsage ${key.keyUsage}.`);
      }
      validatePrincipal("GranteePrincipal", i.GranteePrincipal!);
      if (i.RetiringPrincipal !== undefined) validatePrincipal("RetiringPrincipal", i.RetiringPrincipal);
      const constraints = normConstraints(i.Constraints);
      if (constraints?.EncryptionContextEquals && constraints.EncryptionContextSubset) {
        throw err.validation("A grant can have either an EncryptionContextEquals or an EncryptionContextSubset constraint, not both.");
      }
      if (constraints && key.keySpec !== "SYMMETRIC_DEFAULT") {
        throw err.validation("Encryption context grant constraints are supported only on symmetric encryption KMS keys.");
      }
      // Name idempotency: the same name and parameters return the original grant, with a new token.
      if (i.Name !== undefined) {
        for (const g of state.grantsForKey(key.arn)) {
          if (
            g.name === i.Name &&
            g.granteePrincipal === i.GranteePrincipal &&
            g.retiringPrincipal === i.RetiringPrincipal &&
            sameList(g.operations, ops) &&
            JSON.stringify(g.constraints ?? null) === JSON.stringify(constraints ?? null)
          ) {
            if (i.DryRun) throw err.dryRun();
            return { GrantId: g.grantId, GrantToken: newGrantToken(g.grantId) };
          }
        }
      }
      if (state.grantCount(key.arn) >= kms.options.maxGrantsPerKey) {
        throw new ServiceError(
          "LimitExceededException",
          `The request was rejected because the KMS key ${key.arn} already has the maximum number of grants (${kms.options.maxGrantsPerKey}).`,
          400,
        );
      }
      if (i.DryRun) throw err.dryRun();
      const g: GrantRecord = {
        grantId: randomBytes(32).toString("hex"),
        keyArn: key.arn,
        issuingAccount: key.accountId,
        name: i.Name,
        creationDate: ctx.now,
        granteePrincipal: i.GranteePrincipal!,
        retiringPrincipal: i.RetiringPrincipal,
        operations: ops,
        constraints,
      };
      state.addGrant(g);
      ctx.writes.push(kms.putGrant(g));
      return { GrantId: g.grantId, GrantToken: newGrantToken(g.grantId) };
    },
    audit: { responseElements: (out) => ({ grantId: out.GrantId, keyId: state.grants.get(out.GrantId!)?.keyArn }) },
  });
}

function listGrantsOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ListGrantsRequest, ListGrantsResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "ListGrants", { context: { "kms:GrantIsForAWSResource": grantIsForAwsResource(ctx) } })],
    handler: function listGrants(_ctx, i, { key }) {
      if (i.Limit !== undefined && i.Limit > 100) {
        throw err.validation(`1 validation error detected: Value '${i.Limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100`);
      }
      if (i.GrantId !== undefined && !GRANT_ID_RE.test(i.GrantId)) throw invalidGrantId(i.GrantId);
      const grantee = i.GranteePrincipal === undefined ? undefined : (g: GrantRecord) => g.granteePrincipal === i.GranteePrincipal;
      let page;
      if (i.GrantId !== undefined) {
        // one grant at most: look it up rather than walk the key's grants
        const g = state.grants.get(i.GrantId);
        const list = g && g.keyArn === key.arn && (!grantee || grantee(g)) ? [g] : [];
        page = pageOf(list, (x) => dateKey(x.creationDate, x.grantId), i.Limit, i.Marker, 50);
      } else {
        page = indexPageOf(state.grants.index("byKey"), key.arn, i.Limit, i.Marker, 50, grantee);
      }
      return { Grants: page.items.map(entry), NextMarker: page.NextMarker, Truncated: page.Truncated };
    },
  });
}

function listRetirableGrantsOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ListRetirableGrantsRequest, ListGrantsResponse>({
    readOnly: true,
    authorize: () => [iamCheck("ListRetirableGrants")],
    handler: function listRetirableGrants(ctx, i) {
      const rp = i.RetiringPrincipal!;
      const p = ctx.principal;
      const account = /^\d{12}$/.test(rp) ? rp : /^arn:[^:]+:(iam|sts)::(\d{12}):/.exec(rp)?.[2];
      if (account === undefined ? p.type !== "AWSService" || p.arn !== rp : account !== p.accountId) {
        throw err.validation(`RetiringPrincipal '${rp}' must be a principal in your AWS account.`);
      }
      if (i.Limit !== undefined && i.Limit > 100) {
        throw err.validation(`1 validation error detected: Value '${i.Limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100`);
      }
      const page = indexPageOf(state.grants.index("byRetiringPrincipal"), retirableScope(rp, ctx.region), i.Limit, i.Marker, 50);
      return { Grants: page.items.map(entry), NextMarker: page.NextMarker, Truncated: page.Truncated };
    },
  });
}

/** The grant RetireGrant names and its key (absent only if the key is gone). */
interface ResolvedGrant {
  grant: GrantRecord;
  key?: KeyRecord;
}

function retireGrantOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<RetireGrantRequest, NoOutput, ResolvedGrant>({
    readOnly: false,
    resolve(ctx, i) {
      const grant = grantFromRetireInput(kms, ctx, i);
      return { grant, key: state.keys.get(grant.keyArn) };
    },
    authorize: (ctx, _i, { grant }) => [retireCheck(ctx, grant)],
    handler: function retireGrant(ctx, i, { grant, key }) {
      // named only once the caller may retire the grant: a refused caller's record does not show the key
      ctx.audit.resources = keyResources(ctx, [key]);
      ctx.audit.additionalEventData = { grantId: grant.grantId };
      if (i.DryRun) throw err.dryRun();
      state.removeGrant(grant);
      ctx.writes.push(kms.delGrant(grant.grantId));
      ctx.audit.responseElements = { keyId: grant.keyArn };
      return {};
    },
    audit: { requestParameters: () => null },
  });
}

function revokeGrantOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<RevokeGrantRequest, NoOutput, Resolved>({
    readOnly: false,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "RevokeGrant", { context: { "kms:GrantIsForAWSResource": grantIsForAwsResource(ctx) } })],
    handler: function revokeGrant(ctx, i, { key }) {
      if (!GRANT_ID_RE.test(i.GrantId!)) throw invalidGrantId(i.GrantId!);
      const g = state.grants.get(i.GrantId!);
      if (!g || g.keyArn !== key.arn) throw grantNotFound(i.GrantId!);
      if (i.DryRun) throw err.dryRun();
      state.removeGrant(g);
      ctx.writes.push(kms.delGrant(g.grantId));
      return {};
    },
  });
}

export function grantOperations(kms: Kms) {
  return {
    CreateGrant: createGrantOperation(kms),
    ListGrants: listGrantsOperation(kms),
    ListRetirableGrants: listRetirableGrantsOperation(kms),
    RetireGrant: retireGrantOperation(kms),
    RevokeGrant: revokeGrantOperation(kms),
  };
}
