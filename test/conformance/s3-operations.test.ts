/**
 * S3 has no generated shape table (restXml: it routes and encodes itself), so its operation-name
 * union (S3Operation in src/services/s3/protocol.ts) is checked here: every operation in the
 * table is an operation of the official model, and a request made as the model's HTTP binding
 * says is routed to it. Skips when ../shared/models is absent. The account-level Block Public
 * Access operations are S3 Control's (same signing name, CloudTrail names them
 * Get/Put/DeleteAccountPublicAccessBlock): they are checked against the s3control model, from
 * ../shared/models/botocore when it has one, else from the botocore the installed `aws` CLI runs.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { join } from "node:path";
import { Store } from "../../src/store/store.ts";
import { s3Operations } from "../../src/services/s3/index.ts";
import { decodeS3Request } from "../../src/services/s3/protocol.ts";
import { S3Storage } from "../../src/services/s3/storage.ts";

const MODEL = join(process.cwd(), "..", "shared", "models", "s3-2006-03-01.json");
const PRESENT = existsSync(MODEL);

/** Our operation (CloudTrail's event name) → the S3 Control model's operation. */
const S3_CONTROL: Record<string, string> = {
  GetAccountPublicAccessBlock: "GetPublicAccessBlock",
  PutAccountPublicAccessBlock: "PutPublicAccessBlock",
  DeleteAccountPublicAccessBlock: "DeletePublicAccessBlock",
};

interface BotocoreOperation {
  http: { method: string; requestUri: string };
  endpoint?: { hostPrefix?: string };
  input: { shape: string };
}
interface BotocoreModel {
  metadata: { signingName: string; protocol: string };
  operations: Record<string, BotocoreOperation>;
  shapes: Record<string, { members?: Record<string, { location?: string; locationName?: string }> }>;
}

function s3ControlModel(): BotocoreModel | undefined {
  const shared = join(process.cwd(), "..", "shared", "models", "botocore", "s3control-service-2.json");
  if (existsSync(shared)) return JSON.parse(readFileSync(shared, "utf8")) as BotocoreModel;
  try {
    const dir = execFileSync("python3", ["-c", "import botocore, os; print(os.path.dirname(botocore.__file__))"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const file = join(dir, "data", "s3control", "2018-08-20", "service-2.json.gz");
    if (!existsSync(file)) return undefined;
    return JSON.parse(gunzipSync(readFileSync(file)).toString("utf8")) as BotocoreModel;
  } catch {
    return undefined;
  }
}
const CONTROL_MODEL = s3ControlModel();

interface SmithyOperation {
  type: string;
  traits?: { "smithy.api#http"?: { method: string; uri: string } };
}

describe.skipIf(!PRESENT)("the S3 operation table matches the official model", () => {
  if (!PRESENT) {
    it("needs ../shared/models", () => undefined);
    return;
  }
  const shapes = (JSON.parse(readFileSync(MODEL, "utf8")) as { shapes: Record<string, SmithyOperation> }).shapes;
  const operations = Object.keys(s3Operations(new S3Storage(new Store(null)))).filter((name) => !(name in S3_CONTROL));

  it.each(operations)("%s is an S3 operation, routed as the model binds it", (name) => {
    const op = shapes[`com.amazonaws.s3#${name}`];
    expect(op?.type, `${name} is an operation of S3`).toBe("operation");
    const http = op.traits!["smithy.api#http"]!;
    const [path, query = ""] = http.uri.replace("{Bucket}", "model-bucket").replace("{Key+}", "model/key").split("?");
    const decoded = decodeS3Request(
      { method: http.method, path, query: new URLSearchParams(query), headers: { host: "127.0.0.1" }, body: Buffer.alloc(0), host: "127.0.0.1" },
      () => false,
    );
    expect(decoded.operation).toBe(name);
  });
});

describe.skipIf(!CONTROL_MODEL)("the S3 Control operations match the s3control model", () => {
  if (!CONTROL_MODEL) {
    it("needs the s3control model (../shared/models/botocore or the aws CLI's botocore)", () => undefined);
    return;
  }
  const model = CONTROL_MODEL;
  const ours = Object.keys(s3Operations(new S3Storage(new Store(null))));

  it("is signed as S3 (signing name s3, restXml)", () => {
    expect(model.metadata.signingName).toBe("s3");
    expect(model.metadata.protocol).toBe("rest-xml");
  });

  it.each(Object.entries(S3_CONTROL))("%s is s3control %s, routed as the model binds it (path-style and host-prefixed)", (name, modelName) => {
    expect(ours).toContain(name);
    const op = model.operations[modelName];
    expect(op, `${modelName} is an operation of S3 Control`).toBeDefined();
    const account = model.shapes[op.input.shape].members?.AccountId;
    expect(account).toMatchObject({ location: "header", locationName: "x-amz-account-id" });
    expect(op.endpoint?.hostPrefix).toBe("{AccountId}.");
    for (const host of ["127.0.0.1", "000000000000.localhost:4566", "000000000000.s3-control.us-east-1.amazonaws.com"]) {
      const decoded = decodeS3Request(
        { method: op.http.method, path: op.http.requestUri, query: new URLSearchParams(), headers: { host, "x-amz-account-id": "000000000000" }, body: Buffer.alloc(0), host },
        () => false,
      );
      expect(decoded.operation, host).toBe(name);
    }
  });
});
