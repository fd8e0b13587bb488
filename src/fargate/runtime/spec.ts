/**
 * One container of a task as an OCI runtime configuration (config.json, runtime-spec 1.0): the
 * image's config, the container definition and what the host allows, combined as ECS and Docker
 * combine them. Pure: the caller reads the image config, /etc/passwd and /etc/group of the rootfs
 * and the host's limits; nothing here touches the system. docs/ecs-fargate.md, "Container runtime".
 */

/** The parts of an OCI image config (`config` member) that decide how a container starts. */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
}

export type UlimitName = "core" | "cpu" | "data" | "fsize" | "locks" | "memlock" | "msgqueue" | "nice" | "nofile" | "nproc" | "rss" | "rtprio" | "rttime" | "sigpending" | "stack";

export const ULIMIT_NAMES: readonly UlimitName[] = [
  "core",
  "cpu",
  "data",
  "fsize",
  "locks",
  "memlock",
  "msgqueue",
  "nice",
  "nofile",
  "nproc",
  "rss",
  "rtprio",
  "rttime",
  "sigpending",
  "stack",
];

/** The container definition members this module applies (ECS's ContainerDefinition shape). */
export interface ContainerSettings {
  entryPoint?: string[];
  command?: string[];
  environment?: { name?: string; value?: string }[];
  workingDirectory?: string;
  user?: string;
  readonlyRootFilesystem?: boolean;
  ulimits?: { name?: string; softLimit?: number; hardLimit?: number }[];
  linuxParameters?: { initProcessEnabled?: boolean };
  /** CPU units (1024 = one vCPU): the container's relative share */
  cpu?: number;
  /** MiB: hard limit */
  memory?: number;
  /** MiB: soft limit */
  memoryReservation?: number;
}

/** Which cgroup controllers the runtime can apply on this host (crun.ts: `hostLimits`). */
export interface EnforceableLimits {
  memory: boolean;
  cpu: boolean;
  pids: boolean;
}

export interface BindMount {
  source: string;
  destination: string;
  readonly?: boolean;
}

export interface SpecInput {
  image: ImageConfig;
  container: ContainerSettings;
  /** the task's cpu units and memory MiB (every container is held within the task's size) */
  task: { cpu?: number; memory?: number };
  rootfs: string;
  /** a network namespace to join (awsvpc); without it the container gets its own, loopback only */
  netnsPath?: string;
  /** user namespace: container id 0 is host id `hostId`, `size` ids mapped; without it no user namespace */
  idMap?: { hostId: number; size: number };
  /** /etc/passwd and /etc/group of the rootfs, to resolve user names, the primary group and HOME */
  passwd?: string;
  group?: string;
  hostname?: string;
  mounts?: BindMount[];
  /** the host's hard limits by ulimit name (undefined = unlimited); requests above are lowered to them */
  hostHardLimits?: Partial<Record<UlimitName, number>>;
  enforce: EnforceableLimits;
  /** the static init binary bind-mounted at /dev/init for `initProcessEnabled` */
  initBinary?: string;
  /** cgroup path for the container (cgroupfs layout, e.g. /localfargate/<task>-<container>) */
  cgroupsPath?: string;
  pidsLimit?: number;
}

/** A limit the host lowered or could not apply, said in words for health and the docs. */
export interface LimitNote {
  limit: string;
  note: string;
}

export interface SpecResult {
  config: OciConfig;
  /** the user the process runs as, also for `exec` (health checks) */
  user: { uid: number; gid: number; additionalGids: number[] };
  notes: LimitNote[];
}

/** A container definition that cannot start as given (ECS: CannotStartContainerError). */
export class ContainerSpecError extends Error {
  override name = "ContainerSpecError";
}

export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** The subset of the OCI runtime spec this module writes. */
export interface OciConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<"bounding" | "effective" | "permitted", string[]>;
    rlimits: OciRlimit[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    namespaces: { type: string; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    cgroupsPath?: string;
    resources?: {
      memory?: { limit?: number; reservation?: number };
      cpu?: { shares?: number; quota?: number; period?: number };
      pids?: { limit: number };
    };
  };
}

/** Docker's default PATH, set when the image names none (https://docs.docker.com/reference/dockerfile/#env). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Fargate's nofile default, soft and hard
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Ulimit.html).
 */
