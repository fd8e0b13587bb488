/**
 * Effective management policies (what an account inherits, read by DescribeEffectivePolicy) and
 * their validation: ListAccountsWithInvalidEffectivePolicy and ListEffectivePolicyValidationErrors
 * (the accounts whose effective policy fails validation, and why).
 * https://docs.aws.amazon.com/organizations/latest/userguide/invalid-policy-alerts.html
 */
import type * as O from "@aws-sdk/client-organizations";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import type { OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import { accountView, orgCheck, page, readableOrg, type OrgDeps } from "./common.ts";
import { effectivePolicyFaults, policySetsEntry } from "./effective-policy-validation.ts";
import { accountNotFound, orgError } from "./errors.ts";
import { effectiveManagementPolicy } from "./management-policies.ts";
import { accountArn, type ManagementPolicyType, type OrgRec, type PolicyRec } from "./model.ts";
import { attachedTo, targetChain, type ManagedPolicy } from "./policies.ts";

type ValidationOperation = "ListAccountsWithInvalidEffectivePolicy" | "ListEffectivePolicyValidationErrors";

export const effectiveNotFound = () => orgError("EffectivePolicyNotFoundException", "We can't find an effective policy of the specified type.");

export interface Effective {
  content: string;
  /** the policies attached at each level, the root first, the account last */
  levels: (PolicyRec | ManagedPolicy)[][];
}

/** An account's effective policy of a management type; undefined when the type is not enabled or nothing applies. */
export function effectiveOf(org: OrgRec, accountId: string, type: ManagementPolicyType): Effective | undefined {
  if (!org.root.policyTypes.includes(type)) return undefined;
  const levels = targetChain(org, accountId).map((id) => attachedTo(org, id, type));
  const content = effectiveManagementPolicy(
    type,
    levels.map((l) => l.map((p) => p.content)),
  );
  return content === undefined ? undefined : { content, levels };
}

/** The account's place in the organization as AWS writes it: `o-…/r-…/ou-…/…/<account>/`. */
function pathOf(org: OrgRec, accountId: string): string {
  const chain = targetChain(org, accountId);
  return `${org.id}/${chain.join("/")}/`;
}

function validationErrors(type: ManagementPolicyType, e: Effective): O.EffectivePolicyValidationError[] {
  return effectivePolicyFaults(type, e.content).map((f) => ({
    ErrorCode: f.code,
    ErrorMessage: f.message,
    PathToError: f.path,
    // the policies along the account's path that set the plan or tag the fault is in
    ContributingPolicies: [
      ...new Set(
        e.levels
          .flat()
          .filter((p) => policySetsEntry(type, p.content, f.entry))
          .map((p) => p.id),
      ),
    ],
  }));
}

export function validationOperations({ state }: OrgDeps): OperationTable<Extract<OrganizationsOperation, ValidationOperation>> {
  const readable = (ctx: RequestContext) => readableOrg(ctx, state);
  return {
    ListAccountsWithInvalidEffectivePolicy: defineOperation<O.ListAccountsWithInvalidEffectivePolicyRequest, O.ListAccountsWithInvalidEffectivePolicyResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i) => orgCheck("ListAccountsWithInvalidEffectivePolicy", "*", { "organizations:PolicyType": i.PolicyType }),
      handler: function listAccountsWithInvalidEffectivePolicy(_ctx, i, org) {
        const type = i.PolicyType as ManagementPolicyType;
        if (!org.root.policyTypes.includes(type)) throw effectiveNotFound();
        const invalid = org.accounts.filter((a) => {
          const e = effectiveOf(org, a.id, type);
          return e !== undefined && effectivePolicyFaults(type, e.content).length > 0;
        });
        const p = page(invalid, (a) => a.id, i.NextToken, i.MaxResults);
        return { Accounts: p.items.map(accountView), PolicyType: i.PolicyType, NextToken: p.NextToken };
      },
    }),

    ListEffectivePolicyValidationErrors: defineOperation<O.ListEffectivePolicyValidationErrorsRequest, O.ListEffectivePolicyValidationErrorsResponse, OrgRec>({
      readOnly: true,
      resolve: readable,
      authorize: (_ctx, i, org) => orgCheck("ListEffectivePolicyValidationErrors", accountArn(org, i.AccountId!), { "organizations:PolicyType": i.PolicyType }),
      handler: function listEffectivePolicyValidationErrors(ctx, i, org) {
        const accountId = i.AccountId!;
        if (!state.accountIn(org, accountId)) throw accountNotFound();
        const type = i.PolicyType as ManagementPolicyType;
        const e = effectiveOf(org, accountId, type);
        if (!e) throw effectiveNotFound();
        const errors = validationErrors(type, e);
        const p = page(errors, (x) => `${x.PathToError}\u0000${x.ErrorCode}`, i.NextToken, i.MaxResults);
        return {
          AccountId: accountId,
          PolicyType: i.PolicyType,
          Path: pathOf(org, accountId),
          EvaluationTimestamp: ctx.now,
          EffectivePolicyValidationErrors: p.items,
          NextToken: p.NextToken,
        };
      },
    }),
  };
}
