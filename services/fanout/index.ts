// The fanout module: a worker with no RPCs of its own (health only), consuming post and follow
// events and writing followers' feeds.

import { openFeedStore } from "../feed/index.js";
import type { Runtime } from "../platform/app.js";
import type { ServiceModule } from "../platform/service.js";
import { Fanout } from "./fanout.js";

const FOLLOWER_PAGE = 1000;
const BACKFILL = 20;

export async function fanoutModule(rt: Runtime): Promise<ServiceModule> {
  const fanout = new Fanout(
    await openFeedStore(rt),
    {
      async followers(authorId, pageToken) {
        const res = await rt.clients.graph.listFollowers(
          { userId: authorId, pageSize: FOLLOWER_PAGE, pageToken },
          await rt.auth.asService(),
        );
        return { ids: res.followers.map((f) => f.userId), next: res.nextPageToken };
      },
      async recentPosts(authorId, limit) {
        const res = await rt.clients.post.listUserPosts({ userId: authorId, pageSize: limit }, await rt.auth.asService());
        return res.posts.map((p) => p.postId);
      },
    },
    { backfill: BACKFILL },
  );
  rt.bus.subscribe("fanout", "posts", (d) => fanout.onPost(d));
  rt.bus.subscribe("fanout", "follows", (d) => fanout.onFollow(d));
  return { name: "fanout", services: [] };
}
