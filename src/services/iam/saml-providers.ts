/**
 * IAM SAML providers (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_saml.html):
 * a name and the identity provider's metadata document, whose signing certificates STS's
 * AssumeRoleWithSAML verifies assertions against. Assertion encryption (private keys) is not
 * offered: localfargate accepts signed, unencrypted assertions only (docs/iam-sts.md).
 */
import type {
  CreateSAMLProviderRequest,
  CreateSAMLProviderResponse,
  DeleteSAMLProviderRequest,
  GetSAMLProviderRequest,
  GetSAMLProviderResponse,
  ListSAMLProvidersResponse,
  UpdateSAMLProviderRequest,
  UpdateSAMLProviderResponse,
} from "@aws-sdk/client-iam";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { alreadyExists, checkTagRequest, invalidInput, limitExceeded, mergeTags, noSuchEntity, requestTagContext } from "./common.ts";
import { authorizeOnAnyResource, beginIamCall, iamChecks, loggedResponse, type IamEnv } from "./ops.ts";
import { parseSamlMetadata } from "./saml-metadata.ts";
import type { SamlProviderRec } from "./state.ts";

export const MAX_SAML_PROVIDERS = 100;
const SAML_ARN = /^arn:aws:iam::(\d{12}):saml-provider\/([\w._-]{1,128})$/;

export const samlProviderArn = (accountId: string, name: string) => `arn:aws:iam::${accountId}:saml-provider/${name}`;

interface ProviderRef {
  account: string;
  arn: string;
  found?: SamlProviderRec;
}

type SamlOperation = "CreateSAMLProvider" | "GetSAMLProvider" | "ListSAMLProviders" | "UpdateSAMLProvider" | "DeleteSAMLProvider";

export function samlProviderOperations(env: IamEnv): OperationTable<SamlOperation> {
  const { state } = env;

  function resolveProvider(ctx: RequestContext, i: { SAMLProviderArn?: string }): ProviderRef {
    const account = beginIamCall(env, ctx);
    const arn = i.SAMLProviderArn!;
    if (!SAML_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
    const found = state.findSamlProvider(account, arn);
    return { account, arn, ...(found ? { found } : {}) };
  }
  function existingProvider(ref: ProviderRef): SamlProviderRec {
    if (!ref.found) throw noSuchEntity(`Manifest not found for arn ${ref.arn}`);
    return ref.found;
  }
  const authorizeOnProvider = (ctx: RequestContext, _i: object, ref: ProviderRef) => iamChecks(ctx, ref.arn, { tags: ref.found?.tags });

  return {
    CreateSAMLProvider: defineOperation<CreateSAMLProviderRequest, CreateSAMLProviderResponse, { account: string; arn: string }>({
      resolve: function resolveNewSamlProvider(ctx, i) {
        const account = beginIamCall(env, ctx);
        return { account, arn: samlProviderArn(account, i.Name!) };
      },
      authorize: function authorizeCreateSamlProvider(ctx, i, { arn }) {
        return iamChecks(ctx, arn, { context: requestTagContext(i.Tags) });
      },
      handler: function createSamlProvider(ctx, i, { account, arn }) {
        if (i.AddPrivateKey !== undefined || (i.AssertionEncryptionMode !== undefined && i.AssertionEncryptionMode !== "Allowed")) {
          throw invalidInput("Encrypted SAML assertions are not supported by localfargate: omit AddPrivateKey and AssertionEncryptionMode.");
        }
        if (state.findSamlProvider(account, arn)) throw alreadyExists(`SAMLProvider named ${i.Name} already exists`);
        if (state.samlProviders.index("byAccount").all(account).length >= MAX_SAML_PROVIDERS) {
          throw limitExceeded(`Cannot exceed quota for SamlProvidersPerAccount: ${MAX_SAML_PROVIDERS}`);
        }
        const meta = parseSamlMetadata(i.SAMLMetadataDocument!);
        checkTagRequest(i.Tags);
        const rec: SamlProviderRec = {
          arn,
          accountId: account,
          name: i.Name!,
          metadata: i.SAMLMetadataDocument!,
          entityId: meta.entityId,
          certificates: meta.certificates,
          ...(meta.validUntil ? { validUntil: meta.validUntil } : {}),
          createDate: ctx.now,
          tags: mergeTags([], i.Tags ?? [], "SamlProvider"),
        };
        state.saveSamlProvider(ctx, rec);
        return { SAMLProviderArn: arn, ...(rec.tags.length ? { Tags: rec.tags } : {}) };
      },
      audit: {
        // the metadata document is long and public; CloudTrail keeps the name
        requestParameters: (i) => ({ name: i.Name }),
        responseElements: loggedResponse,
      },
    }),

    GetSAMLProvider: defineOperation<GetSAMLProviderRequest, GetSAMLProviderResponse, ProviderRef>({
      readOnly: true,
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function getSamlProvider(_ctx, _i, ref) {
        const p = existingProvider(ref);
        return {
          SAMLMetadataDocument: p.metadata,
          CreateDate: p.createDate,
          ...(p.validUntil ? { ValidUntil: p.validUntil } : {}),
          ...(p.tags.length ? { Tags: p.tags } : {}),
        };
      },
    }),

    ListSAMLProviders: defineOperation<object, ListSAMLProvidersResponse, string>({
      readOnly: true,
      resolve: function resolveCallerAccount(ctx) {
        return beginIamCall(env, ctx);
      },
      authorize: authorizeOnAnyResource,
      handler: function listSamlProviders(_ctx, _i, account) {
        return {
          SAMLProviderList: state.samlProviders
            .index("byAccount")
            .all(account)
            .map((p) => ({ Arn: p.arn, CreateDate: p.createDate, ...(p.validUntil ? { ValidUntil: p.validUntil } : {}) })),
        };
      },
    }),

    UpdateSAMLProvider: defineOperation<UpdateSAMLProviderRequest, UpdateSAMLProviderResponse, ProviderRef>({
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function updateSamlProvider(ctx, i, ref) {
        const p = existingProvider(ref);
        if (i.AddPrivateKey !== undefined || i.RemovePrivateKey !== undefined || (i.AssertionEncryptionMode !== undefined && i.AssertionEncryptionMode !== "Allowed")) {
          throw invalidInput("Encrypted SAML assertions are not supported by localfargate: omit AddPrivateKey, RemovePrivateKey and AssertionEncryptionMode.");
        }
        if (i.SAMLMetadataDocument === undefined) throw invalidInput("SAMLMetadataDocument is required.");
        const meta = parseSamlMetadata(i.SAMLMetadataDocument);
        p.metadata = i.SAMLMetadataDocument;
        p.entityId = meta.entityId;
        p.certificates = meta.certificates;
        if (meta.validUntil) p.validUntil = meta.validUntil;
        else delete p.validUntil;
        state.saveSamlProvider(ctx, p);
        return { SAMLProviderArn: p.arn };
      },
      audit: { requestParameters: (i) => ({ sAMLProviderArn: i.SAMLProviderArn }) },
    }),

    DeleteSAMLProvider: defineOperation<DeleteSAMLProviderRequest, object, ProviderRef>({
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function deleteSamlProvider(ctx, _i, ref) {
        state.deleteSamlProvider(ctx, existingProvider(ref));
        return {};
      },
    }),
  };
}
