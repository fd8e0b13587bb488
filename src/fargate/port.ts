/**
 * The data plane's port: what ECS (the control plane) hands the Fargate data plane and what the
 * data plane needs back. Types only; src/fargate imports nothing from src/services, and ECS
 * implements these interfaces (src/services/ecs/fargate-port.ts).
 */
import type { ContainerDefinition, Task } from "@aws-sdk/client-ecs";

declare module "../kernel/context.ts" {
  interface Provided {
    /** the tasks the data plane runs, as ECS reports them (the task metadata endpoint reads them) */
    fargateTasks: TaskReports;
    /** the task role credentials the container credentials endpoint serves (src/fargate/task-credentials.ts) */
    taskRoles: TaskRoles;
  }
}

/** What the data plane knows about a task's ephemeral volume (no key material). */
export interface TaskStorageRecord {
  volumeId?: string;
  /** the key ARN when a customer managed key encrypts the volume */
  kmsKeyArn?: string;
  grantId?: string;
  /** encrypted data key (ciphertext blob) from GenerateDataKeyWithoutPlaintext */
  encryptedDataKey?: Buffer;
  /** the storage driver's mount path while mounted */
  mountPath?: string;
  driver?: string;
  released?: boolean;
}

/**
 * A task as the data plane runs it: the launch spec (containers with overrides applied, the
 * cluster key, the network identity) and the Task record whose status, containers and
 * timestamps it reports. ECS's task record extends it.
 */
export interface FargateTask {
  arn: string;
  id: string;
  accountId: string;
  region: string;
  clusterArn: string;
  clusterName: string;
  /** the Task as DescribeTasks returns it */
  task: Task;
  /** container definitions resolved with overrides, as the runner starts them */
  containerDefs: ContainerDefinition[];
  /** the cluster key captured at launch (ARN) or null for the Fargate-owned key */
  kmsKeyArn: string | null;
  /** secret path segment of the task metadata endpoint */
  metadataToken: string;
  /** the task role (overrides, else the task definition's) as an ARN, captured at launch */
  taskRoleArn?: string;
  /** the task execution role, likewise */
  executionRoleArn?: string;
  storage: TaskStorageRecord;
  /** service-clock ms after which a STOPPED task is forgotten */
  expiresAtMs?: number;
  privateIp: string;
  eniId: string;
  macAddress: string;
  subnetId: string;
}

/** The statuses the data plane moves a task to, after PROVISIONING (ECS's task lifecycle). */
export type TaskStatus = "PENDING" | "ACTIVATING" | "RUNNING" | "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED";

/** A container's state as the data plane observes it. */
export interface ContainerReport {
  name: string;
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
  pid?: number;
  /** only for a container with a health check */
  healthStatus?: "HEALTHY" | "UNHEALTHY" | "UNKNOWN";
}

/**
 * Where the data plane reports what happens to a task. ECS records each report on the task
 * record (its lifecycle module is the one that changes the record's status) and persists it.
 */
export interface TaskReports<T extends FargateTask = FargateTask> {
  /** the task reached `status`: recorded with what AWS records at that step, persisted, and the control plane told */
  transition(t: T, status: TaskStatus): Promise<void>;
  /** the task must stop (storage failed, an essential container exited, a scheduler's stop); the first reason stays */
  stopRequested(t: T, stopCode: Task["stopCode"], reason: string): void;
  /** a container started, exited or failed; persisted by the next `save` or transition */
  containerChanged(t: T, report: ContainerReport): void;
  /** persists the task's record as it is now (container changes, storage bookkeeping) */
  save(t: T): Promise<void>;
  /** the task the metadata endpoint token names, if it is still known */
  byMetadataToken(token: string): T | undefined;
}

/** Who makes a KMS call on the data plane's behalf: an AWS service principal of the task's account. */
export interface ServiceCaller {
  /** the service principal, e.g. fargate.amazonaws.com, fargate.<region>.amazonaws.com */
  service: string;
  accountId: string;
  region: string;
  /** CloudTrail userIdentity.invokedBy, when AWS names another service */
  invokedBy?: string;
}

export type EncryptionContext = Record<string, string>;

export interface GenerateDataKeyWithoutPlaintextParams {
  keyArn: string;
  encryptionContext: EncryptionContext;
  numberOfBytes: number;
}

