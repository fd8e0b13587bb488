/**
 * The one interface every wire protocol implements: the front door finds the service, asks its
 * protocol for the operation and a decoder of its input, and encodes the answer or the error
 * with the same protocol. Adding a protocol is adding a module, not a branch in the front door.
 */
import type { RequestContext } from "../kernel/context.ts";
import type { ServiceError } from "../kernel/errors.ts";
import type { ServiceDef } from "../kernel/service.ts";

export interface WireRequest {
  method: string;
  path: string;
  /** the query string, decoded */
  query: URLSearchParams;
  /** lower-case names */
  headers: Record<string, string>;
  body: Buffer;
  host: string;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface DecodedCall {
  /** "" when the request names no operation the service has (the dispatcher answers it) */
  operation: string;
  /** decodes and validates the input; run by the dispatcher so its errors are the call's own, audited */
  input(): Record<string, unknown>;
}

export interface WireProtocol {
  /** Smithy's protocol name: awsJson1_1, awsQuery, restXml, restJson1 */
  readonly name: string;
  /** Which operation the request calls. May throw ServiceError for a request it cannot route (answered unaudited, as AWS does). */
  decode(req: WireRequest, svc: ServiceDef): DecodedCall;
  encodeOutput(svc: ServiceDef, operation: string, output: unknown, ctx: RequestContext): WireResponse;
  /** `svc` is undefined when the request was refused before a service was chosen */
  encodeError(svc: ServiceDef | undefined, err: ServiceError, requestId: string, req: WireRequest): WireResponse;
  /** bytes a call brings to the store (checked against free space before it runs) */
  storedBytes?(req: WireRequest): number;
}
