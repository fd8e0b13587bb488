/**
 * One task's life: PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING →
 * DEPROVISIONING → STOPPED, each transition persisted with the task's version incremented.
 * Storage is provisioned (KMS + driver) while PROVISIONING; containers are started in dependsOn
 * order while ACTIVATING; stopping sends SIGTERM, then SIGKILL after stopTimeout.
 */
import { chmodSync, chownSync } from "node:fs";
import { join } from "node:path";
import type { ContainerDefinition, Task } from "@aws-sdk/client-ecs";
import type { ServiceClock } from "../clock/clock.ts";
import type { FargateTask, LaunchEnvironment, TaskReports, TaskRoles, TaskSecrets, TaskStatus } from "./port.ts";
import { TaskProcesses, type AllStoppedSummary, type ContainerSpec, type ContainerState, type DependencyCondition } from "./containers.ts";
import { provisionStorage, releaseStorage, StorageFailure, type StorageDeps } from "./ephemeral-storage.ts";
import { endProcesses } from "./host-processes.ts";
import { healthCheckSpec } from "./health-check.ts";
import type { TaskOutputStore, TaskOutputWriter } from "./task-output.ts";
import { RunStateFile } from "./run-state.ts";
import { TaskIdRangePool, type TaskUser, type TaskUserPool } from "./task-users.ts";
import type { ContainerLauncher } from "./container-launcher.ts";
import { ImagePullError, OciTaskLauncher } from "./runtime/oci-launcher.ts";
import { ContainerSpecError } from "./runtime/spec.ts";
import type { OciRuntime } from "./runtime/select.ts";
import type { TaskNetwork } from "./network/index.ts";
import { applyTaskNetwork } from "./task-eni.ts";

export interface RunnerDeps<T extends FargateTask> extends StorageDeps<T> {
  reports: TaskReports<T>;
  clock: ServiceClock;
  /** ECS_CONTAINER_METADATA_URI_V4 for a container, as a host process or the task's namespace reaches it */
  metadataUri: (t: T, container: string, reach?: "host" | "namespace") => string;
  /**
   * Starts serving the task role's credentials and answers the variables that point the task's
   * SDKs at them and at localfargate, for code on the host or in the task's own namespace.
   */
  roleEnvironment: (t: T, reach: "host" | "namespace") => Promise<Record<string, string>>;
  /** the task's IAM roles (the execution role's credentials for the data plane's own calls) */
  roles: TaskRoles<T>;
  /** the unprivileged users tasks run as (none when the server is not root) */
  users: TaskUserPool;
  /** where each task's container output is kept (encrypted) */
  output: TaskOutputStore;
  /** resolves secrets and environment files at launch (none: the task has nothing to resolve) */
  secrets?: TaskSecrets<T>;
  /** crun, images and awsvpc networking when tasks run their images; host processes without */
  runtime?: OciRuntime;
  /**
   * crun runtime: the port of the server's listener on `address` (the task bridge's gateway),
   * which serves what a task's namespace reaches at 169.254.170.2 (docs/security.md#task-endpoint);
   * without it, a task's 169.254.170.2 leads nowhere.
   */
  taskEndpoint?: (address: string, prefixLength: number) => Promise<number | undefined>;
}

/** How long a server shutdown waits for a task's processes before leaving them. */
const SHUTDOWN_WAIT_MS = 5000;

export class TaskRunner<T extends FargateTask = FargateTask> {
  private wake!: () => void;
  private stopSignal: Promise<void>;
  private procs: TaskProcesses | undefined;
  private output: TaskOutputWriter | undefined;
  private user: TaskUser | undefined;
  /** crun runtime: the task's host id range, network namespace and launcher */
  private idBase: number | undefined;
  private network: TaskNetwork | undefined;
  private oci: OciTaskLauncher | undefined;
  private runState: RunStateFile | undefined;
  private reachedRunning = false;
  /** the task role's variables, asked for once per task */
  private roleEnv: Promise<Record<string, string>> | undefined;
  /** secrets and environment files per container: in memory only, never recorded */
  private launchEnv = new Map<string, LaunchEnvironment>();
  private killed = false;
  private saving = false;
  private saveAgain = false;
  readonly done: Promise<void>;

  constructor(
    private readonly deps: RunnerDeps<T>,
    readonly t: T,
  ) {
    this.stopSignal = new Promise((r) => (this.wake = r));
    this.done = this.run().catch((e) => {
      if (!this.killed) console.error(`[localfargate] task ${t.arn} failed unexpectedly:`, e);
    });
  }

