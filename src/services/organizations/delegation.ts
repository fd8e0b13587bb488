/**
 * What a member account may do in its organization's Organizations data beyond its own account.
 * A member registered as delegated administrator for any service gets AWS's read-only
 * Organizations access
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_RegisterDelegatedAdministrator.html,
 * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_delegate_policies.html).
 * It is granted as the organization's resource policy: the management account owns every
 * Organizations resource, so a member's call is cross-account, allowed only when the member's
 * own IAM policies and this policy both allow it (docs/organizations.md).
 */
import type { AuthCheck, OperationTable, SomeOperation } from "../../kernel/operation.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { OrgRec } from "./model.ts";

/** The resolved value of an Organizations operation: the organization itself or a record holding it. */
function orgOf(resolved: unknown): OrgRec | undefined {
  if (!resolved || typeof resolved !== "object") return undefined;
  if ("managementAccountId" in resolved) return resolved as OrgRec;
  if ("org" in resolved) return orgOf((resolved as { org: unknown }).org);
  return undefined;
}

/** The organization's resource policy as the authorizer reads it, or undefined when it grants nothing. */
export function organizationResourcePolicy(org: OrgRec, readActions: readonly string[]): string | undefined {
  const admins = [...new Set(org.delegatedAdmins.map((d) => d.accountId))].sort();
  if (admins.length === 0) return undefined;
  const statement = {
    Sid: "DelegatedAdministratorsReadOnly",
    Effect: "Allow",
    Principal: { AWS: admins.map((a) => `arn:aws:iam::${a}:root`) },
    Action: readActions.map((a) => `organizations:${a}`),
    Resource: "*",
  };
  return JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
}

/**
 * The table with every member's check on an organization resource (an ARN of the management
 * account) carrying the organization's resource policy. Checks on "*" are the caller's own and
 * the operations' `resolve` already decides which members may make them.
 */
export function withOrganizationResourcePolicy<T extends OperationTable<string>>(table: T): T {
  const readActions = Object.entries(table)
    .filter(([, op]) => op.readOnly)
    .map(([name]) => name)
    .sort();
  const wrapped: Record<string, SomeOperation> = {};
  for (const [name, op] of Object.entries(table) as [string, SomeOperation][]) {
    wrapped[name] = {
      ...op,
      authorize(ctx: RequestContext, input: object, resolved: unknown): AuthCheck[] | null {
        const checks = op.authorize(ctx, input, resolved);
        const org = orgOf(resolved);
        if (!checks || !org || org.managementAccountId === ctx.principal.accountId) return checks;
        const document = organizationResourcePolicy(org, readActions);
        if (!document) return checks;
        return checks.map((c) =>
          c.resourcePolicy || c.resource === "*" ? c : { ...c, resourcePolicy: { document, kind: "resource", ownerAccountId: org.managementAccountId, authoritative: false } },
        );
      },
    };
  }
  return wrapped as T;
}
