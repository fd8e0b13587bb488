/**
 * Organization policies: enabling and disabling SCPs and RCPs in the root, creating, changing,
 * describing, listing and deleting policies, attaching them to the root, OUs and accounts, and
 * what is attached where. https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies.html
 */
import type * as O from "@aws-sdk/client-organizations";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import type { OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import { at, callerOrg, delegableOrg, orgCheck, readableOrg, page, policySummary, rootView, type OrgDeps } from "./common.ts";
import { constraint, invalidInput, notManagement, orgError, policyNotFound, policyTypeNotEnabled, rootNotFound, targetNotFound } from "./errors.ts";
import {
  accountArn,
  isAuthorizationType,
  newPolicyId,
  ORGANIZATION_POLICY_TYPES,
  ouArn,
  policyArn,
  targetKind,
  type OrgRec,
  type PolicyRec,
  type ManagementPolicyType,
  type PolicyTypeName,
} from "./model.ts";
import { attachedTo, checkPolicyContent, findPolicy, isManaged, MANAGED_POLICIES, MAX_ATTACHED_PER_TARGET, MAX_POLICIES_PER_TYPE, type ManagedPolicy } from "./policies.ts";
import { effectiveNotFound, effectiveOf } from "./validation-operations.ts";
import { attachDefaults } from "./structure.ts";
import { checkOrgTags, ORG_TAG_RULES, setTags } from "./tag-operations.ts";
import { requestTagContext } from "../../kernel/tags.ts";

type PolicyOperation =
  | "EnablePolicyType"
  | "DisablePolicyType"
  | "CreatePolicy"
  | "UpdatePolicy"
  | "DescribePolicy"
  | "ListPolicies"
  | "DeletePolicy"
  | "AttachPolicy"
  | "DetachPolicy"
  | "ListPoliciesForTarget"
  | "ListTargetsForPolicy"
  | "DescribeEffectivePolicy";

/** The authorization types (enforced) and the management types (kept and inherited, not enforced) offered here (docs/organizations.md). */
function organizationType(type: string | undefined): PolicyTypeName {
  if (!ORGANIZATION_POLICY_TYPES.includes(type as PolicyTypeName)) {
    throw orgError("PolicyTypeNotAvailableForOrganizationException", `You can't use the ${type} policy type: it isn't available in this organization.`);
  }
  return type as PolicyTypeName;
}

function policy(org: OrgRec, id: string): PolicyRec | ManagedPolicy {
  const p = findPolicy(org, id);
  if (!p) throw policyNotFound();
  return p;
}

function customerPolicy(org: OrgRec, id: string): PolicyRec {
  const p = policy(org, id);
  // AWS managed policies can't be changed or deleted
  if (isManaged(p)) throw notManagement();
  return p;
}

interface Target {
  id: string;
  arn: string;
  name: string;
  type: "ROOT" | "ORGANIZATIONAL_UNIT" | "ACCOUNT";
}

function findTarget(org: OrgRec, id: string): Target | undefined {
  const kind = targetKind(id);
  if (kind === "ROOT" && id === org.root.id) return { id, arn: org.root.arn, name: "Root", type: kind };
  const ou = kind === "ORGANIZATIONAL_UNIT" ? org.ous.find((o) => o.id === id) : undefined;
  if (ou) return { id, arn: ouArn(org, id), name: ou.name, type: "ORGANIZATIONAL_UNIT" };
  const a = kind === "ACCOUNT" ? org.accounts.find((x) => x.id === id) : undefined;
  if (a) return { id, arn: accountArn(org, id), name: a.name, type: "ACCOUNT" };
  return undefined;
}

function target(org: OrgRec, id: string): Target {
  const t = findTarget(org, id);
  if (!t) throw targetNotFound();
  return t;
}

const pArn = (org: OrgRec, id: string) => findPolicy(org, id)?.arn ?? "*";

export function policyOperations({ state }: OrgDeps): OperationTable<Extract<OrganizationsOperation, PolicyOperation>> {
  const delegable = (ctx: RequestContext) => delegableOrg(ctx, state);
  const readable = (ctx: RequestContext) => readableOrg(ctx, state);
  return {
    EnablePolicyType: defineOperation<O.EnablePolicyTypeRequest, O.EnablePolicyTypeResponse, OrgRec>({
      resolve: delegable,
      authorize: (_ctx, i, org) => orgCheck("EnablePolicyType", org.root.arn, { "organizations:PolicyType": i.PolicyType }),
      handler: function enablePolicyType(ctx, i, org) {
        if (i.RootId !== org.root.id) throw rootNotFound();
        const type = organizationType(i.PolicyType);
        if (org.featureSet !== "ALL")
          throw orgError("PolicyTypeNotAvailableForOrganizationException", "You can't use the specified policy type with the feature set currently enabled for this organization.");
        if (org.root.policyTypes.includes(type)) throw orgError("PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled.");
        org.root.policyTypes.push(type);
        for (const id of [org.root.id, ...org.ous.map((o) => o.id), ...org.accounts.map((a) => a.id)]) attachDefaults(org, id);
        state.save(ctx, org);
        return { Root: rootView(org) };
      },
    }),

    DisablePolicyType: defineOperation<O.DisablePolicyTypeRequest, O.DisablePolicyTypeResponse, OrgRec>({
      resolve: delegable,
      authorize: (_ctx, i, org) => orgCheck("DisablePolicyType", org.root.arn, { "organizations:PolicyType": i.PolicyType }),
      handler: function disablePolicyType(ctx, i, org) {
        if (i.RootId !== org.root.id) throw rootNotFound();
        const type = organizationType(i.PolicyType);
        if (!org.root.policyTypes.includes(type)) throw policyTypeNotEnabled();
        org.root.policyTypes = org.root.policyTypes.filter((t) => t !== type);
        // disabling a type detaches every policy of that type from every target
        org.attachments = org.attachments.filter(([, p]) => findPolicy(org, p)?.type !== type);
        state.save(ctx, org);
        return { Root: rootView(org) };
      },
    }),

    CreatePolicy: defineOperation<O.CreatePolicyRequest, O.CreatePolicyResponse, OrgRec>({
      resolve: delegable,
      authorize: (_ctx, i) => orgCheck("CreatePolicy", "*", { "organizations:PolicyType": i.Type, ...requestTagContext(ORG_TAG_RULES, i.Tags) }),
      handler: function createPolicy(ctx, i, org) {
        const type = organizationType(i.Type);
        checkOrgTags(i.Tags);
        checkPolicyContent(type, i.Content!);
        const same = org.policies.filter((p) => p.type === type);
        if (same.some((p) => p.name === i.Name) || MANAGED_POLICIES.some((p) => p.type === type && p.name === i.Name)) {
          throw orgError("DuplicatePolicyException", "A policy with the same name already exists.");
        }
        if (same.length >= MAX_POLICIES_PER_TYPE) throw constraint("POLICY_NUMBER_LIMIT_EXCEEDED", "You have exceeded the number of policies of this type in your organization.");
        const id = newPolicyId();
        const rec: PolicyRec = { id, arn: policyArn(org, type, id), name: i.Name!, description: i.Description ?? "", type, content: i.Content!, updatedAt: ctx.now.getTime() };
        org.policies.push(rec);
        if (i.Tags?.length) setTags(org, id, i.Tags);
        state.save(ctx, org);
        return { Policy: { PolicySummary: policySummary(rec), Content: rec.content } };
      },
    }),

    UpdatePolicy: defineOperation<O.UpdatePolicyRequest, O.UpdatePolicyResponse, OrgRec>({
      resolve: delegable,
      authorize: (_ctx, i, org) => orgCheck("UpdatePolicy", pArn(org, i.PolicyId!)),
      handler: function updatePolicy(ctx, i, org) {
        const p = customerPolicy(org, i.PolicyId!);
        if (i.Content !== undefined) checkPolicyContent(p.type, i.Content);
        if (i.Name !== undefined && i.Name !== p.name && org.policies.some((x) => x.type === p.type && x.name === i.Name)) {
          throw orgError("DuplicatePolicyException", "A policy with the same name already exists.");
        }
        if (i.Name !== undefined) p.name = i.Name;
        if (i.Description !== undefined) p.description = i.Description;
        if (i.Content !== undefined) p.content = i.Content;
        p.updatedAt = ctx.now.getTime();
        state.save(ctx, org);
        return { Policy: { PolicySummary: policySummary(p), Content: p.content } };
      },
    }),

    DescribePolicy: defineOperation<O.DescribePolicyRequest, O.DescribePolicyResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i, org) => orgCheck("DescribePolicy", pArn(org, i.PolicyId!)),
      handler: function describePolicy(_ctx, i, org) {
        const p = policy(org, i.PolicyId!);
        return { Policy: { PolicySummary: policySummary(p), Content: p.content } };
      },
    }),

    ListPolicies: defineOperation<O.ListPoliciesRequest, O.ListPoliciesResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i) => orgCheck("ListPolicies", "*", { "organizations:PolicyType": i.Filter }),
      handler: function listPolicies(_ctx, i, org) {
        const all = [...MANAGED_POLICIES, ...org.policies].filter((p) => p.type === i.Filter);
        const p = page(all, (x) => x.id, i.NextToken, i.MaxResults);
        return { Policies: p.items.map(policySummary), NextToken: p.NextToken };
      },
    }),

    DeletePolicy: defineOperation<O.DeletePolicyRequest, object, OrgRec>({
      resolve: delegable,
      authorize: (_ctx, i, org) => orgCheck("DeletePolicy", pArn(org, i.PolicyId!)),
      handler: function deletePolicy(ctx, i, org) {
        const p = customerPolicy(org, i.PolicyId!);
        if (org.attachments.some(([, id]) => id === p.id)) {
          throw orgError(
            "PolicyInUseException",
            "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.",
          );
        }
        org.policies = org.policies.filter((x) => x.id !== p.id);
        org.tags = org.tags.filter(([r]) => r !== p.id);
        state.save(ctx, org);
        return {};
      },
    }),

    AttachPolicy: defineOperation<O.AttachPolicyRequest, object, OrgRec>({
      resolve: delegable,
      authorize: (_ctx, i, org) => [...orgCheck("AttachPolicy", pArn(org, i.PolicyId!)), ...orgCheck("AttachPolicy", findTarget(org, i.TargetId!)?.arn ?? "*")],
      handler: function attachPolicy(ctx, i, org) {
        const p = policy(org, i.PolicyId!);
        const t = target(org, i.TargetId!);
        if (!org.root.policyTypes.includes(p.type)) throw policyTypeNotEnabled();
        const attached = attachedTo(org, t.id, p.type);
        if (attached.some((x) => x.id === p.id)) throw orgError("DuplicatePolicyAttachmentException", "The selected policy is already attached to the specified target.");
        if (attached.length >= MAX_ATTACHED_PER_TARGET[p.type]) {
          throw constraint("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You have attached the maximum number of policies of this type to the specified target.");
        }
        org.attachments.push([t.id, p.id]);
        state.save(ctx, org);
        return {};
      },
    }),

    DetachPolicy: defineOperation<O.DetachPolicyRequest, object, OrgRec>({
      resolve: delegable,
      authorize: (_ctx, i, org) => [...orgCheck("DetachPolicy", pArn(org, i.PolicyId!)), ...orgCheck("DetachPolicy", findTarget(org, i.TargetId!)?.arn ?? "*")],
      handler: function detachPolicy(ctx, i, org) {
        const p = policy(org, i.PolicyId!);
        const t = target(org, i.TargetId!);
        const attached = attachedTo(org, t.id, p.type);
        if (!attached.some((x) => x.id === p.id)) throw orgError("PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root.");
        if (attached.length === 1 && isAuthorizationType(p.type) && org.root.policyTypes.includes(p.type)) {
          // every root, OU and account keeps at least one policy of each enabled authorization type
          throw constraint("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED", "You attempted to detach a policy from an entity that would leave it with no policies of this type.");
        }
        org.attachments = org.attachments.filter(([tt, pp]) => !(tt === t.id && pp === p.id));
        state.save(ctx, org);
        return {};
      },
    }),

    ListPoliciesForTarget: defineOperation<O.ListPoliciesForTargetRequest, O.ListPoliciesForTargetResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i, org) => orgCheck("ListPoliciesForTarget", findTarget(org, i.TargetId!)?.arn ?? "*", { "organizations:PolicyType": i.Filter }),
      handler: function listPoliciesForTarget(_ctx, i, org) {
        const t = target(org, i.TargetId!);
        const p = page(attachedTo(org, t.id, i.Filter as PolicyTypeName), (x) => x.id, i.NextToken, i.MaxResults);
        return { Policies: p.items.map(policySummary), NextToken: p.NextToken };
      },
    }),

    ListTargetsForPolicy: defineOperation<O.ListTargetsForPolicyRequest, O.ListTargetsForPolicyResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i, org) => orgCheck("ListTargetsForPolicy", pArn(org, i.PolicyId!)),
      handler: function listTargetsForPolicy(_ctx, i, org) {
        const p = policy(org, i.PolicyId!);
        const targets = org.attachments.filter(([, id]) => id === p.id).flatMap(([t]) => findTarget(org, t) ?? []);
        const pg = page(targets, (t) => t.id, i.NextToken, i.MaxResults);
        return { Targets: pg.items.map((t) => ({ TargetId: t.id, Arn: t.arn, Name: t.name, Type: t.type })), NextToken: pg.NextToken };
      },
    }),

    DescribeEffectivePolicy: defineOperation<O.DescribeEffectivePolicyRequest, O.DescribeEffectivePolicyResponse, OrgRec>({
      readOnly: true,
      // members may read their own effective policies; only the management account names others
      resolve: (ctx) => callerOrg(ctx, state),
      authorize: (_ctx, i) => orgCheck("DescribeEffectivePolicy", "*", { "organizations:PolicyType": i.PolicyType }),
      handler: function describeEffectivePolicy(ctx, i, org) {
        const caller = ctx.principal.accountId;
        const accountId = i.TargetId ?? caller;
        if (accountId !== caller && org.managementAccountId !== caller) throw notManagement();
        const t = target(org, accountId);
        if (t.type !== "ACCOUNT") throw invalidInput("TARGET_NOT_SUPPORTED", "You can't perform the operation on the requested target.");
        const e = effectiveOf(org, accountId, i.PolicyType as ManagementPolicyType);
        if (!e) throw effectiveNotFound();
        const updated = Math.max(0, ...e.levels.flat().map((p) => p.updatedAt ?? 0));
        return { EffectivePolicy: { PolicyContent: e.content, PolicyType: i.PolicyType, TargetId: accountId, ...(updated ? { LastUpdatedTimestamp: at(updated) } : {}) } };
      },
    }),
  };
}
