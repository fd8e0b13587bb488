import { describe, expect, it } from "vitest";
import { outboundRules, taskResolvConf } from "./outbound.ts";

describe("taskResolvConf", () => {
  it("keeps the host's nameservers a namespace can reach, with search and options", () => {
    const host = "# generated\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\nnameserver 2001:db8::53\nsearch corp.example\noptions ndots:2\n";
    expect(taskResolvConf(host, true)).toEqual({
      content: "nameserver 10.255.255.53\nnameserver 2001:db8::53\nsearch corp.example\noptions ndots:2\n",
      dns: { available: true, nameservers: ["10.255.255.53", "2001:db8::53"] },
    });
  });

  it("says DNS is unavailable when the host resolves only through loopback (systemd-resolved)", () => {
    const r = taskResolvConf("nameserver 127.0.0.53\noptions edns0 trust-ad\n", true);
    expect(r.dns).toEqual({ available: false, reason: "the host resolves names through 127.0.0.53 on loopback, which a task's network namespace cannot reach" });
    expect(r.content).not.toMatch(/^nameserver/m);
    expect(r.content).toMatch(/^# localfargate: DNS is unavailable to tasks: /);
  });

  it("gives no nameserver without a host resolv.conf, with none in it, or with internet access off", () => {
    expect(taskResolvConf(undefined, true).dns).toEqual({ available: false, reason: "the host has no /etc/resolv.conf" });
    expect(taskResolvConf("search x\n", true).dns).toEqual({ available: false, reason: "the host's /etc/resolv.conf names no nameserver" });
    const off = taskResolvConf("nameserver 192.0.2.1\n", false);
    expect(off.dns.available).toBe(false);
    expect(off.content).not.toContain("192.0.2.1");
  });
});

describe("outboundRules", () => {
  it("masquerades only the task subnet leaving through another interface than the bridge, in one replaceable table", () => {
    const rules = outboundRules("localfargate_lfabc", "lfabcbr0", "10.89.0.0/16");
    expect(rules.startsWith("add table ip localfargate_lfabc\ndelete table ip localfargate_lfabc\n")).toBe(true);
    expect(rules).toContain('ip saddr 10.89.0.0/16 oifname != "lfabcbr0" masquerade');
    expect(rules).toContain('iifname "lfabcbr0" accept');
    expect(rules).toContain('oifname "lfabcbr0" ct state established,related accept');
  });
});
