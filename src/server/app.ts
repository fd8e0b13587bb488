/**
 * Wires localfargate together: store, clock, services, audit, the HTTP front door and the
 * scheduler. `startLocalfargate` is what the CLI and the integration tests call.
 */
import { mkdirSync } from "node:fs";
import { StartupError } from "../store/startup-error.ts";
import { DataDirLock } from "../store/lock.ts";
import { PRIVATE_DIR_MODE, tightenDataDir, usePrivateUmask } from "../store/permissions.ts";
import { Store } from "../store/store.ts";
import { restoredOffset, ServiceClock } from "../clock/clock.ts";
import { DEFAULT_ACCOUNT_ID } from "../auth/principal.ts";
import type { AppContext, AppOptions, DueRunner, InvokeOptions, Provided } from "../kernel/context.ts";
import type { CredentialProvider } from "../kernel/principal.ts";
import { createAudit } from "../audit/sink.ts";
import type { ServiceDef, ServiceModule } from "../kernel/service.ts";
import { HttpFrontend } from "./http.ts";
import type { Http1Limits, Http1Server } from "./http1.ts";
import { execute, newContext } from "./dispatcher.ts";
import { DueScheduler } from "./scheduler.ts";
import { authorizeChecks } from "../authz/authorize.ts";
import { MODULES } from "./modules.ts";
import { TaskEndpointListeners } from "./task-endpoint.ts";

export interface StartOptions {
  host?: string;
  port?: number;
  /** null: in-memory store (tests) */
  dataDir?: string | null;
  storageDriver?: "gocryptfs" | "plain";
  /** how tasks run: their images with crun, or host processes; "auto" picks crun where it works. Default "host" (the CLI defaults to "auto"). */
  containerRuntime?: "auto" | "crun" | "host";
  /** crun runtime: false keeps tasks from reaching beyond this host (no masquerade); default true */
  taskInternet?: boolean;
  allowRemote?: boolean;
  /** origins (`scheme://host[:port]`) whose pages may call the server from a browser; docs/security.md */
  allowedOrigins?: string[];
  /** further host names clients reach the server by (DNS rebinding check); docs/security.md */
  allowedHosts?: string[];
  /** connection, timeout and bytes-in-flight bounds of the HTTP front door (docs/limits.md); defaults in DEFAULT_LIMITS */
  http?: Partial<Http1Limits>;
  /** false: no CloudTrail records (the bench's comparison run) */
  audit?: boolean;
  /** KMS quotas, lowered by tests */
  kmsMaxGrantsPerKey?: number;
  kmsOnDemandRotationLimit?: number;
  /** Fargate On-Demand / Spot vCPU quotas per account and Region (default 6 each; docs/ecs-fargate.md) */
  fargateVcpuQuota?: number;
  fargateSpotVcpuQuota?: number;
  /** resolves the host names of OIDC issuers (default: the system resolver); tests map names to addresses with it */
  resolveHost?: AppOptions["resolveHost"];
}

