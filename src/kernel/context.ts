/**
 * What a call runs in (RequestContext) and what the app provides to every service (AppContext).
 */
import type { WriteOp, Store } from "../store/store.ts";
import type { ServiceClock } from "../clock/clock.ts";
import type { Principal, CredentialProvider } from "./principal.ts";
import type { AuditInfo, AuthCheck, CloudTrailResource } from "./operation.ts";
import type { ServiceDef } from "./service.ts";

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
  /**
   * Work that may start only once the call's writes are durable (RunTask hands its tasks to the
   * data plane here). Run by the dispatcher after the commit succeeds, in the order added; never
   * run for a call that fails or whose commit fails.
   */
  afterCommit(fn: () => void): void;
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

/**
 * Organizations supplies, for an account in an organization, the policy documents that apply at
 * each level (root → OU … → account): its SCPs, its RCPs, and the organization's id
 * (`aws:PrincipalOrgID`). Undefined where none apply (no organization, the management account,
 * a policy type not enabled).
 */
export interface ScpProvider {
  scpLevelsFor(accountId: string): string[][] | undefined;
  rcpLevelsFor(accountId: string): string[][] | undefined;
  organizationIdOf(accountId: string): string | undefined;
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

/**
 * What modules provide one another, by name. Each module adds its own entries by declaration
 * merging (`declare module "…/kernel/context.ts" { interface Provided { iam: IamService } }`),
 * so `app.get("iam")` is typed without the kernel importing any service.
 */
export interface Provided {
  /** the server's own address, for the task metadata endpoint (set once the port is bound) */
  serverUrl: string;
  /**
   * crun tasks: the port of the server's listener on a task bridge's gateway address, serving
   * the task namespaces' 169.254.170.2 (src/server/task-endpoint.ts)
   */
  taskEndpoint: (address: string, prefixLength: number) => Promise<number>;
}

/** Start options the services read (the rest of StartOptions belongs to the front door). */
export interface AppOptions {
  readonly host?: string;
  readonly port?: number;
  readonly storageDriver?: "gocryptfs" | "plain";
  /** how tasks run (docs/ecs-fargate.md, "Container runtime"); default "host" */
  readonly containerRuntime?: "auto" | "crun" | "host";
  /** crun runtime: whether tasks reach beyond this host (docs/ecs-fargate.md#internet-access-from-tasks); default true */
  readonly taskInternet?: boolean;
  readonly allowedOrigins?: string[];
  readonly allowedHosts?: string[];
  /** resolves host names the server fetches from (OIDC issuers); tests replace DNS with it */
  readonly resolveHost?: (hostname: string) => Promise<{ address: string; family: number }[]>;
  /** false: no CloudTrail records (the bench's comparison run) */
  readonly audit?: boolean;
  readonly kmsMaxGrantsPerKey?: number;
  readonly kmsOnDemandRotationLimit?: number;
  /** Fargate On-Demand / Spot vCPU quotas per account and Region (docs/ecs-fargate.md) */
  readonly fargateVcpuQuota?: number;
  readonly fargateSpotVcpuQuota?: number;
}

export interface AppContext {
  readonly store: Store;
  readonly clock: ServiceClock;
  readonly dataDir: string | null;
  readonly defaultAccountId: string;
  readonly services: ReadonlyMap<string, ServiceDef>;
  /** in module order (src/server/modules.ts); tests may put a fixture first */
  readonly credentialProviders: CredentialProvider[];
  /** IAM's; tests may wrap it with a fixture */
  identityPolicies?: IdentityPolicyProvider;
  /** Organizations'; undefined when no module provides it */
  scps?: ScpProvider;
  /** in module order: the order due work runs in */
  readonly dueRunners: readonly DueRunner[];
  /** components report readiness and notes (e.g. storage driver) for /_localfargate/health */
  readonly health: Record<string, unknown>;
  /**
   * Evaluates checks for the calling principal exactly as the dispatcher authorizes a call and
   * throws AWS's AccessDenied when they are refused. Only for AWS's own "would this be allowed?"
   * checks inside an operation (KMS's key-policy lockout check); a call's own authorization is
   * always the dispatcher's.
   */
  simulateAuthorization(ctx: RequestContext, checks: AuthCheck[]): void;
  /** calls an operation in-process through the full path: authorize, handler, audit, commit */
  invoke<O = unknown>(service: string, operation: string, input: Record<string, unknown>, opts: InvokeOptions): Promise<O>;
  /** what another module provides; throws when it is not composed (yet) */
  get<K extends keyof Provided>(name: K): Provided[K];
  /** what another module provides, or undefined when it is not composed */
  find<K extends keyof Provided>(name: K): Provided[K] | undefined;
  /** where CloudTrail records go; created by the app, undefined when auditing is off */
  readonly auditSink?: AuditSink;
  readonly options: AppOptions;
}

/** An event that AWS itself originates (KMS key deletion, rotation, expired material). */
export interface ServiceEvent {
  accountId: string;
  region: string;
  /** e.g. "kms.amazonaws.com" */
  eventSource: string;
  /** e.g. "DeleteKey", "RotateKey", "DeleteExpiredKeyMaterial" */
  eventName: string;
  /** defaults to the service clock */
  eventTime?: Date;
  resources?: CloudTrailResource[];
  serviceEventDetails?: Record<string, unknown>;
  requestParameters?: unknown;
  responseElements?: unknown;
  additionalEventData?: Record<string, unknown>;
  /** default false */
  readOnly?: boolean;
}

export interface AuditSink {
  /** returns write ops that store the record in the request's transaction */
  record(record: Record<string, unknown>, meta: { accountId: string; region: string }): WriteOp[];
  /** for a call that changes nothing: makes the record durable without a transaction */
  append?(record: Record<string, unknown>, meta: { accountId: string; region: string }): Promise<void>;
  /** write ops that store an event AWS itself originates (KMS DeleteKey, RotateKey), stamped `at` unless it names its own time */
  serviceEvent(ev: ServiceEvent, at: Date): WriteOp[];
}
