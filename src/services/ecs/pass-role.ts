/**
 * iam:PassRole checks for the ECS operations that hand a role over: the caller must be allowed
 * to pass each task role and task execution role to ecs-tasks.amazonaws.com, and a service's
 * `role` to ecs.amazonaws.com
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html and
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html). The dispatcher
 * evaluates them like any other check, so the denial is AWS's AccessDenied message.
 */
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck } from "../../kernel/operation.ts";

export const ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com";
/** The service a CreateService `role` (for the service's load balancers) is passed to. */
export const ECS_SERVICE = "ecs.amazonaws.com";

/** A role given by name or ARN, as the role's ARN in the caller's account when a name. */
export function roleArnOf(ctx: RequestContext, role: string): string {
  return role.startsWith("arn:") ? role : `arn:aws:iam::${ctx.principal.accountId}:role/${role}`;
}

/** The account of `arn:aws:iam::<account>:role/...`, or undefined for anything else. */
function roleAccount(arn: string): string | undefined {
  const prefix = "arn:aws:iam::";
  if (!arn.startsWith(prefix) || arn.slice(prefix.length + 12, prefix.length + 18) !== ":role/") return undefined;
  const account = arn.slice(prefix.length, prefix.length + 12);
  return /^\d{12}$/.test(account) ? account : undefined;
}

/**
 * A role can only be passed within its own account. For any other ARN the check carries a
 * resource-side policy that grants nothing, so the engine refuses it as a cross-account request
 * no resource-based policy allows — the account root included.
 */
const GRANTS_NOTHING = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","NotAction":"*"}]}';

/** One iam:PassRole check per distinct role given (undefined and empty entries are skipped). */
export function passRoleChecks(ctx: RequestContext, roles: readonly (string | undefined)[], toService = ECS_TASKS_SERVICE): AuthCheck[] {
  const arns = new Set<string>();
  for (const r of roles) if (r) arns.add(roleArnOf(ctx, r));
  return [...arns].map((arn) => {
    const check: AuthCheck = { action: "iam:PassRole", resource: arn, context: { "iam:PassedToService": toService } };
    const owner = roleAccount(arn);
    if (owner !== ctx.principal.accountId) check.resourcePolicy = { document: GRANTS_NOTHING, kind: "resource", ownerAccountId: owner ?? "", authoritative: true };
    return check;
  });
}
