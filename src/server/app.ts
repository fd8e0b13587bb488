/**
 * Wires localfargate together: store, clock, services, audit, the HTTP front door and the
 * scheduler. `startLocalfargate` is what the CLI and the integration tests call.
 */
import { mkdirSync } from "node:fs";
import { StartupError } from "../errors.ts";
import { DataDirLock } from "../store/lock.ts";
import { PRIVATE_DIR_MODE, tightenDataDir, usePrivateUmask } from "../store/permissions.ts";
import { Store } from "../store/store.ts";
import { restoredOffset, ServiceClock } from "../clock/clock.ts";
import { DEFAULT_ACCOUNT_ID } from "../auth/principal.ts";
import type { AppContext, InvokeOptions, ServiceDef } from "../services/types.ts";
import { HttpFrontend } from "./http.ts";
import type { Http1Limits, Http1Server } from "./http1.ts";
import { execute, newContext } from "./dispatcher.ts";
import { runDue, startTicker } from "./scheduler.ts";
import { SERVICE_FACTORIES } from "./services.ts";

const DATA_DIR_LOCK = "dataDirLock";

export interface StartOptions {
  host?: string;
  port?: number;
  /** null: in-memory store (tests) */
  dataDir?: string | null;
  storageDriver?: "gocryptfs" | "plain";
  allowRemote?: boolean;
  /** origins (`scheme://host[:port]`) whose pages may call the server from a browser; docs/security.md */
  allowedOrigins?: string[];
  /** further host names clients reach the server by (DNS rebinding check); docs/security.md */
  allowedHosts?: string[];
  /** connection, timeout and bytes-in-flight bounds of the HTTP front door (docs/limits.md); defaults in DEFAULT_LIMITS */
  http?: Partial<Http1Limits>;
  /** Fargate On-Demand / Spot vCPU quotas per account and Region (default 6 each; docs/ecs-fargate.md) */
  fargateVcpuQuota?: number;
  fargateSpotVcpuQuota?: number;
  /** extra options passed to services (e.g. auditing off for the bench) */
  [k: string]: unknown;
}

export interface Running {
  app: AppContext;
  server: Http1Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A service factory registers its ServiceDef and whatever else it provides (credentials, runners). */
export type ServiceFactory = (app: AppContext) => ServiceDef | ServiceDef[] | Promise<ServiceDef | ServiceDef[]>;

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

export async function createApp(options: StartOptions): Promise<{ app: AppContext; shutdown: (() => Promise<void> | void)[] }> {
  const dataDir = options.dataDir === undefined ? "./.localfargate" : options.dataDir;
  const { store, lock } = openStore(dataDir);
  const restored = restoredOffset(store.getMeta("clock.offsetMs"));
  if (restored.warning) console.warn(`[localfargate] warning: ${restored.warning}`);
  const clock = new ServiceClock(restored.offsetMs);
  const shutdown: (() => Promise<void> | void)[] = [];
  const app: AppContext = {
    store,
    clock,
    dataDir,
    defaultAccountId: DEFAULT_ACCOUNT_ID,
    services: new Map(),
    credentialProviders: [],
    dueRunners: [],
    health: {},
    registry: new Map(),
    options: { ...options, shutdown },
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
  if (lock) app.registry.set(DATA_DIR_LOCK, lock);
  try {
    for (const factory of SERVICE_FACTORIES) {
      const defs = await factory(app);
      for (const d of Array.isArray(defs) ? defs : [defs]) app.services.set(d.name, d);
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
  return { app, shutdown };
}

export async function startLocalfargate(options: StartOptions = {}): Promise<Running> {
  const host = options.host ?? "127.0.0.1";
  const { app, shutdown } = await createApp(options);
  const frontend = new HttpFrontend(app);
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
  (app.registry.get(DATA_DIR_LOCK) as DataDirLock | undefined)?.setAddress(address);
  // the task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4) needs the address tasks can reach
  app.registry.set("serverUrl", url);
  await runDue(app);
  const stopTicker = startTicker(app);
  frontend.ready = true;
  return {
    app,
    server,
    port,
    url,
    async close() {
      stopTicker();
      await server.close();
      for (const s of shutdown.reverse()) await s();
      app.store.close();
    },
  };
}
