import { describe, it, expect } from "vitest";
import { newEventId } from "./event-id.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newEventId", () => {
  it("is a lower-case version 7 UUID carrying the time", () => {
    const id = newEventId(Date.parse("2026-11-29T00:00:00Z"));
    expect(id).toMatch(UUID);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(Date.parse("2026-11-29T00:00:00Z"));
  });

  it("only grows, also many times within one millisecond and when the clock goes back", () => {
    const t = Date.parse("2030-01-01T00:00:00Z");
    const ids = [...Array.from({ length: 10_000 }, () => newEventId(t)), newEventId(t - 5000), newEventId(t + 60_000)];
    for (let i = 1; i < ids.length; i++) expect(ids[i] > ids[i - 1], `${ids[i - 1]} < ${ids[i]}`).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(UUID);
  });
});
