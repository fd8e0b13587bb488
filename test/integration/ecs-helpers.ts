/** Shared helpers for the ECS / Fargate integration tests. */
import { DescribeTasksCommand, ECSClient, RegisterTaskDefinitionCommand, type ContainerDefinition, type Task } from "@aws-sdk/client-ecs";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";

export const ACCOUNT = "000000000000";
const DEFAULT_ACCOUNT = ACCOUNT;
export const NETWORK = { awsvpcConfiguration: { subnets: ["subnet-12345678"], securityGroups: ["sg-12345678"] } };

/** The key policy of the ECS documentation (fargate-create-storage-key), for one cluster. */
export function fargateKeyPolicy(clusterName: string | string[], opts: { fargate?: boolean; account?: string } = {}): string {
  const ACCOUNT = opts.account ?? DEFAULT_ACCOUNT;
  const names = Array.isArray(clusterName) ? clusterName : [clusterName];
  const statements: unknown[] = [{ Sid: "Enable IAM User Permissions", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" }];
  if (opts.fargate !== false) {
    statements.push(
      {
        Sid: "Allow generate data key access for Fargate tasks.",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:GenerateDataKeyWithoutPlaintext"],
        Condition: { StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [ACCOUNT], "kms:EncryptionContext:aws:ecs:clusterName": names } },
        Resource: "*",
      },
      {
        Sid: "Allow grant creation permission for Fargate tasks.",
        Effect: "Allow",
        Principal: { Service: "fargate.amazonaws.com" },
        Action: ["kms:CreateGrant"],
        Condition: {
          StringEquals: { "kms:EncryptionContext:aws:ecs:clusterAccount": [ACCOUNT], "kms:EncryptionContext:aws:ecs:clusterName": names },
          "ForAllValues:StringEquals": { "kms:GrantOperations": ["Decrypt"] },
        },
        Resource: "*",
      },
      {
        Sid: "Allow describe key permission for cluster operator - CreateCluster and UpdateCluster.",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: ["kms:DescribeKey"],
        Resource: "*",
      },
    );
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

export async function createFargateKey(
  kms: KMSClient,
  clusterName: string | string[],
  opts: { fargate?: boolean; account?: string } = {},
): Promise<{ keyId: string; arn: string }> {
  const out = await kms.send(new CreateKeyCommand({ Policy: fargateKeyPolicy(clusterName, opts), Description: "fargate ephemeral storage" }));
  return { keyId: out.KeyMetadata!.KeyId!, arn: out.KeyMetadata!.Arn! };
}

export async function registerSleeper(ecs: ECSClient, family: string, containers?: ContainerDefinition[], extra: Record<string, unknown> = {}): Promise<string> {
  const out = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: containers ?? [{ name: "app", image: "busybox", command: ["sleep", "300"], essential: true, stopTimeout: 2 }],
      ...extra,
    }),
  );
  return out.taskDefinition!.taskDefinitionArn!;
}

/**
 * How long a wait polls before giving up: a bound in wall-clock time, not a number of tries, so
 * that a loaded machine (slower polls, slower tasks) gets the same time as an idle one. It is
 * above any one step's real need (seconds) and below a test's timeout (vitest.config.ts).
 */
export const WAIT_MS = 60_000;

/** Polls DescribeTasks until the predicate holds (or gives up after `timeoutMs`). */
export async function waitTask(ecs: ECSClient, cluster: string, taskArn: string, pred: (t: Task) => boolean, timeoutMs = WAIT_MS): Promise<Task> {
  let last: Task | undefined;
  const end = performance.now() + timeoutMs;
  for (;;) {
    const out = await ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] }));
    last = out.tasks?.[0];
    if (last && pred(last)) return last;
    if (performance.now() > end) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `task ${taskArn} never reached the expected state in ${timeoutMs / 1000} s; last: ${JSON.stringify({ lastStatus: last?.lastStatus, stopCode: last?.stopCode, stoppedReason: last?.stoppedReason })}`,
  );
}

/** Polls `f` until it answers something (or gives up after `timeoutMs`). */
export async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = WAIT_MS): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (performance.now() > end) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting ${timeoutMs / 1000} s for ${what}`);
}

export const running = (t: Task) => t.lastStatus === "RUNNING";
export const stopped = (t: Task) => t.lastStatus === "STOPPED";
