/**
 * What every IAM operation shares. Each call is authorized as `iam:<Operation>` on the ARN of
 * the user, role, group, policy or MFA device it acts on, with its condition keys and the
 * resource's tags (Service Authorization Reference for IAM:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_identityandaccessmanagementiam.html).
 * Authorization comes before existence: the resolvers here find what a request names (or find
 * that it is not there) without throwing NoSuchEntity; the handler does that, once authorized.
 */
import type { Tag } from "@aws-sdk/client-iam";
import { ServiceError } from "../../kernel/errors.ts";
import type { RequestContext } from "../../kernel/context.ts";
import type { AuthCheck } from "../../kernel/operation.ts";
import type { Principal } from "../../kernel/principal.ts";
import { defaultRequestParameters } from "../../audit/record.ts";
import { iamShapes } from "../../protocol/shapes/iam.gen.ts";
import { own } from "../../util/own-property.ts";
import { iamArn, noSuchEntity, validationError } from "./common.ts";
import type { IamIdentity } from "./identity.ts";
import type { SecretSealer } from "./secrets.ts";
import type { GroupRec, IamState, ManagedPolicy, MfaDeviceRec, RoleRec, UserRec } from "./state.ts";

/** What the IAM operations work with. */
export interface IamEnv {
  state: IamState;
  /** seals and opens secrets at rest (access keys, MFA seeds) */
  sealer: SecretSealer;
  /** notes access key use */
  identity: IamIdentity;
  /**
   * Access keys' newest use in the CloudTrail event store (every service and Region); without it
   * only what IAM and STS note themselves is known (see key-last-used.ts).
   */
  keyUseInTrail?(accessKeyIds: readonly string[]): Promise<Map<string, KeyLastUsed>>;
}

