/** CreateTrail, UpdateTrail, DeleteTrail, GetTrail, DescribeTrails and ListTrails. */
import type {
  CreateTrailRequest,
  CreateTrailResponse,
  DeleteTrailRequest,
  DescribeTrailsRequest,
  DescribeTrailsResponse,
  GetTrailRequest,
  GetTrailResponse,
  ListTrailsRequest,
  ListTrailsResponse,
  UpdateTrailRequest,
  UpdateTrailResponse,
} from "@aws-sdk/client-cloudtrail";
import type { RequestContext } from "../../kernel/context.ts";
import { pageList, type PageTokens } from "../../store/paging.ts";
import { defineOperation } from "../../kernel/operation.ts";
import { bucketPolicyAllowsService } from "../s3/index.ts";
import { DIGEST_INTERVAL_MS, homeChain } from "./delivery.ts";
import { organizationForTrail } from "./organization-trail.ts";
import { responseElementsOf, saveTrail, type CloudTrailDeps } from "./deps.ts";
import { mergeTags, validateTags } from "./tag-operations.ts";
import { resolveTrailTarget, storedHomeTrailOf, trailCheck, trailOf, type TrailTarget } from "./target.ts";
import {
  ctError,
  MAX_TRAILS_PER_REGION,
  parseTrailArn,
  TRAIL_KIND,
  trailArn,
  trailResponse,
  trailShape,
  validateBucketName,
  validatePrefix,
  validateTrailName,
  type TrailState,
} from "./trails.ts";

/**
 * The trail's bucket exists, belongs to the trail's account, and its bucket policy lets
 * CloudTrail (cloudtrail.amazonaws.com) read the bucket's ACL and write the trail's log files
 * under `<prefix>/AWSLogs/<account>/`, as AWS requires of a trail's bucket
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html).
 */
function requireBucket(deps: CloudTrailDeps, name: string, accountId: string, trail: { arn: string; prefix?: string; organizationId?: string }): void {
  validateBucketName(name);
  const b = deps.bucket(name);
  if (!b) throw ctError("S3BucketDoesNotExistException", `S3 bucket ${name} does not exist!`);
  const insufficient = () => ctError("InsufficientS3BucketPolicyException", `Incorrect S3 bucket policy is detected for bucket: ${name}`);
  if (b.ownerAccountId !== accountId) throw insufficient();
  const context = { "aws:SourceArn": trail.arn, "aws:SourceAccount": accountId };
  // an organization trail writes each account's files under AWSLogs/<organization id>/<account>/
  const owner = trail.organizationId ? `${trail.organizationId}/${accountId}` : accountId;
  const logs = `arn:aws:s3:::${name}/${trail.prefix ? `${trail.prefix}/` : ""}AWSLogs/${owner}/CloudTrail/file.json.gz`;
  const allowed =
    bucketPolicyAllowsService(b, CLOUDTRAIL_SERVICE, "s3:GetBucketAcl", `arn:aws:s3:::${name}`, context) &&
    bucketPolicyAllowsService(b, CLOUDTRAIL_SERVICE, "s3:PutObject", logs, { ...context, "s3:x-amz-acl": "bucket-owner-full-control" });
  if (!allowed) throw insufficient();
}

const CLOUDTRAIL_SERVICE = "cloudtrail.amazonaws.com";

/** A key ARN must name a key of the trail's Region and account (no key policy here lets CloudTrail use another's). */
function checkKmsKey(ctx: RequestContext, keyId: string | undefined): void {
  const m = keyId ? /^arn:aws[a-z-]*:kms:([^:]*):([^:]*):/.exec(keyId) : null;
  if (!m) return;
  if (m[1] !== ctx.region) throw ctError("KmsKeyNotFoundException", `KMS key ${keyId} is not in the trail's Region ${ctx.region}.`);
  if (m[2] !== ctx.principal.accountId) throw ctError("InsufficientEncryptionPolicyException", `Insufficient permissions to access S3 bucket or KMS key ${keyId}.`);
}

function checkUnsupported(input: CreateTrailRequest | UpdateTrailRequest): void {
  if (input.SnsTopicName) throw ctError("InsufficientSnsTopicPolicyException", "SNS Topic does not exist or the topic policy is incorrect!");
  const group = input.CloudWatchLogsLogGroupArn;
  const role = input.CloudWatchLogsRoleArn;
  if ((group && !role) || (!group && role)) {
    throw ctError("InvalidParameterCombinationException", "You must specify both CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn, or neither.");
  }
  if (group) throw ctError("CloudWatchLogsDeliveryUnavailableException", "Delivery of trail events to CloudWatch Logs is not available in localfargate.");
}

