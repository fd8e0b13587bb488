/**
 * Organization trails (IsOrganizationTrail): created or turned on by the management account of
 * an organization with all features and trusted access for CloudTrail
 * (EnableAWSServiceAccess for cloudtrail.amazonaws.com), they log the events of every account
 * in the organization, each account's files under `AWSLogs/<organization id>/<account>/`
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/creating-trail-organization.html).
 * Each account has its own digest chain per Region, keyed `<account>/<region>`; a trail of one
 * account keys its chains by Region alone.
 */
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import { ctError } from "./trails.ts";
import type { TrailState } from "./trails.ts";

export const CLOUDTRAIL_PRINCIPAL = "cloudtrail.amazonaws.com";

/** The organization a trail made from this call logs, after CloudTrail's checks; undefined for a trail of one account. */
export function organizationForTrail(ctx: RequestContext, wanted: boolean | undefined): string | undefined {
  if (!wanted) return undefined;
  const orgs = ctx.app.find("organizations");
  const org = orgs?.organizationOf(ctx.principal.accountId);
  if (!orgs || !org) throw ctError("OrganizationsNotInUseException", "This account is not a member of an organization.");
  if (org.managementAccountId !== ctx.principal.accountId) {
    throw ctError("NotOrganizationMasterAccountException", "This operation can be performed only by the management account of an organization.");
  }
  if (org.featureSet !== "ALL") throw ctError("OrganizationNotInAllFeaturesModeException", "This operation requires that all features are enabled in the organization.");
  if (!orgs.serviceAccessEnabled(org.id, CLOUDTRAIL_PRINCIPAL)) {
    throw ctError(
      "CloudTrailAccessNotEnabledException",
      "Trusted access for CloudTrail is not enabled in AWS Organizations. Enable it with EnableAWSServiceAccess for cloudtrail.amazonaws.com.",
    );
  }
  return org.id;
}

/** The accounts whose events an organization trail delivers now (the trail's own account for any other trail). */
export function trailAccounts(app: AppContext, t: TrailState): ReadonlySet<string> {
  if (!t.organizationId) return new Set([t.accountId]);
  return new Set([t.accountId, ...(app.find("organizations")?.accountIds(t.organizationId) ?? [])]);
}

export function chainKey(t: TrailState, account: string, region: string): string {
  return t.organizationId ? `${account}/${region}` : region;
}

export function chainParts(t: TrailState, key: string): { account: string; region: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { account: t.accountId, region: key } : { account: key.slice(0, slash), region: key.slice(slash + 1) };
}

/** `AWSLogs/<account>/` or, for an organization trail, `AWSLogs/<organization id>/<account>/`. */
export function logsPrefix(t: TrailState, account: string): string {
  return t.organizationId ? `AWSLogs/${t.organizationId}/${account}/` : `AWSLogs/${account}/`;
}
