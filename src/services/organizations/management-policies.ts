/**
 * Management policies (tag, backup, AI services opt-out, chat applications, EC2 declarative):
 * their syntax — settings nested under the type's top-level key, each set with an inheritance
 * operator — and the effective policy of an account, merged from the root down through each OU
 * to the account with the value-setting and child control operators.
 *
 * Syntax and inheritance: https://docs.aws.amazon.com/organizations/latest/userguide/syntax-inheritance.html
 * Operators: https://docs.aws.amazon.com/organizations/latest/userguide/policy-operators.html
 * Tag policies: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_example-tag-policies.html
 * Backup policies: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_backup_syntax.html
 * AI opt-out: https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_ai-opt-out_syntax.html
 */
import { malformedPolicy } from "./errors.ts";
import type { ManagementPolicyType } from "./model.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const ASSIGN = "@@assign";
const APPEND = "@@append";
const REMOVE = "@@remove";
const CHILD_OPERATORS = "@@operators_allowed_for_child_policies";
const VALUE_OPERATORS = [ASSIGN, APPEND, REMOVE] as const;
type ValueOperator = (typeof VALUE_OPERATORS)[number];

/** The one top-level key each type's documents are written under. */
const TOP_LEVEL: Record<ManagementPolicyType, string> = {
  TAG_POLICY: "tags",
  BACKUP_POLICY: "plans",
  AISERVICES_OPT_OUT_POLICY: "services",
  CHATBOT_POLICY: "chatbot",
  DECLARATIVE_POLICY_EC2: "ec2_attributes",
};

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);
const isValueOperator = (k: string): k is ValueOperator => (VALUE_OPERATORS as readonly string[]).includes(k);

// ---- syntax ----

/** Checks a management policy document; throws MalformedPolicyDocumentException naming the fault. */
export function checkManagementPolicy(type: ManagementPolicyType, content: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(content);
  } catch {
    throw malformedPolicy("The policy isn't valid JSON.");
  }
  if (!isObject(doc)) throw malformedPolicy("The policy must be a JSON object.");
  const top = TOP_LEVEL[type];
  for (const key of Object.keys(doc)) {
    if (key !== top) throw malformedPolicy(`Unexpected top-level key "${key}": a ${type} has only "${top}".`);
  }
  if (!isObject(doc[top])) throw malformedPolicy(`"${top}" must be a JSON object.`);
  // the type's key holds named settings (tag keys, plans, services), never a value of its own
  if (Object.keys(doc[top]).some(isValueOperator)) throw malformedPolicy(`"${top}" takes named settings, not a value operator.`);
  checkNode(doc[top], top);
  if (type === "TAG_POLICY") checkTagPolicy(doc[top]);
  if (type === "AISERVICES_OPT_OUT_POLICY") checkOptOutPolicy(doc[top]);
  if (type === "BACKUP_POLICY") checkBackupPolicy(doc[top]);
}

/** The operator grammar every management policy shares. */
function checkNode(node: JsonObject, path: string): void {
  const keys = Object.keys(node);
  const setsValue = keys.some(isValueOperator);
  for (const key of keys) {
    const value = node[key];
    const at = `${path}.${key}`;
    if (key === CHILD_OPERATORS) {
      checkChildOperators(value, at);
    } else if (isValueOperator(key)) {
      if ((key === APPEND || key === REMOVE) && !Array.isArray(value)) throw malformedPolicy(`${at} must be a JSON array: ${key} applies only to multi-valued settings.`);
    } else if (key.startsWith("@@")) {
      throw malformedPolicy(`Unknown operator ${key} at ${path}.`);
    } else if (setsValue) {
      throw malformedPolicy(`${path} sets a value with an operator and also has the child "${key}".`);
    } else if (!isObject(value)) {
      throw malformedPolicy(`${at} must be set with an inheritance operator such as @@assign.`);
    } else {
      checkNode(value, at);
    }
  }
}

