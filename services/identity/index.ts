// The identity module: accounts, credentials, tokens and the JWKS.
import { IdentityService } from "../../gen/ts/feedmesh/identity/v1/identity_service_pb.js";
import { readModelOf } from "../feed/readmodel.safe.js";
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
    const e = event.event;
    if (e.case !== "privacyChanged") return;
    await identity.setPrivate(e.value.userId, e.value.private);
    await readModelOf(rt).strict((m) => m.dropUser(e.value.userId)); // the feed's copy of the profile
  });
  return {
    name: "identity",
    publishes: true,
    stop: () => readModelOf(rt).close(),
    services: [registration(IdentityService, identityRoutes(identity, rt.clients.media, rt.auth, readModelOf(rt)))],
  };
}
