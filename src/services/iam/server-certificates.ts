/**
 * IAM server certificates (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_server-certs.html):
 * uploaded with their private key and chain, checked with node:crypto, listed, renamed, tagged
 * and deleted. The private key is sealed at rest and never returned.
 */
import type {
  DeleteServerCertificateRequest,
  GetServerCertificateRequest,
  GetServerCertificateResponse,
  ListServerCertificatesRequest,
  ListServerCertificatesResponse,
  ListServerCertificateTagsRequest,
  ListServerCertificateTagsResponse,
  ServerCertificateMetadata,
  TagServerCertificateRequest,
  UntagServerCertificateRequest,
  UpdateServerCertificateRequest,
  UploadServerCertificateRequest,
  UploadServerCertificateResponse,
} from "@aws-sdk/client-iam";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { checkServerCertificate } from "./credential-material.ts";
import { credentialRecords, type ServerCertRec } from "./credential-records.ts";
import { alreadyExists, checkTagRequest, limitExceeded, mergeTags, newId, noSuchEntity, paginate, pathMatches, removeTags, requestTagContext, tagsPage } from "./common.ts";
import { beginIamCall, iamChecks, type IamEnv } from "./ops.ts";

/** Server certificates per account (IAM and AWS STS quotas). */
export const MAX_SERVER_CERTIFICATES = 20;

type ServerCertificateOperation =
  | "UploadServerCertificate"
  | "GetServerCertificate"
  | "ListServerCertificates"
  | "UpdateServerCertificate"
  | "DeleteServerCertificate"
  | "TagServerCertificate"
  | "UntagServerCertificate"
  | "ListServerCertificateTags";

export function serverCertificateArn(accountId: string, path: string, name: string): string {
  return `arn:aws:iam::${accountId}:server-certificate${path}${name}`;
}

/** A server certificate a request names: its ARN (path "/" when it is not there) and the record. */
interface CertRef {
  account: string;
  name: string;
  arn: string;
  found?: ServerCertRec;
}

function metadataView(c: ServerCertRec): ServerCertificateMetadata {
  return {
    Path: c.path,
    ServerCertificateName: c.name,
    ServerCertificateId: c.id,
    Arn: c.arn,
    UploadDate: new Date(c.uploadDate),
    Expiration: new Date(c.expiration),
  };
}

const noSuchCert = (name: string) => noSuchEntity(`The Server Certificate with name ${name} cannot be found.`);

function existingCert(ref: CertRef): ServerCertRec {
  if (!ref.found) throw noSuchCert(ref.name);
  return ref.found;
}

