// FeedService handlers.
import type { ServiceImpl } from "@connectrpc/connect";
import type { FeedService } from "../../gen/ts/feedmesh/feed/v1/feed_service_pb.js";
import { FollowState } from "../../gen/ts/feedmesh/graph/v1/graph_service_pb.js";
import { actingUser } from "../platform/auth.js";
import type { CallAuth, Clients } from "../platform/clients.js";
import type { Logger } from "../platform/log.js";
import { type PageTokens, pageSize } from "../platform/pagetoken.js";
import { pageCounters } from "./counters.js";
import type { FeedReader } from "./read.js";
import { binaryWire, encodeItems, homeFeedResponse } from "./splice.js";

/** How many followed celebrities a read merges at most. */
const MAX_CELEBRITIES = 1000;

export function feedRoutes(
  reader: FeedReader,
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
      const page = await reader.page(me, pageSize(req.pageSize, 20), cursor?.p ?? null, {
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
        async counters(postIds) {
          const got = await pageCounters(clients, opts, log, postIds);
          if (got === null) return null;
          return new Map(
            [...got].map(([id, c]) => [id, { likes: Number(c.likeCount), comments: Number(c.commentCount), liked: c.likedByCaller }]),
          );
        },
        async timeline(userId, limit) {
          const res = await clients.post.listUserPosts({ userId, pageSize: limit, beforePostId: "" }, await auth.asService());
          return res.posts.map((p) => p.postId);
        },
      });
      const next = page.next ? tokens.encode(scope, { p: page.next }) : "";
      return homeFeedResponse(encodeItems(page.items), next, binaryWire(ctx));
    },
  };
}
