/**
 * GetParameter, GetParameters, GetParametersByPath, DescribeParameters, GetParameterHistory
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/). A SecureString is
 * decrypted only WithDecryption, by KMS for the caller through Parameter Store; without it the
 * encrypted form is returned.
 */
import type {
  DescribeParametersRequest,
  DescribeParametersResult,
  GetParameterHistoryRequest,
  GetParameterHistoryResult,
  GetParameterRequest,
  GetParameterResult,
  GetParametersByPathRequest,
  GetParametersByPathResult,
  GetParametersRequest,
  GetParametersResult,
  Parameter,
  ParameterMetadata,
  ParameterStringFilter,
} from "@aws-sdk/client-ssm";
import type { RequestContext } from "../../kernel/context.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { pageList, type PageTokens } from "../../store/paging.ts";
import { checkPath, parameterCheck } from "./checks.ts";
import { parameterResource } from "./parameter-ops.ts";
import { err, latest, nameRef, notFoundUnrecorded, parameterArn, selected, type NameRef, type ParameterRecord, type ParameterState, type ParameterVersionRecord } from "./state.ts";
import { ciphertextOf, openSecure } from "./values.ts";

export const SSM_TOKENS: PageTokens = { prefix: "lfssm1:", invalid: () => err.invalidNextToken(), resume: "after" };

export async function valueOf(ctx: RequestContext, p: ParameterRecord, v: ParameterVersionRecord, decrypt: boolean): Promise<string> {
  if (v.type !== "SecureString") return v.value!;
  return decrypt ? openSecure(ctx.app, ctx.principal, ctx.region, p.arn, v) : ciphertextOf(v);
}

async function parameterOf(ctx: RequestContext, p: ParameterRecord, v: ParameterVersionRecord, decrypt: boolean, selector?: string): Promise<Parameter> {
  return {
    Name: p.name,
    Type: v.type,
    Value: await valueOf(ctx, p, v, decrypt),
    Version: v.version,
    ...(selector !== undefined ? { Selector: `:${selector}` } : {}),
    LastModifiedDate: v.lastModifiedDate,
    ARN: p.arn,
    DataType: v.dataType,
  };
}

interface Target {
  ref: NameRef;
  p?: ParameterRecord;
}

function getParameterOperation(state: ParameterState) {
  return defineOperation<GetParameterRequest, GetParameterResult, Target>({
    readOnly: true,
    resolve(ctx, i) {
      const ref = nameRef(ctx, i.Name!);
      ctx.audit.resources = parameterResource(ref);
      return { ref, p: state.get(ref) };
    },
    authorize: (_ctx, _i, { ref, p }) => [parameterCheck("GetParameter", ref, p)],
    handler: async function getParameter(ctx, i, { ref, p }) {
      if (!p) throw notFoundUnrecorded(ctx);
      const v = selected(p, ref.selector);
      return { Parameter: await parameterOf(ctx, p, v, i.WithDecryption ?? false, ref.selector) };
    },
  });
}

function getParametersOperation(state: ParameterState) {
  return defineOperation<GetParametersRequest, GetParametersResult, Target[]>({
    readOnly: true,
    resolve: (ctx, i) =>
      [...new Set(i.Names ?? [])].map((n) => {
        const ref = nameRef(ctx, n);
        return { ref, p: state.get(ref) };
      }),
    authorize: (_ctx, _i, targets) => targets.map((t) => parameterCheck("GetParameters", t.ref, t.p)),
    handler: async function getParameters(ctx, i, targets) {
      const names = [...new Set(i.Names ?? [])];
      const found: Parameter[] = [];
      const invalid: string[] = [];
      for (let n = 0; n < targets.length; n++) {
        const { ref, p } = targets[n];
        let v: ParameterVersionRecord | undefined;
        try {
          v = p ? selected(p, ref.selector) : undefined;
        } catch {
          v = undefined;
        }
        if (!p || !v) invalid.push(names[n]);
        else found.push(await parameterOf(ctx, p, v, i.WithDecryption ?? false, ref.selector));
      }
      return { Parameters: found, InvalidParameters: invalid };
    },
  });
}