export function serverCertificateOperations(env: IamEnv): OperationTable<ServerCertificateOperation> {
  const { sealer } = env;
  const records = credentialRecords(env.state);
  const resolveCert = (ctx: RequestContext, i: { ServerCertificateName?: string }): CertRef => {
    const account = beginIamCall(env, ctx);
    const found = records.findServerCert(account, i.ServerCertificateName!);
    return { account, name: i.ServerCertificateName!, arn: found?.arn ?? serverCertificateArn(account, "/", i.ServerCertificateName!), ...(found ? { found } : {}) };
  };
  const authorizeOnCert = (ctx: RequestContext, _i: object, ref: CertRef) => iamChecks(ctx, ref.arn, { tags: ref.found?.tags });

  return {
    UploadServerCertificate: defineOperation<UploadServerCertificateRequest, UploadServerCertificateResponse, CertRef>({
      resolve: function resolveNewServerCertificate(ctx, i) {
        const account = beginIamCall(env, ctx);
        return { account, name: i.ServerCertificateName!, arn: serverCertificateArn(account, i.Path ?? "/", i.ServerCertificateName!) };
      },
      authorize: function authorizeUploadServerCertificate(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: requestTagContext(i.Tags) });
      },
      handler: function uploadServerCertificate(ctx, i, ref) {
        checkTagRequest(i.Tags);
        const tags = mergeTags([], i.Tags ?? [], "ServerCertificate");
        const cert = checkServerCertificate(i.CertificateBody!, i.PrivateKey!, i.CertificateChain, ctx.now);
        if (records.findServerCert(ref.account, ref.name)) throw alreadyExists(`The Server Certificate with name ${ref.name} already exists.`);
        if (records.serverCertsOf(ref.account).length >= MAX_SERVER_CERTIFICATES) {
          throw limitExceeded(`Cannot exceed quota for ServerCertificatesPerAccount: ${MAX_SERVER_CERTIFICATES}`);
        }
        const id = newId("ASCA");
        const c: ServerCertRec = {
          id,
          accountId: ref.account,
          name: ref.name,
          path: i.Path ?? "/",
          arn: ref.arn,
          body: i.CertificateBody!,
          ...(i.CertificateChain !== undefined ? { chain: i.CertificateChain } : {}),
          privateKey: sealer.seal(i.PrivateKey!, id),
          uploadDate: ctx.now,
          expiration: new Date(cert.validTo),
          tags,
        };
        records.saveServerCert(ctx, c);
        return { ServerCertificateMetadata: metadataView(c), ...(tags.length ? { Tags: tags } : {}) };
      },
      audit: {
        resources: (_ctx, _i, ref) => [{ ARN: ref.arn, accountId: ref.account, type: "AWS::IAM::ServerCertificate" }],
      },
    }),

    GetServerCertificate: defineOperation<GetServerCertificateRequest, GetServerCertificateResponse, CertRef>({
      readOnly: true,
      resolve: resolveCert,
      authorize: authorizeOnCert,
      handler: function getServerCertificate(_ctx, _i, ref) {
        const c = existingCert(ref);
        return {
          ServerCertificate: {
            ServerCertificateMetadata: metadataView(c),
            CertificateBody: c.body,
            ...(c.chain !== undefined ? { CertificateChain: c.chain } : {}),
            Tags: c.tags,
          },
        };
      },
    }),

    ListServerCertificates: defineOperation<ListServerCertificatesRequest, ListServerCertificatesResponse, string>({
      readOnly: true,
      resolve: function resolveCallerAccount(ctx) {
        return beginIamCall(env, ctx);
      },
      authorize: function authorizeListServerCertificates(ctx, i, account) {
        return iamChecks(ctx, serverCertificateArn(account, i.PathPrefix ?? "/", ""));
      },
      handler: function listServerCertificates(_ctx, i, account) {
        const certs = records.serverCertsOf(account).filter((c) => pathMatches(c.path, i.PathPrefix));
        const page = paginate(certs, (c) => `${c.name.toLowerCase()}\u0000${c.id}`, i.Marker, i.MaxItems);
        return { ServerCertificateMetadataList: page.items.map(metadataView), IsTruncated: page.IsTruncated, Marker: page.Marker };
      },
    }),

    UpdateServerCertificate: defineOperation<UpdateServerCertificateRequest, object, CertRef>({
      resolve: resolveCert,
      authorize: function authorizeUpdateServerCertificate(ctx, i, ref) {
        // Renaming or moving needs the permission on both the old and the new ARN (UpdateServerCertificate).
        const c = ref.found;
        const next = serverCertificateArn(ref.account, i.NewPath ?? c?.path ?? "/", i.NewServerCertificateName ?? c?.name ?? ref.name);
        return iamChecks(ctx, next === ref.arn ? ref.arn : [ref.arn, next], { tags: c?.tags });
      },
      handler: function updateServerCertificate(ctx, i, ref) {
        const c = existingCert(ref);
        const name = i.NewServerCertificateName ?? c.name;
        const path = i.NewPath ?? c.path;
        const other = records.findServerCert(ref.account, name);
        if (other && other.id !== c.id) throw alreadyExists(`The Server Certificate with name ${name} already exists.`);
        records.saveServerCert(ctx, { ...c, name, path, arn: serverCertificateArn(ref.account, path, name) });
        return {};
      },
    }),

    DeleteServerCertificate: defineOperation<DeleteServerCertificateRequest, object, CertRef>({
      resolve: resolveCert,
      authorize: authorizeOnCert,
      handler: function deleteServerCertificate(ctx, _i, ref) {
        records.deleteServerCert(ctx, existingCert(ref));
        return {};
      },
    }),

    TagServerCertificate: defineOperation<TagServerCertificateRequest, object, CertRef>({
      resolve: resolveCert,
      authorize: function authorizeTagServerCertificate(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: requestTagContext(i.Tags), tags: ref.found?.tags });
      },
      handler: function tagServerCertificate(ctx, i, ref) {
        const c = existingCert(ref);
        records.saveServerCert(ctx, { ...c, tags: mergeTags(c.tags, i.Tags ?? [], "ServerCertificate") });
        return {};
      },
    }),

    UntagServerCertificate: defineOperation<UntagServerCertificateRequest, object, CertRef>({
      resolve: resolveCert,
      authorize: function authorizeUntagServerCertificate(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: { "aws:TagKeys": i.TagKeys ?? [] }, tags: ref.found?.tags });
      },
      handler: function untagServerCertificate(ctx, i, ref) {
        const c = existingCert(ref);
        records.saveServerCert(ctx, { ...c, tags: removeTags(c.tags, i.TagKeys ?? []) });
        return {};
      },
    }),

    ListServerCertificateTags: defineOperation<ListServerCertificateTagsRequest, ListServerCertificateTagsResponse, CertRef>({
      readOnly: true,
      resolve: resolveCert,
      authorize: authorizeOnCert,
      handler: function listServerCertificateTags(_ctx, i, ref) {
        return tagsPage(existingCert(ref).tags, i.Marker, i.MaxItems);
      },
    }),
  };
}