export function createTrailOperation(deps: CloudTrailDeps) {
  return defineOperation<CreateTrailRequest, CreateTrailResponse, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.Name!),
    authorize: (_ctx, _i, target) => trailCheck("CreateTrail", target),
    handler: function createTrail(ctx, input) {
      const acct = ctx.principal.accountId;
      const name = input.Name!;
      if (name.startsWith("arn:"))
        throw ctError(
          "InvalidTrailNameException",
          "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).",
        );
      validateTrailName(name);
      checkUnsupported(input);
      // the request's own parameters are checked before the bucket and key it names
      const organizationId = organizationForTrail(ctx, input.IsOrganizationTrail);
      validatePrefix(input.S3KeyPrefix);
      validateTags(input.TagsList);
      const multi = input.IsMultiRegionTrail ?? false;
      const global = input.IncludeGlobalServiceEvents ?? true;
      if (multi && !global) throw ctError("InvalidParameterCombinationException", "Multi-Region trail must include global service events.");
      requireBucket(deps, input.S3BucketName!, acct, { arn: trailArn(ctx.region, acct, name), prefix: input.S3KeyPrefix, organizationId });
      checkKmsKey(ctx, input.KmsKeyId);
      const arn = trailArn(ctx.region, acct, name);
      const clash = deps.trails.inAccount(acct).find((t) => t.name === name && (t.arn === arn || t.isMultiRegionTrail || multi));
      if (clash) throw ctError("TrailAlreadyExistsException", `Trail ${name} already exists for customer: ${acct}`);
      if (deps.trails.inAccount(acct).filter((t) => t.homeRegion === ctx.region).length >= MAX_TRAILS_PER_REGION) {
        throw ctError("MaximumNumberOfTrailsExceededException", `User: ${acct} already has ${MAX_TRAILS_PER_REGION} trails in ${ctx.region}.`);
      }
      const t: TrailState = {
        name,
        accountId: acct,
        homeRegion: ctx.region,
        arn,
        s3BucketName: input.S3BucketName!,
        ...(input.S3KeyPrefix ? { s3KeyPrefix: input.S3KeyPrefix } : {}),
        includeGlobalServiceEvents: global,
        isMultiRegionTrail: multi,
        logFileValidationEnabled: input.EnableLogFileValidation ?? false,
        ...(input.KmsKeyId ? { kmsKeyId: input.KmsKeyId } : {}),
        isOrganizationTrail: organizationId !== undefined,
        ...(organizationId ? { organizationId } : {}),
        tags: mergeTags([], input.TagsList ?? []),
        createdMs: ctx.now.getTime(),
        isLogging: false,
        watermark: 0,
        nextDeliveryMs: 0,
        nextDigestMs: 0,
        digests: {},
      };
      deps.trails.byArn.set(arn, t);
      saveTrail(ctx, deps, t);
      return trailResponse(t);
    },
    audit: { responseElements: responseElementsOf(deps, "CreateTrailResponse") },
  });
}

export function updateTrailOperation(deps: CloudTrailDeps) {
  return defineOperation<UpdateTrailRequest, UpdateTrailResponse, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.Name!),
    authorize: (_ctx, _i, target) => trailCheck("UpdateTrail", target),
    handler: async function updateTrail(ctx, input, target) {
      // turning validation off delivers what is pending: every event recorded so far must be stored
      await deps.events.indexed();
      const t = storedHomeTrailOf(ctx, deps.trails, target, input.Name!);
      checkUnsupported(input);
      const organizationId = input.IsOrganizationTrail === undefined ? t.organizationId : organizationForTrail(ctx, input.IsOrganizationTrail);
      validatePrefix(input.S3KeyPrefix === "" ? undefined : input.S3KeyPrefix);
      const multi = input.IsMultiRegionTrail ?? t.isMultiRegionTrail;
      const global = input.IncludeGlobalServiceEvents ?? t.includeGlobalServiceEvents;
      if (multi && !global) throw ctError("InvalidParameterCombinationException", "Multi-Region trail must include global service events.");
      if (input.S3BucketName !== undefined || input.S3KeyPrefix !== undefined || organizationId !== t.organizationId) {
        const prefix = input.S3KeyPrefix === undefined ? t.s3KeyPrefix : input.S3KeyPrefix || undefined;
        requireBucket(deps, input.S3BucketName ?? t.s3BucketName, ctx.principal.accountId, { arn: t.arn, prefix, organizationId });
      }
      checkKmsKey(ctx, input.KmsKeyId);
      if (multi && !t.isMultiRegionTrail) {
        const clash = deps.trails.inAccount(t.accountId).find((x) => x !== t && x.name === t.name);
        if (clash) throw ctError("TrailAlreadyExistsException", `Trail ${t.name} already exists for customer: ${t.accountId}`);
      }
      const now = ctx.now.getTime();
      if (input.S3BucketName !== undefined) t.s3BucketName = input.S3BucketName;
      if (input.S3KeyPrefix !== undefined) {
        if (input.S3KeyPrefix === "") delete t.s3KeyPrefix;
        else t.s3KeyPrefix = input.S3KeyPrefix;
      }
      t.isMultiRegionTrail = multi;
      t.includeGlobalServiceEvents = global;
      if (organizationId !== t.organizationId) {
        // files and digest chains are per account in an organization trail: close the old ones, start anew
        if (t.isLogging) ctx.writes.push(...deps.delivery.finish(t, now));
        t.isOrganizationTrail = organizationId !== undefined;
        if (organizationId) t.organizationId = organizationId;
        else delete t.organizationId;
        if (t.isLogging && t.logFileValidationEnabled) t.digests = { [homeChain(t)]: { startMs: now, previous: null, logFiles: [] } };
      }
      if (input.KmsKeyId !== undefined) {
        if (input.KmsKeyId === "") delete t.kmsKeyId;
        else t.kmsKeyId = input.KmsKeyId;
      }
      if (input.EnableLogFileValidation !== undefined && input.EnableLogFileValidation !== t.logFileValidationEnabled) {
        if (t.isLogging) {
          if (input.EnableLogFileValidation) {
            t.digests = { [homeChain(t)]: { startMs: now, previous: null, logFiles: [] } };
            t.nextDigestMs = now + DIGEST_INTERVAL_MS;
          } else {
            ctx.writes.push(...deps.delivery.deliverLogs(t, now), ...deps.delivery.deliverDigests(t, now, true));
          }
        }
        t.logFileValidationEnabled = input.EnableLogFileValidation;
      }
      saveTrail(ctx, deps, t);
      return trailResponse(t);
    },
    audit: { responseElements: responseElementsOf(deps, "UpdateTrailResponse") },
  });
}

