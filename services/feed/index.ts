// The feed module: the home feed's read path, and the consumer that keeps its read model.
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { pickStore, type Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { feedCacheOf } from "./cache.safe.js";
import { HomeFeed } from "./feed.js";
import { FeedReader } from "./read.js";
import { ReadModelEvents } from "./readmodel.events.js";
import { readModelOf } from "./readmodel.safe.js";
import { feedRoutes } from "./routes.js";
import { CassandraFeedStore } from "./store.cassandra.js";
import type { FeedStore } from "./store.js";
import { SqliteFeedStore } from "./store.sqlite.js";

/** The feed store of this process (the feed reads it, the fanout writes it). */
export function openFeedStore(rt: Runtime): Promise<FeedStore> {
  return pickStore<FeedStore>(rt, { sqlite: (db) => new SqliteFeedStore(db), cassandra: (db) => CassandraFeedStore.open(db) });
}

const readers = new WeakMap<Runtime, FeedReader>();

/** The home feed's reader of this process (its `served` counts tell which path answered). */
export function feedReaderOf(rt: Runtime): FeedReader | undefined {
  return readers.get(rt);
}

export async function feedModule(rt: Runtime): Promise<ServiceModule> {
  const model = readModelOf(rt);
  const reader = new FeedReader(model, new HomeFeed(await openFeedStore(rt), feedCacheOf(rt)));
  readers.set(rt, reader);
  const events = new ReadModelEvents(model);
  rt.bus.subscribe("feed-model", "posts", (d) => events.onPost(d));
  rt.bus.subscribe("feed-model", "follows", (d) => events.onFollow(d));
  rt.bus.subscribe("feed-model", "users", (d) => events.onUser(d));
  rt.bus.subscribe("feed-model", "engagement", (d) => events.onEngagement(d));
  return {
    name: "feed",
    stop: async () => {
      await feedCacheOf(rt).close();
      await model.close();
    },
    services: [
      registration(FeedService, feedRoutes(reader, rt.clients, rt.auth, rt.pageTokens, rt.config.FEEDMESH_CELEBRITY_THRESHOLD, rt.log)),
    ],
  };
}
