/**
 * Choosing how tasks run (docs/ecs-fargate.md, "Container runtime"): `crun` runs the task
 * definition's images as OCI containers; `host` runs each container's command as a host process
 * (no image). `auto` takes crun when this machine has everything it needs (Linux, root, crun,
 * skopeo, umoci, network namespaces with iproute2 and nftables) and otherwise host, saying why.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { unmountAndRemove } from "../storage/system.ts";
import { ImageStore } from "../images/store.ts";
import { detectImageTools } from "../images/tools.ts";
import { AwsvpcNetworking, probeNetworking, type InternetHealth } from "../network/index.ts";
import { TaskIdRangePool } from "../task-users.ts";
import { Crun, detectCrun, type HostLimits } from "./crun.ts";
import { taskStateDir } from "./oci-launcher.ts";

export type ContainerRuntimeName = "auto" | "crun" | "host";

export interface OciRuntime {
  kind: "crun";
  crun: Crun;
  images: ImageStore;
  network: AwsvpcNetworking;
  idRanges: TaskIdRangePool;
  /** where crun reaches the tasks' root file systems (oci-launcher.ts) */
  bundlesDir: string;
}

export type ContainerRuntime = OciRuntime | { kind: "host"; reason: string };

/** What /_localfargate/health says about the runtime. */
export interface RuntimeHealth {
  runtime: "crun" | "host";
  reason: string;
  /** crun only: which of a task definition's limits this host enforces, and why (not) */
  limits?: HostLimits;
  cgroups?: string;
  network?: { bridge: string; outbound: InternetHealth };
}

/** The reason crun cannot be used here, or undefined when it can. */
async function missing(): Promise<{ reason: string } | { crun: Awaited<ReturnType<typeof detectCrun>> & { available: true } }> {
  const crun = await detectCrun();
  if (!crun.available) return { reason: crun.reason };
  const tools = detectImageTools();
  if (!tools.skopeo) return { reason: "skopeo is not installed (apt-get install skopeo): images cannot be loaded" };
  if (!tools.umoci) return { reason: "umoci is not installed (apt-get install umoci): images cannot be unpacked" };
  const net = await probeNetworking();
  if (!net.available) return { reason: net.reason };
  return { crun };
}

/**
 * The names this server gives its bridge, namespaces and veths: one prefix per data dir, so two
 * servers on one machine never touch each other's task networks.
 */
export function networkPrefix(dataDir: string): string {
  return "lf" + createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 6);
}

/**
 * The runtime for `choice`; throws when crun is asked for explicitly and cannot be used here.
 * `dataDir` holds the image store, crun's state and the network's address allocations.
 */
export async function chooseContainerRuntime(
  choice: ContainerRuntimeName,
  dataDir: string,
  images: () => ImageStore,
  options: { internet?: boolean } = {},
): Promise<ContainerRuntime> {
  if (choice === "host") return { kind: "host", reason: "chosen with --container-runtime host" };
  const found = await missing();
  if ("reason" in found) {
    if (choice === "crun") throw new Error(`Container runtime 'crun' is not available: ${found.reason}`);
    return { kind: "host", reason: found.reason };
  }
  const bundlesDir = join(existsSync("/run") ? "/run" : tmpdir(), "localfargate", networkPrefix(dataDir));
  const stateDir = join(dataDir, "crun");
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const crun = new Crun(found.crun.host, stateDir);
  // Containers an earlier run of this server left (a crash): their tasks are stopped by now. Each
  // task's crun state is on its volume, reached through its bind mount under bundlesDir.
  const taskDirs = existsSync(bundlesDir) ? readdirSync(bundlesDir).map((taskId) => taskStateDir(bundlesDir, taskId)) : [];
  for (const c of [crun, ...taskDirs.filter((d) => existsSync(d)).map((d) => crun.withStateDir(d))]) {
    for (const id of await c.list().catch(() => [])) await c.delete(id).catch((e: Error) => console.error(`[localfargate] container ${id} not removed: ${e.message}`));
  }
  await unmountAndRemove(bundlesDir);
  for (const dir of [dirname(bundlesDir), bundlesDir]) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    chmodSync(dir, 0o711);
  }
  const network = await AwsvpcNetworking.create({ stateDir: join(dataDir, "network"), prefix: networkPrefix(dataDir), internet: options.internet ?? true });
  await network.cleanupLeftovers();
  return { kind: "crun", crun, images: images(), network, idRanges: new TaskIdRangePool(), bundlesDir };
}

export function describeRuntime(rt: ContainerRuntime, choice: ContainerRuntimeName): RuntimeHealth {
  if (rt.kind === "host") return { runtime: "host", reason: rt.reason };
  const network = rt.network;
  return {
    runtime: "crun",
    reason: choice === "crun" ? "chosen with --container-runtime crun" : "crun, skopeo, umoci, root and network namespaces are available",
    limits: rt.crun.host.limits,
    cgroups: rt.crun.host.cgroupMode + (rt.crun.host.hybridWorkaround ? " (hybrid: crun runs with /sys/fs/cgroup/unified hidden)" : ""),
    network: {
      bridge: rt.network.bridge,
      // a getter: the table and the forwarding value exist once the first task made the bridge
      get outbound() {
        return network.describeInternet();
      },
    },
  };
}

export { ImageStore };
