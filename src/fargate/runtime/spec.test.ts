import { describe, expect, it } from "vitest";
import { buildSpec, ContainerSpecError, DEFAULT_PATH, mergeEnvironment, processArgs, resolveUser, resources, rlimits, type ImageConfig, type SpecInput } from "./spec.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000:app:/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/false\nbroken:x:abc:1::/:/bin/sh\n";
const GROUP = "root:x:0:\napp:x:1000:\nextra:x:2000:app,web\nstaff:x:50:web\n";
const ALL: SpecInput["enforce"] = { memory: true, cpu: true, pids: true };
const NONE: SpecInput["enforce"] = { memory: false, cpu: false, pids: false };

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    image: { Entrypoint: ["/bin/sh", "-c"], Cmd: ["echo hi"], Env: ["PATH=/bin"], WorkingDir: "/app", User: "app" },
    container: {},
    task: {},
    rootfs: "/r/rootfs",
    passwd: PASSWD,
    group: GROUP,
    enforce: ALL,
    ...over,
  };
}

function specError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ContainerSpecError);
    return (e as Error).message;
  }
  throw new Error("expected a ContainerSpecError");
}

describe("processArgs (ENTRYPOINT/CMD as Docker combines them)", () => {
  const image: ImageConfig = { Entrypoint: ["/entry", "-x"], Cmd: ["default", "args"] };
  it("uses the image's ENTRYPOINT + CMD when the definition sets neither", () => {
    expect(processArgs(image, {})).toEqual(["/entry", "-x", "default", "args"]);
  });
  it("command replaces CMD and keeps the image's ENTRYPOINT", () => {
    expect(processArgs(image, { command: ["mine"] })).toEqual(["/entry", "-x", "mine"]);
  });
  it("entryPoint replaces ENTRYPOINT and drops the image's CMD", () => {
    expect(processArgs(image, { entryPoint: ["/other"] })).toEqual(["/other"]);
  });
  it("entryPoint and command together replace both", () => {
    expect(processArgs(image, { entryPoint: ["/other"], command: ["a", "b"] })).toEqual(["/other", "a", "b"]);
  });
  it("an image with only CMD runs it", () => {
    expect(processArgs({ Cmd: ["/bin/app"] }, {})).toEqual(["/bin/app"]);
    expect(processArgs({ Cmd: null, Entrypoint: null }, { command: ["/bin/x"] })).toEqual(["/bin/x"]);
  });
  it("an empty command cannot start", () => {
    expect(specError(() => processArgs({}, {}))).toMatch(/^No command specified/);
    expect(specError(() => processArgs({ Cmd: ["x"] }, { entryPoint: [], command: [] }))).toMatch(/^No command specified/);
  });
});

describe("resolveUser", () => {
  it("resolves a name to its uid, primary gid, supplementary groups and home", () => {
    expect(resolveUser("app", PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000], home: "/home/app" });
    expect(resolveUser("web", PASSWD, GROUP)).toEqual({ uid: 33, gid: 33, additionalGids: [2000, 50], home: "/var/www" });
  });
  it("a uid in /etc/passwd takes its entry's group; one not there runs with group 0 and home /", () => {
    expect(resolveUser("1000", PASSWD, GROUP)).toMatchObject({ uid: 1000, gid: 1000 });
    expect(resolveUser("4242", PASSWD, GROUP)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: "/" });
    expect(resolveUser("4242", undefined, undefined)).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: "/" });
  });
  it("an explicit group, by number or name, replaces the primary group", () => {
    expect(resolveUser("app:50", PASSWD, GROUP)).toMatchObject({ uid: 1000, gid: 50, additionalGids: [2000] });
    expect(resolveUser("1000:staff", PASSWD, GROUP)).toMatchObject({ uid: 1000, gid: 50 });
    expect(resolveUser("7:9", undefined, undefined)).toMatchObject({ uid: 7, gid: 9 });
  });
  it("no user is root", () => {
    expect(resolveUser("", PASSWD, GROUP)).toEqual({ uid: 0, gid: 0, additionalGids: [], home: "/root" });
  });
  it("refuses unknown names, unknown groups, malformed and out-of-range ids", () => {
    expect(specError(() => resolveUser("nobody", PASSWD, GROUP))).toBe("unable to find user nobody: no matching entries in passwd file");
    expect(specError(() => resolveUser("app:wheel", PASSWD, GROUP))).toBe("unable to find group wheel: no matching entries in group file");
    expect(specError(() => resolveUser("app:", PASSWD, GROUP))).toMatch(/invalid user format/);
    expect(specError(() => resolveUser(":1", PASSWD, GROUP))).toMatch(/invalid user format/);
    expect(specError(() => resolveUser("99999999999", PASSWD, GROUP))).toMatch(/out of range/);
    expect(specError(() => resolveUser("1:99999999999", PASSWD, GROUP))).toMatch(/out of range/);
    // a passwd line with a non-numeric uid is ignored rather than trusted
    expect(specError(() => resolveUser("broken", PASSWD, GROUP))).toMatch(/no matching entries/);
  });
});

