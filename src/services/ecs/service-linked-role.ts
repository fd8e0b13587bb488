/**
 * ECS's service-linked role AWSServiceRoleForECS
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html):
 * created by ECS, with the caller's identity, when an account's first cluster is created; and
 * "in use" while the account has a cluster in any Region, so IAM refuses to delete it then.
 */
import { ServiceError } from "../../kernel/errors.ts";
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import type { EcsState } from "./state.ts";

export const ECS_SERVICE = "ecs.amazonaws.com";
export const ECS_LINKED_ROLE = "AWSServiceRoleForECS";

/**
 * Creates AWSServiceRoleForECS if the account has none: an IAM CreateServiceLinkedRole made for
 * the caller (a forward access session: authorized as the caller, recorded in CloudTrail as
 * invoked by ECS). A caller IAM refuses still gets the cluster; the refusal is in CloudTrail.
 */
export async function ensureEcsLinkedRole(ctx: RequestContext): Promise<void> {
  const iam = ctx.app.find("iam");
  if (!iam || iam.state.findRole(ctx.principal.accountId, ECS_LINKED_ROLE)) return;
  try {
    await ctx.app.invoke("iam", "CreateServiceLinkedRole", { AWSServiceName: ECS_SERVICE }, { principal: ctx.principal, region: ctx.region, viaService: ECS_SERVICE });
  } catch (e) {
    if (!(e instanceof ServiceError)) throw e;
  }
}

/** Tells IAM which clusters use the role (DeleteServiceLinkedRole fails while there are any). */
export function registerEcsLinkedRoleUsage(app: AppContext, state: EcsState): void {
  app.find("iam")?.registerLinkedRoleUsage(ECS_SERVICE, (accountId) => {
    const byRegion = new Map<string, string[]>();
    for (const c of state.clusters.values()) {
      if (c.accountId !== accountId || c.status !== "ACTIVE") continue;
      byRegion.set(c.region, [...(byRegion.get(c.region) ?? []), c.arn]);
    }
    return [...byRegion].map(([region, resources]) => ({ region, resources }));
  });
}
