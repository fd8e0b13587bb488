/**
 * IAM OIDC identity providers (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html):
 * the issuer URL, the client IDs (audiences) tokens may be issued for, optional thumbprints and
 * tags. STS's AssumeRoleWithWebIdentity trusts tokens only from a provider registered here.
 *
 * The URL must be https, as in AWS; localfargate also accepts http for a loopback host (127.0.0.0/8,
 * ::1, localhost), so tests and local pipelines can run their own issuer (docs/iam-sts.md).
 */
import type {
  AddClientIDToOpenIDConnectProviderRequest,
  CreateOpenIDConnectProviderRequest,
  CreateOpenIDConnectProviderResponse,
  DeleteOpenIDConnectProviderRequest,
  GetOpenIDConnectProviderRequest,
  GetOpenIDConnectProviderResponse,
  ListOpenIDConnectProvidersResponse,
  ListOpenIDConnectProviderTagsRequest,
  ListOpenIDConnectProviderTagsResponse,
  RemoveClientIDFromOpenIDConnectProviderRequest,
  TagOpenIDConnectProviderRequest,
  UntagOpenIDConnectProviderRequest,
  UpdateOpenIDConnectProviderThumbprintRequest,
} from "@aws-sdk/client-iam";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation, type OperationTable } from "../../kernel/operation.ts";
import { alreadyExists, checkTagRequest, invalidInput, limitExceeded, mergeTags, noSuchEntity, removeTags, requestTagContext, tagsPage } from "./common.ts";
import { authorizeOnAnyResource, beginIamCall, iamChecks, loggedResponse, type IamEnv } from "./ops.ts";
import type { OidcProviderRec } from "./state.ts";

export const MAX_OIDC_PROVIDERS = 100;
export const MAX_CLIENT_IDS = 100;
export const MAX_THUMBPRINTS = 5;

/** True for a host name that can only be this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * A provider URL as IAM accepts it: https (http only for loopback), a host, an optional path,
 * no query, fragment or credentials. Returns the URL without a trailing slash.
 */
export function checkProviderUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalidInput(`Invalid OpenID Connect provider URL: ${raw}`);
  }
  const loopbackHttp = u.protocol === "http:" && isLoopbackHost(u.hostname);
  if ((u.protocol !== "https:" && !loopbackHttp) || !u.hostname || u.search || u.hash || u.username || u.password || !raw.startsWith(`${u.protocol}//`)) {
    throw invalidInput(`Invalid OpenID Connect provider URL: ${raw}. The URL must begin with https://`);
  }
  return raw.replace(/\/+$/, "");
}

