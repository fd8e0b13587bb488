/** Types of the IAM policy engine. */

/** A request context value. Arrays are multi-valued keys (aws:TagKeys, kms:GrantOperations, …). */
export type ContextValue = string | string[] | boolean | number | Date;
/**
 * Condition keys, lower-cased (e.g. "aws:principalarn", "kms:encryptioncontext:aws:ecs:clustername").
 * The engine only looks keys up, so a request may build its context on the first lookup.
 */
export interface ConditionContext {
  get(key: string): ContextValue | undefined;
}

export type PolicyKind = "identity" | "resource" | "trust" | "scp" | "session";

export interface RequestPrincipal {
  type: "Root" | "IAMUser" | "AssumedRole" | "AWSService" | "FederatedUser" | "Anonymous";
  accountId: string;
  /** user ARN, session ARN, root ARN, or for AWSService the service name */
  arn: string;
  /** AssumedRole: the role's ARN */
  roleArn?: string;
  /** AWSService: e.g. "fargate.amazonaws.com" */
  serviceName?: string;
  /** Anonymous callers of web identity / SAML federation: the identity provider (a "Federated" principal) */
  federatedProvider?: string;
}

/**
 * How a statement's Principal matched the caller:
 * - "direct": names the caller itself (user ARN, session ARN, service, "*", the root user's account);
 * - "role": names the role of an assumed-role session;
 * - "account": names the caller's account (delegation to IAM);
 * - "none": does not apply to the caller.
 * Statements without a Principal element (identity-side policies) match "direct".
 */
export type PrincipalMatch = "none" | "direct" | "role" | "account";

export interface CompiledStatement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  /** true when the statement uses NotPrincipal */
  readonly notPrincipal: boolean;
  /** the condition keys the statement tests, lower-cased, in document order */
  readonly conditionKeys: readonly string[];
  /** case-insensitive */
  matchesAction(action: string): boolean;
  /** case-sensitive; policy variables in the pattern resolve against ctx */
  matchesResource(resource: string, ctx: ConditionContext): boolean;
  matchPrincipal(p: RequestPrincipal): PrincipalMatch;
  matchesConditions(ctx: ConditionContext): boolean;
}

export interface CompiledPolicy {
  readonly text: string;
  readonly version: string;
  readonly kind: PolicyKind;
  readonly statements: readonly CompiledStatement[];
}

export interface EvaluationInput {
  principal: RequestPrincipal;
  action: string;
  resource: string;
  context: ConditionContext;
  identityPolicies: CompiledPolicy[];
  permissionsBoundary?: CompiledPolicy;
  sessionPolicies?: CompiledPolicy[];
  /** one array per level, root → OU … → account; every level needs an Allow */
  scpLevels?: CompiledPolicy[][];
  /** RCPs of the resource's account, one array per level as for SCPs (resource-kind documents) */
  rcpLevels?: CompiledPolicy[][];
  resourcePolicy?: { policy: CompiledPolicy; ownerAccountId: string; authoritative: boolean };
  /** KMS: a grant matched (the caller decides); an allow source that an explicit deny still beats */
  grantAllows?: boolean;
}

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";
export type PolicyType = "identity-based" | "resource-based" | "permissions boundary" | "session" | "service control" | "resource control";

export interface EvaluationResult {
  decision: Decision;
  /** which policy type decided a denial: used for the message */
  deniedBy?: PolicyType;
  /** the deciding statement: the Deny that matched, or the Allow that granted */
  matchedStatementSid?: string;
}

/** A malformed policy document; the message follows IAM's MalformedPolicyDocument wording where known. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}
