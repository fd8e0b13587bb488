/**
 * The role AWS creates in every account CreateAccount makes: OrganizationAccountAccessRole (or
 * the RoleName asked for), trusting the management account, with full administrator
 * permissions, so the management account reaches the new account through sts:AssumeRole
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_access-cross-account-role.html).
 *
 * The new account's CloudTrail shows how the role came to be, as AWS's does: IAM `CreateRole`
 * and `PutRolePolicy` (the inline AdministratorAccess policy) made by the service
 * (userIdentity `AWSService`, invokedBy `organizations.amazonaws.com`), recorded in the new
 * account and committed with the role itself (docs/organizations.md#the-access-role).
 */
import { randomUUID } from "node:crypto";
import { buildRecord, defaultRequestParameters, recordWrites } from "../../audit/record.ts";
import { servicePrincipal } from "../../auth/principal.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { IamService } from "../iam/index.ts";
import { iamArn, newId } from "../iam/common.ts";
import { roleView } from "../iam/roles.ts";
import type { RoleRec } from "../iam/state.ts";

const ORGANIZATIONS = "organizations.amazonaws.com";

export const DEFAULT_ACCESS_ROLE = "OrganizationAccountAccessRole";

export function createAccessRole(ctx: RequestContext, iam: IamService, accountId: string, managementAccountId: string, roleName: string): void {
  const trust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${managementAccountId}:root` }, Action: "sts:AssumeRole" }],
  });
  const admin = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });
  const role: RoleRec = {
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
  };
  iam.state.addRole(ctx, role);
  recordAccessRoleCalls(ctx, role, admin);
}

/** The IAM calls AWS makes in the new account, as CloudTrail records, in the role's transaction. */
function recordAccessRoleCalls(ctx: RequestContext, role: RoleRec, adminPolicy: string): void {
  const sink = ctx.app.auditSink;
  const iamDef = ctx.app.services.get("iam");
  if (!sink || !iamDef) return;
  const shapes = iamDef.shapes;
  const calls: [string, Record<string, unknown>, unknown][] = [
    ["CreateRole", { RoleName: role.name, AssumeRolePolicyDocument: role.trust }, { Role: roleView(role, "create") }],
    ["PutRolePolicy", { RoleName: role.name, PolicyName: "AdministratorAccess", PolicyDocument: adminPolicy }, null],
  ];
  for (const [operation, input, output] of calls) {
    const call: RequestContext = {
      requestId: randomUUID(),
      service: iamDef,
      operation,
      region: ctx.region,
      principal: servicePrincipal(ORGANIZATIONS, role.accountId),
      sourceIp: ORGANIZATIONS,
      userAgent: ORGANIZATIONS,
      secureTransport: true,
      now: ctx.now,
      app: ctx.app,
      writes: [],
      audit: {
        resources: [{ ARN: role.arn, accountId: role.accountId, type: "AWS::IAM::Role" }],
        requestParameters: defaultRequestParameters(shapes, shapes?.operations[operation]?.input, input),
        responseElements: output === null ? null : defaultRequestParameters(shapes, shapes?.operations[operation]?.output, output),
      },
      internal: true,
      afterCommit: () => undefined,
    };
    const record = buildRecord(call, iamDef, {});
    ctx.writes.push(...recordWrites(sink, record, call.principal));
  }
}