export function deleteTrailOperation(deps: CloudTrailDeps) {
  return defineOperation<DeleteTrailRequest, object, TrailTarget>({
    readOnly: false,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.Name!),
    authorize: (_ctx, _i, target) => trailCheck("DeleteTrail", target),
    handler: async function deleteTrail(ctx, input, target) {
      await deps.events.indexed(); // a logging trail delivers what is pending first
      const t = storedHomeTrailOf(ctx, deps.trails, target, input.Name!);
      if (t.isLogging) ctx.writes.push(...deps.delivery.finish(t, ctx.now.getTime()));
      t.isLogging = false;
      deps.trails.byArn.delete(t.arn);
      ctx.writes.push(deps.store.del(TRAIL_KIND, t.arn));
      return {};
    },
  });
}

export function getTrailOperation(deps: CloudTrailDeps) {
  return defineOperation<GetTrailRequest, GetTrailResponse, TrailTarget>({
    readOnly: true,
    resolve: (ctx, i) => resolveTrailTarget(ctx, deps.trails, i.Name!),
    authorize: (_ctx, _i, target) => trailCheck("GetTrail", target),
    handler: function getTrail(_ctx, _i, target) {
      return { Trail: trailShape(trailOf(target)) };
    },
  });
}

export function describeTrailsOperation(deps: CloudTrailDeps) {
  return defineOperation<DescribeTrailsRequest, DescribeTrailsResponse>({
    readOnly: true,
    authorize: () => [{ action: "cloudtrail:DescribeTrails", resource: "*" }],
    handler: function describeTrails(ctx, input) {
      const shadows = input.includeShadowTrails ?? true;
      // a member account also sees its organization's trails (read-only: they stay the management account's)
      const orgId = ctx.app.scps?.organizationIdOf(ctx.principal.accountId);
      const orgTrails = orgId ? deps.trails.ofOrganization(orgId, ctx.principal.accountId, ctx.region, shadows) : [];
      const visible = [...deps.trails.visible(ctx.principal.accountId, ctx.region, shadows), ...orgTrails];
      const names = input.trailNameList ?? [];
      if (names.length === 0) return { trailList: visible.map(trailShape) };
      for (const n of names) {
        if (n.startsWith("arn:")) {
          if (!parseTrailArn(n))
            throw ctError("CloudTrailARNInvalidException", `The ARN ${n} is not valid. A trail ARN must be in the format arn:aws:cloudtrail:<region>:<account>:trail/<name>.`);
        } else validateTrailName(n);
      }
      return { trailList: visible.filter((t) => names.includes(t.name) || names.includes(t.arn)).map(trailShape) };
    },
  });
}

/** ListTrails' page size (AWS documents paging by NextToken without a size; docs/cloudtrail.md). */
export const LIST_TRAILS_PAGE = 50;

const LIST_TRAILS_TOKENS: PageTokens = {
  prefix: "lfct1:",
  invalid: () => ctError("InvalidNextTokenException", "Invalid NextToken. The token is not valid for this request."),
  resume: "after",
};

export function listTrailsOperation(deps: CloudTrailDeps) {
  return defineOperation<ListTrailsRequest, ListTrailsResponse>({
    readOnly: true,
    authorize: () => [{ action: "cloudtrail:ListTrails", resource: "*" }],
    handler: function listTrails(ctx, i) {
      // by name, then home Region (a name is unique within its Region)
      const key = (t: TrailState) => `${t.name}\u0000${t.homeRegion}`;
      const trails = deps.trails.inAccount(ctx.principal.accountId).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      const page = pageList(LIST_TRAILS_TOKENS, trails, key, i.NextToken, LIST_TRAILS_PAGE);
      return {
        Trails: page.items.map((t) => ({ TrailARN: t.arn, Name: t.name, HomeRegion: t.homeRegion })),
        ...(page.next !== undefined ? { NextToken: page.next } : {}),
      };
    },
  });
}
