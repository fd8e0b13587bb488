/**
 * The listing of service-specific credentials (CodeCommit, Keyspaces), which this IAM does not
 * issue: a user or account has none; the listing answers so (with NoSuchEntity for a user that
 * is not there), which is what a review of the account needs.
 */
import type { ListServiceSpecificCredentialsRequest, ListServiceSpecificCredentialsResponse } from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { authorizeOnImplicitUser, iamResolvers, implicitUserRequired, type IamEnv, type ImplicitUser } from "./ops.ts";

export function otherCredentialOperations(env: IamEnv): OperationTable<"ListServiceSpecificCredentials"> {
  const resolve = iamResolvers(env);
  return {
    ListServiceSpecificCredentials: defineOperation<ListServiceSpecificCredentialsRequest, ListServiceSpecificCredentialsResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function listServiceSpecificCredentials(_ctx, _i, who) {
        implicitUserRequired(who);
        return { ServiceSpecificCredentials: [], IsTruncated: false };
      },
    }),
  };
}
