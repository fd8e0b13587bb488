/**
 * Managed policies: customer managed policies with up to five versions and AWS managed policies
 * (read-only), each operation a named function. Attaching them and permissions boundaries are in
 * attachments.ts.
 */
import type {
  CreatePolicyRequest,
  CreatePolicyResponse,
  CreatePolicyVersionRequest,
  CreatePolicyVersionResponse,
  DeletePolicyRequest,
  DeletePolicyVersionRequest,
  GetPolicyRequest,
  GetPolicyResponse,
  GetPolicyVersionRequest,
  GetPolicyVersionResponse,
  ListPoliciesRequest,
  ListPoliciesResponse,
  ListPolicyVersionsRequest,
  ListPolicyVersionsResponse,
  Policy,
  PolicyVersion,
  SetDefaultPolicyVersionRequest,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { awsManagedArn, awsManagedPolicies } from "./aws-managed.ts";
import {
  alreadyExists,
  checkTagRequest,
  deleteConflict,
  encodeDocument,
  iamArn,
  invalidInput,
  limitExceeded,
  markerFor,
  markerKey,
  mergeTags,
  newId,
  noSuchEntity,
  paginate,
  parseIamArn,
  pathMatches,
  policySize,
  requestTagContext,
  validateDocument,
} from "./common.ts";
import { authorizeOnAnyResource, authorizeOnPolicy, iamChecks, iamResolvers, loggedResponse, type IamEnv, type PolicyRef } from "./ops.ts";
import { ACCOUNT_SCOPE, policyKey, type IamState, type ManagedPolicy, type PolicyRec } from "./state.ts";

/** The AWS managed policies in ListPolicies order (they never change; made at the first listing). */
let awsManagedOrdered: [string, ManagedPolicy][] | undefined;
function awsManagedInListOrder(): [string, ManagedPolicy][] {
  awsManagedOrdered ??= [...awsManagedPolicies().values()]
    .map((rec): [string, ManagedPolicy] => [policyKey(rec.name, awsManagedArn(rec)), { kind: "aws", rec }])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return awsManagedOrdered;
}

/** Two key-ordered sequences as one. */
function* mergeByKey<T>(a: Iterator<[string, T]>, b: Iterator<[string, T]>): Generator<[string, T]> {
  let x = a.next();
  let y = b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value[0] <= y.value[0])) {
      yield x.value;
      x = a.next();
    } else {
      yield y.value;
      y = b.next();
    }
  }
}

export const MAX_POLICY_VERSIONS = 5;
export const MANAGED_POLICY_SIZE = 6144;

const notAttachable = (arn: string) => noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);

export function checkPolicyArn(arn: string): void {
  const p = parseIamArn(arn);
  if (!p || p.kind !== "policy") throw invalidInput(`ARN ${arn} is not valid.`);
}

/** A managed policy that may be attached (or used as a boundary) in the account. */
export function requireAttachable(state: IamState, accountId: string, arn: string): ManagedPolicy {
  checkPolicyArn(arn);
  const p = state.findPolicy(accountId, arn);
  if (!p) throw notAttachable(arn);
  return p;
}

/** AWS managed policies belong to AWS: nobody can change them. */
function requireCustomer(p: ManagedPolicy, arn: string): PolicyRec {
  if (p.kind === "aws") throw new ServiceError("AccessDenied", `Policy ${arn} is an AWS managed policy and cannot be modified.`, 403);
  return p.rec;
}

function checkManagedSize(doc: string): void {
  if (policySize(doc) > MANAGED_POLICY_SIZE) throw limitExceeded(`Cannot exceed quota for PolicySize: ${MANAGED_POLICY_SIZE}`);
}

/**
 * A policy as the operation `view` returns it: only GetPolicy includes Description, and lists
 * Tags even when there are none; CreatePolicy lists Tags only when it set some; ListPolicies
 * gives neither (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Policy.html).
 */
