/**
 * The KMS cross-account table (src/services/kms/cross-account.ts) against the official model:
 * each operation's documentation states "Cross-account use: Yes" or "No", and the table must
 * say the same. Skips when ../shared/models is absent.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CROSS_ACCOUNT_USE } from "../../src/services/kms/cross-account.ts";

const MODEL = join(process.cwd(), "..", "shared", "models", "kms-2014-11-01.json");
const PRESENT = existsSync(MODEL);

describe.skipIf(!PRESENT)("KMS cross-account use matches the API reference", () => {
  if (!PRESENT) {
    it("needs ../shared/models", () => undefined);
    return;
  }
  const shapes = (JSON.parse(readFileSync(MODEL, "utf8")) as { shapes: Record<string, { traits?: Record<string, unknown> }> }).shapes;

  it.each(Object.entries(CROSS_ACCOUNT_USE))("%s: cross-account use %s", (name, allowed) => {
    const docs = String(shapes[`com.amazonaws.kms#${name}`]?.traits?.["smithy.api#documentation"] ?? "");
    const stated = /Cross-account use<\/b>:?\s*(?:<\/b>)?\s*(Yes|No)/.exec(docs)?.[1];
    // GenerateRandom and ListRetirableGrants name no key: "Not applicable" / the caller's own grants
    expect(stated ?? "No").toBe(allowed ? "Yes" : "No");
  });
});
