// The engagement module: likes, comments and their counters.
import { EngagementService } from "../../gen/ts/feedmesh/engagement/v1/engagement_service_pb.js";
import { readModelOf } from "../feed/readmodel.safe.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { OptionalCache } from "../platform/cache.optional.js";
import { RedisConnection } from "../platform/redis.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { RedisPostCache } from "../post/cache.redis.js";
import { Engagement } from "./engagement.js";
import { engagementRoutes } from "./routes.js";
import { CountsCachedStore } from "./store.cached.js";
import { CassandraEngagementStore } from "./store.cassandra.js";
import type { Counts, EngagementStore } from "./store.js";
import { SqliteEngagementStore } from "./store.sqlite.js";

/** How long a post's counts stay cached; also how far a page's counts may lag a change. */
const COUNTS_CACHE_TTL_SECONDS = 10;

/** The engagement store of this process. */
export function openEngagementStore(rt: Runtime): Promise<EngagementStore> {
  return pickStore<EngagementStore>(rt, {
    sqlite: (db) => new SqliteEngagementStore(db),
    cassandra: (db) => CassandraEngagementStore.open(db),
  });
}

export async function engagementModule(rt: Runtime): Promise<ServiceModule> {
  let store = await openEngagementStore(rt);
  let redis: RedisConnection | undefined;
  if (rt.store.kind === "cassandra") {
    // Counts are sums over 16 partitions on Cassandra: cached in Redis (SQLite keeps them in a row).
    const cache = new OptionalCache<Counts>(
      "counts cache",
      async () => {
        redis = await RedisConnection.open({ url: rt.config.FEEDMESH_REDIS_URL });
        return new RedisPostCache(redis, { prefix: "feedmesh:counts:" });
      },
      COUNTS_CACHE_TTL_SECONDS,
      rt.log.child({ component: "counts-cache" }),
    );
    store = new CountsCachedStore(store, cache);
  }
  const engagement = new Engagement(store);
  // A deleted post's engagement goes with it (its counters are never served again either way).
  rt.bus.subscribe("engagement", "posts", async ({ event }) => {
    if (event.event.case === "deleted") await engagement.dropPost(event.event.value.postId);
  });
  // Comments change counts; the read model forgets them again from the events (a failed write's repair).
  rt.bus.subscribe("engagement-model", "engagement", async ({ event }) => {
    const e = event.event;
    if (e.case === "commented" || e.case === "commentDeleted") await readModelOf(rt).strict((m) => m.forgetCounts(e.value.postId));
  });
  return {
    name: "engagement",
    publishes: true,
    stop: async () => {
      await redis?.close();
      await readModelOf(rt).close();
    },
    services: [registration(EngagementService, engagementRoutes(engagement, rt.clients, rt.auth, rt.pageTokens, readModelOf(rt)))],
  };
}