export function policyView(state: IamState, accountId: string, p: ManagedPolicy, view: "get" | "create" | "list"): Policy {
  const arn = state.policyArnOf(p);
  const use = state.usage(accountId, arn);
  const r = p.rec;
  const out: Policy = {
    PolicyName: r.name,
    PolicyId: r.id,
    Arn: arn,
    Path: r.path,
    DefaultVersionId: p.kind === "aws" ? p.rec.versionId : p.rec.defaultVersionId,
    AttachmentCount: use.users.length + use.groups.length + use.roles.length,
    PermissionsBoundaryUsageCount: use.boundaryUsers.length + use.boundaryRoles.length,
    IsAttachable: true,
    ...(view === "get" && r.description ? { Description: r.description } : {}),
    CreateDate: r.createDate,
    UpdateDate: r.updateDate,
  };
  const own = p.kind === "customer" ? p.rec.tags : [];
  if (view === "get" || (view === "create" && own.length)) out.Tags = own;
  return out;
}

function versionView(p: ManagedPolicy, versionId: string, withDocument: boolean): PolicyVersion | undefined {
  if (p.kind === "aws") {
    if (versionId !== p.rec.versionId) return undefined;
    return { ...(withDocument ? { Document: encodeDocument(p.rec.document) } : {}), VersionId: versionId, IsDefaultVersion: true, CreateDate: p.rec.updateDate };
  }
  const v = p.rec.versions.find((x) => x.id === versionId);
  if (!v) return undefined;
  return { ...(withDocument ? { Document: encodeDocument(v.doc) } : {}), VersionId: v.id, IsDefaultVersion: v.id === p.rec.defaultVersionId, CreateDate: v.createDate };
}

/** A policy the request names (GetPolicy and friends): NoSuchEntity "was not found" otherwise. */
export function requirePolicy(ref: PolicyRef): ManagedPolicy {
  checkPolicyArn(ref.arn);
  if (!ref.found) throw noSuchEntity(`Policy ${ref.arn} was not found.`);
  return ref.found;
}

/** A customer managed policy the request names, to change. */
function requireCustomerPolicy(ref: PolicyRef): PolicyRec {
  return requireCustomer(requirePolicy(ref), ref.arn);
}

const noSuchVersion = (arn: string, versionId: string | undefined) => noSuchEntity(`Policy ${arn} version ${versionId} does not exist or is not attachable.`);

function createPolicyOperation(env: IamEnv) {
  const { state } = env;
  return defineOperation<CreatePolicyRequest, CreatePolicyResponse, string>({
    resolve: iamResolvers(env).account,
    authorize: function authorizeCreatePolicy(ctx, i, account) {
      return iamChecks(ctx, iamArn(account, "policy", i.Path ?? "/", i.PolicyName!), { context: requestTagContext(i.Tags) });
    },
    handler: function createPolicy(ctx, i, account) {
      const path = i.Path ?? "/";
      if (state.customerPolicies(account).some((p) => p.name.toLowerCase() === i.PolicyName!.toLowerCase())) {
        throw alreadyExists(`A policy called ${i.PolicyName} already exists. Duplicate names are not allowed.`);
      }
      checkManagedSize(i.PolicyDocument!);
      validateDocument(i.PolicyDocument!, "identity");
      checkTagRequest(i.Tags);
      const rec: PolicyRec = {
        id: newId("ANPA"),
        accountId: account,
        name: i.PolicyName!,
        path,
        arn: iamArn(account, "policy", path, i.PolicyName!),
        description: i.Description,
        createDate: ctx.now,
        updateDate: ctx.now,
        defaultVersionId: "v1",
        versions: [{ id: "v1", doc: i.PolicyDocument!, createDate: ctx.now }],
        nextVersion: 2,
        tags: mergeTags([], i.Tags ?? [], "Policy"),
      };
      state.addPolicy(ctx, rec);
      return { Policy: policyView(state, account, { kind: "customer", rec }, "create") };
    },
    audit: { responseElements: loggedResponse },
  });
}

function getPolicyOperation(env: IamEnv) {
  return defineOperation<GetPolicyRequest, GetPolicyResponse, PolicyRef>({
    readOnly: true,
    resolve: iamResolvers(env).policy,
    authorize: authorizeOnPolicy,
    handler: function getPolicy(_ctx, _i, ref) {
      return { Policy: policyView(env.state, ref.account, requirePolicy(ref), "get") };
    },
  });
}

