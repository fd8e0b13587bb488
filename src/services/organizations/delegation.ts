/**
 * What a member account may do in its organization's Organizations data beyond its own account.
 * A member registered as delegated administrator for any service gets AWS's read-only
 * Organizations access
 * (https://docs.aws.amazon.com/organizations/latest/APIReference/API_RegisterDelegatedAdministrator.html,
 * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_delegate_policies.html).
 * It is granted as the organization's resource policy: the management account owns every
 * Organizations resource, so a member's call is cross-account, allowed only when the member's
 * own IAM policies and this policy both allow it (docs/organizations.md). The delegation policy
 * of PutResourcePolicy adds its statements to the same document.
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

/**
 * The statements of the stored delegation policy. PutResourcePolicy validated it; a document that
 * no longer parses (a hand-edited data dir) grants nothing rather than failing the call.
 */
function storedStatements(content: string): unknown[] {
  try {
    const own = (JSON.parse(content) as { Statement?: unknown }).Statement;
    return own === undefined ? [] : Array.isArray(own) ? own : [own];
  } catch {
    return [];
  }
}

/** The organization's resource policy as the authorizer reads it, or undefined when it grants nothing. */
export function organizationResourcePolicy(org: OrgRec, readActions: readonly string[]): string | undefined {
  const statements: unknown[] = [];
  const admins = [...new Set(org.delegatedAdmins.map((d) => d.accountId))].sort();
  if (admins.length) {
    statements.push({
      Sid: "DelegatedAdministratorsReadOnly",
      Effect: "Allow",
      Principal: { AWS: admins.map((a) => `arn:aws:iam::${a}:root`) },
      Action: readActions.map((a) => `organizations:${a}`),
      Resource: "*",
    });
  }
  if (org.resourcePolicy) statements.push(...storedStatements(org.resourcePolicy.content));
  return statements.length ? JSON.stringify({ Version: "2012-10-17", Statement: statements }) : undefined;
}

/**
 * Operations a member makes as itself, on its own account or its own invitations: their checks
 * stay the caller's own.
 */
const MEMBERS_OWN = new Set([
  "CreateOrganization",
  "DescribeOrganization",
  "LeaveOrganization",
  "DescribeEffectivePolicy",
  "AcceptHandshake",
  "DeclineHandshake",
  "CancelHandshake",
  "DescribeHandshake",
  "ListHandshakesForAccount",
]);

/**
 * The table with every member's check on the organization's resources carrying the
 * organization's resource policy. Which members reach `authorize` at all is each operation's
 * `resolve` (management only, readers, or delegable).
 */
export function withOrganizationResourcePolicy<T extends OperationTable<string>>(table: T): T {
  const readActions = Object.entries(table)
    .filter(([name, op]) => op.readOnly && !MEMBERS_OWN.has(name))
    .map(([name]) => name)
    .sort();
  const wrapped: Record<string, SomeOperation> = {};
  for (const [name, op] of Object.entries(table) as [string, SomeOperation][]) {
    if (MEMBERS_OWN.has(name)) {
      wrapped[name] = op;
      continue;
    }
    wrapped[name] = {
      ...op,
      authorize(ctx: RequestContext, input: object, resolved: unknown): AuthCheck[] | null {
        const checks = op.authorize(ctx, input, resolved);
        const org = orgOf(resolved);
        if (!checks || !org || org.managementAccountId === ctx.principal.accountId) return checks;
        const document = organizationResourcePolicy(org, readActions);
        if (!document) return checks;
        return checks.map((c) => (c.resourcePolicy ? c : { ...c, resourcePolicy: { document, kind: "resource", ownerAccountId: org.managementAccountId, authoritative: false } }));
      },
    };
  }
  return wrapped as T;
}
