/**
 * The host-wide lock and forwarding count, against the real flock(1) and /proc, with a plain file
 * standing in for net.ipv4.ip_forward (the host's own switch is never written here). Other
 * servers are child processes, so the lock and the pid markers are exercised across processes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { runProgram, which } from "../storage/system.ts";
import { HostNetworkState, startTime } from "./host-state.ts";

const flock = process.platform === "linux" ? await which("flock") : undefined;
if (!flock) console.warn("host network state tests skipped: needs Linux with flock(1) (util-linux)");

const moduleUrl = pathToFileURL(join(import.meta.dirname, "host-state.ts")).href;
const children: ChildProcess[] = [];
const errors = new Map<ChildProcess, Buffer[]>();

/** Another "server": runs `body` (with `s`, a HostNetworkState on the same dir) in its own process. */
function other(dir: string, forward: string, body: string): { child: ChildProcess; lines: AsyncIterator<string> } {
  const script =
    `const m = await import(${JSON.stringify(moduleUrl)});\n` +
    `const s = new m.HostNetworkState({ dir: ${JSON.stringify(dir)}, flock: ${JSON.stringify(flock)}, ipForwardPath: ${JSON.stringify(forward)} });\n` +
    `const say = (l) => process.stdout.write(l + "\\n");\n` +
    `const waitLine = () => new Promise((r) => process.stdin.once("data", r));\n` +
    body;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(child);
  const err: Buffer[] = [];
  child.stderr!.on("data", (c: Buffer) => err.push(c));
  errors.set(child, err);
  return { child, lines: lineReader(child) };
}

/** The child's stdout lines, read from the start (nothing is lost before the first `next`). */
function lineReader(child: ChildProcess): AsyncIterator<string> {
  const lines: string[] = [];
  const waiters: ((r: IteratorResult<string>) => void)[] = [];
  let buf = "";
  let ended = false;
  child.stdout!.on("data", (c: Buffer) => {
    buf += c.toString("utf8");
    let i: number;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w({ value: line, done: false });
      else lines.push(line);
    }
  });
  child.on("close", () => {
    ended = true;
    for (const w of waiters.splice(0)) w({ value: undefined, done: true });
  });
  return {
    next: () =>
      new Promise((resolve) => {
        const line = lines.shift();
        if (line !== undefined) resolve({ value: line, done: false });
        else if (ended) resolve({ value: undefined, done: true });
        else waiters.push(resolve);
      }),
  };
}

async function next(o: { child: ChildProcess; lines: AsyncIterator<string> }): Promise<string> {
  const r = await o.lines.next();
  if (r.done)
    throw new Error(`the other process ended (exit ${o.child.exitCode} ${o.child.signalCode}) without answering: ${Buffer.concat(errors.get(o.child) ?? []).toString("utf8")}`);
  return r.value;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
}

