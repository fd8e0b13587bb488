/**
 * Secrets Manager (awsJson1_1, X-Amz-Target prefix `secretsmanager`, signing name
 * `secretsmanager`): secrets with versions and staging labels, values encrypted with data keys
 * under the secret's KMS key (the AWS managed `aws/secretsmanager` key by default), resource
 * policies, tags, scheduled deletion on the service clock. Rotation with Lambda is not offered
 * (docs/secrets.md).
 */
import { secretsmanagerShapes, type SecretsManagerOperation } from "../../protocol/shapes/secretsmanager.gen.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import { getRandomPasswordOperation } from "./password.ts";
import { policyOperations } from "./policy-ops.ts";
import { runDueSecretDeletions, secretOperations } from "./secret-ops.ts";
import { SecretsState } from "./state.ts";
import { valueOperations } from "./value-ops.ts";

declare module "../../kernel/context.ts" {
  interface Provided {
    secretsManager: SecretsState;
  }
}

export function secretsManagerOperations(state: SecretsState): OperationTable<SecretsManagerOperation> {
  return {
    ...secretOperations(state),
    ...valueOperations(state),
    ...policyOperations(state),
    GetRandomPassword: getRandomPasswordOperation(),
  };
}

export const secretsManagerModule = defineServiceModule({
  name: "secretsmanager",
  needs: ["kms"],
  create(app) {
    const state = new SecretsState(app);
    state.load();
    const def: ServiceDef = {
      name: "secretsmanager",
      signingName: "secretsmanager",
      iamPrefix: "secretsmanager",
      protocol: "json",
      targetPrefixes: ["secretsmanager"],
      shapes: secretsmanagerShapes,
      eventSource: "secretsmanager.amazonaws.com",
      operations: secretsManagerOperations(state),
    };
    return {
      services: [def],
      provides: { secretsManager: state },
      dueRunners: [{ name: "secretsmanager", runDue: (nowMs) => runDueSecretDeletions(state, nowMs) }],
    };
  },
});
