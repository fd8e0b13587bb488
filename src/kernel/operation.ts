/**
 * The operation contract: what a service declares for each operation (how to resolve its
 * resource, what to authorize, the handler, what to audit). The dispatcher runs it.
 */
import type { ContextValue } from "../policy/index.ts";
import type { RequestContext } from "./context.ts";

export interface ResourcePolicyRef {
  document: string;
  kind: "resource" | "trust";
  ownerAccountId: string;
  /** KMS key policies and role trust policies: IAM allows count only with account delegation */
  authoritative: boolean;
}

export interface AuthCheck {
  action: string;
  resource: string;
  /** service condition keys, e.g. { "kms:EncryptionContextKeys": [...] } */
  context?: Record<string, ContextValue | undefined>;
  resourcePolicy?: ResourcePolicyRef;
  /** KMS grants: consulted when policies alone do not allow */
  grantAllows?: () => boolean;
  resourceTags?: Record<string, string>;
}

export interface CloudTrailResource {
  ARN: string;
  accountId: string;
  type: string;
}

/** What a handler may add to its CloudTrail record. */
export interface AuditInfo {
  resources?: CloudTrailResource[];
  requestParameters?: unknown;
  responseElements?: unknown;
  additionalEventData?: Record<string, unknown>;
  /** set by service-initiated calls that AWS logs as AwsServiceEvent */
  eventType?: "AwsApiCall" | "AwsServiceEvent";
  serviceEventDetails?: Record<string, unknown>;
  /** suppress the record entirely (e.g. internal plumbing that AWS does not log) */
  skip?: boolean;
}

export interface OperationDef<I = any, O = any> {
  /** CloudTrail readOnly; also used by event selectors */
  readOnly?: boolean;
  /**
   * Declares what to authorize. Default: `${iamPrefix}:${Operation}` on "*".
   * Return null for operations AWS does not authorize (sts:GetCallerIdentity).
   * May throw ServiceError (e.g. NotFoundException while resolving the resource).
   */
  authorize?(ctx: RequestContext, input: I): AuthCheck | AuthCheck[] | null;
  handler(ctx: RequestContext, input: I): O | Promise<O>;
  /** CloudTrail requestParameters (default: the input with lower-camel names, blobs removed) */
  requestParameters?(input: I, ctx: RequestContext): unknown;
  /** CloudTrail responseElements (default: null) */
  responseElements?(output: O, input: I, ctx: RequestContext): unknown;
}
