/**
 * Key policy operations: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies. A key has one policy,
 * named "default" (https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyPolicies.html).
 */
import type { GetKeyPolicyRequest, GetKeyPolicyResponse, ListKeyPoliciesRequest, ListKeyPoliciesResponse, PutKeyPolicyRequest } from "@aws-sdk/client-kms";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { type Kms, type NoOutput } from "./core.ts";
import { keyCheck, lockoutCheck, validateKeyPolicy } from "./key-policy.ts";
import { namedKey, type Resolved } from "./resolve.ts";
import { err } from "./state.ts";

export const POLICY_NAME = "default";

function checkPolicyName(name: string | undefined, keyArnValue: string): void {
  if (name !== undefined && name !== POLICY_NAME) {
    throw new ServiceError("NotFoundException", `No such policy exists: key policy '${name}' does not exist for ${keyArnValue}; the only key policy name is "default".`, 400);
  }
}

function getKeyPolicyOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<GetKeyPolicyRequest, GetKeyPolicyResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "GetKeyPolicy")],
    handler: function getKeyPolicy(_ctx, i, { key }) {
      checkPolicyName(i.PolicyName, key.arn);
      return { Policy: key.policy, PolicyName: POLICY_NAME };
    },
  });
}

function putKeyPolicyOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<PutKeyPolicyRequest, NoOutput, Resolved>({
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, i, { key }) => [keyCheck(ctx, state, key, "PutKeyPolicy", { context: { "kms:BypassPolicyLockoutSafetyCheck": i.BypassPolicyLockoutSafetyCheck ?? false } })],
    handler: function putKeyPolicy(ctx, i, { key }) {
      checkPolicyName(i.PolicyName, key.arn);
      validateKeyPolicy(i.Policy!);
      if (!i.BypassPolicyLockoutSafetyCheck) lockoutCheck(ctx, key, i.Policy!);
      kms.saveKey(ctx, { ...key, policy: i.Policy! });
      return {};
    },
    audit: {
      requestParameters: (i) => ({
        keyId: i.KeyId,
        policyName: i.PolicyName ?? POLICY_NAME,
        policy: i.Policy,
        bypassPolicyLockoutSafetyCheck: i.BypassPolicyLockoutSafetyCheck ?? false,
      }),
    },
  });
}

function listKeyPoliciesOperation(kms: Kms) {
  const { state } = kms;
  return defineOperation<ListKeyPoliciesRequest, ListKeyPoliciesResponse, Resolved>({
    readOnly: true,
    resolve: (ctx, i) => namedKey(state, ctx, i.KeyId!, { aliases: false }),
    authorize: (ctx, _i, { key }) => [keyCheck(ctx, state, key, "ListKeyPolicies")],
    handler: function listKeyPolicies(_ctx, i) {
      if (i.Marker !== undefined) throw err.invalidMarker();
      return { PolicyNames: [POLICY_NAME], Truncated: false };
    },
  });
}

export function keyPolicyOperations(kms: Kms) {
  return {
    GetKeyPolicy: getKeyPolicyOperation(kms),
    PutKeyPolicy: putKeyPolicyOperation(kms),
    ListKeyPolicies: listKeyPoliciesOperation(kms),
  };
}