function matchesStringFilter(p: ParameterRecord, f: ParameterStringFilter): boolean {
  const v = latest(p);
  const values = f.Values ?? [];
  const option = f.Option ?? "Equals";
  const test = (actual: string | undefined) =>
    actual !== undefined && values.some((x) => (option === "BeginsWith" ? actual.startsWith(x) : option === "Contains" ? actual.includes(x) : actual === x));
  const key = f.Key!;
  if (key.startsWith("tag:")) {
    const tag = p.tags.find((t) => t.Key === key.slice(4));
    return tag !== undefined && (values.length === 0 || test(tag.Value));
  }
  switch (key) {
    case "Name":
      return test(p.name) || test(p.name.startsWith("/") ? p.name : `/${p.name}`);
    case "Type":
      return test(v.type);
    case "KeyId":
      return v.type === "SecureString" && (test(v.keyId) || test(v.kmsKeyArn));
    case "Tier":
      return test(v.tier);
    case "DataType":
      return test(v.dataType);
    case "Label":
      return p.versions.some((x) => x.labels.some((l) => values.includes(l)));
    case "Path": {
      const recursive = option === "Recursive";
      return values.some((path) => underPath(p.name, path, recursive));
    }
    default:
      return true;
  }
}

function underPath(name: string, path: string, recursive: boolean): boolean {
  const base = path.endsWith("/") ? path : `${path}/`;
  if (path === "/") return recursive ? name.startsWith("/") : name.startsWith("/") && !name.slice(1).includes("/");
  if (!name.startsWith(base)) return false;
  return recursive || !name.slice(base.length).includes("/");
}

function checkStringFilters(filters: ParameterStringFilter[] | undefined, byPath: boolean): void {
  for (const f of filters ?? []) {
    const key = f.Key!;
    if (byPath && !["Type", "KeyId", "Label"].includes(key) && !key.startsWith("tag:")) {
      throw err.validation(`The following filter key is not valid: ${key}. Valid filter keys include: [Type, KeyId, Label].`);
    }
    const option = f.Option ?? "Equals";
    const allowed =
      key === "Path"
        ? ["Recursive", "OneLevel"]
        : key === "Name"
          ? ["Equals", "BeginsWith", "Contains"]
          : key.startsWith("tag:")
            ? ["Equals", "BeginsWith", "Contains"]
            : ["Equals", "BeginsWith"];
    if (!allowed.includes(option)) throw err.validation(`The following filter option is not valid: ${option}. Valid options include: [${allowed.join(", ")}].`);
    if (!key.startsWith("tag:") && !f.Values?.length) throw err.validation(`The following filter values are missing : null for filter key ${key}.`);
  }
}

function getParametersByPathOperation(state: ParameterState) {
  return defineOperation<GetParametersByPathRequest, GetParametersByPathResult, NameRef>({
    readOnly: true,
    resolve(ctx, i) {
      checkPath(i.Path!);
      checkStringFilters(i.ParameterFilters, true);
      return { name: i.Path!, arn: parameterArn(ctx.region, ctx.principal.accountId, i.Path!), accountId: ctx.principal.accountId, region: ctx.region, inRequestRegion: true };
    },
    authorize: (_ctx, _i, ref) => [parameterCheck("GetParametersByPath", ref, undefined)],
    handler: async function getParametersByPath(ctx, i) {
      const items = state
        .inScope(ctx.principal.accountId, ctx.region)
        .filter((p) => underPath(p.name, i.Path!, i.Recursive ?? false) && (i.ParameterFilters ?? []).every((f) => matchesStringFilter(p, f)));
      const page = pageList(SSM_TOKENS, items, (p) => p.name, i.NextToken, i.MaxResults ?? 10);
      const out: Parameter[] = [];
      for (const p of page.items) out.push(await parameterOf(ctx, p, latest(p), i.WithDecryption ?? false));
      return { Parameters: out, ...(page.next ? { NextToken: page.next } : {}) };
    },
  });
}

