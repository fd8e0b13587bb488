/**
 * Labels (LabelParameterVersion, UnlabelParameterVersion: a label names one version at a time and
 * moves when attached elsewhere; at most 10 per version) and tags (AddTagsToResource,
 * RemoveTagsFromResource, ListTagsForResource, for ResourceType Parameter):
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-labels.html.
 */
import type {
  AddTagsToResourceRequest,
  LabelParameterVersionRequest,
  LabelParameterVersionResult,
  ListTagsForResourceRequest,
  ListTagsForResourceResult,
  RemoveTagsFromResourceRequest,
  UnlabelParameterVersionRequest,
  UnlabelParameterVersionResult,
} from "@aws-sdk/client-ssm";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { mergeTags, removeTags } from "../../kernel/tags.ts";
import { checkParameterTagKeys, checkParameterTags, MAX_LABELS_PER_VERSION, parameterCheck, requestTags, SSM_TAG_RULES, validLabel } from "./checks.ts";
import { parameterResource } from "./parameter-ops.ts";
import { err, latest, nameRef, type NameRef, type ParameterRecord, type ParameterState, type ParameterVersionRecord } from "./state.ts";

interface Target {
  ref: NameRef;
  p?: ParameterRecord;
}

function target(state: ParameterState, ctx: RequestContext, name: string): Target {
  const ref = nameRef(ctx, name);
  ctx.audit.resources = parameterResource(ref);
  return { ref, p: state.get(ref) };
}

function versionOf(p: ParameterRecord, version: number | undefined): ParameterVersionRecord {
  if (version === undefined) return latest(p);
  const v = p.versions.find((x) => x.version === version);
  if (!v) throw err.versionNotFound(`Systems Manager could not find version ${version} of ${p.name}. Verify the version and try again.`);
  return v;
}

function copy(p: ParameterRecord): ParameterRecord {
  return { ...p, versions: p.versions.map((v) => ({ ...v, labels: [...v.labels] })) };
}

function labelOperation(state: ParameterState) {
  return defineOperation<LabelParameterVersionRequest, LabelParameterVersionResult, Target>({
    resolve: (ctx, i) => target(state, ctx, i.Name!),
    authorize: (_ctx, _i, { ref, p }) => [parameterCheck("LabelParameterVersion", ref, p)],
    handler: function labelParameterVersion(ctx, i, { p: found }) {
      if (!found) throw err.notFound();
      const p = copy(found);
      const v = versionOf(p, i.ParameterVersion);
      const invalid = (i.Labels ?? []).filter((l) => !validLabel(l));
      const good = [...new Set((i.Labels ?? []).filter(validLabel))];
      const after = new Set([...v.labels, ...good]);
      if (after.size > MAX_LABELS_PER_VERSION) {
        throw new ServiceError(
          "ParameterVersionLabelLimitExceeded",
          `A parameter version can have maximum ${MAX_LABELS_PER_VERSION} labels. Move one or more labels to another version and try again.`,
          400,
        );
      }
      for (const l of good) for (const other of p.versions) if (other !== v) other.labels = other.labels.filter((x) => x !== l);
      v.labels = [...after];
      if (good.length) ctx.writes.push(state.save(p));
      return { InvalidLabels: invalid, ParameterVersion: v.version };
    },
  });
}

function unlabelOperation(state: ParameterState) {
  return defineOperation<UnlabelParameterVersionRequest, UnlabelParameterVersionResult, Target>({
    resolve: (ctx, i) => target(state, ctx, i.Name!),
    authorize: (_ctx, _i, { ref, p }) => [parameterCheck("UnlabelParameterVersion", ref, p)],
    handler: function unlabelParameterVersion(ctx, i, { p: found }) {
      if (!found) throw err.notFound();
      const p = copy(found);
      const v = versionOf(p, i.ParameterVersion);
      const removed = (i.Labels ?? []).filter((l) => v.labels.includes(l));
      const invalid = (i.Labels ?? []).filter((l) => !v.labels.includes(l));
      v.labels = v.labels.filter((l) => !removed.includes(l));
      if (removed.length) ctx.writes.push(state.save(p));
      return { RemovedLabels: removed, InvalidLabels: invalid };
    },
  });
}

function tagTarget(state: ParameterState, ctx: RequestContext, i: { ResourceType?: string; ResourceId?: string }): Target {
  if (i.ResourceType !== "Parameter")
    throw new ServiceError("InvalidResourceType", "The resource type is not valid. Parameter Store tags only resources of type Parameter here.", 400);
  return target(state, ctx, i.ResourceId!);
}

function found(t: Target): ParameterRecord {
  if (!t.p) throw new ServiceError("InvalidResourceId", "The resource ID is not valid. Verify that you entered the correct ID and try again.", 400);
  return t.p;
}

function addTagsOperation(state: ParameterState) {
  return defineOperation<AddTagsToResourceRequest, Record<string, never>, Target>({
    resolve(ctx, i) {
      checkParameterTags(i.Tags);
      return tagTarget(state, ctx, i);
    },
    authorize: (_ctx, i, { ref, p }) => [parameterCheck("AddTagsToResource", ref, p, requestTags(i.Tags))],
    handler: function addTagsToResource(ctx, i, t) {
      const p = found(t);
      ctx.writes.push(state.save({ ...p, tags: mergeTags(SSM_TAG_RULES, p.tags, i.Tags ?? []) }));
      return {};
    },
  });
}

function removeTagsOperation(state: ParameterState) {
  return defineOperation<RemoveTagsFromResourceRequest, Record<string, never>, Target>({
    resolve(ctx, i) {
      checkParameterTagKeys(i.TagKeys);
      return tagTarget(state, ctx, i);
    },
    authorize: (_ctx, i, { ref, p }) => [parameterCheck("RemoveTagsFromResource", ref, p, { "aws:TagKeys": i.TagKeys })],
    handler: function removeTagsFromResource(ctx, i, t) {
      const p = found(t);
      ctx.writes.push(state.save({ ...p, tags: removeTags(SSM_TAG_RULES, p.tags, i.TagKeys ?? []) }));
      return {};
    },
  });
}

function listTagsOperation(state: ParameterState) {
  return defineOperation<ListTagsForResourceRequest, ListTagsForResourceResult, Target>({
    readOnly: true,
    resolve: (ctx, i) => tagTarget(state, ctx, i),
    authorize: (_ctx, _i, { ref, p }) => [parameterCheck("ListTagsForResource", ref, p)],
    handler: function listTagsForResource(_ctx, _i, t) {
      return { TagList: found(t).tags.map((x) => ({ Key: x.Key, Value: x.Value })) };
    },
  });
}

export function labelTagOperations(state: ParameterState) {
  return {
    LabelParameterVersion: labelOperation(state),
    UnlabelParameterVersion: unlabelOperation(state),
    AddTagsToResource: addTagsOperation(state),
    RemoveTagsFromResource: removeTagsOperation(state),
    ListTagsForResource: listTagsOperation(state),
  };
}
