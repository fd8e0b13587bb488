import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostLauncher } from "./host-launcher.ts";

describe("HostLauncher", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-host-launcher-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("hands what a container writes to an output callback, stream by stream, and reports its exit code", async () => {
    const launcher = new HostLauncher({ volumePath: dir, baseEnv: { GREETING: "hi" } });
    const got: Record<"stdout" | "stderr", string> = { stdout: "", stderr: "" };
    const r = await launcher.start(
      { name: "app", essential: true, environment: {}, command: ["sh", "-c", 'echo "$GREETING out"; echo err >&2; exit 5'] },
      { onData: (stream, chunk) => (got[stream] += chunk.toString()) },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(await r.container.exited).toEqual({ exitCode: 5 });
    await new Promise((res) => setImmediate(res));
    expect(got).toEqual({ stdout: "hi out\n", stderr: "err\n" });
  });

  it("answers CannotStartContainerError for a program that does not exist", async () => {
    const launcher = new HostLauncher({ volumePath: dir, baseEnv: {} });
    const r = await launcher.start({ name: "app", essential: true, environment: {}, command: ["/no/such/program"] }, { onData: () => undefined });
    expect(r).toEqual({ ok: false, reason: 'CannotStartContainerError: unable to start container process: exec: "/no/such/program": executable file not found in $PATH' });
  });
});
