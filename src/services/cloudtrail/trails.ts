/** Trails: their stored state, naming rules, look-up by name or ARN, and API shapes. */
import type { AdvancedEventSelector, EventSelector, Tag, Trail } from "@aws-sdk/client-cloudtrail";
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
  eventSelectors?: EventSelector[];
  advancedEventSelectors?: AdvancedEventSelector[];
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
  if (name.length < 3) throw ctError("InvalidTrailNameException", `Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`);
  if (name.length > 128) throw ctError("InvalidTrailNameException", `Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`);
  if (!/^[0-9a-zA-Z]/.test(name)) throw ctError("InvalidTrailNameException", "Trail name must starts with a letter or number.");
  if (!/[0-9a-zA-Z]$/.test(name)) throw ctError("InvalidTrailNameException", "Trail name must ends with a letter or number.");
  if (!/^[.\-_0-9a-zA-Z]+$/.test(name)) {
    throw ctError("InvalidTrailNameException", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).");
  }
  if (/[._-]{2}/.test(name)) throw ctError("InvalidTrailNameException", "Trail name cannot contain adjacent periods (.), hyphens (-), or underscores (_).");
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) throw ctError("InvalidTrailNameException", "Trail name cannot be formatted as an IP address.");
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
    HasInsightSelectors: false,
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

  /**
   * Finds a trail by name or ARN as seen from `region`. Throws TrailNotFoundException, or
   * InvalidTrailNameException / CloudTrailARNInvalidException for malformed names.
   */
  find(account: string, region: string, nameOrArn: string): TrailState {
    if (nameOrArn.startsWith("arn:")) {
      const p = parseTrailArn(nameOrArn);
      if (!p) throw ctError("CloudTrailARNInvalidException", `The ARN ${nameOrArn} is not valid. A trail ARN must be in the format arn:aws:cloudtrail:<region>:<account>:trail/<name>.`);
      const t = this.byArn.get(trailArn(p.region, p.account, p.name));
      if (t && t.accountId === account && (t.homeRegion === region || t.isMultiRegionTrail)) return t;
      throw ctError("TrailNotFoundException", `Unknown trail: ${nameOrArn} for the user: ${account}`);
    }
    validateTrailName(nameOrArn);
    const own = this.byArn.get(trailArn(region, account, nameOrArn));
    if (own) return own;
    const shadow = this.inAccount(account).find((t) => t.name === nameOrArn && t.isMultiRegionTrail);
    if (shadow) return shadow;
    throw ctError("TrailNotFoundException", `Unknown trail: ${nameOrArn} for the user: ${account}`);
  }

  /** As `find`, for calls that must be made in the trail's home region. */
  findHome(account: string, region: string, nameOrArn: string): TrailState {
    const t = this.find(account, region, nameOrArn);
    if (t.homeRegion !== region) {
      throw ctError("InvalidHomeRegionException", `This operation must be called from the trail's home region (${t.homeRegion}).`);
    }
    return t;
  }
}
