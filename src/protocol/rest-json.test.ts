import { describe, it, expect } from "vitest";
import { ServiceError } from "../kernel/errors.ts";
import type { ServiceDef } from "../kernel/service.ts";
import type { ServiceShapes } from "./shapes/types.ts";
import { restJsonProtocol } from "./rest-json.ts";
import type { WireRequest } from "./wire.ts";

/** A Lambda-like API: labels, a greedy label, query, header and payload bindings. */
const shapes: ServiceShapes = {
  service: "fn",
  version: "2015-03-31",
  operations: {
    GetFunction: { input: "GetFunctionRequest", output: "GetFunctionResponse", errors: [], http: { method: "GET", uri: "/2015-03-31/functions/{FunctionName}" } },
    ListFunctions: { input: "ListFunctionsRequest", output: "ListFunctionsResponse", errors: [], http: { method: "GET", uri: "/2015-03-31/functions" } },
    CreateFunction: { input: "CreateFunctionRequest", output: "GetFunctionResponse", errors: [], http: { method: "POST", uri: "/2015-03-31/functions", code: 201 } },
    Invoke: { input: "InvokeRequest", output: "InvokeResponse", errors: [], http: { method: "POST", uri: "/2015-03-31/functions/{FunctionName}/invocations" } },
    GetObject: { input: "GetObjectRequest", output: "GetFunctionResponse", errors: [], http: { method: "GET", uri: "/objects/{Key+}?meta" } },
  },
  shapes: {
    String: { type: "string" },
    Name: { type: "string", min: 1, max: 64 },
    Int: { type: "integer", min: 1, max: 50 },
    Bool: { type: "boolean" },
    Blob: { type: "blob" },
    Names: { type: "list", member: "String" },
    GetFunctionRequest: {
      type: "structure",
      members: { FunctionName: { target: "Name", location: "label" }, Qualifier: { target: "String", location: "query", locationName: "Qualifier" } },
      required: ["FunctionName"],
    },
    GetFunctionResponse: { type: "structure", members: { FunctionName: { target: "String" }, Version: { target: "String", location: "header", locationName: "X-Fn-Version" } } },
    ListFunctionsRequest: {
      type: "structure",
      members: { MaxItems: { target: "Int", location: "query", locationName: "MaxItems" }, Tags: { target: "Names", location: "query", locationName: "tag" } },
    },
    ListFunctionsResponse: { type: "structure", members: { Functions: { target: "Names" } } },
    CreateFunctionRequest: { type: "structure", members: { FunctionName: { target: "Name" }, Publish: { target: "Bool" } }, required: ["FunctionName"] },
    InvokeRequest: {
      type: "structure",
      members: {
        FunctionName: { target: "Name", location: "label" },
        DryRun: { target: "Bool", location: "header", locationName: "X-Fn-Dry-Run" },
        Payload: { target: "Blob", location: "payload" },
      },
      required: ["FunctionName"],
    },
    InvokeResponse: {
      type: "structure",
      members: { StatusCode: { target: "Int", location: "header", locationName: "X-Fn-Status" }, Payload: { target: "Blob", location: "payload" } },
    },
    GetObjectRequest: { type: "structure", members: { Key: { target: "String", location: "label" } }, required: ["Key"] },
  },
  errors: {},
};
const svc: ServiceDef = { name: "fn", signingName: "fn", iamPrefix: "fn", protocol: "rest-json", shapes, eventSource: "fn.amazonaws.com", operations: {} };

function req(method: string, url: string, body = "", headers: Record<string, string> = {}): WireRequest {
  const [path, q = ""] = url.split("?");
  return { method, path, query: new URLSearchParams(q), headers, body: Buffer.from(body), host: "localhost" };
}
const decode = (r: WireRequest) => {
  const call = restJsonProtocol.decode(r, svc);
  return { operation: call.operation, input: call.input() };
};

describe("restJson1", () => {
  it("routes by method and URI template and binds labels and query parameters", () => {
    expect(decode(req("GET", "/2015-03-31/functions/my%20fn?Qualifier=3"))).toEqual({ operation: "GetFunction", input: { FunctionName: "my fn", Qualifier: "3" } });
    expect(decode(req("GET", "/2015-03-31/functions?MaxItems=5&tag=a&tag=b"))).toEqual({ operation: "ListFunctions", input: { MaxItems: 5, Tags: ["a", "b"] } });
    expect(decode(req("POST", "/2015-03-31/functions", JSON.stringify({ FunctionName: "f", Publish: true })))).toEqual({
      operation: "CreateFunction",
      input: { FunctionName: "f", Publish: true },
    });
  });

  it("binds headers and a blob payload, and greedy labels with a required query parameter", () => {
    const r = decode(req("POST", "/2015-03-31/functions/f/invocations", '{"x":1}', { "x-fn-dry-run": "true" }));
    expect(r.operation).toBe("Invoke");
    expect(r.input.FunctionName).toBe("f");
    expect(r.input.DryRun).toBe(true);
    expect(Buffer.from(r.input.Payload as Uint8Array).toString()).toBe('{"x":1}');
    expect(decode(req("GET", "/objects/a/b/c.txt?meta"))).toEqual({ operation: "GetObject", input: { Key: "a/b/c.txt" } });
  });

  it("refuses what matches no route, and validates bound members against their shapes", () => {
    expect(() => restJsonProtocol.decode(req("DELETE", "/2015-03-31/functions"), svc)).toThrow(ServiceError);
    expect(() => restJsonProtocol.decode(req("GET", "/objects/a"), svc)).toThrow(ServiceError);
    expect(() => decode(req("GET", "/2015-03-31/functions?MaxItems=500"))).toThrow(/MaxItems|maxItems/);
    expect(() => decode(req("GET", "/2015-03-31/functions?MaxItems=many"))).toThrow(ServiceError);
    expect(() => decode(req("POST", "/2015-03-31/functions", "{not json"))).toThrow(ServiceError);
  });

  it("encodes the success code, header members, a payload member and JSON errors", () => {
    const created = restJsonProtocol.encodeOutput(svc, "CreateFunction", { FunctionName: "f", Version: "1" }, {} as never);
    expect(created.status).toBe(201);
    expect(created.headers["x-fn-version"]).toBe("1");
    expect(JSON.parse(created.body.toString())).toEqual({ FunctionName: "f" });
    const invoked = restJsonProtocol.encodeOutput(svc, "Invoke", { StatusCode: 200, Payload: Buffer.from("hi") }, {} as never);
    expect(invoked.headers["x-fn-status"]).toBe("200");
    expect(invoked.body.toString()).toBe("hi");
    const e = restJsonProtocol.encodeError(svc, new ServiceError("ResourceNotFoundException", "Function not found", 404), "rid", req("GET", "/"));
    expect(e.status).toBe(404);
    expect(e.headers["x-amzn-errortype"]).toBe("ResourceNotFoundException");
    expect(JSON.parse(e.body.toString())).toMatchObject({ message: "Function not found" });
  });
});
