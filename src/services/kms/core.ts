/**
 * What every KMS module shares: the in-memory state, the app, persistence helpers (one write op
 * per changed entity, committed with the request) and CloudTrail helpers (resources, the
 * Java-style dates KMS writes in responseElements, service events).
 */
import type { WriteOp } from "../../store/store.ts";
import type { AppContext, RequestContext, ServiceEvent } from "../../kernel/context.ts";
import type { AuditInfo, CloudTrailResource } from "../../kernel/operation.ts";
import { buildRecord, recordWrites } from "../../audit/record.ts";
import { KIND_ALIAS, KIND_GRANT, KIND_IMPORT, KIND_KEY, KmsState, type AliasRecord, type GrantRecord, type ImportParamsRecord, type KeyRecord } from "./state.ts";
import type { Sealer } from "./material.ts";
import { syncReplicas } from "./multi-region.ts";

export interface KmsOptions {
  /** grants per key (AWS: 50,000) */
  maxGrantsPerKey: number;
  /** RotateKeyOnDemand per key (AWS model: 25) */
  onDemandRotationLimit: number;
}

export class Kms {
  readonly state = new KmsState();
  constructor(
    readonly app: AppContext,
    readonly sealer: Sealer,
    readonly options: KmsOptions,
  ) {}

  /** Keeps a changed key in memory and writes it with the request; a multi-Region primary's replicas follow its shared properties. */
  saveKey(ctx: RequestContext, key: KeyRecord): void {
    this.state.keys.set(key.arn, key);
    ctx.writes.push(this.putKey(key));
    if (key.multiRegion) ctx.writes.push(...syncReplicas(this, key));
  }

  putKey(key: KeyRecord): WriteOp {
    return this.app.store.put(KIND_KEY, key.arn, key);
  }
  delKey(arn: string): WriteOp {
    return this.app.store.del(KIND_KEY, arn);
  }
  putAlias(a: AliasRecord): WriteOp {
    return this.app.store.put(KIND_ALIAS, a.aliasArn, a);
  }
  delAlias(arn: string): WriteOp {
    return this.app.store.del(KIND_ALIAS, arn);
  }
  putGrant(g: GrantRecord): WriteOp {
    return this.app.store.put(KIND_GRANT, g.grantId, g);
  }
  delGrant(id: string): WriteOp {
    return this.app.store.del(KIND_GRANT, id);
  }
  putImport(p: ImportParamsRecord): WriteOp {
    return this.app.store.put(KIND_IMPORT, p.tokenId, p);
  }
  delImport(id: string): WriteOp {
    return this.app.store.del(KIND_IMPORT, id);
  }

  /** Loads everything persisted by an earlier run. */
  load(): void {
    const s = this.app.store;
    for (const k of s.all<KeyRecord>(KIND_KEY)) this.state.keys.set(k.arn, k);
    for (const a of s.all<AliasRecord>(KIND_ALIAS)) this.state.aliases.set(a.aliasArn, a);
    for (const g of s.all<GrantRecord>(KIND_GRANT)) this.state.addGrant(g);
    for (const p of s.all<ImportParamsRecord>(KIND_IMPORT)) this.state.importParams.set(p.tokenId, p);
  }
}

/** The output of an operation AWS answers with an empty body (PutKeyPolicy, EnableKey...). */
export type NoOutput = Record<string, never>;

/** CloudTrail resources entry for a key; AWS writes "AWS Internal" as accountId for service callers. */
export function keyResource(ctx: RequestContext, key: Pick<KeyRecord, "arn" | "accountId">): CloudTrailResource {
  return { accountId: ctx.principal.type === "AWSService" ? "AWS Internal" : key.accountId, type: "AWS::KMS::Key", ARN: key.arn };
}

/** The record's resources: each key once, in the order given. */
export function keyResources(ctx: RequestContext, keys: readonly (Pick<KeyRecord, "arn" | "accountId"> | undefined)[]): CloudTrailResource[] {
  const out: CloudTrailResource[] = [];
  for (const k of keys) if (k && !out.some((r) => r.ARN === k.arn)) out.push(keyResource(ctx, k));
  return out;
}

/**
 * Names the keys a call resolved as its CloudTrail resources, from `resolve` on: the record names
 * them (and goes to their owner's account) whether the call succeeds, is denied or is refused by
 * the handler (resources and recipientAccountId in
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
 * Returns `resolved` so a resolve step can end with it.
 */
export function namingKeys<R>(ctx: RequestContext, resolved: R, ...keys: (KeyRecord | undefined)[]): R {
  ctx.audit.resources = keyResources(ctx, keys);
  return resolved;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The Java-style date KMS writes in CloudTrail responseElements, e.g. "Aug 10, 2022, 10:38:27 PM" (UTC). */
export function javaDate(d: Date): string {
  const h = d.getUTCHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? "AM" : "PM"}`;
}

/**
 * A KMS service event (DeleteKey, RotateKey, DeleteExpiredKeyMaterial): eventType AwsServiceEvent,
 * userIdentity {accountId, invokedBy: "AWS Internal"} without a type, as in AWS's samples.
 * Returns the write ops that store it (none when auditing is off).
 */
export function serviceEvent(
  app: AppContext,
  key: KeyRecord,
  eventName: string,
  at: Date,
  details?: Record<string, unknown>,
  extra: Pick<ServiceEvent, "requestParameters" | "responseElements"> = {},
): WriteOp[] {
  const ev: ServiceEvent = {
    ...extra,
    accountId: key.accountId,
    region: key.region,
    eventSource: "kms.amazonaws.com",
    eventName,
    eventTime: at,
    resources: [{ accountId: key.accountId, type: "AWS::KMS::Key", ARN: key.arn }],
    serviceEventDetails: details,
  };
  return app.auditSink?.serviceEvent(ev, at) ?? [];
}

/**
 * Write ops for a second AwsApiCall record of the current call, in another Region: the records
 * AWS writes in a multi-Region key's other Region (ReplicateKey's CreateKey in the replica's
 * Region, https://docs.aws.amazon.com/kms/latest/developerguide/ct-replicate-key.html;
 * UpdatePrimaryRegion in both Regions,
 * https://docs.aws.amazon.com/kms/latest/developerguide/ct-update-primary-region.html).
 */
export function recordInRegion(ctx: RequestContext, region: string, operation: string, audit: AuditInfo): WriteOp[] {
  const sink = ctx.app.auditSink;
  if (!sink || ctx.audit.skip) return [];
  const record = buildRecord({ ...ctx, region, operation, audit }, ctx.service, {});
  return recordWrites(sink, record, ctx.principal);
}
