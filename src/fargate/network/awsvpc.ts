/**
 * awsvpc networking for Fargate tasks (docs/ecs-fargate.md#awsvpc-networking): one host bridge
 * on a private /16 chosen so it overlaps no route of the host, and per task a network namespace
 * joined to the bridge by a veth pair, with one address from the persisted allocator. Inside the
 * task's namespace an nft DNAT rule sends 169.254.170.2:80 (the container credentials endpoint)
 * to an address and port on the host that the caller names. With internet access on (the
 * default), IPv4 forwarding is turned on host-wide and the instance's own host nft table
 * masquerades the task subnet (outbound.ts); nothing else of the host's routes or firewall is
 * touched. The subnet choice and forwarding are shared with every other server on the host
 * under one host-wide lock (host-state.ts). Every link, namespace and table it makes carries the
 * instance's prefix and is removed by destroyTaskNetwork, cleanupLeftovers or close.
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { runProgram, which } from "../storage/system.ts";
import { chooseSubnet, formatIpv4, formatPrefix, gatewayOf, macFor, parseIpv4, parsePrefix, taskAddress, type Ipv4Prefix } from "./addresses.ts";
import { AddressAllocator, type Allocation } from "./allocator.ts";
import { HostNetworkState } from "./host-state.ts";
import { droppingForwardChains, hostTableName, installOutbound, removeOutbound, taskResolvConf, type TaskDns } from "./outbound.ts";

/** The link-local address of the ECS container credentials and metadata endpoint. */
export const CREDENTIALS_ENDPOINT_ADDRESS = "169.254.170.2";

export interface TaskNetwork {
  taskId: string;
  /** Path of the namespace (`/var/run/netns/<name>`), for the runtime's spec. */
  netnsPath: string;
  netnsName: string;
  /** The task's private IPv4 address (ENI `privateIPv4Address`). */
  ip: string;
  mac: string;
  /** The bridge address: the task's default route and where the host is reachable. */
  gateway: string;
  /** Prefix length of the task subnet (16). */
  prefixLength: number;
  /** The /etc/resolv.conf the task's containers get. */
  resolvConf: string;
}

export interface RedirectTarget {
  /** IPv4 literal on the host the task can reach (normally the gateway). */
  address: string;
  port: number;
}

export interface CreateTaskNetworkOptions {
  /** Where 169.254.170.2:80 inside the task goes; no redirect when absent. */
  credentialsEndpoint?: RedirectTarget;
}

export interface AwsvpcOptions {
  /** Directory for `allocations.json` (the data dir's `network/`). */
  stateDir: string;
  /**
   * Prefix of every name this instance creates: bridge `<prefix>br0`, namespaces `<prefix>-<task>`,
   * host veths `<prefix>h<slot>`. Letters and digits, 1–8 characters; default "lf".
   */
  prefix?: string;
  /** Tasks reach beyond the host through masquerade (default true); false adds no rule at all. */
  internet?: boolean;
  /** The host's resolv.conf text, read from /etc/resolv.conf when absent (tests pass their own). */
  hostResolvConf?: string;
  /** Where the servers of this host share their lock and forwarding markers (default /run/localfargate/network). */
  hostStateDir?: string;
  /** The forwarding switch (default /proc/sys/net/ipv4/ip_forward; tests pass a plain file). */
  ipForwardPath?: string;
}

/** What /_localfargate/health says about the tasks' reach beyond the host. */
export interface InternetHealth {
  internet: "on" | "off";
  /** The host nft table with the masquerade rule, once the bridge exists. */
  nftTable?: string;
  /** net.ipv4.ip_forward before the first localfargate server still running turned it on (a host-wide setting). */
  ipForwardBefore?: string;
  /** Other tables' forward chains whose drop policy still stops the tasks' outbound traffic. */
  forwardDroppedBy?: string[];
  dns: TaskDns;
}

