/**
 * awsvpc networking against the real iproute2 and nftables, as root. Skipped (with the reason
 * printed) elsewhere. Every name carries a per-run prefix, and afterAll removes the bridge,
 * namespaces and processes even when a test fails. Traffic goes only to addresses on the bridge
 * and in the namespaces these tests create.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProgram } from "../storage/system.ts";
import { AwsvpcNetworking, probeNetworking } from "./awsvpc.ts";
import { readIpForwarding } from "./outbound.ts";

const probe = await probeNetworking();
if (!probe.available) console.warn(`awsvpc networking tests skipped: ${probe.reason}`);

const prefix = `lt${randomBytes(2).toString("hex")}`;
const children: ChildProcess[] = [];
const instances: AwsvpcNetworking[] = [];

async function ip(...args: string[]): Promise<string> {
  const r = await runProgram("ip", args);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.output}`);
  return r.output;
}

async function namespaces(): Promise<string[]> {
  return (await ip("netns", "list"))
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n.startsWith(prefix));
}

async function links(): Promise<string[]> {
  return (JSON.parse(await ip("-j", "link", "show")) as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith(prefix));
}

/** An HTTP GET from inside a namespace (node's fetch; busybox wget crashes on some hosts). */
const FETCH = `fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e.cause ?? e)); process.exit(1); })`;

function fetchIn(netns: string, url: string) {
  return runProgram("ip", ["netns", "exec", netns, process.execPath, "-e", FETCH, url], { timeoutMs: 15_000 });
}

async function getIn(netns: string, url: string): Promise<string> {
  const r = await fetchIn(netns, url);
  if (r.code !== 0) throw new Error(`GET ${url} in ${netns}: ${r.output}`);
  return r.output;
}

function httpGet(host: string, port: number, path = "/"): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** A child's stdout lines, read from its start; `next` rejects with its stderr when it ends first. */
function lines(child: ChildProcess): { next(): Promise<string> } {
  let buf = "";
  let err = "";
  const queue: string[] = [];
  const waiters: { resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  let ended = false;
  const fail = () => new Error(`child ended (exit ${child.exitCode ?? child.signalCode}): ${err}`);
  child.stderr!.on("data", (c: Buffer) => (err += c.toString("utf8")));
  child.stdout!.on("data", (c: Buffer) => {
    buf += c.toString("utf8");
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w.resolve(line);
      else queue.push(line);
    }
  });
  child.on("close", () => {
    ended = true;
    for (const w of waiters.splice(0)) w.reject(fail());
  });
  return {
    next: () =>
      new Promise((resolve, reject) => {
        const line = queue.shift();
        if (line !== undefined) resolve(line);
        else if (ended) reject(fail());
        else waiters.push({ resolve, reject });
      }),
  };
}

