import { describe, expect, it } from "vitest";
import { lazyShapes, type ServiceShapes } from "./types.ts";
import { ecsShapes } from "./ecs.gen.ts";
import { iamShapes } from "./iam.gen.ts";

const TABLES: ServiceShapes = { service: "x", version: "2020-01-01", operations: { Op: { errors: [] } }, shapes: { S: { type: "string" } }, errors: {} };

describe("service shape tables", () => {
  it("are built on first use, once, and read the same afterwards", () => {
    let built = 0;
    const shapes = lazyShapes(() => {
      built++;
      return structuredClone(TABLES);
    });
    expect(built).toBe(0);
    const operations = shapes.operations;
    expect(shapes.shapes.S).toEqual({ type: "string" });
    expect(shapes.operations).toBe(operations);
    expect(built).toBe(1);
    expect({ ...shapes }).toEqual(TABLES);
  });

  it("the generated tables are not built when their module loads (docs/performance.md#start-up)", () => {
    for (const shapes of [ecsShapes, iamShapes]) {
      expect(Object.getOwnPropertyDescriptor(shapes, "shapes")?.get).toBeTypeOf("function");
      expect(Object.keys(shapes.operations).length).toBeGreaterThan(0);
    }
  });
});
