/** A service as the front door and the dispatcher see it: its names, wire protocol and operation table. */
import type { ServiceShapes } from "../protocol/shapes/types.ts";
import type { ServiceError } from "./errors.ts";
import type { AppContext, DueRunner, IdentityPolicyProvider, Provided, RequestContext, ScpProvider } from "./context.ts";
import type { CredentialProvider } from "./principal.ts";
import type { SomeOperation } from "./operation.ts";

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
  encodeError(err: ServiceError, requestId: string, req: RestHttpRequest): RestHttpResponse;
  /** the Region an unsigned call runs in, when its decoded input tells (S3: the named bucket's); otherwise us-east-1 */
  anonymousRegion?(input: Record<string, unknown>): string | undefined;
}

export interface ServiceDef {
  /** lower-case id: "kms", "ecs", "iam", "sts", "cloudtrail", "s3" */
  name: string;
  /** SigV4 signing name(s) */
  signingName: string;
  /** IAM action prefix, usually the signing name */
  iamPrefix: string;
  /** the wire protocol (src/protocol): awsJson, awsQuery, restXml (with `rest`), restJson1 */
  protocol: "json" | "query" | "rest" | "rest-json";
  /** awsJson X-Amz-Target prefixes (CloudTrail has two) */
  targetPrefixes?: string[];
  shapes?: ServiceShapes;
  /** awsJson: the error code of a constraint failure, when not ValidationException (CloudWatch Logs: InvalidParameterException) */
  validationCode?: string;
  rest?: RestProtocol;
  /** CloudTrail eventSource, e.g. "kms.amazonaws.com" */
  eventSource: string;
  /** global services log and sign in us-east-1 */
  globalRegion?: string;
  /** how the service answers input that breaks its model's constraints, where not ValidationException (Organizations: InvalidInputException) */
  validationError?: (message: string) => ServiceError;
  operations: Readonly<Record<string, SomeOperation>>;
  /** operations that take no AWS credentials (STS federation): called unsigned, as the Anonymous principal */
  unsignedOperations?: ReadonlySet<string>;
}

/** What a module hands the app once created. */
export interface ModuleInstance {
  readonly services?: readonly ServiceDef[];
  /** entries of Provided other modules (and the front door) may `app.get` */
  readonly provides?: Partial<Provided>;
  readonly credentialProviders?: readonly CredentialProvider[];
  readonly identityPolicies?: IdentityPolicyProvider;
  /** the organization policies (SCPs, RCPs) that apply to each account */
  readonly scps?: ScpProvider;
  readonly dueRunners?: readonly DueRunner[];
  /**
   * Work the module finishes while the server already answers (the ECS module's host probes):
   * the start completes once it resolves, and fails when it rejects.
   */
  readonly ready?: Promise<void>;
  /** run at close, modules in the reverse of their composition order */
  shutdown?(): Promise<void> | void;
}

/**
 * A unit of composition: a service (or a piece several services share) with what it needs from
 * modules composed before it. src/server/modules.ts lists the modules in the order they compose;
 * the app refuses an order in which a module's needs are not yet provided.
 */
export interface ServiceModule {
  readonly name: string;
  readonly needs: readonly (keyof Provided)[];
  create(app: AppContext): ModuleInstance | Promise<ModuleInstance>;
}

export function defineServiceModule(m: ServiceModule): ServiceModule {
  return m;
}
