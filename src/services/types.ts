/**
 * The contract between the dispatcher and every service: an operation declares how it is
 * authorized (action, resources, condition keys, resource policy) and what it audits; the
 * dispatcher authorizes before the handler runs and records every call, so handlers neither
 * check permissions nor build HTTP responses.
 */
import type { ServiceShapes } from "../protocol/shapes/types.ts";
import type { WriteOp, Store } from "../store/store.ts";
import type { ServiceClock } from "../clock/clock.ts";
import type { ContextValue } from "../policy/index.ts";

export type PrincipalType = "Root" | "IAMUser" | "AssumedRole" | "AWSService";

export interface Principal {
  type: PrincipalType;
  accountId: string;
  /** Root: arn:aws:iam::A:root; user ARN; session ARN arn:aws:sts::A:assumed-role/R/S; AWSService: the service name */
  arn: string;
  /** Root: the account id; IAM user: AIDA…; session: AROA…:session; AWSService: the service name */
  principalId: string;
  userName?: string;
  accessKeyId?: string;
  /** Sessions from STS */
  session?: {
    roleArn?: string;
    roleId?: string;
    roleName?: string;
    sessionName?: string;
    /** GetSessionToken sessions are issued by an IAM user (or root) rather than a role */
    issuerArn: string;
    issuerType: "Role" | "IAMUser" | "Root";
    createdAt: Date;
    expiresAt: Date;
    mfaAuthenticated: boolean;
    /** when the MFA code the session was issued with was verified (aws:MultiFactorAuthAge) */
    mfaAuthenticatedAt?: Date;
    /** inline session policy document and managed policy ARNs passed to AssumeRole */
    policy?: string;
    policyArns?: string[];
  };
  /** AWSService principals: who the call is made by (CloudTrail invokedBy). */
  invokedBy?: string;
}

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

export interface RequestContext {
  readonly requestId: string;
  readonly service: ServiceDef;
  readonly operation: string;
  readonly region: string;
  readonly principal: Principal;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly secureTransport: boolean;
  /** service clock when the request arrived */
  readonly now: Date;
  readonly app: AppContext;
  /** writes committed with the response (group commit) */
  readonly writes: WriteOp[];
  readonly audit: AuditInfo;
  /** true when called in-process by a service (Fargate → KMS) rather than over HTTP */
  readonly internal: boolean;
  /** an internal caller's via-service, for kms:ViaService and CloudTrail */
  readonly viaService?: string;
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

export interface RestHttpRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  host: string;
}

export interface RestHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** REST protocols (S3 restXml): the service routes and encodes itself. */
export interface RestProtocol {
  /** Returns the operation and its input, or throws ServiceError. */
  decode(req: RestHttpRequest): { operation: string; input: Record<string, unknown> };
  encodeOutput(operation: string, output: unknown, ctx: RequestContext): RestHttpResponse;
  encodeError(err: import("../errors.ts").ServiceError, requestId: string, req: RestHttpRequest): RestHttpResponse;
}

export interface ServiceDef {
  /** lower-case id: "kms", "ecs", "iam", "sts", "cloudtrail", "s3", "organizations" */
  name: string;
  /** SigV4 signing name(s) */
  signingName: string;
  /** IAM action prefix, usually the signing name */
  iamPrefix: string;
  protocol: "json" | "query" | "rest";
  /** awsJson X-Amz-Target prefixes (CloudTrail has two) */
  targetPrefixes?: string[];
  shapes?: ServiceShapes;
  rest?: RestProtocol;
  /** CloudTrail eventSource, e.g. "kms.amazonaws.com" */
  eventSource: string;
  /** global services log and sign in us-east-1 */
  globalRegion?: string;
  operations: Record<string, OperationDef>;
}

/** Credentials → principal; implemented by IAM (access keys) and STS (sessions). */
export interface CredentialRecord {
  secretAccessKey: string;
  principal: Principal;
  /** Sessions: the token that must accompany the key */
  sessionToken?: string;
  expiresAt?: Date;
  active: boolean;
}

export interface CredentialProvider {
  lookup(accessKeyId: string): CredentialRecord | undefined;
}

export interface IdentityPolicies {
  identity: string[];
  boundary?: string;
  session?: string[];
  principalTags?: Record<string, string>;
}

/** IAM supplies the identity-side policies of a principal. */
export interface IdentityPolicyProvider {
  policiesFor(principal: Principal): IdentityPolicies;
}

/** Organizations supplies the SCP levels (root → OU … → account) for an account. */
export interface ScpProvider {
  scpLevelsFor(accountId: string): string[][] | undefined;
}

/** Runs work that has fallen due on the service clock (deletions, rotations, deliveries). */
export interface DueRunner {
  name: string;
  runDue(nowMs: number): Promise<void> | void;
}

export interface InvokeOptions {
  principal: Principal;
  region: string;
  sourceIp?: string;
  userAgent?: string;
  viaService?: string;
}

export interface AppContext {
  readonly store: Store;
  readonly clock: ServiceClock;
  readonly dataDir: string | null;
  readonly defaultAccountId: string;
  readonly services: Map<string, ServiceDef>;
  readonly credentialProviders: CredentialProvider[];
  identityPolicies?: IdentityPolicyProvider;
  scps?: ScpProvider;
  readonly dueRunners: DueRunner[];
  /** components report readiness and notes (e.g. storage driver) for /_localfargate/health */
  readonly health: Record<string, unknown>;
  /** calls an operation in-process through the full path: authorize, handler, audit, commit */
  invoke<O = unknown>(service: string, operation: string, input: Record<string, unknown>, opts: InvokeOptions): Promise<O>;
  /** typed access to another service's in-process API (e.g. fargate → ecs state) */
  readonly registry: Map<string, unknown>;
  /** audit sink (CloudTrail), set by the audit module */
  auditSink?: AuditSink;
  /** options from the CLI */
  readonly options: Record<string, unknown>;
}

export interface AuditSink {
  /** returns write ops that store the record in the request's transaction */
  record(record: Record<string, unknown>, meta: { accountId: string; region: string }): WriteOp[];
  /** for a call that changes nothing: makes the record durable without a transaction */
  append?(record: Record<string, unknown>, meta: { accountId: string; region: string }): Promise<void>;
}
