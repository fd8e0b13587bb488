/**
 * RegisterTaskDefinition's checks of a container's `logConfiguration` with the awslogs driver, with
 * ECS's ClientException texts (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LogConfiguration.html).
 */
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { ServiceError } from "../../kernel/errors.ts";

/** The options the awslogs driver takes in a task definition. */
const AWSLOGS_OPTIONS = new Set([
  "awslogs-group",
  "awslogs-region",
  "awslogs-stream-prefix",
  "awslogs-create-group",
  "awslogs-datetime-format",
  "awslogs-multiline-pattern",
  "mode",
  "max-buffer-size",
]);

function client(message: string): ServiceError {
  return new ServiceError("ClientException", message, 400);
}

export function validateLogConfigurations(containers: ContainerDefinition[], opts: { fargate: boolean; executionRoleArn?: string }): void {
  for (const d of containers) {
    const lc = d.logConfiguration;
    if (lc?.logDriver !== "awslogs") continue;
    const options = lc.options ?? {};
    const disallowed = Object.keys(options).filter((k) => !AWSLOGS_OPTIONS.has(k));
    if (disallowed.length) throw client(`Log driver awslogs disallows options: ${disallowed.join(", ")}`);
    const missing = ["awslogs-region", "awslogs-group"].filter((k) => options[k] === undefined);
    if (missing.length) throw client(`Log driver awslogs requires options: ${missing.join(", ")}`);
    for (const k of ["awslogs-group", "awslogs-region"]) {
      if (options[k]!.trim() === "") throw client(`Log driver awslogs option '${k}' should not be null or empty.`);
    }
    const create = options["awslogs-create-group"];
    if (create !== undefined && create !== "true") throw client("Log driver awslogs option 'awslogs-create-group' should only be set to 'true', else omit option.");
    if (opts.fargate) {
      if (!options["awslogs-stream-prefix"]) throw client("Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs.");
      if (!opts.executionRoleArn) throw client("Fargate requires task definition to have execution role ARN to support log driver awslogs.");
    }
  }
}
