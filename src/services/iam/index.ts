/**
 * IAM (awsQuery, global: signs and logs in us-east-1): users, groups, roles, inline and
 * managed policies, access keys, permissions boundaries and the policy simulator. Also the
 * identity side of authorization for every service: access keys → principals and a
 * principal's identity policies.
 */
import { iamShapes, type IamOperation } from "../../protocol/shapes/iam.gen.ts";
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import { accountReportOperations } from "./account-reports.ts";
import { attachmentOperations } from "./attachments.ts";
import { authorizationDetailsOperations } from "./authorization-details.ts";
import { entityUpdateOperations } from "./entity-updates.ts";
import { groupOperations } from "./groups.ts";
import { IamIdentity, type SessionLookup } from "./identity.ts";
import { inlinePolicyOperations } from "./inline.ts";
import { lastAccessedOperations, type LastAccessedDeps } from "./last-accessed.ts";
import { loginProfileOperations } from "./login-profiles.ts";
import { managedPolicyOperations } from "./managed.ts";
import { mfaOperations } from "./mfa.ts";
import { oidcProviderOperations } from "./oidc-providers.ts";
import { otherCredentialOperations } from "./other-credentials.ts";
import { passwordChangeOperations } from "./password-change.ts";
import { samlProviderOperations } from "./saml-providers.ts";
import { serverCertificateOperations } from "./server-certificates.ts";
import { serviceLinkedRoleOperations, type LinkedRoleUsage } from "./service-linked-roles.ts";
import { roleOperations } from "./roles.ts";
import type { IamEnv } from "./ops.ts";
import { signingCertificateOperations } from "./signing-certificates.ts";
import { simulationOperations } from "./simulate.ts";
import { sshPublicKeyOperations } from "./ssh-public-keys.ts";
import { IamState, KIND_ROLE, type RoleRec } from "./state.ts";
import { userOperations } from "./users.ts";

/** What IAM offers other services in-process (`app.get("iam")`). */
export interface IamService extends IamEnv {
  /** RoleLastUsed: recorded when a role is assumed */
  noteRoleUse(ctx: RequestContext, role: RoleRec): void;
  /** a service tells IAM which of an account's resources use its service-linked role (DeleteServiceLinkedRole) */
  registerLinkedRoleUsage(service: string, usage: LinkedRoleUsage): void;
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
    const def: ServiceDef = {
      name: "iam",
      signingName: "iam",
      iamPrefix: "iam",
      protocol: "query",
      shapes: iamShapes,
      eventSource: "iam.amazonaws.com",
      globalRegion: "us-east-1",
      operations: iamOperations(service, service.linkedRoleUsage, lastAccessedDeps(app)),
    };
    return {
      services: [def],
      provides: { iam: service },
      credentialProviders: [service.identity],
      identityPolicies: service.identity,
    };
  },
});

/**
 * Service last accessed details read the CloudTrail event store (every Region); without one
 * (auditing off, or operation tables built without an app) no activity is found.
 */
function lastAccessedDeps(app?: AppContext): LastAccessedDeps {
  return {
    activity: async (entities, sinceMs) => (await app?.find("auditStore")?.principalActivity(entities, sinceMs)) ?? [],
    services: () => app?.services ?? new Map(),
    commit: (ops) => (app ? app.store.commit(ops) : Promise.resolve()),
    nowMs: () => (app ? app.clock.now().getTime() : 0),
  };
}

/** Every IAM operation, keyed by the generated operation names. */
export function iamOperations(
  env: IamEnv,
  linkedRoleUsage: ReadonlyMap<string, LinkedRoleUsage> = new Map(),
  lastAccess: LastAccessedDeps = lastAccessedDeps(),
): OperationTable<IamOperation> {
  return {
    ...userOperations(env),
    ...groupOperations(env),
    ...roleOperations(env),
    ...inlinePolicyOperations(env),
    ...managedPolicyOperations(env),
    ...attachmentOperations(env),
    ...simulationOperations(env),
    ...mfaOperations(env),
    ...oidcProviderOperations(env),
    ...samlProviderOperations(env),
    ...serviceLinkedRoleOperations(env, linkedRoleUsage),
    ...loginProfileOperations(env),
    ...accountReportOperations(env),
    ...entityUpdateOperations(env),
    ...authorizationDetailsOperations(env),
    ...otherCredentialOperations(env),
    ...serverCertificateOperations(env),
    ...signingCertificateOperations(env),
    ...sshPublicKeyOperations(env),
    ...passwordChangeOperations(env),
    ...lastAccessedOperations(env, lastAccess),
  };
}

function createIamService(app: AppContext): IamService & { linkedRoleUsage: Map<string, LinkedRoleUsage> } {
  const state = new IamState(app.store);
  const sealer = app.get("iamSecrets");
  const sessions: SessionLookup = app.get("sts");
  const identity = new IamIdentity(state, sealer, () => sessions);
  const linkedRoleUsage = new Map<string, LinkedRoleUsage>();
  return {
    linkedRoleUsage,
    registerLinkedRoleUsage(service, usage) {
      linkedRoleUsage.set(service, usage);
    },
    state,
    sealer,
    identity,
    async keyUseInTrail(ids) {
      const uses = (await app.find("auditStore")?.lastKeyUse(ids)) ?? new Map();
      const namespaces = new Map([...app.services.values()].map((d) => [d.eventSource, d.iamPrefix]));
      return new Map(
        [...uses].map(([id, u]) => [id, { date: new Date(u.lastMs), service: namespaces.get(u.eventSource) ?? u.eventSource.replace(/\.amazonaws\.com$/, ""), region: u.region }]),
      );
    },
    noteRoleUse(ctx, role) {
      role.lastUsed = { date: ctx.now, region: ctx.region };
      // Not a policy change: no generation bump.
      ctx.writes.push(app.store.put(KIND_ROLE, role.id, role));
    },
  };
}
