/**
 * What a call runs in (RequestContext) and what the app provides to every service (AppContext).
 */
import type { WriteOp, Store } from "../store/store.ts";
import type { ServiceClock } from "../clock/clock.ts";
import type { Principal, CredentialProvider } from "./principal.ts";
import type { AuditInfo } from "./operation.ts";
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
