/**
 * Secrets in tasks, resolved at launch as the task's execution role, the way the Fargate agent
 * does it (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/specifying-sensitive-data.html,
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html):
 * ECS assumes the execution role as ecs-tasks.amazonaws.com (its trust policy decides), then, as
 * that session, calls Secrets Manager GetSecretValue (a secret ARN with the optional
 * `:json-key:version-stage:version-id` suffix; `repositoryCredentials`), SSM GetParameters with
 * decryption (a parameter name or ARN) and S3 GetObject (`environmentFiles`). Each call is
 * authorized, goes through KMS for the caller and is recorded in CloudTrail like any other.
 * A refusal stops the task with AWS's ResourceInitializationError text. The values go to the
 * data plane in memory only (src/fargate/port.ts, LaunchEnvironment). The same session first
 * checks the ECR pulls of the task's ECR images (ecr-pull.ts), so the data plane unpacks an ECR
 * image only once the execution role may pull it.
 */
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import type { AppContext, InvokeOptions } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { Principal } from "../../kernel/principal.ts";
import { servicePrincipal } from "../../auth/principal.ts";
import type { LaunchEnvironment, TaskSecrets } from "../../fargate/port.ts";
import type { EcsState, TaskRecord } from "./state.ts";
import { checkEcrPulls, ecrImages, noExecutionRoleReason } from "./ecr-pull.ts";

export const ECS_TASKS = "ecs-tasks.amazonaws.com";
const PULL = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed";
const ENV_FILES = "ResourceInitializationError: failed to download env files: file download command: non empty error stream: service call has been retried 1 time(s)";

/** AWS's "<Code>: <message> status code: <n>" tail of a stop reason. */
function awsError(e: unknown): string {
  if (e instanceof ServiceError) return `${e.code}: ${e.message} status code: ${e.status}`;
  return e instanceof Error ? e.message : String(e);
}

/** A `secrets[].valueFrom` or `credentialsParameter` that names a Secrets Manager secret. */
interface SecretRef {
  secretId: string;
  jsonKey?: string;
  versionStage?: string;
  versionId?: string;
}

const SECRET_ARN = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[^:]+)(?::([^:]*))?(?::([^:]*))?(?::([^:]*))?$/;

export function secretRef(valueFrom: string): SecretRef | undefined {
  const m = SECRET_ARN.exec(valueFrom);
  if (!m) return undefined;
  return { secretId: m[1], jsonKey: m[2] || undefined, versionStage: m[3] || undefined, versionId: m[4] || undefined };
}

/** What a task's containers need resolved; nothing means no execution role call at all. */
function needs(defs: ContainerDefinition[]): boolean {
  return defs.some((d) => d.secrets?.length || d.repositoryCredentials?.credentialsParameter || d.environmentFiles?.length);
}

