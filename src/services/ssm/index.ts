/**
 * SSM Parameter Store (awsJson1_1, X-Amz-Target prefix `AmazonSSM`, signing name `ssm`):
 * String, StringList and SecureString parameters with versions, labels, tags and tiers;
 * SecureString values encrypted with data keys under the parameter's KMS key (the AWS managed
 * `aws/ssm` key by default). Only the Parameter Store part of Systems Manager (docs/secrets.md).
 */
import { ssmShapes, type SsmOperation } from "../../protocol/shapes/ssm.gen.ts";
import type { OperationTable } from "../../kernel/operation.ts";
import { defineServiceModule, type ServiceDef } from "../../kernel/service.ts";
import { labelTagOperations } from "./label-tag-ops.ts";
import { parameterOperations } from "./parameter-ops.ts";
import { readOperations } from "./read-ops.ts";
import { ParameterState } from "./state.ts";

declare module "../../kernel/context.ts" {
  interface Provided {
    parameterStore: ParameterState;
  }
}

export function ssmOperations(state: ParameterState): OperationTable<SsmOperation> {
  return { ...parameterOperations(state), ...readOperations(state), ...labelTagOperations(state) };
}

export const ssmModule = defineServiceModule({
  name: "ssm",
  needs: ["kms"],
  create(app) {
    const state = new ParameterState(app);
    state.load();
    const def: ServiceDef = {
      name: "ssm",
      signingName: "ssm",
      iamPrefix: "ssm",
      protocol: "json",
      targetPrefixes: ["AmazonSSM"],
      shapes: ssmShapes,
      eventSource: "ssm.amazonaws.com",
      operations: ssmOperations(state),
    };
    return { services: [def], provides: { parameterStore: state } };
  },
});