describe.skipIf(!flock)("host network state", () => {
  let root: string;
  let dir: string;
  let forward: string;
  const state = (d = dir) => new HostNetworkState({ dir: d, flock: flock!, ipForwardPath: forward });
  const forwarding = async () => (await readFile(forward, "utf8")).trim();

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "lf-hoststate-"));
    dir = join(root, "network");
    forward = join(root, "ip_forward");
    await writeFile(forward, "0\n");
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("turns forwarding on for the first server and back off only when the last one stops", async () => {
    const a = state();
    const b = state();
    expect(await a.acquireForwarding("lfaaaaaa")).toBe("0");
    expect(await forwarding()).toBe("1");
    // The second finds forwarding on, but the value to restore is still the host's own.
    expect(await b.acquireForwarding("lfbbbbbb")).toBe("0");
    expect(await a.releaseForwarding("lfaaaaaa")).toBe(false);
    expect(await forwarding()).toBe("1");
    expect(await b.releaseForwarding("lfbbbbbb")).toBe(true);
    expect(await forwarding()).toBe("0");
  });

  it("leaves forwarding on that the host had on before any server", async () => {
    await writeFile(forward, "1\n");
    const a = state();
    expect(await a.acquireForwarding("lfaaaaaa")).toBe("1");
    expect(await a.releaseForwarding("lfaaaaaa")).toBe(true);
    expect(await forwarding()).toBe("1");
  });

  it("counts a server in another process while it lives, and not once it has died", async () => {
    const o = other(dir, forward, `say(await s.acquireForwarding("lfother1")); await waitLine(); say("bye");`);
    expect(await next(o)).toBe("0");
    const me = state();
    expect(await me.acquireForwarding("lfmine01")).toBe("0");
    expect(await me.releaseForwarding("lfmine01")).toBe(false);
    expect(await forwarding()).toBe("1");
    // Killed without releasing: its marker stays, but its pid is dead.
    o.child.kill("SIGKILL");
    await exited(o.child);
    expect(await me.acquireForwarding("lfmine01")).toBe("0");
    expect(await me.releaseForwarding("lfmine01")).toBe(true);
    expect(await forwarding()).toBe("0");
  });

  it("keeps the value a crashed first server recorded while forwarding is still on", async () => {
    const o = other(dir, forward, `say(await s.acquireForwarding("lfcrash1"));`);
    expect(await next(o)).toBe("0");
    await exited(o.child);
    expect(await forwarding()).toBe("1");
    const me = state();
    expect(await me.acquireForwarding("lfmine01")).toBe("0");
    expect(await me.releaseForwarding("lfmine01")).toBe(true);
    expect(await forwarding()).toBe("0");
  });

  it("does not count a marker whose pid now belongs to another process", async () => {
    const me = state();
    await me.acquireForwarding("lfmine01");
    // A marker with a live pid (this one) but another start time: a crashed server's pid reused.
    await writeFile(join(dir, "forwarding", "lfreused"), `${process.pid} 1\n`);
    expect(await startTime(process.pid)).not.toBe("1");
    expect(await me.releaseForwarding("lfmine01")).toBe(true);
    expect(await forwarding()).toBe("0");
  });

  it("runs critical sections of several processes one at a time", async () => {
    const counter = join(root, "counter");
    await writeFile(counter, "0");
    // Read, yield to the event loop, write: without the lock, updates are lost.
    const body =
      `await waitLine();\n` +
      `for (let i = 0; i < 10; i++) await s.exclusive(async () => {\n` +
      `  const { readFile, writeFile } = await import("node:fs/promises");\n` +
      `  const n = Number(await readFile(${JSON.stringify(counter)}, "utf8"));\n` +
      `  await new Promise((r) => setImmediate(r));\n` +
      `  await writeFile(${JSON.stringify(counter)}, String(n + 1));\n` +
      `});\n` +
      `say("done");`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const others = Array.from({ length: 4 }, () => other(dir, forward, body + "process.exit(0);"));
    for (const o of others) o.child.stdin!.write("go\n");
    for (const o of others) expect(await next(o)).toBe("done");
    expect(await readFile(counter, "utf8")).toBe("40");
  });

  it("a holder that dies releases the lock", async () => {
    const o = other(dir, forward, `await s.exclusive(async () => { say("holding"); await new Promise(() => setInterval(() => {}, 1000)); });`);
    expect(await next(o)).toBe("holding");
    const lockFile = join(dir, "lock");
    expect((await runProgram(flock!, ["--nonblock", lockFile, "true"])).code).toBe(1);
    o.child.kill("SIGKILL");
    await exited(o.child);
    expect((await runProgram(flock!, ["--nonblock", lockFile, "true"])).code).toBe(0);
    await expect(state().exclusive(async () => "entered")).resolves.toBe("entered");
    // and this process's own section released it on return
    expect((await runProgram(flock!, ["--nonblock", lockFile, "true"])).code).toBe(0);
  });

  it("refuses a state directory other users can write to", async () => {
    const open = join(root, "open");
    await mkdir(join(open, "network"), { recursive: true });
    await chmod(open, 0o777);
    await expect(state(join(open, "network")).exclusive(async () => undefined)).rejects.toThrow(/no other user can write to/);
    // nor one that is a link to somewhere else, which is left as it was
    const elsewhere = join(root, "elsewhere");
    await mkdir(elsewhere, { mode: 0o755 });
    await symlink(elsewhere, join(root, "link"));
    await expect(state(join(root, "link")).exclusive(async () => undefined)).rejects.toThrow(/must be a directory/);
    expect((await stat(elsewhere)).mode & 0o777).toBe(0o755);
    expect(await readdir(elsewhere)).toEqual([]);
    await expect(state().acquireForwarding("../x")).rejects.toThrow(/Invalid network user name/);
  });
});
