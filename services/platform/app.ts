// Assembles a process: the runtime every module shares (store, bus, clients, credentials), the
// modules of the chosen target, the platform services (health, reflection), the interceptors,
// and the two listeners. main.ts and the tests both start the system through startApp.
import { type DescService, toJson } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { JSONWebKeySet } from "jose";
import { GetJwksResponseSchema } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { file_google_rpc_error_details } from "../../gen/ts/google/rpc/error_details_pb.js";
import { file_google_rpc_status } from "../../gen/ts/google/rpc/status_pb.js";
import { Health } from "../../gen/ts/grpc/health/v1/health_pb.js";
import { ServerReflection } from "../../gen/ts/grpc/reflection/v1/reflection_pb.js";
import { TokenVerifier } from "./auth.js";
import { type Backends, openBackends, type Store } from "./backends.js";
import type { CassandraDb } from "./cassandra.js";
import { CallAuth, type Clients, createClients, SERVICES, type ServiceName } from "./clients.js";
import { type Config, serviceAddr, splitAddr, type Target } from "./config.js";
import type { EventBus } from "./events.js";
import { HealthState, ServingStatus } from "./health.js";
import { createLogger, type Logger } from "./log.js";
import { wrapService } from "./middleware.js";
import { PageTokens } from "./pagetoken.js";
import { DescriptorIndex, reflectionImpl } from "./reflection.js";
import { loadSecrets } from "./secrets.js";
import { type RunningServer, serve } from "./server.js";
import { registration, type ServiceModule, type ServiceRegistration } from "./service.js";
import type { EmbeddedDb } from "./sqlite.js";
import { startTelemetry } from "./telemetry.js";
import { createGrpcJsTransport } from "./transport.grpc.js";
import { createLocalTransport } from "./transport.local.js";

/** What every module gets. */
export interface Runtime {
  config: Config;
  log: Logger;
  store: Store;
  bus: EventBus;
  clients: Clients;
  auth: CallAuth;
  pageTokens: PageTokens;
  /** The base URL of this process's HTTP port (http://host:port); throws until the server listens. */
  httpUrl(): string;
}

export type ModuleFactory = (rt: Runtime) => ServiceModule | Promise<ServiceModule>;

/** Picks the adapter of a port for the store of this process. */
export function pickStore<T>(
  rt: Runtime,
  adapters: { sqlite: (db: EmbeddedDb) => T; cassandra: (db: CassandraDb) => Promise<T> },
): Promise<T> {
  return rt.store.kind === "sqlite" ? Promise.resolve(adapters.sqlite(rt.store.db)) : adapters.cassandra(rt.store.db);
}

export interface App {
  runtime: Runtime;
  server: RunningServer;
  backends: Backends;
  health: HealthState;
  stop(): Promise<void>;
}

