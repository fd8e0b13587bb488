/**
 * Which KMS grant protects which task's volume. Fargate's volume id is `vol-` and the first 17
 * hex digits of the SHA-256 of the task's ARN, and the grant's encryption context names the
 * cluster and the volume (`aws:ecs:clusterAccount`, `aws:ecs:clusterName`, `aws:ebs:id`), so the
 * link is exact: docs/console.md#volumes-and-grants.
 */
import { lastPart } from "../dom.ts";
import type { Task } from "./ecs-data.ts";

export interface Grant {
  GrantId: string;
  Name?: string;
  CreationDate?: number;
  GranteePrincipal?: string;
  Constraints?: { EncryptionContextSubset?: Record<string, string> };
}

/** The account id in an ARN (`arn:aws:ecs:<region>:<account>:…`). */
const accountOf = (arn: string): string => arn.split(":")[4] ?? "";

/** The id Fargate gives a task's volume. */
export async function volumeOfTask(taskArn: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(taskArn)));
  return (
    "vol-" +
    Array.from(digest, (b) => b.toString(16).padStart(2, "0"))
      .join("")
      .slice(0, 17)
  );
}

/** The volume id of each task, by task ARN. */
export async function volumesOfTasks(tasks: Pick<Task, "taskArn">[]): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(tasks.map(async (t) => [t.taskArn, await volumeOfTask(t.taskArn)] as const)));
}

/** The grants made for this task's volume: naming its volume, in the task's cluster and account. */
export function grantsOfTask(t: Pick<Task, "taskArn" | "clusterArn">, volumeId: string | undefined, grants: Grant[]): Grant[] {
  return grants.filter((g) => {
    const c = g.Constraints?.EncryptionContextSubset;
    return (
      volumeId !== undefined && c?.["aws:ebs:id"] === volumeId && c["aws:ecs:clusterName"] === lastPart(t.clusterArn) && c["aws:ecs:clusterAccount"] === accountOf(t.clusterArn)
    );
  });
}

/** The volume a grant protects (its `aws:ebs:id` encryption context). */
export const volumeOf = (g: Grant): string | undefined => g.Constraints?.EncryptionContextSubset?.["aws:ebs:id"];
