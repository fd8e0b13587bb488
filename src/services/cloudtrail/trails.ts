/** Trails: their stored state, naming rules, look-up by name or ARN, and API shapes. */
import type { AdvancedEventSelector, EventSelector, InsightSelector, Tag, Trail } from "@aws-sdk/client-cloudtrail";
import { ServiceError } from "../../kernel/errors.ts";
import { cloudtrailShapes } from "../../protocol/shapes/cloudtrail.gen.ts";

/** One log file waiting for the next digest of its region. */
export interface PendingLogFile {
  s3Bucket: string;
  s3Object: string;
  hashValue: string;
  hashAlgorithm: "SHA-256";
  newestEventTime: string | null;
  oldestEventTime: string | null;
}

/** The digest chain of one delivering region. */
export interface DigestChain {
  /** end of the last digest (start of the next); set when logging starts */
  startMs: number;
  previous: { bucket: string; key: string; hash: string; signature: string } | null;
  logFiles: PendingLogFile[];
}

export interface TrailState {
  name: string;
  accountId: string;
  homeRegion: string;
  arn: string;
  s3BucketName: string;
  s3KeyPrefix?: string;
  snsTopicName?: string;
  includeGlobalServiceEvents: boolean;
  isMultiRegionTrail: boolean;
  logFileValidationEnabled: boolean;
  cloudWatchLogsLogGroupArn?: string;
  cloudWatchLogsRoleArn?: string;
  kmsKeyId?: string;
  isOrganizationTrail: boolean;
  /** an organization trail's organization (docs/organizations.md) */
  organizationId?: string;
  eventSelectors?: EventSelector[];
  advancedEventSelectors?: AdvancedEventSelector[];
  /** PutInsightSelectors (insight-operations.ts); absent when Insights is off */
  insightSelectors?: InsightSelector[];
  tags: Tag[];
  createdMs: number;
  // status
  isLogging: boolean;
  startLoggingMs?: number;
  stopLoggingMs?: number;
  latestDeliveryMs?: number;
  latestDeliveryAttemptMs?: number;
  latestDeliveryError?: string;
  latestDigestDeliveryMs?: number;
  latestDigestDeliveryError?: string;
  // delivery
  /** events with seq above this are not delivered yet */
  watermark: number;
  nextDeliveryMs: number;
  nextDigestMs: number;
  /** per delivering region */
  digests: Record<string, DigestChain>;
}

export const TRAIL_KIND = "cloudtrail.trail";
export const MAX_TRAILS_PER_REGION = 5;

export function ctError(code: string, message: string): ServiceError {
  return new ServiceError(code, message, cloudtrailShapes.errors[code]?.status ?? 400);
}

export function trailArn(region: string, account: string, name: string): string {
  return `arn:aws:cloudtrail:${region}:${account}:trail/${name}`;
}

const TRAIL_ARN = /^arn:aws[\w-]*:cloudtrail:([\w-]+):(\d{12}):trail\/(.+)$/;

export function parseTrailArn(s: string): { region: string; account: string; name: string } | undefined {
  const m = TRAIL_ARN.exec(s);
  return m ? { region: m[1], account: m[2], name: m[3] } : undefined;
}

/** CloudTrail's trail naming rules (InvalidTrailNameException). */
export function validateTrailName(name: string): void {
  const invalid = trailNameError(name);
  if (invalid) throw invalid;
}

function trailNameError(name: string): ServiceError | undefined {
  const invalid = (message: string) => ctError("InvalidTrailNameException", message);
  if (name.length < 3) return invalid(`Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`);
  if (name.length > 128) return invalid(`Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`);
  if (!/^[0-9a-zA-Z]/.test(name)) return invalid("Trail name must starts with a letter or number.");
  if (!/[0-9a-zA-Z]$/.test(name)) return invalid("Trail name must ends with a letter or number.");
  if (!/^[.\-_0-9a-zA-Z]+$/.test(name)) {
    return invalid("Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).");
  }
  if (/[._-]{2}/.test(name)) return invalid("Trail name cannot contain adjacent periods (.), hyphens (-), or underscores (_).");
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return invalid("Trail name cannot be formatted as an IP address.");
  return undefined;
}

/** Bucket names CloudTrail accepts (InvalidS3BucketNameException). */
export function validateBucketName(name: string): void {
  if (name.length < 3 || name.length > 63 || !/^[a-z0-9][a-z0-9.\-_]*[a-z0-9]$/.test(name) || name.includes("..") || /[A-Z]/.test(name)) {
    throw ctError("InvalidS3BucketNameException", `Bucket name ${name} is not valid.`);
  }
}

export function validatePrefix(prefix: string | undefined): void {
  if (prefix === undefined) return;
  if (prefix.length > 200) throw ctError("InvalidS3PrefixException", "S3 key prefix must be 200 characters or fewer.");
  if (prefix.startsWith("/") || prefix.endsWith("/") || prefix.includes("//")) {
    throw ctError("InvalidS3PrefixException", `S3 key prefix ${prefix} is not valid: it may not begin or end with "/" or contain "//".`);
  }
}

