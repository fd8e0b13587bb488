/**
 * The AWS managed aliases (`alias/aws/<service>`) that ListAliases shows in every account and
 * Region before any service has used the AWS managed key behind them: AWS lists them without a
 * TargetKeyId ("predefined aliases that AWS has created but has not yet associated with a KMS
 * key", https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html). Which names a
 * new account lists is not documented as a list; these are the ones a new account shows, and
 * docs/kms.md says so. None of them counts against the alias quota.
 */
import type { AliasListEntry } from "@aws-sdk/client-kms";
import type { ScopedIndex } from "../../store/ordered-index.ts";
import { tokenFor, tokenPosition } from "../../store/paging.ts";
import { KMS_TOKENS, type Page } from "./paging.ts";
import { aliasArn, type AliasRecord } from "./state.ts";

export const PREDEFINED_ALIASES: readonly string[] = [
  "alias/aws/acm",
  "alias/aws/dynamodb",
  "alias/aws/ebs",
  "alias/aws/elasticfilesystem",
  "alias/aws/es",
  "alias/aws/glue",
  "alias/aws/kinesisvideo",
  "alias/aws/lambda",
  "alias/aws/rds",
  "alias/aws/redshift",
  "alias/aws/s3",
  "alias/aws/secretsmanager",
  "alias/aws/ssm",
  "alias/aws/xray",
];

/** An alias entry of a record, or of a predefined alias with no key yet (name and ARN only). */
export type ListedAlias = { record: AliasRecord } | { predefined: AliasListEntry };

/**
 * One page of every alias of an account and Region, in name order: the stored aliases (from the
 * index) merged with the predefined aliases that no stored alias has taken yet. The marker is the
 * last name returned, as for the index alone, so markers handed out before stay valid.
 */
export function pageWithPredefined(index: ScopedIndex<AliasRecord>, scope: string, account: string, region: string, limit: number, marker: string | undefined): Page<ListedAlias> {
  const after = tokenPosition(KMS_TOKENS, marker);
  const stored = index.page(scope, { after, limit });
  const taken = (name: string) => index.page(scope, { from: name, limit: 1 }).items[0]?.aliasName === name;
  const predefined = PREDEFINED_ALIASES.filter((n) => (after === undefined || n > after) && !taken(n));
  const merged: { name: string; entry: ListedAlias }[] = [
    ...stored.items.map((r) => ({ name: r.aliasName, entry: { record: r } as ListedAlias })),
    ...predefined.map((n) => ({ name: n, entry: { predefined: { AliasName: n, AliasArn: aliasArn(region, account, n) } } as ListedAlias })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const items = merged.slice(0, limit);
  // more remain when the index has entries past its page, or the merge left some out
  const more = stored.nextKey !== undefined || merged.length > limit;
  const last = items[items.length - 1];
  return { items: items.map((i) => i.entry), Truncated: more, NextMarker: more && last ? tokenFor(KMS_TOKENS, last.name) : undefined };
}
