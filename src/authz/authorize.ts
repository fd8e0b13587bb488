/**
 * Authorization of one operation call: builds the request context (global condition keys plus
 * the operation's own), gathers the caller's policies and asks the policy engine, in AWS's
 * evaluation order. A denial becomes AccessDenied(Exception) with AWS's message.
 */
import { ServiceError } from "../kernel/errors.ts";
import { principalTypeKey } from "../auth/principal.ts";
import { accessDeniedMessage, compileStoredPolicy, evaluate, resourceAccount, type CompiledPolicy, type ConditionContext, type ContextValue } from "../policy/index.ts";
import type { AuthCheck } from "../kernel/operation.ts";
import type { RequestContext } from "../kernel/context.ts";

export function globalContext(ctx: RequestContext): Map<string, ContextValue> {
  const p = ctx.principal;
  const m = new Map<string, ContextValue>();
  const principalArn = p.type === "AssumedRole" && p.session?.roleArn ? p.session.roleArn : p.arn;
  m.set("aws:principalisawsservice", p.type === "AWSService");
  if (p.type === "Anonymous") {
    m.set("aws:sourceip", ctx.sourceIp);
    m.set("aws:securetransport", ctx.secureTransport);
  } else if (p.type !== "AWSService") {
    m.set("aws:principalarn", principalArn);
    m.set("aws:principalaccount", p.accountId);
    const orgId = ctx.app.scps?.organizationIdOf(p.accountId);
    if (orgId) m.set("aws:principalorgid", orgId);
    m.set("aws:principaltype", principalTypeKey(p));
    m.set("aws:userid", p.principalId);
    if (p.type === "IAMUser" && p.userName) m.set("aws:username", p.userName);
    m.set("aws:sourceip", ctx.sourceIp);
    m.set("aws:securetransport", ctx.secureTransport);
    if (p.session) {
      m.set("aws:multifactorauthpresent", p.session.mfaAuthenticated);
      if (p.session.mfaAuthenticated && p.session.mfaAuthenticatedAt) {
        m.set("aws:multifactorauthage", Math.max(0, Math.floor((ctx.now.getTime() - p.session.mfaAuthenticatedAt.getTime()) / 1000)));
      }
      m.set("aws:tokenissuetime", p.session.createdAt);
      if (p.session.federatedProvider) m.set("aws:federatedprovider", p.session.federatedProvider);
    }
  } else {
    m.set("aws:principalservicename", p.arn);
    m.set("aws:principalservicenameslist", [p.arn]);
    if (p.sourceArn) m.set("aws:sourcearn", p.sourceArn);
    if (p.sourceAccount) m.set("aws:sourceaccount", p.sourceAccount);
  }
  m.set("aws:requestedregion", ctx.service.globalRegion ?? ctx.region);
  m.set("aws:currenttime", ctx.now);
  m.set("aws:epochtime", Math.floor(ctx.now.getTime() / 1000));
  if (ctx.viaService) {
    // A service acting with the caller's credentials (a forward access session):
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-viaawsservice
    m.set("aws:viaawsservice", true);
    if (p.type !== "AWSService") {
      m.set("aws:calledvia", [ctx.viaService]);
      m.set("aws:calledviafirst", ctx.viaService);
      m.set("aws:calledvialast", ctx.viaService);
    }
  }
  return m;
}

/**
 * A request's condition keys, built on the first lookup: most policies (AWS's default key policy
 * among them) have no conditions or variables and never look one up.
 */
class LazyConditions implements ConditionContext {
  private map: Map<string, ContextValue> | undefined;
  constructor(private readonly build: () => Map<string, ContextValue>) {}
  get(key: string): ContextValue | undefined {
    return (this.map ??= this.build()).get(key);
  }
}

/** The global keys and the caller's principal tags. */
function requestConditions(ctx: RequestContext, principalTags: Record<string, string> | undefined): Map<string, ContextValue> {
  const m = globalContext(ctx);
  if (principalTags) for (const k in principalTags) m.set(`aws:principaltag/${k.toLowerCase()}`, principalTags[k]);
  return m;
}

/** The global keys plus a check's own keys and its resource's tags. */
function checkConditions(base: Map<string, ContextValue>, check: AuthCheck): Map<string, ContextValue> {
  const own = check.context;
  const tags = check.resourceTags;
  if (!own && !tags) return base;
  const m = new Map(base);
  if (own) for (const k in own) if (own[k] !== undefined) m.set(k.toLowerCase(), own[k]!);
  if (tags) for (const k in tags) m.set(`aws:resourcetag/${k.toLowerCase()}`, tags[k]);
  return m;
}