function getPolicyVersionOperation(env: IamEnv) {
  return defineOperation<GetPolicyVersionRequest, GetPolicyVersionResponse, PolicyRef>({
    readOnly: true,
    resolve: iamResolvers(env).policy,
    authorize: authorizeOnPolicy,
    handler: function getPolicyVersion(_ctx, i, ref) {
      const v = versionView(requirePolicy(ref), i.VersionId!, true);
      if (!v) throw noSuchVersion(i.PolicyArn!, i.VersionId);
      return { PolicyVersion: v };
    },
  });
}

function listPoliciesOperation(env: IamEnv) {
  const { state } = env;
  return defineOperation<ListPoliciesRequest, ListPoliciesResponse, string>({
    readOnly: true,
    resolve: iamResolvers(env).account,
    authorize: authorizeOnAnyResource,
    handler: function listPolicies(_ctx, i, account) {
      const scope = i.Scope ?? "All";
      const from = markerKey(i.Marker);
      const size = i.MaxItems ?? 100;
      const customer = scope !== "AWS" ? state.existingAccount(account)?.policies.index("byName").entries(ACCOUNT_SCOPE, from) : undefined;
      const aws = scope !== "Local" ? awsManagedInListOrder().filter(([k]) => from === undefined || k >= from) : [];
      const customerEntries = (function* () {
        if (customer) for (const [k, rec] of customer) yield [k, { kind: "customer", rec }] as [string, ManagedPolicy];
      })();
      // a usage filter needs each candidate's view; otherwise only the page's items are viewed
      const byUse = i.OnlyAttached || i.PolicyUsageFilter === "PermissionsPolicy" || i.PolicyUsageFilter === "PermissionsBoundary";
      const usable = (v: Policy) =>
        (!i.OnlyAttached || v.AttachmentCount! > 0 || v.PermissionsBoundaryUsageCount! > 0) &&
        (i.PolicyUsageFilter === "PermissionsPolicy" ? v.AttachmentCount! > 0 : i.PolicyUsageFilter === "PermissionsBoundary" ? v.PermissionsBoundaryUsageCount! > 0 : true);
      const Policies: Policy[] = [];
      for (const [key, p] of mergeByKey(aws[Symbol.iterator](), customerEntries)) {
        if (!pathMatches(p.rec.path, i.PathPrefix)) continue;
        const view = byUse || Policies.length < size ? policyView(state, account, p, "list") : undefined;
        if (view && byUse && !usable(view)) continue;
        if (Policies.length === size) return { Policies, IsTruncated: true, Marker: markerFor(key) };
        Policies.push(view!);
      }
      return { Policies, IsTruncated: false };
    },
  });
}

