import { describe, expect, it } from "vitest";
import { compileFilter } from "./filter-pattern.ts";

const match = (pattern: string, msg: string) => compileFilter(pattern)(msg);

describe("filter patterns: terms", () => {
  it("an empty pattern matches every event", () => {
    expect(match("", "anything")).toBe(true);
    expect(match("   ", "anything")).toBe(true);
  });
  it("every term must occur, case-sensitively", () => {
    expect(match("ERROR disk", "ERROR: disk full")).toBe(true);
    expect(match("ERROR disk", "ERROR: memory")).toBe(false);
    expect(match("error", "ERROR")).toBe(false);
  });
  it("a quoted term keeps its spaces", () => {
    expect(match('"disk full"', "ERROR: disk full")).toBe(true);
    expect(match('"disk full"', "full disk")).toBe(false);
  });
  it("-term excludes", () => {
    expect(match("ERROR -retry", "ERROR will retry")).toBe(false);
    expect(match("ERROR -retry", "ERROR fatal")).toBe(true);
  });
  it("?terms match any of them", () => {
    expect(match("?ERROR ?WARN", "WARN low disk")).toBe(true);
    expect(match("?ERROR ?WARN", "INFO ok")).toBe(false);
  });
  it("an unterminated quote or a space-delimited pattern is refused", () => {
    expect(() => compileFilter('"open')).toThrow(/Invalid filter pattern/);
    expect(() => compileFilter("[ip, user]")).toThrow(/Invalid filter pattern/);
  });
});

describe("filter patterns: JSON", () => {
  const ev = JSON.stringify({ level: "ERROR", latency: 250, user: { id: "u-17", admin: true }, tags: ["a", "b"], gone: null });
  it("string equality with wildcards", () => {
    expect(match('{ $.level = "ERROR" }', ev)).toBe(true);
    expect(match("{ $.level = ERR* }", ev)).toBe(true);
    expect(match('{ $.level = "WARN" }', ev)).toBe(false);
    expect(match('{ $.level != "WARN" }', ev)).toBe(true);
  });
  it("wildcards anywhere, without backtracking on long values", () => {
    expect(match('{ $.level = "*RR*" }', ev)).toBe(true);
    expect(match('{ $.level = "E*R*R" }', ev)).toBe(true);
    expect(match('{ $.level = "E*RRX" }', ev)).toBe(false);
    expect(match('{ $.level = "ERROR*" }', ev)).toBe(true);
    expect(match('{ $.level = "ERRORR*" }', ev)).toBe(false);
    expect(match('{ $.level = "*R*R*R*R*" }', ev)).toBe(false);
    const long = JSON.stringify({ v: "a".repeat(200_000) });
    expect(match(`{ $.v = "${"*a".repeat(400)}*b" }`, long)).toBe(false);
  });
  it("numeric comparisons", () => {
    expect(match("{ $.latency > 200 }", ev)).toBe(true);
    expect(match("{ $.latency <= 200 }", ev)).toBe(false);
    expect(match("{ $.latency = 250 }", ev)).toBe(true);
  });
  it("nested paths, arrays, IS and NOT EXISTS", () => {
    expect(match('{ $.user.id = "u-17" }', ev)).toBe(true);
    expect(match('{ $.tags[1] = "b" }', ev)).toBe(true);
    expect(match("{ $.user.admin IS TRUE }", ev)).toBe(true);
    expect(match("{ $.gone IS NULL }", ev)).toBe(true);
    expect(match("{ $.missing NOT EXISTS }", ev)).toBe(true);
    expect(match("{ $.level NOT EXISTS }", ev)).toBe(false);
  });
  it("&&, || and parentheses", () => {
    expect(match('{ $.level = "ERROR" && $.latency > 1000 }', ev)).toBe(false);
    expect(match('{ $.level = "ERROR" && ($.latency > 1000 || $.user.admin IS TRUE) }', ev)).toBe(true);
  });
  it("events that are not JSON do not match", () => {
    expect(match('{ $.level = "ERROR" }', "ERROR plain text")).toBe(false);
  });
  it("malformed JSON patterns are refused", () => {
    for (const p of ["{ }", "{ $.a = }", "{ $.a > abc }", "{ ($.a = 1 }", "{ $.a = 1", "{ level = 1 }"]) expect(() => compileFilter(p), p).toThrow(/Invalid filter pattern/);
  });
});
