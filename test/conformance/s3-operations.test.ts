/**
 * S3 has no generated shape table (restXml: it routes and encodes itself), so its operation-name
 * union (S3Operation in src/services/s3/protocol.ts) is checked here: every operation in the
 * table is an operation of the official model, and a request made as the model's HTTP binding
 * says is routed to it. Skips when ../shared/models is absent.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../../src/store/store.ts";
import { s3Operations } from "../../src/services/s3/index.ts";
import { decodeS3Request } from "../../src/services/s3/protocol.ts";
import { S3Storage } from "../../src/services/s3/storage.ts";

const MODEL = join(process.cwd(), "..", "shared", "models", "s3-2006-03-01.json");
const PRESENT = existsSync(MODEL);

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
  const operations = Object.keys(s3Operations(new S3Storage(new Store(null))));

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
