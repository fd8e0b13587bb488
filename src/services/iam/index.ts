/**
 * IAM (awsQuery, global: signs and logs in us-east-1): users, groups, roles, inline and
 * managed policies, access keys, permissions boundaries and the policy simulator. Also the
 * identity side of authorization for every service: access keys → principals and a
 * principal's identity policies.
 */
import { iamShapes } from "../../protocol/shapes/iam.gen.ts";
import type { AppContext, OperationDef, RequestContext, ServiceDef } from "../types.ts";
import { groupOperations } from "./groups.ts";
import { IamIdentity, type SessionLookup } from "./identity.ts";
import { inlinePolicyOperations } from "./inline.ts";
import { managedPolicyOperations } from "./managed.ts";
import { mfaOperations } from "./mfa.ts";
import { roleOperations } from "./roles.ts";
import type { SecretSealer } from "./secrets.ts";
import { defineServiceModule } from "../../kernel/service.ts";
import { fromLegacyService } from "../../kernel/legacy-operation.ts";
import { simulationOperations } from "./simulate.ts";
import { IamState, KIND_ROLE, type RoleRec } from "./state.ts";
import { userOperations } from "./users.ts";

/** What IAM offers other services in-process (`app.get("iam")`). */
export interface IamService {
  state: IamState;
  /** seals and opens secrets at rest (access keys, MFA seeds) */
  sealer: SecretSealer;
  identity: IamIdentity;
  /** RoleLastUsed: recorded when a role is assumed */
  noteRoleUse(ctx: RequestContext, role: RoleRec): void;
}

declare module "../../kernel/context.ts" {
  interface Provided {
    iam: IamService;
  }
}

export const iamModule = defineServiceModule({
  name: "iam",
  needs: ["iamSecrets", "sts"],
  create(app) {
    const service = createIamService(app);
    return {
      services: [fromLegacyService(service.def)],
      provides: { iam: service.api },
      credentialProviders: [service.api.identity],
      identityPolicies: service.api.identity,
    };
  },
});

function createIamService(app: AppContext): { api: IamService; def: ServiceDef } {
  const state = new IamState(app.store);
  const sealer = app.get("iamSecrets");
  const sessions: SessionLookup = app.get("sts");
  const identity = new IamIdentity(state, sealer, () => sessions);
  const service: IamService = {
    state,
    sealer,
    identity,
    noteRoleUse(ctx, role) {
      role.lastUsed = { date: ctx.now, region: ctx.region };
      // Not a policy change: no generation bump.
      ctx.writes.push(app.store.put(KIND_ROLE, role.id, role));
    },
  };

  const operations: Record<string, OperationDef> = {
    ...userOperations(state, sealer),
    ...groupOperations(state),
    ...roleOperations(state),
    ...inlinePolicyOperations(state),
    ...managedPolicyOperations(state),
    ...simulationOperations(state),
    ...mfaOperations(state, sealer),
  };
  for (const op of Object.values(operations)) {
    const authorize = op.authorize;
    op.authorize = (ctx, input) => {
      identity.noteKeyUse(ctx);
      return authorize ? authorize(ctx, input) : { action: `iam:${ctx.operation}`, resource: "*" };
    };
  }

  const def: ServiceDef = {
    name: "iam",
    signingName: "iam",
    iamPrefix: "iam",
    protocol: "query",
    shapes: iamShapes,
    eventSource: "iam.amazonaws.com",
    globalRegion: "us-east-1",
    operations,
  };
  return { api: service, def };
}
