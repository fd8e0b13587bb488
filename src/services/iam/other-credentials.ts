/**
 * The listing of service-specific credentials (CodeCommit, Keyspaces), which this IAM does not
 * issue: a user or account has none; the listing answers so (with NoSuchEntity for a user that
 * is not there), which is what a review of the account needs.
 */
import type { ListServiceSpecificCredentialsRequest, ListServiceSpecificCredentialsResponse } from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { authorizeOnImplicitUser, iamResolvers, implicitUserRequired, type IamEnv, type ImplicitUser } from "./ops.ts";
import { invalidInput, paginate } from "./common.ts";

export function otherCredentialOperations(env: IamEnv): OperationTable<"ListServiceSpecificCredentials"> {
  const resolve = iamResolvers(env);
  return {
    ListServiceSpecificCredentials: defineOperation<ListServiceSpecificCredentialsRequest, ListServiceSpecificCredentialsResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function listServiceSpecificCredentials(_ctx, i, who) {
        // AllUsers, Marker and MaxItems are the newer model's (the ListServiceSpecificCredentials API reference)
        const newer = i as ListServiceSpecificCredentialsRequest & { AllUsers?: boolean; Marker?: string; MaxItems?: number };
        if (newer.AllUsers && newer.UserName !== undefined) throw invalidInput("AllUsers and UserName cannot be specified together.");
        if (!newer.AllUsers) implicitUserRequired(who);
        const page = paginate<never>([], () => "", newer.Marker, newer.MaxItems);
        return { ServiceSpecificCredentials: page.items, IsTruncated: page.IsTruncated, ...(page.Marker ? { Marker: page.Marker } : {}) };
      },
    }),
  };
}
