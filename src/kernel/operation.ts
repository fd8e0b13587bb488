/**
 * The operation contract: what a service declares for each operation (how to resolve its
 * resource, what to authorize, the handler, what to audit). The dispatcher runs it.
 */
import type { ContextValue } from "../policy/index.ts";
import type { RequestContext } from "./context.ts";
import type { ServiceError } from "./errors.ts";

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
  /**
   * One item of a batch that AWS authorizes item by item (S3 DeleteObjects): a refusal is
   * reported here instead of refusing the call, and the handler answers that item with an error.
   */
  itemDenied?: () => void;
  /** the error a refusal of this check answers, where AWS's differs from its usual AccessDenied (sts:AssumeRole names no reason) */
  denied?: () => ServiceError;
  /**
   * Web identity and SAML federation: the caller is the identity provider this ARN names (a trust
   * policy's `"Principal": {"Federated": …}` matches it).
   */
  federatedPrincipal?: string;
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
  /** the record's userIdentity, where the caller is not a principal of an account (WebIdentityUser, SAMLUser) */
  userIdentity?: Record<string, unknown>;
  /** suppress the record entirely (e.g. internal plumbing that AWS does not log) */
  skip?: boolean;
}

/** What an operation adds to its CloudTrail record, computed from the call's own values. */
export interface OperationAudit<I extends object, O, R> {
  /** the record's resources, from the resolved value (successful calls only) */
  resources?(ctx: RequestContext, input: I, resolved: R, output: O): CloudTrailResource[];
  /** CloudTrail requestParameters (default: the input with lower-camel names, blobs removed) */
  requestParameters?(input: I, ctx: RequestContext): unknown;
  /** CloudTrail responseElements (default: null) */
  responseElements?(output: O, input: I, ctx: RequestContext): unknown;
}

/**
 * One operation, as every service declares it. The dispatcher calls `resolve` once (it throws
 * the operation's NotFound and validation errors), hands its value to `authorize`, the handler
 * and the audit record, then commits the call's writes with its CloudTrail event.
 *
 * Members are declared as methods so that a table of concrete operations is assignable to
 * `OperationTable` (method parameters are compared bivariantly).
 */
export interface Operation<I extends object, O, R = undefined> {
  /** CloudTrail readOnly; also used by event selectors */
  readonly readOnly?: boolean;
  /**
   * The CloudTrail eventName, where the service records the call under another name than the
   * operation's (S3's PutPublicAccessBlock is recorded as PutBucketPublicAccessBlock).
   */
  readonly eventName?: string;
  /**
   * The IAM action the call is authorized as (its authorize's first check uses it), where it is
   * not `<iamPrefix>:<operation>`; service last accessed credits the action for the call's events.
   */
  readonly action?: string;
  /** A CloudTrail data event (S3 object-level calls and listings): eventCategory "Data", even when refused. */
  readonly dataEvent?: boolean;
  /** Finds what the call is about (a key, a role…) in the caller's account and the request's Region. */
  resolve?(ctx: RequestContext, input: I): R | Promise<R>;
  /** What to authorize; null for operations AWS does not authorize (sts:GetCallerIdentity). */
  authorize(ctx: RequestContext, input: I, resolved: R): AuthCheck[] | null;
  handler(ctx: RequestContext, input: I, resolved: R): O | Promise<O>;
  readonly audit?: OperationAudit<I, O, R>;
}

/** Declares an operation and keeps its input, output and resolved types. */
export function defineOperation<I extends object, O, R = undefined>(op: Operation<I, O, R>): Operation<I, O, R> {
  return op;
}

/** Any operation, as the dispatcher and the audit record see it. */
export type SomeOperation = Operation<object, unknown, unknown>;

/**
 * A service's operation table keyed by its generated operation-name union (`StsOperation`…):
 * a missing or misspelled operation is a compile error.
 */
export type OperationTable<Names extends string> = { readonly [K in Names]: SomeOperation };
