// The fanout module: a worker with no RPCs of its own (health only), consuming post and follow
// events and writing followers' feeds; it answers the graph's CelebrityDemoting with an event.

import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { feedCacheOf } from "../feed/cache.safe.js";
import { openFeedStore } from "../feed/index.js";
import type { Runtime } from "../platform/app.js";
import { type EncodedEvent, encodeEvent } from "../platform/events.js";
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
        return {
          ids: res.followers.map((f) => f.userId),
          followedAt: res.followers.map((f) => (f.createTime ? timestampMs(f.createTime) : 0)),
          next: res.nextPageToken,
        };
      },
      async celebritySince(authorId) {
        const res = await rt.clients.graph.getFollowStats({ userId: authorId }, await rt.auth.asService());
        return res.celebritySince ? timestampMs(res.celebritySince) : null;
      },
      async posts(authorId, before, limit) {
        const res = await rt.clients.post.listUserPosts(
          { userId: authorId, pageSize: limit, beforePostId: before ?? "" },
          await rt.auth.asService(),
        );
        return res.posts.map((p) => p.postId);
      },
      async backfilled(authorId, since) {
        await publish(
          rt,
          encodeEvent("follows", authorId, {
            event: { case: "celebrityBackfilled", value: { userId: authorId, since: timestampFromMs(since) } },
          }),
        );
      },
    },
    { backfill: rt.config.FEEDMESH_FEED_BACKFILL },
  );
  rt.bus.subscribe("fanout", "posts", (d) => fanout.onPost(d));
  rt.bus.subscribe("fanout", "follows", (d) => fanout.onFollow(d));
  return { name: "fanout", publishes: true, stop: () => feedCacheOf(rt).close(), services: [] };
}

/** The fanout's events (answers to the graph) go through the outbox of the process's store. */
async function publish(rt: Runtime, e: EncodedEvent): Promise<void> {
  if (rt.store.kind === "sqlite") rt.store.db.appendEvent(e.topic, e.key, e.payload, e.headers);
  else await rt.store.db.batch([rt.store.db.outbox("fanout", e)]);
}
