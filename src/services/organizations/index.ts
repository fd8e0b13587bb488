/**
 * AWS Organizations (awsJson1_1, `AWSOrganizationsV20161128.*`, global: signs and logs in
 * us-east-1): organizations with a root, OUs and member accounts (created here with their
 * OrganizationAccountAccessRole, or invited), SCPs and RCPs that the authorizer enforces on every
 * call of a member account, management policies (tag, backup, AI opt-out, …) with their effective
 * policies (kept, not enforced), tags, trusted service access and delegated administrators.
 * docs/organizations.md.
 */
import { organizationsShapes, type OrganizationsOperation } from "../../protocol/shapes/organizations.gen.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import type { OrgDeps } from "./common.ts";
import { withOrganizationResourcePolicy } from "./delegation.ts";
import { resourcePolicyOperations } from "./resource-policy-operations.ts";
import { invalidModelInput } from "./errors.ts";
import { handshakeOperations } from "./handshake-operations.ts";
import type { OrgRec } from "./model.ts";
import { orgOperations } from "./org-operations.ts";
import { organizationPolicies } from "./policies.ts";
import { policyOperations } from "./policy-operations.ts";
import { postClosureRunner } from "./post-closure.ts";
import { OrganizationsState } from "./state.ts";
import { structureOperations, type StructureDeps } from "./structure-operations.ts";
import { tagOperations } from "./tag-operations.ts";
import { validationOperations } from "./validation-operations.ts";

export const TARGET_PREFIX = "AWSOrganizationsV20161128";

/** What Organizations offers other services in-process (`app.get("organizations")`). */
export interface OrganizationsService {
  /** the organization an account belongs to */
  organizationOf(accountId: string): Pick<OrgRec, "id" | "managementAccountId" | "featureSet"> | undefined;
  /** whether the organization trusts an AWS service (EnableAWSServiceAccess) */
  serviceAccessEnabled(orgId: string, servicePrincipal: string): boolean;
  /** the organization's member accounts (the management account included) */
  accountIds(orgId: string): string[];
  /** whether the account was closed (CloseAccount): its principals may no longer call AWS */
  isClosed(accountId: string): boolean;
}

declare module "../../kernel/context.ts" {
  interface Provided {
    organizations: OrganizationsService;
  }
}

export function organizationsOperations(deps: StructureDeps): OperationTable<OrganizationsOperation> {
  const base: OrgDeps = { state: deps.state };
  return withOrganizationResourcePolicy({
    ...orgOperations(base),
    ...structureOperations(deps),
    ...policyOperations(base),
    ...validationOperations(base),
    ...handshakeOperations(base),
    ...tagOperations(base),
    ...resourcePolicyOperations(base),
  });
}

export const organizationsModule = defineServiceModule({
  name: "organizations",
  needs: ["iam"],
  create(app) {
    const state = new OrganizationsState(app.store);
    const def: ServiceDef = {
      name: "organizations",
      signingName: "organizations",
      iamPrefix: "organizations",
      protocol: "json",
      targetPrefixes: [TARGET_PREFIX],
      shapes: organizationsShapes,
      eventSource: "organizations.amazonaws.com",
      globalRegion: "us-east-1",
      validationError: invalidModelInput,
      operations: organizationsOperations({ state, iam: app.get("iam") }),
    };
    const service: OrganizationsService = {
      organizationOf: (accountId) => state.orgOf(accountId),
      serviceAccessEnabled: (orgId, principal) => state.byId.get(orgId)?.services.some((s) => s.principal === principal) ?? false,
      accountIds: (orgId) => state.byId.get(orgId)?.accounts.map((a) => a.id) ?? [],
      isClosed: (accountId) => state.isClosed(accountId),
    };
    return { services: [def], provides: { organizations: service }, scps: organizationPolicies(state), dueRunners: [postClosureRunner(state, app.store)] };
  },
});
