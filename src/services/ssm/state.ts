/**
 * Parameter Store's records: a parameter (name, ARN, type, tier, tags, key) and its versions, up
 * to 100, each with its value (a SecureString's sealed under a data key of its KMS key,
 * values.ts), description, allowed pattern, labels and who last changed it. Scoped to the
 * caller's account and the request's Region.
 */
import type { Tag } from "@aws-sdk/client-ssm";
import type { AppContext, RequestContext } from "../../kernel/context.ts";
import { ServiceError } from "../../kernel/errors.ts";
import type { WriteOp } from "../../store/store.ts";

export const KIND_PARAMETER = "ssm.parameter";

export type ParameterType = "String" | "StringList" | "SecureString";
export type ParameterTier = "Standard" | "Advanced";

export interface ParameterVersionRecord {
  version: number;
  type: ParameterType;
  /** String and StringList values */
  value?: string;
  /** SecureString: the KMS key ARN, the encrypted data key and the sealed value */
  kmsKeyArn?: string;
  /** SecureString: the KeyId as the caller gave it (DescribeParameters reports it) */
  keyId?: string;
  encryptedDataKey?: Buffer;
  sealed?: Buffer;
  description?: string;
  allowedPattern?: string;
  labels: string[];
  lastModifiedDate: Date;
  lastModifiedUser: string;
  tier: ParameterTier;
  policies?: string;
  dataType: string;
}

export interface ParameterRecord {
  name: string;
  arn: string;
  accountId: string;
  region: string;
  tags: Tag[];
  versions: ParameterVersionRecord[];
}

export const err = {
  notFound: (name?: string) => new ServiceError("ParameterNotFound", name ? `Parameter ${name} not found.` : "", 400),
  versionNotFound: (m: string) => new ServiceError("ParameterVersionNotFound", m, 400),
  validation: (m: string) => new ServiceError("ValidationException", m, 400),
  exists: () => new ServiceError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.", 400),
  invalidKeyId: (m: string) => new ServiceError("InvalidKeyId", m, 400),
  patternMismatch: (p: string) => new ServiceError("ParameterPatternMismatchException", `Parameter value, cannot be validated against allowedPattern: ${p}`, 400),
  invalidPattern: (m: string) => new ServiceError("InvalidAllowedPatternException", m, 400),
  hierarchy: (m: string) => new ServiceError("HierarchyLevelLimitExceededException", m, 400),
  invalidNextToken: () => new ServiceError("InvalidNextToken", "The specified token is not valid.", 400),
  accessDeniedKms: (m: string) => new ServiceError("AccessDeniedException", m, 400),
};

/**
 * ParameterNotFound from GetParameter and DeleteParameter is not recorded in CloudTrail
 * (ParameterNotFound in https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html).
 */
export function notFoundUnrecorded(ctx: RequestContext): ServiceError {
  ctx.audit.skip = true;
  return err.notFound();
}

/** The ARN of a parameter: `parameter/a/b` for `/a/b`, `parameter/a` for `a`. */
export function parameterArn(region: string, accountId: string, name: string): string {
  return `arn:aws:ssm:${region}:${accountId}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
}

const PARAMETER_ARN_RE = /^arn:aws[a-z-]*:ssm:([a-z0-9-]+):(\d{12}):parameter(\/.*)$/;

/** A name the caller gave (a name or a parameter ARN), split from a `:version` or `:label` selector. */
export interface NameRef {
  name: string;
  arn: string;
  accountId: string;
  region: string;
  selector?: string;
  /** false when an ARN names another Region than the request's: nothing is found there */
  inRequestRegion: boolean;
}

export function nameRef(ctx: RequestContext, raw: string): NameRef {
  let name = raw;
  let accountId = ctx.principal.accountId;
  let region = ctx.region;
  const m = PARAMETER_ARN_RE.exec(raw);
  if (m) {
    region = m[1];
    accountId = m[2];
    name = m[3];
  }
  let selector: string | undefined;
  const colon = name.lastIndexOf(":");
  if (colon > 0) {
    selector = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  // a name without a leading slash is stored as given; its ARN adds one
  if (m && !name.slice(1).includes("/")) name = name.slice(1);
  return { name, arn: parameterArn(region, accountId, name), accountId, region, selector, inRequestRegion: region === ctx.region };
}

export class ParameterState {
  readonly byKey = new Map<string, ParameterRecord>();

  constructor(readonly app: AppContext) {}

  load(): void {
    for (const p of this.app.store.all<ParameterRecord>(KIND_PARAMETER)) this.byKey.set(p.arn, p);
  }

  get(ref: Pick<NameRef, "arn" | "inRequestRegion">): ParameterRecord | undefined {
    return ref.inRequestRegion ? this.byKey.get(ref.arn) : undefined;
  }

  save(p: ParameterRecord): WriteOp {
    this.byKey.set(p.arn, p);
    return this.app.store.put(KIND_PARAMETER, p.arn, p);
  }

  remove(p: ParameterRecord): WriteOp {
    this.byKey.delete(p.arn);
    return this.app.store.del(KIND_PARAMETER, p.arn);
  }

  inScope(accountId: string, region: string): ParameterRecord[] {
    const out: ParameterRecord[] = [];
    for (const p of this.byKey.values()) if (p.accountId === accountId && p.region === region) out.push(p);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

export function latest(p: ParameterRecord): ParameterVersionRecord {
  return p.versions[p.versions.length - 1];
}

/** The version a selector names: a version number or a label; none: the latest. */
export function selected(p: ParameterRecord, selector: string | undefined): ParameterVersionRecord {
  if (selector === undefined) return latest(p);
  if (/^\d+$/.test(selector)) {
    const v = p.versions.find((x) => x.version === Number(selector));
    if (!v) throw err.versionNotFound(`Systems Manager could not find version ${selector} of ${p.name}. Verify the version and try again.`);
    return v;
  }
  const v = p.versions.find((x) => x.labels.includes(selector));
  if (!v) throw err.versionNotFound(`Systems Manager could not find label ${selector} of ${p.name}. Verify the label and try again.`);
  return v;
}
