/**
 * Which KMS grant protects which task's volume. Fargate names each volume's Decrypt grant after
 * the task it is made for (the grant's Name is the task ID) and puts the cluster and the volume in
 * the grant's encryption context (`aws:ecs:clusterAccount`, `aws:ecs:clusterName`, `aws:ebs:id`),
 * so the link is exact: docs/console.md#volumes-and-grants.
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

/** The grants made for this task's volume: named after the task, in the task's cluster and account. */
export function grantsOfTask(t: Pick<Task, "taskArn" | "clusterArn">, grants: Grant[]): Grant[] {
  const id = lastPart(t.taskArn);
  return grants.filter((g) => {
    const c = g.Constraints?.EncryptionContextSubset;
    return g.Name === id && c?.["aws:ecs:clusterName"] === lastPart(t.clusterArn) && c?.["aws:ecs:clusterAccount"] === accountOf(t.clusterArn);
  });
}

/** The volume a grant protects (its `aws:ebs:id` encryption context). */
export const volumeOf = (g: Grant): string | undefined => g.Constraints?.EncryptionContextSubset?.["aws:ebs:id"];
