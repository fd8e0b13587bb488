/**
 * Start-up safety, through the real CLI (`bin/localfargate.js ...` child processes, which serve the built JavaScript):
 * one server per data dir, a strict command line, private modes, and key files and databases
 * checked before anything is served.
 */
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { startTestServer } from "../support/server.ts";
import { NETWORK, registerSleeper, running, waitTask } from "./ecs-helpers.ts";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await new Promise((r) => setTimeout(r, 100));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "localfargate-startup-"));
  dirs.push(d);
  return d;
}

const creds = { accessKeyId: "test", secretAccessKey: "test" };
const cfg = (url: string) => ({ endpoint: url, region: "us-east-1", credentials: creds });

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = spawn(process.execPath, ["bin/localfargate.js", ...args], { cwd: process.cwd(), env: { ...cleanEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** The environment without anything that would configure localfargate or npm behind the test's back. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(LOCALFARGATE_|npm_)/i.test(k)) env[k] = v;
  return env;
}

/** Starts `localfargate start` as a child process; resolves once it listens. */
function startServer(dataDir: string, extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["bin/localfargate.js", "start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain", "--container-runtime", "host", ...extra],
    {
      cwd: process.cwd(),
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

async function stopServer(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  await exited;
}

/** Every entry under dir: content hash, mtime and mode, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (st.isDirectory()) {
        out[rel + "/"] = `${st.mode.toString(8)} ${st.mtimeMs}`;
        walk(p);
      } else {
        const hash = st.isFile() ? createHash("sha256").update(readFileSync(p)).digest("hex") : "";
        out[rel] = `${st.mode.toString(8)} ${st.mtimeMs} ${st.size} ${hash}`;
      }
    }
  };
  walk(dir);
  return out;
}

/** Processes whose working directory is under dir (a plain-driver task runs in its volume). */
function pidsWorkingUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`).startsWith(dir)) pids.push(Number(name));
    } catch {
      // gone, or not ours to look at
    }
  }
  return pids;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function expectNoStackTrace(r: Result): void {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
}

describe("one server per data dir", () => {
  it("refuses a second start on a data dir in use, naming the running server, and changes nothing", { timeout: 120_000 }, async () => {
    const dataDir = join(tempDir(), "data");
    const first = await startServer(dataDir);
    const ecs = new ECSClient(cfg(first.url));
    await ecs.send(new CreateClusterCommand({ clusterName: "lock" }));
    const td = await registerSleeper(ecs, "lock-app");
    const task = (await ecs.send(new RunTaskCommand({ cluster: "lock", taskDefinition: td, launchType: "FARGATE", networkConfiguration: NETWORK }))).tasks![0];
    await waitTask(ecs, "lock", task.taskArn!, running);
    const volumes = () => readdirSync(join(dataDir, "volumes")).filter((n) => n.startsWith("vol-"));
    expect(volumes()).toHaveLength(1);
    // let the server settle (audit index thread, task start) before the snapshot: until the data
    // dir stays the same for 1.5 s, however long a loaded host takes to get there
    await new STSClient(cfg(first.url)).send(new GetCallerIdentityCommand({}));
    let before = snapshot(dataDir);
    for (const end = performance.now() + 60_000; performance.now() < end;) {
      await new Promise((r) => setTimeout(r, 1500));
      const again = snapshot(dataDir);
      if (isDeepStrictEqual(again, before)) break;
      before = again;
    }

    const second = await cli(["start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain"]);
    expect(second.code).toBe(1);
    const address = new URL(first.url).host;
    expect(second.stderr).toContain(`pid ${first.child.pid}`);
    expect(second.stderr).toContain(address);
    expect(second.stderr).toContain(dataDir);
    expectNoStackTrace(second);

    // npm turns `npm start --port 4612` into `start 4612`; `npm start -- --help` into `start --help`
    const stray = await cli(["start", "4612", "--data-dir", dataDir]);
    expect(stray.code).toBe(2);
    const help = await cli(["start", "--data-dir", dataDir, "--help"]);
    expect(help.code).toBe(0);

    expect(snapshot(dataDir)).toEqual(before);
    const after = (await ecs.send(new DescribeTasksCommand({ cluster: "lock", tasks: [task.taskArn!] }))).tasks![0];
    expect(after.lastStatus).toBe("RUNNING");
    expect(volumes()).toHaveLength(1);

    // the lock goes with the process, however it ends: a killed server leaves no stale lock
    const taskPids = pidsWorkingUnder(join(dataDir, "volumes"));
    expect(taskPids.length).toBeGreaterThan(0);
    await stopServer(first.child, "SIGKILL");
    // the killed server's task outlives it; end it here so the test leaves nothing running
    for (const pid of taskPids) killQuietly(pid);
    const third = await startServer(dataDir);
    const t3 = (await new ECSClient(cfg(third.url)).send(new DescribeTasksCommand({ cluster: "lock", tasks: [task.taskArn!] }))).tasks![0];
    expect(t3.lastStatus).toBe("STOPPED");
    expect(volumes()).toHaveLength(0); // leftovers cleaned by the server that holds the lock
    await stopServer(third.child);
    expect(existsSync(join(dataDir, "server.json"))).toBe(false);
    const fourth = await startServer(dataDir);
    await stopServer(fourth.child);
  });
});

describe("command line", () => {
  it("--help anywhere prints usage on stdout, exits 0 and touches no data dir", async () => {
    const dataDir = join(tempDir(), "never");
    for (const args of [["--help"], ["start", "--help"], ["start", "--data-dir", dataDir, "-h"], ["start", "--bogus", "--help"], ["clock", "advance", "--help"]]) {
      const r = await cli(args, { LOCALFARGATE_DATA_DIR: dataDir });
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toMatch(/^usage:/);
      expect(r.stdout).toContain("localfargate start");
      expect(r.stderr).toBe("");
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it("refuses unknown flags, stray arguments and malformed values with usage and exit 2", async () => {
    const dataDir = join(tempDir(), "never");
    const cases: [string[], RegExp][] = [
      [["start", "--data-dir", dataDir, "--prot", "4612"], /unknown option --prot/],
      [["start", "--data-dir", dataDir, "4612"], /unexpected argument: 4612/],
      [["start", "--data-dir", dataDir, "-p", "1"], /unknown option -p/],
      [["start", "--data-dir", dataDir, "--port"], /--port needs a value/],
      [["start", "--data-dir", dataDir, "--port", "12ab"], /--port must be a port number/],
      [["start", "--data-dir", dataDir, "--allow-remote=maybe"], /--allow-remote takes true or false/],
      [["start", "--data-dir", dataDir, "--port", "1", "--port", "2"], /--port is given twice/],
      [["start", "--data-dir", dataDir, "--container-runtime", "docker"], /--container-runtime must be auto, crun or host, not docker/],
      [["start", "--data-dir", dataDir, "--task-internet", "maybe"], /--task-internet must be on or off, not maybe/],
      [["clock", "now", "extra"], /unexpected argument: extra/],
      [["clock", "--port", "4566"], /unknown option --port/],
      [["clock", "advance"], /needs a duration/],
      [["stop"], /unknown command stop/],
      [[], /a command is needed/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("usage:");
      expect(r.stdout).toBe("");
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it("--allow-remote=false means false", async () => {
    const dataDir = join(tempDir(), "never");
    const r = await cli(["start", "--host", "0.0.0.0", "--allow-remote=false", "--data-dir", dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("refuses flags npm kept for itself (npm start --port=4612 without --)", async () => {
    const dataDir = join(tempDir(), "never");
    const r = await cli(["start", "--data-dir", dataDir], { npm_lifecycle_event: "start", npm_config_port: "4612" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("npm start -- --port");
    expect(existsSync(dataDir)).toBe(false);
  });

  it("clock finds the server from LOCALFARGATE_HOST and LOCALFARGATE_PORT", async () => {
    const server = await startServer(join(tempDir(), "data"), ["--host", "127.0.0.2"]);
    try {
      const port = new URL(server.url).port;
      const r = await cli(["clock"], { LOCALFARGATE_HOST: "127.0.0.2", LOCALFARGATE_PORT: port });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toMatch(/^\d{4}-\d\d-\d\dT/);
      // without the host, clock looks on 127.0.0.1 and says where it looked
      const miss = await cli(["clock"], { LOCALFARGATE_PORT: port });
      expect(miss.code).toBe(1);
      expect(miss.stderr).toContain(`http://127.0.0.1:${port}`);
      expectNoStackTrace(miss);
    } finally {
      await stopServer(server.child);
    }
  });
});

