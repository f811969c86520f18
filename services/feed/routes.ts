// FeedService handlers.
import type { ServiceImpl } from "@connectrpc/connect";
import type { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { FollowState } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { actingUser } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import type { Logger } from "../platform/log.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import { pageCounters } from "./counters.js";
import type { HomeFeed } from "./feed.js";

/** How many followed celebrities a read merges at most. */
const MAX_CELEBRITIES = 1000;

export function feedRoutes(
  feed: HomeFeed,
  clients: Clients,
  auth: CallAuth,
  tokens: PageTokens,
  celebrityThreshold: number,
  log: Logger,
): ServiceImpl<typeof FeedService> {
  return {
    async getHomeFeed(req, ctx) {
      const me = actingUser(ctx);
      const scope = `feed.home:${me}`;
      const cursor = tokens.decode<{ p: string }>(scope, req.pageToken);
      // Every call runs as the reader, so the other services apply the reader's visibility.
      const opts = auth.asUser(ctx);
      const page = await feed.page(me, pageSize(req.pageSize, 20), cursor?.p ?? null, {
        posts: async (postIds) => (postIds.length ? (await clients.post.batchGetPosts({ postIds }, opts)).posts : []),
        users: async (userIds) => (await clients.identity.batchGetUsers({ userIds }, opts)).users,
        async celebrities() {
          const out: string[] = [];
          let pageToken = "";
          do {
            const res = await clients.graph.listFollowing(
              { userId: me, pageSize: 1000, pageToken, minFollowerCount: BigInt(celebrityThreshold) },
              opts,
            );
            out.push(...res.following.map((f) => f.userId));
            pageToken = res.nextPageToken;
          } while (pageToken && out.length < MAX_CELEBRITIES);
          return out;
        },
        pulled: async (userIds, limit, before) =>
          (await clients.post.listPostsByAuthors({ userIds, pageSize: Math.min(limit, 100), beforePostId: before ?? "" }, opts)).posts,
        async following(userIds) {
          const res = await clients.graph.batchGetRelationships({ userIds }, opts);
          return new Set(res.relationships.filter((r) => r.outgoing === FollowState.FOLLOWING).map((r) => r.userId));
        },
      });
      const counters = await pageCounters(
        clients,
        opts,
        log,
        page.items.map((i) => i.post.postId),
      );
      return {
        items: page.items.map(({ post, author }) => {
          const c = counters.get(post.postId);
          return { post, ...(author ? { author } : {}), ...(c ? { counters: c } : {}) };
        }),
        nextPageToken: page.next ? tokens.encode(scope, { p: page.next }) : "",
      };
    },
  };
}