export const FARGATE_NOFILE = 65535;

/** Docker's default capability set for a container (what an unprivileged ECS container gets). */
const DEFAULT_CAPABILITIES = [
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
];

const CPU_PERIOD_US = 100_000;
const MIB = 1024 * 1024;
/** The fewest CPU shares the kernel accepts; ECS gives a container without `cpu` this many on Linux. */
const MIN_CPU_SHARES = 2;
const MAX_ID = 4294967294;

/**
 * The process arguments, as Docker merges a container's settings with its image
 * (https://docs.docker.com/reference/dockerfile/#understand-how-cmd-and-entrypoint-interact):
 * `entryPoint` replaces the image's ENTRYPOINT and, without `command`, drops the image's CMD
 * (Docker's `--entrypoint` clears the default command); `command` replaces CMD only.
 */
export function processArgs(image: ImageConfig, c: Pick<ContainerSettings, "entryPoint" | "command">): string[] {
  const entry = c.entryPoint ?? image.Entrypoint ?? [];
  const cmd = c.command ?? (c.entryPoint ? [] : (image.Cmd ?? []));
  const args = [...entry, ...cmd];
  if (args.length === 0) throw new ContainerSpecError("No command specified: the image has no ENTRYPOINT or CMD and the container definition no entryPoint or command");
  return args;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length < 7 || line.startsWith("#")) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!isId(f[2]!) || !isId(f[3]!)) continue;
    out.push({ name: f[0]!, uid, gid, home: f[5]! });
  }
  return out;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#") || !isId(f[2]!)) continue;
    out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) });
  }
  return out;
}

function isId(s: string): boolean {
  return /^\d{1,10}$/.test(s) && Number(s) <= MAX_ID;
}

/**
 * The uid, gid and supplementary groups of `user` (`name`, `uid`, `name:group`, `uid:gid`, and
 * mixes), resolved in the rootfs's /etc/passwd and /etc/group as Docker does
 * (https://docs.docker.com/reference/dockerfile/#user): a uid not in /etc/passwd is used as is
 * with group 0; a name that is not there cannot start.
 */
export function resolveUser(user: string, passwd?: string, group?: string): { uid: number; gid: number; additionalGids: number[]; home: string } {
  const spec = user === "" ? "0" : user;
  const colon = spec.indexOf(":");
  const u = colon < 0 ? spec : spec.slice(0, colon);
  const g = colon < 0 ? undefined : spec.slice(colon + 1);
  if (u === "" || g === "") throw new ContainerSpecError(`unable to find user ${spec}: invalid user format`);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (/^\d+$/.test(u)) {
    if (!isId(u)) throw new ContainerSpecError(`unable to find user ${spec}: uid ${u} is out of range`);
    uid = Number(u);
    entry = users.find((e) => e.uid === uid);
  } else {
    entry = users.find((e) => e.name === u);
    if (!entry) throw new ContainerSpecError(`unable to find user ${u}: no matching entries in passwd file`);
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  if (g !== undefined) {
    if (/^\d+$/.test(g)) {
      if (!isId(g)) throw new ContainerSpecError(`unable to find group ${g}: gid is out of range`);
      gid = Number(g);
    } else {
      const ge = groups.find((e) => e.name === g);
      if (!ge) throw new ContainerSpecError(`unable to find group ${g}: no matching entries in group file`);
      gid = ge.gid;
    }
  }
  const name = entry?.name;
  const additionalGids = name === undefined ? [] : [...new Set(groups.filter((e) => e.members.includes(name) && e.gid !== gid).map((e) => e.gid))];
  return { uid, gid, additionalGids, home: entry?.home || "/" };
}

/**
 * The environment: the image's variables, then the container definition's (a name given again
 * replaces the image's value), then PATH, HOSTNAME and HOME where neither set them, as Docker does.
 */
export function mergeEnvironment(image: ImageConfig, environment: ContainerSettings["environment"], defaults: { hostname?: string; home: string }): string[] {
  const env = new Map<string, string>();
  for (const e of image.Env ?? []) {
    const eq = e.indexOf("=");
    env.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? `${e}=` : e);
  }
  for (const { name, value } of environment ?? []) {
    if (!name) continue;
    if (name.includes("=") || name.includes("\0") || (value ?? "").includes("\0"))
      throw new ContainerSpecError(`invalid environment variable name or value: ${JSON.stringify(name)}`);
    env.set(name, `${name}=${value ?? ""}`);
  }
  if (!env.has("PATH")) env.set("PATH", `PATH=${DEFAULT_PATH}`);
  if (defaults.hostname && !env.has("HOSTNAME")) env.set("HOSTNAME", `HOSTNAME=${defaults.hostname}`);
  if (!env.has("HOME")) env.set("HOME", `HOME=${defaults.home}`);
  return [...env.values()];
}