/** Retries `fn` for up to a minute of wall-clock time: a server in a namespace binds in seconds on a loaded host. */
async function eventually<T>(fn: () => Promise<T>, what: string): Promise<T> {
  const end = performance.now() + 60_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (performance.now() > end) throw new Error(`${what}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

describe.skipIf(!probe.available)("awsvpc task networks", () => {
  let dir: string;
  let net: AwsvpcNetworking;
  const servers: Server[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "lf-awsvpc-"));
    // Internet access off here: these tests check the task networks themselves (and that "off" adds no host rule).
    net = await AwsvpcNetworking.create({ stateDir: join(dir, "network"), prefix, internet: false });
    instances.push(net);
  });
  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    for (const s of servers) s.close();
    for (const i of instances) await i.close().catch((e: Error) => console.error(e.message));
    // Whatever a failed test left with this run's prefix.
    for (const ns of await namespaces()) await runProgram("ip", ["netns", "del", ns]);
    for (const l of await links()) await runProgram("ip", ["link", "del", l]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("gives each task its own address on a bridge subnet that overlaps no host route", async () => {
    const a = await net.createTaskNetwork("task-a");
    const b = await net.createTaskNetwork("task-b");
    expect(a.ip).not.toBe(b.ip);
    expect(a.gateway).toBe(b.gateway);
    expect(a.netnsPath).toBe(`/var/run/netns/${prefix}-task-a`);
    expect(await namespaces()).toEqual(expect.arrayContaining([a.netnsName, b.netnsName]));
    const inside = JSON.parse(await ip("-n", a.netnsName, "-j", "addr", "show", "dev", "eth0")) as {
      address: string;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    expect(inside[0]!.address).toBe(a.mac);
    expect(inside[0]!.addr_info.filter((x) => x.family === "inet")).toEqual([expect.objectContaining({ local: a.ip, prefixlen: 16 })]);
    const bridgeRoutes = JSON.parse(await ip("-j", "-4", "route", "show", "dev", net.bridge)) as { dst: string }[];
    expect(bridgeRoutes.map((r) => r.dst)).toEqual([net.subnetCidr]);
    await net.destroyTaskNetwork("task-a");
    await net.destroyTaskNetwork("task-b");
  });

  it("a task's listener is reachable from the host at the task address and from another task", async () => {
    const a = await net.createTaskNetwork("srv");
    const b = await net.createTaskNetwork("cli");
    const www = join(dir, "www");
    await mkdir(www, { recursive: true });
    const marker = `hello-${randomBytes(4).toString("hex")}`;
    await writeFile(join(www, "index.html"), marker);
    const httpd = spawn("ip", ["netns", "exec", a.netnsName, "busybox", "httpd", "-f", "-p", "8080", "-h", www], { stdio: "ignore" });
    children.push(httpd);
    expect(await eventually(() => httpGet(a.ip, 8080), "host → task")).toBe(marker);
    expect(await getIn(b.netnsName, `http://${a.ip}:8080/`)).toBe(marker);
    // The listener is inside the namespace only: not on the host's loopback.
    await expect(httpGet("127.0.0.1", 8080)).rejects.toThrow();
    httpd.kill("SIGKILL");
    await net.destroyTaskNetwork("srv");
    await net.destroyTaskNetwork("cli");
  });

  it("a task reaches a server on the bridge address, and 169.254.170.2:80 reaches the given host port", async () => {
    let seenFrom = "";
    const server = createServer((req, res) => {
      seenFrom = req.socket.remoteAddress ?? "";
      res.end(`path=${req.url}`);
    });
    servers.push(server);
    const t = await net.createTaskNetwork("creds", { credentialsEndpoint: { address: (await net.createTaskNetwork("probe")).gateway, port: 0 } }).catch((e: Error) => e);
    // Port 0 is refused before anything is created, and the refused task holds nothing.
    expect(t).toBeInstanceOf(Error);
    expect(await namespaces()).not.toContain(`${prefix}-creds`);
    await net.destroyTaskNetwork("probe");

    const gateway = (await net.createTaskNetwork("gw")).gateway;
    await net.destroyTaskNetwork("gw");
    const port = await listen(server, gateway);
    const task = await net.createTaskNetwork("creds", { credentialsEndpoint: { address: gateway, port } });
    expect(await getIn(task.netnsName, `http://${gateway}:${port}/direct`)).toBe("path=/direct");
    expect(seenFrom).toBe(task.ip);
    seenFrom = "";
    expect(await getIn(task.netnsName, "http://169.254.170.2/v2/credentials/abc")).toBe("path=/v2/credentials/abc");
    expect(seenFrom).toBe(task.ip);
    // The redirect is the task's alone: another task without one cannot reach 169.254.170.2.
    const other = await net.createTaskNetwork("nocreds");
    await expect(
      runProgram("ip", ["netns", "exec", other.netnsName, "busybox", "wget", "-q", "-T", "2", "-O", "-", "http://169.254.170.2/"], { timeoutMs: 10_000 }),
    ).resolves.toMatchObject({
      code: expect.not.stringMatching(/^0$/) as unknown,
    });
    // With internet access off the host's own rule set is untouched: no masquerade, no table.
    expect(await runProgram("nft", ["list", "tables"]).then((r) => r.output)).not.toContain(`localfargate_${prefix}`);
    expect(await runProgram("nft", ["list", "ruleset"]).then((r) => r.output)).not.toContain(net.bridge);
    expect(net.describeInternet()).toEqual({ internet: "off", dns: { available: false, reason: expect.stringContaining("off") as unknown } });
    expect(task.resolvConf).toMatch(/^# localfargate: DNS is unavailable to tasks: task internet access is off/);
    await net.destroyTaskNetwork("creds");
    await net.destroyTaskNetwork("nocreds");
  });

  it("with internet access on, forwarding is on and the instance's table masquerades the task subnet until close", async () => {
    const forwardBefore = await readIpForwarding();
    const inet = await AwsvpcNetworking.create({
      stateDir: join(dir, "inet"),
      prefix: `${prefix}i`,
      hostResolvConf: "search corp.example\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n",
    });
    instances.push(inet);
    const table = `localfargate_${prefix}i`;
    const t = await inet.createTaskNetwork("out");
    expect(await readIpForwarding()).toBe("1");
    const rules = await runProgram("nft", ["list", "table", "ip", table]).then((r) => r.output);
    expect(rules).toContain(`ip saddr ${inet.subnetCidr} oifname != "${inet.bridge}" masquerade`);
    expect(rules).toContain(`iifname "${inet.bridge}" accept`);
    expect(rules).toContain(`oifname "${inet.bridge}" ct state established,related accept`);
    // The rule is on the host only: nothing of it in the task's namespace but the task's own.
    expect(await runProgram("ip", ["netns", "exec", t.netnsName, "nft", "list", "ruleset"]).then((r) => r.output)).not.toContain("masquerade");
    // Found on, it may be another running server's doing: the record is then the value that server found.
    expect(inet.describeInternet()).toEqual({
      internet: "on",
      nftTable: `ip ${table}`,
      ipForwardBefore: forwardBefore === "0" ? "0" : expect.stringMatching(/^[01]$/),
      dns: { available: true, nameservers: ["192.0.2.53"] },
    });
    expect(t.resolvConf).toBe("nameserver 192.0.2.53\nsearch corp.example\n");
    // A second task adds no second table; the table outlives a task and goes with the bridge.
    await inet.createTaskNetwork("out2");
    expect((await runProgram("nft", ["list", "tables", "ip"])).output.split(table).length).toBe(2);
    await inet.destroyTaskNetwork("out");
    await inet.destroyTaskNetwork("out2");
    expect((await runProgram("nft", ["list", "tables", "ip"])).output).toContain(table);
    const othersRunning = /localfargate_(?!${prefix}i\b)/.test((await runProgram("nft", ["list", "tables", "ip"])).output);
    await inet.close();
    expect((await runProgram("nft", ["list", "tables", "ip"])).output).not.toContain(table);
    // Forwarding is back as found, unless another localfargate still masquerades.
    if (!othersRunning) expect(await readIpForwarding()).toBe(forwardBefore);
  });

  it("two servers share forwarding: the first one's value is restored only when the last one stops", async () => {
    // A host state of their own, and a plain file as the forwarding switch found off.
    const hostStateDir = join(dir, "host-state", "network");
    const ipForwardPath = join(dir, "ip_forward");
    await writeFile(ipForwardPath, "0\n");
    const switchValue = async () => (await readFile(ipForwardPath, "utf8")).trim();
    const make = (n: string) => AwsvpcNetworking.create({ stateDir: join(dir, `share${n}`), prefix: `${prefix}${n}`, hostStateDir, ipForwardPath });
    const a = await make("a");
    const b = await make("b");
    instances.push(a, b);
    await a.createTaskNetwork("t");
    await b.createTaskNetwork("t");
    expect(await switchValue()).toBe("1");
    expect(a.describeInternet().ipForwardBefore).toBe("0");
    // b found forwarding on, but what the host had is still a's record
    expect(b.describeInternet().ipForwardBefore).toBe("0");
    await a.close();
    expect(await switchValue()).toBe("1");
    await b.close();
    expect(await switchValue()).toBe("0");
  });

  it("cleanupLeftovers removes the masquerade table a crashed run left", async () => {
    const forwardBefore = await readIpForwarding();
    const stateDir = join(dir, "inet-crash");
    const crashed = await AwsvpcNetworking.create({ stateDir, prefix: `${prefix}j` });
    await crashed.createTaskNetwork("x");
    const next = await AwsvpcNetworking.create({ stateDir, prefix: `${prefix}j` });
    instances.push(next);
    await next.cleanupLeftovers();
    expect((await runProgram("nft", ["list", "tables", "ip"])).output).not.toContain(`localfargate_${prefix}j`);
    // The value found before the crashed run is kept in the data dir and restored at close.
    const othersRunning = /localfargate_/.test((await runProgram("nft", ["list", "tables", "ip"])).output);
    await next.close();
    if (!othersRunning) expect(await readIpForwarding()).toBe(forwardBefore);
  });

  it("concurrent creates get distinct addresses and veths, and all of them are recorded", async () => {
    const ids = ["c1", "c2", "c3", "c4", "c5"];
    const nets = await Promise.all(ids.map((id) => net.createTaskNetwork(id)));
    expect(new Set(nets.map((n) => n.ip)).size).toBe(ids.length);
    expect(new Set(nets.map((n) => n.mac)).size).toBe(ids.length);
    const saved = JSON.parse(await readFile(join(dir, "network", "allocations.json"), "utf8")) as { tasks: Record<string, unknown> };
    expect(Object.keys(saved.tasks).sort()).toEqual(ids);
    await Promise.all(ids.map((id) => net.destroyTaskNetwork(id)));
    expect(await namespaces()).toEqual([]);
  });

  it("refuses task ids that are not safe namespace names", async () => {
    for (const bad of ["../x", "a/b", "", "-a", "x".repeat(65), "a b"]) {
      await expect(net.createTaskNetwork(bad)).rejects.toThrow(/Invalid task id/);
    }
    await expect(net.createTaskNetwork("dup")).resolves.toBeDefined();
    await expect(net.createTaskNetwork("dup")).rejects.toThrow(/already has a network/);
    await net.destroyTaskNetwork("dup");
    await net.destroyTaskNetwork("dup");
  });

  it("teardown leaves no namespace, veth or nft state", async () => {
    const before = await runProgram("nft", ["list", "ruleset"]).then((r) => r.output);
    const t = await net.createTaskNetwork("gone", { credentialsEndpoint: { address: "10.89.0.1", port: 9 } });
    const nsRules = await runProgram("ip", ["netns", "exec", t.netnsName, "nft", "list", "ruleset"]);
    expect(nsRules.output).toContain("169.254.170.2");
    await net.destroyTaskNetwork("gone");
    expect(await namespaces()).toEqual([]);
    expect(await links()).toEqual([net.bridge]);
    expect(await runProgram("nft", ["list", "ruleset"]).then((r) => r.output)).toBe(before);
  });

  it("servers starting at the same moment in separate processes each get their own subnet", async () => {
    const moduleUrl = pathToFileURL(join(import.meta.dirname, "awsvpc.ts")).href;
    // Each child is a server: it makes its networking, says "ready", makes its bridge on "go",
    // prints the subnet, and closes on the next line.
    const script = (n: number) =>
      `const { AwsvpcNetworking } = await import(${JSON.stringify(moduleUrl)});\n` +
      `const net = await AwsvpcNetworking.create({ stateDir: ${JSON.stringify(join(dir, `race${n}`))}, prefix: ${JSON.stringify(`${prefix}r${n}`)}, internet: false });\n` +
      `const line = () => new Promise((r) => process.stdin.once("data", r));\n` +
      `process.stdout.write("ready\\n");\n` +
      `await line();\n` +
      `await net.gatewayAddress();\n` +
      `process.stdout.write(net.subnetCidr + "\\n");\n` +
      `await line();\n` +
      `await net.close();\n` +
      `process.exit(0);\n`;
    const servers = Array.from({ length: 4 }, (_, n) => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script(n)], { stdio: ["pipe", "pipe", "pipe"] });
      children.push(child);
      return { child, lines: lines(child) };
    });
    for (const s of servers) expect(await s.lines.next()).toBe("ready");
    for (const s of servers) s.child.stdin!.write("go\n");
    const subnets = await Promise.all(servers.map((s) => s.lines.next()));
    for (const s of servers) s.child.stdin!.write("close\n");
    await Promise.all(servers.map((s) => new Promise((r) => s.child.once("close", r))));
    expect(subnets.every((x) => /^\d+\.\d+\.0\.0\/16$/.test(x))).toBe(true);
    expect(new Set(subnets).size).toBe(servers.length);
    expect(subnets).not.toContain(net.subnetCidr);
  });

  it("cleanupLeftovers removes a previous run's namespaces and veths and frees their addresses", async () => {
    const stateDir = join(dir, "crashed");
    // Its own prefix: one data dir per prefix, as one server per data dir.
    const crashed = await AwsvpcNetworking.create({ stateDir, prefix: `${prefix}c` });
    const old1 = await crashed.createTaskNetwork("old1");
    await crashed.createTaskNetwork("old2");
    await ip("netns", "add", `${prefix}c-stray`); // created by a run that died before recording it
    // "Restart": a new instance on the same data dir, the old one never cleaned up.
    const next = await AwsvpcNetworking.create({ stateDir, prefix: `${prefix}c` });
    instances.push(next);
    // Before cleanup the held addresses are not handed out again.
    const early = await next.createTaskNetwork("early");
    expect([old1.ip]).not.toContain(early.ip);
    await next.destroyTaskNetwork("early");
    const removed = await next.cleanupLeftovers();
    expect(removed).toEqual(expect.arrayContaining([`${prefix}c-old1`, `${prefix}c-old2`, `${prefix}c-stray`]));
    expect(await namespaces()).toEqual([]);
    expect((await links()).sort()).toEqual([net.bridge, next.bridge].sort());
    // The second bridge went on another /16: the first one's route is in use.
    expect(next.subnetCidr).not.toBe(net.subnetCidr);
    expect((await next.createTaskNetwork("fresh")).ip).toBe(old1.ip);
    await next.close();
    expect(await links()).toEqual([net.bridge]);
  });
});
