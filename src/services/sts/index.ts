/**
 * STS (awsQuery): who am I, and temporary credentials (AssumeRole, GetSessionToken).
 * The worked example of the operation contract (docs/ARCHITECTURE.md): a table keyed by the
 * generated StsOperation names, each operation a named resolve / authorize / handler.
 */
import type { GetCallerIdentityRequest, GetCallerIdentityResponse } from "@aws-sdk/client-sts";
import { stsShapes, type StsOperation } from "../../protocol/shapes/sts.gen.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import { SessionStore } from "./sessions.ts";
import { assumeRoleOperation } from "./assume-role.ts";
import { getSessionTokenOperation } from "./get-session-token.ts";
import { getAccessKeyInfoOperation, getFederationTokenOperation } from "./federation-token.ts";
import { assumeRoleWithWebIdentityOperation } from "./web-identity.ts";
import { assumeRoleWithSamlOperation } from "./saml.ts";
import type { StsDeps } from "./deps.ts";

declare module "../../kernel/context.ts" {
  interface Provided {
    /** STS sessions: IAM looks a session's tags and policies up here */
    sts: SessionStore;
  }
}

function getCallerIdentityOperation(deps: StsDeps) {
  return defineOperation<GetCallerIdentityRequest, GetCallerIdentityResponse>({
    readOnly: true,
    // AWS does not authorize GetCallerIdentity: it works even under an explicit deny.
    authorize: function authorizeGetCallerIdentity(ctx) {
      deps.iam().identity.noteKeyUse(ctx);
      return null;
    },
    handler: function getCallerIdentity(ctx) {
      return { UserId: ctx.principal.principalId, Account: ctx.principal.accountId, Arn: ctx.principal.arn };
    },
  });
}

export function stsOperations(deps: StsDeps): OperationTable<StsOperation> {
  return {
    GetCallerIdentity: getCallerIdentityOperation(deps),
    AssumeRole: assumeRoleOperation(deps),
    GetSessionToken: getSessionTokenOperation(deps),
    AssumeRoleWithWebIdentity: assumeRoleWithWebIdentityOperation(deps),
    AssumeRoleWithSAML: assumeRoleWithSamlOperation(deps),
    GetFederationToken: getFederationTokenOperation(deps),
    GetAccessKeyInfo: getAccessKeyInfoOperation(deps),
  };
}

export const stsModule = defineServiceModule({
  name: "sts",
  needs: ["iamSecrets"],
  create(app) {
    const sessions = new SessionStore(app.store, app.get("iamSecrets"));
    const def: ServiceDef = {
      name: "sts",
      signingName: "sts",
      iamPrefix: "sts",
      protocol: "query",
      shapes: stsShapes,
      eventSource: "sts.amazonaws.com",
      operations: stsOperations({
        iam: () => app.get("iam"),
        sessions,
        accountOfKey(id) {
          for (const p of app.credentialProviders) {
            const r = p.lookup(id);
            if (r) return r.principal.accountId;
          }
          // (the built-in root keys, `test` and 12-digit account ids, are shorter than the model's 16-character minimum)
          return undefined;
        },
      }),
      // the token or assertion is the credential: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
      unsignedOperations: new Set(["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"]),
    };
    return { services: [def], provides: { sts: sessions }, credentialProviders: [sessions], dueRunners: [sessions] };
  },
});