function metadataOf(p: ParameterRecord): ParameterMetadata {
  const v = latest(p);
  return {
    Name: p.name,
    ARN: p.arn,
    Type: v.type,
    ...(v.type === "SecureString" ? { KeyId: v.keyId } : {}),
    LastModifiedDate: v.lastModifiedDate,
    LastModifiedUser: v.lastModifiedUser,
    ...(v.description !== undefined ? { Description: v.description } : {}),
    ...(v.allowedPattern !== undefined ? { AllowedPattern: v.allowedPattern } : {}),
    Version: v.version,
    Tier: v.tier,
    Policies: v.policies
      ? (JSON.parse(v.policies) as unknown[]).map((x) => ({ PolicyText: JSON.stringify(x), PolicyType: (x as { Type?: string }).Type, PolicyStatus: "Pending" }))
      : [],
    DataType: v.dataType,
  };
}

function describeParametersOperation(state: ParameterState) {
  return defineOperation<DescribeParametersRequest, DescribeParametersResult, undefined>({
    readOnly: true,
    resolve(_ctx, i) {
      if (i.Filters && i.ParameterFilters) throw err.validation("You can use either Filters or ParameterFilters in a single request.");
      checkStringFilters(i.ParameterFilters, false);
      return undefined;
    },
    authorize: () => [{ action: "ssm:DescribeParameters", resource: "*" }],
    handler: function describeParameters(ctx, i) {
      const filters: ParameterStringFilter[] = i.ParameterFilters ?? (i.Filters ?? []).map((f) => ({ Key: f.Key, Option: "Equals", Values: f.Values }));
      const items = state.inScope(ctx.principal.accountId, ctx.region).filter((p) => filters.every((f) => matchesStringFilter(p, f)));
      const page = pageList(SSM_TOKENS, items, (p) => p.name, i.NextToken, i.MaxResults ?? 10);
      return { Parameters: page.items.map(metadataOf), ...(page.next ? { NextToken: page.next } : {}) };
    },
  });
}

function getParameterHistoryOperation(state: ParameterState) {
  return defineOperation<GetParameterHistoryRequest, GetParameterHistoryResult, Target>({
    readOnly: true,
    resolve(ctx, i) {
      const ref = nameRef(ctx, i.Name!);
      ctx.audit.resources = parameterResource(ref);
      return { ref, p: state.get(ref) };
    },
    authorize: (_ctx, _i, { ref, p }) => [parameterCheck("GetParameterHistory", ref, p)],
    handler: async function getParameterHistory(ctx, i, { p }) {
      if (!p) throw err.notFound();
      const page = pageList(SSM_TOKENS, p.versions, (v) => String(v.version).padStart(12, "0"), i.NextToken, i.MaxResults ?? 50);
      const out = [];
      for (const v of page.items) {
        out.push({
          Name: p.name,
          Type: v.type,
          ...(v.type === "SecureString" ? { KeyId: v.keyId } : {}),
          LastModifiedDate: v.lastModifiedDate,
          LastModifiedUser: v.lastModifiedUser,
          ...(v.description !== undefined ? { Description: v.description } : {}),
          Value: await valueOf(ctx, p, v, i.WithDecryption ?? false),
          ...(v.allowedPattern !== undefined ? { AllowedPattern: v.allowedPattern } : {}),
          Version: v.version,
          Labels: [...v.labels],
          Tier: v.tier,
          Policies: [],
          DataType: v.dataType,
        });
      }
      return { Parameters: out, ...(page.next ? { NextToken: page.next } : {}) };
    },
  });
}

export function readOperations(state: ParameterState) {
  return {
    GetParameter: getParameterOperation(state),
    GetParameters: getParametersOperation(state),
    GetParametersByPath: getParametersByPathOperation(state),
    DescribeParameters: describeParametersOperation(state),
    GetParameterHistory: getParameterHistoryOperation(state),
  };
}