function compileAll(docs: string[] | undefined, kind: "identity" | "session"): CompiledPolicy[] {
  return (docs ?? []).map((d) => compileStoredPolicy(d, kind));
}

export function accessDenied(ctx: RequestContext, message: string): ServiceError {
  if (ctx.service.protocol === "query") return new ServiceError("AccessDenied", message, 403);
  if (ctx.service.protocol === "rest") return new ServiceError("AccessDenied", "Access Denied", 403);
  const status = ctx.service.shapes?.errors.AccessDeniedException?.status ?? 400;
  return new ServiceError("AccessDeniedException", message, status);
}

/**
 * The services whose resources RCPs govern, by IAM prefix (of those localfargate serves), from
 * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html
 * ("List of AWS services that support RCPs").
 */
const RCP_SERVICES = new Set(["s3", "sts", "kms", "sqs", "secretsmanager", "ecr", "logs", "dynamodb", "aoss", "cognito-idp"]);

/**
 * Service-linked roles are beyond SCPs and RCPs
 * (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
 */
function isServiceLinkedRole(roleArn: string | undefined): boolean {
  return roleArn !== undefined && roleArn.includes(":role/aws-service-role/");
}

/** The RCP levels over a check's resource: its account's, for the services RCPs cover. */
function rcpLevelsOf(ctx: RequestContext, check: AuthCheck, fallbackAccount: string): CompiledPolicy[][] | undefined {
  const provider = ctx.app.scps;
  if (!provider) return undefined;
  const prefix = check.action.slice(0, check.action.indexOf(":")).toLowerCase();
  if (!RCP_SERVICES.has(prefix)) return undefined;
  const owner = check.resourcePolicy?.ownerAccountId ?? resourceAccount(check.resource) ?? fallbackAccount;
  return provider.rcpLevelsFor(owner)?.map((level) => level.map((d) => compileStoredPolicy(d, "resource")));
}

export function authorizeChecks(ctx: RequestContext, checks: AuthCheck[]): void {
  if (checks.length === 0) return;
  const p = ctx.principal;
  const idp = p.type === "AWSService" || p.type === "Root" || p.type === "Anonymous" ? undefined : ctx.app.identityPolicies?.policiesFor(p);
  const identity = compileAll(idp?.identity, "identity");
  const boundary = idp?.boundary ? compileStoredPolicy(idp.boundary, "identity") : undefined;
  const session = idp?.session ? compileAll(idp.session, "session") : undefined;
  const serviceLinked = isServiceLinkedRole(p.session?.roleArn);
  const scpDocs = p.type === "AWSService" || p.type === "Anonymous" || serviceLinked ? undefined : ctx.app.scps?.scpLevelsFor(p.accountId);
  const scpLevels = scpDocs?.map((level) => level.map((d) => compileStoredPolicy(d, "scp")));
  let base: Map<string, ContextValue> | undefined;
  for (const check of checks) {
    const context = new LazyConditions(() => checkConditions((base ??= requestConditions(ctx, idp?.principalTags)), check));
    const resourcePolicy = check.resourcePolicy
      ? {
          policy: compileStoredPolicy(check.resourcePolicy.document, check.resourcePolicy.kind),
          ownerAccountId: check.resourcePolicy.ownerAccountId,
          authoritative: check.resourcePolicy.authoritative,
        }
      : undefined;
    const input = {
      principal: {
        type: p.type,
        accountId: p.accountId,
        arn: p.arn,
        roleArn: p.session?.roleArn,
        serviceName: p.type === "AWSService" ? p.arn : undefined,
        federatedProvider: check.federatedPrincipal,
      },
      action: check.action,
      resource: check.resource,
      context,
      identityPolicies: identity,
      permissionsBoundary: boundary,
      sessionPolicies: session,
      scpLevels,
      rcpLevels: serviceLinked ? undefined : rcpLevelsOf(ctx, check, p.accountId),
      resourcePolicy,
    };
    let result = evaluate(input);
    if (result.decision === "ImplicitDeny" && check.grantAllows && check.grantAllows()) {
      result = evaluate({ ...input, grantAllows: true });
    }
    if (result.decision !== "Allow") {
      if (check.itemDenied) {
        check.itemDenied();
        continue;
      }
      if (check.denied) throw check.denied();
      throw accessDenied(ctx, accessDeniedMessage(p.arn, check.action, check.resource, result));
    }
  }
}
