/**
 * Resource policies: GetResourcePolicy, PutResourcePolicy (BlockPublicPolicy), DeleteResourcePolicy,
 * ValidateResourcePolicy (https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html).
 * A policy is parsed and compiled by the project's policy engine before it is kept.
 */
import type {
  DeleteResourcePolicyRequest,
  DeleteResourcePolicyResponse,
  GetResourcePolicyRequest,
  GetResourcePolicyResponse,
  PutResourcePolicyRequest,
  PutResourcePolicyResponse,
  ValidateResourcePolicyRequest,
  ValidateResourcePolicyResponse,
} from "@aws-sdk/client-secrets-manager";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { compilePolicy } from "../../policy/index.ts";
import { anyResourceCheck, existing, live, secretCheck } from "./checks.ts";
import { resolveTarget } from "./secret-ops.ts";
import type { SecretTarget, SecretsState } from "./state.ts";

/** Why a policy is refused, or undefined when it compiles. */
function policyDefect(doc: string): string | undefined {
  try {
    JSON.parse(doc);
  } catch {
    return "This resource policy contains a syntax error.";
  }
  try {
    compilePolicy(doc, "resource");
    return undefined;
  } catch (e) {
    return e instanceof Error && e.message ? e.message : "This resource policy contains a syntax error.";
  }
}

/** An Allow statement for every principal ("*" or {"AWS": "*"}) without conditions grants broad access. */
function isPublic(doc: string): boolean {
  const parsed = JSON.parse(doc) as { Statement?: unknown };
  const statements = Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement];
  return statements.some((raw) => {
    const s = (raw ?? {}) as { Effect?: string; Principal?: unknown; Condition?: unknown };
    if (s.Effect !== "Allow" || s.Condition !== undefined) return false;
    const p = s.Principal;
    if (p === "*") return true;
    const aws = p && typeof p === "object" ? (p as Record<string, unknown>).AWS : undefined;
    return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
  });
}

function getResourcePolicyOperation(state: SecretsState) {
  return defineOperation<GetResourcePolicyRequest, GetResourcePolicyResponse, SecretTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTarget(state, ctx, i.SecretId!),
    authorize: (_ctx, _i, t) => [secretCheck("GetResourcePolicy", t)],
    handler: function getResourcePolicy(_ctx, _i, t) {
      const s = existing(t);
      return { ARN: s.arn, Name: s.name, ...(s.policy ? { ResourcePolicy: s.policy } : {}) };
    },
  });
}

function putResourcePolicyOperation(state: SecretsState) {
  return defineOperation<PutResourcePolicyRequest, PutResourcePolicyResponse, SecretTarget>({
    resolve(ctx, i) {
      const defect = policyDefect(i.ResourcePolicy!);
      if (defect) throw new ServiceError("MalformedPolicyDocumentException", defect, 400);
      if (i.BlockPublicPolicy && isPublic(i.ResourcePolicy!)) {
        throw new ServiceError("PublicPolicyException", "The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent broad access to the secret.", 400);
      }
      return resolveTarget(state, ctx, i.SecretId!);
    },
    authorize: (_ctx, i, t) => [secretCheck("PutResourcePolicy", t, { "secretsmanager:BlockPublicPolicy": i.BlockPublicPolicy ?? false })],
    handler: function putResourcePolicy(ctx, i, t) {
      const s = live(t);
      ctx.writes.push(state.save({ ...s, policy: i.ResourcePolicy, lastChangedDate: ctx.now }));
      return { ARN: s.arn, Name: s.name };
    },
  });
}

function deleteResourcePolicyOperation(state: SecretsState) {
  return defineOperation<DeleteResourcePolicyRequest, DeleteResourcePolicyResponse, SecretTarget>({
    resolve: (ctx, i) => resolveTarget(state, ctx, i.SecretId!),
    authorize: (_ctx, _i, t) => [secretCheck("DeleteResourcePolicy", t)],
    handler: function deleteResourcePolicy(ctx, _i, t) {
      const s = live(t);
      const { policy: _gone, ...rest } = s;
      ctx.writes.push(state.save({ ...rest, lastChangedDate: ctx.now }));
      return { ARN: s.arn, Name: s.name };
    },
  });
}

function validateResourcePolicyOperation(state: SecretsState) {
  return defineOperation<ValidateResourcePolicyRequest, ValidateResourcePolicyResponse, SecretTarget | undefined>({
    readOnly: true,
    resolve: (ctx, i) => (i.SecretId !== undefined ? resolveTarget(state, ctx, i.SecretId) : undefined),
    authorize: (_ctx, _i, t) => [t ? secretCheck("ValidateResourcePolicy", t) : anyResourceCheck("ValidateResourcePolicy")],
    handler: function validateResourcePolicy(_ctx, i, t) {
      if (t) existing(t);
      const defect = policyDefect(i.ResourcePolicy!);
      if (defect) return { PolicyValidationPassed: false, ValidationErrors: [{ CheckName: "SYNTAX_CHECK", ErrorMessage: defect }] };
      if (isPublic(i.ResourcePolicy!))
        return { PolicyValidationPassed: false, ValidationErrors: [{ CheckName: "PUBLIC_POLICY_CHECK", ErrorMessage: "The resource policy grants broad access to the secret." }] };
      return { PolicyValidationPassed: true, ValidationErrors: [] };
    },
  });
}

export function policyOperations(state: SecretsState) {
  return {
    GetResourcePolicy: getResourcePolicyOperation(state),
    PutResourcePolicy: putResourcePolicyOperation(state),
    DeleteResourcePolicy: deleteResourcePolicyOperation(state),
    ValidateResourcePolicy: validateResourcePolicyOperation(state),
  };
}
