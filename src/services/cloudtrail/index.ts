/**
 * CloudTrail (awsJson1_1; both target prefixes): event history (LookupEvents) over the audit
 * store, trails with event selectors and tags, delivery of log files and signed digest files
 * to our S3 on the service clock, and the public keys that verify the digests.
 */
import type {
  AddTagsRequest, CreateTrailRequest, CreateTrailResponse, DeleteTrailRequest, DescribeTrailsRequest, DescribeTrailsResponse,
  GetEventSelectorsRequest, GetEventSelectorsResponse, GetTrailRequest, GetTrailResponse, GetTrailStatusRequest,
  GetTrailStatusResponse, ListPublicKeysRequest, ListPublicKeysResponse, ListTagsRequest, ListTagsResponse, ListTrailsResponse,
  LookupEventsRequest, PutEventSelectorsRequest, PutEventSelectorsResponse, RemoveTagsRequest, StartLoggingRequest,
  StopLoggingRequest, Tag, UpdateTrailRequest, UpdateTrailResponse,
} from "@aws-sdk/client-cloudtrail";
import { cloudtrailShapes } from "../../protocol/shapes/cloudtrail.gen.ts";
import type { ServiceShapes } from "../../protocol/shapes/types.ts";
import { defaultRequestParameters, isoSeconds } from "../../audit/record.ts";
import type { AppContext, AuthCheck, OperationDef, RequestContext, ServiceDef } from "../types.ts";
import { s3Api } from "../s3/index.ts";
import { Delivery, DELIVERY_INTERVAL_MS, DIGEST_INTERVAL_MS } from "./delivery.ts";
import { SigningKeys } from "./keys.ts";
import { lookupEvents } from "./lookup.ts";
import { defaultEventSelectors, normalizeAdvancedEventSelectors, normalizeEventSelectors } from "./selectors.ts";
import {
  ctError, MAX_TRAILS_PER_REGION, parseTrailArn, TRAIL_KIND, trailArn, trailResponse, Trails, trailShape,
  validateBucketName, validatePrefix, validateTrailName, type TrailState,
} from "./trails.ts";
import { defineServiceModule } from "../../kernel/service.ts";
import { fromLegacyService } from "../../kernel/legacy-operation.ts";
import { checkTags, mergeTags as mergeSharedTags, type TagRules } from "../../kernel/tags.ts";

export const TARGET_PREFIXES = ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101", "CloudTrail_20131101"];
const MAX_TAGS = 50;

/** CloudTrail's tag dialect on the shared tag rules (src/kernel/tags.ts); a tag may have no value. */
export const CLOUDTRAIL_TAG_RULES: TagRules<Tag> = {
  shape: { key: (t) => t.Key ?? "", value: (t) => t.Value, make: (Key, Value) => (Value === undefined ? { Key } : { Key, Value }) },
  max: MAX_TAGS,
  requestCount: "merged",
  errors: {
    tooMany: () => ctError("TagsLimitExceededException", `The number of tags per trail has exceeded the permitted amount. Currently, the limit is ${MAX_TAGS}.`),
    reserved: () => ctError("InvalidTagParameterException", "Tag keys beginning with aws: are reserved."),
    duplicate: (key) => ctError("InvalidTagParameterException", `Duplicate tag key ${key}.`),
  },
};

/**
 * The shapes requests are checked against. LookupEvents' MaxResults range and the
 * AttributeKey/EventCategory enums are left to the handler, which answers with CloudTrail's own
 * exceptions (InvalidMaxResultsException, InvalidLookupAttributesException,
 * InvalidEventCategoryException) rather than a generic ValidationException.
 */
function runtimeShapes(): ServiceShapes {
  const s = structuredClone(cloudtrailShapes);
  s.shapes.MaxResults = { type: "integer" };
  s.shapes.LookupAttributeKey = { type: "string" };
  s.shapes.LookupAttributeValue = { type: "string" };
  s.shapes.EventCategory = { type: "string" };
  return s;
}