  get stopping(): boolean {
    return this.t.task.desiredStatus === "STOPPED";
  }

  /** Asks for the task to stop (its record says desiredStatus STOPPED); the runner then stops it. */
  requestStop(stopCode: Task["stopCode"], reason: string): void {
    this.deps.reports.stopRequested(this.t, stopCode, reason);
    this.wake();
  }

  /**
   * Runs `argv` inside one of the task's running containers (health checks): its exit code, or
   * null when it timed out, could not run, or the container is not running.
   */
  exec(container: string, argv: string[], timeoutMs: number): Promise<number | null> {
    return this.procs ? this.procs.exec(container, argv, timeoutMs) : Promise.resolve(null);
  }

  /** The task role's credentials variables and AWS_ENDPOINT_URL for `reach`, asked for once per task. */
  private roleEnvironment(reach: "host" | "namespace"): Promise<Record<string, string>> {
    this.roleEnv ??= this.deps.roleEnvironment(this.t, reach);
    return this.roleEnv;
  }

  private async transition(status: TaskStatus): Promise<void> {
    await this.deps.reports.transition(this.t, status);
  }

  /** Persists a container change (coalesced: one write in flight, one queued). */
  private persistSoon(): void {
    if (this.saving) {
      this.saveAgain = true;
      return;
    }
    this.saving = true;
    void (async () => {
      try {
        do {
          this.saveAgain = false;
          this.t.task.version = (this.t.task.version ?? 0) + 1;
          await this.deps.save(this.t);
        } while (this.saveAgain);
      } catch {
        // shutting down
      } finally {
        this.saving = false;
      }
    })();
  }

