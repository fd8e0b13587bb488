import { describe, expect, it } from "vitest";
import { datetimeFormatSource, eventStartPattern } from "./multiline.ts";

describe("awslogs event start patterns", () => {
  it("turns a strftime format into a pattern anchored at the line's start", () => {
    const re = eventStartPattern({ "awslogs-datetime-format": "[%Y-%m-%d %H:%M:%S%L] %p" })!;
    expect(re.test("[2024-02-29 23:59:60.123] PM started")).toBe(true);
    expect(re.test("  [2024-02-29 23:59:60.123] PM started")).toBe(false);
    expect(re.test("[2024-13-01 00:00:00.000] AM")).toBe(false);
    expect(datetimeFormatSource("100%% %b")).toBe("^100% (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)");
  });

  it("takes a multiline pattern as given, and no pattern at all without either option", () => {
    expect(eventStartPattern({ "awslogs-multiline-pattern": "^INFO" })!.test("INFO up")).toBe(true);
    expect(eventStartPattern({ "awslogs-group": "g" })).toBeUndefined();
  });

  it("refuses both options at once, and patterns that need backtracking (as RE2 does)", () => {
    expect(() => eventStartPattern({ "awslogs-multiline-pattern": "^a", "awslogs-datetime-format": "%Y" })).toThrow(/at the same time/);
    expect(() => eventStartPattern({ "awslogs-multiline-pattern": "(a)\\1" })).toThrow(/could not parse awslogs-multiline-pattern/);
    expect(() => eventStartPattern({ "awslogs-multiline-pattern": "^(?=x)" })).toThrow(/could not parse/);
    expect(() => eventStartPattern({ "awslogs-multiline-pattern": "([a-" })).toThrow(/could not parse/);
  });

  it("a pattern that backtracks exponentially elsewhere matches a hostile line in one pass", () => {
    const re = eventStartPattern({ "awslogs-multiline-pattern": "^(a+)+$" })!;
    expect(re.test("a".repeat(100_000) + "b")).toBe(false);
  });
});
