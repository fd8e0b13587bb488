/**
 * X.509 signing certificates of IAM users and of the account root
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_UploadSigningCertificate.html): at
 * most two per user, each Active or Inactive. Without UserName a call acts on the caller.
 */
import type {
  DeleteSigningCertificateRequest,
  ListSigningCertificatesRequest,
  ListSigningCertificatesResponse,
  SigningCertificate,
  UpdateSigningCertificateRequest,
  UploadSigningCertificateRequest,
  UploadSigningCertificateResponse,
} from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { certificateDigest, certificateExpired, invalidCertificate, parseCertificateBody } from "./credential-material.ts";
import { credentialRecords, type SigningCertRec } from "./credential-records.ts";
import { limitExceeded, settableStatus, newCertificateId, noSuchEntity, paginate } from "./common.ts";
import { authorizeOnImplicitUser, iamResolvers, implicitUserRequired, type IamEnv, type ImplicitUser } from "./ops.ts";

/** Signing certificates per user (IAM and AWS STS quotas). */
export const MAX_SIGNING_CERTIFICATES = 2;

type SigningCertificateOperation = "UploadSigningCertificate" | "ListSigningCertificates" | "UpdateSigningCertificate" | "DeleteSigningCertificate";

export function signingCertificateOperations(env: IamEnv): OperationTable<SigningCertificateOperation> {
  const records = credentialRecords(env.state);
  const resolve = iamResolvers(env);
  /** The user's name in views: the account root's certificates carry its account id, as AWS shows them. */
  const ownerName = (who: ImplicitUser) => who.user?.name ?? who.account;
  const view = (c: SigningCertRec, who: ImplicitUser): SigningCertificate => ({
    UserName: ownerName(who),
    CertificateId: c.id,
    CertificateBody: c.body,
    Status: c.status,
    UploadDate: new Date(c.uploadDate),
  });
  /** The named certificate of the user the call acts on, or NoSuchEntity. */
  const certOf = (who: ImplicitUser, id: string): SigningCertRec => {
    const user = implicitUserRequired(who);
    const c = records.signingCertsOf(who.account, user?.id).find((x) => x.id === id);
    if (!c) throw noSuchEntity(`The Certificate with id ${id} cannot be found.`);
    return c;
  };

  return {
    UploadSigningCertificate: defineOperation<UploadSigningCertificateRequest, UploadSigningCertificateResponse, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function uploadSigningCertificate(ctx, i, who) {
        const user = implicitUserRequired(who);
        const cert = parseCertificateBody(i.CertificateBody!);
        if (certificateExpired(cert, ctx.now)) throw invalidCertificate("The certificate is no longer valid: its 'Not After' date has passed.");
        const sha256 = certificateDigest(cert);
        if (records.signingCertsOfAccount(who.account).some((c) => c.sha256 === sha256)) {
          throw new ServiceError("DuplicateCertificate", "The same certificate is already associated with a user in this account.", 409);
        }
        if (records.signingCertsOf(who.account, user?.id).length >= MAX_SIGNING_CERTIFICATES) {
          throw limitExceeded(`Cannot exceed quota for SigningCertificatesPerUser: ${MAX_SIGNING_CERTIFICATES}`);
        }
        const c: SigningCertRec = {
          id: newCertificateId(),
          accountId: who.account,
          ...(user ? { userId: user.id } : {}),
          body: i.CertificateBody!,
          sha256,
          status: "Active",
          uploadDate: ctx.now,
        };
        records.saveSigningCert(ctx, c);
        return { Certificate: view(c, who) };
      },
    }),

    ListSigningCertificates: defineOperation<ListSigningCertificatesRequest, ListSigningCertificatesResponse, ImplicitUser>({
      readOnly: true,
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function listSigningCertificates(_ctx, i, who) {
        const user = implicitUserRequired(who);
        const certs = records.signingCertsOf(who.account, user?.id);
        const page = paginate(certs, (_c, n) => String(n).padStart(4, "0"), i.Marker, i.MaxItems);
        return { Certificates: page.items.map((c) => view(c, who)), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    UpdateSigningCertificate: defineOperation<UpdateSigningCertificateRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function updateSigningCertificate(ctx, i, who) {
        const c = certOf(who, i.CertificateId!);
        records.saveSigningCert(ctx, { ...c, status: settableStatus(i.Status) });
        return {};
      },
    }),

    DeleteSigningCertificate: defineOperation<DeleteSigningCertificateRequest, object, ImplicitUser>({
      resolve: resolve.implicitUser,
      authorize: authorizeOnImplicitUser,
      handler: function deleteSigningCertificate(ctx, i, who) {
        records.deleteSigningCert(ctx, certOf(who, i.CertificateId!));
        return {};
      },
    }),
  };
}