  private async run(): Promise<void> {
    const t = this.t;
    // PROVISIONING: the ENI (a network namespace of its own with the crun runtime, else only its
    // record) and the encrypted ephemeral volume.
    let failure: string | undefined;
    let mountPath = "";
    if (!this.stopping) {
      try {
        // The volume and the network namespace are independent: both are made at once, and
        // both are waited for, so the stop path releases whichever was made.
        const [storage, network] = await Promise.allSettled([provisionStorage(this.deps, t), this.provisionNetwork()]);
        if (storage.status === "rejected") throw storage.reason;
        if (network.status === "rejected") throw network.reason;
        mountPath = storage.value;
        this.isolate(mountPath);
      } catch (e) {
        failure = e instanceof StorageFailure ? e.stoppedReason : `ResourceInitializationError: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    if (!failure && !this.stopping && this.deps.secrets) {
      try {
        this.launchEnv = await this.deps.secrets.resolve(t);
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
      }
    }
    if (failure) this.requestStop("TaskFailedToStart", failure);
    if (!this.stopping) {
      // The images are found and unpacked while the PENDING transition is written.
      const images = this.prepareImages(mountPath);
      await this.transition("PENDING");
      await images;
    }
    if (!this.stopping) {
      await this.transition("ACTIVATING");
      try {
        const launcher: ContainerLauncher | undefined = this.oci;
        // Host processes get the role's variables here; crun containers got them in their OCI config (prepareImages).
        const roleEnv = launcher ? {} : await this.roleEnvironment("host");
        this.output = this.deps.output.open(t.arn);
        const baseEnv: Record<string, string> = {
          AWS_EXECUTION_ENV: "AWS_ECS_FARGATE",
          AWS_REGION: t.region,
          AWS_DEFAULT_REGION: t.region,
          ...roleEnv,
        };
        this.procs = new TaskProcesses({
          containers: t.containerDefs.map((d) => this.spec(d)),
          volumePath: mountPath,
          // A host process has no image to give it a HOME: the volume is its home.
          baseEnv: launcher ? baseEnv : { HOME: mountPath, ...baseEnv },
          ...(launcher ? { launcher } : {}),
          events: {
            onContainerChange: (c) => this.onContainerChange(c),
            onAllStopped: (s) => this.onAllStopped(s),
          },
          now: () => this.deps.clock.nowMs(),
          realNowMs: () => this.deps.clock.realNowMs(),
          // Container stdout/stderr go to the task's encrypted output store, never in plaintext to disk.
          output: this.output,
          ...(this.user ? { user: this.user } : {}),
          onSpawn: (pid) => this.recordProcess(pid),
        });
        await this.procs.start();
      } catch (e) {
        this.requestStop("TaskFailedToStart", `CannotStartContainerError: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (!this.stopping) {
      this.reachedRunning = true;
      await this.transition("RUNNING");
    }
    // StopTask may have marked the task before the runner started: then there is nothing to wait for.
    if (!this.stopping) await this.stopSignal;
    if (this.killed) return;
    // Stopping.
    if (this.reachedRunning) await this.transition("DEACTIVATING");
    if (this.procs) {
      await this.transition("STOPPING");
      await this.procs.stop(t.task.stoppedReason);
    }
    await this.oci?.cleanup();
    // Like the end of a container's PID namespace: whatever the task's user still runs (a
    // process that left its container's process group) ends with the task.
    const survivors = this.user || this.idBase !== undefined ? await endProcesses((p) => this.ownsProcess(p.uids)) : [];
    if (survivors.length) console.error(`[localfargate] processes of task ${t.arn} could not be ended (pids ${survivors.join(", ")}); its user ids stay reserved`);
    this.output?.close();
    await this.transition("DEPROVISIONING");
    await this.releaseNetwork();
    await releaseStorage(this.deps, t);
    if (!survivors.length) this.releaseIds();
    await this.transition("STOPPED");
  }

  /**
   * Gives the task a user of its own (when the server can switch users) that alone owns the
   * volume, and starts the crash record beside the volume (run-state.ts).
   */
  private isolate(mountPath: string): void {
    if (this.deps.runtime) {
      // Root inside the task's containers is the first id of the task's range: it owns the volume.
      this.idBase = this.deps.runtime.idRanges.allocate();
      chownSync(mountPath, this.idBase, this.idBase);
      chmodSync(mountPath, 0o700);
    } else {
      this.user = this.deps.users.allocate();
      if (this.user) {
        chownSync(mountPath, this.user.uid, this.user.gid);
        chmodSync(mountPath, 0o700);
      }
    }
    this.runState = new RunStateFile(join(this.deps.driver.baseDir, this.t.storage.volumeId!), this.user?.uid);
  }

  /** A process of this task: it holds the task's uid, or an id of its container range. */
  private ownsProcess(uids: number[]): boolean {
    const uid = this.user?.uid;
    const base = this.idBase;
    return uids.some((u) => u === uid || (base !== undefined && TaskIdRangePool.contains(base, u)));
  }

  private releaseIds(): void {
    this.deps.users.release(this.user);
    this.deps.runtime?.idRanges.release(this.idBase);
  }

  /** crun runtime: the task's network namespace with its own address, shown in the ENI attachment. */
  private async provisionNetwork(): Promise<void> {
    const rt = this.deps.runtime;
    if (!rt) return;
    // 169.254.170.2:80 inside the namespace goes to the server's listener on the bridge gateway.
    const endpoint = this.deps.taskEndpoint;
    let credentialsEndpoint: { address: string; port: number } | undefined;
    if (endpoint) {
      const { address, prefixLength } = await rt.network.gatewayAddress();
      const port = await endpoint(address, prefixLength);
      if (port !== undefined) credentialsEndpoint = { address, port };
    }
    this.network = await rt.network.createTaskNetwork(this.t.id, credentialsEndpoint ? { credentialsEndpoint } : {});
    applyTaskNetwork(this.t, this.network);
  }

  private async releaseNetwork(): Promise<void> {
    if (!this.network || !this.deps.runtime) return;
    await this.deps.runtime.network.destroyTaskNetwork(this.t.id).catch((e: Error) => console.error(`[localfargate] network of task ${this.t.arn} not removed: ${e.message}`));
    this.network = undefined;
  }

  /**
   * crun runtime, while PENDING: every container's image found, unpacked onto the volume and
   * configured. An image no source has stops the task with CannotPullContainerError.
   */
  private async prepareImages(mountPath: string): Promise<void> {
    const rt = this.deps.runtime;
    if (!rt || this.idBase === undefined || !this.network) return;
    const t = this.t;
    let roleEnv: Record<string, string>;
    try {
      roleEnv = await this.roleEnvironment("namespace");
    } catch (e) {
      this.requestStop("TaskFailedToStart", `CannotStartContainerError: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    try {
      this.oci = new OciTaskLauncher(rt.crun, rt.images, {
        taskId: t.id,
        bundlesDir: rt.bundlesDir,
        volumePath: mountPath,
        netnsPath: this.network.netnsPath,
        resolvConf: this.network.resolvConf,
        hostIdBase: this.idBase,
        containers: t.containerDefs.map((d) => ({ ...d, environment: Object.entries(this.spec(d, "namespace").environment).map(([name, value]) => ({ name, value })) })),
        task: { cpu: numberOf(t.task.cpu), memory: numberOf(t.task.memory) },
        baseEnv: { AWS_EXECUTION_ENV: "AWS_ECS_FARGATE", AWS_REGION: t.region, AWS_DEFAULT_REGION: t.region, ...roleEnv },
      });
      await this.oci.prepare(() => this.deps.clock.realNowMs());
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof ImagePullError) this.requestStop("TaskFailedToStart", e.stopReason);
      else if (e instanceof ContainerSpecError) this.requestStop("TaskFailedToStart", `CannotStartContainerError: ${message}`);
      else this.requestStop("TaskFailedToStart", `CannotPullContainerError: ${message}`);
    }
  }

  private recordProcess(pid: number): void {
    try {
      this.runState?.addProcess(pid);
    } catch (e) {
      console.error(`[localfargate] could not record process ${pid} of task ${this.t.arn}:`, e);
    }
  }

  private spec(d: ContainerDefinition, reach: "host" | "namespace" = this.deps.runtime ? "namespace" : "host"): ContainerSpec {
    const env: Record<string, string> = {};
    const uri = this.deps.metadataUri(this.t, d.name!, reach);
    env.ECS_CONTAINER_METADATA_URI_V4 = uri;
    env.ECS_CONTAINER_METADATA_URI = uri;
    const launch = this.launchEnv.get(d.name!);
    Object.assign(env, launch?.files);
    for (const e of d.environment ?? []) env[e.name!] = e.value ?? "";
    Object.assign(env, launch?.secrets);
    return {
      name: d.name!,
      essential: d.essential !== false,
      entryPoint: d.entryPoint,
      command: d.command,
      environment: env,
      workingDirectory: d.workingDirectory,
      stopTimeoutSeconds: d.stopTimeout,
      dependsOn: d.dependsOn?.map((x) => ({ containerName: x.containerName!, condition: x.condition as DependencyCondition })),
      ...(d.healthCheck ? { healthCheck: healthCheckSpec(d.healthCheck) } : {}),
    };
  }

  private onContainerChange(s: ContainerState): void {
    this.deps.reports.containerChanged(this.t, { name: s.name, lastStatus: s.lastStatus, exitCode: s.exitCode, reason: s.reason, pid: s.pid, healthStatus: s.healthStatus });
    // Transitions persist the task anyway; a change while RUNNING (an exit) is written now.
    if (this.reachedRunning) this.persistSoon();
  }

  private onAllStopped(s: AllStoppedSummary): void {
    if (this.stopping) return;
    if (s.dependencyFailed && !this.reachedRunning) {
      this.requestStop("TaskFailedToStart", `CannotStartContainerError: ${s.reason ?? "a container dependency can never be met"}`);
    } else {
      this.requestStop(
        "EssentialContainerExited",
        s.essentialExited || s.dependencyFailed ? "Essential container in task exited" : (s.reason ?? "Essential container in task exited"),
      );
    }
  }

  /**
   * Server shutdown: ends the processes (SIGKILL for what outlives the grace period) and destroys
   * the volume, recording nothing (the next start settles the record). A process that cannot be
   * ended keeps the volume and its crash record, for the next start to end it.
   */
  async kill(): Promise<void> {
    this.killed = true;
    const procs = this.procs;
    let ended = true;
    if (procs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([procs.stop("localfargate is shutting down"), new Promise((r) => (timer = setTimeout(r, SHUTDOWN_WAIT_MS)))]);
      clearTimeout(timer);
      // Groups of containers still running: their leaders are not reaped yet, so no other
      // process can have been given their pid.
      const groups = new Set(procs.states().flatMap((s) => (s.lastStatus === "RUNNING" && s.pid !== undefined ? [s.pid] : [])));
      procs.killNow();
      const uid = this.user?.uid;
      const survivors = await endProcesses((p) => groups.has(p.pgid) || (uid !== undefined && p.uids.includes(uid)), { graceful: false });
      ended = survivors.length === 0;
    }
    this.output?.close();
    await this.oci?.cleanup().catch(() => undefined);
    if (this.idBase !== undefined) ended = ended && (await endProcesses((p) => this.ownsProcess(p.uids), { graceful: false })).length === 0;
    await this.releaseNetwork();
    const v = this.t.storage.volumeId;
    if (ended && v && !this.t.storage.released) await this.deps.driver.destroy(v).catch(() => undefined);
    if (ended) this.releaseIds();
    this.wake();
  }
}

function numberOf(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
}
