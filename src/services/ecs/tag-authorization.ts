/**
 * Tagging authorization on create (docs/ecs-fargate.md#account-settings): while the caller's
 * effective `tagResourceAuthorization` account setting is `on` (AWS's default), a create call that
 * tags its new resource also needs `ecs:TagResource` on it, with `ecs:CreateAction` naming the
 * create call (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html).
 */
import type { AuthCheck, SomeOperation } from "../../kernel/operation.ts";
import type { AccountSettings } from "./account-settings.ts";

/** The operations that create a taggable resource, and where their tags are. */
const CREATE_ACTIONS = ["CreateCluster", "CreateService", "RunTask", "RegisterTaskDefinition", "CreateCapacityProvider", "CreateTaskSet"] as const;

interface NewResourceInput {
  cluster?: string;
  family?: string;
}

/** The ARN a create call's new resource gets, where its create check names another resource (RunTask: the task definition). */
function newResource(action: string, region: string, account: string, input: NewResourceInput): string | undefined {
  if (action === "RunTask") {
    const cluster = (input.cluster ?? "default").split("/").pop();
    return `arn:aws:ecs:${region}:${account}:task/${cluster}/*`;
  }
  if (action === "RegisterTaskDefinition" && input.family) return `arn:aws:ecs:${region}:${account}:task-definition/${input.family}:*`;
  return undefined;
}

export function withTagAuthorization<T extends Record<string, SomeOperation>>(ops: T, settings: AccountSettings): T {
  const out: Record<string, SomeOperation> = { ...ops };
  for (const name of CREATE_ACTIONS) {
    const op = ops[name];
    if (!op) continue;
    out[name] = {
      ...op,
      authorize(ctx, input, resolved) {
        const checks = op.authorize(ctx, input, resolved);
        const tags = (input as { tags?: { key?: string }[] }).tags;
        if (!checks?.length || !tags?.length || settings.effectiveFor(ctx, "tagResourceAuthorization") !== "on") return checks;
        const tagCheck: AuthCheck = {
          action: "ecs:TagResource",
          resource: newResource(name, ctx.region, ctx.principal.accountId, input as NewResourceInput) ?? checks[0].resource,
          context: { "aws:TagKeys": tags.map((t) => t.key ?? ""), "ecs:CreateAction": name },
        };
        return [...checks, tagCheck];
      },
    } as SomeOperation;
  }
  return out as T;
}
