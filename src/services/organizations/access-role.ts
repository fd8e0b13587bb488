/**
 * The role AWS creates in every account CreateAccount makes: OrganizationAccountAccessRole (or
 * the RoleName asked for), trusting the management account, with full administrator
 * permissions, so the management account reaches the new account through sts:AssumeRole
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access-cross-account-role.html).
 */
import type { RequestContext } from "../../kernel/context.ts";
import type { IamService } from "../iam/index.ts";
import { iamArn, newId } from "../iam/common.ts";

export const DEFAULT_ACCESS_ROLE = "OrganizationAccountAccessRole";

export function createAccessRole(ctx: RequestContext, iam: IamService, accountId: string, managementAccountId: string, roleName: string): void {
  const trust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${managementAccountId}:root` }, Action: "sts:AssumeRole" }],
  });
  const admin = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
  iam.state.addRole(ctx, {
    id: newId("AROA"),
    accountId,
    name: roleName,
    path: "/",
    arn: iamArn(accountId, "role", "/", roleName),
    createDate: ctx.now,
    trust,
    maxSessionDuration: 3600,
    tags: [],
    inline: [["AdministratorAccess", admin]],
    attached: [],
  });
}