export function trailShape(t: TrailState): Trail {
  return {
    Name: t.name,
    S3BucketName: t.s3BucketName,
    ...(t.s3KeyPrefix !== undefined ? { S3KeyPrefix: t.s3KeyPrefix } : {}),
    ...(t.snsTopicName !== undefined ? { SnsTopicName: t.snsTopicName, SnsTopicARN: `arn:aws:sns:${t.homeRegion}:${t.accountId}:${t.snsTopicName}` } : {}),
    IncludeGlobalServiceEvents: t.includeGlobalServiceEvents,
    IsMultiRegionTrail: t.isMultiRegionTrail,
    HomeRegion: t.homeRegion,
    TrailARN: t.arn,
    LogFileValidationEnabled: t.logFileValidationEnabled,
    ...(t.cloudWatchLogsLogGroupArn !== undefined ? { CloudWatchLogsLogGroupArn: t.cloudWatchLogsLogGroupArn } : {}),
    ...(t.cloudWatchLogsRoleArn !== undefined ? { CloudWatchLogsRoleArn: t.cloudWatchLogsRoleArn } : {}),
    ...(t.kmsKeyId !== undefined ? { KmsKeyId: t.kmsKeyId } : {}),
    HasCustomEventSelectors: t.eventSelectors !== undefined || t.advancedEventSelectors !== undefined,
    HasInsightSelectors: (t.insightSelectors?.length ?? 0) > 0,
    IsOrganizationTrail: t.isOrganizationTrail,
  };
}

/** CreateTrail/UpdateTrail answer the trail without HomeRegion and the Has* flags. */
export function trailResponse(t: TrailState): Omit<Trail, "HomeRegion" | "HasCustomEventSelectors" | "HasInsightSelectors"> {
  const { HomeRegion: _h, HasCustomEventSelectors: _c, HasInsightSelectors: _i, ...rest } = trailShape(t);
  return rest;
}

export class Trails {
  readonly byArn = new Map<string, TrailState>();

  all(): TrailState[] {
    return [...this.byArn.values()];
  }

  inAccount(account: string): TrailState[] {
    return this.all().filter((t) => t.accountId === account);
  }

  /** Trails visible from `region`: its own, plus multi-region trails of other regions (shadow trails). */
  visible(account: string, region: string, includeShadow = true): TrailState[] {
    return this.inAccount(account).filter((t) => t.homeRegion === region || (includeShadow && t.isMultiRegionTrail));
  }

  /** The organization trails of `orgId` owned by another account than `account`, as `region` sees them. */
  ofOrganization(orgId: string, account: string, region: string, includeShadow = true): TrailState[] {
    return [...this.byArn.values()].filter((t) => t.organizationId === orgId && t.accountId !== account && (t.homeRegion === region || (includeShadow && t.isMultiRegionTrail)));
  }

  /**
   * The trail a name or ARN designates as seen from `region`, or the error CloudTrail answers
   * for it: TrailNotFoundException, or InvalidTrailNameException / CloudTrailARNInvalidException
   * for malformed names. Returned rather than thrown: a call answers it only once authorized.
   */
  lookup(account: string, region: string, nameOrArn: string): TrailState | ServiceError {
    if (nameOrArn.startsWith("arn:")) {
      const p = parseTrailArn(nameOrArn);
      if (!p)
        return ctError("CloudTrailARNInvalidException", `The ARN ${nameOrArn} is not valid. A trail ARN must be in the format arn:aws:cloudtrail:<region>:<account>:trail/<name>.`);
      const t = this.byArn.get(trailArn(p.region, p.account, p.name));
      if (t && t.accountId === account && (t.homeRegion === region || t.isMultiRegionTrail)) return t;
      return trailNotFound(account, nameOrArn);
    }
    const invalid = trailNameError(nameOrArn);
    if (invalid) return invalid;
    const own = this.byArn.get(trailArn(region, account, nameOrArn));
    if (own) return own;
    const shadow = this.inAccount(account).find((t) => t.name === nameOrArn && t.isMultiRegionTrail);
    return shadow ?? trailNotFound(account, nameOrArn);
  }

  /**
   * The trail a tagging call names by ARN (its own trails of the Region and multi-Region trails
   * of other Regions), or ResourceTypeNotSupportedException / CloudTrailARNInvalidException /
   * ResourceNotFoundException.
   */
  lookupTagged(account: string, region: string, resourceId: string): TrailState | ServiceError {
    const p = parseTrailArn(resourceId);
    if (!p) {
      if (resourceId.startsWith("arn:")) {
        return ctError("ResourceTypeNotSupportedException", `Resource type of ${resourceId} is not supported. Tags can be added to trails.`);
      }
      return ctError("CloudTrailARNInvalidException", `When resource ID is specified, the value must be an ARN: ${resourceId}`);
    }
    const t = this.byArn.get(trailArn(p.region, p.account, p.name));
    if (!t || t.accountId !== account || (t.homeRegion !== region && !t.isMultiRegionTrail)) return ctError("ResourceNotFoundException", `Resource ${resourceId} not found.`);
    return t;
  }

  /** Whether `t` is still the stored trail of its ARN (not deleted or replaced since it was looked up). */
  isCurrent(t: TrailState): boolean {
    return this.byArn.get(t.arn) === t;
  }
}

export function trailNotFound(account: string, nameOrArn: string): ServiceError {
  return ctError("TrailNotFoundException", `Unknown trail: ${nameOrArn} for the user: ${account}`);
}

/** Calls that change a trail (or its tags) are made in the trail's home Region. */
export function requireHomeRegion(t: TrailState, region: string): TrailState {
  if (t.homeRegion !== region) {
    throw ctError("InvalidHomeRegionException", `This operation must be called from the trail's home region (${t.homeRegion}).`);
  }
  return t;
}