export async function startApp(config: Config, factories: Partial<Record<Target, ModuleFactory>>): Promise<App> {
  const target = config.FEEDMESH_TARGET;
  startTelemetry(`feedmesh-${target}`);
  const log = createLogger(config.FEEDMESH_LOG_LEVEL, { target });
  const secrets = loadSecrets(config);
  const backends = await openBackends(config, log);
  const bus = backends.bus;
  const auth = new CallAuth(config.FEEDMESH_ISSUER, secrets.serviceTokenKey, target);

  let local: Transport | undefined;
  const localNames = new Set<string>();
  // Resolved at call time: modules create their clients before the in-process router exists.
  const clients = createClients((name, desc) => {
    let resolved: Transport | undefined;
    const get = () => (resolved ??= transportFor(name, desc));
    return {
      unary: (...args: Parameters<Transport["unary"]>) => get().unary(...args),
      stream: (...args: Parameters<Transport["stream"]>) => get().stream(...args),
    } as Transport;
  });
  function transportFor(name: ServiceName, desc: DescService): Transport {
    if (localNames.has(desc.typeName) && local) return local;
    const addr = serviceAddr(config, name);
    if (addr) return createGrpcJsTransport(addr);
    return unconfigured(name);
  }

  let httpUrl: string | undefined;
  const runtime: Runtime = {
    config,
    log,
    store: backends.store,
    bus,
    clients,
    auth,
    pageTokens: new PageTokens(secrets.pageTokenKey),
    httpUrl() {
      if (!httpUrl) throw new Error("the HTTP server does not listen yet");
      return httpUrl;
    },
  };
  const modules = await Promise.all(
    (Object.entries(factories) as [Target, ModuleFactory][])
      .filter(([name]) => target === "all" || name === target)
      .map(([, factory]) => factory(runtime)),
  ).catch(async (err) => {
    await backends.close();
    throw err;
  });

  const verifier = new TokenVerifier(
    config.FEEDMESH_ISSUER,
    secrets.serviceTokenKey,
    async () => {
      const res = await clients.identity.getJwks({}, { timeoutMs: 5_000 });
      return toJson(GetJwksResponseSchema, res) as unknown as JSONWebKeySet;
    },
    undefined,
    config.FEEDMESH_VERIFIED_TOKENS,
  );
  const deps = {
    log,
    verifier,
    validator: createValidator(),
    defaultDeadlineMs: config.FEEDMESH_DEFAULT_DEADLINE,
    maxDeadlineMs: config.FEEDMESH_MAX_DEADLINE,
  };
  const domain = modules.flatMap((m) => m.services).map((s) => wrapService(s, deps));
  for (const s of domain) localNames.add(s.desc.typeName);
  local = createLocalTransport(domain);

  const health = new HealthState();
  // Reflection describes the deployment's API: this process's services and those it reaches at a
  // configured address (so that behind the edge, any process can answer for the whole mesh).
  const remote = (Object.entries(SERVICES) as [ServiceName, DescService][])
    .filter(([name, desc]) => !localNames.has(desc.typeName) && serviceAddr(config, name) !== undefined)
    .map(([, desc]) => desc);
  // The error details too: every service sends google.rpc.BadRequest (and friends) in its errors.
  const index = new DescriptorIndex([
    ...domain.map((s) => s.desc.file),
    ...remote.map((d) => d.file),
    Health.file,
    ServerReflection.file,
    file_google_rpc_error_details,
    file_google_rpc_status,
  ]);
  const platform: ServiceRegistration[] = [
    registration(Health, health.impl()),
    registration(
      ServerReflection,
      reflectionImpl(index, () => [...all.map((s) => s.desc.typeName), ...remote.map((d) => d.typeName)]),
    ),
  ].map((s) => wrapService(s, deps));
  const all = [...domain, ...platform];

  const server = await serve({
    httpAddr: config.FEEDMESH_HTTP_ADDR,
    grpcAddr: config.FEEDMESH_GRPC_ADDR,
    services: all,
    httpRoutes: modules.flatMap((m) => m.httpRoutes ?? []),
    log,
  }).catch(async (err) => {
    await backends.close();
    throw err;
  });
  const { host } = splitAddr(config.FEEDMESH_HTTP_ADDR);
  httpUrl = `http://${host.includes(":") ? `[${host}]` : host}:${server.httpPort}`;
  for (const m of modules) await m.start?.();
  await bus.start();
  backends.startRelay(modules.filter((m) => m.publishes).map((m) => m.name));
  health.set("", ServingStatus.SERVING);
  for (const s of domain) health.set(s.desc.typeName, ServingStatus.SERVING);

  let stopping: Promise<void> | undefined;
  return {
    runtime,
    server,
    backends,
    health,
    stop() {
      stopping ??= (async () => {
        log.info("shutting down");
        health.drain();
        await server.close(config.FEEDMESH_SHUTDOWN_GRACE);
        for (const m of modules) await m.stop?.();
        await bus.stop();
        await backends.close();
        log.info("stopped");
      })();
      return stopping;
    },
  };
}

function unconfigured(name: ServiceName): Transport {
  const fail = () => {
    throw new ConnectError(
      `the ${name} service is not part of this process and FEEDMESH_${name.toUpperCase()}_ADDR is not set`,
      Code.Unavailable,
    );
  };
  return { unary: fail, stream: fail } as unknown as Transport;
}

export { SERVICES };