/** The KEY=VALUE lines of an environment file (# comments and blank lines skipped), as the ECS agent reads them. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

class Resolver {
  principal!: Principal;
  private opts!: InvokeOptions;

  constructor(
    private readonly app: AppContext,
    private readonly t: TaskRecord,
  ) {}

  async assume(roleArn: string | undefined): Promise<void> {
    if (!roleArn) throw new Error(`${PULL}: the task definition has no executionRoleArn to retrieve secrets with`);
    let creds: { AccessKeyId: string };
    try {
      const out = await this.app.invoke<{ Credentials: { AccessKeyId: string } }>(
        "sts",
        "AssumeRole",
        { RoleArn: roleArn, RoleSessionName: this.t.id },
        { principal: servicePrincipal(ECS_TASKS, this.t.accountId), region: this.t.region },
      );
      creds = out.Credentials;
    } catch (e) {
      throw new Error(`${PULL}: unable to assume the task execution role ${roleArn} as ${ECS_TASKS}: ${awsError(e)}`);
    }
    const principal = this.app.credentialProviders.map((p) => p.lookup(creds.AccessKeyId)).find((r) => r)?.principal;
    if (!principal) throw new Error(`${PULL}: the session of the task execution role ${roleArn} could not be used`);
    this.principal = principal;
    this.opts = { principal, region: this.t.region, sourceIp: ECS_TASKS, userAgent: ECS_TASKS };
  }

  async secret(ref: SecretRef): Promise<string> {
    let out: { SecretString?: string; SecretBinary?: Uint8Array };
    try {
      out = await this.app.invoke("secretsmanager", "GetSecretValue", { SecretId: ref.secretId, VersionStage: ref.versionStage, VersionId: ref.versionId }, this.opts);
    } catch (e) {
      throw new Error(
        `${PULL}: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret ${ref.secretId} from secrets manager: ${awsError(e)}`,
      );
    }
    const text = out.SecretString ?? Buffer.from(out.SecretBinary ?? new Uint8Array()).toString("utf8");
    if (!ref.jsonKey) return text;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${PULL}: unable to retrieve secret from asm: the secret ${ref.secretId} is not JSON, so its key ${ref.jsonKey} cannot be read`);
    }
    const v = parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>)[ref.jsonKey] : undefined;
    if (v === undefined) throw new Error(`${PULL}: retrieved secret from Secrets Manager did not contain json key ${ref.jsonKey}`);
    return typeof v === "string" ? v : JSON.stringify(v);
  }

  /** SSM GetParameters with decryption, ten names a call, as the agent batches them. */
  async parameters(names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const unique = [...new Set(names)];
    for (let n = 0; n < unique.length; n += 10) {
      const batch = unique.slice(n, n + 10);
      let res: { Parameters?: { Name?: string; ARN?: string; Value?: string }[]; InvalidParameters?: string[] };
      try {
        res = await this.app.invoke("ssm", "GetParameters", { Names: batch, WithDecryption: true }, this.opts);
      } catch (e) {
        throw new Error(`${PULL}: unable to retrieve secrets from ssm: service call has been retried 1 time(s): ${awsError(e)}`);
      }
      if (res.InvalidParameters?.length) {
        throw new Error(`${PULL}: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid parameters: ${res.InvalidParameters.join(", ")}`);
      }
      // a valueFrom is the parameter's name or its ARN
      for (const p of res.Parameters ?? []) {
        if (p.Name !== undefined) out.set(p.Name, p.Value ?? "");
        if (p.ARN !== undefined) out.set(p.ARN, p.Value ?? "");
      }
    }
    return out;
  }

  async envFile(value: string): Promise<Record<string, string>> {
    const m = /^arn:aws[a-z-]*:s3:::([^/]+)\/(.+)$/.exec(value);
    if (!m) throw new Error(`${ENV_FILES}: ${value} is not an S3 object ARN (arn:aws:s3:::bucket/key.env)`);
    let body: Buffer;
    try {
      const out = await this.app.invoke<{ body?: Buffer }>(
        "s3",
        "GetObject",
        { Bucket: m[1], Key: m[2], Host: "s3.amazonaws.com", Body: Buffer.alloc(0), query: {}, headers: {}, Metadata: {} },
        this.opts,
      );
      body = out.body ?? Buffer.alloc(0);
    } catch (e) {
      throw new Error(`${ENV_FILES}: ${e instanceof ServiceError ? `${e.code}: ${e.message}` : awsError(e)}`);
    }
    return parseEnvFile(body.toString("utf8"));
  }
}

async function resolveTask(app: AppContext, state: EcsState, t: TaskRecord): Promise<Map<string, LaunchEnvironment>> {
  const env = new Map<string, LaunchEnvironment>();
  // ECR images are checked whatever runs the task (a host-process task too): its definition names them
  const ecr = ecrImages(t.containerDefs.map((d) => d.image));
  if (!needs(t.containerDefs) && ecr.length === 0) return env;
  const roleArn = t.task.overrides?.executionRoleArn ?? state.taskDefs.get(t.task.taskDefinitionArn!)?.def.executionRoleArn;
  if (!roleArn && ecr.length > 0) throw new Error(noExecutionRoleReason(ecr[0]));
  const r = new Resolver(app, t);
  await r.assume(roleArn);
  // ECR's registry login and the image pulls, before the data plane unpacks any image
  if (ecr.length > 0) await checkEcrPulls(app, r.principal, ecr);
  // SSM parameters of every container in one batch, as the agent asks for them
  const ssmNames = t.containerDefs.flatMap((d) => (d.secrets ?? []).filter((s) => !secretRef(s.valueFrom!)).map((s) => s.valueFrom!));
  const params = ssmNames.length ? await r.parameters(ssmNames) : new Map<string, string>();
  for (const d of t.containerDefs) {
    const launch: LaunchEnvironment = { files: {}, secrets: {} };
    for (const f of d.environmentFiles ?? []) Object.assign(launch.files, await r.envFile(f.value!));
    const cred = d.repositoryCredentials?.credentialsParameter;
    // registry credentials are checked as AWS checks them; host-process tasks pull from no registry
    if (cred) {
      const ref = secretRef(cred);
      if (!ref) throw new Error(`${PULL}: repositoryCredentials.credentialsParameter ${cred} is not a Secrets Manager secret ARN`);
      await r.secret(ref);
    }
    for (const s of d.secrets ?? []) {
      const ref = secretRef(s.valueFrom!);
      launch.secrets[s.name!] = ref ? await r.secret(ref) : params.get(s.valueFrom!)!;
    }
    env.set(d.name!, launch);
  }
  return env;
}

export function taskSecrets(app: AppContext, state: EcsState): TaskSecrets<TaskRecord> {
  return { resolve: (t) => resolveTask(app, state, t) };
}
