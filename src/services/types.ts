/**
 * Re-export shim for services not yet migrated to src/kernel/: `OperationDef` and `ServiceDef`
 * here are the old declaration style (src/kernel/legacy-operation.ts). Delete this file once every
 * service imports the kernel modules directly.
 */
export type * from "../kernel/principal.ts";
export type { ResourcePolicyRef, AuthCheck, CloudTrailResource, AuditInfo } from "../kernel/operation.ts";
export type * from "../kernel/context.ts";
export type { RestHttpRequest, RestHttpResponse, RestProtocol } from "../kernel/service.ts";
export type { LegacyOperationDef as OperationDef, LegacyServiceDef as ServiceDef } from "../kernel/legacy-operation.ts";
