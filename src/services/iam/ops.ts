/**
 * How IAM operations are declared: each one is authorized as `iam:<Operation>` on the ARN of the
 * user, role, group or policy it acts on (Service Authorization Reference), with its condition
 * keys, before its handler runs.
 */
import type { Tag } from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import type { AuthCheck, OperationDef, Principal, RequestContext } from "../types.ts";
import { defaultRequestParameters } from "../../audit/record.ts";
import { iamShapes } from "../../protocol/shapes/iam.gen.ts";
import { iamArn, validationError, type EntityKind } from "./common.ts";
import type { IamState, UserRec } from "./state.ts";
import { own } from "../../util/own-property.ts";

export interface IamEnv {
  state: IamState;
}

type Ctx = Record<string, unknown>;

export interface IamOpSpec<I, O> {
  /** the ARN(s) the action is authorized on; several means each must be allowed */
  resource(ctx: RequestContext, input: I): string | string[];
  context?(ctx: RequestContext, input: I): Ctx;
  /** tags of the resource acted on (aws:ResourceTag / iam:ResourceTag) */
  resourceTags?(ctx: RequestContext, input: I): Tag[] | undefined;
  handler(ctx: RequestContext, input: I): O;
  /** CloudTrail responseElements: true = the output, secrets left out */
  logResponse?: boolean;
  readOnly?: boolean;
}

/**
 * GetSessionToken credentials cannot call IAM unless MFA was presented when they were issued;
 * IAM answers as if the token were invalid.
 */
function requireIamCapableCredentials(p: Principal): void {
  if (p.session && p.session.issuerType !== "Role" && !p.session.mfaAuthenticated) {
    throw new ServiceError("InvalidClientTokenId", "The security token included in the request is invalid", 403);
  }
}

export function iamOp<I = any, O = any>(spec: IamOpSpec<I, O>): OperationDef<I, O> {
  return {
    readOnly: spec.readOnly,
    authorize(ctx, input): AuthCheck[] {
      requireIamCapableCredentials(ctx.principal);
      const resources = spec.resource(ctx, input);
      const context = spec.context?.(ctx, input);
      const tags = spec.resourceTags?.(ctx, input);
      let resourceTags: Record<string, string> | undefined;
      let fullContext = context as AuthCheck["context"];
      if (tags && tags.length) {
        resourceTags = {};
        fullContext = { ...(context as AuthCheck["context"]) };
        for (const t of tags) {
          resourceTags[t.Key!] = t.Value ?? "";
          fullContext![`iam:ResourceTag/${t.Key}`] = t.Value ?? "";
        }
      }
      return (Array.isArray(resources) ? resources : [resources]).map((resource) => ({
        action: `iam:${ctx.operation}`,
        resource,
        context: fullContext,
        resourceTags,
      }));
    },
    handler: spec.handler,
    responseElements: spec.logResponse
      ? (output, _input, ctx) => defaultRequestParameters(iamShapes, own(iamShapes.operations, ctx.operation)?.output, output)
      : undefined,
  };
}

export const acct = (ctx: RequestContext) => ctx.principal.accountId;

/** ARN for an entity named in a request, before knowing whether it exists (path "/"). */
export function arnFor(ctx: RequestContext, kind: EntityKind, name: string, path = "/"): string {
  return iamArn(acct(ctx), kind, path, name);
}

/**
 * The user an operation acts on when UserName is optional: the named user, or the caller when
 * the caller is an IAM user. Root acts on itself (undefined); other callers must name a user.
 */
export function implicitUser(ctx: RequestContext, state: IamState, userName: string | undefined): { name?: string; user?: UserRec } {
  if (userName !== undefined) return { name: userName, user: state.findUser(acct(ctx), userName) };
  const p = ctx.principal;
  if (p.type === "IAMUser" && p.userName) return { name: p.userName, user: state.findUser(acct(ctx), p.userName) };
  if (p.type === "Root") return {};
  throw validationError("Must specify userName when calling with non-User credentials");
}

/**
 * The ARN (with its path) and tags of a user, role or group a request names; for a name that
 * does not exist, the ARN with path "/" and no tags (authorization comes before existence).
 */
export function entityRefs(state: IamState) {
  return {
    userArn: (ctx: RequestContext, name: string) => state.findUser(acct(ctx), name)?.arn ?? arnFor(ctx, "user", name),
    roleArn: (ctx: RequestContext, name: string) => state.findRole(acct(ctx), name)?.arn ?? arnFor(ctx, "role", name),
    groupArn: (ctx: RequestContext, name: string) => state.findGroup(acct(ctx), name)?.arn ?? arnFor(ctx, "group", name),
    userTags: (ctx: RequestContext, name: string | undefined) => (name ? state.findUser(acct(ctx), name)?.tags : undefined),
    roleTags: (ctx: RequestContext, name: string) => state.findRole(acct(ctx), name)?.tags,
  };
}
