import { describe, expect, it } from "vitest";
import { clockEndpoint, consoleUrl, parseArgs, parseDuration, UsageError } from "./cli-args.ts";

const SPEC = { port: "string", "allow-remote": "boolean" } as const;

describe("parseArgs", () => {
  it("reads string flags in both forms and booleans with or without a value", () => {
    expect(parseArgs(["--port", "1", "--allow-remote"], SPEC, 0).flags).toEqual({ port: "1", "allow-remote": true });
    expect(parseArgs(["--port=2", "--allow-remote=false"], SPEC, 0).flags).toEqual({ port: "2", "allow-remote": false });
    expect(parseArgs(["--allow-remote=TRUE"], SPEC, 0).flags).toEqual({ "allow-remote": true });
  });

  it("finds --help and -h anywhere, even among bad arguments", () => {
    expect(parseArgs(["stray", "--help"], SPEC, 0).help).toBe(true);
    expect(parseArgs(["-h", "--port", "1"], SPEC, 0).help).toBe(true);
  });

  it("refuses what it does not know", () => {
    expect(() => parseArgs(["--nope"], SPEC, 0)).toThrow(UsageError);
    expect(() => parseArgs(["-p"], SPEC, 0)).toThrow(/unknown option -p/);
    expect(() => parseArgs(["4612"], SPEC, 0)).toThrow(/unexpected argument: 4612/);
    expect(() => parseArgs(["--port"], SPEC, 0)).toThrow(/needs a value/);
    expect(() => parseArgs(["--port", "--allow-remote"], SPEC, 0)).toThrow(/needs a value/);
    expect(() => parseArgs(["--allow-remote=2"], SPEC, 0)).toThrow(/true or false/);
    expect(() => parseArgs(["--port=1", "--port=2"], SPEC, 0)).toThrow(/twice/);
  });

  it("keeps positionals up to the command's limit, and everything after --", () => {
    expect(parseArgs(["advance", "30d"], {}, 2).positionals).toEqual(["advance", "30d"]);
    expect(parseArgs(["--", "--port"], SPEC, 1).positionals).toEqual(["--port"]);
  });
});

describe("clockEndpoint", () => {
  it("prefers --endpoint, then LOCALFARGATE_ENDPOINT, then LOCALFARGATE_HOST and LOCALFARGATE_PORT", () => {
    const env = { LOCALFARGATE_ENDPOINT: "http://127.0.0.9:1", LOCALFARGATE_HOST: "127.0.0.2", LOCALFARGATE_PORT: "4612" };
    expect(clockEndpoint("http://127.0.0.5:5", env)).toBe("http://127.0.0.5:5");
    expect(clockEndpoint(undefined, env)).toBe("http://127.0.0.9:1");
    expect(clockEndpoint(undefined, { LOCALFARGATE_HOST: "127.0.0.2", LOCALFARGATE_PORT: "4612" })).toBe("http://127.0.0.2:4612");
    expect(clockEndpoint(undefined, {})).toBe("http://127.0.0.1:4566");
  });

  it("reaches a server bound to every address on loopback, and brackets IPv6", () => {
    expect(clockEndpoint(undefined, { LOCALFARGATE_HOST: "0.0.0.0" })).toBe("http://127.0.0.1:4566");
    expect(clockEndpoint(undefined, { LOCALFARGATE_HOST: "::" })).toBe("http://[::1]:4566");
    expect(clockEndpoint(undefined, { LOCALFARGATE_HOST: "::1", LOCALFARGATE_PORT: "1" })).toBe("http://[::1]:1");
  });
});

describe("parseDuration", () => {
  it("reads s, m, h and d", () => {
    expect(parseDuration("30d")).toBe(30 * 86400);
    expect(parseDuration("90")).toBe(90);
    expect(() => parseDuration("1w")).toThrow(/cannot read duration/);
  });
});

describe("consoleUrl", () => {
  it("names the console under the server's address, on loopback for a wildcard bind", () => {
    expect(consoleUrl("http://127.0.0.1:4566")).toBe("http://127.0.0.1:4566/_localfargate/console");
    expect(consoleUrl("http://0.0.0.0:4612")).toBe("http://127.0.0.1:4612/_localfargate/console");
    expect(consoleUrl("http://[::]:4566")).toBe("http://[::1]:4566/_localfargate/console");
    expect(consoleUrl("http://localhost:4566")).toBe("http://localhost:4566/_localfargate/console");
  });
});
