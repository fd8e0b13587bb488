/**
 * Writes a task's real network (awsvpc, src/fargate/network) into its record: the ENI
 * attachment's details, each container's network interface and the metadata endpoint's fields
 * show the address the task's namespace actually has.
 */
import type { FargateTask } from "./port.ts";
import type { TaskNetwork } from "./network/index.ts";

export function applyTaskNetwork(t: FargateTask, net: Pick<TaskNetwork, "ip" | "mac">): void {
  t.privateIp = net.ip;
  t.macAddress = net.mac;
  const values: Record<string, string> = {
    privateIPv4Address: net.ip,
    macAddress: net.mac,
    privateDnsName: `ip-${net.ip.replace(/\./g, "-")}.ec2.internal`,
  };
  for (const a of t.task.attachments ?? []) {
    if (a.type !== "ElasticNetworkInterface") continue;
    for (const d of a.details ?? []) if (d.name !== undefined && d.name in values) d.value = values[d.name];
  }
  for (const c of t.task.containers ?? []) for (const ni of c.networkInterfaces ?? []) ni.privateIpv4Address = net.ip;
}
