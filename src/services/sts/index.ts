/** STS (awsQuery): who am I, and temporary credentials (AssumeRole, GetSessionToken). */
import type { GetCallerIdentityResponse } from "@aws-sdk/client-sts";
import { stsShapes } from "../../protocol/shapes/sts.gen.ts";
import type { AppContext, ServiceDef } from "../types.ts";
import { sealerFor } from "../iam/secrets.ts";
import type { IamService } from "../iam/index.ts";
import { SessionStore } from "./sessions.ts";
import { assumeRoleOperation, getSessionTokenOperation } from "./credentials.ts";

export function createStsService(app: AppContext): ServiceDef {
  const sessions = new SessionStore(app.store, sealerFor(app));
  app.registry.set("sts", sessions);
  app.credentialProviders.push(sessions);
  app.dueRunners.push(sessions);
  /** IAM registers itself whichever factory runs first; STS only needs it per request. */
  const iam = () => {
    const s = app.registry.get("iam") as IamService | undefined;
    if (!s) throw new Error("STS needs the IAM service");
    return s;
  };

  return {
    name: "sts",
    signingName: "sts",
    iamPrefix: "sts",
    protocol: "query",
    shapes: stsShapes,
    eventSource: "sts.amazonaws.com",
    operations: {
      GetCallerIdentity: {
        readOnly: true,
        // AWS does not authorize GetCallerIdentity: it works even under an explicit deny.
        authorize: (ctx) => {
          (app.registry.get("iam") as IamService | undefined)?.identity.noteKeyUse(ctx);
          return null;
        },
        handler: (ctx): GetCallerIdentityResponse => ({
          UserId: ctx.principal.principalId,
          Account: ctx.principal.accountId,
          Arn: ctx.principal.arn,
        }),
      },
      AssumeRole: assumeRoleOperation(iam, sessions),
      GetSessionToken: getSessionTokenOperation(iam, sessions),
    },
  };
}
