/**
 * Pure IPv4 arithmetic for awsvpc networking: choosing a private /16 for the host bridge that
 * does not overlap any route the host already has, and the addresses inside it (gateway, task
 * addresses, MACs). No system calls here, so all of it is unit-tested anywhere.
 */

export interface Ipv4Prefix {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  length: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as a number, or undefined when it is not a dotted-quad IPv4 literal. */
export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

/** "10.89.0.0/16" or a bare address (a /32); undefined for anything else ("default", IPv6). */
export function parsePrefix(text: string): Ipv4Prefix | undefined {
  const [addr, len, ...rest] = text.split("/");
  if (rest.length || addr === undefined) return undefined;
  const n = parseIpv4(addr);
  const length = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (n === undefined || !(length >= 0 && length <= 32)) return undefined;
  return { base: (n & mask(length)) >>> 0, length };
}

export function formatPrefix(p: Ipv4Prefix): string {
  return `${formatIpv4(p.base)}/${p.length}`;
}

export function overlaps(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  const shorter = Math.min(a.length, b.length);
  return (a.base & mask(shorter)) >>> 0 === (b.base & mask(shorter)) >>> 0;
}

/**
 * The /16s the bridge may use, in order of preference: 10.89.0.0/16 first (as in the docs), then
 * the rest of 10.0.0.0/8 from 10.90 upwards, then 172.16–31. 192.168.0.0/16 and 169.254.0.0/16
 * are never used (home networks and link-local, where the credentials endpoint lives).
 */
export function candidateSubnets(): Ipv4Prefix[] {
  const out: Ipv4Prefix[] = [];
  const second = [89, ...Array.from({ length: 255 - 90 + 1 }, (_, i) => 90 + i), ...Array.from({ length: 89 - 1 }, (_, i) => 1 + i)];
  for (const b of second) out.push({ base: ((10 << 24) | (b << 16)) >>> 0, length: 16 });
  for (let b = 16; b <= 31; b++) out.push({ base: ((172 << 24) | (b << 16)) >>> 0, length: 16 });
  return out;
}

/**
 * The first candidate /16 that overlaps none of the routes in use. `preferred` (the subnet a
 * previous run persisted) wins when it is still free, so task addresses stay stable.
 */
export function chooseSubnet(inUse: Ipv4Prefix[], preferred?: Ipv4Prefix): Ipv4Prefix | undefined {
  const free = (c: Ipv4Prefix) => !inUse.some((r) => overlaps(c, r));
  if (preferred && preferred.length === 16 && free(preferred)) return preferred;
  return candidateSubnets().find(free);
}

/** The bridge (gateway) address: the first host of the subnet, x.y.0.1. */
export function gatewayOf(subnet: Ipv4Prefix): number {
  return subnet.base + 1;
}

/** Task addresses are x.y.0.2 … x.y.255.254: slot 0 is x.y.0.2. */
export const TASK_SLOTS = 65_533;

export function taskAddress(subnet: Ipv4Prefix, slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= TASK_SLOTS) throw new RangeError(`no task address slot ${slot}`);
  return subnet.base + 2 + slot;
}

/**
 * A locally administered unicast MAC derived from the task's address (02:4c:46 = "LF", then the
 * last three octets), so the address and MAC of a task never disagree.
 */
export function macFor(address: number): string {
  const bytes = [0x02, 0x4c, 0x46, (address >>> 16) & 255, (address >>> 8) & 255, address & 255];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}
