/**
 * Compatibility path for services still declaring operations the old way
 * (`authorize(ctx, input)` and `handler(ctx, input)` with nothing shared between them).
 * Each service migrated to `defineOperation` stops using it; delete this file with the last one.
 */
import type { RequestContext } from "./context.ts";
import type { AuthCheck, SomeOperation } from "./operation.ts";
import type { ServiceDef } from "./service.ts";

/* eslint-disable @typescript-eslint/no-explicit-any -- the old declaration style is untyped; it goes with this file */
export interface LegacyOperationDef<I = any, O = any> {
  readOnly?: boolean;
  /** Default: `${iamPrefix}:${Operation}` on "*". */
  authorize?(ctx: RequestContext, input: I): AuthCheck | AuthCheck[] | null;
  handler(ctx: RequestContext, input: I): O | Promise<O>;
  requestParameters?(input: I, ctx: RequestContext): unknown;
  responseElements?(output: O, input: I, ctx: RequestContext): unknown;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface LegacyServiceDef extends Omit<ServiceDef, "operations"> {
  operations: Record<string, LegacyOperationDef>;
}

function adaptOperation(svc: LegacyServiceDef, operation: string, old: LegacyOperationDef): SomeOperation {
  return {
    readOnly: old.readOnly,
    authorize(ctx, input) {
      if (!old.authorize) return [{ action: `${svc.iamPrefix}:${operation}`, resource: "*" }];
      const checks = old.authorize(ctx, input);
      return checks === null ? null : Array.isArray(checks) ? checks : [checks];
    },
    handler: (ctx, input) => old.handler(ctx, input),
    audit: { requestParameters: old.requestParameters, responseElements: old.responseElements },
  };
}

export function fromLegacyService(svc: LegacyServiceDef): ServiceDef {
  const operations: Record<string, SomeOperation> = {};
  for (const name of Object.keys(svc.operations)) operations[name] = adaptOperation(svc, name, svc.operations[name]);
  return { ...svc, operations };
}
