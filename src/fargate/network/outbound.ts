/**
 * Outbound access for task networks (docs/ecs-fargate.md#internet-access-from-tasks): IPv4
 * forwarding on, and one nft table on the host, named after the instance's prefix, that
 * masquerades the task subnet's traffic leaving through any interface but the bridge and
 * accepts the bridge's forwarded traffic. The table is this instance's alone and removed whole.
 * DNS: tasks get the host's nameservers, except loopback ones, which a namespace cannot reach.
 */
import { readFile, writeFile } from "node:fs/promises";
import { runProgram } from "../storage/system.ts";

export const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
/** Every host table of every localfargate instance starts with this. */
const TABLE_PREFIX = "localfargate_";

export function hostTableName(prefix: string): string {
  return `${TABLE_PREFIX}${prefix}`;
}

export function outboundRules(table: string, bridge: string, subnetCidr: string): string {
  // `add` then `delete` makes replacing the table idempotent in one atomic transaction.
  return (
    `add table ip ${table}\n` +
    `delete table ip ${table}\n` +
    `table ip ${table} {\n` +
    `  chain postrouting {\n` +
    `    type nat hook postrouting priority srcnat; policy accept;\n` +
    `    ip saddr ${subnetCidr} oifname != "${bridge}" masquerade\n` +
    `  }\n` +
    `  chain forward {\n` +
    `    type filter hook forward priority filter; policy accept;\n` +
    `    iifname "${bridge}" accept\n` +
    `    oifname "${bridge}" ct state established,related accept\n` +
    `  }\n` +
    `}\n`
  );
}

async function nft(nftCmd: string, args: string[], stdin?: string): Promise<string> {
  const r = await runProgram(nftCmd, args, { timeoutMs: 10_000, ...(stdin !== undefined ? { stdin: Buffer.from(stdin) } : {}) });
  if (r.code !== 0) throw new Error(`nft ${args.join(" ")}: ${r.output.trim() || `exit ${r.code ?? r.signal}`}`);
  return r.output;
}

export async function readIpForwarding(path = IP_FORWARD): Promise<string> {
  return (await readFile(path, "utf8")).trim();
}

export async function writeIpForwarding(value: "0" | "1", path = IP_FORWARD): Promise<void> {
  await writeFile(path, `${value}\n`);
}

export async function installOutbound(nftCmd: string, table: string, bridge: string, subnetCidr: string): Promise<void> {
  await nft(nftCmd, ["-f", "-"], outboundRules(table, bridge, subnetCidr));
}

export async function listHostTables(nftCmd: string): Promise<string[]> {
  const out = await nft(nftCmd, ["list", "tables", "ip"]);
  return out
    .split("\n")
    .map((l) => /^table ip (\S+)$/.exec(l.trim())?.[1])
    .filter((n): n is string => n !== undefined);
}

export async function removeOutbound(nftCmd: string, table: string): Promise<void> {
  if ((await listHostTables(nftCmd)).includes(table)) await nft(nftCmd, ["delete", "table", "ip", table]);
}

interface ChainJson {
  chain?: { family?: string; table?: string; name?: string; hook?: string; policy?: string };
}

/**
 * Forward-hook chains of other tables whose policy drops (a firewall, another engine): an
 * accept in our own table does not override their drop, so health names them.
 */
export async function droppingForwardChains(nftCmd: string, ownTable: string): Promise<string[]> {
  const parsed = JSON.parse((await nft(nftCmd, ["-j", "list", "chains"])) || "{}") as { nftables?: ChainJson[] };
  return (parsed.nftables ?? [])
    .map((e) => e.chain)
    .filter((c): c is NonNullable<ChainJson["chain"]> => c !== undefined && c.hook === "forward" && c.policy === "drop" && c.table !== ownTable)
    .map((c) => `${c.family} ${c.table} ${c.name}`);
}

export type TaskDns = { available: true; nameservers: string[] } | { available: false; reason: string };

function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === "::1";
}

/**
 * The resolv.conf a task gets from the host's: its nameservers that a namespace can reach (not
 * loopback) with its search and options lines; without any, a file that says why DNS is off.
 */
export function taskResolvConf(hostResolvConf: string | undefined, internet: boolean): { content: string; dns: TaskDns } {
  if (!internet) return unavailable("task internet access is off (LOCALFARGATE_TASK_INTERNET=off)");
  if (hostResolvConf === undefined) return unavailable("the host has no /etc/resolv.conf");
  const lines = hostResolvConf.split("\n").map((l) => l.trim());
  const nameservers = lines.map((l) => /^nameserver\s+(\S+)/.exec(l)?.[1]).filter((a): a is string => a !== undefined);
  const reachable = nameservers.filter((a) => !isLoopback(a));
  if (reachable.length === 0) {
    return unavailable(
      nameservers.length
        ? `the host resolves names through ${nameservers.join(", ")} on loopback, which a task's network namespace cannot reach`
        : "the host's /etc/resolv.conf names no nameserver",
    );
  }
  const other = lines.filter((l) => /^(search|domain|options)\s/.test(l));
  return { content: [...reachable.map((a) => `nameserver ${a}`), ...other].join("\n") + "\n", dns: { available: true, nameservers: reachable } };
}

function unavailable(reason: string): { content: string; dns: TaskDns } {
  return { content: `# localfargate: DNS is unavailable to tasks: ${reason}\n`, dns: { available: false, reason } };
}
