/**
 * Where an OIDC issuer's documents may be fetched from, by the address a host name resolves to
 * (docs/iam-sts.md#where-issuer-documents-are-fetched-from). An address is
 *   - "loopback": 127.0.0.0/8 and ::1 (and their IPv4-mapped forms), this machine;
 *   - "internal": anything a server on the public internet could not be: private (RFC 1918),
 *     shared (100.64.0.0/10), link-local (169.254.0.0/16, where tasks reach 169.254.170.2, and
 *     fe80::/10), unique-local (fc00::/7), unspecified, multicast, reserved and documentation ranges;
 *   - "public": everything else.
 * IPv6 forms that carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d,
 * NAT64 64:ff9b::/96 and 6to4 2002::/16) are judged by the IPv4 address they carry.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net";

export type AddressKind = "loopback" | "internal" | "public";

const INTERNAL_V4: [string, number][] = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
];
const INTERNAL_V6: [string, number][] = [
  ["::", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10],
  ["ff00::", 8],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
];

const internal = new BlockList();
for (const [a, p] of INTERNAL_V4) internal.addSubnet(a, p, "ipv4");
for (const [a, p] of INTERNAL_V6) internal.addSubnet(a, p, "ipv6");

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or undefined when it is not one. */
export function ipv6Groups(ip: string): number[] | undefined {
  const bare = ip.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!isIPv6(bare)) return undefined;
  let text = bare;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = dotted[1].split(".").map(Number);
    text = `${text.slice(0, dotted.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const parse = (s: string | undefined) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.length === 8 ? groups : undefined;
}

const v4From = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/** The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIPv4(groups: number[]): string | undefined {
  const zeros = (n: number) => groups.slice(0, n).every((g) => g === 0);
  if (zeros(5) && groups[5] === 0xffff) return v4From(groups[6], groups[7]);
  // ::a.b.c.d (not :: and not ::1, which are IPv6's own)
  if (zeros(6) && (groups[6] !== 0 || groups[7] > 1)) return v4From(groups[6], groups[7]);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return v4From(groups[6], groups[7]);
  if (groups[0] === 0x2002) return v4From(groups[1], groups[2]);
  return undefined;
}

/** What kind of address `ip` is; a string that is no IP address at all counts as internal. */
export function addressKind(ip: string): AddressKind {
  const bare = ip.replace(/^\[|\]$/g, "");
  if (isIPv4(bare)) {
    if (bare.startsWith("127.")) return "loopback";
    return internal.check(bare, "ipv4") ? "internal" : "public";
  }
  const groups = ipv6Groups(bare);
  if (!groups) return "internal";
  const v4 = embeddedIPv4(groups);
  if (v4 !== undefined) return addressKind(v4);
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "loopback";
  const canonical = groups.map((g) => g.toString(16)).join(":");
  return internal.check(canonical, "ipv6") ? "internal" : "public";
}
