/** IPv4/IPv6 CIDR matching for IpAddress / NotIpAddress. */
import { isIPv4, isIPv6 } from "node:net";

function v4(ip: string): bigint {
  return ip.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6(ip: string): bigint {
  let s = ip;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4tail) {
    const n = v4(v4tail[1]);
    s = s.slice(0, -v4tail[1].length) + ((n >> 16n) & 0xffffn).toString(16) + ":" + (n & 0xffffn).toString(16);
  }
  const [head, tail] = s.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined ? (tail ? tail.split(":") : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || "0", 16)), 0n);
}

/** Parses "a.b.c.d[/n]" or an IPv6 CIDR; undefined when invalid. */
export function parseCidr(cidr: string): { family: 4 | 6; base: bigint; bits: number } | undefined {
  const [ip, len] = cidr.trim().split("/");
  const family = isIPv4(ip) ? 4 : isIPv6(ip) ? 6 : 0;
  if (!family) return undefined;
  const max = family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  return { family, base: family === 4 ? v4(ip) : v6(ip), bits };
}

export function ipInCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  let addr = ip.trim();
  if (addr.startsWith("::ffff:") && isIPv4(addr.slice(7))) addr = addr.slice(7);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : 0;
  if (!c || family !== c.family) return false;
  const max = c.family === 4 ? 32 : 128;
  const shift = BigInt(max - c.bits);
  const value = family === 4 ? v4(addr) : v6(addr);
  return value >> shift === c.base >> shift;
}