function checkChildOperators(value: Json, at: string): void {
  const allowed = ["@@all", "@@none", ...VALUE_OPERATORS];
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "string" || !allowed.includes(v))) {
    throw malformedPolicy(`${at} must be a non-empty array of @@all, @@none, @@assign, @@append or @@remove.`);
  }
  if (value.length > 1 && value.some((v) => v === "@@all" || v === "@@none")) throw malformedPolicy(`${at}: @@all and @@none stand alone.`);
}

const TAG_SETTINGS = ["tag_key", "tag_value", "enforced_for", "report_required_tag_for", CHILD_OPERATORS];
const stringArray = (v: Json | undefined) => Array.isArray(v) && v.every((x) => typeof x === "string");

function checkTagPolicy(tags: JsonObject): void {
  for (const [name, tag] of Object.entries(tags)) {
    if (name === CHILD_OPERATORS) continue;
    const t = tag as JsonObject;
    for (const key of Object.keys(t)) if (!TAG_SETTINGS.includes(key)) throw malformedPolicy(`Unexpected key "${key}" in tag policy entry "${name}".`);
    const tagKey = t.tag_key as JsonObject | undefined;
    if (tagKey?.[ASSIGN] !== undefined) {
      const k = tagKey[ASSIGN];
      if (typeof k !== "string" || k.length < 1 || k.length > 128) throw malformedPolicy(`tags.${name}.tag_key must assign a tag key of 1 to 128 characters.`);
      if (k.toLowerCase() !== name.toLowerCase()) throw malformedPolicy(`tags.${name}.tag_key must match the policy key "${name}", ignoring case.`);
    }
    for (const setting of ["tag_value", "enforced_for", "report_required_tag_for"]) {
      const s = t[setting] as JsonObject | undefined;
      for (const op of VALUE_OPERATORS) {
        if (s?.[op] !== undefined && !stringArray(s[op])) throw malformedPolicy(`tags.${name}.${setting}.${op} must be an array of strings.`);
      }
    }
    const enforced = t.enforced_for as JsonObject | undefined;
    for (const op of VALUE_OPERATORS) {
      for (const r of (enforced?.[op] as string[] | undefined) ?? []) {
        if (!/^[a-z0-9-]+:([A-Za-z0-9_-]+|\*)$/.test(r)) throw malformedPolicy(`tags.${name}.enforced_for: "${r}" is not service:resource-type.`);
      }
    }
  }
}

function checkOptOutPolicy(services: JsonObject): void {
  for (const [name, service] of Object.entries(services)) {
    if (name === CHILD_OPERATORS) continue;
    for (const key of Object.keys(service as JsonObject)) {
      if (key !== "opt_out_policy" && key !== CHILD_OPERATORS) throw malformedPolicy(`Unexpected key "${key}" in services.${name}: only opt_out_policy.`);
    }
    const policy = (service as JsonObject).opt_out_policy as JsonObject | undefined;
    for (const op of VALUE_OPERATORS) {
      if (policy?.[op] === undefined) continue;
      if (op !== ASSIGN || (policy[op] !== "optIn" && policy[op] !== "optOut")) throw malformedPolicy(`services.${name}.opt_out_policy must assign "optIn" or "optOut".`);
    }
  }
}

const BACKUP_PLAN_KEYS = ["regions", "rules", "selections", "advanced_backup_settings", "backup_plan_tags", CHILD_OPERATORS];

function checkBackupPolicy(plans: JsonObject): void {
  for (const [name, plan] of Object.entries(plans)) {
    if (name === CHILD_OPERATORS) continue;
    for (const key of Object.keys(plan as JsonObject)) {
      if (!BACKUP_PLAN_KEYS.includes(key)) throw malformedPolicy(`Unexpected key "${key}" in backup plan "${name}".`);
    }
    const regions = (plan as JsonObject).regions as JsonObject | undefined;
    for (const op of VALUE_OPERATORS) {
      if (regions?.[op] !== undefined && !stringArray(regions[op])) throw malformedPolicy(`plans.${name}.regions.${op} must be an array of Region names.`);
    }
  }
}

