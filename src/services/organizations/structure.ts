/**
 * The tree of an organization: parents, depth, the AWS managed policies every new root, OU and
 * account carries for each enabled policy type, and what removing an account takes with it.
 */
import { isAuthorizationType, type OrgRec, type OuRec } from "./model.ts";
import { constraint } from "./errors.ts";
import { managedPolicyOf } from "./policies.ts";

/** OUs nest at most five levels below the root. */
export const MAX_OU_DEPTH = 5;
/** Most OUs in an organization. */
export const MAX_OUS = 1000;

export const isParent = (org: OrgRec, id: string): boolean => id === org.root.id || org.ous.some((o) => o.id === id);

/** How deep an OU (or the root, 0) is. */
export function depthOf(org: OrgRec, id: string): number {
  let depth = 0;
  let at: OuRec | undefined = org.ous.find((o) => o.id === id);
  while (at) {
    depth++;
    at = org.ous.find((o) => o.id === at!.parentId);
  }
  return depth;
}

/** A new root, OU or account gets the AWS managed policy of each enabled authorization type (management types have none). */
export function attachDefaults(org: OrgRec, targetId: string): void {
  for (const type of org.root.policyTypes.filter(isAuthorizationType)) {
    const id = managedPolicyOf(type).id;
    if (!org.attachments.some(([t, p]) => t === targetId && p === id)) org.attachments.push([targetId, id]);
  }
}

/** Forgets everything of a target: its attachments and tags. */
export function forgetTarget(org: OrgRec, targetId: string): void {
  org.attachments = org.attachments.filter(([t]) => t !== targetId);
  org.tags = org.tags.filter(([r]) => r !== targetId);
}

/**
 * Takes an account out of the organization with its attachments and tags. A delegated
 * administrator must be deregistered first (ConstraintViolationException
 * CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG,
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_RemoveAccountFromOrganization.html).
 */
export function detachEverything(org: OrgRec, accountId: string): void {
  if (org.delegatedAdmins.some((d) => d.accountId === accountId)) {
    throw constraint(
      "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
      "You attempted to remove an account that's registered as a delegated administrator for a service integrated with your organization. To complete this operation, you must first deregister this account as a delegated administrator.",
    );
  }
  org.accounts = org.accounts.filter((a) => a.id !== accountId);
  forgetTarget(org, accountId);
  org.delegatedAdmins = org.delegatedAdmins.filter((d) => d.accountId !== accountId);
}
