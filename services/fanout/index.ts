// The fanout module: a worker with no RPCs of its own (health only), consuming post and follow
// events and writing followers' feeds.
import { feedCacheOf } from "../feed/cache.safe.js";
import { openFeedStore } from "../feed/index.js";
import type { Runtime } from "../platform/app.js";
import type { ServiceModule } from "../platform/service.js";
import { Fanout } from "./fanout.js";

const FOLLOWER_PAGE = 1000;

export async function fanoutModule(rt: Runtime): Promise<ServiceModule> {
  const fanout = new Fanout(
    await openFeedStore(rt),
    feedCacheOf(rt),
    {
      async followers(authorId, pageToken) {
        const res = await rt.clients.graph.listFollowers(
          { userId: authorId, pageSize: FOLLOWER_PAGE, pageToken },
          await rt.auth.asService(),
        );
        return { ids: res.followers.map((f) => f.userId), next: res.nextPageToken };
      },
      async followerCount(authorId) {
        return Number((await rt.clients.graph.getFollowStats({ userId: authorId }, await rt.auth.asService())).followerCount);
      },
      async recentPosts(authorId, limit) {
        const res = await rt.clients.post.listUserPosts({ userId: authorId, pageSize: Math.min(limit, 100) }, await rt.auth.asService());
        return res.posts.map((p) => p.postId);
      },
    },
    { backfill: rt.config.FEEDMESH_FEED_BACKFILL, celebrityThreshold: rt.config.FEEDMESH_CELEBRITY_THRESHOLD },
  );
  rt.bus.subscribe("fanout", "posts", (d) => fanout.onPost(d));
  rt.bus.subscribe("fanout", "follows", (d) => fanout.onFollow(d));
  return { name: "fanout", stop: () => feedCacheOf(rt).close(), services: [] };
}
