/**
 * The account-level Block Public Access configuration, S3 Control's GetPublicAccessBlock,
 * PutPublicAccessBlock and DeletePublicAccessBlock
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_PutPublicAccessBlock.html):
 * `GET|PUT|DELETE /v20180820/configuration/publicAccessBlock` with the account in
 * `x-amz-account-id`. The configuration is the caller's own account's, for every Region; another
 * account id is AccessDenied, as S3 answers it. The IAM actions are
 * `s3:GetAccountPublicAccessBlock` (Get) and `s3:PutAccountPublicAccessBlock` (Put and Delete) on
 * `*`, and CloudTrail names the calls GetAccountPublicAccessBlock, PutAccountPublicAccessBlock
 * and DeleteAccountPublicAccessBlock (event source s3.amazonaws.com). What it enforces is in
 * public-access.ts.
 */
import type { RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { booleanOf, rootOf } from "./bucket-config.ts";
import type { S3Input, S3Output } from "./protocol.ts";
import type { PublicAccessBlock, S3Storage } from "./storage.ts";

export const S3_CONTROL_XMLNS = "http://awss3control.amazonaws.com/doc/2018-08-20/";

/** The S3 Control resource path of the account's configuration. */
export const ACCOUNT_PUBLIC_ACCESS_BLOCK_PATH = "/v20180820/configuration/publicAccessBlock";

const SETTINGS = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] as const;

/** The account the call names: it must be the caller's own (S3 answers any other with AccessDenied). */
function callersAccount(ctx: RequestContext, input: S3Input): string {
  const named = input.headers["x-amz-account-id"];
  if (named === undefined || named !== ctx.principal.accountId || !/^\d{12}$/.test(named)) throw new ServiceError("AccessDenied", "Access Denied", 403);
  return named;
}

/** A PutPublicAccessBlock body: each setting `true` or `false`, absent ones off. */
export function parseAccountPublicAccessBlock(body: Buffer): PublicAccessBlock {
  const el = rootOf(body, "PublicAccessBlockConfiguration");
  const out = {} as PublicAccessBlock;
  for (const k of SETTINGS) out[k] = booleanOf(el, k) ?? false;
  return out;
}

const requestParameters = (input: S3Input, extra: Record<string, unknown> = {}) => ({ accountId: input.headers["x-amz-account-id"] ?? null, Host: input.Host, ...extra });

function accountOperation(
  readOnly: boolean,
  action: string,
  handler: (ctx: RequestContext, input: S3Input, accountId: string) => S3Output,
  extra?: (input: S3Input) => Record<string, unknown>,
) {
  return defineOperation<S3Input, S3Output, string>({
    readOnly,
    action,
    resolve: (ctx, input) => callersAccount(ctx, input),
    authorize: () => [{ action, resource: "*" }],
    handler,
    audit: { requestParameters: (input) => requestParameters(input, extra?.(input)) },
  });
}

export function getAccountPublicAccessBlockOperation(storage: S3Storage) {
  return accountOperation(true, "s3:GetAccountPublicAccessBlock", (_ctx, _input, accountId) => {
    const configuration = storage.accountPublicAccessBlock(accountId);
    if (!configuration) throw new ServiceError("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found", 404);
    return { xml: { root: "PublicAccessBlockConfiguration", body: { ...configuration }, xmlns: S3_CONTROL_XMLNS } };
  });
}

export function putAccountPublicAccessBlockOperation(storage: S3Storage) {
  return accountOperation(
    false,
    "s3:PutAccountPublicAccessBlock",
    (ctx, input, accountId) => {
      const configuration = parseAccountPublicAccessBlock(input.Body);
      ctx.writes.push(...storage.setAccountPublicAccessBlock(accountId, configuration));
      return { status: 200 };
    },
    (input) => {
      try {
        return { PublicAccessBlockConfiguration: { xmlns: S3_CONTROL_XMLNS, ...parseAccountPublicAccessBlock(input.Body) } };
      } catch {
        return {};
      }
    },
  );
}

export function deleteAccountPublicAccessBlockOperation(storage: S3Storage) {
  return accountOperation(false, "s3:PutAccountPublicAccessBlock", (ctx, _input, accountId) => {
    ctx.writes.push(...storage.setAccountPublicAccessBlock(accountId, undefined));
    return { status: 204 };
  });
}
