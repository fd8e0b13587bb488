/** STS (awsQuery): who am I, and temporary credentials. */
import type { GetCallerIdentityResponse } from "@aws-sdk/client-sts";
import { stsShapes } from "../../protocol/shapes/sts.gen.ts";
import type { AppContext, ServiceDef } from "../types.ts";

export function createStsService(_app: AppContext): ServiceDef {
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
        authorize: () => null,
        handler: (ctx): GetCallerIdentityResponse => ({
          UserId: ctx.principal.principalId,
          Account: ctx.principal.accountId,
          Arn: ctx.principal.arn,
        }),
      },
    },
  };
}
