import { describe, it, expect } from "vitest";
import { isoSeconds } from "./record.ts";

describe("isoSeconds", () => {
  it("formats to the second, also after a cached second and when time goes back", () => {
    expect(isoSeconds(new Date(Date.UTC(2026, 10, 29, 7, 40, 0, 123)))).toBe("2026-11-29T07:40:00Z");
    expect(isoSeconds(new Date(Date.UTC(2026, 10, 29, 7, 40, 0, 999)))).toBe("2026-11-29T07:40:00Z");
    expect(isoSeconds(new Date(Date.UTC(2026, 10, 29, 7, 40, 1, 0)))).toBe("2026-11-29T07:40:01Z");
    expect(isoSeconds(new Date(Date.UTC(2025, 0, 1, 0, 0, 0, 0)))).toBe("2025-01-01T00:00:00Z");
    expect(isoSeconds(new Date(Date.UTC(1969, 11, 31, 23, 59, 59, 500)))).toBe("1969-12-31T23:59:59Z");
  });
});