describe("mergeEnvironment", () => {
  it("the definition's value replaces the image's in place; new names follow; PATH, HOSTNAME and HOME are filled in", () => {
    const env = mergeEnvironment({ Env: ["A=1", "B=image", "FLAG"] }, [{ name: "B", value: "def" }, { name: "C", value: "x=y" }, { name: "E" }], {
      hostname: "h1",
      home: "/home/app",
    });
    expect(env).toEqual(["A=1", "B=def", "FLAG=", "C=x=y", "E=", `PATH=${DEFAULT_PATH}`, "HOSTNAME=h1", "HOME=/home/app"]);
  });
  it("keeps the image's PATH and a HOME the definition sets", () => {
    const env = mergeEnvironment({ Env: ["PATH=/opt/bin"] }, [{ name: "HOME", value: "/data" }], { home: "/" });
    expect(env).toEqual(["PATH=/opt/bin", "HOME=/data"]);
  });
  it("refuses a name with '=' or a NUL byte", () => {
    expect(specError(() => mergeEnvironment({}, [{ name: "A=B", value: "1" }], { home: "/" }))).toMatch(/invalid environment variable/);
    expect(specError(() => mergeEnvironment({}, [{ name: "A", value: "1\0" }], { home: "/" }))).toMatch(/invalid environment variable/);
  });
});

describe("rlimits", () => {
  it("gives Fargate's nofile 65535 by default", () => {
    expect(rlimits(undefined)).toEqual({ rlimits: [{ type: "RLIMIT_NOFILE", soft: 65535, hard: 65535 }], notes: [] });
  });
  it("applies the definition's ulimits, nofile included", () => {
    const r = rlimits([
      { name: "nofile", softLimit: 1024, hardLimit: 4096 },
      { name: "core", softLimit: 0, hardLimit: 0 },
    ]);
    expect(r.rlimits).toEqual([
      { type: "RLIMIT_NOFILE", soft: 1024, hard: 4096 },
      { type: "RLIMIT_CORE", soft: 0, hard: 0 },
    ]);
  });
  it("lowers a limit above the host's hard limit to it, and says so", () => {
    const r = rlimits([{ name: "nproc", softLimit: 100, hardLimit: 500 }], { nofile: 20000, nproc: 200 });
    expect(r.rlimits).toEqual([
      { type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 },
      { type: "RLIMIT_NPROC", soft: 100, hard: 200 },
    ]);
    expect(r.notes.map((n) => n.limit)).toEqual(["ulimit nofile", "ulimit nproc"]);
    expect(r.notes[0]!.note).toMatch(/65535:65535 to 20000:20000/);
  });
  it("refuses unknown names, soft above hard and negative values", () => {
    expect(specError(() => rlimits([{ name: "bogus", softLimit: 1, hardLimit: 1 }]))).toBe('invalid ulimit name: "bogus"');
    expect(specError(() => rlimits([{ name: "nofile", softLimit: 10, hardLimit: 5 }]))).toMatch(/soft limit \(10\) must be less than or equal to hard limit \(5\)/);
    expect(specError(() => rlimits([{ name: "stack", softLimit: -1, hardLimit: 5 }]))).toMatch(/non-negative integers/);
    expect(specError(() => rlimits([{ name: "stack", softLimit: 1.5, hardLimit: 5 }]))).toMatch(/non-negative integers/);
  });
});

describe("resources", () => {
  it("container memory is the hard limit, memoryReservation the soft one, cpu a share, the task's cpu a quota", () => {
    expect(resources({ memory: 128, memoryReservation: 64, cpu: 256 }, { cpu: 512, memory: 1024 }, ALL, 4096)).toEqual({
      resources: { memory: { limit: 128 * 1048576, reservation: 64 * 1048576 }, cpu: { shares: 256, quota: 50000, period: 100000 }, pids: { limit: 4096 } },
      notes: [],
    });
  });
  it("a container without memory is held to the task's; without cpu it gets 2 shares", () => {
    expect(resources({}, { cpu: 2048, memory: 4096 }, ALL).resources).toEqual({ memory: { limit: 4096 * 1048576 }, cpu: { shares: 2, quota: 200000, period: 100000 } });
  });
  it("leaves out what the host cannot enforce and notes it", () => {
    const r = resources({ memory: 128, cpu: 256 }, { cpu: 512 }, NONE, 100);
    expect(r.resources).toEqual({});
    expect(r.notes.map((n) => n.limit)).toEqual(["memory", "cpu", "pids"]);
  });
  it("refuses a reservation above the limit and bad numbers", () => {
    expect(specError(() => resources({ memory: 64, memoryReservation: 128 }, {}, ALL))).toMatch(/memoryReservation \(128 MiB\) must be less than or equal to memory \(64 MiB\)/);
    expect(specError(() => resources({ memory: -1 }, {}, ALL))).toMatch(/invalid memory/);
    expect(specError(() => resources({}, { cpu: 0.5 }, ALL))).toMatch(/invalid task cpu/);
  });
});