/**
 * The rlimits: Fargate's nofile default, then the definition's ulimits. Without the right to
 * raise a hard limit (CAP_SYS_RESOURCE), the runtime cannot set one above the host's: such a
 * limit is lowered to the host's and noted.
 */
export function rlimits(ulimits: ContainerSettings["ulimits"], hostHard: SpecInput["hostHardLimits"] = {}): { rlimits: OciRlimit[]; notes: LimitNote[] } {
  const wanted = new Map<UlimitName, { soft: number; hard: number }>([["nofile", { soft: FARGATE_NOFILE, hard: FARGATE_NOFILE }]]);
  for (const u of ulimits ?? []) {
    const name = u.name as UlimitName;
    if (!ULIMIT_NAMES.includes(name)) throw new ContainerSpecError(`invalid ulimit name: ${JSON.stringify(u.name)}`);
    const soft = u.softLimit ?? 0;
    const hard = u.hardLimit ?? 0;
    if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard) || soft < 0 || hard < 0)
      throw new ContainerSpecError(`invalid ulimit ${name}: limits must be non-negative integers`);
    if (soft > hard) throw new ContainerSpecError(`ulimit ${name}: soft limit (${soft}) must be less than or equal to hard limit (${hard})`);
    wanted.set(name, { soft, hard });
  }
  const out: OciRlimit[] = [];
  const notes: LimitNote[] = [];
  for (const [name, { soft, hard }] of wanted) {
    const max = hostHard[name];
    let h = hard;
    let s = soft;
    if (max !== undefined && hard > max) {
      h = max;
      s = Math.min(soft, max);
      notes.push({ limit: `ulimit ${name}`, note: `lowered from ${soft}:${hard} to ${s}:${h}, the host's hard limit (raising it needs CAP_SYS_RESOURCE)` });
    }
    out.push({ type: `RLIMIT_${name.toUpperCase()}`, soft: s, hard: h });
  }
  return { rlimits: out, notes };
}

/**
 * cgroup resources, as ECS applies a Fargate task's sizes
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html):
 * the container's `memory` is its hard limit and `memoryReservation` its soft limit; its `cpu` is
 * a relative share; the task's `cpu` caps the container's CPU time and the task's `memory` is the
 * hard limit of a container without its own. Controllers the host lacks are left out and noted.
 */
export function resources(
  c: ContainerSettings,
  task: SpecInput["task"],
  enforce: EnforceableLimits,
  pidsLimit?: number,
): { resources: NonNullable<OciConfig["linux"]["resources"]>; notes: LimitNote[] } {
  const r: NonNullable<OciConfig["linux"]["resources"]> = {};
  const notes: LimitNote[] = [];
  const memLimit = c.memory ?? task.memory;
  for (const [name, v] of [
    ["memory", c.memory],
    ["memoryReservation", c.memoryReservation],
    ["cpu", c.cpu],
    ["task cpu", task.cpu],
    ["task memory", task.memory],
  ] as const) {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new ContainerSpecError(`invalid ${name}: ${v}`);
  }
  if (c.memory !== undefined && c.memoryReservation !== undefined && c.memoryReservation > c.memory) {
    throw new ContainerSpecError(`memoryReservation (${c.memoryReservation} MiB) must be less than or equal to memory (${c.memory} MiB)`);
  }
  if (memLimit || c.memoryReservation) {
    if (enforce.memory) {
      r.memory = {};
      if (memLimit) r.memory.limit = memLimit * MIB;
      if (c.memoryReservation) r.memory.reservation = c.memoryReservation * MIB;
    } else notes.push({ limit: "memory", note: "not enforced: no memory cgroup controller available to the runtime" });
  }
  if (enforce.cpu) {
    r.cpu = { shares: Math.max(MIN_CPU_SHARES, c.cpu ?? 0) };
    if (task.cpu) r.cpu = { ...r.cpu, quota: Math.round((task.cpu * CPU_PERIOD_US) / 1024), period: CPU_PERIOD_US };
  } else if (c.cpu || task.cpu) notes.push({ limit: "cpu", note: "not enforced: no cpu cgroup controller available to the runtime" });
  if (pidsLimit !== undefined) {
    if (enforce.pids) r.pids = { limit: pidsLimit };
    else notes.push({ limit: "pids", note: "not enforced: no pids cgroup controller available to the runtime" });
  }
  return { resources: r, notes };
}

