/** Types of the IAM policy engine. */
export type ContextValue = string | string[] | boolean | number | Date;
/** Condition keys, lower-cased (e.g. "aws:principalarn", "kms:encryptioncontext:aws:ecs:clustername"). */
export type ConditionContext = Map<string, ContextValue>;

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
}

/** How a resource policy's Principal matched the caller. */
export type PrincipalMatch = "none" | "direct" | "role" | "account";

export interface CompiledStatement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  matchesAction(action: string): boolean;
  matchesResource(resource: string, ctx: ConditionContext): boolean;
  /** "direct" when the statement has no Principal element (identity policies) */
  matchPrincipal(p: RequestPrincipal): PrincipalMatch;
  matchesConditions(ctx: ConditionContext): boolean;
}

export interface CompiledPolicy {
  readonly text: string;
  readonly version: string;
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
  scpLevels?: CompiledPolicy[][];
  resourcePolicy?: { policy: CompiledPolicy; ownerAccountId: string; authoritative: boolean };
  grantAllows?: boolean;
}

export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";
export type PolicyType = "identity-based" | "resource-based" | "permissions boundary" | "session" | "service control";

export interface EvaluationResult {
  decision: Decision;
  deniedBy?: PolicyType;
  matchedStatementSid?: string;
}

export class PolicyError extends Error {}
