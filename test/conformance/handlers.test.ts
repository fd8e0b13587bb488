/** Every operation the shape tables claim is served by a handler, and nothing is served without shapes. */
import { describe, it, expect, afterAll } from "vitest";
import { IMPLEMENTED } from "../../src/protocol/shapes/implemented.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let s: TestServer | undefined;
afterAll(async () => {
  await s?.close();
});

describe("implemented operations", () => {
  it("have handlers in their services", async () => {
    s = await startTestServer();
    for (const [svc, ops] of Object.entries(IMPLEMENTED)) {
      const def = s.app.services.get(svc);
      expect(def, `service ${svc} is registered`).toBeDefined();
      expect(Object.keys(def!.operations).sort(), svc).toEqual([...ops].sort());
    }
  });
});