/** An access key's last use as GetAccessKeyLastUsed and the credential report show it. */
export interface KeyLastUsed {
  date: Date;
  /** the service's namespace: "kms", "iam", … */
  service: string;
  region: string;
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

/**
 * The start of every IAM call, before anything is looked up: the access key's last use is noted
 * (also for calls that will be refused) and credentials IAM does not accept are refused.
 * Returns the caller's account.
 */
export function beginIamCall(env: IamEnv, ctx: RequestContext): string {
  env.identity.noteKeyUse(ctx);
  requireIamCapableCredentials(ctx.principal);
  return ctx.principal.accountId;
}

export type ConditionContext = NonNullable<AuthCheck["context"]>;

/**
 * `iam:<Operation>` on each resource (several: each must be allowed), with the request's
 * condition keys and the resource's tags as aws:ResourceTag and iam:ResourceTag.
 */
export function iamChecks(ctx: RequestContext, resources: string | readonly string[], opts: { context?: ConditionContext; tags?: Tag[] } = {}): AuthCheck[] {
  let context = opts.context;
  let resourceTags: Record<string, string> | undefined;
  if (opts.tags?.length) {
    resourceTags = {};
    context = { ...context };
    for (const t of opts.tags) {
      resourceTags[t.Key!] = t.Value ?? "";
      context[`iam:ResourceTag/${t.Key}`] = t.Value ?? "";
    }
  }
  const list = typeof resources === "string" ? [resources] : resources;
  return list.map((resource) => ({ action: `iam:${ctx.operation}`, resource, context, resourceTags }));
}

/** CloudTrail responseElements of calls that log their response: the output, secrets left out. */
export function loggedResponse(output: unknown, _input: object, ctx: RequestContext): unknown {
  return defaultRequestParameters(iamShapes, own(iamShapes.operations, ctx.operation)?.output, output);
}

// ---- what a request names, resolved once ----

type EntityKind = "user" | "role" | "group";

/**
 * A user, role or group a request names: its ARN (with its path when it exists, path "/"
 * otherwise) for authorization, and the record when it exists.
 */
export interface EntityRef<E> {
  account: string;
  kind: EntityKind;
  name: string;
  arn: string;
  found?: E;
}

export function entityRef<E extends { arn: string }>(account: string, kind: EntityKind, name: string, found: E | undefined): EntityRef<E> {
  return { account, kind, name, arn: found?.arn ?? iamArn(account, kind, "/", name), ...(found ? { found } : {}) };
}

/** The named entity, or AWS's NoSuchEntity for it. */
export function existing<E>(ref: EntityRef<E>): E {
  if (!ref.found) throw noSuchEntity(`The ${ref.kind} with name ${ref.name} cannot be found.`);
  return ref.found;
}

/**
 * The named role, for a change through the ordinary role operations: a service-linked role is
 * changed only by its service (UnmodifiableEntity,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html).
 */
export function modifiableRole(ref: EntityRef<RoleRec>): RoleRec {
  const r = existing(ref);
  if (r.serviceLinked) throw new ServiceError("UnmodifiableEntity", `Cannot perform the operation on the protected role '${r.name}' - this role is only modifiable by AWS`, 400);
  return r;
}

/**
 * The user an operation acts on when UserName is optional: the named user, or the caller when
 * the caller is an IAM user. Root acts on itself (no name); other callers must name a user.
 * `arn` is what the call is authorized on (the caller's own ARN for root).
 */
export interface ImplicitUser {
  account: string;
  name?: string;
  user?: UserRec;
  arn: string;
}

/** The user an implicit-user call acts on, or NoSuchEntity when it names one that is not there. */
export function implicitUserRequired(who: ImplicitUser): UserRec | undefined {
  if (who.name !== undefined && !who.user) throw noSuchEntity(`The user with name ${who.name} cannot be found.`);
  return who.user;
}

/** A managed policy a request names by ARN, and the policy when the caller's account sees it. */
export interface PolicyRef {
  account: string;
  arn: string;
  found?: ManagedPolicy;
}

/** A virtual MFA device a request names by serial number. */
export interface DeviceRef {
  account: string;
  serial: string;
  found?: MfaDeviceRec;
}

/** The named resolve steps the IAM operations use, bound to the service's state. */
export interface IamResolvers {
  /** for calls on the account as a whole (creating, listing) */
  account(ctx: RequestContext): string;
  user(ctx: RequestContext, i: { UserName?: string }): EntityRef<UserRec>;
  role(ctx: RequestContext, i: { RoleName?: string }): EntityRef<RoleRec>;
  group(ctx: RequestContext, i: { GroupName?: string }): EntityRef<GroupRec>;
  implicitUser(ctx: RequestContext, i: { UserName?: string }): ImplicitUser;
  policy(ctx: RequestContext, i: { PolicyArn?: string }): PolicyRef;
  device(ctx: RequestContext, i: { SerialNumber?: string }): DeviceRef;
}

export function iamResolvers(env: IamEnv): IamResolvers {
  const { state } = env;
  return {
    account: function resolveCallerAccount(ctx) {
      return beginIamCall(env, ctx);
    },
    user: function resolveUserByName(ctx, i) {
      const account = beginIamCall(env, ctx);
      return entityRef(account, "user", i.UserName!, state.findUser(account, i.UserName!));
    },
    role: function resolveRoleByName(ctx, i) {
      const account = beginIamCall(env, ctx);
      return entityRef(account, "role", i.RoleName!, state.findRole(account, i.RoleName!));
    },
    group: function resolveGroupByName(ctx, i) {
      const account = beginIamCall(env, ctx);
      return entityRef(account, "group", i.GroupName!, state.findGroup(account, i.GroupName!));
    },
    implicitUser: function resolveImplicitUser(ctx, i) {
      const account = beginIamCall(env, ctx);
      const p = ctx.principal;
      const name = i.UserName ?? (p.type === "IAMUser" && p.userName ? p.userName : undefined);
      if (name === undefined) {
        if (p.type === "Root") return { account, arn: p.arn };
        throw validationError("Must specify userName when calling with non-User credentials");
      }
      const user = state.findUser(account, name);
      return { account, name, arn: user?.arn ?? iamArn(account, "user", "/", name), ...(user ? { user } : {}) };
    },
    policy: function resolvePolicyByArn(ctx, i) {
      const account = beginIamCall(env, ctx);
      const found = state.findPolicy(account, i.PolicyArn!);
      return { account, arn: i.PolicyArn!, ...(found ? { found } : {}) };
    },
    device: function resolveDeviceBySerial(ctx, i) {
      const account = beginIamCall(env, ctx);
      const found = state.findMfaDevice(account, i.SerialNumber!);
      return { account, serial: i.SerialNumber!, ...(found ? { found } : {}) };
    },
  };
}

// ---- authorize steps several operations share ----

/** On the named user, with its tags. */
export function authorizeOnUser(ctx: RequestContext, _i: object, ref: EntityRef<UserRec>): AuthCheck[] {
  return iamChecks(ctx, ref.arn, { tags: ref.found?.tags });
}

/** On the named role, with its tags. */
export function authorizeOnRole(ctx: RequestContext, _i: object, ref: EntityRef<RoleRec>): AuthCheck[] {
  return iamChecks(ctx, ref.arn, { tags: ref.found?.tags });
}

/** On the named group (groups have no tags). */
export function authorizeOnGroup(ctx: RequestContext, _i: object, ref: EntityRef<GroupRec>): AuthCheck[] {
  return iamChecks(ctx, ref.arn);
}

/** On the named or calling user (the caller's own ARN for root), with the user's tags. */
export function authorizeOnImplicitUser(ctx: RequestContext, _i: object, who: ImplicitUser): AuthCheck[] {
  return iamChecks(ctx, who.arn, { tags: who.user?.tags });
}

/** On the policy ARN as given, with a customer managed policy's tags. */
export function authorizeOnPolicy(ctx: RequestContext, _i: object, ref: PolicyRef): AuthCheck[] {
  return iamChecks(ctx, ref.arn, { tags: ref.found?.kind === "customer" ? ref.found.rec.tags : undefined });
}

/** On the device's serial number (its ARN), with its tags. */
export function authorizeOnDevice(ctx: RequestContext, _i: object, ref: DeviceRef): AuthCheck[] {
  return iamChecks(ctx, ref.found?.serial ?? ref.serial, { tags: ref.found?.tags });
}

/** For calls on no particular resource. */
export function authorizeOnAnyResource(ctx: RequestContext): AuthCheck[] {
  return iamChecks(ctx, "*");
}