export type NetworkProbe = { available: true; ip: string; nft: string; flock: string } | { available: false; reason: string };

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const PREFIX = /^[a-z][a-z0-9]{0,7}$/;
const NETNS_DIR = "/var/run/netns";

/** Whether this process can build task networks here, and why not when it cannot. */
export async function probeNetworking(): Promise<NetworkProbe> {
  if (process.platform !== "linux") return { available: false, reason: `awsvpc networking needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { available: false, reason: "awsvpc networking needs root (network namespaces, veth pairs, a bridge)" };
  const ip = await which("ip");
  if (!ip) return { available: false, reason: "the ip command (iproute2) is not on PATH" };
  const nft = await which("nft");
  if (!nft) return { available: false, reason: "the nft command (nftables) is not on PATH" };
  const flock = await which("flock");
  if (!flock) return { available: false, reason: "the flock command (util-linux) is not on PATH" };
  const r = await runProgram(ip, ["netns", "list"], { timeoutMs: 10_000 }).catch((e: Error) => ({ code: 1, output: e.message }));
  if (r.code !== 0) return { available: false, reason: `ip netns does not work here: ${r.output.trim()}` };
  return { available: true, ip, nft, flock };
}

export class NetworkingUnavailableError extends Error {}

interface RouteJson {
  dst?: string;
  dev?: string;
}

export class AwsvpcNetworking {
  readonly prefix: string;
  readonly bridge: string;
  private subnet: Ipv4Prefix | undefined;
  private allocator: AddressAllocator | undefined;
  /** Serializes every change, so concurrent creates never race for a slot or the bridge. */
  private queue: Promise<unknown> = Promise.resolve();
  readonly internet: boolean;
  /** The host nft table with this instance's masquerade and forward rules. */
  readonly hostTable: string;
  private outboundInstalled = false;
  private ipForwardBefore: string | undefined;
  private forwardDroppedBy: string[] = [];
  private readonly resolv: { content: string; dns: TaskDns };
  private readonly host: HostNetworkState;

  private constructor(
    private readonly opts: AwsvpcOptions,
    private readonly ipCmd: string,
    private readonly nftCmd: string,
    flock: string,
    hostResolvConf: string | undefined,
  ) {
    this.prefix = opts.prefix ?? "lf";
    this.bridge = `${this.prefix}br0`;
    this.internet = opts.internet ?? true;
    this.hostTable = hostTableName(this.prefix);
    this.resolv = taskResolvConf(hostResolvConf, this.internet);
    this.host = new HostNetworkState({ dir: opts.hostStateDir, flock, ipForwardPath: opts.ipForwardPath });
  }

  describeInternet(): InternetHealth {
    if (!this.internet) return { internet: "off", dns: this.resolv.dns };
    return {
      internet: "on",
      ...(this.outboundInstalled ? { nftTable: `ip ${this.hostTable}` } : {}),
      ...(this.ipForwardBefore !== undefined ? { ipForwardBefore: this.ipForwardBefore } : {}),
      ...(this.forwardDroppedBy.length ? { forwardDroppedBy: this.forwardDroppedBy } : {}),
      dns: this.resolv.dns,
    };
  }

  /** Refuses with the probe's reason where networking is unavailable. */
  static async create(opts: AwsvpcOptions): Promise<AwsvpcNetworking> {
    if (opts.prefix !== undefined && !PREFIX.test(opts.prefix)) throw new Error(`Invalid network name prefix ${JSON.stringify(opts.prefix)}`);
    const probe = await probeNetworking();
    if (!probe.available) throw new NetworkingUnavailableError(probe.reason);
    const hostResolvConf = opts.hostResolvConf ?? (await readFile("/etc/resolv.conf", "utf8").catch(() => undefined));
    return new AwsvpcNetworking(opts, probe.ip, probe.nft, probe.flock, hostResolvConf);
  }

  netnsName(taskId: string): string {
    return `${this.prefix}-${taskId}`;
  }

  /** The bridge subnet once chosen ("10.89.0.0/16"). */
  get subnetCidr(): string | undefined {
    return this.subnet && formatPrefix(this.subnet);
  }

  /**
   * The bridge's address on the host (made with the bridge when there is none yet): where a
   * listener for the tasks' namespaces binds before their networks redirect to it.
   */
  gatewayAddress(): Promise<{ address: string; prefixLength: number }> {
    return this.serial(async () => {
      const subnet = await this.ensureBridge(await this.loadAllocator());
      return { address: formatIpv4(gatewayOf(subnet)), prefixLength: subnet.length };
    });
  }

  createTaskNetwork(taskId: string, options: CreateTaskNetworkOptions = {}): Promise<TaskNetwork> {
    return this.serial(() => this.createLocked(taskId, options));
  }

  /** Remove the task's namespace (and with it its veth pair and nft rules); idempotent. */
  destroyTaskNetwork(taskId: string): Promise<void> {
    return this.serial(async () => {
      const alloc = await this.loadAllocator();
      const a = alloc.get(taskId);
      if (!a) return;
      await this.removeNamespace(a);
      await alloc.release(taskId);
    });
  }

  /**
   * At start: remove every namespace and host veth a previous run left (recorded in the allocator
   * or merely carrying this prefix), and release their addresses. An address whose namespace
   * cannot be removed stays allocated. Returns the names removed.
   */
  cleanupLeftovers(): Promise<string[]> {
    return this.serial(async () => {
      const alloc = await this.loadAllocator();
      const removed: string[] = [];
      const failures: string[] = [];
      for (const [taskId, a] of alloc.entries()) {
        try {
          await this.removeNamespace(a);
          await alloc.release(taskId);
          removed.push(a.netns);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
      for (const ns of await this.listNamespaces()) {
        if (!ns.startsWith(`${this.prefix}-`)) continue;
        const r = await this.ip(["netns", "del", ns]);
        if (r.code === 0) removed.push(ns);
        else failures.push(`ip netns del ${ns}: ${r.output.trim()}`);
      }
      for (const link of await this.listHostVeths()) {
        const r = await this.ip(["link", "del", link]);
        if (r.code === 0) removed.push(link);
        else failures.push(`ip link del ${link}: ${r.output.trim()}`);
      }
      try {
        await removeOutbound(this.nftCmd, this.hostTable);
        this.outboundInstalled = false;
      } catch (e) {
        failures.push((e as Error).message);
      }
      // Where earlier versions kept the forwarding value per data dir; it is host-wide now.
      await rm(join(this.opts.stateDir, "ip_forward.before"), { force: true });
      if (failures.length) console.error(`[localfargate] task network leftovers not removed: ${failures.join("; ")}`);
      return removed;
    });
  }

  /** Remove every task network of this instance and the bridge (server shutdown, tests). */
  async close(): Promise<void> {
    await this.cleanupLeftovers();
    await this.serial(async () => {
      if (await this.linkExists(this.bridge)) await this.must(["link", "del", this.bridge]);
      this.subnet = undefined;
      if (this.internet) await this.host.releaseForwarding(this.prefix);
      this.ipForwardBefore = undefined;
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async loadAllocator(): Promise<AddressAllocator> {
    this.allocator ??= await AddressAllocator.open(join(this.opts.stateDir, "allocations.json"));
    return this.allocator;
  }

  private async createLocked(taskId: string, options: CreateTaskNetworkOptions): Promise<TaskNetwork> {
    if (!TASK_ID.test(taskId)) throw new Error(`Invalid task id for a network namespace: ${JSON.stringify(taskId)}`);
    const target = options.credentialsEndpoint && validateTarget(options.credentialsEndpoint);
    const alloc = await this.loadAllocator();
    if (alloc.get(taskId)) throw new Error(`Task ${taskId} already has a network`);
    const subnet = await this.ensureBridge(alloc);
    const a = await alloc.allocate(taskId, (slot) => ({ netns: this.netnsName(taskId), hostVeth: `${this.prefix}h${slot.toString(16)}` }));
    const address = taskAddress(subnet, a.slot);
    const ip = formatIpv4(address);
    const gateway = formatIpv4(gatewayOf(subnet));
    const mac = macFor(address);
    try {
      await this.must(["netns", "add", a.netns]);
      await this.must(["link", "add", a.hostVeth, "type", "veth", "peer", "name", "eth0", "address", mac, "netns", a.netns]);
      await this.must(["link", "set", a.hostVeth, "master", this.bridge, "up"]);
      await this.must(["-n", a.netns, "addr", "add", `${ip}/${subnet.length}`, "dev", "eth0"]);
      await this.must(["-n", a.netns, "link", "set", "lo", "up"]);
      await this.must(["-n", a.netns, "link", "set", "eth0", "up"]);
      await this.must(["-n", a.netns, "route", "add", "default", "via", gateway]);
      if (target) await this.installRedirect(a.netns, target);
    } catch (e) {
      await this.removeNamespace(a).catch(() => undefined);
      await alloc.release(taskId).catch(() => undefined);
      throw e;
    }
    return {
      taskId,
      netnsName: a.netns,
      netnsPath: join(NETNS_DIR, a.netns),
      ip,
      mac,
      gateway,
      prefixLength: subnet.length,
      resolvConf: this.resolv.content,
    };
  }

  /**
   * Forwarding on (host-wide, as every container engine does, counted among the host's servers so
   * the last one to stop restores it), then the masquerade table.
   */
  private async ensureOutbound(subnet: Ipv4Prefix): Promise<void> {
    if (!this.internet || this.outboundInstalled) return;
    this.ipForwardBefore = await this.host.acquireForwarding(this.prefix);
    await installOutbound(this.nftCmd, this.hostTable, this.bridge, formatPrefix(subnet));
    this.outboundInstalled = true;
    this.forwardDroppedBy = await droppingForwardChains(this.nftCmd, this.hostTable);
    if (this.forwardDroppedBy.length) {
      console.error(`[localfargate] the host's forward chain(s) ${this.forwardDroppedBy.join(", ")} drop by default: tasks may not reach beyond this host`);
    }
  }

  /** The nft table lives in the task's namespace only: the host's rule set is never touched. */
  private async installRedirect(netns: string, target: RedirectTarget): Promise<void> {
    const rules =
      `table ip localfargate {\n` +
      `  chain output {\n` +
      `    type nat hook output priority -100;\n` +
      `    ip daddr ${CREDENTIALS_ENDPOINT_ADDRESS} tcp dport 80 dnat to ${target.address}:${target.port}\n` +
      `  }\n` +
      `}\n`;
    const r = await runProgram(this.ipCmd, ["netns", "exec", netns, this.nftCmd, "-f", "-"], {
      stdin: Buffer.from(rules),
      timeoutMs: 10_000,
    });
    if (r.code !== 0) throw new Error(`nft in ${netns}: ${r.output.trim() || `exit ${r.code ?? r.signal}`}`);
  }

  /** Create (or adopt) the bridge; choose its subnet when it has none yet. */
  private async ensureBridge(alloc: AddressAllocator): Promise<Ipv4Prefix> {
    const subnet = await this.ensureBridgeLink(alloc);
    await this.ensureOutbound(subnet);
    return subnet;
  }

  private async ensureBridgeLink(alloc: AddressAllocator): Promise<Ipv4Prefix> {
    if (this.subnet && (await this.linkExists(this.bridge))) return this.subnet;
    // a bridge made or adopted anew gets its masquerade rule again
    this.outboundInstalled = false;
    // Reading the host's routes and adding the bridge address are one step for every server of
    // the host: two servers starting together would otherwise both take the first free /16.
    this.subnet = await this.host.exclusive(() => this.chooseAndAddress(alloc));
    if (alloc.subnet !== formatPrefix(this.subnet)) {
      if (alloc.entries().length) throw new Error(`Task network addresses of ${alloc.subnet} are still held; bridge ${this.bridge} is on ${formatPrefix(this.subnet)}`);
      await alloc.setSubnet(formatPrefix(this.subnet));
    }
    return this.subnet;
  }

  /** The bridge's subnet: its own where it has one, else a /16 no route of the host overlaps, addressed and up. */
  private async chooseAndAddress(alloc: AddressAllocator): Promise<Ipv4Prefix> {
    const routes = await this.routes();
    const own = routes.filter((r) => r.dev === this.bridge).map((r) => parsePrefix(r.dst ?? ""));
    const existing = own.find((p): p is Ipv4Prefix => p !== undefined && p.length === 16);
    const preferred = alloc.subnet ? parsePrefix(alloc.subnet) : undefined;
    if (existing && (await this.linkExists(this.bridge))) return existing;
    const inUse = routes
      .filter((r) => r.dev !== this.bridge && r.dst !== undefined && r.dst !== "default")
      .map((r) => parsePrefix(r.dst!))
      .filter((p): p is Ipv4Prefix => p !== undefined);
    const subnet = chooseSubnet(inUse, preferred);
    if (!subnet) throw new Error("No private /16 is free of the host's routes for the task bridge");
    if (!(await this.linkExists(this.bridge))) await this.must(["link", "add", this.bridge, "type", "bridge"]);
    await this.must(["addr", "add", `${formatIpv4(gatewayOf(subnet))}/16`, "dev", this.bridge]);
    // up before the lock goes: the next server must see the subnet's route
    await this.must(["link", "set", this.bridge, "up"]);
    return subnet;
  }

  private async removeNamespace(a: Allocation): Promise<void> {
    if ((await this.listNamespaces()).includes(a.netns)) await this.must(["netns", "del", a.netns]);
    // Deleting the namespace deletes the pair, a moment later; a host end still there is removed.
    if (await this.linkExists(a.hostVeth)) {
      const r = await this.ip(["link", "del", a.hostVeth]);
      if (r.code !== 0 && (await this.linkExists(a.hostVeth))) throw new Error(`ip link del ${a.hostVeth}: ${r.output.trim()}`);
    }
  }

  private async routes(): Promise<RouteJson[]> {
    const r = await this.must(["-j", "-4", "route", "show", "table", "all"]);
    return JSON.parse(r || "[]") as RouteJson[];
  }

  private async listNamespaces(): Promise<string[]> {
    const out = await this.must(["netns", "list"]);
    return out
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0] ?? "")
      .filter(Boolean);
  }

  /** Host links named `<prefix>h<hex>`: this instance's veth ends. */
  private async listHostVeths(): Promise<string[]> {
    const links = JSON.parse((await this.must(["-j", "link", "show"])) || "[]") as { ifname?: string }[];
    const own = new RegExp(`^${this.prefix}h[0-9a-f]{1,4}$`);
    return links.map((l) => l.ifname ?? "").filter((n) => own.test(n));
  }

  private async linkExists(name: string): Promise<boolean> {
    return (await this.ip(["link", "show", "dev", name])).code === 0;
  }

  private ip(args: string[]) {
    return runProgram(this.ipCmd, args, { timeoutMs: 10_000 });
  }

  /** Run `ip`, returning its output; throws with the output when it fails. */
  private async must(args: string[]): Promise<string> {
    const r = await this.ip(args);
    if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.output.trim() || `exit ${r.code ?? r.signal}`}`);
    return r.output;
  }
}

function validateTarget(t: RedirectTarget): RedirectTarget {
  if (parseIpv4(t.address) === undefined) throw new Error(`Credentials endpoint target ${JSON.stringify(t.address)} is not an IPv4 address`);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new Error(`Credentials endpoint port ${t.port} is out of range`);
  return t;
}
