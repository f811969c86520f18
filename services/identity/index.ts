// The identity module: accounts, credentials, tokens and the JWKS.
import { IdentityService } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { Identity } from "./identity.js";
import { identityRoutes } from "./routes.js";
import { CassandraIdentityStore } from "./store.cassandra.js";
import type { IdentityStore } from "./store.js";
import { SqliteIdentityStore } from "./store.sqlite.js";
import { TokenIssuer } from "./tokens.js";

export async function identityModule(rt: Runtime): Promise<ServiceModule> {
  const store = await pickStore<IdentityStore>(rt, {
    sqlite: (db) => new SqliteIdentityStore(db),
    cassandra: (db) => CassandraIdentityStore.open(db),
  });
  const tokens = new TokenIssuer(
    store,
    rt.config.FEEDMESH_ISSUER,
    rt.config.FEEDMESH_ACCESS_TOKEN_TTL,
    rt.config.FEEDMESH_REFRESH_TOKEN_TTL,
  );
  const identity = new Identity(store, tokens);
  // The profile shows whether an account is private; the graph service owns that setting.
  rt.bus.subscribe("identity", "follows", async ({ event }) => {
    if (event.event.case === "privacyChanged") await identity.setPrivate(event.event.value.userId, event.event.value.private);
  });
  return {
    name: "identity",
    publishes: true,
    services: [registration(IdentityService, identityRoutes(identity, rt.clients.media, rt.auth))],
  };
}
