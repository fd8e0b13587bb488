/**
 * restXml (S3). The routing and XML of S3 are S3's own (src/services/s3/protocol.ts, reached
 * through ServiceDef.rest); this module wraps them behind the WireProtocol interface.
 */
import type { RestHttpRequest } from "../kernel/service.ts";
import type { WireProtocol, WireRequest } from "./wire.ts";

function restRequest(req: WireRequest): RestHttpRequest {
  return { method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body, host: req.host };
}

export const restXmlProtocol: WireProtocol = {
  name: "restXml",
  decode(req, svc) {
    // S3 routes by method, path and query before the call runs: a request it cannot route is answered unaudited
    const decoded = svc.rest!.decode(restRequest(req));
    return { operation: decoded.operation, input: () => decoded.input };
  },
  encodeOutput: (svc, operation, output, ctx) => svc.rest!.encodeOutput(operation, output, ctx),
  encodeError(svc, err, requestId, req) {
    if (!svc?.rest) throw new Error("restXml needs the service's REST encoder");
    return svc.rest.encodeError(err, requestId, restRequest(req));
  },
  // an object body is written to the write-ahead log, then to the database
  storedBytes: (req) => 2 * req.body.length,
};
