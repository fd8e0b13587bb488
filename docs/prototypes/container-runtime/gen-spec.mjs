// Writes an OCI runtime config.json for an image config + task-definition overrides.
// usage: node gen-spec.mjs IMAGE_CONFIG.json BUNDLE_DIR ROOTFS NETNS_PATH [overrides.json]
import { readFileSync, writeFileSync } from "node:fs";
const [imgCfgPath, bundle, rootfs, netns, overridesPath] = process.argv.slice(2);
const img = JSON.parse(readFileSync(imgCfgPath, "utf8")).config ?? {};
const o = overridesPath ? JSON.parse(readFileSync(overridesPath, "utf8")) : {};
const HOST_BASE = o.hostUidBase ?? 200000; // container uid 0 -> HOST_BASE (user namespace)
// ECS rules: entryPoint overrides Entrypoint (and drops image Cmd unless command given); command overrides Cmd.
const entry = o.entryPoint ?? img.Entrypoint ?? [];
const cmd = o.command ?? (o.entryPoint ? [] : (img.Cmd ?? []));
const args = [...entry, ...cmd];
const env = new Map((img.Env ?? []).map((e) => [e.split("=")[0], e]));
for (const [k, v] of Object.entries(o.environment ?? {})) env.set(k, `${k}=${v}`);
if (!env.has("PATH")) env.set("PATH", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
const [uid, gid] = String(o.user ?? img.User ?? "0")
  .split(":")
  .map((x) => Number(x)); // names need /etc/passwd lookup in rootfs
// Fargate default nofile is 65535; without CAP_SYS_RESOURCE it cannot exceed our own hard limit.
const hardNofile = Number(readFileSync("/proc/self/limits", "utf8").match(/Max open files\s+\d+\s+(\d+)/)?.[1] ?? 65535);
const nofile = Math.min(65535, hardNofile);
const rlimits = [{ type: "RLIMIT_NOFILE", hard: nofile, soft: nofile }, ...(o.ulimits ?? [])];
const spec = {
  ociVersion: "1.0.2",
  process: {
    terminal: false,
    user: { uid: uid || 0, gid: gid ?? uid ?? 0 },
    args,
    env: [...env.values()],
    cwd: o.workingDirectory ?? (img.WorkingDir || "/"),
    capabilities: Object.fromEntries(
      ["bounding", "effective", "permitted"].map((k) => [
        k,
        [
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FSETID",
          "CAP_FOWNER",
          "CAP_MKNOD",
          "CAP_NET_RAW",
          "CAP_SETGID",
          "CAP_SETUID",
          "CAP_SETFCAP",
          "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE",
          "CAP_SYS_CHROOT",
          "CAP_KILL",
          "CAP_AUDIT_WRITE",
        ],
      ]),
    ),
    rlimits,
    noNewPrivileges: true,
  },
  root: { path: rootfs, readonly: !!o.readonlyRootFilesystem },
  hostname: o.hostname ?? "task",
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] },
    { destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] },
    ...(o.extraMounts ?? []),
  ],
  linux: {
    uidMappings: [{ containerID: 0, hostID: HOST_BASE, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: HOST_BASE, size: 65536 }],
    namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "user" }, { type: "cgroup" }, { type: "network", path: netns }],
    maskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    ...(o.resources ? { resources: o.resources } : {}),
    ...(o.cgroupsPath ? { cgroupsPath: o.cgroupsPath } : {}),
  },
};
if (o.noUserns) {
  spec.linux.namespaces = spec.linux.namespaces.filter((n) => n.type !== "user");
  delete spec.linux.uidMappings;
  delete spec.linux.gidMappings;
}
writeFileSync(`${bundle}/config.json`, JSON.stringify(spec, null, 2));
