/**
 * The audit sink: where the dispatcher's CloudTrail records go (the event store, inside the
 * request's own transaction, or its audit log for a call that changes nothing), and how services
 * record events they originate themselves.
 */
import type { AppContext, AuditSink, ServiceEvent } from "../kernel/context.ts";
import type { Store, WriteOp } from "../store/store.ts";
import { AuditStore } from "./event-store.ts";
import { buildServiceEventRecord } from "./record.ts";

declare module "../kernel/context.ts" {
  interface Provided {
    /** the CloudTrail event store (LookupEvents, trail delivery) */
    auditStore: AuditStore;
  }
}

/**
 * The app's audit log: the event store, and the sink the dispatcher records every call in
 * (each record stored with the writes of the call that produced it). No sink when auditing is off.
 */
export function createAudit(db: Store, enabled: boolean): { store: AuditStore; sink?: AuditSink } {
  const store = new AuditStore(db.db);
  if (!enabled) return { store };
  return {
    store,
    sink: {
      record(record, meta) {
        return [store.insert(record, meta.accountId, meta.region)];
      },
      append: store.logs ? (record, meta) => store.append(record, meta.accountId, meta.region) : undefined,
      serviceEvent(ev, at) {
        return [store.insert(buildServiceEventRecord(ev, at), ev.accountId, ev.region)];
      },
    },
  };
}

/**
 * Write ops that store an AwsServiceEvent (KMS DeleteKey, RotateKey, DeleteExpiredKeyMaterial):
 * commit them together with the state change they describe. Empty when auditing is off.
 */
export function serviceEventWrites(app: AppContext, ev: ServiceEvent): WriteOp[] {
  return app.auditSink?.serviceEvent(ev, app.clock.now()) ?? [];
}

/**
 * Records an AwsServiceEvent outside any request and commits it; resolves once it is durable.
 * Prefer `serviceEventWrites` when the event belongs in the same transaction as other writes.
 */
export function recordServiceEvent(app: AppContext, ev: ServiceEvent): Promise<void> {
  return app.store.commit(serviceEventWrites(app, ev));
}
