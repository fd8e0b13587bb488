/** Which wire protocol module speaks for a service. */
import type { ServiceDef } from "../kernel/service.ts";
import { awsJsonProtocol } from "./aws-json.ts";
import { awsQueryProtocol } from "./aws-query.ts";
import { restJsonProtocol } from "./rest-json.ts";
import { restXmlProtocol } from "./rest-xml.ts";
import type { WireProtocol } from "./wire.ts";

const BY_NAME: Record<ServiceDef["protocol"], WireProtocol> = {
  json: awsJsonProtocol,
  query: awsQueryProtocol,
  rest: restXmlProtocol,
  "rest-json": restJsonProtocol,
};

export function wireProtocolOf(svc: ServiceDef): WireProtocol {
  return BY_NAME[svc.protocol];
}

export type { WireProtocol, WireRequest, WireResponse, DecodedCall } from "./wire.ts";
