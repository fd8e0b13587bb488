/**
 * IPv4 / IPv6 addresses and CIDR blocks for IpAddress / NotIpAddress. A CIDR is parsed once at
 * compile time into a matcher; the request address is parsed per test (IPv4 without BigInt).
 * An IPv4-mapped IPv6 request address (`::ffff:192.0.2.1`, what Node reports for IPv4 clients on
 * a dual-stack socket) is matched as the IPv4 address it carries.
 */
import { isIPv6 } from "node:net";

export type ParsedIp = { v: 4; n: number } | { v: 6; g: Uint16Array };

function parseV4(s: string): number | undefined {
  let n = 0;
  let parts = 0;
  let cur = -1;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (cur < 0 || cur > 255) return undefined;
      n = n * 256 + cur;
      parts++;
      cur = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && cur === 0) return undefined; // no leading zeros
      cur = (cur < 0 ? 0 : cur * 10) + (c - 48);
      if (++digits > 3) return undefined;
    } else return undefined;
  }
  return parts === 4 ? n : undefined;
}

function parseV6(s: string): Uint16Array | undefined {
  const zone = s.indexOf("%");
  const addr = zone >= 0 ? s.slice(0, zone) : s;
  if (!isIPv6(addr)) return undefined;
  let head = addr;
  const tail: number[] = [];
  const lastColon = addr.lastIndexOf(":");
  const maybeV4 = addr.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const v4 = parseV4(maybeV4);
    if (v4 === undefined) return undefined;
    tail.push(Math.floor(v4 / 65536), v4 % 65536);
    head = addr.slice(0, lastColon + 1);
    // keep a trailing "::" (e.g. "::1.2.3.4"); drop a single trailing ":" ("::ffff:1.2.3.4")
    if (!head.endsWith("::")) head = head.slice(0, -1);
  }
  const groups = new Uint16Array(8);
  const dbl = head.indexOf("::");
  const toNums = (x: string) => (x ? x.split(":").map((g) => parseInt(g, 16)) : []);
  let nums: number[];
  if (dbl >= 0) {
    const left = toNums(head.slice(0, dbl));
    const right = [...toNums(head.slice(dbl + 2)), ...tail];
    const fill = 8 - left.length - right.length;
    if (fill < 0) return undefined;
    nums = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    nums = [...toNums(head), ...tail];
  }
  if (nums.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) groups[i] = nums[i];
  return groups;
}

export function parseIp(s: string): ParsedIp | undefined {
  const t = s.trim();
  const v4 = parseV4(t);
  if (v4 !== undefined) return { v: 4, n: v4 };
  const g = parseV6(t);
  if (!g) return undefined;
  // IPv4-mapped (::ffff:a.b.c.d) → the IPv4 address
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return { v: 4, n: g[6] * 65536 + g[7] };
  return { v: 6, g };
}

/** Compiles "a.b.c.d[/n]" or an IPv6 CIDR into a matcher; undefined when it is not valid. */
export function compileCidr(cidr: string): ((ip: ParsedIp) => boolean) | undefined {
  const t = cidr.trim();
  const slash = t.indexOf("/");
  const addr = slash >= 0 ? t.slice(0, slash) : t;
  const lenText = slash >= 0 ? t.slice(slash + 1) : undefined;
  const v4 = parseV4(addr);
  const family = v4 !== undefined ? 4 : parseV6(addr) ? 6 : 0;
  if (!family) return undefined;
  const max = family === 4 ? 32 : 128;
  if (lenText !== undefined && !/^\d{1,3}$/.test(lenText)) return undefined;
  const bits = lenText === undefined ? max : Number(lenText);
  if (bits > max) return undefined;
  if (family === 4) {
    const size = 2 ** (32 - bits);
    const base = Math.floor(v4! / size);
    return (ip) => ip.v === 4 && Math.floor(ip.n / size) === base;
  }
  const g = parseV6(addr)!;
  return (ip) => {
    if (ip.v !== 6) return false;
    let remaining = bits;
    for (let i = 0; i < 8 && remaining > 0; i++) {
      const take = Math.min(16, remaining);
      const shift = 16 - take;
      if (ip.g[i] >> shift !== g[i] >> shift) return false;
      remaining -= take;
    }
    return true;
  };
}
