// The post module: posts and each author's timeline.
import { PostService } from "../../gen/ts/feedmesh/post/v1/post_service_pb.js";
import { readModelOf } from "../feed/readmodel.safe.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { RedisConnection } from "../platform/redis.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { MemoryPostCache } from "./cache.memory.js";
import { RedisPostCache } from "./cache.redis.js";
import { Posts } from "./post.js";
import { postRoutes } from "./routes.js";
import { CachedPostStore } from "./store.cached.js";
import { CassandraPostStore } from "./store.cassandra.js";
import type { PostStore } from "./store.js";
import { SqlitePostStore } from "./store.sqlite.js";

/** How long a post stays in the hydration cache; also the staleness bound if an invalidation fails. */
const POST_CACHE_TTL_SECONDS = 300;

export async function postModule(rt: Runtime): Promise<ServiceModule> {
  const inner = await pickStore<PostStore>(rt, { sqlite: (db) => new SqlitePostStore(db), cassandra: (db) => CassandraPostStore.open(db) });
  let redis: RedisConnection | undefined;
  const store = new CachedPostStore(
    inner,
    async () => {
      if (rt.store.kind !== "cassandra") return new MemoryPostCache();
      redis = await RedisConnection.open({ url: rt.config.FEEDMESH_REDIS_URL });
      return new RedisPostCache(redis);
    },
    POST_CACHE_TTL_SECONDS,
    rt.log.child({ component: "post-cache" }),
  );
  const posts = new Posts(store);
  // Privacy is the graph's; the post service keeps the set of private authors from its events.
  rt.bus.subscribe("post", "follows", async ({ event }) => {
    if (event.event.case === "privacyChanged") await posts.setAuthorPrivate(event.event.value.userId, event.event.value.private);
  });
  return {
    name: "post",
    publishes: true,
    stop: async () => {
      await redis?.close();
      await readModelOf(rt).close();
    },
    services: [registration(PostService, postRoutes(posts, rt.clients, rt.auth, rt.pageTokens, readModelOf(rt)))],
  };
}
