/**
 * Wires localfargate together: store, clock, services, audit, the HTTP front door and the
 * scheduler. `startLocalfargate` is what the CLI and the integration tests call.
 */
import { Store } from "../store/store.ts";
import { ServiceClock } from "../clock/clock.ts";
import { DEFAULT_ACCOUNT_ID } from "../auth/principal.ts";
import type { AppContext, InvokeOptions, ServiceDef } from "../services/types.ts";
import { HttpFrontend } from "./http.ts";
import type { Http1Server } from "./http1.ts";
import { execute, newContext } from "./dispatcher.ts";
import { runDue, startTicker } from "./scheduler.ts";
import { SERVICE_FACTORIES } from "./services.ts";

export interface StartOptions {
  host?: string;
  port?: number;
  /** null: in-memory store (tests) */
  dataDir?: string | null;
  storageDriver?: "gocryptfs" | "plain";
  allowRemote?: boolean;
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

export async function createApp(options: StartOptions): Promise<{ app: AppContext; shutdown: (() => Promise<void> | void)[] }> {
  const dataDir = options.dataDir === undefined ? "./.localfargate" : options.dataDir;
  const store = new Store(dataDir);
  const offset = Number(store.getMeta("clock.offsetMs") ?? 0);
  const clock = new ServiceClock(offset);
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
  for (const factory of SERVICE_FACTORIES) {
    const defs = await factory(app);
    for (const d of Array.isArray(defs) ? defs : [defs]) app.services.set(d.name, d);
  }
  return { app, shutdown };
}

export async function startLocalfargate(options: StartOptions = {}): Promise<Running> {
  const host = options.host ?? "127.0.0.1";
  const { app, shutdown } = await createApp(options);
  const frontend = new HttpFrontend(app);
  const server = await frontend.listen(host, options.port ?? 4566);
  const port = server.address().port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
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