export const cloudTrailModule = defineServiceModule({
  name: "cloudtrail",
  needs: ["auditStore"],
  create(app) {
    const { def, delivery } = createCloudTrailService(app);
    return { services: [fromLegacyService(def)], dueRunners: [delivery] };
  },
});

function createCloudTrailService(app: AppContext): { def: ServiceDef; delivery: Delivery } {
  const events = app.get("auditStore");
  const trails = new Trails();
  for (const t of app.store.all<TrailState>(TRAIL_KIND)) trails.byArn.set(t.arn, t);
  const keys = new SigningKeys(app.store, app.dataDir);
  const delivery = new Delivery(app, trails, events, keys);
  const shapes = runtimeShapes();

  const save = (ctx: RequestContext, t: TrailState) => ctx.writes.push(app.store.put(TRAIL_KIND, t.arn, t));
  const account = (ctx: RequestContext) => ctx.principal.accountId;

  /** The ARN a name or ARN designates, for authorization and the audit record. */
  function arnOf(ctx: RequestContext, nameOrArn: string | undefined): string {
    if (!nameOrArn) return "*";
    if (nameOrArn.startsWith("arn:")) return nameOrArn;
    const t = trails.visible(account(ctx), ctx.region).find((x) => x.name === nameOrArn);
    return t?.arn ?? trailArn(ctx.region, account(ctx), nameOrArn);
  }

  function trailCheck(action: string, name: (input: any) => string | undefined) {
    return (ctx: RequestContext, input: any): AuthCheck => {
      const arn = arnOf(ctx, name(input));
      if (arn !== "*") {
        const p = parseTrailArn(arn);
        ctx.audit.resources = [{ ARN: arn, accountId: p?.account ?? account(ctx), type: "AWS::CloudTrail::Trail" }];
      }
      return { action: `cloudtrail:${action}`, resource: arn };
    };
  }

  /**
   * The trail's bucket exists and belongs to the trail's account: buckets here have no bucket
   * policy that could let CloudTrail write another account's trail into them.
   */
  function requireBucket(name: string, accountId: string): void {
    validateBucketName(name);
    const b = s3Api(app)?.bucket(name);
    if (!b) throw ctError("S3BucketDoesNotExistException", `S3 bucket ${name} does not exist!`);
    if (b.ownerAccountId !== accountId) throw ctError("InsufficientS3BucketPolicyException", `Incorrect S3 bucket policy is detected for bucket: ${name}`);
  }

  /** A key ARN must name a key of the trail's Region and account (no key policy here lets CloudTrail use another's). */
  function checkKmsKey(keyId: string | undefined, ctx: RequestContext): void {
    const m = keyId ? /^arn:aws[a-z-]*:kms:([^:]*):([^:]*):/.exec(keyId) : null;
    if (!m) return;
    if (m[1] !== ctx.region) throw ctError("KmsKeyNotFoundException", `KMS key ${keyId} is not in the trail's Region ${ctx.region}.`);
    if (m[2] !== account(ctx)) throw ctError("InsufficientEncryptionPolicyException", `Insufficient permissions to access S3 bucket or KMS key ${keyId}.`);
  }

  function checkUnsupported(input: CreateTrailRequest | UpdateTrailRequest): void {
    if (input.IsOrganizationTrail) throw ctError("OrganizationsNotInUseException", "This account is not a member of an organization.");
    if (input.SnsTopicName) throw ctError("InsufficientSnsTopicPolicyException", "SNS Topic does not exist or the topic policy is incorrect!");
    const group = input.CloudWatchLogsLogGroupArn;
    const role = input.CloudWatchLogsRoleArn;
    if ((group && !role) || (!group && role)) {
      throw ctError("InvalidParameterCombinationException", "You must specify both CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn, or neither.");
    }
    if (group) throw ctError("CloudWatchLogsDeliveryUnavailableException", "Delivery of trail events to CloudWatch Logs is not available in localfargate.");
  }

  function validateTags(list: Tag[] | undefined): void {
    checkTags(CLOUDTRAIL_TAG_RULES, list);
  }

  function mergeTags(existing: Tag[], add: Tag[]): Tag[] {
    return mergeSharedTags(CLOUDTRAIL_TAG_RULES, existing, add);
  }

  /**
   * The trail a tagging call names, as seen from the request's Region: its own trails and (for
   * ListTags) the multi-Region trails of other Regions; tags change only in the home Region.
   */
  function tagTarget(ctx: RequestContext, resourceId: string, home: boolean): TrailState {
    const p = parseTrailArn(resourceId);
    if (!p) {
      if (resourceId.startsWith("arn:")) {
        throw ctError("ResourceTypeNotSupportedException", `Resource type of ${resourceId} is not supported. Tags can be added to trails.`);
      }
      throw ctError("CloudTrailARNInvalidException", `When resource ID is specified, the value must be an ARN: ${resourceId}`);
    }
    const t = trails.byArn.get(trailArn(p.region, p.account, p.name));
    if (!t || t.accountId !== account(ctx) || (t.homeRegion !== ctx.region && !t.isMultiRegionTrail)) throw ctError("ResourceNotFoundException", `Resource ${resourceId} not found.`);
    if (home && t.homeRegion !== ctx.region) throw ctError("InvalidHomeRegionException", `This operation must be called from the trail's home region (${t.homeRegion}).`);
    return t;
  }

  const responseElements = (shape: string) => (output: unknown) => defaultRequestParameters(shapes, shape, output);

  const operations: Record<string, OperationDef> = {
    LookupEvents: {
      readOnly: true,
      authorize: () => ({ action: "cloudtrail:LookupEvents", resource: "*" }),
      handler: (ctx, input: LookupEventsRequest) => lookupEvents(events, account(ctx), ctx.region, ctx.now.getTime(), input),
    },

    CreateTrail: {
      readOnly: false,
      authorize: trailCheck("CreateTrail", (i: CreateTrailRequest) => i.Name),
      responseElements: responseElements("CreateTrailResponse"),
      handler: (ctx, input: CreateTrailRequest): CreateTrailResponse => {
        const acct = account(ctx);
        const name = input.Name!;
        if (name.startsWith("arn:")) throw ctError("InvalidTrailNameException", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).");
        validateTrailName(name);
        checkUnsupported(input);
        requireBucket(input.S3BucketName!, acct);
        checkKmsKey(input.KmsKeyId, ctx);
        validatePrefix(input.S3KeyPrefix);
        validateTags(input.TagsList);
        const multi = input.IsMultiRegionTrail ?? false;
        const global = input.IncludeGlobalServiceEvents ?? true;
        if (multi && !global) throw ctError("InvalidParameterCombinationException", "Multi-Region trail must include global service events.");
        const arn = trailArn(ctx.region, acct, name);
        const clash = trails.inAccount(acct).find((t) => t.name === name && (t.arn === arn || t.isMultiRegionTrail || multi));
        if (clash) throw ctError("TrailAlreadyExistsException", `Trail ${name} already exists for customer: ${acct}`);
        if (trails.inAccount(acct).filter((t) => t.homeRegion === ctx.region).length >= MAX_TRAILS_PER_REGION) {
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
          isOrganizationTrail: false,
          tags: mergeTags([], input.TagsList ?? []),
          createdMs: ctx.now.getTime(),
          isLogging: false,
          watermark: 0,
          nextDeliveryMs: 0,
          nextDigestMs: 0,
          digests: {},
        };
        trails.byArn.set(arn, t);
        save(ctx, t);
        return trailResponse(t);
      },
    },

    UpdateTrail: {
      readOnly: false,
      authorize: trailCheck("UpdateTrail", (i: UpdateTrailRequest) => i.Name),
      responseElements: responseElements("UpdateTrailResponse"),
      handler: async (ctx, input: UpdateTrailRequest): Promise<UpdateTrailResponse> => {
        // turning validation off delivers what is pending: every event recorded so far must be stored
        await events.indexed();
        const t = trails.findHome(account(ctx), ctx.region, input.Name!);
        checkUnsupported(input);
        if (input.S3BucketName !== undefined) requireBucket(input.S3BucketName, account(ctx));
        checkKmsKey(input.KmsKeyId, ctx);
        validatePrefix(input.S3KeyPrefix === "" ? undefined : input.S3KeyPrefix);
        const multi = input.IsMultiRegionTrail ?? t.isMultiRegionTrail;
        const global = input.IncludeGlobalServiceEvents ?? t.includeGlobalServiceEvents;
        if (multi && !global) throw ctError("InvalidParameterCombinationException", "Multi-Region trail must include global service events.");
        if (multi && !t.isMultiRegionTrail) {
          const clash = trails.inAccount(t.accountId).find((x) => x !== t && x.name === t.name);
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
        if (input.KmsKeyId !== undefined) {
          if (input.KmsKeyId === "") delete t.kmsKeyId;
          else t.kmsKeyId = input.KmsKeyId;
        }
        if (input.EnableLogFileValidation !== undefined && input.EnableLogFileValidation !== t.logFileValidationEnabled) {
          if (t.isLogging) {
            if (input.EnableLogFileValidation) {
              t.digests = { [t.homeRegion]: { startMs: now, previous: null, logFiles: [] } };
              t.nextDigestMs = now + DIGEST_INTERVAL_MS;
            } else {
              ctx.writes.push(...delivery.deliverLogs(t, now), ...delivery.deliverDigests(t, now, true));
            }
          }
          t.logFileValidationEnabled = input.EnableLogFileValidation;
        }
        save(ctx, t);
        return trailResponse(t);
      },
    },

    DeleteTrail: {
      readOnly: false,
      authorize: trailCheck("DeleteTrail", (i: DeleteTrailRequest) => i.Name),
      handler: async (ctx, input: DeleteTrailRequest) => {
        await events.indexed(); // a logging trail delivers what is pending first
        const t = trails.findHome(account(ctx), ctx.region, input.Name!);
        if (t.isLogging) ctx.writes.push(...delivery.finish(t, ctx.now.getTime()));
        t.isLogging = false;
        trails.byArn.delete(t.arn);
        ctx.writes.push(app.store.del(TRAIL_KIND, t.arn));
        return {};
      },
    },

    GetTrail: {
      readOnly: true,
      authorize: trailCheck("GetTrail", (i: GetTrailRequest) => i.Name),
      handler: (ctx, input: GetTrailRequest): GetTrailResponse => ({ Trail: trailShape(trails.find(account(ctx), ctx.region, input.Name!)) }),
    },

    DescribeTrails: {
      readOnly: true,
      authorize: () => ({ action: "cloudtrail:DescribeTrails", resource: "*" }),
      handler: (ctx, input: DescribeTrailsRequest): DescribeTrailsResponse => {
        const visible = trails.visible(account(ctx), ctx.region, input.includeShadowTrails ?? true);
        const names = input.trailNameList ?? [];
        if (names.length === 0) return { trailList: visible.map(trailShape) };
        for (const n of names) {
          if (n.startsWith("arn:")) {
            if (!parseTrailArn(n)) throw ctError("CloudTrailARNInvalidException", `The ARN ${n} is not valid. A trail ARN must be in the format arn:aws:cloudtrail:<region>:<account>:trail/<name>.`);
          } else validateTrailName(n);
        }
        return { trailList: visible.filter((t) => names.includes(t.name) || names.includes(t.arn)).map(trailShape) };
      },
    },

    ListTrails: {
      readOnly: true,
      authorize: () => ({ action: "cloudtrail:ListTrails", resource: "*" }),
      handler: (ctx): ListTrailsResponse => ({
        Trails: trails
          .inAccount(account(ctx))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.homeRegion < b.homeRegion ? -1 : 1))
          .map((t) => ({ TrailARN: t.arn, Name: t.name, HomeRegion: t.homeRegion })),
      }),
    },

    StartLogging: {
      readOnly: false,
      authorize: trailCheck("StartLogging", (i: StartLoggingRequest) => i.Name),
      handler: async (ctx, input: StartLoggingRequest) => {
        await events.indexed(); // "everything stored so far" must include every call answered so far
        const t = trails.findHome(account(ctx), ctx.region, input.Name!);
        if (!t.isLogging) {
          const now = ctx.now.getTime();
          t.isLogging = true;
          t.startLoggingMs = now;
          // Events from now on: everything stored so far is before logging started.
          t.watermark = events.maxSeq();
          t.nextDeliveryMs = now + DELIVERY_INTERVAL_MS;
          t.nextDigestMs = now + DIGEST_INTERVAL_MS;
          t.digests = t.logFileValidationEnabled ? { [t.homeRegion]: { startMs: now, previous: null, logFiles: [] } } : {};
          save(ctx, t);
        }
        return {};
      },
    },

    StopLogging: {
      readOnly: false,
      authorize: trailCheck("StopLogging", (i: StopLoggingRequest) => i.Name),
      handler: async (ctx, input: StopLoggingRequest) => {
        await events.indexed(); // delivers what is pending first
        const t = trails.findHome(account(ctx), ctx.region, input.Name!);
        if (t.isLogging) {
          const now = ctx.now.getTime();
          ctx.writes.push(...delivery.finish(t, now));
          t.isLogging = false;
          t.stopLoggingMs = now;
          save(ctx, t);
        }
        return {};
      },
    },

    GetTrailStatus: {
      readOnly: true,
      authorize: trailCheck("GetTrailStatus", (i: GetTrailStatusRequest) => i.Name),
      handler: (ctx, input: GetTrailStatusRequest): GetTrailStatusResponse => {
        const t = trails.find(account(ctx), ctx.region, input.Name!);
        const d = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms));
        const s = (ms: number | undefined) => (ms === undefined ? "" : isoSeconds(new Date(ms)));
        return {
          IsLogging: t.isLogging,
          ...(t.latestDeliveryError ? { LatestDeliveryError: t.latestDeliveryError } : {}),
          LatestDeliveryTime: d(t.latestDeliveryMs),
          StartLoggingTime: d(t.startLoggingMs),
          StopLoggingTime: d(t.stopLoggingMs),
          LatestDigestDeliveryTime: d(t.latestDigestDeliveryMs),
          ...(t.latestDigestDeliveryError ? { LatestDigestDeliveryError: t.latestDigestDeliveryError } : {}),
          LatestDeliveryAttemptTime: s(t.latestDeliveryAttemptMs),
          LatestNotificationAttemptTime: "",
          LatestNotificationAttemptSucceeded: "",
          LatestDeliveryAttemptSucceeded: t.latestDeliveryError ? "" : s(t.latestDeliveryMs),
          TimeLoggingStarted: s(t.startLoggingMs),
          TimeLoggingStopped: s(t.stopLoggingMs),
        };
      },
    },

    PutEventSelectors: {
      readOnly: false,
      authorize: trailCheck("PutEventSelectors", (i: PutEventSelectorsRequest) => i.TrailName),
      handler: (ctx, input: PutEventSelectorsRequest): PutEventSelectorsResponse => {
        const t = trails.findHome(account(ctx), ctx.region, input.TrailName!);
        const classic = input.EventSelectors;
        const advanced = input.AdvancedEventSelectors;
        if (classic !== undefined && advanced !== undefined) {
          throw ctError("InvalidEventSelectorsException", "You cannot apply both event selectors and advanced event selectors to a trail.");
        }
        if (classic === undefined && advanced === undefined) {
          throw ctError("InvalidEventSelectorsException", "You must specify either EventSelectors or AdvancedEventSelectors.");
        }
        if (classic !== undefined) {
          t.eventSelectors = normalizeEventSelectors(classic);
          delete t.advancedEventSelectors;
        } else {
          t.advancedEventSelectors = normalizeAdvancedEventSelectors(advanced!);
          delete t.eventSelectors;
        }
        save(ctx, t);
        return { TrailARN: t.arn, ...(t.eventSelectors ? { EventSelectors: t.eventSelectors } : { AdvancedEventSelectors: t.advancedEventSelectors }) };
      },
    },

    GetEventSelectors: {
      readOnly: true,
      authorize: trailCheck("GetEventSelectors", (i: GetEventSelectorsRequest) => i.TrailName),
      handler: (ctx, input: GetEventSelectorsRequest): GetEventSelectorsResponse => {
        const t = trails.find(account(ctx), ctx.region, input.TrailName!);
        if (t.advancedEventSelectors) return { TrailARN: t.arn, AdvancedEventSelectors: t.advancedEventSelectors };
        return { TrailARN: t.arn, EventSelectors: t.eventSelectors ?? defaultEventSelectors() };
      },
    },

    AddTags: {
      readOnly: false,
      authorize: trailCheck("AddTags", (i: AddTagsRequest) => i.ResourceId),
      handler: (ctx, input: AddTagsRequest) => {
        const t = tagTarget(ctx, input.ResourceId!, true);
        validateTags(input.TagsList);
        t.tags = mergeTags(t.tags, input.TagsList ?? []);
        save(ctx, t);
        return {};
      },
    },

    RemoveTags: {
      readOnly: false,
      authorize: trailCheck("RemoveTags", (i: RemoveTagsRequest) => i.ResourceId),
      handler: (ctx, input: RemoveTagsRequest) => {
        const t = tagTarget(ctx, input.ResourceId!, true);
        const remove = input.TagsList ?? [];
        // A tag given with a value is removed only when the value matches.
        t.tags = t.tags.filter((tag) => !remove.some((r) => r.Key === tag.Key && (r.Value === undefined || r.Value === tag.Value)));
        save(ctx, t);
        return {};
      },
    },

    ListTags: {
      readOnly: true,
      authorize: () => ({ action: "cloudtrail:ListTags", resource: "*" }),
      handler: (ctx, input: ListTagsRequest): ListTagsResponse => ({
        ResourceTagList: (input.ResourceIdList ?? []).map((id) => ({ ResourceId: id, TagsList: tagTarget(ctx, id, false).tags })),
      }),
    },

    ListPublicKeys: {
      readOnly: true,
      authorize: () => ({ action: "cloudtrail:ListPublicKeys", resource: "*" }),
      handler: (ctx, input: ListPublicKeysRequest): ListPublicKeysResponse => {
        if (input.NextToken !== undefined) throw ctError("InvalidTokenException", "Reserved for future use.");
        const now = ctx.now.getTime();
        const start = input.StartTime?.getTime() ?? (input.EndTime ? Math.min(input.EndTime.getTime(), now) : now);
        const end = input.EndTime?.getTime() ?? now;
        if (start > end) throw ctError("InvalidTimeRangeException", "The start time must be before the end time.");
        // The region always has a current key; make it if this is the first time anyone asks.
        if (start <= now && end >= now) ctx.writes.push(...keys.current(ctx.region, now).writes);
        return {
          PublicKeyList: keys.inRange(ctx.region, start, end).map((k) => ({
            Value: k.publicDer,
            ValidityStartTime: new Date(k.validityStartMs),
            ValidityEndTime: new Date(k.validityEndMs),
            Fingerprint: k.fingerprint,
          })),
        };
      },
    },
  };

  const def: ServiceDef = {
    name: "cloudtrail",
    signingName: "cloudtrail",
    iamPrefix: "cloudtrail",
    protocol: "json",
    targetPrefixes: TARGET_PREFIXES,
    shapes,
    eventSource: "cloudtrail.amazonaws.com",
    operations,
  };
  return { def, delivery };
}