/** The provider's ARN: the URL without its scheme. */
export function oidcProviderArn(accountId: string, url: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${url.replace(/^https?:\/\//, "")}`;
}

function checkThumbprints(list: string[]): string[] {
  if (list.length > MAX_THUMBPRINTS) throw limitExceeded(`Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: ${MAX_THUMBPRINTS}`);
  for (const t of list) if (!/^[0-9a-fA-F]{40}$/.test(t)) throw invalidInput(`Thumbprint ${t} is not a valid SHA-1 hex fingerprint (40 hexadecimal characters).`);
  return [...new Set(list.map((t) => t.toLowerCase()))];
}

function checkClientIds(list: string[]): string[] {
  const unique = [...new Set(list)];
  if (unique.length > MAX_CLIENT_IDS) throw limitExceeded(`Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: ${MAX_CLIENT_IDS}`);
  return unique;
}

interface ProviderRef {
  account: string;
  arn: string;
  found?: OidcProviderRec;
}

const OIDC_ARN = /^arn:aws:iam::(\d{12}):oidc-provider\/.+$/;

type OidcOperation =
  | "CreateOpenIDConnectProvider"
  | "GetOpenIDConnectProvider"
  | "ListOpenIDConnectProviders"
  | "DeleteOpenIDConnectProvider"
  | "AddClientIDToOpenIDConnectProvider"
  | "RemoveClientIDFromOpenIDConnectProvider"
  | "UpdateOpenIDConnectProviderThumbprint"
  | "TagOpenIDConnectProvider"
  | "UntagOpenIDConnectProvider"
  | "ListOpenIDConnectProviderTags";

export function oidcProviderOperations(env: IamEnv): OperationTable<OidcOperation> {
  const { state } = env;

  /** The provider a request names by ARN: a malformed ARN is InvalidInput; another account's is not found. */
  function resolveProvider(ctx: RequestContext, i: { OpenIDConnectProviderArn?: string }): ProviderRef {
    const account = beginIamCall(env, ctx);
    const arn = i.OpenIDConnectProviderArn!;
    if (!OIDC_ARN.test(arn)) throw invalidInput(`ARN ${arn} is not valid.`);
    const found = state.findOidcProvider(account, arn);
    return { account, arn, ...(found ? { found } : {}) };
  }
  function existingProvider(ref: ProviderRef): OidcProviderRec {
    if (!ref.found) throw noSuchEntity(`OpenIDConnect Provider not found for arn ${ref.arn}`);
    return ref.found;
  }
  const authorizeOnProvider = (ctx: RequestContext, _i: object, ref: ProviderRef) => iamChecks(ctx, ref.arn, { tags: ref.found?.tags });

  return {
    CreateOpenIDConnectProvider: defineOperation<CreateOpenIDConnectProviderRequest, CreateOpenIDConnectProviderResponse, { account: string; url: string; arn: string }>({
      resolve: function resolveNewProvider(ctx, i) {
        const account = beginIamCall(env, ctx);
        const url = checkProviderUrl(i.Url!);
        return { account, url, arn: oidcProviderArn(account, url) };
      },
      authorize: function authorizeCreateProvider(ctx, i, { arn }) {
        return iamChecks(ctx, arn, { context: requestTagContext(i.Tags) });
      },
      handler: function createOpenIdConnectProvider(ctx, i, { account, url, arn }) {
        if (state.findOidcProvider(account, arn)) throw alreadyExists(`Provider with url ${url} already exists.`);
        if (state.oidcProviders.index("byAccount").all(account).length >= MAX_OIDC_PROVIDERS) {
          throw limitExceeded(`Cannot exceed quota for OpenIdConnectProvidersPerAccount: ${MAX_OIDC_PROVIDERS}`);
        }
        checkTagRequest(i.Tags);
        const rec: OidcProviderRec = {
          arn,
          accountId: account,
          url,
          clientIds: checkClientIds(i.ClientIDList ?? []),
          thumbprints: checkThumbprints(i.ThumbprintList ?? []),
          createDate: ctx.now,
          tags: mergeTags([], i.Tags ?? [], "OpenIdConnectProvider"),
        };
        state.saveOidcProvider(ctx, rec);
        return { OpenIDConnectProviderArn: arn, ...(rec.tags.length ? { Tags: rec.tags } : {}) };
      },
      audit: { responseElements: loggedResponse },
    }),

    GetOpenIDConnectProvider: defineOperation<GetOpenIDConnectProviderRequest, GetOpenIDConnectProviderResponse, ProviderRef>({
      readOnly: true,
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function getOpenIdConnectProvider(_ctx, _i, ref) {
        const p = existingProvider(ref);
        return {
          // IAM answers the URL without its scheme
          Url: p.url.replace(/^https?:\/\//, ""),
          ClientIDList: p.clientIds,
          ThumbprintList: p.thumbprints,
          CreateDate: p.createDate,
          ...(p.tags.length ? { Tags: p.tags } : {}),
        };
      },
    }),

    ListOpenIDConnectProviders: defineOperation<object, ListOpenIDConnectProvidersResponse, string>({
      readOnly: true,
      resolve: function resolveCallerAccount(ctx) {
        return beginIamCall(env, ctx);
      },
      authorize: authorizeOnAnyResource,
      handler: function listOpenIdConnectProviders(_ctx, _i, account) {
        return {
          OpenIDConnectProviderList: state.oidcProviders
            .index("byAccount")
            .all(account)
            .map((p) => ({ Arn: p.arn })),
        };
      },
    }),

    // Deleting a provider that is not there succeeds (the API reference: the operation is idempotent).
    DeleteOpenIDConnectProvider: defineOperation<DeleteOpenIDConnectProviderRequest, object, ProviderRef>({
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function deleteOpenIdConnectProvider(ctx, _i, ref) {
        if (ref.found) state.deleteOidcProvider(ctx, ref.found);
        return {};
      },
    }),

    AddClientIDToOpenIDConnectProvider: defineOperation<AddClientIDToOpenIDConnectProviderRequest, object, ProviderRef>({
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function addClientIdToOpenIdConnectProvider(ctx, i, ref) {
        const p = existingProvider(ref);
        if (!p.clientIds.includes(i.ClientID!)) {
          p.clientIds = checkClientIds([...p.clientIds, i.ClientID!]);
          state.saveOidcProvider(ctx, p);
        }
        return {};
      },
    }),

    RemoveClientIDFromOpenIDConnectProvider: defineOperation<RemoveClientIDFromOpenIDConnectProviderRequest, object, ProviderRef>({
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function removeClientIdFromOpenIdConnectProvider(ctx, i, ref) {
        const p = existingProvider(ref);
        if (p.clientIds.includes(i.ClientID!)) {
          p.clientIds = p.clientIds.filter((c) => c !== i.ClientID);
          state.saveOidcProvider(ctx, p);
        }
        return {};
      },
    }),

    UpdateOpenIDConnectProviderThumbprint: defineOperation<UpdateOpenIDConnectProviderThumbprintRequest, object, ProviderRef>({
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function updateOpenIdConnectProviderThumbprint(ctx, i, ref) {
        const p = existingProvider(ref);
        p.thumbprints = checkThumbprints(i.ThumbprintList ?? []);
        state.saveOidcProvider(ctx, p);
        return {};
      },
    }),

    TagOpenIDConnectProvider: defineOperation<TagOpenIDConnectProviderRequest, object, ProviderRef>({
      resolve: resolveProvider,
      authorize: function authorizeTagProvider(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: requestTagContext(i.Tags), tags: ref.found?.tags });
      },
      handler: function tagOpenIdConnectProvider(ctx, i, ref) {
        const p = existingProvider(ref);
        p.tags = mergeTags(p.tags, i.Tags ?? [], "OpenIdConnectProvider");
        state.saveOidcProvider(ctx, p);
        return {};
      },
    }),

    UntagOpenIDConnectProvider: defineOperation<UntagOpenIDConnectProviderRequest, object, ProviderRef>({
      resolve: resolveProvider,
      authorize: function authorizeUntagProvider(ctx, i, ref) {
        return iamChecks(ctx, ref.arn, { context: { "aws:TagKeys": i.TagKeys ?? [] }, tags: ref.found?.tags });
      },
      handler: function untagOpenIdConnectProvider(ctx, i, ref) {
        const p = existingProvider(ref);
        p.tags = removeTags(p.tags, i.TagKeys ?? []);
        state.saveOidcProvider(ctx, p);
        return {};
      },
    }),

    ListOpenIDConnectProviderTags: defineOperation<ListOpenIDConnectProviderTagsRequest, ListOpenIDConnectProviderTagsResponse, ProviderRef>({
      readOnly: true,
      resolve: resolveProvider,
      authorize: authorizeOnProvider,
      handler: function listOpenIdConnectProviderTags(_ctx, i, ref) {
        return tagsPage(existingProvider(ref).tags, i.Marker, i.MaxItems);
      },
    }),
  };
}