function deletePolicyOperation(env: IamEnv) {
  const { state } = env;
  return defineOperation<DeletePolicyRequest, object, PolicyRef>({
    resolve: iamResolvers(env).policy,
    authorize: authorizeOnPolicy,
    handler: function deletePolicy(ctx, _i, ref) {
      const rec = requireCustomerPolicy(ref);
      const use = state.usage(rec.accountId, rec.arn);
      if (use.users.length + use.groups.length + use.roles.length + use.boundaryUsers.length + use.boundaryRoles.length > 0) {
        throw deleteConflict("Cannot delete a policy attached to entities.");
      }
      if (rec.versions.length > 1) {
        throw deleteConflict(
          "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        );
      }
      state.deletePolicy(ctx, rec);
      return {};
    },
  });
}

function createPolicyVersionOperation(env: IamEnv) {
  return defineOperation<CreatePolicyVersionRequest, CreatePolicyVersionResponse, PolicyRef>({
    resolve: iamResolvers(env).policy,
    authorize: authorizeOnPolicy,
    handler: function createPolicyVersion(ctx, i, ref) {
      const rec = requireCustomerPolicy(ref);
      checkManagedSize(i.PolicyDocument!);
      validateDocument(i.PolicyDocument!, "identity");
      if (rec.versions.length >= MAX_POLICY_VERSIONS) {
        throw limitExceeded(`A managed policy can have up to ${MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version.`);
      }
      const id = `v${rec.nextVersion}`;
      rec.nextVersion++;
      rec.versions.push({ id, doc: i.PolicyDocument!, createDate: ctx.now });
      if (i.SetAsDefault) {
        rec.defaultVersionId = id;
        rec.updateDate = ctx.now;
      }
      env.state.savePolicy(ctx, rec);
      return { PolicyVersion: { VersionId: id, IsDefaultVersion: rec.defaultVersionId === id, CreateDate: ctx.now } };
    },
  });
}

function listPolicyVersionsOperation(env: IamEnv) {
  return defineOperation<ListPolicyVersionsRequest, ListPolicyVersionsResponse, PolicyRef>({
    readOnly: true,
    resolve: iamResolvers(env).policy,
    authorize: authorizeOnPolicy,
    handler: function listPolicyVersions(_ctx, i, ref) {
      const p = requirePolicy(ref);
      const ids = p.kind === "aws" ? [p.rec.versionId] : p.rec.versions.map((v) => v.id).reverse();
      const versions = ids.map((id) => versionView(p, id, false)!);
      const page = paginate(versions, (v) => String(1e9 - Number(v.VersionId!.slice(1))).padStart(10, "0"), i.Marker, i.MaxItems);
      return { Versions: page.items, IsTruncated: page.IsTruncated, Marker: page.Marker };
    },
  });
}

function deletePolicyVersionOperation(env: IamEnv) {
  return defineOperation<DeletePolicyVersionRequest, object, PolicyRef>({
    resolve: iamResolvers(env).policy,
    authorize: authorizeOnPolicy,
    handler: function deletePolicyVersion(ctx, i, ref) {
      const rec = requireCustomerPolicy(ref);
      const idx = rec.versions.findIndex((v) => v.id === i.VersionId);
      if (idx < 0) throw noSuchVersion(i.PolicyArn!, i.VersionId);
      if (rec.defaultVersionId === i.VersionId) throw deleteConflict("Cannot delete the default version of a policy.");
      rec.versions.splice(idx, 1);
      env.state.savePolicy(ctx, rec);
      return {};
    },
  });
}

function setDefaultPolicyVersionOperation(env: IamEnv) {
  return defineOperation<SetDefaultPolicyVersionRequest, object, PolicyRef>({
    resolve: iamResolvers(env).policy,
    authorize: authorizeOnPolicy,
    handler: function setDefaultPolicyVersion(ctx, i, ref) {
      const rec = requireCustomerPolicy(ref);
      if (!rec.versions.some((v) => v.id === i.VersionId)) throw noSuchVersion(i.PolicyArn!, i.VersionId);
      if (rec.defaultVersionId !== i.VersionId) {
        rec.defaultVersionId = i.VersionId!;
        rec.updateDate = ctx.now;
        env.state.savePolicy(ctx, rec);
      }
      return {};
    },
  });
}

type ManagedPolicyOperation =
  | "CreatePolicy"
  | "GetPolicy"
  | "GetPolicyVersion"
  | "ListPolicies"
  | "DeletePolicy"
  | "CreatePolicyVersion"
  | "ListPolicyVersions"
  | "DeletePolicyVersion"
  | "SetDefaultPolicyVersion";

export function managedPolicyOperations(env: IamEnv): OperationTable<ManagedPolicyOperation> {
  return {
    CreatePolicy: createPolicyOperation(env),
    GetPolicy: getPolicyOperation(env),
    GetPolicyVersion: getPolicyVersionOperation(env),
    ListPolicies: listPoliciesOperation(env),
    DeletePolicy: deletePolicyOperation(env),
    CreatePolicyVersion: createPolicyVersionOperation(env),
    ListPolicyVersions: listPolicyVersionsOperation(env),
    DeletePolicyVersion: deletePolicyVersionOperation(env),
    SetDefaultPolicyVersion: setDefaultPolicyVersionOperation(env),
  };
}
