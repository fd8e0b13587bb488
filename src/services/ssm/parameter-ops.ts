/**
 * PutParameter, DeleteParameter, DeleteParameters
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html and the
 * pages beside it). Every check that can refuse the call runs before the value is encrypted.
 */
import type { DeleteParameterRequest, DeleteParametersRequest, DeleteParametersResult, PutParameterRequest, PutParameterResult } from "@aws-sdk/client-ssm";
import type { RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import { defineOperation, type CloudTrailResource } from "../../kernel/operation.ts";
import {
  checkAllowedPattern,
  checkDataType,
  checkName,
  checkParameterTags,
  checkPolicies,
  checkValue,
  MAX_VERSIONS,
  parameterCheck,
  requestTags,
  STANDARD_PARAMETERS_MAX,
} from "./checks.ts";
import {
  err,
  latest,
  nameRef,
  notFoundUnrecorded,
  type NameRef,
  type ParameterRecord,
  type ParameterState,
  type ParameterTier,
  type ParameterType,
  type ParameterVersionRecord,
} from "./state.ts";
import { sealSecure } from "./values.ts";

export function parameterResource(ref: Pick<NameRef, "arn" | "accountId">): CloudTrailResource[] {
  return [{ ARN: ref.arn, accountId: ref.accountId, type: "AWS::SSM::Parameter" }];
}

interface PutPlan {
  ref: NameRef;
  existing?: ParameterRecord;
  type: ParameterType;
  tier: ParameterTier;
  dataType: string;
}

function planPut(state: ParameterState, ctx: RequestContext, i: PutParameterRequest): PutPlan {
  const ref = nameRef(ctx, i.Name!);
  if (ref.selector !== undefined || ref.accountId !== ctx.principal.accountId || ref.region !== ctx.region) throw err.validation("Parameter name must be a fully qualified name.");
  checkName(ref.name);
  const existing = state.get(ref);
  if (existing && !i.Overwrite) throw err.exists();
  if (i.Tags?.length && i.Overwrite) {
    throw err.validation(
      "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    );
  }
  checkParameterTags(i.Tags);
  const prior = existing ? latest(existing) : undefined;
  const type = (i.Type ?? prior?.type) as ParameterType | undefined;
  if (!type) throw err.validation("A parameter type is required when you create a parameter.");
  if (i.KeyId !== undefined && type !== "SecureString") throw err.validation("KeyId is required for SecureString type parameter only.");
  const value = i.Value!;
  let tier: ParameterTier;
  if (i.Tier === "Intelligent-Tiering") tier = prior?.tier === "Advanced" || value.length > 4096 || i.Policies !== undefined ? "Advanced" : "Standard";
  else tier = (i.Tier as ParameterTier | undefined) ?? prior?.tier ?? "Standard";
  if (prior?.tier === "Advanced" && tier === "Standard") {
    throw err.validation(
      "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
    );
  }
  checkValue(value, tier);
  if (i.Policies !== undefined) {
    if (tier !== "Advanced") throw err.validation("Parameter policies are supported only by the advanced-parameter tier.");
    checkPolicies(i.Policies);
  }
  const dataType = i.DataType ?? prior?.dataType ?? "text";
  checkDataType(dataType, value);
  checkAllowedPattern(i.AllowedPattern ?? prior?.allowedPattern, value);
  if (existing && existing.versions.length >= MAX_VERSIONS && existing.versions[0].labels.length) {
    throw new ServiceError(
      "ParameterMaxVersionLimitExceeded",
      `You attempted to create a new version of ${ref.name} by calling the PutParameter API with the overwrite flag. Version ${existing.versions[0].version}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.`,
      400,
    );
  }
  if (!existing && tier === "Standard" && state.inScope(ctx.principal.accountId, ctx.region).filter((p) => latest(p).tier === "Standard").length >= STANDARD_PARAMETERS_MAX) {
    throw err.validation("You have exceeded the number of standard parameters allowed for this account and Region.");
  }
  return { ref, existing, type, tier, dataType };
}

function putParameterOperation(state: ParameterState) {
  return defineOperation<PutParameterRequest, PutParameterResult, PutPlan>({
    resolve(ctx, i) {
      const plan = planPut(state, ctx, i);
      ctx.audit.resources = parameterResource(plan.ref);
      return plan;
    },
    authorize: (_ctx, i, { ref, existing }) => [parameterCheck("PutParameter", ref, existing, requestTags(i.Tags))],
    handler: async function putParameter(ctx, i, plan) {
      const { ref, type, tier, dataType } = plan;
      const prior = plan.existing ? latest(plan.existing) : undefined;
      const version = (prior?.version ?? 0) + 1;
      const keyId = type === "SecureString" ? (i.KeyId ?? (prior?.type === "SecureString" ? prior.keyId : undefined)) : undefined;
      const v: ParameterVersionRecord = {
        version,
        type,
        description: i.Description ?? prior?.description,
        allowedPattern: i.AllowedPattern ?? prior?.allowedPattern,
        labels: [],
        lastModifiedDate: ctx.now,
        lastModifiedUser: ctx.principal.arn,
        tier,
        policies: i.Policies ?? prior?.policies,
        dataType,
      };
      if (type === "SecureString") Object.assign(v, await sealSecure(ctx, ref.arn, version, keyId, i.Value!), { keyId: keyId ?? "alias/aws/ssm" });
      else v.value = i.Value;
      // the record as it is now (another call may have changed it while KMS answered)
      const now = state.get(ref);
      if (now && !i.Overwrite) throw err.exists();
      if (now && latest(now).version >= version) throw new ServiceError("TooManyUpdates", "There are concurrent updates for a resource that supports one update at a time.", 429);
      const p: ParameterRecord = now
        ? { ...now, versions: [...now.versions, v] }
        : { name: ref.name, arn: ref.arn, accountId: ref.accountId, region: ref.region, tags: (i.Tags ?? []).map((t) => ({ Key: t.Key, Value: t.Value ?? "" })), versions: [v] };
      if (p.versions.length > MAX_VERSIONS) p.versions = p.versions.slice(p.versions.length - MAX_VERSIONS);
      ctx.writes.push(state.save(p));
      return { Version: version, Tier: tier };
    },
    audit: {
      requestParameters: (i) => ({
        name: i.Name,
        type: i.Type,
        value: "HIDDEN_DUE_TO_SECURITY_REASONS",
        ...(i.KeyId ? { keyId: i.KeyId } : {}),
        ...(i.Overwrite !== undefined ? { overwrite: i.Overwrite } : {}),
        ...(i.Tier ? { tier: i.Tier } : {}),
      }),
    },
  });
}

function deleteParameterOperation(state: ParameterState) {
  return defineOperation<DeleteParameterRequest, Record<string, never>, { ref: NameRef; p?: ParameterRecord }>({
    resolve(ctx, i) {
      const ref = nameRef(ctx, i.Name!);
      ctx.audit.resources = parameterResource(ref);
      return { ref, p: state.get(ref) };
    },
    authorize: (_ctx, _i, { ref, p }) => [parameterCheck("DeleteParameter", ref, p)],
    handler: function deleteParameter(ctx, _i, { p }) {
      if (!p) throw notFoundUnrecorded(ctx);
      ctx.writes.push(state.remove(p));
      return {};
    },
  });
}

function deleteParametersOperation(state: ParameterState) {
  return defineOperation<DeleteParametersRequest, DeleteParametersResult, NameRef[]>({
    resolve: (ctx, i) => (i.Names ?? []).map((n) => nameRef(ctx, n)),
    authorize: (_ctx, _i, refs) => refs.map((r) => parameterCheck("DeleteParameters", r, state.get(r))),
    handler: function deleteParameters(ctx, i, refs) {
      const deleted: string[] = [];
      const invalid: string[] = [];
      refs.forEach((r, n) => {
        const p = state.get(r);
        if (!p || r.selector !== undefined) invalid.push(i.Names![n]);
        else {
          ctx.writes.push(state.remove(p));
          deleted.push(i.Names![n]);
        }
      });
      return { DeletedParameters: deleted, InvalidParameters: invalid };
    },
  });
}

export function parameterOperations(state: ParameterState) {
  return {
    PutParameter: putParameterOperation(state),
    DeleteParameter: deleteParameterOperation(state),
    DeleteParameters: deleteParametersOperation(state),
  };
}
