/**
 * What makes an account's effective management policy invalid: each policy on its own passes
 * CreatePolicy's syntax checks (management-policies.ts), but what the account inherits can still
 * lack what the policy type's service needs to enforce it — a backup plan left without Regions
 * after an OU's `@@remove`, a plan assembled from several levels that never names a vault. AWS
 * reports these as the account's effective policy validation errors
 * (https://docs.aws.amazon.com/organizations/latest/userguide/invalid-policy-alerts.html); the
 * rules checked here are from the types' syntax pages and are described in
 * docs/organizations.md ("Invalid effective policies").
 *
 * Backup policies: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_backup_syntax.html
 * Tag policies: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_example-tag-policies.html
 */
import type { ManagementPolicyType } from "./model.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** One fault of an effective policy: where it is (a dotted path into the effective document) and what it is. */
export interface EffectivePolicyFault {
  code: "ELEMENTS_TOO_FEW";
  message: string;
  path: string;
  /** the top-level entry (backup plan, tag key) the fault is in: the policies that set it contributed */
  entry: string;
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
/** How many things an element holds: an array's values, an object's named children, one for any other value. */
const count = (v: Json | undefined): number => (v === undefined || v === null ? 0 : Array.isArray(v) ? v.length : isObject(v) ? Object.keys(v).length : 1);

function tooFew(path: string, entry: string, what: string): EffectivePolicyFault {
  return { code: "ELEMENTS_TOO_FEW", path, entry, message: `${path} must contain at least one ${what}.` };
}

/** A backup plan needs Regions, at least one rule (each with a target vault) and at least one selection (each with an IAM role). */
function backupFaults(plans: JsonObject): EffectivePolicyFault[] {
  const faults: EffectivePolicyFault[] = [];
  for (const [name, plan] of Object.entries(plans)) {
    const at = `plans.${name}`;
    const p = isObject(plan) ? plan : {};
    if (count(p.regions) === 0) faults.push(tooFew(`${at}.regions`, name, "Region"));
    if (count(p.rules) === 0) faults.push(tooFew(`${at}.rules`, name, "rule"));
    for (const [rule, body] of Object.entries(isObject(p.rules) ? p.rules : {})) {
      if (count((body as JsonObject | null)?.target_backup_vault_name) === 0) faults.push(tooFew(`${at}.rules.${rule}.target_backup_vault_name`, name, "backup vault name"));
    }
    const selections = isObject(p.selections) ? p.selections : {};
    const named = Object.entries(selections).flatMap(([kind, v]) => (isObject(v) ? Object.entries(v).map(([n, s]) => [`${kind}.${n}`, s] as const) : []));
    if (named.length === 0) faults.push(tooFew(`${at}.selections`, name, "resource selection"));
    for (const [sel, body] of named) {
      if (count((body as JsonObject | null)?.iam_role_arn) === 0) faults.push(tooFew(`${at}.selections.${sel}.iam_role_arn`, name, "IAM role ARN"));
    }
  }
  return faults;
}

/** A tag whose compliant values were all removed on the way down leaves no value compliant. */
function tagFaults(tags: JsonObject): EffectivePolicyFault[] {
  const faults: EffectivePolicyFault[] = [];
  for (const [name, tag] of Object.entries(tags)) {
    const values = isObject(tag) ? tag.tag_value : undefined;
    if (Array.isArray(values) && values.length === 0) faults.push(tooFew(`tags.${name}.tag_value`, name, "compliant tag value"));
  }
  return faults;
}

/**
 * The faults of an effective policy (as DescribeEffectivePolicy renders it, operators resolved).
 * AI opt-out, chat applications and EC2 declarative policies that pass CreatePolicy's checks
 * always merge into something their services accept: they have none.
 */
export function effectivePolicyFaults(type: ManagementPolicyType, content: string): EffectivePolicyFault[] {
  const doc = JSON.parse(content) as JsonObject;
  if (type === "BACKUP_POLICY" && isObject(doc.plans)) return backupFaults(doc.plans);
  if (type === "TAG_POLICY" && isObject(doc.tags)) return tagFaults(doc.tags);
  return [];
}

/** Whether a policy document sets the top-level entry `entry` (tag keys ignoring case, as they merge). */
export function policySetsEntry(type: ManagementPolicyType, content: string, entry: string): boolean {
  const doc = JSON.parse(content) as JsonObject;
  const top = type === "BACKUP_POLICY" ? doc.plans : type === "TAG_POLICY" ? doc.tags : undefined;
  if (!isObject(top)) return false;
  return Object.keys(top).some((k) => (type === "TAG_POLICY" ? k.toLowerCase() === entry : k === entry));
}