export interface CreateGrantParams {
  keyArn: string;
  granteePrincipal: string;
  operations: "Decrypt"[];
  encryptionContextSubset: EncryptionContext;
  retiringPrincipal?: string;
}

export interface DecryptParams {
  keyArn: string;
  ciphertextBlob: Buffer;
  encryptionContext: EncryptionContext;
  grantTokens: string[];
}

/**
 * The KMS calls the data plane makes, authorized by the key policy and grants and recorded in
 * CloudTrail like any call. A DryRun variant resolves when KMS answers DryRunOperationException
 * (the call would have succeeded) and rejects with KMS's error otherwise.
 * https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html
 */
export interface FargateKms {
  generateDataKeyWithoutPlaintext(p: GenerateDataKeyWithoutPlaintextParams, as: ServiceCaller): Promise<{ ciphertextBlob: Buffer }>;
  generateDataKeyWithoutPlaintextDryRun(p: GenerateDataKeyWithoutPlaintextParams, as: ServiceCaller): Promise<void>;
  createGrant(p: CreateGrantParams, as: ServiceCaller): Promise<{ grantId: string; grantToken: string }>;
  createGrantDryRun(p: CreateGrantParams, as: ServiceCaller): Promise<void>;
  decrypt(p: DecryptParams, as: ServiceCaller): Promise<{ plaintext: Buffer }>;
  retireGrant(p: { keyArn: string; grantId: string }, as: ServiceCaller): Promise<void>;
}

/** What the control plane asks of the data plane. */
export interface TaskPlane<T extends FargateTask = FargateTask> {
  /** starts a committed task (PROVISIONING) */
  launch(t: T): void;
  /** stops a task: its processes end and its volume is released, each step reported */
  stop(t: T, stopCode: Task["stopCode"], reason: string): void;
  /** whether this run of the server is running the task */
  isRunning(arn: string): boolean;
  /** releases what an earlier run left of a task (its volume's KMS grant) */
  release(t: T): Promise<void>;
  /** the task's record is gone (expired): what the data plane kept of it (its output) goes too */
  forget(arn: string): void;
}

/** A role's temporary credentials, as the container credentials endpoint serves them. */
export interface RoleCredentials {
  roleArn: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** A role the control plane assumed for a task, or AWS's refusal (e.g. the trust policy does not allow ecs-tasks.amazonaws.com). */
export type RoleOutcome = { ok: true; credentials: RoleCredentials } | { ok: false; code: string; message: string };

/**
 * The IAM roles of a task (docs/ecs-fargate.md#task-iam-roles): the control plane assumes them
 * as the service principal ecs-tasks.amazonaws.com, session name = the task id.
 */
export interface TaskRoles<T extends FargateTask = FargateTask> {
  /**
   * Starts serving the task role's credentials: the unguessable id of the task's credentials
   * endpoint path, or undefined when the task has no task role. A role that cannot be assumed
   * still gets an id, under which no credentials are served.
   */
  startTaskRole(t: T): Promise<string | undefined>;
  /** The credentials an endpoint id serves now (renewed before they expire); undefined when it serves none. */
  credentials(id: string): Promise<RoleCredentials | undefined>;
  /** Stops serving the task's credentials (the task is stopping). */
  endTaskRole(t: T): void;
  /** The execution role's credentials for the data plane's own calls (image pulls, logs, secrets); undefined when the task has none. */
  executionRole(t: T): Promise<RoleOutcome | undefined>;
}

/** What a container receives at launch beside its task definition's `environment` (memory only). */
export interface LaunchEnvironment {
  /** from `environmentFiles`: below the container's own `environment` */
  files: Record<string, string>;
  /** from `secrets`: above everything else */
  secrets: Record<string, string>;
}

/**
 * Resolves a task's `secrets`, `repositoryCredentials` and `environmentFiles` at launch as its
 * execution role (ECS implements it). The values are held by the runner in memory only: never
 * in the task record, DescribeTasks or on disk. A refusal rejects with the task's stop reason.
 */
export interface TaskSecrets<T extends FargateTask = FargateTask> {
  resolve(t: T): Promise<Map<string, LaunchEnvironment>>;
}