export interface Running {
  app: AppContext;
  server: Http1Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The app's own parts, then its modules in the order modules.ts states. */
export interface ComposedApp {
  app: AppContext;
  /** in composition order; close runs them in reverse */
  shutdown: (() => Promise<void> | void)[];
  /** what the app provides after composition (the bound address) */
  provide<K extends keyof Provided>(name: K, value: Provided[K]): void;
  /** the data dir's lock (none for an in-memory store); released when the store closes */
  lock?: DataDirLock;
  /** resolves once every module's `ready` work is done; rejects with the first failure */
  settled: Promise<void>;
}

/**
 * Takes the data dir's lock before anything reads, cleans or migrates it (docs/server.md): a
 * second server on the same data dir is refused here and changes nothing. Only then are modes
 * tightened and the store opened.
 */
function openStore(dataDir: string | null): { store: Store; lock?: DataDirLock } {
  if (!dataDir) return { store: new Store(null) };
  usePrivateUmask();
  mkdirSync(dataDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const lock = DataDirLock.acquire(dataDir);
  try {
    tightenDataDir(dataDir);
    return { store: new Store(dataDir, lock), lock };
  } catch (e) {
    lock.release();
    throw e;
  }
}

export async function createApp(options: StartOptions, modules: readonly ServiceModule[] = MODULES): Promise<ComposedApp> {
  const dataDir = options.dataDir === undefined ? "./.localfargate" : options.dataDir;
  const { store, lock } = openStore(dataDir);
  const restored = restoredOffset(store.getMeta("clock.offsetMs"));
  if (restored.warning) console.warn(`[localfargate] warning: ${restored.warning}`);
  const clock = new ServiceClock(restored.offsetMs);
  const shutdown: (() => Promise<void> | void)[] = [];
  const services = new Map<string, ServiceDef>();
  const credentialProviders: CredentialProvider[] = [];
  const dueRunners: DueRunner[] = [];
  const provided: Partial<Provided> = {};
  const pending: Promise<void>[] = [];
  // the audit log belongs to the app: every service's calls are recorded in it
  let audit: ReturnType<typeof createAudit>;
  try {
    audit = createAudit(store, options.audit !== false);
  } catch (e) {
    // a damaged lookup index refuses the start; closing the store releases the data dir lock
    store.close();
    throw e;
  }
  shutdown.push(() => audit.store.close());
  provided.auditStore = audit.store;
  const app: AppContext = {
    store,
    clock,
    dataDir,
    defaultAccountId: DEFAULT_ACCOUNT_ID,
    services,
    credentialProviders,
    dueRunners,
    health: {},
    auditSink: audit.sink,
    options: appOptions(options),
    get(name) {
      const v = provided[name];
      if (v === undefined) throw new Error(`nothing provides "${name}" yet (src/server/modules.ts states the order)`);
      return v;
    },
    find: (name) => provided[name],
    simulateAuthorization: authorizeChecks,
    async invoke<O>(service: string, operation: string, input: Record<string, unknown>, opts: InvokeOptions): Promise<O> {
      const svc = app.services.get(service);
      if (!svc) throw new Error(`no service ${service}`);
      const ctx = newContext(app, svc, operation, {
        region: opts.region,
        principal: opts.principal,
        sourceIp: opts.sourceIp ?? opts.principal.invokedBy ?? "AWS Internal",
        userAgent: opts.userAgent ?? opts.principal.invokedBy ?? "AWS Internal",
        secureTransport: true,
        internal: true,
        viaService: opts.viaService,
      });
      return (await execute(ctx, () => input)) as O;
    },
  };
  try {
    for (const module of modules) {
      const missing = module.needs.filter((n) => provided[n] === undefined);
      if (missing.length) throw new Error(`module ${module.name} needs ${missing.join(", ")}, which no earlier module provides`);
      const made = await module.create(app);
      for (const d of made.services ?? []) services.set(d.name, d);
      Object.assign(provided, made.provides);
      credentialProviders.push(...(made.credentialProviders ?? []));
      dueRunners.push(...(made.dueRunners ?? []));
      if (made.identityPolicies) app.identityPolicies = made.identityPolicies;
      if (made.scps) app.scps = made.scps;
      if (made.shutdown) shutdown.push(() => made.shutdown!());
      if (made.ready) pending.push(made.ready);
    }
  } catch (e) {
    // a refused start (wrong key file, damaged database) undoes what the services began
    for (const s of shutdown.reverse()) {
      try {
        await s();
      } catch {
        // the start is failing anyway; report its cause, not a clean-up's
      }
    }
    store.close();
    throw e;
  }
  const settled = Promise.all(pending).then(() => undefined);
  settled.catch(() => undefined); // awaited by startLocalfargate, after the server listens
  return {
    app,
    shutdown,
    lock,
    settled,
    provide: <K extends keyof Provided>(name: K, value: Provided[K]) => {
      provided[name] = value;
    },
  };
}

/** The typed subset of the start options the services read. */
function appOptions(o: StartOptions): AppOptions {
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  return {
    host: o.host,
    port: o.port,
    storageDriver: o.storageDriver,
    containerRuntime: o.containerRuntime,
    taskInternet: o.taskInternet,
    allowedOrigins: o.allowedOrigins,
    allowedHosts: o.allowedHosts,
    audit: o.audit !== false,
    kmsMaxGrantsPerKey: num(o.kmsMaxGrantsPerKey),
    kmsOnDemandRotationLimit: num(o.kmsOnDemandRotationLimit),
    fargateVcpuQuota: o.fargateVcpuQuota,
    fargateSpotVcpuQuota: o.fargateSpotVcpuQuota,
    resolveHost: o.resolveHost,
  };
}

export async function startLocalfargate(options: StartOptions = {}, modules: readonly ServiceModule[] = MODULES): Promise<Running> {
  const host = options.host ?? "127.0.0.1";
  const { app, shutdown, provide, lock, settled } = await createApp(options, modules);
  const due = new DueScheduler(app);
  const frontend = new HttpFrontend(app, due);
  let server: Http1Server;
  try {
    server = await frontend.listen(host, options.port ?? 4566, options.http);
  } catch (e) {
    for (const s of shutdown.reverse()) await s();
    app.store.close();
    if ((e as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw new StartupError(`${host}:${options.port} is in use by another program: pick another port with --port N (npm start -- --port N) or LOCALFARGATE_PORT=N`);
    }
    throw e;
  }
  const port = server.address().port;
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const url = `http://${address}`;
  lock?.setAddress(address);
  // the task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4) needs the address tasks can reach
  provide("serverUrl", url);
  // what a crun task's namespace reaches at 169.254.170.2 (docs/security.md#task-endpoint)
  const taskEndpoints = new TaskEndpointListeners(app, (req) => frontend.handle(req));
  provide("taskEndpoint", (address, prefixLength) => taskEndpoints.listen(address, prefixLength));
  await due.runDue();
  const stopTicker = due.startTicker();
  frontend.ready = true;
  try {
    await settled;
  } catch (e) {
    stopTicker();
    await server.close();
    await taskEndpoints.close();
    for (const s of shutdown.reverse()) await s();
    app.store.close();
    throw e;
  }
  return {
    app,
    server,
    port,
    url,
    async close() {
      stopTicker();
      await server.close();
      await taskEndpoints.close();
      for (const s of shutdown.reverse()) await s();
      app.store.close();
    },
  };
}