describe("buildSpec", () => {
  it("writes the process, root, namespaces and mounts", () => {
    const { config, user, notes } = buildSpec(
      input({
        container: { command: ["echo mine"], environment: [{ name: "X", value: "1" }], readonlyRootFilesystem: true, memory: 64 },
        task: { cpu: 256, memory: 512 },
        netnsPath: "/var/run/netns/lf-t1",
        idMap: { hostId: 300000, size: 65536 },
        hostname: "ip-10-89-0-2",
        mounts: [
          { source: "/vol/data", destination: "/data" },
          { source: "/vol/hosts", destination: "/etc/hosts", readonly: true },
        ],
        cgroupsPath: "/localfargate/t1-web",
        hostHardLimits: { nofile: 20000 },
      }),
    );
    expect(config.process.args).toEqual(["/bin/sh", "-c", "echo mine"]);
    expect(config.process.env).toEqual(["PATH=/bin", "X=1", "HOSTNAME=ip-10-89-0-2", "HOME=/home/app"]);
    expect(config.process.cwd).toBe("/app");
    expect(config.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000] });
    expect(user).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000] });
    expect(config.process.rlimits).toEqual([{ type: "RLIMIT_NOFILE", soft: 20000, hard: 20000 }]);
    expect(config.root).toEqual({ path: "/r/rootfs", readonly: true });
    expect(config.hostname).toBe("ip-10-89-0-2");
    expect(config.linux.namespaces).toContainEqual({ type: "network", path: "/var/run/netns/lf-t1" });
    expect(config.linux.namespaces.map((n) => n.type).sort()).toEqual(["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]);
    expect(config.linux.uidMappings).toEqual([{ containerID: 0, hostID: 300000, size: 65536 }]);
    expect(config.linux.gidMappings).toEqual([{ containerID: 0, hostID: 300000, size: 65536 }]);
    expect(config.linux.cgroupsPath).toBe("/localfargate/t1-web");
    expect(config.linux.resources).toEqual({ memory: { limit: 64 * 1048576 }, cpu: { shares: 2, quota: 25000, period: 100000 } });
    expect(config.mounts.slice(-2)).toEqual([
      { destination: "/data", type: "bind", source: "/vol/data", options: ["rbind", "nosuid", "nodev", "rw"] },
      { destination: "/etc/hosts", type: "bind", source: "/vol/hosts", options: ["rbind", "nosuid", "nodev", "ro"] },
    ]);
    expect(notes.map((n) => n.limit)).toEqual(["ulimit nofile"]);
  });

  it("without a network namespace path or id map: a new network namespace, no user namespace", () => {
    const { config } = buildSpec(input({ container: { user: "0" } }));
    expect(config.linux.namespaces).toContainEqual({ type: "network" });
    expect(config.linux.namespaces.some((n) => n.type === "user")).toBe(false);
    expect(config.linux.uidMappings).toBeUndefined();
    expect(config.linux.resources).toEqual({ cpu: { shares: 2 } });
    expect(config.root.readonly).toBe(false);
    expect(config.process.user).toEqual({ uid: 0, gid: 0 });
  });

  it("the definition's workingDirectory and user replace the image's; no WorkingDir is /", () => {
    expect(buildSpec(input({ container: { workingDirectory: "/srv", user: "web" } })).config.process).toMatchObject({ cwd: "/srv", user: { uid: 33, gid: 33 } });
    expect(buildSpec(input({ image: { Cmd: ["/x"] } })).config.process).toMatchObject({ cwd: "/", user: { uid: 0, gid: 0 }, env: [`PATH=${DEFAULT_PATH}`, "HOME=/root"] });
  });

  it("initProcessEnabled runs the init as PID 1 in front of the command", () => {
    const { config } = buildSpec(input({ container: { linuxParameters: { initProcessEnabled: true } }, initBinary: "/usr/bin/catatonit" }));
    expect(config.process.args).toEqual(["/dev/init", "--", "/bin/sh", "-c", "echo hi"]);
    expect(config.mounts).toContainEqual({ destination: "/dev/init", type: "bind", source: "/usr/bin/catatonit", options: ["bind", "ro", "nosuid", "nodev"] });
    expect(specError(() => buildSpec(input({ container: { linuxParameters: { initProcessEnabled: true } } })))).toMatch(/no init binary/);
  });

  it("refuses a relative or escaping working directory or mount, and a user outside the id map", () => {
    expect(specError(() => buildSpec(input({ container: { workingDirectory: "app" } })))).toMatch(/working directory 'app' is invalid/);
    expect(specError(() => buildSpec(input({ container: { workingDirectory: "/a/../b" } })))).toMatch(/working directory/);
    expect(specError(() => buildSpec(input({ mounts: [{ source: "/v", destination: "/x/../../etc" }] })))).toMatch(/mount destination/);
    expect(specError(() => buildSpec(input({ mounts: [{ source: "v", destination: "/x" }] })))).toMatch(/mount source/);
    expect(specError(() => buildSpec(input({ container: { user: "70000" }, idMap: { hostId: 300000, size: 65536 } })))).toMatch(/id 70000 is outside the 65536 ids mapped/);
  });
});