describe("secrets at rest", () => {
  it("makes the data dir 0700 and every file 0600, and tightens an existing data dir", async () => {
    const dataDir = join(tempDir(), "data");
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const check = () => {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      const walk = (d: string) => {
        for (const name of readdirSync(d)) {
          const p = join(d, name);
          const st = lstatSync(p);
          if (st.isDirectory()) {
            expect(st.mode & 0o777, p).toBe(0o700);
            if (relative(dataDir, p) !== "volumes") walk(p);
          } else expect(st.mode & 0o777, p).toBe(0o600);
        }
      };
      walk(dataDir);
    };
    let s = await startServer(dataDir);
    await new KMSClient(cfg(s.url)).send(new CreateKeyCommand({}));
    await new IAMClient(cfg(s.url)).send(new CreateUserCommand({ UserName: "u" }));
    await new IAMClient(cfg(s.url)).send(new CreateAccessKeyCommand({ UserName: "u" }));
    check();
    const names = readdirSync(dataDir);
    for (const f of ["localfargate.db", "localfargate.db-wal", "audit-index.db", "root.key", "credentials.key", "audit-log", "volumes"]) expect(names).toContain(f);
    await stopServer(s.child);
    // as an earlier version left it
    for (const name of readdirSync(dataDir)) chmodSync(join(dataDir, name), lstatSync(join(dataDir, name)).isDirectory() ? 0o755 : 0o644);
    chmodSync(dataDir, 0o755);
    s = await startServer(dataDir);
    check();
    await stopServer(s.child);
  });

  it("refuses a root.key with one flipped bit or a missing one over existing data, and never replaces it", async () => {
    const dataDir = join(tempDir(), "data");
    let s = await startServer(dataDir);
    const kms = new KMSClient(cfg(s.url));
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = (await kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from("kept") }))).CiphertextBlob!;
    await stopServer(s.child);
    const file = join(dataDir, "root.key");
    const original = readFileSync(file);

    const flipped = Buffer.from(original);
    flipped[7] ^= 0x10;
    writeFileSync(file, flipped);
    const wrong = await cli(["start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(file);
    expect(wrong.stderr).toMatch(/restore the original root\.key/);
    expectNoStackTrace(wrong);
    expect(readFileSync(file).equals(flipped)).toBe(true);

    unlinkSync(file);
    const missing = await cli(["start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${file} is missing`);
    expectNoStackTrace(missing);
    expect(existsSync(file)).toBe(false);

    writeFileSync(file, original.subarray(0, 31));
    const short = await cli(["start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain"]);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain(`${file} is 31 bytes`);

    writeFileSync(file, original, { mode: 0o600 });
    s = await startServer(dataDir);
    const out = await new KMSClient(cfg(s.url)).send(new DecryptCommand({ CiphertextBlob: blob }));
    expect(Buffer.from(out.Plaintext!).toString()).toBe("kept");
    await stopServer(s.child);
  });

  it("names a damaged credentials.key or database file instead of a stack trace", async () => {
    const dataDir = join(tempDir(), "data");
    const s = await startServer(dataDir);
    const iam = new IAMClient(cfg(s.url));
    await iam.send(new CreateUserCommand({ UserName: "alice" }));
    await iam.send(new CreateAccessKeyCommand({ UserName: "alice" }));
    await stopServer(s.child);
    const start = () => cli(["start", "--port", "0", "--data-dir", dataDir, "--storage-driver", "plain"]);

    const credFile = join(dataDir, "credentials.key");
    const credentials = readFileSync(credFile);
    writeFileSync(credFile, "not a key\n");
    let r = await start();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${credFile} is 10 bytes`);
    expectNoStackTrace(r);
    const flipped = Buffer.from(credentials);
    flipped[0] ^= 1;
    writeFileSync(credFile, flipped);
    r = await start();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(credFile);
    expect(r.stderr).toMatch(/check value differs/);
    unlinkSync(credFile);
    r = await start();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${credFile} is missing`);
    expect(existsSync(credFile)).toBe(false);
    writeFileSync(credFile, credentials);

    const indexFile = join(dataDir, "audit-index.db");
    rmSync(`${indexFile}-wal`, { force: true });
    rmSync(`${indexFile}-shm`, { force: true });
    writeFileSync(indexFile, Buffer.alloc(8192, "garbage!"));
    r = await start();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(indexFile);
    expect(r.stderr).toMatch(/delete it .* rebuilt/);
    expectNoStackTrace(r);

    const dbFile = join(dataDir, "localfargate.db");
    writeFileSync(indexFile, "");
    const db = new Database(dbFile);
    const row = db.prepare("SELECT id, data FROM entities WHERE kind = 'iam.user'").get() as { id: string; data: string };
    db.prepare("UPDATE entities SET data = ? WHERE kind = 'iam.user' AND id = ?").run("{broken", row.id);
    db.close();
    r = await start();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${dbFile}: the stored iam.user ${row.id} is damaged`);
    expectNoStackTrace(r);

    rmSync(join(dataDir, "localfargate.db-wal"), { force: true });
    rmSync(join(dataDir, "localfargate.db-shm"), { force: true });
    writeFileSync(dbFile, Buffer.alloc(8192, "garbage!"));
    r = await start();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(dbFile);
    expectNoStackTrace(r);
  });

  it("checks the key files of a data dir made before check values by opening what they seal", async () => {
    const s = await startTestServer();
    dirs.push(s.dataDir);
    const kms = new KMSClient(s.config);
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const blob = (await kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from("old") }))).CiphertextBlob!;
    const iam = new IAMClient(s.config);
    await iam.send(new CreateUserCommand({ UserName: "bob" }));
    const ak = (await iam.send(new CreateAccessKeyCommand({ UserName: "bob" }))).AccessKey!;
    await s.stop();
    const forgetCheckValues = () => {
      const db = new Database(join(s.dataDir, "localfargate.db"));
      db.prepare("DELETE FROM meta WHERE k IN ('kms.rootKeyCheck', 'iam.credentialsKeyCheck')").run();
      db.close();
    };
    for (const name of ["root.key", "credentials.key"]) {
      forgetCheckValues();
      const file = join(s.dataDir, name);
      const original = readFileSync(file);
      const flipped = Buffer.from(original);
      flipped[31] ^= 0x80;
      writeFileSync(file, flipped);
      await expect(startTestServer({ dataDir: s.dataDir })).rejects.toThrow(`${file} is not the key`);
      writeFileSync(file, original);
    }
    const again = await startTestServer({ dataDir: s.dataDir });
    try {
      const out = await new KMSClient(again.config).send(new DecryptCommand({ CiphertextBlob: blob }));
      expect(Buffer.from(out.Plaintext!).toString()).toBe("old");
      const who = await new STSClient(again.configFor({ accessKeyId: ak.AccessKeyId!, secretAccessKey: ak.SecretAccessKey! })).send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toMatch(/:user\/bob$/);
      // the check values are stored again
      expect(again.app.store.getMeta("kms.rootKeyCheck")).toMatch(/^[0-9a-f]{64}$/);
      expect(again.app.store.getMeta("iam.credentialsKeyCheck")).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await again.stop();
    }
  });
});
