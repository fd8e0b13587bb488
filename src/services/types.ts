/**
 * Re-export shim for services not yet migrated to src/kernel/. Delete it once every service
 * imports the kernel modules directly.
 */
export type * from "../kernel/principal.ts";
export type * from "../kernel/operation.ts";
export type * from "../kernel/context.ts";
export type * from "../kernel/service.ts";
