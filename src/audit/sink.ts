/**
 * The audit sink: where the dispatcher's CloudTrail records go (the event store, inside the
 * request's own transaction, or its audit log for a call that changes nothing), and how services
 * record events they originate themselves.
 */
import type { AppContext } from "../kernel/context.ts";
import type { WriteOp } from "../store/store.ts";
import { AuditStore } from "./store.ts";
import { buildServiceEventRecord, type ServiceEvent } from "./record.ts";

const stores = new WeakMap<AppContext, AuditStore>();

/** The app's event store (tables created on first use). */
export function auditStore(app: AppContext): AuditStore {
  let s = stores.get(app);
  if (!s) {
    const store = new AuditStore(app.store.db);
    (app.options.shutdown as (() => Promise<void>)[] | undefined)?.push(() => store.close());
    stores.set(app, (s = store));
  }
  return s;
}

/** True unless the app was started with `audit: false` (the bench's comparison run). */
export function auditEnabled(app: AppContext): boolean {
  return app.options.audit !== false;
}

/** Sets app.auditSink: every record is stored with the writes of the call that produced it. */
export function createAuditSink(app: AppContext): void {
  if (!auditEnabled(app)) {
    app.auditSink = undefined;
    return;
  }
  const store = auditStore(app);
  app.auditSink = {
    record(record, meta) {
      return [store.insert(record, meta.accountId, meta.region)];
    },
    append: store.logs ? (record, meta) => store.append(record, meta.accountId, meta.region) : undefined,
  };
}

/**
 * Write ops that store an AwsServiceEvent (KMS DeleteKey, RotateKey, DeleteExpiredKeyMaterial):
 * commit them together with the state change they describe. Empty when auditing is off.
 */
export function serviceEventWrites(app: AppContext, ev: ServiceEvent): WriteOp[] {
  if (!app.auditSink) return [];
  const record = buildServiceEventRecord(ev, app.clock.now());
  return app.auditSink.record(record, { accountId: ev.accountId, region: ev.region });
}

/**
 * Records an AwsServiceEvent outside any request and commits it; resolves once it is durable.
 * Prefer `serviceEventWrites` when the event belongs in the same transaction as other writes.
 */
export function recordServiceEvent(app: AppContext, ev: ServiceEvent): Promise<void> {
  return app.store.commit(serviceEventWrites(app, ev));
}
