// The feed module: the home feed's read path.
import { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import type { Runtime } from "../platform/app.js";
import { registration, type ServiceModule } from "../platform/service.js";
import { HomeFeed } from "./feed.js";
import { feedRoutes } from "./routes.js";
import { SqliteFeedStore } from "./store.sqlite.js";

export function feedModule(rt: Runtime): ServiceModule {
  const feed = new HomeFeed(new SqliteFeedStore(rt.db));
  return { name: "feed", services: [registration(FeedService, feedRoutes(feed, rt.clients, rt.auth, rt.pageTokens))] };
}