const BIND_OPTIONS = ["rbind", "nosuid", "nodev"];

function checkAbsolute(path: string, what: string): void {
  if (!path.startsWith("/") || path.includes("\0") || path.split("/").includes("..")) {
    throw new ContainerSpecError(`the ${what} '${path}' is invalid: it must be an absolute path without '..'`);
  }
}

/** The OCI runtime config of one container. Throws ContainerSpecError for a definition that cannot start. */
export function buildSpec(input: SpecInput): SpecResult {
  const { image, container: c } = input;
  let args = processArgs(image, c);
  const userSpec = c.user ?? image.User ?? "";
  const user = resolveUser(userSpec, input.passwd, input.group);
  if (input.idMap) {
    const outside = [user.uid, user.gid, ...user.additionalGids].find((id) => id >= input.idMap!.size);
    if (outside !== undefined) throw new ContainerSpecError(`user ${userSpec}: id ${outside} is outside the ${input.idMap.size} ids mapped into the container`);
  }
  const cwd = c.workingDirectory || image.WorkingDir || "/";
  checkAbsolute(cwd, "working directory");
  const env = mergeEnvironment(image, c.environment, { hostname: input.hostname, home: user.home });
  const limits = rlimits(c.ulimits, input.hostHardLimits);
  const res = resources(c, input.task, input.enforce, input.pidsLimit);

  const mounts: OciMount[] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] },
  ];
  for (const m of input.mounts ?? []) {
    checkAbsolute(m.destination, "mount destination");
    checkAbsolute(m.source, "mount source");
    mounts.push({ destination: m.destination, type: "bind", source: m.source, options: [...BIND_OPTIONS, m.readonly ? "ro" : "rw"] });
  }
  if (c.linuxParameters?.initProcessEnabled) {
    if (!input.initBinary) throw new ContainerSpecError("initProcessEnabled: no init binary (catatonit) is installed on this host");
    mounts.push({ destination: "/dev/init", type: "bind", source: input.initBinary, options: ["bind", "ro", "nosuid", "nodev"] });
    args = ["/dev/init", "--", ...args];
  }

  const namespaces: OciConfig["linux"]["namespaces"] = [
    { type: "pid" },
    { type: "ipc" },
    { type: "uts" },
    { type: "mount" },
    { type: "cgroup" },
    input.netnsPath ? { type: "network", path: input.netnsPath } : { type: "network" },
  ];
  const linux: OciConfig["linux"] = {
    namespaces,
    maskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"],
    readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
  };
  if (input.idMap) {
    namespaces.push({ type: "user" });
    linux.uidMappings = [{ containerID: 0, hostID: input.idMap.hostId, size: input.idMap.size }];
    linux.gidMappings = [{ containerID: 0, hostID: input.idMap.hostId, size: input.idMap.size }];
  }
  if (input.cgroupsPath) linux.cgroupsPath = input.cgroupsPath;
  if (Object.keys(res.resources).length > 0) linux.resources = res.resources;

  const config: OciConfig = {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args,
      env,
      cwd,
      capabilities: { bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES },
      rlimits: limits.rlimits,
      noNewPrivileges: false,
    },
    root: { path: input.rootfs, readonly: c.readonlyRootFilesystem === true },
    hostname: input.hostname ?? "localhost",
    mounts,
    linux,
  };
  return { config, user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids }, notes: [...limits.notes, ...res.notes] };
}
