/**
 * Parameter Store's input rules beyond the model's shapes (names, hierarchy, values per tier,
 * allowed patterns, labels, data types, tags) and what its operations authorize
 * (`ssm:<Action>` on the parameter ARN with its tags:
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html).
 * The rules are in https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html
 * and https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html.
 */
import type { Tag } from "@aws-sdk/client-ssm";
import { ServiceError } from "../../kernel/errors.ts";
import type { AuthCheck } from "../../kernel/operation.ts";
import { checkTagKeys, checkTags, requestTagContext, type TagRules } from "../../kernel/tags.ts";
import { err, type NameRef, type ParameterRecord } from "./state.ts";

export const STANDARD_VALUE_MAX = 4096;
export const ADVANCED_VALUE_MAX = 8192;
export const MAX_DEPTH = 15;
export const MAX_VERSIONS = 100;
export const MAX_LABELS_PER_VERSION = 10;
export const STANDARD_PARAMETERS_MAX = 10_000;

export function parameterCheck(action: string, ref: Pick<NameRef, "arn">, p: ParameterRecord | undefined, context: Record<string, string | string[] | undefined> = {}): AuthCheck {
  return {
    action: `ssm:${action}`,
    resource: ref.arn,
    resourceTags: p ? Object.fromEntries(p.tags.map((t) => [t.Key!, t.Value ?? ""])) : undefined,
    context,
  };
}

function reserved(name: string): boolean {
  const bare = (name.startsWith("/") ? name.slice(1) : name).toLowerCase();
  return bare.startsWith("aws") || bare.startsWith("ssm");
}

/** A name PutParameter may create. */
export function checkName(name: string): void {
  if (reserved(name))
    throw err.validation(
      `Parameter name: can't be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_`,
    );
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) throw err.validation("Parameter name must contain only the following symbols: a-z, A-Z, 0-9, _.-/");
  if (name.includes("/") && !name.startsWith("/")) throw err.validation("Parameter name must be a fully qualified name.");
  if (name.endsWith("/") || name.includes("//")) throw err.validation("Parameter name must be a fully qualified name.");
  if (name.split("/").filter(Boolean).length > MAX_DEPTH) throw err.hierarchy(`Parameter name hierarchy depth exceeds the maximum of ${MAX_DEPTH} levels.`);
}

export function checkPath(path: string): void {
  if (!path.startsWith("/")) throw err.validation('The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/".');
  if (path.split("/").filter(Boolean).length > MAX_DEPTH) throw err.hierarchy(`Parameter path hierarchy depth exceeds the maximum of ${MAX_DEPTH} levels.`);
}

export function checkValue(value: string, tier: "Standard" | "Advanced"): void {
  if (value.length === 0) throw err.validation("1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1");
  const max = tier === "Advanced" ? ADVANCED_VALUE_MAX : STANDARD_VALUE_MAX;
  if (value.length > max) {
    if (tier === "Standard") {
      throw err.validation(
        "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html",
      );
    }
    throw err.validation(`Advanced tier parameters support a maximum parameter value of ${ADVANCED_VALUE_MAX} characters.`);
  }
}

export function checkAllowedPattern(pattern: string | undefined, value: string): void {
  if (pattern === undefined || pattern === "") return;
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw err.invalidPattern(`The allowed pattern ${pattern} is not a valid regular expression: ${(e as Error).message}`);
  }
  const m = re.exec(value);
  if (!m || m[0] !== value) throw err.patternMismatch(pattern);
}

const DATA_TYPES = ["text", "aws:ec2:image", "aws:ssm:integration"];

export function checkDataType(dataType: string, value: string): void {
  if (!DATA_TYPES.includes(dataType)) throw err.validation(`The following data type is not supported: ${dataType} (Data type names are all lowercase.)`);
  if (dataType === "aws:ec2:image" && !/^ami-[0-9a-f]{8,17}$/.test(value)) {
    throw err.validation(`Parameter value, ${value}, failed to satisfy constraint: Member must satisfy regular expression pattern: ami-[a-z0-9]+`);
  }
}

export function checkPolicies(policies: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(policies);
  } catch {
    throw new ServiceError("InvalidPolicyAttributeException", "The parameter policies are not valid JSON.", 400);
  }
  if (!Array.isArray(parsed)) throw new ServiceError("InvalidPolicyTypeException", "Parameter policies must be a JSON array of policies.", 400);
  for (const p of parsed as { Type?: string }[]) {
    if (!["Expiration", "ExpirationNotification", "NoChangeNotification"].includes(p?.Type ?? "")) {
      throw new ServiceError(
        "InvalidPolicyTypeException",
        `The policy type ${p?.Type} is not supported. Supported types: Expiration, ExpirationNotification, NoChangeNotification.`,
        400,
      );
    }
  }
}

/** A label LabelParameterVersion may attach (the others come back as InvalidLabels). */
export function validLabel(label: string): boolean {
  if (label.length > 100 || /^\d/.test(label)) return false;
  if (/^(aws|ssm)/i.test(label)) return false;
  return /^[a-zA-Z0-9_.-]+$/.test(label);
}

export const SSM_TAG_RULES: TagRules<Tag> = {
  shape: { key: (t) => t.Key!, value: (t) => t.Value, make: (Key, Value) => ({ Key, Value: Value ?? "" }) },
  max: 50,
  requestCount: "merged",
  errors: {
    tooMany: () => new ServiceError("TooManyTagsError", "The Targets parameter includes too many tags. Remove one or more tags and try the command again.", 400),
    reserved: (k) => err.validation(`Tag keys can't begin with "aws:" (${k}).`),
    duplicate: (k) => err.validation(`Duplicate tag key ${k} in the request.`),
  },
};

export function checkParameterTags(tags: Tag[] | undefined): void {
  for (const t of tags ?? []) {
    if (typeof t.Key !== "string" || typeof t.Value !== "string") throw err.validation("Each tag needs a Key and a Value.");
  }
  checkTags(SSM_TAG_RULES, tags);
  if ((tags?.length ?? 0) > SSM_TAG_RULES.max) throw SSM_TAG_RULES.errors.tooMany();
}

export function checkParameterTagKeys(keys: string[] | undefined): void {
  checkTagKeys(SSM_TAG_RULES, keys);
}

export function requestTags(tags: Tag[] | undefined): Record<string, string | string[]> {
  return requestTagContext(SSM_TAG_RULES, tags);
}
