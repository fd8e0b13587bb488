/**
 * The listings of credentials this IAM does not issue: service-specific credentials (CodeCommit,
 * Keyspaces), SSH public keys, signing (X.509) certificates and server certificates. Upload
 * calls are not offered, so a user or account has none; the listings answer so (with
 * NoSuchEntity for a user that is not there), which is what a review of the account needs.
 */
import type {
  ListServerCertificatesRequest,
  ListServerCertificatesResponse,
  ListServiceSpecificCredentialsRequest,
  ListServiceSpecificCredentialsResponse,
  ListSigningCertificatesRequest,
  ListSigningCertificatesResponse,
  ListSSHPublicKeysRequest,
  ListSSHPublicKeysResponse,
} from "@aws-sdk/client-iam";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { authorizeOnImplicitUser, iamChecks, iamResolvers, implicitUserRequired, type IamEnv, type ImplicitUser } from "./ops.ts";

type OtherCredentialOperation = "ListServiceSpecificCredentials" | "ListSSHPublicKeys" | "ListSigningCertificates" | "ListServerCertificates";

export function otherCredentialOperations(env: IamEnv): OperationTable<OtherCredentialOperation> {
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

    ListSSHPublicKeys: defineOperation<ListSSHPublicKeysRequest, ListSSHPublicKeysResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function listSshPublicKeys(_ctx, _i, who) {
        implicitUserRequired(who);
        return { SSHPublicKeys: [], IsTruncated: false };
      },
    }),

    ListSigningCertificates: defineOperation<ListSigningCertificatesRequest, ListSigningCertificatesResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function listSigningCertificates(_ctx, _i, who) {
        implicitUserRequired(who);
        return { Certificates: [], IsTruncated: false };
      },
    }),

    ListServerCertificates: defineOperation<ListServerCertificatesRequest, ListServerCertificatesResponse, string>({
      readOnly: true,
      resolve: resolve.account,
      authorize: function authorizeListServerCertificates(ctx, i, account) {
        return iamChecks(ctx, `arn:aws:iam::${account}:server-certificate${i.PathPrefix ?? "/"}`);
      },
      handler: function listServerCertificates() {
        return { ServerCertificateMetadataList: [], IsTruncated: false };
      },
    }),
  };
}
