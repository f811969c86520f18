// The feed module: the home feed's read path.
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { feedCacheOf } from "./cache.safe.js";
import { HomeFeed } from "./feed.js";
import { feedRoutes } from "./routes.js";
import { CassandraFeedStore } from "./store.cassandra.js";
import type { FeedStore } from "./store.js";
import { SqliteFeedStore } from "./store.sqlite.js";

/** The feed store of this process (the feed reads it, the fanout writes it). */
export function openFeedStore(rt: Runtime): Promise<FeedStore> {
  return pickStore<FeedStore>(rt, { sqlite: (db) => new SqliteFeedStore(db), cassandra: (db) => CassandraFeedStore.open(db) });
}

export async function feedModule(rt: Runtime): Promise<ServiceModule> {
  const feed = new HomeFeed(await openFeedStore(rt), feedCacheOf(rt));
  return {
    name: "feed",
    stop: () => feedCacheOf(rt).close(),
    services: [
      registration(FeedService, feedRoutes(feed, rt.clients, rt.auth, rt.pageTokens, rt.config.FEEDMESH_CELEBRITY_THRESHOLD, rt.log)),
    ],
  };
}