// ---- inheritance ----

interface EffectiveNode {
  kids: Map<string, EffectiveNode>;
  value?: Json;
  /** value-setting operators the policies below the levels merged so far may use here and beneath */
  allowed: Set<ValueOperator>;
}

const newNode = (allowed: Set<ValueOperator>): EffectiveNode => ({ kids: new Map(), allowed: new Set(allowed) });
const sameJson = (a: Json, b: Json) => JSON.stringify(a) === JSON.stringify(b);

function applyOperator(node: EffectiveNode, op: ValueOperator, value: Json): void {
  if (op === ASSIGN) {
    node.value = structuredClone(value);
    return;
  }
  const current = Array.isArray(node.value) ? node.value : node.value === undefined ? [] : [node.value];
  const values = value as Json[];
  if (op === APPEND) node.value = [...current, ...values.filter((v) => !current.some((c) => sameJson(c, v)))];
  else if (node.value !== undefined) node.value = current.filter((c) => !values.some((v) => sameJson(c, v)));
}

/**
 * Merges one policy's node into the effective tree; child control operators are collected for
 * after the level. `foldUnder` names the child whose own children are matched ignoring case.
 */
function mergeNode(node: EffectiveNode, doc: JsonObject, restrictions: [EffectiveNode, Json][], foldUnder?: string, fold = false): void {
  for (const [name, value] of Object.entries(doc)) {
    const key = fold && !name.startsWith("@@") ? name.toLowerCase() : name;
    if (key === CHILD_OPERATORS) restrictions.push([node, value]);
    else if (isValueOperator(key)) {
      // an operator a parent level withheld is ignored for this setting
      if (node.allowed.has(key)) applyOperator(node, key, value);
    } else if (isObject(value)) {
      let kid = node.kids.get(key);
      if (!kid) node.kids.set(key, (kid = newNode(node.allowed)));
      mergeNode(kid, value, restrictions, undefined, key === foldUnder);
    }
  }
}

function restrict(node: EffectiveNode, operators: Json): void {
  const list = operators as string[];
  const keep = list.includes("@@all") ? new Set<string>(VALUE_OPERATORS) : new Set(list);
  const walk = (n: EffectiveNode) => {
    for (const op of [...n.allowed]) if (!keep.has(op)) n.allowed.delete(op);
    for (const k of n.kids.values()) walk(k);
  };
  walk(node);
}

function render(node: EffectiveNode): Json | undefined {
  if (node.kids.size === 0) return node.value;
  // fromEntries defines own properties, so a setting named "__proto__" stays a setting
  const entries = [...node.kids].flatMap(([k, kid]) => {
    const v = render(kid);
    return v === undefined ? [] : [[k, v] as const];
  });
  return entries.length ? (Object.fromEntries(entries) as JsonObject) : node.value;
}

/**
 * The effective policy of an account from the documents of a type attached at each level (root
 * first, the account last); undefined when nothing applies.
 */
export function effectiveManagementPolicy(type: ManagementPolicyType, levels: string[][]): string | undefined {
  const root = newNode(new Set(VALUE_OPERATORS));
  // a tag policy's policy keys are not case sensitive: "CostCenter" and "costcenter" are one statement
  const foldUnder = type === "TAG_POLICY" ? TOP_LEVEL.TAG_POLICY : undefined;
  for (const level of levels) {
    const restrictions: [EffectiveNode, Json][] = [];
    for (const content of level) mergeNode(root, JSON.parse(content) as JsonObject, restrictions, foldUnder);
    // child control operators bind the levels below, not the policies beside them
    for (const [node, operators] of restrictions) restrict(node, operators);
  }
  const doc = render(root);
  return isObject(doc) && Object.keys(doc).length ? JSON.stringify(doc) : undefined;
}
