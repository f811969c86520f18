// The engagement module: likes, comments and their counters.
import { EngagementService } from "../../gen/ts/feedmesh/engagement/v1/engagement_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { Engagement } from "./engagement.js";
import { engagementRoutes } from "./routes.js";
import { CassandraEngagementStore } from "./store.cassandra.js";
import type { EngagementStore } from "./store.js";
import { SqliteEngagementStore } from "./store.sqlite.js";

/** The engagement store of this process. */
export function openEngagementStore(rt: Runtime): Promise<EngagementStore> {
  return pickStore<EngagementStore>(rt, {
    sqlite: (db) => new SqliteEngagementStore(db),
    cassandra: (db) => CassandraEngagementStore.open(db),
  });
}

export async function engagementModule(rt: Runtime): Promise<ServiceModule> {
  const engagement = new Engagement(await openEngagementStore(rt));
  // A deleted post's engagement goes with it (its counters are never served again either way).
  rt.bus.subscribe("engagement", "posts", async ({ event }) => {
    if (event.event.case === "deleted") await engagement.dropPost(event.event.value.postId);
  });
  return {
    name: "engagement",
    publishes: true,
    services: [registration(EngagementService, engagementRoutes(engagement, rt.clients, rt.auth, rt.pageTokens))],
  };
}
