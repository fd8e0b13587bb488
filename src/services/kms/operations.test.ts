/** The KMS operation table keeps the operation contract: named handlers, a key resolved once. */
import { describe, it, expect } from "vitest";
import type { AppContext } from "../../kernel/context.ts";
import { kmsShapes } from "../../protocol/shapes/kms.gen.ts";
import { Kms } from "./core.ts";
import { kmsOperations } from "./index.ts";

const kms = new Kms({} as AppContext, { seal: (b) => b, open: (b) => b, secret: Buffer.alloc(32) }, { maxGrantsPerKey: 1, onDemandRotationLimit: 1 });
const table = Object.entries(kmsOperations(kms));

/** Operations whose request requires a KeyId (or a ciphertext that names its key). */
function namesItsKey(operation: string): boolean {
  const input = kmsShapes.operations[operation]?.input;
  const shape = input ? kmsShapes.shapes[input] : undefined;
  const required = shape?.type === "structure" ? (shape.required ?? []) : [];
  return required.includes("KeyId") || required.includes("TargetKeyId") || required.includes("CiphertextBlob") || required.includes("AliasName");
}

describe("the KMS operation table", () => {
  it("serves every operation of the model's table, each handler a named function", () => {
    expect(table.map(([name]) => name).sort()).toEqual(Object.keys(kmsShapes.operations).sort());
    const names = table.map(([, op]) => op.handler.name);
    for (const [operation, op] of table) expect(op.handler.name, operation).toMatch(/^[a-z][A-Za-z]+$/);
    expect(names).not.toContain("handler");
    expect(new Set(names).size).toBe(names.length);
  });

  it("resolves the key (or alias, or ciphertext's key) once, in resolve, for every operation that names one", () => {
    const keyed = table.filter(([operation]) => namesItsKey(operation));
    expect(keyed.length).toBeGreaterThan(30);
    for (const [operation, op] of keyed) expect(typeof op.resolve, operation).toBe("function");
  });
});
