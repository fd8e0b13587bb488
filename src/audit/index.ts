/** CloudTrail auditing: records, the event store, the sink and service events. */
export { buildRecord, buildServiceEventRecord, userIdentity, isoSeconds, EVENT_VERSION } from "./record.ts";
export { AuditStore, summarize, usernameOf, LOOKUP_ATTRIBUTES, type LookupAttributeKey, type PrincipalActivity, type StoredEvent } from "./event-store.ts";
export { createAudit, recordServiceEvent, serviceEventWrites } from "./sink.ts";
