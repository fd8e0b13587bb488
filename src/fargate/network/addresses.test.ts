import { describe, expect, it } from "vitest";
import { candidateSubnets, chooseSubnet, formatIpv4, formatPrefix, gatewayOf, macFor, overlaps, parseIpv4, parsePrefix, taskAddress, TASK_SLOTS } from "./addresses.ts";

const p = (s: string) => parsePrefix(s)!;

describe("awsvpc addresses", () => {
  it("parses and formats IPv4 addresses and prefixes, refusing malformed ones", () => {
    expect(formatIpv4(parseIpv4("10.89.0.1")!)).toBe("10.89.0.1");
    expect(formatIpv4(parseIpv4("255.255.255.255")!)).toBe("255.255.255.255");
    for (const bad of ["256.1.1.1", "1.2.3", "a.b.c.d", "1.2.3.4 ", "::1", ""]) expect(parseIpv4(bad)).toBeUndefined();
    expect(formatPrefix(p("10.89.7.9/16"))).toBe("10.89.0.0/16");
    expect(formatPrefix(p("192.0.2.2"))).toBe("192.0.2.2/32");
    for (const bad of ["default", "10.0.0.0/33", "10.0.0.0/x", "fe80::/64", "10.0.0.0/8/1"]) expect(parsePrefix(bad)).toBeUndefined();
  });

  it("detects overlaps in both directions", () => {
    expect(overlaps(p("10.89.0.0/16"), p("10.0.0.0/8"))).toBe(true);
    expect(overlaps(p("10.89.0.0/16"), p("10.89.3.4"))).toBe(true);
    expect(overlaps(p("10.89.0.0/16"), p("10.90.0.0/16"))).toBe(false);
    expect(overlaps(p("172.16.0.0/16"), p("172.16.0.0/12"))).toBe(true);
  });

  it("chooses 10.89.0.0/16 on a host without private routes", () => {
    expect(formatPrefix(chooseSubnet([p("192.0.2.0/24"), p("127.0.0.0/8")])!)).toBe("10.89.0.0/16");
  });

  it("skips every /16 a host route overlaps, and keeps a persisted subnet while it is free", () => {
    expect(formatPrefix(chooseSubnet([p("10.89.4.0/24")])!)).toBe("10.90.0.0/16");
    expect(formatPrefix(chooseSubnet([p("10.0.0.0/8")])!)).toBe("172.16.0.0/16");
    expect(chooseSubnet([p("10.0.0.0/8"), p("172.16.0.0/12")])).toBeUndefined();
    expect(formatPrefix(chooseSubnet([], p("10.123.0.0/16"))!)).toBe("10.123.0.0/16");
    expect(formatPrefix(chooseSubnet([p("10.123.0.0/17")], p("10.123.0.0/16"))!)).toBe("10.89.0.0/16");
  });

  it("never picks 192.168/16 or link-local (where the credentials endpoint lives)", () => {
    const candidates = candidateSubnets();
    expect(candidates.length).toBe(255 + 16);
    for (const c of candidates) {
      expect(overlaps(c, p("192.168.0.0/16"))).toBe(false);
      expect(overlaps(c, p("169.254.0.0/16"))).toBe(false);
    }
  });

  it("hands out x.y.0.2 … x.y.255.254 with the gateway at x.y.0.1 and a MAC derived from the address", () => {
    const s = p("10.89.0.0/16");
    expect(formatIpv4(gatewayOf(s))).toBe("10.89.0.1");
    expect(formatIpv4(taskAddress(s, 0))).toBe("10.89.0.2");
    expect(formatIpv4(taskAddress(s, 254))).toBe("10.89.1.0");
    expect(formatIpv4(taskAddress(s, TASK_SLOTS - 1))).toBe("10.89.255.254");
    expect(() => taskAddress(s, TASK_SLOTS)).toThrow(RangeError);
    expect(() => taskAddress(s, -1)).toThrow(RangeError);
    expect(macFor(taskAddress(s, 0))).toBe("02:4c:46:59:00:02");
  });
});
